"""Choosing the concrete output format of a request."""

from __future__ import annotations

from origin.spec import OutputFormat, TransformSpec

# What a source is re-encoded to when the URL names no format.
_SOURCE_DEFAULT = {
    "jpeg": OutputFormat.JPG,
    "png": OutputFormat.PNG,
    "webp": OutputFormat.WEBP,
    "avif": OutputFormat.AVIF,
    "gif": OutputFormat.GIF,
    "tiff": OutputFormat.PNG,  # browsers do not show TIFF; PNG keeps it lossless
    "heic": OutputFormat.JPG,  # only Safari shows HEIC
    "svg": OutputFormat.PNG,  # drawn: lines and flat colours, perhaps transparent
}


def accepted_types(accept: str | None) -> set[str]:
    """The media types an Accept header admits (q=0 excludes)."""
    types = set()
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > 0:
            types.add(media.lower())
    return types


def negotiate(
    spec: TransformSpec, accept: str | None, source_format: str
) -> tuple[OutputFormat, bool]:
    """The output format, and whether it depended on Accept (then: Vary: Accept).

    Browsers name image/avif and image/webp explicitly when they support them, so a
    bare */* does not count as support.
    """
    if spec.format is not None:
        return spec.format, False
    if spec.auto_format:
        types = accepted_types(accept)
        if "image/avif" in types:
            return OutputFormat.AVIF, True
        if "image/webp" in types:
            return OutputFormat.WEBP, True
        return _SOURCE_DEFAULT.get(source_format, OutputFormat.JPG), True
    return _SOURCE_DEFAULT.get(source_format, OutputFormat.JPG), False
