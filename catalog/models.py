"""The catalog's records, as frozen values handed to the rest of the program."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    scheme: Scheme
    secret: str


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What the origin needs of a library before it serves a URL: whether URLs must
    be signed, and the keys that may have signed them."""

    require_signed: bool
    keys: tuple[SigningKey, ...]


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
class NewImage:
    """What an upload knows before the catalog has stored it."""

    id: str
    library_id: int
    key: str
    status: Status
    sha256: str
    format: str
    width: int
    height: int
    bytes: int
    alt: str | None
    tags: tuple[str, ...]


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
        )
