"""A URL of any dialect, read in two steps: `parse`, a pure function of the path and
query as sent, then `admit`, which holds what was parsed to its library's policy
(presets, limits, signing). Nothing between them looks anything up by key, so an
unsigned URL cannot probe which keys exist."""

from __future__ import annotations

from yarl import URL

from catalog import InvalidName, UrlPolicy, check_image_key, check_library_name
from origin import adapters, dialect, signing
from origin.adapters import Address
from origin.errors import BadRequest


def parse(raw_path: str, raw_query: str) -> Address:
    """The image a URL names and the imgix pairs it asks for, in any dialect: the
    imgix query on `/{library}/{key}`, or an imgproxy, Cloudflare or ipx path.
    BadRequest on any mistake of the path or the query's syntax; what the pairs
    mean is decided by `admit`, under the library's rules."""
    found = adapters.address(raw_path)
    if found is not None:
        if raw_query:
            # Nothing in a path dialect reads a query, and a query its signature does not
            # cover would let anyone make endless URIs of one signed path for nginx to keep.
            raise BadRequest(
                "imgproxy, Cloudflare and ipx paths take no query string",
                code="unexpected_query",
            )
        return found
    # Decoded as aiohttp decodes a route's path and yarl a query, so the native
    # dialect reads the same keys and parameters as the router saw.
    url = URL.build(path=raw_path, query_string=raw_query, encoded=True)
    library, slash, key = url.path_safe.removeprefix("/").partition("/")
    try:
        if not slash:
            raise InvalidName("key", "a URL names an image as /{library}/{key}")
        library, key = check_library_name(_unquoted(library)), check_image_key(_unquoted(key))
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_key") from None
    return Address(
        library,
        key,
        tuple(dialect.pairs(url.query_string)),
        signed_path=raw_path,
        query=raw_query,
    )


def _unquoted(segment: str) -> str:
    """What path_safe leaves escaped, as aiohttp unescapes a route's match."""
    return segment.replace("%2F", "/").replace("%25", "%")


def admit(parsed: Address, policy: UrlPolicy | None, now: float) -> dialect.Request:
    """The request a parsed URL makes under its library's policy (None: no such
    library, whose images are simply not found): 400 when the library's rules refuse
    it (presets only, an unknown preset), 403 when its signature is missing, wrong or
    expired. A native URL is read before its query's signature is checked; a path
    dialect's signature is checked first, since it decides whether the limits apply."""
    rules = policy.settings if policy is not None else dialect.DEFAULT_RULES
    if parsed.query is None:
        signed = policy is not None and signing.check_path_signature(
            policy, parsed.signature, parsed.signed_path
        )
        return adapters.read(parsed, rules, signed=signed)
    asked = dialect.read_pairs(parsed.pairs, rules)
    if policy is not None:
        signing.check(policy, parsed.signed_path, parsed.query, now)
    return asked
