"""Signed URLs: who may ask this origin for which variant.

Three schemes, chosen per key (a library may hold keys of each, and several of each,
so keys can be rotated). Two sign a query's `s`:

- native: `s` = base64url (no padding) of HMAC-SHA256(secret, path + "?" + query),
  where path is the URL's path as sent and query is every parameter but `s`, sorted
  and re-encoded, so the order a client writes them in does not matter.
- imgix: `s` = md5 hex of secret + path + "?" + the query as sent without `s` (just
  secret + path when there is no query), as the imgix SDKs make it.

An optional `expires` (unix seconds), covered by the signature, ends a URL's life.

The third signs paths: imgproxy's, for its path dialect (origin.adapters). A path's
first segment is base64url (no padding) of HMAC-SHA256(key, salt + the rest of the
path as sent), key and salt hex-encoded in the secret as "{key}:{salt}". Its keys
sign imgproxy paths only, and the other keys never sign one.

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
QUERY_SCHEMES = (Scheme.NATIVE, Scheme.IMGIX)
# What imgproxy's clients put where a signature goes when they do not sign.
UNSIGNED_PATHS = frozenset({"insecure", "unsafe", "_"})


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
    if key.scheme not in QUERY_SCHEMES:
        raise ValueError(f"a {key.scheme.value} key signs paths, not queries: see sign_path")
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
        if key.scheme in QUERY_SCHEMES
    ):
        raise Forbidden("the URL's signature is not valid", code="invalid_signature")
    expires = pairs.get(EXPIRES)
    if expires is not None and int(expires) < now:
        raise Forbidden("the URL has expired", code="url_expired")


def imgproxy_signature(key_hex: str, salt_hex: str, path: str) -> str:
    """imgproxy's signature of `path` (everything after the signature segment, from
    its "/"); ValueError when key or salt is not hex."""
    digest = hmac.new(
        bytes.fromhex(key_hex), bytes.fromhex(salt_hex) + path.encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def path_signature_for(key: SigningKey, path: str) -> str | None:
    """What the signature segment must be for `path` under an imgproxy key; None for
    keys of other schemes, and for a secret that is not "{hex}:{hex}" (stored by
    hand, say): such a key signs nothing rather than failing every request."""
    if key.scheme is not Scheme.IMGPROXY:
        return None
    key_hex, _, salt_hex = key.secret.partition(":")
    try:
        return imgproxy_signature(key_hex, salt_hex, path)
    except ValueError:
        return None


def sign_path(key: SigningKey, path: str) -> str:
    """`path` (from its "/", with no signature segment) with the signature segment in
    front: what `imgorigin sign` prints for an imgproxy key."""
    signature = path_signature_for(key, path)
    if signature is None:
        raise ValueError(f"key {key.id} cannot sign imgproxy paths")
    return f"/{signature}{path}"


def check_path_signature(policy: UrlPolicy, signature: str | None, signed_path: str) -> bool:
    """Whether an imgproxy path is signed by one of the library's imgproxy keys;
    Forbidden when it is not and the library serves signed URLs only. A signature of
    None is a path that has no place for one (Cloudflare's, ipx's): never signed.

    A library that does not require signing serves any signature, as imgproxy does
    without a key (`insecure` by convention); a right one still counts, so that the
    URL is read as signed (the limits for unsigned URLs do not apply)."""
    if signature is None:
        if policy.require_signed:
            raise Forbidden("this library serves signed URLs only", code="signature_required")
        return False
    given = signature.encode()
    signed = False
    for key in policy.keys:
        expected = path_signature_for(key, signed_path)
        # No short-cut on a match: the time taken says nothing about which key.
        if expected is not None and hmac.compare_digest(expected.encode(), given):
            signed = True
    if signed or not policy.require_signed:
        return signed
    if signature in UNSIGNED_PATHS:
        raise Forbidden("this library serves signed URLs only", code="signature_required")
    raise Forbidden("the URL's signature is not valid", code="invalid_signature")
