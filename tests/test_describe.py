"""describe(): the size, format, colour space, camera EXIF fields (and GPS only when
asked), blurhash, dominant colour and LQIP of an original."""

from __future__ import annotations

import base64
import json
import struct

import blurhash
import numpy as np
import pytest
import pyvips

from origin.errors import HTTPError
from origin.pipeline.analysis import Location, read_colour_space
from origin.pipeline.describe import LQIP_SIZE, Description, components, describe
from origin.pipeline.header import SourceLimits
from tests import images

MAX_PIXELS = 10**8
LIMITS = SourceLimits(MAX_PIXELS)

# The blurhash alphabet; a hash's first digit is (x - 1) + (y - 1) * 9.
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def hash_components(hash_: str) -> tuple[int, int]:
    size_flag = _BASE83.index(hash_[0])
    x, y = size_flag % 9 + 1, size_flag // 9 + 1
    assert len(hash_) == 4 + 2 * x * y
    return x, y


def animated_gif(width: int, height: int, frames: int) -> bytes:
    """`frames` pages, each photo(width, height) a little darker than the last."""
    pages = [images.photo(width, height) * (1 - 0.2 * i) for i in range(frames)]
    strip = pyvips.Image.arrayjoin(pages, across=1).cast("uchar").copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    return bytes(strip.gifsave_buffer())


def solid(rgb: tuple[int, int, int], width: int, height: int) -> pyvips.Image:
    return (pyvips.Image.black(width, height) + list(rgb)).cast("uchar").copy(interpretation="srgb")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (images.jpeg(300, 200), ("jpeg", 300, 200, False, 1)),
        (images.png_with_alpha(400, 300), ("png", 400, 300, True, 1)),
        # Stored 200x300 and tagged "turn 90°": described as displayed.
        (images.jpeg(300, 200, orientation=6), ("jpeg", 300, 200, False, 1)),
        # libvips loads every GIF with an alpha band, whether or not it has transparency.
        (animated_gif(60, 40, 3), ("gif", 60, 40, True, 3)),
    ],
    ids=["jpeg", "png-alpha", "jpeg-exif-6", "animated-gif"],
)
def test_size_and_format(data: bytes, expected: tuple[str, int, int, bool, int]) -> None:
    description = describe(data, LIMITS)
    got = description.format, description.width, description.height
    assert (*got, description.has_alpha, description.frames) == expected
    assert description.bytes == len(data)


def test_the_orientation_is_applied_before_hashing() -> None:
    """The dark bar at the top of photo() is at the top of the decoded blurhash too."""
    upright = describe(images.jpeg(300, 200, orientation=1), LIMITS).blurhash
    turned = describe(images.jpeg(300, 200, orientation=6), LIMITS).blurhash
    for hash_ in (upright, turned):
        decoded = np.asarray(blurhash.decode(hash_, 30, 20), dtype=float)
        assert decoded[0].mean() < decoded[-1].mean() - 30, hash_


@pytest.mark.parametrize(
    ("size", "expected"),
    [((400, 400), (4, 4)), ((800, 200), (4, 1)), ((200, 600), (1, 4)), ((1600, 1000), (4, 3))],
)
def test_blurhash_components_follow_the_aspect(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert components(*size) == expected
    description = describe(images.jpeg(*size), LIMITS)
    assert hash_components(description.blurhash) == expected
    decoded = blurhash.decode(description.blurhash, 32, 32)
    assert decoded.size == (32, 32)


def test_extreme_aspects_keep_at_least_one_component() -> None:
    assert components(10_000, 10) == (4, 1)
    assert components(10, 10_000) == (1, 4)


def test_same_bytes_same_description() -> None:
    data = images.jpeg(320, 240)
    assert describe(data, LIMITS) == describe(data, LIMITS)


def test_dominant_colour_is_the_biggest_patch_not_the_mean() -> None:
    red_and_blue = solid((255, 0, 0), 70, 100).join(solid((0, 0, 255), 30, 100), "horizontal")
    description = describe(bytes(red_and_blue.pngsave_buffer()), LIMITS)
    colour = bytes.fromhex(description.dominant_color.removeprefix("#"))
    assert np.allclose(list(colour), [255, 0, 0], atol=3), description.dominant_color


def test_transparency_counts_as_white() -> None:
    # png_with_alpha is half transparent border by area.
    description = describe(images.png_with_alpha(400, 300), LIMITS)
    assert description.dominant_color == "#ffffff"


def test_grey_sources_are_described_in_rgb() -> None:
    grey = solid((90, 90, 90), 80, 60).colourspace("b-w")
    description = describe(bytes(grey.jpegsave_buffer()), LIMITS)
    assert description.dominant_color in {"#595959", "#5a5a5a", "#5b5b5b"}
    hash_components(description.blurhash)


def test_to_json() -> None:
    description = describe(images.jpeg(300, 200), LIMITS)
    body = description.to_json()
    assert b" " not in body
    assert json.loads(body) == {
        "width": 300,
        "height": 200,
        "format": "jpeg",
        "bytes": description.bytes,
        "has_alpha": False,
        "frames": 1,
        "colour_space": "srgb",
        "icc_profile": None,
        "camera": None,
        "lens": None,
        "taken_at": None,
        "orientation": 1,  # libvips writes EXIF with an orientation into every JPEG
        "blurhash": description.blurhash,
        "dominant_color": description.dominant_color,
        "lqip": description.lqip,
    }
    assert list(json.loads(body)) == sorted(json.loads(body))


NINE_BANDS = bytes(pyvips.Image.black(32, 32, bands=9).cast("uchar").tiffsave_buffer())


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"\xff\xd8\xff" + b"not really a jpeg" * 20, 422, "undecodable_image"),
        # A readable header over pixels that no render could use: our own decode fails.
        (NINE_BANDS, 422, "undecodable_image"),
        (images.jpeg(200, 100), 422, "image_too_large"),
        (b"plain text, no image", 415, "unsupported_image"),
    ],
    ids=["garbage-jpeg", "nine-bands", "too-large", "not-an-image"],
)
def test_errors(data: bytes, status: int, code: str) -> None:
    with pytest.raises(HTTPError) as caught:
        describe(data, SourceLimits(max_pixels=200 * 100 - 1))
    assert (caught.value.status, caught.value.code) == (status, code)


# EXIF, as a camera writes it: fields set through pyvips, then saved with the metadata.

CAMERA_FIELDS = {
    "exif-ifd0-Make": "Canon",
    "exif-ifd0-Model": "Canon EOS R5",
    "exif-ifd2-LensModel": "RF24-70mm F2.8 L (IS) USM",  # brackets of its own
    "exif-ifd2-DateTimeOriginal": "2024:05:06 07:08:09",
    "exif-ifd2-OffsetTimeOriginal": "+02:00",
}
# The Eiffel tower: 48°51'29.5" N, 2°17'40.2" E, 35 m up.
GPS_FIELDS = {
    "exif-ifd3-GPSLatitudeRef": "N",
    "exif-ifd3-GPSLatitude": "48/1 51/1 2950/100",
    "exif-ifd3-GPSLongitudeRef": "E",
    "exif-ifd3-GPSLongitude": "2/1 17/1 4020/100",
    "exif-ifd3-GPSAltitude": "35/1",
}


def exif_jpeg(
    fields: dict[str, str], *, orientation: int | None = None, size: tuple[int, int] = (300, 200)
) -> bytes:
    image = (
        images.photo(*size)
        if orientation is None
        else images.stored_for(images.photo(*size), orientation)
    )
    image = image.copy()
    for name, value in fields.items():
        image.set_type(pyvips.GValue.gstr_type, name, value)
    return bytes(image.jpegsave_buffer(Q=90, keep="exif"))


def test_camera_fields() -> None:
    description = describe(exif_jpeg(CAMERA_FIELDS | GPS_FIELDS, orientation=6), LIMITS)
    assert description.camera == "Canon EOS R5"  # the make is not said twice
    assert description.lens == "RF24-70mm F2.8 L (IS) USM"
    assert description.taken_at == "2024-05-06T07:08:09+02:00"
    assert description.orientation == 6
    assert (description.width, description.height) == (300, 200)  # as displayed
    assert description.gps is None  # not asked for


@pytest.mark.parametrize(
    ("fields", "camera", "taken_at"),
    [
        # Apple's model does not repeat the make; no offset: the camera's local time.
        (
            {
                "exif-ifd0-Make": "Apple",
                "exif-ifd0-Model": "iPhone 15 Pro",
                "exif-ifd2-DateTimeOriginal": "2023:12:31 23:59:58",
            },
            "Apple iPhone 15 Pro",
            "2023-12-31T23:59:58",
        ),
        (
            {
                "exif-ifd0-Make": "NIKON CORPORATION",
                "exif-ifd0-Model": "NIKON D850",
                "exif-ifd2-DateTimeOriginal": "2020:02:29 12:00:00",
                "exif-ifd2-SubSecTimeOriginal": "25",
                "exif-ifd2-OffsetTimeOriginal": "-05:30",
            },
            "NIKON D850",
            "2020-02-29T12:00:00.250-05:30",
        ),
        # Padding, a model alone, and a camera without a clock.
        (
            {
                "exif-ifd0-Model": "  DSC-RX100  ",
                "exif-ifd2-DateTimeOriginal": "0000:00:00 00:00:00",
            },
            "DSC-RX100",
            None,
        ),
        (
            {"exif-ifd0-Make": "GoPro", "exif-ifd2-DateTimeOriginal": "    :  :     :  :  "},
            "GoPro",
            None,
        ),
    ],
    ids=["apple", "nikon-subsec-offset", "model-only-no-clock", "make-only-blank-date"],
)
def test_camera_and_time_variants(
    fields: dict[str, str], camera: str, taken_at: str | None
) -> None:
    description = describe(exif_jpeg(fields), LIMITS)
    assert (description.camera, description.taken_at) == (camera, taken_at)


def test_gps_only_when_asked_and_never_in_fm_json() -> None:
    data = exif_jpeg(CAMERA_FIELDS | GPS_FIELDS)
    assert describe(data, LIMITS).gps is None
    description = describe(data, LIMITS, gps=True)
    assert description.gps is not None
    assert description.gps.latitude == pytest.approx(48.858194, abs=1e-6)
    assert description.gps.longitude == pytest.approx(2.2945, abs=1e-6)
    assert description.gps.altitude == 35
    assert description.to_record()["gps"] == {
        "latitude": description.gps.latitude,
        "longitude": description.gps.longitude,
        "altitude": 35.0,
    }
    assert "gps" not in json.loads(description.to_json())
    assert b"48.85" not in description.to_json()
    assert "gps" not in describe(data, LIMITS).to_record()


def test_gps_south_and_west_are_negative() -> None:
    fields = GPS_FIELDS | {"exif-ifd3-GPSLatitudeRef": "S", "exif-ifd3-GPSLongitudeRef": "W"}
    gps = describe(exif_jpeg(fields), LIMITS, gps=True).gps
    assert gps is not None and gps.latitude < 0 and gps.longitude < 0


# Damaged EXIF, written byte by byte: what pyvips would not let us set.


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int) -> bytes:
    """A little-endian TIFF IFD at `start`: (tag, type, count, value bytes) each,
    values of more than 4 bytes after the entries."""
    table, extra = struct.pack("<H", len(entries)), b""
    data_at = start + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_at + len(extra))
            extra += value + b"\0" * (len(value) % 2)
    return table + struct.pack("<I", 0) + extra


def _ascii(tag: int, text: bytes) -> tuple[int, int, int, bytes]:
    return tag, 2, len(text) + 1, text + b"\0"


def _rationals(tag: int, *pairs: tuple[int, int]) -> tuple[int, int, int, bytes]:
    return tag, 5, len(pairs), b"".join(struct.pack("<II", *pair) for pair in pairs)


def raw_exif(
    ifd0: list[tuple[int, int, int, bytes]],
    exif: list[tuple[int, int, int, bytes]],
    gps: list[tuple[int, int, int, bytes]],
) -> bytes:
    """An EXIF block (TIFF header, IFD0 pointing at an Exif IFD and a GPS IFD)."""
    pointers = [(0x8769, 4, 1, b"\0" * 4), (0x8825, 4, 1, b"\0" * 4)]
    exif_at = 8 + len(_ifd(ifd0 + pointers, 8))
    exif_ifd = _ifd(exif, exif_at)
    gps_at = exif_at + len(exif_ifd)
    pointers = [
        (0x8769, 4, 1, struct.pack("<I", exif_at)),
        (0x8825, 4, 1, struct.pack("<I", gps_at)),
    ]
    return b"II*\0" + struct.pack("<I", 8) + _ifd(ifd0 + pointers, 8) + exif_ifd + _ifd(gps, gps_at)


def with_app1(jpeg: bytes, block: bytes) -> bytes:
    """`jpeg` with `block` as its EXIF segment (APP1), right after SOI."""
    segment = b"Exif\0\0" + block
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


def plain_jpeg() -> bytes:
    return bytes(images.photo(120, 80).jpegsave_buffer(Q=90, keep="none"))


def test_damaged_exif_fields_become_none() -> None:
    block = raw_exif(
        [_ascii(0x010F, b"Ca\xc3\x28non\x01"), _ascii(0x0110, b"\xff\xfe")],  # bad UTF-8
        [_ascii(0x9003, b"2024:13:45 99:00:00"), _ascii(0x9011, b"+99:00")],
        [
            _ascii(1, b"N"),
            _rationals(2, (48, 1), (51, 0), (29, 1)),  # a zero denominator
            _ascii(3, b"E"),
            _rationals(4, (2, 1)),
        ],
    )
    data = with_app1(plain_jpeg(), block)
    description = describe(data, LIMITS, gps=True)
    assert description.camera is not None and "\ufffd" not in description.camera
    assert description.camera.startswith("Ca")
    assert (description.lens, description.taken_at, description.gps) == (None, None, None)


def test_gps_out_of_range_and_below_sea_level() -> None:
    def location(latitude: tuple[int, int], altitude_ref: bytes) -> Location | None:
        block = raw_exif(
            [],
            [],
            [
                _ascii(1, b"S"),
                _rationals(2, latitude),
                _ascii(3, b"W"),
                _rationals(4, (20, 1)),
                (5, 1, 1, altitude_ref),  # GPSAltitudeRef, a byte: 1 is below sea level
                _rationals(6, (12, 1)),
            ],
        )
        return describe(with_app1(plain_jpeg(), block), LIMITS, gps=True).gps

    below = location((10, 1), b"\x01")
    assert below is not None
    assert (below.latitude, below.longitude, below.altitude) == (-10, -20, -12)
    above = location((10, 1), b"\x00")
    assert above is not None and above.altitude == 12
    assert location((91, 1), b"\x00") is None  # no such latitude


@pytest.mark.parametrize(
    "block",
    [
        b"MM\0*\0\0\0\x08\xff\xff" + b"\x01" * 64,  # an IFD of 65535 entries, cut short
        b"II*\0" + b"\xff" * 4,  # IFD0 past the end
        b"garbage",
    ],
    ids=["cut-short", "offset-past-end", "not-tiff"],
)
def test_broken_exif_blocks_are_no_exif(block: bytes) -> None:
    description = describe(with_app1(plain_jpeg(), block), LIMITS, gps=True)
    assert (description.camera, description.lens, description.taken_at) == (None, None, None)
    assert description.gps is None
    assert (description.width, description.height) == (120, 80)


def test_no_exif_at_all() -> None:
    # keep="none": libvips writes an EXIF block (with an orientation) by default.
    data = bytes(images.photo(120, 80).pngsave_buffer(keep="none"))
    description = describe(data, LIMITS, gps=True)
    fields = (description.camera, description.lens, description.taken_at)
    assert (*fields, description.orientation, description.gps) == (None,) * 5


# The LQIP


def lqip_image(description: Description) -> pyvips.Image:
    prefix = "data:image/webp;base64,"
    assert description.lqip.startswith(prefix)
    data = base64.b64decode(description.lqip.removeprefix(prefix), validate=True)
    assert len(data) < 600, len(data)
    return pyvips.Image.new_from_buffer(data, "")


@pytest.mark.parametrize("size", [(1200, 800), (600, 1200), (2000, 200), (400, 400)])
def test_lqip_is_a_tiny_webp_of_the_same_shape(size: tuple[int, int]) -> None:
    description = describe(images.jpeg(*size), LIMITS)
    small = lqip_image(description)
    assert small.get("vips-loader") == "webpload_buffer"
    assert max(small.width, small.height) == LQIP_SIZE
    assert small.width / small.height == pytest.approx(size[0] / size[1], rel=0.2)
    # The same picture: the dark bar of photo() is at the top.
    assert small.crop(0, 0, small.width, 1).avg() < small.avg() - 30


def test_lqip_of_a_turned_photo_is_upright() -> None:
    small = lqip_image(describe(images.jpeg(300, 200, orientation=6), LIMITS))
    assert small.width > small.height
    assert small.crop(0, 0, small.width, 1).avg() < small.avg() - 30


def test_lqip_of_a_tiny_original_is_not_enlarged() -> None:
    small = lqip_image(describe(images.jpeg(12, 8), LIMITS))
    assert (small.width, small.height) == (12, 8)


def test_lqip_of_noise_stays_small() -> None:
    noise = pyvips.Image.gaussnoise(400, 300, sigma=120, mean=128).cast("uchar")
    noise = noise.bandjoin([noise, noise]).copy(interpretation="srgb")
    lqip_image(describe(bytes(noise.pngsave_buffer()), LIMITS))


# Colour spaces


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (images.jpeg(60, 40), ("srgb", None)),  # untagged: taken for sRGB, as browsers do
        (
            bytes(
                images.flat(60, 40, (200, 10, 10))
                .icc_transform("srgb", input_profile="srgb")
                .pngsave_buffer(keep="icc")
            ),
            ("srgb", "sRGB"),
        ),
        (images.display_p3(60, 40, (255, 0, 0)), ("p3", "sP3C")),  # libvips' compact P3
        (images.jpeg_grey(60, 40), ("grey", None)),
        (images.jpeg_cmyk(60, 40, profile=True), ("cmyk", "Chemical proof")),
        (images.jpeg_cmyk(60, 40, profile=False), ("cmyk", None)),
    ],
    ids=["untagged", "srgb-profile", "p3", "grey", "cmyk-profile", "cmyk-untagged"],
)
def test_colour_space(data: bytes, expected: tuple[str, str | None]) -> None:
    description = describe(data, LIMITS)
    assert (description.colour_space, description.icc_profile) == expected


def test_p3_pixels_are_described_in_srgb() -> None:
    """The blurhash, dominant colour and LQIP are of what a viewer shows: P3 red,
    converted through its profile, is sRGB red again (not the P3 numbers as sRGB)."""
    description = describe(images.display_p3(60, 40, (255, 0, 0)), LIMITS)
    colour = bytes.fromhex(description.dominant_color.removeprefix("#"))
    assert np.allclose(list(colour), [255, 0, 0], atol=8), description.dominant_color


def _profiled(profile: bytes, interpretation: str = "srgb") -> pyvips.Image:
    image = pyvips.Image.black(4, 4, bands=3).copy(interpretation=interpretation)
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    return image


def _v2_profile(description: bytes) -> bytes:
    """The smallest ICC v2 profile with a `desc` tag: enough for its description."""
    tag = b"desc" + b"\0" * 4 + struct.pack(">I", len(description) + 1) + description + b"\0"
    header = b"\0" * 16 + b"RGB " + b"\0" * 16 + b"acsp" + b"\0" * 88
    return header + struct.pack(">I", 1) + struct.pack(">4sII", b"desc", 144, len(tag)) + tag


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (_v2_profile(b"Adobe RGB (1998)"), ("adobe-rgb", "Adobe RGB (1998)")),
        (_v2_profile(b"ProPhoto RGB"), ("prophoto", "ProPhoto RGB")),
        (_v2_profile(b"ITU-R BT.2020"), ("rec2020", "ITU-R BT.2020")),
        (_v2_profile(b"sRGB IEC61966-2.1"), ("srgb", "sRGB IEC61966-2.1")),
        (_v2_profile(b"Display P3"), ("p3", "Display P3")),
        (_v2_profile(b"My scanner\x01\x02"), ("rgb", "My scanner")),
        (b"\0" * 131 + b"\xff", ("srgb", None)),  # a tag count past the end
        (b"short", ("srgb", None)),
        (_v2_profile(b"x")[:140] + struct.pack(">4sII", b"desc", 10**9, 10**9), ("srgb", None)),
    ],
    ids=["adobe", "prophoto", "rec2020", "srgb", "p3", "other", "count", "short", "offset"],
)
def test_profile_descriptions(profile: bytes, expected: tuple[str, str | None]) -> None:
    space = read_colour_space(_profiled(profile))
    assert (space.name, space.profile) == expected
