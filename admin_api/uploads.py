"""Reading an upload: a multipart form, a raw body, or JSON with the file in base64,
with a hard size cap.

The body is read in chunks and refused (413) the moment it passes the cap, so a
client cannot make the process buffer more than the cap.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import BodyPartReader, StreamReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from admin_api.contracts import Wire, convert
from admin_api.fields import Upload, UploadForm
from origin.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType

T = TypeVar("T")
M = TypeVar("M", bound=Wire)

FIELDS = frozenset({"key", "tags", "alt", "activate"})
_FIELD_CODES = {name: f"invalid_{name.removesuffix('s')}" for name in FIELDS}
MAX_FIELD_BYTES = 8192
_CHUNK = 256 * 1024


def _too_large(limit: int, what: str = "upload") -> PayloadTooLarge:
    return PayloadTooLarge(f"the {what} is larger than {limit} bytes", code=f"{what}_too_large")


class _Body:
    """Reads a request body in chunks, refusing it past `limit` bytes (413) or when
    the client stops sending for `idle` seconds (408), as nginx's
    client_body_timeout does."""

    def __init__(self, request: web.Request, limit: int, idle: float, what: str = "upload") -> None:
        self.request = request
        self.limit = limit
        self.idle = idle
        self.what = what

    async def within_idle(self, step: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.idle):
                return await step
        except TimeoutError:
            raise RequestTimeout(
                f"the {self.what} sent nothing for {self.idle:g} seconds",
                code=f"{self.what}_timeout",
            ) from None

    async def read(self, stream: StreamReader | BodyPartReader, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if isinstance(stream, BodyPartReader):
                chunk = await self.within_idle(stream.read_chunk(_CHUNK))
            else:
                chunk = await self.within_idle(stream.read(_CHUNK))
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, self.what)
            chunks.append(chunk)

    async def multipart(self, fields: dict[str, str]) -> bytes:
        data: bytes | None = None
        reader = await self.request.multipart()
        while (part := await self.within_idle(reader.next())) is not None:
            if not isinstance(part, BodyPartReader):
                raise BadRequest("nested multipart is not accepted", code="invalid_multipart")
            if part.name == "file":
                if data is not None:
                    raise BadRequest("one file per upload", code="repeated_field")
                data = await self.read(part, self.limit)
            else:
                _known(part.name or "")  # before its size: a misnamed file is a wrong name
                raw = await self.read(part, MAX_FIELD_BYTES)
                _add_field(fields, part.name or "", raw.decode("utf-8", errors="strict"))
        if data is None:
            raise BadRequest("the form has no 'file' field", code="missing_file")
        return data


def _known(name: str) -> None:
    if name not in FIELDS:
        raise BadRequest(
            f"unknown field {name!r}; fields are file, " + ", ".join(sorted(FIELDS)),
            code="unknown_field",
        )


def _add_field(fields: dict[str, str], name: str, value: str) -> None:
    _known(name)
    if name in fields:
        raise BadRequest(f"field {name!r} is given twice", code="repeated_field")
    fields[name] = value


async def read_upload(request: web.Request, limit: int, idle_timeout: float) -> Upload:
    if request.content_length is not None and request.content_length > _encoded_limit(limit):
        raise _too_large(limit)
    fields: dict[str, str] = {}
    for name, value in request.query.items():
        _add_field(fields, name, value)
    body = _Body(request, limit, idle_timeout)
    try:
        if request.content_type == "multipart/form-data":
            data = await body.multipart(fields)
        elif request.content_type == "application/json":
            data = await _json_upload(body, fields)
        # No Content-Type at all reads as application/octet-stream (aiohttp's default, as
        # RFC 9110 says): taken, since the bytes say what the image is either way.
        elif request.content_type.startswith("image/") or (
            request.content_type == "application/octet-stream"
        ):
            data = await body.read(request.content, limit)
        else:
            raise UnsupportedMediaType(
                "send multipart/form-data with a 'file' field, JSON with the file in base64 "
                "as 'data', or the image itself with an image/* Content-Type",
                code="unsupported_media_type",
            )
    except (ValueError, AssertionError, UnicodeDecodeError, HttpProcessingError) as exc:
        # How aiohttp's multipart reader reports a malformed form.
        raise BadRequest(f"malformed multipart body: {exc}", code="invalid_multipart") from None
    except RequestPayloadError as exc:
        # A body aiohttp could not decode (a bad Content-Encoding, a broken chunk).
        raise BadRequest(f"unreadable request body: {exc}", code="invalid_body") from None
    if not data:
        raise BadRequest("the upload is empty", code="empty_upload")
    return Upload(data, UploadForm.parse(fields))


def _encoded_limit(limit: int) -> int:
    """The largest body that may carry `limit` bytes of file: base64 and the fields."""
    return (limit + 2) // 3 * 4 + MAX_FIELD_BYTES * 8


async def _json_upload(body: _Body, fields: dict[str, str]) -> bytes:
    """`{"data": base64, "key": ..., "alt": ..., "tags": [...] or "a,b", "activate": ...}`"""
    raw = await body.read(body.request.content, _encoded_limit(body.limit))
    # Parsing and decoding tens of megabytes: in a thread, not on the serving loop.
    document = await asyncio.to_thread(_json_object, raw)
    encoded = document.pop("data", None)
    if not isinstance(encoded, str):
        raise BadRequest("the file goes in 'data', as base64", code="missing_file")
    for name, value in document.items():
        _known(name)  # before its type: the error names no code a client made up
        if name == "tags" and isinstance(value, list) and all(isinstance(t, str) for t in value):
            value = ",".join(value)
        elif name == "activate" and isinstance(value, bool):
            value = str(value).lower()
        elif not isinstance(value, str):
            raise BadRequest(f"field {name!r} has the wrong type", code=_FIELD_CODES[name])
        _add_field(fields, name, value)
    try:
        data = await asyncio.to_thread(base64.b64decode, encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'data' is not base64", code="invalid_base64") from None
    if len(data) > body.limit:
        raise _too_large(body.limit)
    return data


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:  # includes bytes that are not UTF-8
        raise BadRequest(f"the body is not JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    return data


async def read_json(request: web.Request, limit: int, idle_timeout: float) -> dict[str, Any]:
    """A JSON object body of at most `limit` bytes."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send application/json", code="unsupported_media_type")
    try:
        raw = await _Body(request, limit, idle_timeout, "body").read(request.content, limit)
    except RequestPayloadError as exc:
        raise BadRequest(f"unreadable request body: {exc}", code="invalid_body") from None
    return _json_object(raw)


async def read_model(request: web.Request, model: type[M], limit: int, idle: float) -> M:
    """A JSON body of at most `limit` bytes, as `model` (400 with its codes otherwise)."""
    return convert(await read_json(request, limit, idle), model)
