"""The rules for names that appear in URLs: library names, image keys and tags.

Both the admin API (on the way in) and the origin (on the way out) hold names to
these rules, so an image can always be fetched under the key it was stored with.
"""

from __future__ import annotations

import re

_LIBRARY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)
# First path segments the HTTP front keeps for itself, and those that imgproxy's
# clients write where the signature goes when they do not sign (imgproxy's `insecure`,
# thumbor's `unsafe`), so that `/insecure/...` is always an imgproxy path.
RESERVED_LIBRARIES = frozenset(
    {"healthz", "readyz", "metrics", "v1", "cdn-cgi", "ipx", "insecure", "unsafe"}
)
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", re.ASCII)
# In keys: no control characters, and none that a URL would give another meaning to.
_KEY_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\?#%]")
MAX_KEY_LENGTH = 1024


class InvalidName(ValueError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def check_library_name(name: str) -> str:
    if not _LIBRARY.fullmatch(name) or name in RESERVED_LIBRARIES:
        raise InvalidName(
            "library",
            f"invalid library name {name!r}: 1-63 of a-z, 0-9 and '-', "
            "starting with a letter or digit, and not a reserved word",
        )
    return name


def check_image_key(key: str) -> str:
    if not key.isascii() and not _is_utf8(key):  # a lone surrogate, from JSON's \ud800
        raise InvalidName("key", f"invalid image key {key!r}: not Unicode text")
    if not key or len(key.encode()) > MAX_KEY_LENGTH:
        raise InvalidName("key", f"an image key has 1 to {MAX_KEY_LENGTH} bytes")
    if _KEY_FORBIDDEN.search(key):
        raise InvalidName("key", f"invalid image key {key!r}: control characters, \\ ? # %")
    if any(part in ("", ".", "..") or part != part.strip() for part in key.split("/")):
        raise InvalidName(
            "key",
            f"invalid image key {key!r}: empty, '.' or '..' segments, "
            "or segments with leading or trailing spaces",
        )
    first = key.partition("/")[0]
    if first == "plain" or ":" in first:
        # `/{library}/plain/...` and `/{library}/rs:fill/...` read as imgproxy paths.
        raise InvalidName(
            "key", f"invalid image key {key!r}: its first segment is 'plain' or has a ':'"
        )
    return key


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise InvalidName("tag", f"invalid tag {tag!r}: 1-64 of A-Z a-z 0-9 _ . : -")
    return tag
