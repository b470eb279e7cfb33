"""Each imgix parameter's effect on a real render: real libvips, decoded and sampled.

tests/test_plan.py holds the geometry; here every parameter goes through
`dialect.parse` and `render` as a URL would, and the output is decoded to check what
a viewer would see: sizes, which part of the source, colours, formats and profiles.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
from collections.abc import Callable

import pytest
import pyvips

from origin import dialect
from origin.errors import HTTPError
from origin.negotiate import negotiate
from origin.pipeline.render import render
from origin.spec import OutputFormat
from tests import images
from tests.golden import ssim
from tests.images import BOTTOM_LEFT, BOTTOM_RIGHT, TOP_LEFT, TOP_RIGHT
from tests.test_render import LIMITS

Colour = tuple[int, ...]

RED, CYAN, WHITE = (255, 0, 0), (0, 255, 255), (255, 255, 255)
QUADRANTS = images.quadrants(400, 400)  # PNG: exact colours in, exact colours out
WIDE_QUADRANTS = images.quadrants(400, 200)
PHOTO = images.jpeg(400, 300)
PHOTO_PNG = bytes(images.photo(400, 300).pngsave_buffer())
# A red square on transparent black: whatever a step resamples, a pixel should be red,
# more or less transparent, never darkened by the colour of the transparent pixels.
RED_ON_CLEAR = bytes(
    images.flat(400, 400, (0, 0, 0, 0))
    .draw_rect([255, 0, 0, 255], 100, 100, 200, 200, fill=True)
    .pngsave_buffer()
)
GREY = images.flat(100, 100, (128, 128, 128)).colourspace("b-w")
GREY_JPEG = bytes(GREY.jpegsave_buffer())
GREY_WITH_CLEAR_BORDER = bytes(
    GREY.bandjoin(images.flat(100, 100, (0,)).draw_rect([255], 25, 25, 50, 50, fill=True))
    .copy(interpretation="b-w")
    .pngsave_buffer()
)


def rendered(original: bytes, query: str) -> bytes:
    """The variant a URL's query asks for: in its `fm`, else in (lossless) PNG."""
    spec = dialect.parse(query)
    return render(original, spec.for_output(spec.format or OutputFormat.PNG), LIMITS)


def picture(original: bytes, query: str) -> pyvips.Image:
    return images.encoded(rendered(original, query))


def colour_at(image: pyvips.Image, x: int, y: int) -> Colour:
    """The pixel's bands; a transparent pixel's as (0, 0, 0, 0), as none of its colour
    shows (lossy encoders keep whatever there is cheapest)."""
    colour = tuple(round(v) for v in image.getpoint(x, y))
    return (0, 0, 0, 0) if len(colour) == 4 and colour[3] == 0 else colour


def near(actual: Colour, expected: Colour, tolerance: int = 3) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


def difference(image: pyvips.Image, colour: Colour) -> float:
    """The largest difference of any pixel of `image` from `colour`, in any band."""
    return float((image - list(colour)).abs().max())


def png_colour_type(data: bytes) -> int:
    """IHDR's colour type: 2 truecolour, 3 palette, 6 truecolour with alpha."""
    assert data[12:16] == b"IHDR"
    return data[25]


def halves(left: int, right: int) -> bytes:
    """A 100x100 grey PNG, `left` on the left half and `right` on the right: one edge."""
    image = images.flat(100, 100, (left,) * 3).insert(images.flat(50, 100, (right,) * 3), 50, 0)
    return bytes(image.pngsave_buffer())


# --- size: w, h, fractions, ar, limits, dpr, fit ---------------------------------


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("w=200", (200, 150)),
        ("h=150", (200, 150)),
        ("w=0.5", (200, 150)),
        ("h=0.25", (100, 75)),
        ("w=200&h=100", (133, 100)),  # clip: inside the box
        ("w=800", (800, 600)),  # clip enlarges
        ("w=800&fit=max", (400, 300)),  # max does not
        ("w=300&h=100&fit=crop", (300, 100)),
        ("ar=1:1&fit=crop", (300, 300)),  # the largest square
        ("w=320&ar=16:9&fit=crop", (320, 180)),
        ("w=200&h=100&fit=min", (200, 100)),
        ("w=800&h=800&fit=min", (300, 300)),  # the box's shape, never enlarged
        ("w=300&h=100&fit=scale", (300, 100)),
        ("w=800&h=800&fit=fill", (800, 800)),
        ("w=800&h=800&fit=fillmax", (800, 800)),
        ("w=100&min-w=200", (200, 150)),
        ("w=300&max-w=150", (150, 113)),
        ("h=200&max-h=60", (80, 60)),
        ("h=30&min-h=60", (80, 60)),
        ("w=300&h=300&fit=crop&max-h=100", (300, 100)),
        ("w=100&h=100&fit=crop&min-w=200", (200, 100)),
        ("w=100&dpr=2", (200, 150)),
        ("w=0.25&dpr=2", (200, 150)),
        ("w=100&h=50&fit=crop&dpr=3", (300, 150)),
        ("w=100&dpr=1.5", (150, 113)),
        ("rect=100,50,200,100", (200, 100)),
        ("rect=0.25,0.25,0.5,0.5", (200, 150)),
        ("rect=300,200,500,500", (100, 100)),  # clipped to the source
        ("rot=90", (300, 400)),
        ("pad=10", (420, 320)),
        ("w=200&rot=90&pad=5", (160, 210)),
    ],
)
def test_output_size(query: str, size: tuple[int, int]) -> None:
    out = picture(PHOTO_PNG, query)
    assert (out.width, out.height) == size


def test_dpr_renders_the_same_picture_at_more_pixels() -> None:
    single, double = picture(PHOTO_PNG, "w=100"), picture(PHOTO_PNG, "w=100&dpr=2")
    assert (double.width, double.height) == (2 * single.width, 2 * single.height)
    assert float((double.resize(0.5) - single).abs().avg()) < 3


def test_fit_scale_stretches_the_whole_picture() -> None:
    out = picture(QUADRANTS, "w=300&h=100&fit=scale")
    assert colour_at(out, 10, 10) == TOP_LEFT
    assert colour_at(out, 290, 10) == TOP_RIGHT
    assert colour_at(out, 10, 90) == BOTTOM_LEFT
    assert colour_at(out, 290, 90) == BOTTOM_RIGHT
    # The quadrants' boundary is stretched with the rest: still in the middle.
    assert colour_at(out, 145, 25) == TOP_LEFT and colour_at(out, 155, 25) == TOP_RIGHT


def test_fit_min_cuts_the_middle_without_enlarging() -> None:
    out = picture(QUADRANTS, "w=800&h=400&fit=min")
    assert (out.width, out.height) == (400, 200)
    # Rows 100 to 300 of the source: both halves, met in the middle.
    assert colour_at(out, 10, 10) == TOP_LEFT and colour_at(out, 10, 190) == BOTTOM_LEFT


def test_fit_fillmax_pads_the_picture_without_enlarging_it() -> None:
    out = picture(QUADRANTS, "w=800&h=600&fit=fillmax")
    assert (out.width, out.height) == (800, 600)
    # The picture at its own 400x400, centred; transparent around it (PNG).
    assert colour_at(out, 199, 300)[3] == 0 and colour_at(out, 600, 300)[3] == 0
    assert colour_at(out, 201, 101) == (*TOP_LEFT, 255)
    assert colour_at(out, 598, 498) == (*BOTTOM_RIGHT, 255)


def test_fit_fill_enlarges_the_picture_to_the_box() -> None:
    out = picture(QUADRANTS, "w=800&h=600&fit=fill")
    assert colour_at(out, 99, 300)[3] == 0 and colour_at(out, 700, 300)[3] == 0
    assert colour_at(out, 101, 1) == (*TOP_LEFT, 255)
    assert colour_at(out, 698, 598) == (*BOTTOM_RIGHT, 255)


@pytest.mark.parametrize(
    ("query", "padding"),
    [
        ("fill-color=0ff", CYAN),
        ("fill-color=0ff&fm=jpg", CYAN),
        ("fill-color=8800ffff", (0, 255, 255, 136)),  # ARGB: translucent cyan
        ("bg=0ff", CYAN),  # no fill-color: the background shows
        ("", (0, 0, 0, 0)),  # transparent in PNG
        ("fm=jpg", WHITE),  # and white where there is no alpha
        ("fm=webp", (0, 0, 0, 0)),
    ],
)
def test_fill_solid_pads_with_fill_color_else_bg_else_transparent(
    query: str, padding: Colour
) -> None:
    out = picture(QUADRANTS, f"w=300&h=200&fit=fill&{query}")
    assert (out.width, out.height) == (300, 200)
    for x in (10, 290):
        assert near(colour_at(out, x, 100), padding, tolerance=6), x
    picture_colour = colour_at(out, 60, 50)[:3]
    assert near(picture_colour, TOP_LEFT, tolerance=6)


def test_fill_blur_on_a_small_box_is_not_black() -> None:
    # The backdrop's sigma is a twentieth of the box's longer side: 0.5 here.
    out = picture(QUADRANTS, "w=10&h=6&fit=fill&fill=blur")
    assert (out.width, out.height) == (10, 6)
    assert near(colour_at(out, 0, 0), TOP_LEFT, tolerance=60)
    assert near(colour_at(out, 9, 5), BOTTOM_RIGHT, tolerance=60)


def test_fill_blur_pads_with_the_pictures_own_colours() -> None:
    out = picture(QUADRANTS, "w=300&h=200&fit=fill&fill=blur")
    assert (out.width, out.height) == (300, 200)
    # The 50-pixel bands left and right: not one colour, but each corner's.
    assert out.crop(0, 0, 50, 200).deviate() > 50
    for x, y, colour in (
        (10, 10, TOP_LEFT),
        (10, 190, BOTTOM_LEFT),
        (290, 10, TOP_RIGHT),
        (290, 190, BOTTOM_RIGHT),
    ):
        assert near(colour_at(out, x, y), colour, tolerance=40), (x, y)


# --- where the crop goes --------------------------------------------------------


@pytest.mark.parametrize(
    ("crop", "corner"),
    [
        ("top,left", TOP_LEFT),
        ("top,right", TOP_RIGHT),
        ("bottom,left", BOTTOM_LEFT),
        ("bottom,right", BOTTOM_RIGHT),
        ("left,bottom", BOTTOM_LEFT),  # the order does not matter
    ],
)
def test_crop_sides_keep_that_corner(crop: str, corner: Colour) -> None:
    # A wide box cuts rows and a tall one columns, so each keeps only the named half
    # on one axis; the named corner is in both.
    wide = picture(QUADRANTS, f"w=300&h=100&fit=crop&crop={crop}")
    tall = picture(QUADRANTS, f"w=100&h=300&fit=crop&crop={crop}")
    x = 5 if "left" in crop else 294
    y = 5 if "top" in crop else 294
    assert colour_at(wide, x, 5) == corner and colour_at(wide, x, 94) == corner
    assert colour_at(tall, 5, y) == corner and colour_at(tall, 94, y) == corner


def test_crop_without_a_side_keeps_the_middle() -> None:
    wide = picture(QUADRANTS, "w=300&h=100&fit=crop")
    assert colour_at(wide, 5, 5) == TOP_LEFT and colour_at(wide, 5, 94) == BOTTOM_LEFT


@pytest.mark.parametrize(
    ("fp_x", "fp_y", "corner"),
    [
        (0.1, 0.1, TOP_LEFT),
        (0.9, 0.1, TOP_RIGHT),
        (0.1, 0.9, BOTTOM_LEFT),
        (0.9, 0.9, BOTTOM_RIGHT),
    ],
)
def test_focal_point_near_a_corner_keeps_that_corner(
    fp_x: float, fp_y: float, corner: Colour
) -> None:
    out = picture(QUADRANTS, f"w=100&h=100&fit=crop&crop=focalpoint&fp-x={fp_x}&fp-y={fp_y}&fp-z=3")
    assert (out.width, out.height) == (100, 100)
    assert difference(out, corner) <= 2  # nothing of the other quadrants


def test_focal_point_zoom_shows_a_smaller_part_of_the_source() -> None:
    # photo() has a white disc of radius 100 in the middle of 400x400.
    source = bytes(images.photo(400, 400).pngsave_buffer())
    whole = picture(source, "w=200&h=200&fit=crop&crop=focalpoint&fp-z=1")
    zoomed = picture(source, "w=200&h=200&fit=crop&crop=focalpoint&fp-z=4")
    assert (zoomed.width, zoomed.height) == (200, 200)
    assert whole.min() < 100  # the dark bar and the gradient around the disc
    assert zoomed.min() > 245  # the middle 50x50 of the source: all disc


@pytest.mark.parametrize("mode", ["entropy", "edges", "faces"])
@pytest.mark.parametrize("left", [50, 650])
def test_smart_crops_keep_the_busy_region(mode: str, left: int) -> None:
    # 400x400 of 800x400: no resampling, so the noise's pixels stay black and white.
    source = images.busy_corner(800, 400, left=left, top=150, size=100)
    out = picture(source, f"w=400&h=400&fit=crop&crop={mode}")
    assert (out.width, out.height) == (400, 400)
    assert (out.min(), out.max()) == (0, 255)  # the noise is in it
    centred = picture(source, "w=400&h=400&fit=crop")
    assert (centred.min(), centred.max()) == (128, 128)  # where a plain crop has grey


def test_a_smart_crop_past_its_deadline_is_abandoned() -> None:
    """The search runs while the steps are made, before encode: under the deadline too."""
    spec = dialect.parse("w=8000&h=2000&fit=crop&crop=entropy").for_output(OutputFormat.PNG)
    started = time.monotonic()
    with pytest.raises(HTTPError) as caught:
        render(PHOTO, spec, dataclasses.replace(LIMITS, timeout=0.001))
    assert (caught.value.status, caught.value.code) == (503, "render_timeout")
    assert time.monotonic() - started < 0.5  # abandoned, not finished (about 1.4 s here)


# --- rect and trim --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "size", "colour"),
    [
        ("rect=200,0,200,200", (200, 200), TOP_RIGHT),
        ("rect=0.5,0.5,0.5,0.5", (200, 200), BOTTOM_RIGHT),
        ("rect=0,0.5,0.5,0.5&w=50", (50, 50), BOTTOM_LEFT),  # shrunk on load, then cut
        ("rect=0.5,0,0.25,0.25&w=400", (400, 400), TOP_RIGHT),  # cut, then enlarged
        ("rect=0,0,0.25,0.5&fit=crop&w=50&h=50", (50, 50), TOP_LEFT),
    ],
)
def test_rect_picks_the_region(query: str, size: tuple[int, int], colour: Colour) -> None:
    out = picture(QUADRANTS, query)
    assert (out.width, out.height) == size
    # The pixels along a cut may take a little of its neighbour in resampling.
    inner = out.crop(2, 2, out.width - 4, out.height - 4)
    assert difference(inner, colour) <= 2


FRAMED = images.framed(300, 200, 30, (0, 200, 0))  # 360x260, a 30-pixel green frame


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("trim=auto", (300, 200)),
        ("trim=auto&w=150", (150, 100)),
        ("trim=auto&fm=jpg", (300, 200)),
        # Inside a rect: the frame is cut where the rect has it (left and top).
        ("rect=0,0,180,130&trim=auto", (150, 100)),
    ],
)
def test_trim_removes_a_solid_border(query: str, size: tuple[int, int]) -> None:
    out = picture(FRAMED, query)
    assert (out.width, out.height) == size
    right, bottom = out.width - 1, out.height - 1
    for x, y in ((0, 0), (right, 0), (right, bottom), (0, bottom)):
        assert not near(colour_at(out, x, y), (0, 200, 0), tolerance=40), (x, y)


def test_trim_keeps_the_picture_inside_the_border_unchanged() -> None:
    out = picture(FRAMED, "trim=auto")
    assert float((out - images.photo(300, 200)).abs().max()) == 0


def test_trim_keeps_a_picture_without_a_border_whole() -> None:
    out = picture(QUADRANTS, "trim=auto")
    assert (out.width, out.height) == (400, 400)


# --- rot and flip ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "size", "corners"),
    [
        # Corners of the output, clockwise from the top left.
        ("rot=90", (200, 400), (BOTTOM_LEFT, TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT)),
        ("rot=180", (400, 200), (BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT, TOP_RIGHT)),
        ("rot=270", (200, 400), (TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT)),
        ("flip=h", (400, 200), (TOP_RIGHT, TOP_LEFT, BOTTOM_LEFT, BOTTOM_RIGHT)),
        ("flip=v", (400, 200), (BOTTOM_LEFT, BOTTOM_RIGHT, TOP_RIGHT, TOP_LEFT)),
        ("flip=hv", (400, 200), (BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT, TOP_RIGHT)),
        # Rotated first, then mirrored.
        ("rot=90&flip=h", (200, 400), (TOP_LEFT, BOTTOM_LEFT, BOTTOM_RIGHT, TOP_RIGHT)),
    ],
)
def test_right_angle_rotations_and_flips_move_the_corners(
    query: str, size: tuple[int, int], corners: tuple[Colour, ...]
) -> None:
    out = picture(WIDE_QUADRANTS, query)
    assert (out.width, out.height) == size
    right, bottom = out.width - 5, out.height - 5
    points = ((4, 4), (right, 4), (right, bottom), (4, bottom))
    assert tuple(colour_at(out, x, y) for x, y in points) == corners


def test_rot_30_turns_clockwise_as_rot_90_does() -> None:
    out = picture(QUADRANTS, "rot=30")
    assert abs(out.width - 546.4) < 1 and out.height == out.width  # 400·(cos 30° + sin 30°)
    # Source pixel (20, 20), turned 30° clockwise about the centre, lands at
    # (207, 27); turned the other way, at (27, 207).
    assert colour_at(out, 207, 27) == (*TOP_LEFT, 255)
    assert colour_at(out, 27, 207)[3] == 0


@pytest.mark.parametrize(
    ("fm", "corner"), [("png", (0, 0, 0, 0)), ("webp", (0, 0, 0, 0)), ("jpg", WHITE)]
)
def test_odd_rotations_enlarge_the_canvas_with_empty_corners(fm: str, corner: Colour) -> None:
    out = picture(QUADRANTS, f"rot=45&fm={fm}")
    assert (out.width, out.height) == (566, 566)  # 400·√2
    assert near(colour_at(out, 2, 2), corner)
    assert near(colour_at(out, 283, 100)[:3], TOP_LEFT, tolerance=8)  # up: the top left


def test_rot_with_bg_fills_the_corners() -> None:
    out = picture(QUADRANTS, "rot=45&bg=0ff")
    assert out.bands == 3 and colour_at(out, 2, 2) == CYAN


# --- blur and sharp -------------------------------------------------------------


def test_blur_lowers_the_local_variance() -> None:
    source = images.busy_corner(200, 200, left=50, top=50, size=100)
    noise = picture(source, "").crop(60, 60, 80, 80)
    blurred = picture(source, "blur=20").crop(60, 60, 80, 80)
    assert noise.deviate() > 100
    assert blurred.deviate() < noise.deviate() / 3
    assert abs(blurred.avg() - noise.avg()) < 10  # blurred, not darkened


@pytest.mark.parametrize("amount", [2, 5, 8, 20, 200])
def test_blur_keeps_the_brightness(amount: int) -> None:
    # libvips' approximate blur makes black of sigmas from 0.2 to 0.55 (blur=2 to 5).
    out = picture(PHOTO_PNG, f"blur={amount}")
    assert abs(out.avg() - images.photo(400, 300).avg()) < 5


def test_more_blur_is_blurrier() -> None:
    source = images.busy_corner(200, 200, left=50, top=50, size=100)
    deviations = [picture(source, f"blur={b}").crop(60, 60, 80, 80).deviate() for b in (5, 20, 80)]
    assert deviations == sorted(deviations, reverse=True)


def test_sharp_raises_the_contrast_at_an_edge() -> None:
    source = halves(64, 192)
    plain, sharp = picture(source, ""), picture(source, "sharp=100")
    assert (plain.min(), plain.max()) == (64, 192)
    # Overshoot on both sides of the edge; the flat parts stay as they were.
    assert sharp.min() < 54 and sharp.max() > 202
    assert colour_at(sharp, 10, 50) == (64,) * 3 and colour_at(sharp, 90, 50) == (192,) * 3


@pytest.mark.parametrize(
    "query",
    [
        "w=800",  # shrink-on-load (thumbnail) resamples premultiplied
        "rect=0,0,200,200&w=800",  # a region cut, then enlarged
        "blur=50",
        "rot=45&blur=50",
        "w=600&h=400&fit=fill&fill=blur",
    ],
)
def test_resampling_does_not_darken_the_edges_of_transparency(query: str) -> None:
    """Every output pixel is red, or red laid over white in part: its red stays 255.
    Resampling colours without weighting them by alpha lets the black of the
    transparent pixels in, and gives a dark fringe around the opaque part."""
    out = picture(RED_ON_CLEAR, f"{query}&bg=fff")
    assert out.bands == 3
    assert out.extract_band(0).min() >= 250
    assert out.extract_band(1).max() > 200  # and there is a white part, and edges


# --- pad and bg -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "bands", "border"),
    [
        ("pad=10", 4, (0, 0, 0, 0)),  # transparent in PNG
        ("pad=10&bg=0ff", 3, CYAN),
        ("pad=10&bg=8800ffff", 4, (0, 255, 255, 136)),
        ("pad=10&fm=jpg", 3, WHITE),
        ("pad=10&fm=webp", 4, (0, 0, 0, 0)),
    ],
)
def test_pad_adds_a_border_in_bg(query: str, bands: int, border: Colour) -> None:
    out = picture(QUADRANTS, query)
    assert (out.width, out.height, out.bands) == (420, 420, bands)
    for x, y in ((5, 5), (414, 414), (200, 5), (5, 200)):
        assert near(colour_at(out, x, y), border, tolerance=6), (x, y)
    # The picture inside: lossy WebP moves a saturated colour by a few units.
    assert near(colour_at(out, 15, 15)[:3], TOP_LEFT, tolerance=10)
    assert near(colour_at(out, 404, 404)[:3], BOTTOM_RIGHT, tolerance=10)


@pytest.mark.parametrize(
    ("bg", "where_transparent"),
    [
        ("f00", RED),
        ("ff0000", RED),
        ("80ff0000", (255, 0, 0, 128)),  # AARRGGBB: half-transparent red
        ("8f00", (255, 0, 0, 136)),  # ARGB
        ("00ff0000", (0, 0, 0, 0)),  # fully transparent: as without bg
    ],
)
def test_bg_shows_where_the_source_is_transparent(bg: str, where_transparent: Colour) -> None:
    out = picture(images.png_with_alpha(400, 300), f"bg={bg}")
    assert out.bands == len(where_transparent)
    assert colour_at(out, 10, 10) == where_transparent
    opaque = colour_at(out, 200, 150)  # the white disc, opaque
    assert opaque[:3] == WHITE and opaque[3:] in ((), (255,))


def test_translucent_bg_is_laid_over_white_in_jpeg() -> None:
    out = picture(images.png_with_alpha(400, 300), "bg=80ff0000&fm=jpg")
    assert near(colour_at(out, 10, 10), (255, 127, 127), tolerance=4)


@pytest.mark.parametrize(
    ("source", "query", "point"),
    [
        (GREY_JPEG, "pad=10&bg=f00", (5, 5)),
        (GREY_JPEG, "pad=10&bg=f00&fm=jpg", (5, 5)),
        (GREY_JPEG, "w=200&h=100&fit=fill&fill-color=f00", (10, 50)),
        (GREY_JPEG, "rot=45&bg=f00", (2, 2)),
        (GREY_WITH_CLEAR_BORDER, "bg=f00", (5, 5)),
    ],
)
def test_a_coloured_bg_or_fill_stays_coloured_on_a_grey_source(
    source: bytes, query: str, point: tuple[int, int]
) -> None:
    out = picture(source, query)
    assert near(colour_at(out, *point), RED, tolerance=4)
    assert near(colour_at(out, out.width // 2, out.height // 2), (128, 128, 128), tolerance=4)


# --- formats, quality and compression -------------------------------------------


@pytest.mark.parametrize(
    ("fm", "magic", "loader"),
    [
        ("jpg", b"\xff\xd8\xff", "jpegload_buffer"),
        ("pjpg", b"\xff\xd8\xff", "jpegload_buffer"),
        ("png", b"\x89PNG\r\n\x1a\n", "pngload_buffer"),
        ("png8", b"\x89PNG\r\n\x1a\n", "pngload_buffer"),
        ("png32", b"\x89PNG\r\n\x1a\n", "pngload_buffer"),
        ("webp", b"RIFF", "webpload_buffer"),
        ("avif", b"\x00\x00\x00", "heifload_buffer"),
        ("gif", b"GIF89a", "gifload_buffer"),
    ],
)
def test_each_picture_format_decodes_as_that_format(fm: str, magic: bytes, loader: str) -> None:
    data = rendered(PHOTO, f"w=200&fm={fm}")
    assert data.startswith(magic)
    out = images.encoded(data)
    assert out.get("vips-loader") == loader
    assert (out.width, out.height) == (200, 150)
    if fm == "webp":
        assert data[8:12] == b"WEBP"
    if fm == "avif":
        assert data[4:12] == b"ftypavif"


def test_pjpg_is_progressive_and_jpg_is_not() -> None:
    # SOF2 (0xFFC2) opens a progressive frame, SOF0 a baseline one. In entropy-coded
    # data a 0xFF is always followed by 0x00, so the marker cannot occur by chance.
    progressive, baseline = rendered(PHOTO, "fm=pjpg"), rendered(PHOTO, "fm=jpg")
    assert b"\xff\xc2" in progressive and b"\xff\xc0" not in progressive
    assert b"\xff\xc0" in baseline and b"\xff\xc2" not in baseline
    assert images.encoded(progressive).get("interlaced") == 1


@pytest.mark.parametrize(
    ("source", "fm", "colour_type", "alpha"),
    [
        (PHOTO, "png", 2, False),  # opaque: truecolour
        (PHOTO, "png8", 3, False),  # palette
        (PHOTO, "png32", 6, True),  # alpha, though the source has none
        (images.png_with_alpha(), "png", 6, True),
        (images.png_with_alpha(), "png8", 3, True),  # the palette's transparency (tRNS)
    ],
)
def test_png_variants_by_ihdr_colour_type(
    source: bytes, fm: str, colour_type: int, alpha: bool
) -> None:
    data = rendered(source, f"w=200&fm={fm}")
    assert png_colour_type(data) == colour_type
    out = images.encoded(data)
    assert out.hasalpha() == alpha
    assert (out.get_typeof("palette") != 0 and out.get("palette") == 1) == (fm == "png8")


def test_png32_of_an_opaque_source_is_opaque() -> None:
    out = picture(PHOTO, "fm=png32")
    assert out.bands == 4 and out.extract_band(3).min() == 255


@pytest.mark.parametrize("fm", ["webp", "avif"])
def test_lossless_round_trips_the_pixels_exactly(fm: str) -> None:
    source = images.photo(64, 64)
    original = bytes(source.pngsave_buffer())
    lossless = picture(original, f"fm={fm}&lossless=1")
    assert float((lossless - source).abs().max()) == 0
    lossy = picture(original, f"fm={fm}&q=50")
    assert float((lossy - source).abs().max()) > 0  # the check can tell


def test_lossless_does_not_apply_to_jpeg() -> None:
    assert rendered(PHOTO, "fm=jpg&lossless=1") == rendered(PHOTO, "fm=jpg")


@pytest.mark.parametrize("fm", ["jpg", "pjpg", "webp", "avif"])
def test_higher_quality_takes_more_bytes(fm: str) -> None:
    sizes = [len(rendered(PHOTO, f"fm={fm}&q={q}")) for q in (20, 50, 90)]
    assert sizes[0] < sizes[1] < sizes[2], sizes


@pytest.mark.parametrize("fm", ["jpg", "webp", "avif"])
def test_auto_compress_makes_smaller_files(fm: str) -> None:
    default, compressed = rendered(PHOTO, f"fm={fm}"), rendered(PHOTO, f"fm={fm}&auto=compress")
    assert len(compressed) < len(default)
    # A q of its own wins over auto=compress's.
    assert rendered(PHOTO, f"fm={fm}&q=90&auto=compress") == rendered(PHOTO, f"fm={fm}&q=90")


def test_auto_compress_makes_a_png_a_palette_png() -> None:
    default, compressed = rendered(PHOTO, "fm=png"), rendered(PHOTO, "fm=png&auto=compress")
    assert png_colour_type(compressed) == 3 and len(compressed) < len(default) / 2


@pytest.mark.parametrize(
    ("accept", "loader"),
    [
        ("image/avif,image/webp,*/*", "heifload_buffer"),
        ("image/webp,*/*", "webpload_buffer"),
        ("*/*", "jpegload_buffer"),  # the source's own format
    ],
)
def test_auto_format_renders_what_the_browser_accepts(accept: str, loader: str) -> None:
    spec = dialect.parse("w=100&auto=format")
    fmt, negotiated = negotiate(spec, accept, "jpeg")
    assert negotiated
    out = images.encoded(render(PHOTO, spec.for_output(fmt), LIMITS))
    assert out.get("vips-loader") == loader and out.width == 100


# --- colour spaces --------------------------------------------------------------

SRGB_PROFILE = bytes(pyvips.Image.profile_load("srgb"))
P3_PROFILE = bytes(pyvips.Image.profile_load("p3"))
P3_RED = images.display_p3(64, 64, RED)  # pixels about (234, 51, 34), the P3 profile


def profile(image: pyvips.Image) -> bytes | None:
    if not image.get_typeof("icc-profile-data"):
        return None
    return bytes(image.get("icc-profile-data"))


@pytest.mark.parametrize("fm", ["png", "jpg", "webp", "avif"])
@pytest.mark.parametrize(
    ("cs", "pixels", "icc"),
    [
        ("", RED, None),  # converted from the embedded profile, none attached
        ("cs=strip", RED, None),
        ("cs=srgb", RED, SRGB_PROFILE),
        ("cs=origin", (234, 51, 34), P3_PROFILE),  # P3 pixels, P3 profile
    ],
)
def test_colour_space_of_a_display_p3_source(
    fm: str, cs: str, pixels: Colour, icc: bytes | None
) -> None:
    source = images.encoded(P3_RED)
    assert profile(source) == P3_PROFILE and near(colour_at(source, 5, 5), (234, 51, 34), 1)
    out = picture(P3_RED, f"fm={fm}&{cs}")
    assert near(colour_at(out, 32, 32), pixels, tolerance=4)
    assert profile(out) == icc


@pytest.mark.parametrize(
    ("cs", "icc"),
    [("", None), ("cs=strip", None), ("cs=srgb", SRGB_PROFILE), ("cs=origin", None)],
)
def test_colour_space_of_a_source_without_a_profile(cs: str, icc: bytes | None) -> None:
    out = picture(PHOTO, f"w=100&fm=jpg&{cs}")
    assert profile(out) == icc


# --- descriptions, download names, base64 values --------------------------------


def test_fm_json_describes_the_original_not_the_variant() -> None:
    body = json.loads(rendered(PHOTO, "fm=json&w=100&rot=90"))
    assert (body["width"], body["height"]) == (400, 300)
    assert body["format"] == "jpeg" and body["bytes"] == len(PHOTO)
    assert body["has_alpha"] is False and body["frames"] == 1
    assert re.fullmatch(r"#[0-9a-f]{6}", body["dominant_color"])


def test_fm_json_of_a_transparent_png() -> None:
    body = json.loads(rendered(images.png_with_alpha(400, 300), "fm=json"))
    assert (body["width"], body["height"], body["format"]) == (400, 300, "png")
    assert body["has_alpha"] is True


def test_fm_blurhash_is_a_blurhash_of_the_original() -> None:
    text = rendered(PHOTO, "fm=blurhash&w=10").decode("ascii")
    # 4x3 components for a 4:3 picture: size flag (4-1) + (3-1)·9 = 21, base83 "L";
    # then 1 + 4 characters of maximum and DC, and 2 per AC component.
    assert text[0] == "L" and len(text) == 1 + 1 + 4 + 2 * (4 * 3 - 1)
    assert re.fullmatch(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]+", text)
    assert json.loads(rendered(PHOTO, "fm=json"))["blurhash"] == text


def test_dl_names_the_download_and_leaves_the_picture_alone() -> None:
    request = dialect.read("w=100&dl=holiday.jpg")
    assert request.download == "holiday.jpg"
    assert rendered(PHOTO, "w=100&dl=holiday.jpg&fm=jpg") == rendered(PHOTO, "w=100&fm=jpg")


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "plain"),
    [
        (f"w64={_b64('200')}", "w=200"),
        (f"w=200&fm64={_b64('webp')}", "w=200&fm=webp"),
        (f"w=100&h=100&fit=fill&fill-color64={_b64('0ff')}", "w=100&h=100&fit=fill&fill-color=0ff"),
        (f"rect64={_b64('0,0,200,200')}", "rect=0,0,200,200"),
    ],
)
def test_base64_values_render_as_the_plain_ones(query: str, plain: str) -> None:
    assert rendered(QUADRANTS, query) == rendered(QUADRANTS, plain)


LARGE = images.jpeg(3000, 2000)


def _fill_blur_reference(whole: pyvips.Image) -> pyvips.Image:
    """w=4000&h=4000&fit=fill&fill=blur at a tenth of the size: the whole picture
    across the middle, on a copy of it scaled to cover the box and blurred."""
    backdrop = whole.resize(400 / 2000).gravity("centre", 400, 400).gaussblur(20)
    picture = whole.resize(400 / 3000)
    return backdrop.insert(picture, 0, (400 - picture.height) // 2)


# Each against what libvips makes of the whole decoded picture held in memory (random
# access): the sequential load of a large source must give the same picture.
@pytest.mark.parametrize(
    ("query", "size", "reference"),
    [
        # The picture is read twice: from memory. Compared at a tenth of its size.
        ("w=4000&h=4000&fit=fill&fill=blur", (4000, 4000), _fill_blur_reference),
        ("w=1200&flip=v&rot=270", (800, 1200), lambda i: i.resize(0.4).rot270().flipver()),
        (
            "w=800&h=800&fit=crop&crop=entropy",
            (800, 800),
            lambda i: i.resize(0.4).smartcrop(800, 800, interesting="entropy"),
        ),
    ],
    ids=["fill-blur", "flip-v-rot-270", "crop-entropy"],
)
def test_steps_that_read_out_of_order_work_on_large_sources(
    query: str, size: tuple[int, int], reference: Callable[[pyvips.Image], pyvips.Image]
) -> None:
    out = images.encoded(render(LARGE, dialect.parse(query).for_output(OutputFormat.JPG), LIMITS))
    assert (out.width, out.height) == size
    expected = reference(images.encoded(LARGE).copy_memory())
    out = out.resize(expected.width / out.width)
    # JPEG at q=75 and a blur on a shrunk copy differ by about one level on average;
    # a wrong flip, a misplaced crop or a missing backdrop by 25 or more.
    assert (out - expected).abs().avg() < 3
    assert ssim(out, expected) > 0.98


def test_the_largest_blur_costs_what_its_pixels_do() -> None:
    # A 200-pixel sigma over 16 megapixels took 12-17 s of two cores before large
    # blurs were made on a shrunk copy; a deadline of 6 s would answer 503.
    limits = dataclasses.replace(LIMITS, timeout=6)
    spec = dialect.parse("w=4000&h=4000&fit=scale&blur=2000").for_output(OutputFormat.JPG)
    out = images.encoded(render(LARGE, spec, limits))
    assert (out.width, out.height) == (4000, 4000)


@pytest.mark.parametrize(
    ("source", "query", "size"),
    [
        (images.jpeg(2, 2), "trim=auto", (2, 2)),  # too small to find a border in
        (images.jpeg(400, 300), "trim=auto&rect=0,0,2,2", (2, 2)),
        (images.jpeg(4000, 3000), "trim=auto&rect=3999,0,1,3000", (1, 3000)),  # the edge
    ],
)
def test_trim_of_tiny_or_edge_regions_keeps_them(
    source: bytes, query: str, size: tuple[int, int]
) -> None:
    out = images.encoded(render(source, dialect.parse(query).for_output(OutputFormat.PNG), LIMITS))
    assert (out.width, out.height) == size
