"""The frozen TransformSpec every URL dialect parses into, and its canonical form.

The canonical form is what names a variant: two URLs that ask for the same picture
produce the same canonical string, whatever their order or spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

MAX_DIMENSION = 8192
DEFAULT_QUALITY = 75


class Fit(StrEnum):
    CLIP = "clip"  # fit inside the box, keep the aspect ratio; may enlarge
    MAX = "max"  # as clip, never enlarging
    CROP = "crop"  # fill the box, crop the overflow around the centre
    FILL = "fill"  # fit inside, then pad to the box with the background colour
    SCALE = "scale"  # stretch to the box


class OutputFormat(StrEnum):
    JPG = "jpg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"

    @property
    def mime(self) -> str:
        return _MIME[self]

    @property
    def has_alpha(self) -> bool:
        return self is not OutputFormat.JPG

    @property
    def lossy(self) -> bool:
        return self in (OutputFormat.JPG, OutputFormat.WEBP, OutputFormat.AVIF)


_MIME = {
    OutputFormat.JPG: "image/jpeg",
    OutputFormat.PNG: "image/png",
    OutputFormat.WEBP: "image/webp",
    OutputFormat.AVIF: "image/avif",
    OutputFormat.GIF: "image/gif",
}


@dataclass(frozen=True, slots=True)
class TransformSpec:
    """What to make of an original. Sizes are in output pixels (dpr already applied).

    `format` None means: decide per request (the source's own format, or by Accept
    when `auto_format`). Specs are normalised on construction by the dialects, so
    equal specs mean equal pictures.
    """

    width: int | None = None
    height: int | None = None
    fit: Fit = Fit.CLIP
    quality: int = DEFAULT_QUALITY
    format: OutputFormat | None = None
    auto_format: bool = False

    def normalised(self) -> TransformSpec:
        fit = self.fit
        if self.width is None and self.height is None:
            fit = Fit.CLIP  # no box: every fit mode is the identity
        elif (self.width is None or self.height is None) and fit in (
            Fit.CROP,
            Fit.FILL,
            Fit.SCALE,
        ):
            fit = Fit.CLIP  # with one side given, these modes all keep the aspect ratio
        auto_format = self.auto_format and self.format is None  # fm wins over auto=format
        return replace(self, fit=fit, auto_format=auto_format)

    def for_output(self, fmt: OutputFormat) -> TransformSpec:
        """The concrete spec of one rendered file: the format fixed, and quality dropped
        where the encoder ignores it, so such variants are stored once."""
        quality = self.quality if fmt.lossy else DEFAULT_QUALITY
        return replace(self, format=fmt, quality=quality, auto_format=False)

    def canonical(self) -> str:
        """The spec as a query string in a fixed order, defaults left out."""
        parts = []
        if self.width is not None:
            parts.append(f"w={self.width}")
        if self.height is not None:
            parts.append(f"h={self.height}")
        if self.fit is not Fit.CLIP:
            parts.append(f"fit={self.fit.value}")
        if self.quality != DEFAULT_QUALITY:
            parts.append(f"q={self.quality}")
        if self.format is not None:
            parts.append(f"fm={self.format.value}")
        if self.auto_format:
            parts.append("auto=format")
        return "&".join(parts)
