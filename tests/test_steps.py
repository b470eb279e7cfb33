"""Each step of origin/pipeline/steps.py on real libvips images, held to what it must
do: size, bands, alpha, colour, orientation, and pixel values where the step is exact.

tests/test_parameters.py holds the same effects through whole renders; here each step
is called alone, so a broken step is named by the test that fails.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import pyvips

from origin.pipeline import steps
from origin.pipeline.plan import Plan
from origin.pipeline.source import open_source
from origin.spec import Colour, Fill, Flip, OutputFormat, TransformSpec
from tests import images
from tests.images import BOTTOM_LEFT, BOTTOM_RIGHT, FRAME_COLOURS, TOP_LEFT, TOP_RIGHT

RED, WHITE = Colour(255, 0, 0), Colour(255, 255, 255)
HALF_RED = Colour(255, 0, 0, 128)
Pixel = tuple[int, ...]


def quadrants(width: int = 400, height: int = 400) -> pyvips.Image:
    return images.encoded(images.quadrants(width, height))


def corners(image: pyvips.Image) -> tuple[Pixel, ...]:
    """The pixels a quarter of the way in from each corner, clockwise from the top
    left: the middle of each quadrant of images.quadrants."""
    w, h = image.width, image.height
    points = (
        (w // 4, h // 4),
        (3 * w // 4, h // 4),
        (3 * w // 4, 3 * h // 4),
        (w // 4, 3 * h // 4),
    )
    return tuple(pixel(image, x, y) for x, y in points)


def pixel(image: pyvips.Image, x: int, y: int) -> Pixel:
    return tuple(round(v) for v in image(x, y))


def near(found: Pixel, expected: Pixel, tolerance: int = 6) -> bool:
    return len(found) == len(expected) and all(
        abs(f - e) <= tolerance for f, e in zip(found, expected, strict=True)
    )


def largest_difference(a: pyvips.Image, b: pyvips.Image) -> float:
    assert (a.width, a.height, a.bands) == (b.width, b.height, b.bands)
    return float((a.cast("int") - b.cast("int")).abs().max())


def array(image: pyvips.Image) -> np.ndarray:
    return np.ndarray(
        buffer=image.write_to_memory(),
        dtype=np.uint8,
        shape=(image.height, image.width, image.bands),
    )


def red_on_clear(width: int = 60, height: int = 40, border: int = 10) -> pyvips.Image:
    """Opaque red inside, a border of transparent black: where a resampling that
    ignores alpha makes a dark fringe."""
    clear = images.flat(width, height, (0, 0, 0, 0))
    red = images.flat(width - 2 * border, height - 2 * border, (255, 0, 0, 255))
    return clear.insert(red, border, border)


def fringe(image: pyvips.Image) -> int:
    """The darkest red of the pixels that show at all (alpha above 16): 255 when
    transparent pixels did not bleed into the colour."""
    pixels = array(image)
    return int(pixels[pixels[:, :, 3] > 16][:, 0].min())


# load


def test_load_decodes_at_the_planned_size() -> None:
    source = open_source(images.jpeg(1200, 800))
    loaded = steps.load(source, Plan(load=(300, 200), region=None), to_srgb=False)
    assert (loaded.width, loaded.height, loaded.bands) == (300, 200, 3)
    # size="force": the plan's size even where it is not the source's shape.
    stretched = steps.load(source, Plan(load=(300, 300), region=None), to_srgb=False)
    assert (stretched.width, stretched.height) == (300, 300)


def test_load_turns_by_the_exif_orientation_unless_told_not_to() -> None:
    shown = quadrants(400, 200)
    stored = images.stored_for(shown, 6)  # turned a quarter: 200x400 as stored
    source = open_source(bytes(stored.jpegsave_buffer(Q=95)))
    upright = steps.load(source, Plan(load=(400, 200), region=None), to_srgb=False)
    assert all(
        near(found, colour) for found, colour in zip(corners(upright), corners(shown), strict=True)
    )
    as_stored = steps.load(source, Plan(load=(200, 400), region=None), to_srgb=False, upright=False)
    assert all(
        near(found, colour)
        for found, colour in zip(corners(as_stored), corners(stored), strict=True)
    )


def test_load_converts_an_embedded_profile_to_srgb_only_when_asked() -> None:
    colour = (200, 40, 40)
    data = images.display_p3(32, 32, colour)
    plan = Plan(load=(16, 16), region=None)
    assert near(pixel(steps.load(open_source(data), plan, to_srgb=True), 8, 8), colour, 2)
    p3_pixels = pixel(images.encoded(data), 0, 0)
    assert not near(p3_pixels, colour, 2)  # else this test could not tell
    assert near(pixel(steps.load(open_source(data), plan, to_srgb=False), 8, 8), p3_pixels, 2)


def test_load_stacks_the_frames_of_an_animation() -> None:
    source = open_source(images.animated_gif(4, 120, 90))
    roll = steps.load(source, Plan(load=(60, 45), region=None), to_srgb=False, frames=4)
    assert (roll.width, roll.height) == (60, 180)
    assert roll.get("page-height") == 45
    for index, colour in enumerate(FRAME_COLOURS):
        assert near(pixel(roll, 2, index * 45 + 40)[:3], colour, 12), index


# cut, enlarge, premultiplied


def test_cut_keeps_exactly_the_box() -> None:
    out = steps.cut(quadrants(), (200, 0, 200, 200))
    assert (out.width, out.height) == (200, 200)
    assert largest_difference(out, images.flat(200, 200, TOP_RIGHT)) == 0


def test_enlarge_gives_exactly_the_size_asked_in_each_direction() -> None:
    out = steps.enlarge(images.photo(100, 50), (300, 200))
    assert (out.width, out.height, out.bands) == (300, 200, 3)


def test_enlarge_weights_colours_by_alpha_so_no_dark_fringe_appears() -> None:
    image = red_on_clear()
    plain = image.resize(3)
    assert fringe(plain) < 200  # what the step must avoid happens without it
    out = steps.enlarge(image, (180, 120))
    assert (out.width, out.height, out.bands, out.format) == (180, 120, 4, "uchar")
    assert fringe(out) >= 250


def test_premultiplied_keeps_the_format_and_leaves_opaque_images_alone() -> None:
    photo = images.photo(40, 30)
    assert (
        largest_difference(
            steps.premultiplied(photo, lambda i: i.flip("horizontal")), photo.flip("horizontal")
        )
        == 0
    )
    out = steps.premultiplied(red_on_clear(), lambda i: i.gaussblur(2))
    assert (out.bands, out.format) == (4, "uchar")
    assert fringe(out) >= 250


# gaussblur, blur, sharpen


@pytest.mark.parametrize("sigma", [0.3, 4.0, 50.0])  # exact, approximate, on a shrunk copy
def test_gaussblur_is_close_to_an_exact_blur_at_every_sigma(sigma: float) -> None:
    photo = images.photo(810, 590)  # not a multiple of the shrink: sizes must still hold
    out = steps.gaussblur(photo, sigma)
    assert (out.width, out.height, out.bands) == (810, 590, 3)
    # libvips' approximate blur makes black of sigmas 0.2 to 0.55; these stay pictures.
    assert float((out.cast("int") - photo.gaussblur(sigma).cast("int")).abs().avg()) < 1
    assert largest_difference(out, photo.gaussblur(sigma)) <= 4


def test_blur_spreads_edges_and_keeps_flat_areas() -> None:
    image = quadrants()
    out = steps.blur(image, 100)  # sigma 10
    assert (out.width, out.height, out.bands, out.format) == (400, 400, 3, "uchar")
    assert all(near(found, c, 1) for found, c in zip(corners(out), corners(image), strict=True))
    # Next to the edge between red and green, both mixed.
    left, right = pixel(out, 196, 100), pixel(out, 204, 100)
    assert 60 < left[1] < 200 and 60 < right[0] < 200


def test_blur_weights_colours_by_alpha() -> None:
    out = steps.blur(red_on_clear(), 30)
    assert (out.bands, out.format) == (4, "uchar")
    assert fringe(out) >= 250


def test_sharpen_overshoots_at_edges_and_leaves_flat_areas() -> None:
    grey = images.flat(40, 20, (100, 100, 100)).insert(images.flat(20, 20, (150,) * 3), 20, 0)
    out = steps.sharpen(grey, 50)
    assert (out.width, out.height, out.bands, out.format) == (40, 20, 3, "uchar")
    assert pixel(out, 18, 10)[0] < 100 and pixel(out, 21, 10)[0] > 150
    assert pixel(out, 2, 10) == (100, 100, 100) and pixel(out, 38, 10) == (150, 150, 150)


# colour: to_srgb, with_alpha


def test_to_srgb_leaves_8_bit_grey_as_it_is() -> None:
    grey = images.photo(40, 30).colourspace("b-w")
    assert steps.to_srgb(grey) is grey


def test_to_srgb_makes_16_bit_and_float_pictures_8_bit() -> None:
    rgb16 = images.encoded(images.png16(40, 30))
    assert (rgb16.format, rgb16.interpretation) == ("ushort", "rgb16")
    out = steps.to_srgb(rgb16)
    assert (out.format, out.interpretation, out.bands) == ("uchar", "srgb", 3)
    assert largest_difference(out, images.photo(40, 30)) <= 1
    grey16 = rgb16.colourspace("grey16")
    out = steps.to_srgb(grey16)
    assert (out.format, out.interpretation, out.bands) == ("uchar", "b-w", 1)
    # What resampling with alpha leaves: sRGB pixels in floating point.
    out = steps.to_srgb(images.photo(40, 30).cast("float"))
    assert (out.format, out.interpretation) == ("uchar", "srgb")


@pytest.mark.parametrize("space", ["cmyk", "lab"])
def test_to_srgb_converts_other_colour_spaces(space: str) -> None:
    photo = images.photo(80, 60)
    image = images.cmyk(photo) if space == "cmyk" else photo.colourspace("lab")
    out = steps.to_srgb(image)
    assert (out.format, out.interpretation, out.bands) == ("uchar", "srgb", 3)
    # CMYK loses some of sRGB's gamut on the way there and back.
    assert float((out.cast("int") - photo.cast("int")).abs().avg()) < 12


def test_to_srgb_keeps_the_alpha_of_grey_pictures() -> None:
    grey_alpha = images.encoded(images.png_grey_alpha())
    out = steps.to_srgb(grey_alpha)
    assert (out.interpretation, out.bands) == ("b-w", 2)


def test_with_alpha_adds_an_opaque_band_once() -> None:
    photo = images.photo(40, 30)
    out = steps.with_alpha(photo)
    assert out.bands == 4 and out.hasalpha() and out[3].min() == 255
    assert largest_difference(out[0:3], photo) == 0
    assert steps.with_alpha(out) is out


# smart_crop, solid_canvas, blurred_canvas


def test_smart_crop_keeps_the_busy_part() -> None:
    image = images.encoded(images.busy_corner(400, 400, left=260, top=40, size=100))
    out = steps.smart_crop(image, (120, 120), "entropy")
    assert (out.width, out.height) == (120, 120)
    assert out.deviate() > 60  # the noise; anywhere else is flat grey


def test_solid_canvas_without_a_colour_is_transparent() -> None:
    photo = images.photo(100, 50)
    out = steps.solid_canvas(photo, (200, 100))
    assert (out.width, out.height, out.bands) == (200, 100, 4)
    assert pixel(out, 0, 0)[3] == 0 and pixel(out, 199, 99)[3] == 0
    middle = out.crop(50, 25, 100, 50)
    assert largest_difference(middle[0:3], photo) == 0 and middle[3].min() == 255


@pytest.mark.parametrize(
    ("colour", "corner"),
    [(RED, (255, 0, 0)), (HALF_RED, (255, 0, 0, 128)), (WHITE, (255, 255, 255))],
)
def test_solid_canvas_in_a_colour(colour: Colour, corner: Pixel) -> None:
    out = steps.solid_canvas(images.photo(100, 50), (100, 100), colour)
    assert (out.width, out.height) == (100, 100)
    assert pixel(out, 0, 0) == corner


def test_a_grey_picture_on_a_coloured_canvas_shows_the_colour() -> None:
    grey = images.flat(20, 20, (90, 90, 90)).colourspace("b-w")
    red = steps.solid_canvas(grey, (40, 20), RED)
    assert red.bands == 3 and pixel(red, 0, 10) == (255, 0, 0) and pixel(red, 20, 10) == (90,) * 3
    white = steps.solid_canvas(grey, (40, 20), WHITE)  # grey can show white: stays grey
    assert white.bands == 1 and pixel(white, 0, 10) == (255,)


def test_blurred_canvas_lays_the_picture_on_a_blurred_copy_of_itself() -> None:
    photo = images.photo(100, 50)
    out = steps.blurred_canvas(photo, (200, 200))
    assert (out.width, out.height, out.bands, out.format) == (200, 200, 3, "uchar")
    assert largest_difference(out.crop(50, 75, 100, 50), photo) == 0
    # Above the picture: the picture scaled to cover the box, blurred (sigma 10).
    backdrop = photo.resize(4).gravity("centre", 200, 200).gaussblur(10)
    above = (out.crop(0, 0, 200, 70).cast("int") - backdrop.crop(0, 0, 200, 70).cast("int")).abs()
    assert float(above.avg()) < 3


def test_blurred_canvas_composites_a_transparent_picture() -> None:
    picture = images.photo_with_alpha(100, 60, border=10)
    out = steps.blurred_canvas(picture, (200, 200))
    assert (out.width, out.height, out.bands, out.format) == (200, 200, 4, "uchar")
    assert pixel(out, 100, 100) == pixel(picture, 50, 30)  # opaque inside: the picture


# rotate, flip


@pytest.mark.parametrize(
    ("degrees", "size", "expected"),
    [
        (90, (200, 400), (BOTTOM_LEFT, TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT)),
        (180, (400, 200), (BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT, TOP_RIGHT)),
        (270, (200, 400), (TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT)),
    ],
)
def test_rotate_by_right_angles_clockwise_and_exactly(
    degrees: int, size: tuple[int, int], expected: tuple[Pixel, ...]
) -> None:
    out = steps.rotate(quadrants(400, 200), degrees)
    assert (out.width, out.height, out.bands) == (*size, 3)
    assert corners(out) == expected


def test_rotate_by_other_angles_on_a_larger_transparent_canvas() -> None:
    out = steps.rotate(images.flat(100, 100, (255, 0, 0)), 45)
    assert (out.width, out.height, out.bands) == (141, 141, 4)
    assert pixel(out, 0, 0) == (0, 0, 0, 0) and pixel(out, 140, 140)[3] == 0
    assert pixel(out, 70, 70) == (255, 0, 0, 255)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        (Flip.H, (TOP_RIGHT, TOP_LEFT, BOTTOM_LEFT, BOTTOM_RIGHT)),
        (Flip.V, (BOTTOM_LEFT, BOTTOM_RIGHT, TOP_RIGHT, TOP_LEFT)),
        (Flip.HV, (BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT, TOP_RIGHT)),
    ],
)
def test_flip(how: Flip, expected: tuple[Pixel, ...]) -> None:
    out = steps.flip(quadrants(400, 200), how)
    assert (out.width, out.height) == (400, 200)
    assert corners(out) == expected


# pad, on_background, flatten


def test_pad_adds_a_transparent_border() -> None:
    photo = images.photo(100, 50)
    out = steps.pad(photo, 10)
    assert (out.width, out.height, out.bands) == (120, 70, 4)
    assert pixel(out, 0, 0)[3] == 0 and pixel(out, 119, 69)[3] == 0
    assert largest_difference(out.crop(10, 10, 100, 50)[0:3], photo) == 0
    grey = steps.pad(photo.colourspace("b-w"), 3)
    assert (grey.width, grey.bands, pixel(grey, 0, 0)) == (106, 2, (0, 0))


def test_on_background_leaves_an_opaque_picture_alone() -> None:
    photo = images.photo(40, 30)
    assert steps.on_background(photo, RED) is photo


def test_on_an_opaque_background_the_alpha_goes() -> None:
    picture = images.photo_with_alpha(100, 60, border=10)
    out = steps.on_background(picture, RED)
    assert (out.bands, out.interpretation) == (3, "srgb")
    assert pixel(out, 0, 0) == (255, 0, 0)
    assert largest_difference(out.crop(10, 10, 80, 40), picture.crop(10, 10, 80, 40)[0:3]) == 0


def test_on_a_translucent_background_the_alpha_stays() -> None:
    picture = images.photo_with_alpha(100, 60, border=10)
    out = steps.on_background(picture, HALF_RED)
    assert (out.bands, out.format) == (4, "uchar")
    assert pixel(out, 0, 0) == (255, 0, 0, 128)
    assert pixel(out, 50, 30) == (*pixel(picture, 50, 30)[:3], 255)


@pytest.mark.parametrize(("colour", "corner"), [(RED, (255, 0, 0)), (HALF_RED, (255, 0, 0, 128))])
def test_grey_with_alpha_on_a_coloured_background_becomes_colour(
    colour: Colour, corner: Pixel
) -> None:
    grey_alpha = images.encoded(images.png_grey_alpha())
    out = steps.on_background(grey_alpha, colour)
    assert out.interpretation == "srgb" and pixel(out, 0, 0) == corner


def test_flatten_lays_the_picture_on_white() -> None:
    out = steps.flatten(images.photo_with_alpha(100, 60, border=10))
    assert out.bands == 3 and pixel(out, 0, 0) == (255, 255, 255)


def test_in_memory_is_the_same_picture() -> None:
    photo = images.photo(40, 30)
    assert largest_difference(steps.in_memory(photo), photo) == 0


# run, animation, steps_for


def test_run_applies_the_steps_in_order() -> None:
    turned_then_cut = steps.run(
        quadrants(), (partial(steps.rotate, degrees=90), partial(steps.cut, box=(0, 0, 200, 200)))
    )
    assert corners(turned_then_cut) == (BOTTOM_LEFT,) * 4


def test_animation_runs_every_frame_through_the_steps() -> None:
    roll = images.animation(4, 120, 90)
    out = steps.animation(roll, 4, (partial(steps.cut, box=(0, 45, 60, 45)),))
    assert (out.width, out.height, out.get("page-height")) == (60, 180, 45)
    for index in range(4):
        frame = out.crop(0, index * 45, 60, 45)
        assert largest_difference(frame, images.frame(index, 120, 90).crop(0, 45, 60, 45)) == 0


def test_a_smart_crop_cuts_every_frame_at_the_same_place() -> None:
    # The white square moves from left to right: a crop chosen frame by frame would
    # follow it, and the picture would jump.
    roll = images.animation(4, 120, 90)
    out = steps.animation(
        roll, 4, (partial(steps.smart_crop, size=(60, 90), interesting="entropy"),)
    )
    assert (out.width, out.height) == (60, 360)
    first = out.crop(0, 0, 60, 90)
    left = next(
        x
        for x in range(61)
        if largest_difference(images.frame(0, 120, 90).crop(x, 0, 60, 90), first) == 0
    )
    for index in range(4):
        expected = images.frame(index, 120, 90).crop(left, 0, 60, 90)
        assert largest_difference(out.crop(0, index * 90, 60, 90), expected) == 0


def _names(chosen: tuple[steps.Step, ...]) -> list[str]:
    return [(s.func if isinstance(s, partial) else s).__name__ for s in chosen]


@pytest.mark.parametrize(
    ("spec", "fmt", "expected"),
    [
        (TransformSpec(), OutputFormat.JPG, ["to_srgb", "flatten"]),
        (TransformSpec(), OutputFormat.PNG, ["to_srgb"]),
        (TransformSpec(), OutputFormat.PNG32, ["to_srgb", "with_alpha"]),
        # Turning and flipping bottom up read out of order: from memory.
        (TransformSpec(rotate=90), OutputFormat.WEBP, ["to_srgb", "in_memory", "rotate"]),
        (TransformSpec(flip=Flip.H), OutputFormat.WEBP, ["to_srgb", "flip"]),
        (TransformSpec(flip=Flip.V), OutputFormat.WEBP, ["to_srgb", "in_memory", "flip"]),
        (
            TransformSpec(blur=10, sharpen=10, pad=4, background=RED),
            OutputFormat.AVIF,
            ["to_srgb", "blur", "sharpen", "pad", "on_background"],
        ),
    ],
)
def test_steps_for_picks_the_steps_in_order(
    spec: TransformSpec, fmt: OutputFormat, expected: list[str]
) -> None:
    assert _names(steps.steps_for(Plan(load=(100, 100), region=None), spec, fmt)) == expected


def test_steps_for_a_full_plan() -> None:
    plan = Plan(
        load=(400, 400),
        region=(10, 10, 300, 300),
        resize=(200, 200),
        smart=(150, 150, "entropy"),
        canvas=(180, 180),
    )
    spec = TransformSpec(fill=Fill.BLUR)
    chosen = steps.steps_for(plan, spec, OutputFormat.PNG)
    assert _names(chosen) == [
        "cut",
        "enlarge",
        "to_srgb",
        "in_memory",
        "smart_crop",
        "blurred_canvas",
    ]
    out = steps.run(images.photo(400, 400), chosen)
    assert (out.width, out.height) == (180, 180)
