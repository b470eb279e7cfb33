"""The catalog's records, as frozen values handed to the rest of the program."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = (Role.READ, Role.WRITE, Role.ADMIN)
        return order.index(self) >= order.index(needed)


class Status(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Library:
    id: int
    name: str
    created_at: datetime


class Scheme(StrEnum):
    """How a URL is signed with a key."""

    NATIVE = "native"  # s = base64url(HMAC-SHA256(secret, path + "?" + sorted query))
    IMGIX = "imgix"  # s = md5 hex of (secret + path + "?" + query as sent), as imgix does
    # imgproxy's path signature: base64url(HMAC-SHA256(key, salt + path)), with the
    # secret kept as "{key hex}:{salt hex}" (imgproxy's IMGPROXY_KEY and IMGPROXY_SALT)
    IMGPROXY = "imgproxy"


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    scheme: Scheme
    secret: str


class InvalidSecret(ValueError):
    """A signing secret that its scheme cannot use; the message says why."""


_HEX_PAIR = re.compile(r"(?:[0-9a-f]{2}){1,256}:(?:[0-9a-f]{2}){1,256}", re.ASCII)
_TOKEN = re.compile(r"[\x21-\x7e]{8,256}", re.ASCII)  # printable, no spaces


def check_signing_secret(scheme: Scheme, secret: str) -> str:
    """A secret brought from elsewhere (an imgix token, imgproxy's key and salt), as it
    will be stored; InvalidSecret unless the scheme can sign with it."""
    if scheme is Scheme.IMGPROXY:
        normalised = secret.strip().lower()
        if not _HEX_PAIR.fullmatch(normalised):
            raise InvalidSecret(
                "an imgproxy secret is KEY:SALT, both hex-encoded (IMGPROXY_KEY:IMGPROXY_SALT)"
            )
        return normalised
    if not _TOKEN.fullmatch(secret):
        raise InvalidSecret("a signing secret has 8 to 256 printable characters and no spaces")
    return secret


class InvalidSettings(ValueError):
    """A library setting of the wrong type or out of range; the message says which."""


@dataclass(frozen=True, slots=True)
class LibrarySettings:
    """A library's rules for its public URLs, kept in `libraries.settings` (JSON)."""

    require_signed: bool = False  # unsigned URLs answer 403
    presets: Mapping[str, str] = field(default_factory=dict)  # name -> query string
    presets_only: bool = False  # URLs may name a preset, and nothing else
    ignore_unknown_parameters: bool = False  # else an unknown parameter is a 400
    widths: tuple[int, ...] = ()  # unsigned URLs' widths snap up to one of these
    max_quality: int = 100  # unsigned URLs' `q` is capped at this
    # The write side's rules: uploads, activation, quotas, ownership.
    auto_activate: bool = False  # uploads are active at once, not pending
    pending_ttl: int = 7 * 24 * 3600  # seconds an upload never activated is kept; 0: ever
    quota_bytes: int | None = None  # originals' bytes over live images; None: no limit
    quota_images: int | None = None  # live images; None: no limit
    allowed_formats: tuple[str, ...] = ()  # source formats taken; empty: every one we read
    max_upload_bytes: int | None = None  # below the server's IMGORIGIN_MAX_UPLOAD_BYTES
    creator_only: bool = False  # only an image's creator (X-User-Id) or an admin key edits it
    keep_gps: bool = False  # uploads' analysis keeps where they were taken (admin API only)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LibrarySettings:
        """Settings from JSON; InvalidSettings on an unknown name or a wrong value."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InvalidSettings(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        for name in _FLAGS:
            if not isinstance(values.get(name, False), bool):
                raise InvalidSettings(f"{name} must be true or false")
        presets = values.get("presets", {})
        if not isinstance(presets, dict) or not all(
            isinstance(k, str) and _PRESET_NAME.fullmatch(k) and isinstance(v, str)
            for k, v in presets.items()
        ):
            raise InvalidSettings(
                "presets must map names of 1-32 characters of a-z 0-9 _ - to query strings"
            )
        widths = values.get("widths", [])
        if not isinstance(widths, list) or not all(_whole(w, 1, 8192) for w in widths):
            raise InvalidSettings("widths must be a list of whole numbers from 1 to 8192")
        values["widths"] = tuple(sorted(set(widths)))
        if not _whole(values.get("max_quality", 100), 1, 100):
            raise InvalidSettings("max_quality must be a whole number from 1 to 100")
        if not _whole(values.get("pending_ttl", 0), 0, 10 * 365 * 24 * 3600):
            raise InvalidSettings("pending_ttl must be whole seconds from 0 (never) to 10 years")
        for name in ("quota_bytes", "quota_images", "max_upload_bytes"):
            value = values.get(name)
            if value is not None and not _whole(value, 1, 2**62):
                raise InvalidSettings(f"{name} must be a positive whole number or null")
        formats = values.get("allowed_formats", [])
        if not isinstance(formats, list) or not all(
            isinstance(f, str) and _FORMAT_NAME.fullmatch(f) for f in formats
        ):
            raise InvalidSettings("allowed_formats must be a list of format names such as 'jpeg'")
        values["allowed_formats"] = tuple(sorted(set(formats)))
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {
            "require_signed": self.require_signed,
            "presets": dict(self.presets),
            "presets_only": self.presets_only,
            "ignore_unknown_parameters": self.ignore_unknown_parameters,
            "widths": list(self.widths),
            "max_quality": self.max_quality,
            "auto_activate": self.auto_activate,
            "pending_ttl": self.pending_ttl,
            "quota_bytes": self.quota_bytes,
            "quota_images": self.quota_images,
            "allowed_formats": list(self.allowed_formats),
            "max_upload_bytes": self.max_upload_bytes,
            "creator_only": self.creator_only,
            "keep_gps": self.keep_gps,
        }


_FLAGS = (
    "require_signed",
    "presets_only",
    "ignore_unknown_parameters",
    "auto_activate",
    "creator_only",
    "keep_gps",
)
_PRESET_NAME = re.compile(r"[a-z0-9_-]{1,32}")
_FORMAT_NAME = re.compile(r"[a-z0-9]{2,8}")


def _whole(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What the origin needs of a library before it serves a URL: its rules, and the
    keys that may have signed its URLs."""

    settings: LibrarySettings
    keys: tuple[SigningKey, ...]

    @property
    def require_signed(self) -> bool:
        return self.settings.require_signed


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    library_id: int | None
    name: str
    role: Role
    prefix: str

    def may_use(self, library: Library) -> bool:
        return self.library_id is None or self.library_id == library.id


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A key as it is listed: everything but the secret, which is never kept."""

    id: int
    library: str | None  # None: every library
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Content:
    """One version of an image's original: what the bytes are."""

    sha256: str
    format: str
    width: int
    height: int
    bytes: int
    colour: str | None = None  # "#rrggbb", the average colour; None: not measured
    has_alpha: bool | None = None  # None: not measured
    # What origin.pipeline.describe found at upload (JSON); None: not analysed.
    analysis: Mapping[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Any) -> Content:
        """From a row of `images` or `image_versions`, which both hold every field."""
        return cls(**{name: _column(row, name) for name in CONTENT_COLUMNS})

    def column_values(self) -> list[Any]:
        """The CONTENT_COLUMNS' values as asyncpg takes them (JSON as text)."""
        values = [getattr(self, name) for name in CONTENT_COLUMNS]
        values[CONTENT_COLUMNS.index("analysis")] = (
            None if self.analysis is None else json.dumps(self.analysis, separators=(",", ":"))
        )
        return values


CONTENT_COLUMNS = tuple(f.name for f in fields(Content))


def _column(row: Any, name: str) -> Any:
    """A column's value; asyncpg gives jsonb as text."""
    value = row[name]
    return json.loads(value) if name == "analysis" and value is not None else value


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]  # empty: every event
    secret: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewImage:
    """What an upload knows before the catalog has stored it."""

    id: str
    library_id: int
    key: str
    status: Status
    content: Content
    alt: str | None
    tags: tuple[str, ...]
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class ImageVersion:
    version: int
    content: Content
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    library: str
    library_id: int
    key: str
    status: Status
    version: int
    sha256: str
    format: str
    width: int
    height: int
    bytes: int
    alt: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    colour: str | None = None  # "#rrggbb", the average colour; None: not measured
    has_alpha: bool | None = None  # None: not measured
    analysis: Mapping[str, Any] | None = None  # None: uploaded before analyses were kept

    @property
    def content(self) -> Content:
        return Content(**{name: getattr(self, name) for name in CONTENT_COLUMNS})

    @classmethod
    def from_row(cls, row: Any) -> Image:
        return cls(
            id=row["id"],
            library=row["library"],
            library_id=row["library_id"],
            key=row["key"],
            status=Status(row["status"]),
            version=row["version"],
            sha256=row["sha256"],
            format=row["format"],
            width=row["width"],
            height=row["height"],
            bytes=row["bytes"],
            alt=row["alt"],
            tags=tuple(row["tags"] or ()),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            created_by=row["created_by"],
            colour=row["colour"],
            has_alpha=row["has_alpha"],
            analysis=_column(row, "analysis"),
        )
