"""The pyvips steps of a render: each a small pure `Image -> Image` function.

pyvips images are immutable values, so steps share no context; `steps_for` picks
the tuple of steps one render needs, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pyvips

from origin.pipeline.plan import Plan
from origin.spec import OutputFormat

Step = Callable[[pyvips.Image], pyvips.Image]

WHITE = (255, 255, 255)


def load(original: bytes, plan: Plan) -> pyvips.Image:
    """Decode at the planned size. thumbnail_buffer uses shrink-on-load (JPEG, WebP
    and HEIF decode at a fraction of their size), reads sequentially, applies the EXIF
    orientation and imports any embedded ICC profile to sRGB."""
    if plan.crop:
        return pyvips.Image.thumbnail_buffer(
            original, plan.width, height=plan.height, crop="centre", size="both"
        )
    return pyvips.Image.thumbnail_buffer(original, plan.width, height=plan.height, size="force")


def to_srgb(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB, or 8-bit grey for grey sources: what every output format takes."""
    if image.interpretation == "b-w" and image.format == "uchar":
        return image
    if image.interpretation in ("b-w", "grey16"):
        return image.colourspace("b-w")
    if image.interpretation != "srgb":
        image = image.colourspace("srgb")
    return image.cast("uchar") if image.format != "uchar" else image


def _colour(image: pyvips.Image, rgb: tuple[int, int, int]) -> list[int]:
    """`rgb` in the image's colour bands (grey sources take the first component)."""
    colour_bands = image.bands - 1 if image.hasalpha() else image.bands
    return list(rgb[:colour_bands]) if colour_bands >= 3 else [rgb[0]] * colour_bands


def flatten(image: pyvips.Image, background: tuple[int, int, int] = WHITE) -> pyvips.Image:
    """Drop alpha onto a background, for outputs that have none."""
    if not image.hasalpha():
        return image
    return image.flatten(background=_colour(image, background))


def pad(
    image: pyvips.Image, box: tuple[int, int], background: tuple[int, int, int] = WHITE
) -> pyvips.Image:
    """Centre the image on a box of the background colour (opaque where there is alpha)."""
    colour = _colour(image, background) + ([255] if image.hasalpha() else [])
    return image.gravity("centre", box[0], box[1], extend="background", background=colour)


def steps_for(plan: Plan, fmt: OutputFormat) -> tuple[Step, ...]:
    steps: list[Step] = [to_srgb]
    if not fmt.has_alpha:
        steps.append(flatten)
    if plan.canvas is not None:
        steps.append(partial(pad, box=plan.canvas))
    return tuple(steps)
