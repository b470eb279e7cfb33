"""What the repositories raise: refusals the caller answers, and outages it may retry."""

from __future__ import annotations

import asyncpg


class KeyConflict(Exception):
    """Another live image in the library already has this key."""


class LibraryExists(Exception):
    """A library of this name exists already."""


class LimitReached(Exception):
    """A change would pass a fixed limit (tags of an image, webhooks of a library)."""


class QuotaExceeded(Exception):
    """The library's quota leaves no room for this image; the message says which."""


# What a PostgreSQL outage or overload looks like through asyncpg: the caller may
# retry later. (asyncpg raises TimeoutError for statement and connect timeouts.)
UNAVAILABLE = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
