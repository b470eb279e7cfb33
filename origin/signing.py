"""Signed URLs: who may ask this origin for which variant.

Two schemes, chosen per key (a library may hold keys of both, and several of each, so
keys can be rotated):

- native: `s` = base64url (no padding) of HMAC-SHA256(secret, path + "?" + query),
  where path is the URL's path as sent and query is every parameter but `s`, sorted
  and re-encoded, so the order a client writes them in does not matter.
- imgix: `s` = md5 hex of secret + path + "?" + the query as sent without `s` (just
  secret + path when there is no query), as the imgix SDKs make it.

An optional `expires` (unix seconds), covered by the signature, ends a URL's life.
Everything here is pure: the handler passes in the library's policy and the clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode

from catalog import Scheme, SigningKey, UrlPolicy
from origin.errors import Forbidden

SIGNATURE = "s"
EXPIRES = "expires"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return urlencode(sorted(pairs), quote_via=quote)


def native_signature(secret: str, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    message = f"{path}?{canonical_query(pairs)}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def imgix_signature(token: str, path: str, raw_query: str) -> str:
    message = token + path + (f"?{raw_query}" if raw_query else "")
    return hashlib.md5(message.encode(), usedforsecurity=False).hexdigest()


def without_signature(raw_query: str) -> str:
    """The query as sent, minus its `s` parameter."""
    parts = raw_query.split("&") if raw_query else []
    return "&".join(p for p in parts if unquote_plus(p.partition("=")[0]) != SIGNATURE)


def signature_for(key: SigningKey, path: str, raw_query: str) -> str:
    """What `s` must be for a URL of this path and query (any `s` in it is ignored)."""
    unsigned = without_signature(raw_query)
    if key.scheme is Scheme.IMGIX:
        return imgix_signature(key.secret, path, unsigned)
    return native_signature(key.secret, path, parse_qsl(unsigned, keep_blank_values=True))


def sign(key: SigningKey, path: str, raw_query: str) -> str:
    """The query with its signature appended: what `imgorigin sign` prints."""
    unsigned = without_signature(raw_query)
    signature = signature_for(key, path, unsigned)
    return f"{unsigned}&{SIGNATURE}={signature}" if unsigned else f"{SIGNATURE}={signature}"


def check(policy: UrlPolicy, path: str, raw_query: str, now: float) -> None:
    """Raise Forbidden unless the URL may be served: signed by a live key of the
    library when it must be, a signature present is right, and it has not expired."""
    pairs = dict(parse_qsl(raw_query, keep_blank_values=True))
    given = pairs.get(SIGNATURE)
    if given is None:
        if policy.require_signed:
            raise Forbidden("this library serves signed URLs only", code="signature_required")
    elif not any(
        hmac.compare_digest(signature_for(key, path, raw_query).encode(), given.encode())
        for key in policy.keys
    ):
        raise Forbidden("the URL's signature is not valid", code="invalid_signature")
    expires = pairs.get(EXPIRES)
    if expires is not None and int(expires) < now:
        raise Forbidden("the URL has expired", code="url_expired")
