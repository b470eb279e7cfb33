"""describe(): the size, format, blurhash and dominant colour of an original."""

from __future__ import annotations

import json

import blurhash
import numpy as np
import pytest
import pyvips

from origin.errors import HTTPError
from origin.pipeline.describe import components, describe
from tests import images

MAX_PIXELS = 10**8

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
    description = describe(data, MAX_PIXELS)
    got = description.format, description.width, description.height
    assert (*got, description.has_alpha, description.frames) == expected
    assert description.bytes == len(data)


def test_the_orientation_is_applied_before_hashing() -> None:
    """The dark bar at the top of photo() is at the top of the decoded blurhash too."""
    upright = describe(images.jpeg(300, 200, orientation=1), MAX_PIXELS).blurhash
    turned = describe(images.jpeg(300, 200, orientation=6), MAX_PIXELS).blurhash
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
    description = describe(images.jpeg(*size), MAX_PIXELS)
    assert hash_components(description.blurhash) == expected
    decoded = blurhash.decode(description.blurhash, 32, 32)
    assert decoded.size == (32, 32)


def test_extreme_aspects_keep_at_least_one_component() -> None:
    assert components(10_000, 10) == (4, 1)
    assert components(10, 10_000) == (1, 4)


def test_same_bytes_same_description() -> None:
    data = images.jpeg(320, 240)
    assert describe(data, MAX_PIXELS) == describe(data, MAX_PIXELS)


def test_dominant_colour_is_the_biggest_patch_not_the_mean() -> None:
    red_and_blue = solid((255, 0, 0), 70, 100).join(solid((0, 0, 255), 30, 100), "horizontal")
    description = describe(bytes(red_and_blue.pngsave_buffer()), MAX_PIXELS)
    colour = bytes.fromhex(description.dominant_color.removeprefix("#"))
    assert np.allclose(list(colour), [255, 0, 0], atol=3), description.dominant_color


def test_transparency_counts_as_white() -> None:
    # png_with_alpha is half transparent border by area.
    description = describe(images.png_with_alpha(400, 300), MAX_PIXELS)
    assert description.dominant_color == "#ffffff"


def test_grey_sources_are_described_in_rgb() -> None:
    grey = solid((90, 90, 90), 80, 60).colourspace("b-w")
    description = describe(bytes(grey.jpegsave_buffer()), MAX_PIXELS)
    assert description.dominant_color in {"#595959", "#5a5a5a", "#5b5b5b"}
    hash_components(description.blurhash)


def test_to_json() -> None:
    description = describe(images.jpeg(300, 200), MAX_PIXELS)
    body = description.to_json()
    assert b" " not in body
    assert json.loads(body) == {
        "width": 300,
        "height": 200,
        "format": "jpeg",
        "bytes": description.bytes,
        "has_alpha": False,
        "frames": 1,
        "blurhash": description.blurhash,
        "dominant_color": description.dominant_color,
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
        describe(data, max_pixels=200 * 100 - 1)
    assert (caught.value.status, caught.value.code) == (status, code)
