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
