"""The pyvips steps of a render: each a small pure `Image -> Image` function.

pyvips images are immutable values, so steps share no context; `steps_for` picks
the tuple of steps one render needs, in order. Areas a step adds (a canvas, padding,
the corners of a rotation) are transparent; the last step lays the picture on `bg`,
or on white for formats without alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pyvips

from origin.pipeline.plan import Box, Plan
from origin.pipeline.source import Source
from origin.spec import Colour, Fill, Flip, OutputFormat, TransformSpec

Step = Callable[[pyvips.Image], pyvips.Image]

WHITE = Colour(255, 255, 255)
FILL_BLUR_SIGMA = 0.05  # of the canvas' longer side: a backdrop, not a picture


def load(
    source: Source, plan: Plan, *, to_srgb: bool, frames: int = 1, upright: bool = True
) -> pyvips.Image:
    """Decode at the planned size. thumbnail uses shrink-on-load (JPEG, WebP and
    AVIF decode at a fraction of their size, SVG is drawn at it), reads sequentially
    and applies the EXIF orientation; with `to_srgb` it also converts from an embedded
    ICC profile (libvips leaves, say, Display P3 pixels as they are otherwise).

    With `frames` > 1, the frames of an animation one under the other, each of the
    planned size (`page-height`). The planned region is cut out by the steps.
    `upright` False: ignore the EXIF orientation (as for animations, see Header)."""
    options: dict[str, object] = {"export_profile": "srgb"} if to_srgb else {}
    if not upright:
        options["no_rotate"] = True
    if frames > 1:
        options["option_string"] = f"n={frames}"
    width, height = plan.load
    return source.thumbnail(width, height=height, size="force", **options)


def cut(image: pyvips.Image, box: Box) -> pyvips.Image:
    return image.extract_area(*box)


def enlarge(image: pyvips.Image, size: tuple[int, int]) -> pyvips.Image:
    width, height = size
    return premultiplied(image, lambda i: i.resize(width / i.width, vscale=height / i.height))


def premultiplied(image: pyvips.Image, operation: Step) -> pyvips.Image:
    """`operation` (a resampling or a blur) on the colours weighted by alpha, as
    thumbnail does: unweighted, the colour of transparent pixels (black, where a step
    added them) bleeds into the edges of what is opaque as a dark fringe."""
    if not image.hasalpha():
        return operation(image)
    return operation(image.premultiply()).unpremultiply().cast(image.format)


BLUR_SHRINK_SIGMA = 8.0  # past this sigma, blur a shrunk copy: same look, bounded cost


def gaussblur(image: pyvips.Image, sigma: float) -> pyvips.Image:
    """A Gaussian blur whose cost grows with the pixels, not with sigma.

    A large blur (blur=2000 is sigma 200) is made on a copy shrunk so that its sigma
    is BLUR_SHRINK_SIGMA, then enlarged back: a mask 200 pixels wide over a large
    output would cost seconds of CPU per request. Approximate precision is fast but
    libvips 8.18 makes an all-black image of it with a sigma from 0.2 to 0.55
    (imgix's blur=2 to 5); small masks are cheap exact anyway."""
    if sigma < 1:
        return image.gaussblur(sigma)
    if sigma <= BLUR_SHRINK_SIGMA:
        return image.gaussblur(sigma, precision="approximate")
    shrink = sigma / BLUR_SHRINK_SIGMA
    width, height = image.width, image.height
    small = image.resize(1 / shrink)
    blurred = small.gaussblur(BLUR_SHRINK_SIGMA, precision="approximate")
    return blurred.resize(width / blurred.width, vscale=height / blurred.height)


def to_srgb(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB, or 8-bit grey for grey sources: what every output format takes."""
    if image.interpretation == "b-w" and image.format == "uchar":
        return image
    if image.interpretation in ("b-w", "grey16"):
        return image.colourspace("b-w")
    if image.interpretation != "srgb":
        image = image.colourspace("srgb")
    return image.cast("uchar") if image.format != "uchar" else image


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    """The image with an alpha band, say to extend with transparent pixels."""
    return image if image.hasalpha() else image.bandjoin_const([255])


def _able_to_show(image: pyvips.Image, colour: Colour) -> pyvips.Image:
    """The image in sRGB when it is grey and `colour` is not: in a grey image the
    colour would become its red channel's grey (bg=f00 white, bg=0f0 black)."""
    colour_bands = image.bands - 1 if image.hasalpha() else image.bands
    if colour_bands < 3 and len(set(colour.rgb)) > 1:
        return image.colourspace("srgb")
    return image


def _pixel(image: pyvips.Image, colour: Colour) -> list[int]:
    """`colour` in the image's bands (grey images take its red), alpha included."""
    colour_bands = image.bands - 1 if image.hasalpha() else image.bands
    rgb = list(colour.rgb[:colour_bands]) if colour_bands >= 3 else [colour.red] * colour_bands
    return [*rgb, colour.alpha] if image.hasalpha() else rgb


CLEAR = Colour(0, 0, 0, 0)


def smart_crop(image: pyvips.Image, size: tuple[int, int], interesting: str) -> pyvips.Image:
    """A box of that size where libvips finds the most entropy or attention.

    It reads its input more than once: see in_memory."""
    return image.smartcrop(*size, interesting=interesting)


def solid_canvas(
    image: pyvips.Image, box: tuple[int, int], colour: Colour | None = None
) -> pyvips.Image:
    """Centre the image on a box of `colour` (transparent when None)."""
    if colour is not None:
        image = _able_to_show(image, colour)
    image = with_alpha(image) if colour is None or colour.alpha < 255 else image
    background = _pixel(image, colour or CLEAR)
    return image.gravity("centre", box[0], box[1], extend="background", background=background)


def blurred_canvas(image: pyvips.Image, box: tuple[int, int]) -> pyvips.Image:
    """Centre the image on a blurred copy of itself stretched to cover the box. The
    picture is read twice, backdrop and foreground: see in_memory."""
    cover = max(box[0] / image.width, box[1] / image.height)
    backdrop = premultiplied(
        image,
        lambda i: gaussblur(i.resize(cover).gravity("centre", *box), FILL_BLUR_SIGMA * max(box)),
    )
    left, top = (box[0] - image.width) // 2, (box[1] - image.height) // 2
    if image.hasalpha():
        return backdrop.composite2(image, "over", x=left, y=top).cast("uchar")
    return backdrop.cast(image.format).insert(image, left, top)


def rotate(image: pyvips.Image, degrees: int) -> pyvips.Image:
    """Clockwise. Right angles exactly; others on a transparent, larger canvas.

    A turned image reads its input out of order: see in_memory."""
    if degrees % 90 == 0:
        return image.rot(f"d{degrees}")
    image = with_alpha(image)
    return image.rotate(degrees, background=_pixel(image, CLEAR))


def flip(image: pyvips.Image, flip: Flip) -> pyvips.Image:
    if flip in (Flip.H, Flip.HV):
        image = image.flip("horizontal")
    if flip in (Flip.V, Flip.HV):
        image = image.flip("vertical")  # bottom up, out of order: see in_memory
    return image


def blur(image: pyvips.Image, amount: int) -> pyvips.Image:
    """imgix's 0–2000 as a Gaussian sigma of a tenth of it, in output pixels."""
    return premultiplied(image, lambda i: gaussblur(i, amount / 10)).cast("uchar")


def sharpen(image: pyvips.Image, amount: int) -> pyvips.Image:
    """imgix's 0–100 as the strength of libvips' sharpen in the flat and jagged areas."""
    strength = amount / 10
    return image.sharpen(sigma=1.0, m2=strength, m1=strength / 3)


def pad(image: pyvips.Image, width: int) -> pyvips.Image:
    image = with_alpha(image)
    return image.embed(
        width,
        width,
        image.width + 2 * width,
        image.height + 2 * width,
        extend="background",
        background=_pixel(image, CLEAR),
    )


def on_background(image: pyvips.Image, colour: Colour) -> pyvips.Image:
    """Lay the image over `colour`; an opaque one also drops the alpha band."""
    if not image.hasalpha():
        return image
    image = _able_to_show(image, colour)
    if colour.alpha == 255:
        return image.flatten(background=_pixel(image, colour)[:-1])
    if image.bands < 4:
        image = image.colourspace("srgb")
    backdrop = image.new_from_image(_pixel(image, colour))
    return backdrop.composite2(image, "over").cast("uchar")


def flatten(image: pyvips.Image) -> pyvips.Image:
    """Drop alpha onto white, for outputs that have none."""
    return on_background(image, WHITE)


def in_memory(image: pyvips.Image) -> pyvips.Image:
    """The picture copied into memory, for the steps that read their input out of
    order or more than once (smartcrop, a blurred canvas, turning, flipping bottom
    up): a sequential load cannot give that ("out of order read" past libvips' line
    cache). libvips' thumbnail does the same for the EXIF orientation. The copy is
    the picture at its planned size, made once whatever follows; render's deadline
    covers making it."""
    return image.copy_memory()


def _reads_out_of_order(plan: Plan, spec: TransformSpec) -> bool:
    return (
        plan.smart is not None
        or (plan.canvas is not None and spec.fill is Fill.BLUR)
        or spec.rotate != 0
        or spec.flip in (Flip.V, Flip.HV)
    )


def run(image: pyvips.Image, steps: tuple[Step, ...]) -> pyvips.Image:
    for step in steps:
        image = step(image)
    return image


def animation(roll: pyvips.Image, frames: int, steps: tuple[Step, ...]) -> pyvips.Image:
    """Each frame of an animation (frames one under the other, as libvips loads
    them) through `steps`, joined back one under the other with the new frame height.
    The loader's delays and loop count ride along on the first frame's metadata."""
    height = roll.height // frames
    pictures = [roll.crop(0, i * height, roll.width, height) for i in range(frames)]
    steps = _pinned(steps, pictures[0])
    done = [run(picture, steps) for picture in pictures]
    joined = pyvips.Image.arrayjoin(done, across=1)
    joined.set_type(pyvips.GValue.gint_type, "page-height", done[0].height)
    return joined


def _pinned(steps: tuple[Step, ...], frame: pyvips.Image) -> tuple[Step, ...]:
    """`steps` with a smart crop made a plain cut at one place for every frame, lest
    the picture jump about from frame to frame: the place libvips' attention chooses
    on the first frame (entropy gives no place back, so animations use attention)."""
    pinned: list[Step] = []
    for step in steps:
        if isinstance(step, partial) and step.func is smart_crop:
            width, height = step.keywords["size"]
            _, found = frame.smartcrop(
                width, height, interesting="attention", attention_x=True, attention_y=True
            )
            left = min(max(0, found["attention_x"] - width // 2), frame.width - width)
            top = min(max(0, found["attention_y"] - height // 2), frame.height - height)
            step = partial(cut, box=(left, top, width, height))
        frame = step(frame)
        pinned.append(step)
    return tuple(pinned)


def steps_for(plan: Plan, spec: TransformSpec, fmt: OutputFormat) -> tuple[Step, ...]:
    """The steps from a loaded picture (one frame of an animation) to the output."""
    steps: list[Step] = []
    if plan.region is not None:
        steps.append(partial(cut, box=plan.region))
    if plan.resize is not None:
        steps.append(partial(enlarge, size=plan.resize))
    steps.append(to_srgb)
    if _reads_out_of_order(plan, spec):
        steps.append(in_memory)
    if plan.smart is not None:
        width, height, interesting = plan.smart
        steps.append(partial(smart_crop, size=(width, height), interesting=interesting))
    if plan.canvas is not None:
        steps.append(
            partial(blurred_canvas, box=plan.canvas)
            if spec.fill is Fill.BLUR
            else partial(solid_canvas, box=plan.canvas, colour=spec.fill_color)
        )
    if spec.rotate:
        steps.append(partial(rotate, degrees=spec.rotate))
    if spec.flip is not None:
        steps.append(partial(flip, flip=spec.flip))
    if spec.blur:
        steps.append(partial(blur, amount=spec.blur))
    if spec.sharpen:
        steps.append(partial(sharpen, amount=spec.sharpen))
    if spec.pad:
        steps.append(partial(pad, width=spec.pad))
    if spec.background is not None:
        steps.append(partial(on_background, colour=spec.background))
    if not fmt.has_alpha:
        steps.append(flatten)
    if fmt is OutputFormat.PNG32:
        steps.append(with_alpha)
    return tuple(steps)
