"""The admin API's route table: one declaration per operation, which both the aiohttp
router (admin_api/app.py) and the OpenAPI document (admin_api/openapi.py) are made from.

An operation's errors are listed here by group, beside the handler that raises them;
tests/test_openapi.py runs schemathesis against a real server, so a status the table
does not list fails the build.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aiohttp import web
from msgspec import Meta, Struct

from admin_api import contracts as c
from admin_api import html, images, keys, libraries, purge, stats, webhooks
from catalog import Role, Sort, Status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Errors = dict[int, list[str]]


@dataclass(frozen=True)
class Param:
    """A query or header parameter: its type (for its schema) and what it means."""

    name: str
    type: Any
    description: str
    where: Literal["query", "header"] = "query"
    repeated: bool = False
    shared: str = ""  # its name among the document's shared parameters, if it is one


@dataclass(frozen=True)
class Upload:
    """An upload's body: multipart, the bytes themselves, or JSON with them in base64."""

    multipart: type[Struct]
    json: type[Struct]
    fields: bool  # optional fields besides the file


@dataclass(frozen=True)
class Either:
    """A JSON body of one of two shapes, under one schema name."""

    name: str
    options: tuple[type[Struct], ...]
    description: str


Body = type[Struct] | Upload | Either


@dataclass(frozen=True)
class Answer:
    """What an operation answers when it succeeds: a model as JSON, HTML, or nothing."""

    status: int
    description: str
    model: type[Struct] | None = None
    media: str = "application/json"


@dataclass(frozen=True)
class Route:
    operation: str  # "METHOD /path"
    handler: Handler  # its name, in camelCase, is the operation's id
    tag: str
    summary: str
    answer: Answer
    role: Role | None  # the role of the key it needs (enforced: auth.needed); None: no key
    errors: tuple[Errors, ...] = ()
    description: str = ""
    body: Body | None = None
    body_description: str = ""
    params: tuple[Param, ...] = ()
    scope: str = ""  # which keys of that role, for people: "for every library"

    @property
    def method(self) -> str:
        return self.operation.partition(" ")[0]

    @property
    def path(self) -> str:
        return self.operation.partition(" ")[2]

    @property
    def operation_id(self) -> str:
        first, *rest = self.handler.__name__.split("_")
        return first + "".join(word.title() for word in rest)


# Error groups, by what a handler does.
AUTH: Errors = {401: ["missing_api_key", "invalid_authorization", "invalid_api_key"]}
OUTAGE: Errors = {503: ["catalog_unavailable"]}
LIBRARY: Errors = {
    400: ["invalid_library"],
    403: ["wrong_library", "insufficient_role"],
    404: ["library_not_found"],
}
CALL: Errors = {400: ["invalid_user_id"]}  # the image handlers read X-User-Id
IMAGE: Errors = {404: ["image_not_found"]}
EDIT: Errors = {403: ["not_creator"], 503: ["store_unavailable"]}
JSON_BODY: Errors = {
    400: ["invalid_json", "invalid_body"],
    408: ["body_timeout"],
    413: ["body_too_large"],
    415: ["unsupported_media_type"],
}
UPLOAD: Errors = {
    400: [
        "empty_upload",
        "missing_file",
        "unknown_field",
        "repeated_field",
        "invalid_multipart",
        "invalid_body",
        "invalid_json",
        "invalid_base64",
        "invalid_key",
        "invalid_tag",
        "invalid_alt",
        "invalid_activate",
        "invalid_{field} (a JSON field of the wrong type)",
    ],
    408: ["upload_timeout"],
    413: ["upload_too_large"],
    415: ["unsupported_media_type", "unsupported_image", "format_not_allowed"],
    422: ["undecodable_image", "image_too_large"],
    503: ["store_unavailable", "overloaded"],
}

USER = Param(
    c.USER_HEADER,
    Annotated[str, Meta(pattern="^[\\x21-\\x7e][\\x20-\\x7e]{0,127}$")],
    "Your application's user on whose behalf the call is made (1-128 printable ASCII "
    "characters): recorded as `created_by` of uploads and versions, and checked in "
    "`creator_only` libraries.",
    where="header",
    shared="user",
)


def _default(value: Any) -> Meta:
    return Meta(extra_json_schema={"default": value})


_PIXELS = Annotated[int, Meta(ge=0, le=2**31 - 1)]
_TEXT = Annotated[str, Meta(max_length=c.MAX_ALT)]
LISTING = (
    Param("tag", c.Tag, "Images with this tag; repeat for several.", repeated=True),
    Param(
        "tag_match",
        Annotated[Literal["any", "all"], _default("any")],
        "With several `tag`s: images with any of them, or with all.",
    ),
    Param("status", Status, "Repeat for several; default pending and active.", repeated=True),
    Param("format", str, "Source format (jpeg, png, ...); repeatable.", repeated=True),
    Param("created_after", c.Time, "ISO 8601 time with a zone."),
    Param("created_before", c.Time, "ISO 8601 time with a zone."),
    Param("prefix", _TEXT, "Keys starting with this."),
    Param("q", _TEXT, "Text in the key or the alt text, case-insensitive."),
    Param("min_width", _PIXELS, "Pixels."),
    Param("max_width", _PIXELS, "Pixels."),
    Param("sort", Annotated[Sort, _default(Sort.NEWEST.value)], "Order; `-` is descending."),
    Param(
        "limit",
        Annotated[int, Meta(ge=1, le=c.MAX_PAGE), _default(50)],
        "Images per page.",
    ),
    Param("cursor", str, "The previous page's `next`, with the same `sort`."),
)
UPLOAD_QUERY = (
    Param("key", c.ImageKey, "As the form field `key`."),
    Param("tags", str, "As the form field `tags`."),
    Param("alt", c.Alt, "As the form field `alt`."),
    Param("activate", c.Activate, "As the form field `activate`."),
)
HTML_QUERY = (
    Param(
        "widths",
        Annotated[str, Meta(pattern="^[0-9]+(,[0-9]+)*$")],
        f"Comma-separated, at most {html.MAX_WIDTHS} widths from 1 to {html.MAX_WIDTH}; "
        f"default {','.join(map(str, html.DEFAULT_WIDTHS))}.",
    ),
    Param(
        "sizes",
        Annotated[str, Meta(max_length=html.MAX_SIZES)],
        f'The `sizes` attribute; default `{html.DEFAULT_SIZES}`. No `<`, `>` or `"`.',
    ),
    Param("preset", str, "A preset of the library's."),
)

LIBRARIES = "/v1/libraries"
LIBRARY_PATH = LIBRARIES + "/{library}"
IMAGES = LIBRARY_PATH + "/images"
IMAGE_PATH = IMAGES + "/{image_id}"
HOOKS = LIBRARY_PATH + "/webhooks"
READ, WRITE, ADMIN = Role.READ, Role.WRITE, Role.ADMIN


def _image(status: int = 200, description: str = "The image.") -> Answer:
    return Answer(status, description, c.Image)


ROUTES: tuple[Route, ...] = (
    Route(
        "POST " + LIBRARIES,
        libraries.create_library,
        "libraries",
        "Create a library",
        Answer(201, "The new library.", c.Library),
        ADMIN,
        (
            AUTH,
            JSON_BODY,
            {
                400: ["invalid_library", "invalid_settings", "invalid_preset"],
                403: ["insufficient_role", "wrong_library"],
                409: ["library_exists"],
            },
            OUTAGE,
        ),
        body=c.LibraryCreate,
        scope="for every library",
    ),
    Route(
        "GET " + LIBRARIES,
        libraries.list_libraries,
        "libraries",
        "The libraries this key may use",
        Answer(200, "Every library for a key of every library; else its own.", c.LibraryList),
        READ,
        (AUTH, OUTAGE),
    ),
    Route(
        "GET " + LIBRARY_PATH,
        libraries.get_library,
        "libraries",
        "A library and its settings",
        Answer(200, "The library.", c.Library),
        READ,
        (AUTH, LIBRARY, OUTAGE),
    ),
    Route(
        "PATCH " + LIBRARY_PATH,
        libraries.patch_library,
        "libraries",
        "Change a library's settings",
        Answer(200, "The library, as changed.", c.Library),
        ADMIN,
        (AUTH, LIBRARY, JSON_BODY, {400: ["invalid_settings", "invalid_preset"]}, OUTAGE),
        "Every process serves the new rules at once.",
        body=Either(
            "LibraryPatch",
            (c.SettingsPatch, c.WrappedSettings),
            'The settings to change, or `{"settings": {...}}`.',
        ),
        body_description=f"At most {libraries.MAX_SETTINGS_BYTES // 1024} KiB.",
    ),
    Route(
        "DELETE " + LIBRARY_PATH,
        libraries.delete_library,
        "libraries",
        "Delete a library",
        Answer(200, "Deleted, with how many images.", c.LibraryDeleted),
        ADMIN,
        (AUTH, LIBRARY, {503: ["store_unavailable"]}, OUTAGE),
        "Every image is deleted and purged, then the keys scoped to the library and its name.",
        scope="for every library",
    ),
    Route(
        "POST " + IMAGES,
        images.upload_image,
        "images",
        "Upload an image",
        _image(201, "The new image."),
        WRITE,
        (AUTH, LIBRARY, CALL, UPLOAD, {403: ["quota_exceeded"], 409: ["key_exists"]}, OUTAGE),
        "Optional fields come as form fields (multipart), JSON fields, or query "
        "parameters, each once. Identical bytes are stored once.",
        body=Upload(c.MultipartUpload, c.JsonUpload, fields=True),
        params=(USER, *UPLOAD_QUERY),
    ),
    Route(
        "GET " + IMAGES,
        images.list_images,
        "images",
        "List and filter images",
        Answer(200, "A page of images.", c.ImageList),
        READ,
        (
            AUTH,
            LIBRARY,
            CALL,
            {400: ["unknown_parameter", "invalid_parameter", "invalid_cursor"]},
            OUTAGE,
        ),
        "Keyset-paginated: pass `next` back as `cursor`. Any other query parameter "
        "is a 400; every one but `tag`, `status` and `format` at most once.",
        params=(USER, *LISTING),
    ),
    Route(
        "GET " + IMAGE_PATH,
        images.get_image,
        "images",
        "An image",
        _image(),
        READ,
        (AUTH, LIBRARY, CALL, IMAGE, OUTAGE),
        params=(USER,),
    ),
    Route(
        "PATCH " + IMAGE_PATH,
        images.patch_image,
        "images",
        "Change an image's key, alt text or tags",
        _image(200, "The image, as changed."),
        WRITE,
        (
            AUTH,
            LIBRARY,
            CALL,
            IMAGE,
            EDIT,
            JSON_BODY,
            {
                400: ["invalid_patch", "invalid_key", "invalid_alt", "invalid_tag"],
                409: ["key_exists"],
            },
            OUTAGE,
        ),
        body=c.ImagePatch,
        body_description=f"At most {images.MAX_PATCH_BYTES // 1024} KiB.",
        params=(USER,),
    ),
    Route(
        "DELETE " + IMAGE_PATH,
        images.delete_image,
        "images",
        "Delete an image",
        Answer(204, "Done; no body."),
        WRITE,
        (AUTH, LIBRARY, CALL, IMAGE, EDIT, OUTAGE),
        "Its variants are purged everywhere, and its originals deleted unless "
        "another image has the same bytes.",
        params=(USER,),
    ),
    Route(
        "POST " + IMAGE_PATH + "/activate",
        images.activate_image,
        "images",
        "Serve an image",
        _image(200, "The image, now active."),
        WRITE,
        (AUTH, LIBRARY, CALL, IMAGE, EDIT, OUTAGE),
        params=(USER,),
    ),
    Route(
        "POST " + IMAGE_PATH + "/deactivate",
        images.deactivate_image,
        "images",
        "Stop serving an image",
        _image(200, "The image, now pending; what was served of it is purged."),
        WRITE,
        (AUTH, LIBRARY, CALL, IMAGE, EDIT, OUTAGE),
        params=(USER,),
    ),
    Route(
        "PUT " + IMAGE_PATH + "/original",
        images.replace_original,
        "images",
        "Replace an image's original",
        _image(200, "The image, its version one higher (unchanged for the same bytes)."),
        WRITE,
        (
            AUTH,
            LIBRARY,
            CALL,
            IMAGE,
            EDIT,
            UPLOAD,
            {400: ["unexpected_field"], 403: ["quota_exceeded"], 409: ["image_changed"]},
            OUTAGE,
        ),
        "The old version's variants are purged everywhere, its original deleted "
        "unless another image has the same bytes.",
        body=Upload(c.FileOnly, c.DataOnly, fields=False),
        params=(USER,),
    ),
    Route(
        "GET " + IMAGE_PATH + "/html",
        html.image_html,
        "images",
        "A <picture> element for the image",
        Answer(
            200,
            "AVIF and WebP sources and a JPEG or PNG fallback, each "
            "at the widths asked for that do not enlarge the picture.",
            media="text/html",
        ),
        READ,
        (
            AUTH,
            LIBRARY,
            CALL,
            IMAGE,
            {
                400: [
                    "unknown_parameter",
                    "invalid_parameter",
                    "unknown_preset",
                    "any code of the origin's that would refuse these URLs",
                ],
                409: ["no_signing_key"],
                503: ["store_unavailable", "overloaded"],
            },
            OUTAGE,
        ),
        "URLs are signed when the library requires it (with its newest native or "
        "imgix key), and read as the origin reads them (presets, `widths` snapping).",
        params=(USER, *HTML_QUERY),
    ),
    Route(
        "GET " + IMAGE_PATH + "/versions",
        images.list_versions,
        "versions",
        "An image's versions",
        Answer(200, "Every version, and which is current.", c.VersionList),
        READ,
        (AUTH, LIBRARY, CALL, IMAGE, OUTAGE),
        params=(USER,),
    ),
    Route(
        "POST " + IMAGE_PATH + "/versions/{version}/restore",
        images.restore_version,
        "versions",
        "Make an old version current again",
        _image(200, "The image, as a new version with that version's original."),
        WRITE,
        (
            AUTH,
            LIBRARY,
            CALL,
            IMAGE,
            EDIT,
            {
                403: ["quota_exceeded"],
                404: ["version_not_found"],
                409: ["image_changed"],
                410: ["version_gone"],
                503: ["store_unavailable"],
            },
            OUTAGE,
        ),
        params=(USER,),
    ),
    Route(
        "POST " + IMAGE_PATH + "/tags/{tag}",
        images.add_tag,
        "tags",
        "Tag an image",
        _image(),
        WRITE,
        (
            AUTH,
            LIBRARY,
            CALL,
            IMAGE,
            EDIT,
            {400: [f"invalid_tag (also: more than {c.MAX_TAGS} tags)"]},
            OUTAGE,
        ),
        params=(USER,),
    ),
    Route(
        "DELETE " + IMAGE_PATH + "/tags/{tag}",
        images.remove_tag,
        "tags",
        "Untag an image",
        _image(),
        WRITE,
        (AUTH, LIBRARY, CALL, IMAGE, EDIT, {400: ["invalid_tag"]}, OUTAGE),
        params=(USER,),
    ),
    Route(
        "GET " + LIBRARY_PATH + "/tags",
        images.list_tags,
        "tags",
        "The library's tags",
        Answer(200, "Each tag with how many live images have it.", c.TagList),
        READ,
        (AUTH, LIBRARY, CALL, OUTAGE),
        params=(USER,),
    ),
    Route(
        "GET " + LIBRARY_PATH + "/stats",
        stats.library_stats,
        "libraries",
        "A library's usage",
        Answer(200, "Its images, store usage, renders and hits.", c.LibraryStats),
        READ,
        (AUTH, LIBRARY, CALL, {503: ["store_unavailable"]}, OUTAGE),
        "Measuring the variants lists the store: its cost grows with the library.",
        params=(USER,),
    ),
    Route(
        "GET " + LIBRARY_PATH + "/hashes/{sha256}",
        images.find_by_hash,
        "images",
        "The images with these bytes",
        Answer(200, "The live images of this content.", c.HashMatch),
        READ,
        (AUTH, LIBRARY, CALL, {400: ["invalid_sha256"], 404: ["hash_not_found"]}, OUTAGE),
        "Lets a client skip an upload the library has.",
        params=(USER,),
    ),
    Route(
        "POST " + HOOKS,
        webhooks.create_webhook,
        "webhooks",
        "Add a webhook",
        Answer(201, "The webhook, with its secret (shown this once).", c.NewWebhook),
        ADMIN,
        (AUTH, LIBRARY, JSON_BODY, {400: ["invalid_webhook", "too_many_webhooks"]}, OUTAGE),
        f"At most {webhooks.MAX_WEBHOOKS} per library. Deliveries are POSTs of "
        "`{id, event, library, created_at, data}`, signed with "
        "`X-Imgorigin-Signature: sha256=<hex HMAC-SHA256 of the body>`, retried with "
        "backoff.",
        body=c.WebhookCreate,
        body_description=f"At most {webhooks.MAX_WEBHOOK_BODY // 1024} KiB.",
    ),
    Route(
        "GET " + HOOKS,
        webhooks.list_webhooks,
        "webhooks",
        "The library's webhooks",
        Answer(200, "Its webhooks (without secrets).", c.WebhookList),
        ADMIN,
        (AUTH, LIBRARY, OUTAGE),
    ),
    Route(
        "DELETE " + HOOKS + "/{webhook_id}",
        webhooks.delete_webhook,
        "webhooks",
        "Remove a webhook",
        Answer(204, "Done; no body."),
        ADMIN,
        (AUTH, LIBRARY, {404: ["webhook_not_found"]}, OUTAGE),
    ),
    Route(
        "POST /v1/keys",
        keys.create_key,
        "keys",
        "Make an API key",
        Answer(201, "The key, with its secret (shown this once).", c.NewApiKey),
        ADMIN,
        (AUTH, LIBRARY, JSON_BODY, {400: ["invalid_key_spec", "invalid_expiry"]}, OUTAGE),
        "A key scoped to a library makes keys of that library only.",
        body=c.ApiKeyCreate,
        body_description=f"At most {keys.MAX_KEY_BODY // 1024} KiB.",
    ),
    Route(
        "GET /v1/keys",
        keys.list_keys,
        "keys",
        "The API keys this key manages",
        Answer(200, "Every key, revoked and expired ones too.", c.ApiKeyList),
        ADMIN,
        (AUTH, LIBRARY, OUTAGE),
        params=(Param("library", str, "Only this library's keys."),),
    ),
    Route(
        "DELETE /v1/keys/{key_id}",
        keys.revoke_key,
        "keys",
        "Revoke an API key",
        Answer(204, "Done; no body."),
        ADMIN,
        (AUTH, {403: ["insufficient_role"], 404: ["key_not_found"]}, OUTAGE),
        "Only a live key this key manages: its library's, or any for a key of every library.",
    ),
    Route(
        "POST /v1/purge",
        purge.purge,
        "purge",
        "Purge cached variants",
        Answer(200, "What was purged, layer by layer.", c.PurgeReport),
        WRITE,
        (AUTH, LIBRARY, JSON_BODY, {400: ["invalid_purge"], 503: ["store_unavailable"]}, OUTAGE),
        "Deletes the variants from the blob store, then evicts them from nginx, then the "
        "CDNs by tag, then tells the purge webhook; a layer that fails is reported and the "
        "others purged all the same. Running it again is safe.",
        body=c.PurgeRequest,
        body_description=f"At most {purge.MAX_PURGE_BODY // 1024} KiB.",
        scope="of the library",
    ),
)

# The path parameters, by name, wherever a path names them.
PATH_PARAMETERS: dict[str, tuple[Any, str]] = {
    "library": (c.LibraryName, "The library's name."),
    "image_id": (c.ImageId, "The image's id (16 of a-z, 2-7). Deleted images are not found."),
    "tag": (c.Tag, ""),
    "version": (
        Annotated[int, Meta(ge=1, le=2**31 - 1)],
        "A version number from the image's versions.",
    ),
    "sha256": (
        Annotated[str, Meta(pattern="^[0-9a-fA-F]{64}$")],
        "The SHA-256 of an original's bytes, hex (either case).",
    ),
    "webhook_id": (str, ""),
    "key_id": (Annotated[int, Meta(ge=1, le=2**63 - 1)], "An API key's `id`."),
}
