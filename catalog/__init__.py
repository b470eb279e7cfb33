"""The catalog: libraries, images, tags and API keys on PostgreSQL (asyncpg)."""

from __future__ import annotations

from catalog.embedded import start_embedded
from catalog.models import (
    ApiKey,
    ApiKeyRecord,
    Content,
    Image,
    ImageVersion,
    InvalidSecret,
    InvalidSettings,
    Library,
    LibrarySettings,
    NewImage,
    Role,
    Scheme,
    SigningKey,
    Status,
    UrlPolicy,
    Webhook,
    check_signing_secret,
)
from catalog.naming import InvalidName, check_image_key, check_library_name, check_tag
from catalog.query import ImageQuery, InvalidQuery, Sort, decode_cursor
from catalog.resolver import Resolver
from catalog.settings import CatalogSettings
from catalog.store import (
    UNAVAILABLE,
    UNSET,
    Catalog,
    KeyConflict,
    LibraryExists,
    LimitReached,
    OriginalLock,
    QuotaExceeded,
)

__all__ = [
    "UNAVAILABLE",
    "UNSET",
    "ApiKey",
    "ApiKeyRecord",
    "Catalog",
    "CatalogSettings",
    "Content",
    "Image",
    "ImageQuery",
    "ImageVersion",
    "InvalidName",
    "InvalidQuery",
    "InvalidSecret",
    "InvalidSettings",
    "KeyConflict",
    "Library",
    "LibraryExists",
    "LibrarySettings",
    "LimitReached",
    "NewImage",
    "OriginalLock",
    "QuotaExceeded",
    "Resolver",
    "Role",
    "Scheme",
    "SigningKey",
    "Sort",
    "Status",
    "UrlPolicy",
    "Webhook",
    "check_image_key",
    "check_library_name",
    "check_signing_secret",
    "check_tag",
    "decode_cursor",
    "start_embedded",
]
