"""Typed errors and the one middleware that turns them into the JSON error body.

Each error carries its HTTP status and a stable code; handlers raise, never build
error responses themselves. Anything untyped is a bug: logged, answered 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from cache import FlightTimeout
from catalog import UNAVAILABLE as CATALOG_UNAVAILABLE
from storage import StoreUnavailable

log = logging.getLogger(__name__)


class HTTPError(Exception):
    status = 500
    default_code = "internal"

    def __init__(
        self, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.headers = dict(headers or {})


class BadRequest(HTTPError):
    status, default_code = 400, "bad_request"


class Unauthorized(HTTPError):
    status, default_code = 401, "unauthorized"


class Forbidden(HTTPError):
    status, default_code = 403, "forbidden"


class NotFound(HTTPError):
    status, default_code = 404, "not_found"


class RequestTimeout(HTTPError):
    status, default_code = 408, "request_timeout"


class Conflict(HTTPError):
    status, default_code = 409, "conflict"


class Gone(HTTPError):
    status, default_code = 410, "gone"


class PayloadTooLarge(HTTPError):
    status, default_code = 413, "payload_too_large"


class UnsupportedMediaType(HTTPError):
    status, default_code = 415, "unsupported_media_type"


class Unprocessable(HTTPError):
    status, default_code = 422, "unprocessable"


class Unavailable(HTTPError):
    status, default_code = 503, "unavailable"


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] = {}
) -> web.Response:
    response = web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
    # An error must not be pinned by a cache the way a variant is.
    response.headers["Cache-Control"] = "no-store"
    return response


# Failures of what we depend on, by kind: the client may retry later.
_OUTAGE_CODES: tuple[tuple[tuple[type[BaseException], ...], str, str], ...] = (
    ((StoreUnavailable,), "store_unavailable", "the blob store is unavailable"),
    (CATALOG_UNAVAILABLE, "catalog_unavailable", "the catalog is unavailable"),
    ((FlightTimeout,), "render_busy", "another render of this variant is taking too long"),
)
_OUTAGES = tuple(kind for kinds, _, _ in _OUTAGE_CODES for kind in kinds)

# aiohttp's own routing errors, given stable codes of ours.
_AIOHTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def client_gone(request: web.Request, exc: BaseException) -> bool:
    """Writing to a client that hung up raises ConnectionResetError, an OSError like a
    lost database connection: tell them apart by our own side of the connection."""
    transport = request.transport
    return isinstance(exc, ConnectionResetError) and (transport is None or transport.is_closing())


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except HTTPError as exc:
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.rel_url, exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    except _OUTAGES as exc:
        if client_gone(request, exc):
            # Nobody to answer; 499 (nginx's "client closed request") is for the log.
            return web.Response(status=499, reason="Client Closed Request")
        code, message = next(o for kinds, *o in _OUTAGE_CODES if isinstance(exc, kinds))
        log.warning("%s %s: %s: %r", request.method, request.rel_url, code, exc)
        return error_response(503, code, message, {"Retry-After": "5"})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _AIOHTTP_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason, {})
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.rel_url)
        return error_response(500, "internal", "internal error")
