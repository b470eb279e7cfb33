"""API-key authentication and authorisation for the admin API."""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web

from catalog import ApiKey, Catalog, InvalidName, Library, Role, check_library_name
from origin.errors import BadRequest, Forbidden, NotFound, Unauthorized

# The role each handler needs, as the route table (admin_api/routes.py) declares it.
NEEDED = web.AppKey("needed", dict[Any, Role])
_SCHEMES = ("bearer", "apikey")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="imgorigin"'}


def presented_key(request: web.Request) -> str:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, key = header.strip().partition(" ")
    if not header:
        raise Unauthorized("an API key is required", code="missing_api_key", headers=_CHALLENGE)
    key = key.strip()
    if scheme.lower() not in _SCHEMES or not key:
        raise Unauthorized(
            "use 'Authorization: Bearer <key>'", code="invalid_authorization", headers=_CHALLENGE
        )
    if not (key.isascii() and key.isprintable()):
        # Our keys are URL-safe ASCII; anything else cannot be one (nor be hashed as text).
        raise Unauthorized("the API key is unknown", code="invalid_api_key", headers=_CHALLENGE)
    return key


async def authenticate(request: web.Request, catalog: Catalog) -> ApiKey:
    """The caller's live key; 401 otherwise."""
    key = await catalog.api_keys.authenticate(presented_key(request))
    if key is None:
        raise Unauthorized(
            "the API key is unknown, revoked or expired",
            code="invalid_api_key",
            headers=_CHALLENGE,
        )
    return key


async def permit(catalog: Catalog, key: ApiKey, name: str, needed: Role) -> Library:
    """The library `name` if `key` may act on it with `needed`; 400, 403 or 404 otherwise.

    A key scoped to another library gets 403 whether or not the library exists, so
    keys cannot be used to probe for other tenants' library names.
    """
    try:
        name = check_library_name(name)
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_library") from None
    library = await catalog.libraries.get(name)
    if library is None or not key.may_use(library):
        if key.library_id is not None:
            raise Forbidden(f"this key may not use library {name!r}", code="wrong_library")
        raise NotFound(f"no library {name!r}", code="library_not_found")
    require(key, needed)
    return library


def needed(request: web.Request) -> Role:
    """The role the route table says this request's handler needs."""
    return request.app[NEEDED][request.match_info.route.handler]


async def authorize(request: web.Request, catalog: Catalog) -> tuple[ApiKey, Library]:
    """The caller's key and the library of the URL, as `authenticate` and `permit`."""
    key = await authenticate(request, catalog)
    return key, await permit(catalog, key, request.match_info["library"], needed(request))


def require(key: ApiKey, needed: Role, *, every_library: bool = False) -> None:
    """403 unless `key` has the role `needed` (and, with `every_library`, is not
    scoped to one library): for what is not inside one library."""
    if not key.role.allows(needed):
        raise Forbidden(
            f"this needs a {needed.value} key; this one is {key.role.value}",
            code="insufficient_role",
        )
    if every_library and key.library_id is not None:
        raise Forbidden("this needs a key for every library", code="wrong_library")
