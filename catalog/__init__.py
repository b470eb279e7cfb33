"""The catalog: libraries, images, tags and API keys on PostgreSQL (asyncpg)."""

from __future__ import annotations

from catalog.embedded import start_embedded
from catalog.models import (
    ApiKey,
    Image,
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
    check_signing_secret,
)
from catalog.naming import InvalidName, check_image_key, check_library_name, check_tag
from catalog.resolver import Resolver
from catalog.settings import CatalogSettings
from catalog.store import UNAVAILABLE, Catalog, KeyConflict, OriginalLock

__all__ = [
    "UNAVAILABLE",
    "ApiKey",
    "Catalog",
    "CatalogSettings",
    "Image",
    "InvalidName",
    "InvalidSecret",
    "InvalidSettings",
    "KeyConflict",
    "Library",
    "LibrarySettings",
    "NewImage",
    "OriginalLock",
    "Resolver",
    "Role",
    "Scheme",
    "SigningKey",
    "Status",
    "UrlPolicy",
    "check_image_key",
    "check_library_name",
    "check_signing_secret",
    "check_tag",
    "start_embedded",
]
