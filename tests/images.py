"""Test images made by libvips itself: deterministic, no binary fixtures to keep."""

from __future__ import annotations

import pyvips


def photo(width: int = 1200, height: int = 800) -> pyvips.Image:
    """A smooth colour gradient with a white disc in the middle and a dark bar at the
    top: enough structure for SSIM and for telling up from down."""
    xyz = pyvips.Image.xyz(width, height)
    red = (xyz[0] * (255 / width)).cast("uchar")
    green = (xyz[1] * (255 / height)).cast("uchar")
    blue = (red * 0 + 128).cast("uchar")
    image = red.bandjoin([green, blue]).copy(interpretation="srgb")
    image = image.draw_circle(
        [255, 255, 255], width // 2, height // 2, min(width, height) // 4, fill=True
    )
    return image.draw_rect([20, 20, 20], 0, 0, width, max(1, height // 10), fill=True)


# How to store pixels so that a viewer applying the EXIF orientation shows them upright.
_STORED_ROTATION = {1: "d0", 3: "d180", 6: "d270", 8: "d90"}


def jpeg(
    width: int = 1200, height: int = 800, *, orientation: int | None = None, q: int = 90
) -> bytes:
    """A JPEG that displays as photo(width, height); with `orientation`, its pixels are
    stored turned and tagged with that EXIF orientation (and a camera make)."""
    image = photo(width, height)
    if orientation is not None:
        image = image.rot(_STORED_ROTATION[orientation]).copy()
        image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
        image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "TestCam")
    return bytes(image.jpegsave_buffer(Q=q))


def png_with_alpha(width: int = 400, height: int = 300) -> bytes:
    """Opaque photo inside, fully transparent border of 50 pixels."""
    image = photo(width, height)
    alpha = pyvips.Image.black(width, height).draw_rect(
        [255], 50, 50, width - 100, height - 100, fill=True
    )
    return bytes(image.bandjoin(alpha.cast("uchar")).pngsave_buffer())


def encoded(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


# The quadrants' colours, clockwise from the top left: far apart in every channel, so
# a pixel sample tells which quadrant it came from even after JPEG or resampling.
TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
)


def quadrants(width: int = 400, height: int = 400) -> bytes:
    """A PNG of four flat quadrants: TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT."""
    half_w, half_h = width // 2, height // 2
    image = pyvips.Image.black(width, height, bands=3).copy(interpretation="srgb")
    for colour, left, top in (
        (TOP_LEFT, 0, 0),
        (TOP_RIGHT, half_w, 0),
        (BOTTOM_RIGHT, half_w, half_h),
        (BOTTOM_LEFT, 0, half_h),
    ):
        image = image.draw_rect(list(colour), left, top, width - half_w, height - half_h, fill=True)
    return bytes(image.cast("uchar").pngsave_buffer())


def flat(width: int, height: int, colour: tuple[int, ...]) -> pyvips.Image:
    """One colour all over; four values make an RGBA image."""
    bands = len(colour)
    image = (pyvips.Image.black(width, height, bands=bands) + list(colour)).cast("uchar")
    return image.copy(interpretation="srgb")


def framed(width: int, height: int, border: int, colour: tuple[int, int, int]) -> bytes:
    """A PNG of photo(width, height) inside a solid `border` of `colour` a side."""
    inner = photo(width, height)
    outer = flat(width + 2 * border, height + 2 * border, colour)
    return bytes(outer.insert(inner, border, border).pngsave_buffer())


def busy_corner(
    width: int = 400, height: int = 400, *, left: int, top: int, size: int = 100
) -> bytes:
    """A PNG of flat mid grey but for a `size` square of black and white noise with
    its top left corner at (left, top): the only thing there is to look at."""
    noise = (pyvips.Image.gaussnoise(size, size, sigma=120, mean=128) > 128).cast("uchar")
    noise = noise.bandjoin([noise, noise]).copy(interpretation="srgb")
    return bytes(flat(width, height, (128, 128, 128)).insert(noise, left, top).pngsave_buffer())


def display_p3(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A PNG of the sRGB `colour` converted to Display P3 pixels, with the P3 profile
    embedded: a viewer that honours the profile shows `colour`."""
    p3 = flat(width, height, colour).icc_transform("p3", input_profile="srgb")
    return bytes(p3.pngsave_buffer(keep="icc"))
