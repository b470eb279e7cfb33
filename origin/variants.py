"""A variant: one rendered file of an image version, named by its key.

Its own module, so that what handles variants (the handlers, the hit memo, warm)
imports it without importing the whole read path.
"""

from __future__ import annotations

from dataclasses import dataclass

from cache import etag, variant_key
from catalog import Image
from origin.negotiate import negotiate
from origin.spec import TransformSpec


@dataclass(frozen=True, slots=True)
class Variant:
    """One rendered file: an image version in one concrete spec."""

    image: Image
    spec: TransformSpec  # format fixed
    key: str
    etag: str

    @classmethod
    def of(cls, image: Image, spec: TransformSpec) -> Variant:
        assert spec.format is not None
        key = variant_key(image.id, image.version, spec.canonical(), spec.format.value)
        return cls(image, spec, key, etag(key))

    @classmethod
    def for_accept(
        cls, image: Image, spec: TransformSpec, accept: str | None
    ) -> tuple[Variant, bool]:
        """The variant of `image` in `spec` for an Accept header (the format chosen by
        it under auto=format), and whether it was: the answer then varies by Accept."""
        fmt, negotiated = negotiate(spec, accept, image.format)
        return cls.of(image, spec.for_output(fmt)), negotiated

    @property
    def mime(self) -> str:
        assert self.spec.format is not None
        return self.spec.format.mime
