"""The frozen TransformSpec every URL dialect parses into, and its canonical form.

The canonical form is what names a variant: two URLs that ask for the same picture
produce the same canonical string, whatever their dialect, order or spelling. It is
written in the imgix dialect, so `dialect.parse(spec.canonical())` gives the spec back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

MAX_DIMENSION = 8192
DEFAULT_QUALITY = 75
COMPRESS_QUALITY = 45  # imgix's quality under auto=compress when q is not given
MAX_RATIO = 8.0  # a relative size, after dpr: at most 8 times the source
MAX_PAD = 2048


class Fit(StrEnum):
    CLIP = "clip"  # fit inside the box, keep the aspect ratio; may enlarge
    MAX = "max"  # as clip, never enlarging
    CROP = "crop"  # fill the box, cut the overflow (where: `crop`)
    MIN = "min"  # as crop, never enlarging: the box's shape at most the source's size
    SCALE = "scale"  # stretch to the box
    FILL = "fill"  # fit inside, then fill the rest of the box (how: `fill`)
    FILLMAX = "fillmax"  # as fill, never enlarging the image itself


class Fill(StrEnum):
    SOLID = "solid"  # fill-color, else bg, else transparent (white for JPEG)
    BLUR = "blur"  # a blurred copy of the image, stretched over the box


class Crop(StrEnum):
    TOP = "top"
    BOTTOM = "bottom"
    LEFT = "left"
    RIGHT = "right"
    ENTROPY = "entropy"  # keep the busiest part
    EDGES = "edges"  # libvips' attention: edges, skin tones and saturated colour
    FOCALPOINT = "focalpoint"  # centred on fp-x, fp-y, zoomed by fp-z


SMART_CROPS = (Crop.ENTROPY, Crop.EDGES, Crop.FOCALPOINT)
_CROP_ORDER = (Crop.TOP, Crop.BOTTOM, Crop.LEFT, Crop.RIGHT)


class Flip(StrEnum):
    H = "h"
    V = "v"
    HV = "hv"


class ColourSpace(StrEnum):
    STRIP = "strip"  # sRGB pixels, no profile attached: the default
    SRGB = "srgb"  # sRGB pixels, with the sRGB profile attached
    ORIGIN = "origin"  # the source's own colour space, with its profile attached


class OutputFormat(StrEnum):
    JPG = "jpg"
    PJPG = "pjpg"  # progressive JPEG
    PNG = "png"
    PNG8 = "png8"  # palette PNG
    PNG32 = "png32"  # truecolour PNG with alpha
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"
    JSON = "json"  # the original's metadata, not a picture
    BLURHASH = "blurhash"  # the original's blurhash, as text

    @property
    def mime(self) -> str:
        return _MIME[self]

    @property
    def is_picture(self) -> bool:
        return self not in (OutputFormat.JSON, OutputFormat.BLURHASH)

    @property
    def has_alpha(self) -> bool:
        return self.is_picture and self not in (OutputFormat.JPG, OutputFormat.PJPG)

    @property
    def animates(self) -> bool:
        """Keeps an animation's frames. libvips writes AVIF frames as separate
        pictures, not a sequence, so AVIF shows the first frame."""
        return self in (OutputFormat.GIF, OutputFormat.WEBP)

    @property
    def lossy(self) -> bool:
        return self in _LOSSY

    @property
    def can_be_lossless(self) -> bool:
        return self in (OutputFormat.WEBP, OutputFormat.AVIF)


_LOSSY = frozenset({OutputFormat.JPG, OutputFormat.PJPG, OutputFormat.WEBP, OutputFormat.AVIF})
_MIME = {
    OutputFormat.JPG: "image/jpeg",
    OutputFormat.PJPG: "image/jpeg",
    OutputFormat.PNG: "image/png",
    OutputFormat.PNG8: "image/png",
    OutputFormat.PNG32: "image/png",
    OutputFormat.WEBP: "image/webp",
    OutputFormat.AVIF: "image/avif",
    OutputFormat.GIF: "image/gif",
    OutputFormat.JSON: "application/json",
    OutputFormat.BLURHASH: "text/plain",
}


@dataclass(frozen=True, slots=True)
class Ratio:
    """A length relative to the source's (0.5: half of it), as opposed to pixels."""

    value: float

    def of(self, length: int) -> int:
        return max(1, round(self.value * length))


Length = int | Ratio  # pixels, or a fraction of the source


@dataclass(frozen=True, slots=True)
class Colour:
    red: int
    green: int
    blue: int
    alpha: int = 255

    @property
    def rgb(self) -> tuple[int, int, int]:
        return (self.red, self.green, self.blue)

    @property
    def hex(self) -> str:
        """As imgix writes it: RRGGBB, or AARRGGBB when not opaque."""
        rgb = f"{self.red:02x}{self.green:02x}{self.blue:02x}"
        return rgb if self.alpha == 255 else f"{self.alpha:02x}{rgb}"


Rect = tuple[Length, Length, Length, Length]  # x, y, width, height of a source region


@dataclass(frozen=True, slots=True)
class TransformSpec:
    """What to make of an original. Pixel sizes are output pixels (dpr already applied).

    `format` None means: decide per request (the source's own format, or by Accept
    when `auto_format`). The dialects hand out `normalised()` specs only, so equal
    specs mean equal pictures.
    """

    rect: Rect | None = None
    width: Length | None = None
    height: Length | None = None
    aspect: float | None = None  # width / height, for crop and min
    min_width: int | None = None
    min_height: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    fit: Fit = Fit.CLIP
    fill: Fill = Fill.SOLID
    fill_color: Colour | None = None
    crop: tuple[Crop, ...] = ()
    focal: tuple[float, float, float] = (0.5, 0.5, 1.0)  # fp-x, fp-y, fp-z
    trim: bool = False
    rotate: int = 0
    flip: Flip | None = None
    blur: int = 0
    sharpen: int = 0
    pad: int = 0
    background: Colour | None = None
    quality: int = DEFAULT_QUALITY
    lossless: bool = False
    format: OutputFormat | None = None
    auto_format: bool = False
    auto_compress: bool = False
    colour_space: ColourSpace = ColourSpace.STRIP

    @property
    def default_quality(self) -> int:
        return COMPRESS_QUALITY if self.auto_compress else DEFAULT_QUALITY

    def normalised(self) -> TransformSpec:
        """This spec with what cannot change the picture dropped and what has two
        spellings spelled one way (a pixel side with `ar` becomes two sides), so that
        the common ways of asking for one picture give one variant."""
        if self.format is not None and not self.format.is_picture:
            return TransformSpec(format=self.format)  # a description of the original
        fit = self.fit
        aspect = self.aspect if fit in (Fit.CROP, Fit.MIN) else None
        sides = (self.width is not None) + (self.height is not None)
        if sides == 0 and aspect is None:
            fit = Fit.CLIP  # no box: every fit mode is the identity
        elif sides == 1 and aspect is None:
            # With one side, the box has the image's own shape.
            if fit in (Fit.CROP, Fit.SCALE, Fit.FILL):
                fit = Fit.CLIP
            elif fit in (Fit.MIN, Fit.FILLMAX):
                fit = Fit.MAX
        if fit not in (Fit.CROP, Fit.MIN) or sides == 2:
            aspect = None  # two sides already make the shape
        width, height = self.width, self.height
        # A pixel side and `ar` are two sides (when the other can be written).
        if aspect is not None and isinstance(width, int) and height is None:
            other = max(1, math.floor(width / aspect + 0.5))
            if other <= MAX_DIMENSION:
                height, aspect = other, None
        elif aspect is not None and isinstance(height, int) and width is None:
            other = max(1, math.floor(height * aspect + 0.5))
            if other <= MAX_DIMENSION:
                width, aspect = other, None
        crop = _crop_modes(self.crop) if fit in (Fit.CROP, Fit.MIN) else ()
        filled = fit in (Fit.FILL, Fit.FILLMAX)
        fill = self.fill if filled else Fill.SOLID
        return replace(
            self,
            width=width,
            height=height,
            fit=fit,
            aspect=aspect,
            crop=crop,
            focal=self.focal if Crop.FOCALPOINT in crop else (0.5, 0.5, 1.0),
            fill=fill,
            fill_color=self.fill_color if filled and fill is Fill.SOLID else None,
            auto_format=self.auto_format and self.format is None,  # fm wins
        )

    def for_output(self, fmt: OutputFormat) -> TransformSpec:
        """The concrete spec of one rendered file: the format fixed, and what that
        encoder ignores dropped, so such variants are stored once."""
        if not fmt.is_picture:
            return TransformSpec(format=fmt)
        if fmt is OutputFormat.PNG and self.auto_compress:
            fmt = OutputFormat.PNG8  # what compress means for PNG, as at imgix
        # WebP at quality 100 is lossless, as at imgix: lossy WebP cannot keep every
        # pixel however high its quality, and lossless is what 100 asks for.
        lossless = (self.lossless or (fmt is OutputFormat.WEBP and self.quality == 100)) and (
            fmt.can_be_lossless
        )
        quality = self.quality if fmt.lossy and not lossless else DEFAULT_QUALITY
        return replace(
            self,
            format=fmt,
            quality=quality,
            lossless=lossless,
            auto_format=False,
            auto_compress=False,
        )

    def canonical(self) -> str:
        """The spec as an imgix query string in a fixed order, defaults left out."""
        parts: list[tuple[str, str]] = []
        if self.rect is not None:
            parts.append(("rect", ",".join(_length(v) for v in self.rect)))
        for name, length in (("w", self.width), ("h", self.height)):
            if length is not None:
                parts.append((name, _length(length)))
        if self.aspect is not None:
            parts.append(("ar", f"{decimal_text(self.aspect)}:1"))
        for name, limit in (
            ("min-w", self.min_width),
            ("min-h", self.min_height),
            ("max-w", self.max_width),
            ("max-h", self.max_height),
        ):
            if limit is not None:
                parts.append((name, str(limit)))
        if self.fit is not Fit.CLIP:
            parts.append(("fit", self.fit.value))
        if self.fill is not Fill.SOLID:
            parts.append(("fill", self.fill.value))
        if self.fill_color is not None:
            parts.append(("fill-color", self.fill_color.hex))
        if self.crop:
            parts.append(("crop", ",".join(c.value for c in self.crop)))
        if Crop.FOCALPOINT in self.crop:
            for name, value in zip(("fp-x", "fp-y", "fp-z"), self.focal, strict=True):
                parts.append((name, decimal_text(value)))
        if self.trim:
            parts.append(("trim", "auto"))
        for name, number in (("rot", self.rotate), ("blur", self.blur), ("sharp", self.sharpen)):
            if number:
                parts.append((name, str(number)))
        if self.flip is not None:
            parts.append(("flip", self.flip.value))
        if self.pad:
            parts.append(("pad", str(self.pad)))
        if self.background is not None:
            parts.append(("bg", self.background.hex))
        if self.quality != self.default_quality:
            parts.append(("q", str(self.quality)))
        if self.lossless:
            parts.append(("lossless", "1"))
        if self.format is not None:
            parts.append(("fm", self.format.value))
        auto = [
            name
            for name, on in (("compress", self.auto_compress), ("format", self.auto_format))
            if on
        ]
        if auto:
            parts.append(("auto", ",".join(auto)))
        if self.colour_space is not ColourSpace.STRIP:
            parts.append(("cs", self.colour_space.value))
        return "&".join(f"{name}={value}" for name, value in parts)


def _crop_modes(modes: tuple[Crop, ...]) -> tuple[Crop, ...]:
    """One smart mode (the first named), else at most one side of each axis, in a fixed
    order: `crop=left,top` and `crop=top,left,top` are the same crop."""
    smart = next((m for m in modes if m in SMART_CROPS), None)
    if smart is not None:
        return (smart,)
    vertical = next((m for m in modes if m in (Crop.TOP, Crop.BOTTOM)), None)
    horizontal = next((m for m in modes if m in (Crop.LEFT, Crop.RIGHT)), None)
    return tuple(m for m in _CROP_ORDER if m in (vertical, horizontal))


def decimal_text(value: float) -> str:
    """At most four decimals, no trailing zeros: what the dialect's number grammar reads."""
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _length(length: Length) -> str:
    """Pixels as an integer; a ratio always with a decimal point (`1.0` is the whole
    source, `1` one pixel)."""
    if isinstance(length, Ratio):
        text = decimal_text(length.value)
        return text if "." in text else f"{text}.0"
    return str(length)
