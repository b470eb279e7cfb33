"""Handlers for images: upload, list, get, change, tags, versions, activation, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from msgspec import UNSET
from multidict import MultiMapping

from admin_api import contracts
from admin_api.auth import authorize
from admin_api.contracts import MAX_PAGE, USER_HEADER
from admin_api.fields import MAX_ALT, MAX_TAGS, UploadForm, field_alt, field_key, field_tags
from admin_api.service import ADMIN, Admin
from admin_api.uploads import read_model, read_upload
from catalog import UNSET as KEEP
from catalog import (
    ApiKey,
    Image,
    ImageQuery,
    InvalidName,
    InvalidQuery,
    Library,
    LibrarySettings,
    Role,
    Sort,
    Status,
    check_tag,
    decode_cursor,
)
from origin.errors import BadRequest, Forbidden, NotFound

_USER = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,127}", re.ASCII)
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
MAX_PATCH_BYTES = 64 * 1024


@dataclass(frozen=True)
class Call:
    """Who calls, on which library, as whom (`X-User-Id`), under which rules."""

    admin: Admin
    key: ApiKey
    library: Library
    user: str | None
    rules: LibrarySettings

    async def image(self, request: web.Request) -> Image:
        return await self.admin.image(self.library, request.match_info["image_id"])

    async def editable(self, request: web.Request) -> Image:
        """The image of the URL, if this caller may change it: in a `creator_only`
        library, only the user who made it, or an admin key."""
        image = await self.image(request)
        if (
            self.rules.creator_only
            and self.key.role is not Role.ADMIN
            and (self.user is None or self.user != image.created_by)
        ):
            raise Forbidden(
                f"only the image's creator ({USER_HEADER}) or an admin key may change it",
                code="not_creator",
            )
        return image


async def call(request: web.Request) -> Call:
    admin = request.app[ADMIN]
    key, library = await authorize(request, admin.catalog)
    user = request.headers.get(USER_HEADER)
    if user is not None and not _USER.fullmatch(user):
        raise BadRequest(
            f"{USER_HEADER} has 1 to 128 printable ASCII characters", code="invalid_user_id"
        )
    return Call(admin, key, library, user, await admin.catalog.libraries.settings(library))


def _json(call: Call, image: Image, status: int = 200) -> web.Response:
    return contracts.respond(call.admin.wire(image), status)


async def upload_image(request: web.Request) -> web.Response:
    c = await call(request)
    limit = c.admin.upload_limit(c.rules)
    upload = await read_upload(request, limit, c.admin.settings.upload_idle_timeout)
    image = await c.admin.store_upload(c.library, c.rules, upload, c.user)
    return _json(c, image, 201)


async def get_image(request: web.Request) -> web.Response:
    c = await call(request)
    return _json(c, await c.image(request))


async def patch_image(request: web.Request) -> web.Response:
    """`{"key": ..., "alt": ... or null, "tags": [...]}`, any of them."""
    c = await call(request)
    idle = c.admin.settings.upload_idle_timeout
    body = await read_model(request, contracts.ImagePatch, MAX_PATCH_BYTES, idle)
    if body == contracts.ImagePatch():
        raise BadRequest("change key, alt or tags", code="invalid_patch")
    alt = KEEP if body.alt is UNSET else body.alt
    image = await c.editable(request)
    changed = await c.admin.update(
        c.library,
        image,
        key=None if body.key is UNSET else field_key(body.key),
        alt=field_alt(alt) if isinstance(alt, str) else alt,
        tags=None if body.tags is UNSET else field_tags(body.tags),
    )
    return _json(c, changed)


def _tag(request: web.Request) -> str:
    try:
        return check_tag(request.match_info["tag"])
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_tag") from None


async def add_tag(request: web.Request) -> web.Response:
    c = await call(request)
    tag = _tag(request)
    image = await c.editable(request)
    return _json(c, await c.admin.update(c.library, image, add_tags=(tag,)))


async def remove_tag(request: web.Request) -> web.Response:
    c = await call(request)
    tag = _tag(request)
    image = await c.editable(request)
    return _json(c, await c.admin.update(c.library, image, remove_tags=(tag,)))


async def activate_image(request: web.Request) -> web.Response:
    c = await call(request)
    image = await c.editable(request)
    return _json(c, await c.admin.set_status(c.library, image, Status.ACTIVE))


async def deactivate_image(request: web.Request) -> web.Response:
    c = await call(request)
    image = await c.editable(request)
    return _json(c, await c.admin.set_status(c.library, image, Status.PENDING))


async def delete_image(request: web.Request) -> web.Response:
    c = await call(request)
    await c.admin.delete(c.library, await c.editable(request))
    return web.Response(status=204)


async def replace_original(request: web.Request) -> web.Response:
    c = await call(request)
    image = await c.editable(request)
    limit = c.admin.upload_limit(c.rules)
    upload = await read_upload(request, limit, c.admin.settings.upload_idle_timeout)
    if upload.form != UploadForm():
        raise BadRequest("a replacement takes the file alone", code="unexpected_field")
    return _json(c, await c.admin.replace_original(c.library, c.rules, image, upload, c.user))


async def list_versions(request: web.Request) -> web.Response:
    c = await call(request)
    image = await c.image(request)
    versions = await c.admin.catalog.images.versions(image)
    items = [contracts.Version.of(v) for v in versions]
    return contracts.respond(contracts.VersionList(current=image.version, items=items))


async def restore_version(request: web.Request) -> web.Response:
    c = await call(request)
    image = await c.editable(request)
    number = request.match_info["version"]
    if not (number.isascii() and number.isdigit() and 0 < int(number) < 2**31):
        raise NotFound(f"image {image.id!r} has no version {number!r}", code="version_not_found")
    restored = await c.admin.restore(
        c.library, image, int(number), c.user, quota_bytes=c.rules.quota_bytes
    )
    return _json(c, restored)


async def list_tags(request: web.Request) -> web.Response:
    c = await call(request)
    counts = await c.admin.catalog.images.tag_counts(c.library)
    items = [contracts.TagCount(tag=t, count=n) for t, n in counts]
    return contracts.respond(contracts.TagList(items=items))


async def find_by_hash(request: web.Request) -> web.Response:
    """Whether the library has an image of this content (so a client can skip an
    upload), and which."""
    c = await call(request)
    sha256 = request.match_info["sha256"].lower()
    if not _SHA256.fullmatch(sha256):
        raise BadRequest("a SHA-256 is 64 hex digits", code="invalid_sha256")
    found = await c.admin.catalog.images.by(c.library, "sha256", [sha256])
    if not found:
        raise NotFound(f"no image in {c.library.name!r} has this content", code="hash_not_found")
    images = [c.admin.wire(image) for image in found]
    return contracts.respond(contracts.HashMatch(sha256=sha256, images=images))


# Listing


_LIST_PARAMETERS = frozenset(
    {
        "tag",
        "tag_match",
        "status",
        "format",
        "created_after",
        "created_before",
        "prefix",
        "q",
        "min_width",
        "max_width",
        "sort",
        "limit",
        "cursor",
    }
)


def one_value(query: MultiMapping[str], name: str) -> str | None:
    """The parameter's value, None when absent; 400 when it is given twice."""
    values = query.getall(name, [])
    if len(values) > 1:
        raise BadRequest(f"{name} is given twice", code="invalid_parameter")
    return values[0] if values else None


def _number(query: MultiMapping[str], name: str, low: int, high: int) -> int | None:
    value = one_value(query, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise BadRequest(f"{name} is a whole number from {low} to {high}", code="invalid_parameter")
    return int(value)


def _time(query: MultiMapping[str], name: str) -> datetime | None:
    value = one_value(query, name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is an ISO 8601 time", code="invalid_parameter") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{name} needs a time zone (Z or +hh:mm)", code="invalid_parameter")
    try:
        return moment.astimezone(UTC)  # what PostgreSQL compares: years 1 to 9999
    except OverflowError:
        raise BadRequest(f"{name} is out of range", code="invalid_parameter") from None


def _choice(query: MultiMapping[str], name: str, choices: type[Any], default: Any) -> Any:
    value = one_value(query, name)
    try:
        return default if value is None else choices(value)
    except ValueError:
        allowed = ", ".join(str(c.value) for c in choices)
        raise BadRequest(f"{name} is one of {allowed}", code="invalid_parameter") from None


def _cursor(sort: Sort, cursor: str) -> tuple[Any, str]:
    """The (value, id) of a cursor; 400 for one we cannot have made, such as one whose
    values PostgreSQL cannot take (NUL, lone surrogates, a time out of its range)."""
    try:
        value, image_id = decode_cursor(sort, cursor)
        for text in (image_id, value if isinstance(value, str) else ""):
            if "\x00" in text:
                raise ValueError("NUL")
            text.encode()  # lone surrogates raise UnicodeEncodeError
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("no time zone")
            value.astimezone(UTC)  # OverflowError out of range
    except (InvalidQuery, ValueError, OverflowError):
        raise BadRequest(
            "the cursor is not one this listing made, for this sort", code="invalid_cursor"
        ) from None
    return value, image_id


def parse_listing(query: MultiMapping[str]) -> ImageQuery:
    """An ImageQuery from the list endpoint's query string; 400 on anything else."""
    unknown = set(query) - _LIST_PARAMETERS
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}", code="unknown_parameter"
        )
    try:
        tags = tuple(dict.fromkeys(check_tag(t) for t in query.getall("tag", [])))
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_parameter") from None
    match = one_value(query, "tag_match") or "any"
    if match not in ("any", "all"):
        raise BadRequest("tag_match is any or all", code="invalid_parameter")
    try:
        statuses = tuple(dict.fromkeys(Status(s) for s in query.getall("status", [])))
    except ValueError:
        raise BadRequest("status is pending, active or deleted", code="invalid_parameter") from None
    formats = tuple(query.getall("format", []))
    if any("\x00" in f for f in formats):  # text PostgreSQL cannot hold
        raise BadRequest("format is a format's name, such as jpeg", code="invalid_parameter")
    if len(tags) > MAX_TAGS or len(formats) > 16:
        raise BadRequest("too many tags or formats", code="invalid_parameter")
    sort = _choice(query, "sort", Sort, Sort.NEWEST)
    text = one_value(query, "q")
    prefix = one_value(query, "prefix")
    for name, value in (("q", text), ("prefix", prefix)):
        if value is not None and (len(value) > MAX_ALT or "\x00" in value):
            raise BadRequest(
                f"{name} is text of at most {MAX_ALT} characters", code="invalid_parameter"
            )
    cursor = one_value(query, "cursor")
    after = _cursor(sort, cursor) if cursor is not None else None
    return ImageQuery(
        tags=tags,
        all_tags=match == "all",
        statuses=statuses or (Status.PENDING, Status.ACTIVE),
        formats=formats,
        created_after=_time(query, "created_after"),
        created_before=_time(query, "created_before"),
        prefix=prefix,
        text=text,
        min_width=_number(query, "min_width", 0, 2**31 - 1),
        max_width=_number(query, "max_width", 0, 2**31 - 1),
        sort=sort,
        limit=_number(query, "limit", 1, MAX_PAGE) or 50,
        after=after,
    )


async def list_images(request: web.Request) -> web.Response:
    c = await call(request)
    found, next_cursor = await c.admin.catalog.images.page(c.library, parse_listing(request.query))
    items = [c.admin.wire(image) for image in found]
    return contracts.respond(contracts.ImageList(items=items, next=next_cursor))
