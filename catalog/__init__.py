"""The catalog: libraries, images, tags and API keys on PostgreSQL (asyncpg)."""

from __future__ import annotations

from catalog.database import Catalog
from catalog.embedded import start_embedded
from catalog.errors import UNAVAILABLE, KeyConflict, LibraryExists, LimitReached, QuotaExceeded
from catalog.images import UNSET, Images
from catalog.keys import ApiKeys
from catalog.libraries import Libraries
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
from catalog.originals import OriginalLock, Originals
from catalog.query import ImageQuery, InvalidQuery, Sort, decode_cursor
from catalog.resolver import Resolver
from catalog.settings import CatalogSettings
from catalog.signing import SigningKeys
from catalog.stats import Stats
from catalog.webhooks import WebhookRegistry

__all__ = [
    "UNAVAILABLE",
    "UNSET",
    "ApiKey",
    "ApiKeyRecord",
    "ApiKeys",
    "Catalog",
    "CatalogSettings",
    "Content",
    "Image",
    "ImageQuery",
    "ImageVersion",
    "Images",
    "InvalidName",
    "InvalidQuery",
    "InvalidSecret",
    "InvalidSettings",
    "KeyConflict",
    "Libraries",
    "Library",
    "LibraryExists",
    "LibrarySettings",
    "LimitReached",
    "NewImage",
    "OriginalLock",
    "Originals",
    "QuotaExceeded",
    "Resolver",
    "Role",
    "Scheme",
    "SigningKey",
    "SigningKeys",
    "Sort",
    "Stats",
    "Status",
    "UrlPolicy",
    "Webhook",
    "WebhookRegistry",
    "check_image_key",
    "check_library_name",
    "check_signing_secret",
    "check_tag",
    "decode_cursor",
    "start_embedded",
]
