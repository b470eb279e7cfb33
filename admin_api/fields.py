"""An upload's fields (key, tags, alt text, activation) and their rules, on upload and
on every later change (400 otherwise): the same for the admin API's requests and the
CLI's imports."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from catalog import InvalidName, check_image_key, check_tag
from origin.errors import BadRequest

MAX_TAGS = 50
MAX_ALT = 2000
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # and lone surrogates


@dataclass(frozen=True)
class UploadForm:
    key: str | None = None
    tags: tuple[str, ...] = ()
    alt: str | None = None
    activate: bool | None = None  # None: as the library's `auto_activate` says

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> UploadForm:
        key = field_key(fields["key"]) if "key" in fields else None
        tags = field_tags(fields.get("tags", "").split(","))
        alt = field_alt(fields["alt"]) if "alt" in fields else None
        activate = _BOOLEANS.get(fields["activate"].lower()) if "activate" in fields else None
        if "activate" in fields and activate is None:
            raise BadRequest("activate is true or false", code="invalid_activate")
        return cls(key=key, tags=tags, alt=alt, activate=activate)


def field_key(key: str) -> str:
    try:
        return check_image_key(key)
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_key") from None


def field_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags, stripped, without blanks or repeats."""
    try:
        checked = tuple(dict.fromkeys(check_tag(t.strip()) for t in tags if t.strip()))
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_tag") from None
    if len(checked) > MAX_TAGS:
        raise BadRequest(f"at most {MAX_TAGS} tags", code="invalid_tag")
    return checked


def field_alt(alt: str) -> str:
    if len(alt) > MAX_ALT or _CONTROL.search(alt):
        raise BadRequest(
            f"alt text has at most {MAX_ALT} characters and no control characters",
            code="invalid_alt",
        )
    return alt


@dataclass(frozen=True)
class Upload:
    data: bytes
    form: UploadForm
