"""The admin API's OpenAPI 3.1 document, served at GET /v1/openapi.json, and a page
that renders it at GET /v1/docs (inline script, no network beyond this server).

The document is written by hand, next to the handlers it describes; tests/test_openapi.py
holds it to the route table (every route documented, nothing documented that is not
routed), validates it as OpenAPI 3.1 and runs schemathesis against a real server, so
a status, field or parameter that drifts from the code fails the build.
"""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from admin_api.fields import MAX_ALT, MAX_TAGS
from admin_api.images import MAX_PAGE, USER_HEADER
from admin_api.keys import MAX_NAME
from admin_api.purge import MAX_PURGE_ITEMS
from admin_api.webhooks import EVENTS, MAX_URL, MAX_WEBHOOKS
from catalog.naming import RESERVED_LIBRARIES
from origin.pipeline.analysis import COLOUR_SPACES, MAX_TEXT
from origin.pipeline.formats import SOURCE_FORMATS

Schema = dict[str, Any]

DOCUMENT_PATH = "/v1/openapi.json"
DOCS_PATH = "/v1/docs"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], *, required: bool | list[str] = True) -> Schema:
    """A closed object: every property listed (and, by default, always present)."""
    needed = list(properties) if required is True else (required or [])
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if needed:
        schema["required"] = needed
    return schema


def _items(schema: Schema) -> Schema:
    return _object({"items": {"type": "array", "items": schema}})


_TIME = {"type": "string", "format": "date-time"}
_WHOLE = {"type": "integer", "minimum": 0}
_LIBRARY_NAME = {
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
    "description": "1-63 of a-z, 0-9 and '-', starting with a letter or digit; not one of "
    f"the reserved words {', '.join(sorted(RESERVED_LIBRARIES))}.",
}
_IMAGE_ID = {"type": "string", "pattern": "^[a-z2-7]{16}$"}
_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_TAG = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"}
_IMAGE_KEY = {
    "type": "string",
    "minLength": 1,
    "description": "The image's path under its library in public URLs: 1-1024 bytes of "
    "UTF-8, no control characters, `\\`, `?`, `#` or `%`, no empty, `.` or `..` segments "
    "nor segments with outer spaces; its first segment is not `plain` and has no `:`.",
}
_ALT = {
    "type": "string",
    "maxLength": MAX_ALT,
    "description": f"Alt text: at most {MAX_ALT} characters, no control characters.",
}
_FORMAT = {"type": "string", "enum": list(SOURCE_FORMATS)}
_ROLE = {"type": "string", "enum": ["read", "write", "admin"]}
_EVENT = {"type": "string", "enum": list(EVENTS)}
_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}
_ACTIVATE = {
    "type": "string",
    "enum": ["true", "false", "1", "0"],
    "description": "Activate at once (`true`) or start `pending` (`false`); without it, as "
    "the library's `auto_activate` says. Case-insensitive.",
}
_TAGS_FIELD = {
    "type": "string",
    "description": f"Comma-separated tags, at most {MAX_TAGS}; blanks and repeats are dropped.",
}

SETTINGS_FIELDS: dict[str, Schema] = {
    "require_signed": {"type": "boolean", "description": "Unsigned URLs answer 403."},
    "presets": {
        "type": "object",
        "propertyNames": {"pattern": "^[a-z0-9_-]{1,32}$"},
        "additionalProperties": {"type": "string"},
        "description": "Name -> query string the origin accepts, e.g. "
        '`{"thumb": "w=200&h=200&fit=crop"}`; used as `?p=thumb`.',
    },
    "presets_only": {"type": "boolean", "description": "A URL may name a preset, nothing else."},
    "ignore_unknown_parameters": {"type": "boolean"},
    "widths": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 8192},
        "description": "Unsigned URLs' `w` rounds up to one of these.",
    },
    "max_quality": {"type": "integer", "minimum": 1, "maximum": 100},
    "auto_activate": {"type": "boolean", "description": "Uploads are active at once."},
    "pending_ttl": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10 * 365 * 24 * 3600,
        "description": "Seconds an upload never activated stays pending; 0: kept.",
    },
    "quota_bytes": _nullable({"type": "integer", "minimum": 1, "maximum": 2**62}),
    "quota_images": _nullable({"type": "integer", "minimum": 1, "maximum": 2**62}),
    "allowed_formats": {
        "type": "array",
        "items": _FORMAT,
        "description": "Source formats uploads may have; empty: every one.",
    },
    "max_upload_bytes": _nullable({"type": "integer", "minimum": 1, "maximum": 2**62}),
    "creator_only": {
        "type": "boolean",
        "description": f"Only the image's creator ({USER_HEADER}) or an admin key changes it.",
    },
    "keep_gps": {
        "type": "boolean",
        "description": "Uploads' `analysis` keeps where they were taken (EXIF GPS), "
        "shown by this API only, never by the origin.",
    },
}

_SETTINGS_PATCH = _object(SETTINGS_FIELDS, required=False)

_NAME = _nullable({"type": "string", "minLength": 1, "maxLength": MAX_TEXT})
_ANALYSIS_FIELDS: dict[str, Schema] = {
    "width": {"type": "integer", "minimum": 1},
    "height": {"type": "integer", "minimum": 1},
    "format": _FORMAT,
    "bytes": {"type": "integer", "minimum": 1},
    "has_alpha": {"type": "boolean"},
    "frames": {"type": "integer", "minimum": 1},
    "colour_space": {
        "type": "string",
        "enum": list(COLOUR_SPACES),
        "description": "Untagged RGB counts as `srgb`; `rgb` is a profile not named here.",
    },
    "icc_profile": {**_NAME, "description": "The embedded ICC profile's description."},
    "camera": {**_NAME, "description": "EXIF make and model."},
    "lens": {**_NAME, "description": "EXIF lens model."},
    "taken_at": {
        **_nullable(
            {
                "type": "string",
                "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?([+-]\d{2}:\d{2})?$",
            }
        ),
        "description": "EXIF DateTimeOriginal, ISO 8601: the camera's local time, with its "
        "offset when it recorded one.",
    },
    "orientation": {
        **_nullable({"type": "integer", "minimum": 1, "maximum": 8}),
        "description": "The EXIF orientation; `width` and `height` are as displayed.",
    },
    "blurhash": {"type": "string"},
    "dominant_color": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
    "lqip": {
        "type": "string",
        "pattern": "^data:image/webp;base64,",
        "description": "A tiny WebP (32 pixels on its longer side) as a data URI.",
    },
    "gps": {
        **_object(
            {
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                "altitude": _nullable({"type": "number"}),
            }
        ),
        "description": "Where it was taken (metres above sea level): only in libraries "
        "with `keep_gps` at upload, and only when the file says.",
    },
}

_API_KEY_FIELDS: dict[str, Schema] = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "role": _ROLE,
    "library": _nullable({"type": "string"}),
    "prefix": {"type": "string"},
    "created_at": _TIME,
    "expires_at": _nullable(_TIME),
    "revoked_at": _nullable(_TIME),
    "last_used_at": _nullable(_TIME),
}

_WEBHOOK_FIELDS: dict[str, Schema] = {
    "id": {"type": "string"},
    "url": {"type": "string"},
    "events": {"type": "array", "items": _EVENT},
    "created_at": _TIME,
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        **_object(
            {
                "error": _object(
                    {
                        "code": {"type": "string", "description": "Stable, machine-readable."},
                        "message": {"type": "string", "description": "For people."},
                    }
                )
            }
        ),
        "description": "Every error: a stable `code` and a message. Sent with "
        "`Cache-Control: no-store`.",
    },
    "Image": _object(
        {
            "id": _IMAGE_ID,
            "library": {"type": "string"},
            "key": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "active", "deleted"]},
            "version": {"type": "integer", "minimum": 1},
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "format": _FORMAT,
            "bytes": {"type": "integer", "minimum": 1},
            "sha256": _SHA256,
            "colour": {
                **_nullable({"type": "string", "pattern": "^#[0-9a-f]{6}$"}),
                "description": "The average colour (`#rrggbb`), for a placeholder; null: "
                "not measured (images uploaded before it was).",
            },
            "analysis": {
                **_nullable(_ref("Analysis")),
                "description": "What the original is, found at upload: `fm=json`'s answer, "
                "with `gps` where kept; null: uploaded before analyses were kept.",
            },
            "alt": _nullable({"type": "string"}),
            "tags": {"type": "array", "items": {"type": "string"}},
            "created_by": _nullable({"type": "string"}),
            "created_at": _TIME,
            "updated_at": _TIME,
            "url": {"type": "string", "description": "The original on the public origin."},
        }
    ),
    "ImageList": {
        **_object(
            {
                "items": {"type": "array", "items": _ref("Image")},
                "next": _nullable({"type": "string"}),
            }
        ),
        "description": "One page; `next` is the `cursor` of the following page (null: last).",
    },
    "Analysis": _object(
        _ANALYSIS_FIELDS, required=[name for name in _ANALYSIS_FIELDS if name != "gps"]
    ),
    "LibrarySettings": _object(SETTINGS_FIELDS),
    "SettingsPatch": {
        **_SETTINGS_PATCH,
        "description": "The settings to change; the others keep their values.",
    },
    "Library": _object(
        {
            "name": {"type": "string"},
            "created_at": _TIME,
            "settings": _ref("LibrarySettings"),
            "signing_keys": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "string"},
                        "scheme": {"type": "string", "enum": ["native", "imgix", "imgproxy"]},
                    }
                ),
                "description": "Ids and schemes; secrets are shown only when made (CLI).",
            },
        }
    ),
    "LibraryList": _items(_ref("Library")),
    "LibraryDeleted": _object(
        {"library": {"type": "string"}, "images_deleted": _WHOLE},
    ),
    "ApiKey": _object(_API_KEY_FIELDS),
    "NewApiKey": {
        **_object({"key": {"type": "string"}, **_API_KEY_FIELDS}),
        "description": "A new key; `key` is the secret, shown this once only.",
    },
    "ApiKeyList": _items(_ref("ApiKey")),
    "Webhook": _object(_WEBHOOK_FIELDS),
    "NewWebhook": {
        **_object({**_WEBHOOK_FIELDS, "secret": {"type": "string"}}),
        "description": "A new webhook; `secret` (which signs its deliveries) is shown this "
        "once only.",
    },
    "WebhookList": _items(_ref("Webhook")),
    "Version": _object(
        {
            "version": {"type": "integer", "minimum": 1},
            "sha256": _SHA256,
            "format": _FORMAT,
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "bytes": {"type": "integer", "minimum": 1},
            "created_by": _nullable({"type": "string"}),
            "created_at": _TIME,
        }
    ),
    "VersionList": _object(
        {
            "current": {"type": "integer", "minimum": 1},
            "items": {"type": "array", "items": _ref("Version")},
        }
    ),
    "TagList": _items(_object({"tag": {"type": "string"}, "count": {"type": "integer"}})),
    "HashMatch": _object(
        {"sha256": _SHA256, "images": {"type": "array", "items": _ref("Image")}},
    ),
    "PurgeReport": {
        **_object(
            {
                "library": {"type": "string"},
                "images": {"type": "integer", "minimum": 0},
                "missing": {"type": "array", "items": {"type": "string"}},
                "variants": {"type": "integer", "minimum": 0},
                "hooks": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
                        "required": ["ok"],
                    },
                    "description": "Per outer layer (nginx, cloudflare, fastly, webhook): "
                    "`ok` and what it did, or `ok: false` and its `error`.",
                },
                "complete": {
                    "type": "boolean",
                    "description": "Every layer was purged; false: run it again.",
                },
            }
        ),
        "description": "`images`: how many were purged; `missing`: names that matched none; "
        "`variants`: stored variants deleted.",
    },
    "LibraryCreate": _object(
        {"name": _LIBRARY_NAME, "settings": _ref("SettingsPatch")}, required=["name"]
    ),
    "LibraryPatch": {
        "anyOf": [
            _ref("SettingsPatch"),
            _object({"settings": _ref("SettingsPatch")}),
        ],
        "description": 'The settings to change, or `{"settings": {...}}`.',
    },
    "ImagePatch": {
        **_object(
            {
                "key": _IMAGE_KEY,
                "alt": _nullable(_ALT),
                "tags": {"type": "array", "items": _TAG, "maxItems": MAX_TAGS},
            },
            required=False,
        ),
        "minProperties": 1,
        "description": "Any of key (moves the public URL; the old one is purged), alt "
        "(null removes it) and tags (replaces them).",
    },
    "ApiKeyCreate": {
        **_object(
            {
                "name": {"type": "string", "maxLength": MAX_NAME},
                "role": _ROLE,
                "library": _nullable(_LIBRARY_NAME),
                "expires_at": _nullable(_TIME),
                "expires_in": _nullable(
                    {"type": "integer", "minimum": 1, "maximum": 3660 * 24 * 3600}
                ),
            },
            required=["role"],
        ),
        "description": "`library` null (or absent): a key for every library, which only "
        "such a key may make. `expires_at` (with a zone) or `expires_in` (seconds), not "
        "both, within ten years; neither: the key does not expire.",
    },
    "WebhookCreate": _object(
        {
            "url": {
                "type": "string",
                "format": "uri",
                "maxLength": MAX_URL,
                "description": "Absolute http(s) URL without credentials; not a loopback "
                "or private address unless IMGORIGIN_WEBHOOK_PRIVATE_ADDRESSES.",
            },
            "events": {
                "type": "array",
                "items": _EVENT,
                "description": "The events it hears; none or absent: every one.",
            },
        },
        required=["url"],
    ),
    "PurgeRequest": {
        **_object(
            {
                "library": _LIBRARY_NAME,
                "images": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": MAX_PURGE_ITEMS,
                    "description": "Image ids, deleted ones too.",
                },
                "keys": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": MAX_PURGE_ITEMS,
                    "description": "Keys of live images; nginx is purged under each key "
                    "whether or not a live image has it.",
                },
            },
            required=["library"],
        ),
        "description": "The whole library, or some of its images by `images` or `keys` (not both).",
    },
    "MultipartUpload": _object(
        {
            "file": {**_BINARY, "description": "The image: JPEG, PNG, WebP, GIF, AVIF or TIFF."},
            "key": {**_IMAGE_KEY, "description": "Default `{id}.{ext}`."},
            "tags": _TAGS_FIELD,
            "alt": _ALT,
            "activate": _ACTIVATE,
        },
        required=["file"],
    ),
    "JsonUpload": _object(
        {
            "data": {
                "type": "string",
                "contentEncoding": "base64",
                "description": "The image, base64-encoded.",
            },
            "key": _IMAGE_KEY,
            "tags": {
                "anyOf": [{"type": "array", "items": _TAG, "maxItems": MAX_TAGS}, _TAGS_FIELD]
            },
            "alt": _ALT,
            "activate": {"anyOf": [{"type": "boolean"}, _ACTIVATE]},
        },
        required=["data"],
    ),
    "Health": _object({"status": {"const": "ok"}}),
    "LibraryStats": {
        **_object(
            {
                "library": {"type": "string"},
                "images": _object(
                    {"pending": _WHOLE, "active": _WHOLE, "deleted": _WHOLE},
                ),
                "original_bytes": _WHOLE,
                "variants": _object({"count": _WHOLE, "bytes": _WHOLE}),
                "renders": _WHOLE,
                "hits": _WHOLE,
                "since": _nullable(_TIME),
            }
        ),
        "description": "Images by status; the bytes of their originals; the variants "
        "stored for live images; renders and hits counted since `since` (null: none yet).",
    },
}


# Parameters

PARAMETERS: dict[str, Schema] = {
    "library": {
        "name": "library",
        "in": "path",
        "required": True,
        "schema": _LIBRARY_NAME,
        "description": "The library's name.",
    },
    "image_id": {
        "name": "image_id",
        "in": "path",
        "required": True,
        "schema": _IMAGE_ID,
        "description": "The image's id (16 of a-z, 2-7). Deleted images are not found.",
    },
    "tag": {"name": "tag", "in": "path", "required": True, "schema": _TAG},
    "version": {
        "name": "version",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "description": "A version number from the image's versions.",
    },
    "sha256": {
        "name": "sha256",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
        "description": "The SHA-256 of an original's bytes, hex (either case).",
    },
    "webhook_id": {
        "name": "webhook_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    },
    "key_id": {
        "name": "key_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "description": "An API key's `id`.",
    },
    "user": {
        "name": USER_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e][\\x20-\\x7e]{0,127}$"},
        "description": "Your application's user on whose behalf the call is made (1-128 "
        "printable ASCII characters): recorded as `created_by` of uploads and versions, "
        "and checked in `creator_only` libraries.",
    },
}


def _query(name: str, schema: Schema, description: str, *, repeated: bool = False) -> Schema:
    parameter: Schema = {"name": name, "in": "query", "required": False, "description": description}
    if repeated:
        parameter |= {
            "schema": {"type": "array", "items": schema},
            "style": "form",
            "explode": True,
        }
    else:
        parameter["schema"] = schema
    return parameter


_LISTING = [
    _query("tag", _TAG, "Images with this tag; repeat for several.", repeated=True),
    _query(
        "tag_match",
        {"type": "string", "enum": ["any", "all"], "default": "any"},
        "With several `tag`s: images with any of them, or with all.",
    ),
    _query(
        "status",
        {"type": "string", "enum": ["pending", "active", "deleted"]},
        "Repeat for several; default pending and active.",
        repeated=True,
    ),
    _query(
        "format", {"type": "string"}, "Source format (jpeg, png, ...); repeatable.", repeated=True
    ),
    _query("created_after", _TIME, "ISO 8601 time with a zone."),
    _query("created_before", _TIME, "ISO 8601 time with a zone."),
    _query("prefix", {"type": "string", "maxLength": MAX_ALT}, "Keys starting with this."),
    _query(
        "q",
        {"type": "string", "maxLength": MAX_ALT},
        "Text in the key or the alt text, case-insensitive.",
    ),
    _query("min_width", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "Pixels."),
    _query("max_width", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "Pixels."),
    _query(
        "sort",
        {
            "type": "string",
            "enum": ["-created_at", "created_at", "key", "-key"],
            "default": "-created_at",
        },
        "Order; `-` is descending.",
    ),
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
        "Images per page.",
    ),
    _query("cursor", {"type": "string"}, "The previous page's `next`, with the same `sort`."),
]

_UPLOAD_QUERY = [
    _query("key", _IMAGE_KEY, "As the form field `key`."),
    _query("tags", {"type": "string"}, "As the form field `tags`."),
    _query("alt", _ALT, "As the form field `alt`."),
    _query("activate", _ACTIVATE, "As the form field `activate`."),
]


def _path(*names: str) -> list[Schema]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


# Responses


_STATUS_TEXT = {
    400: "Bad request",
    401: "No valid API key",
    403: "Not allowed",
    404: "Not found",
    408: "The body stalled",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable image",
    503: "Unavailable; retry after `Retry-After` seconds",
}
_AUTH = {401: ["missing_api_key", "invalid_authorization", "invalid_api_key"]}
_OUTAGE = {503: ["catalog_unavailable"]}


def _errors(*groups: dict[int, list[str]]) -> dict[str, Schema]:
    codes: dict[int, list[str]] = {}
    for group in groups:
        for status, names in group.items():
            codes.setdefault(status, [])
            codes[status] += [n for n in names if n not in codes[status]]
    responses: dict[str, Schema] = {}
    for status in sorted(codes):
        response: Schema = {
            "description": f"{_STATUS_TEXT[status]}: "
            + ", ".join(f"`{code}`" for code in codes[status]),
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        if status == 400:
            # aiohttp's HTTP parser answers what it cannot read before any handler runs.
            response["description"] += (
                "; and, in plain text, a request the HTTP layer refuses (a request line "
                "or a header over 8190 bytes)"
            )
            response["content"]["text/plain"] = {"schema": {"type": "string"}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"$ref": "#/components/headers/Challenge"}}
        if status == 503:
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
        responses[str(status)] = response
    return responses


def _json(status: int, description: str, schema: Schema) -> dict[str, Schema]:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


_NO_CONTENT = {"204": {"description": "Done; no body."}}

# Error groups, by what a handler does.
_LIBRARY = {
    400: ["invalid_library"],
    403: ["wrong_library", "insufficient_role"],
    404: ["library_not_found"],
}
_CALL = {400: ["invalid_user_id"]}  # the image handlers read X-User-Id
_IMAGE = {404: ["image_not_found"]}
_EDIT = {403: ["not_creator"], 503: ["store_unavailable"]}
_JSON_BODY = {
    400: ["invalid_json", "invalid_body"],
    408: ["body_timeout"],
    413: ["body_too_large"],
    415: ["unsupported_media_type"],
}
_UPLOAD = {
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


def _upload_bodies(*, fields: bool) -> Schema:
    """An upload's three forms; a replacement takes the file alone."""
    multipart = _ref("MultipartUpload") if fields else _object({"file": _BINARY})
    as_json = (
        _ref("JsonUpload")
        if fields
        else _object({"data": SCHEMAS["JsonUpload"]["properties"]["data"]})
    )
    return {
        "required": True,
        "description": "A `multipart/form-data` form with a `file` field"
        + (" and optional fields" if fields else " (and nothing else)")
        + "; or the image itself as the body with an `image/*` or "
        "`application/octet-stream` Content-Type, or none; or JSON with the image in base64 as "
        "`data`. The format is detected from the bytes.",
        "content": {
            "multipart/form-data": {
                "schema": multipart,
                "encoding": {"file": {"contentType": "image/*, application/octet-stream"}},
            },
            "image/*": {"schema": _BINARY},
            "application/octet-stream": {"schema": _BINARY},
            "application/json": {"schema": as_json},
        },
    }


def _body(name: str, description: str = "") -> Schema:
    body: Schema = {"required": True, "content": {"application/json": {"schema": _ref(name)}}}
    if description:
        body["description"] = description
    return body


def _op(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[str, Schema],
    *,
    description: str = "",
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    public: bool = False,
) -> Schema:
    operation: Schema = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _role(role: str) -> str:
    return f"Needs a {role} key."


_IMAGE_PATH = _path("library", "image_id", "user")

PATHS: dict[str, dict[str, Schema]] = {
    "/healthz": {
        "get": _op(
            "healthz",
            "meta",
            "Liveness of the admin API",
            _json(200, "Serving.", _ref("Health")),
            public=True,
        )
    },
    DOCUMENT_PATH: {
        "get": _op(
            "openapi",
            "meta",
            "This document",
            _json(200, "The OpenAPI 3.1 document of the admin API.", {"type": "object"}),
            public=True,
        )
    },
    DOCS_PATH: {
        "get": _op(
            "docs",
            "meta",
            "This document as a page",
            {
                "200": {
                    "description": "An HTML page that renders the document.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
            public=True,
        )
    },
    "/v1/libraries": {
        "post": _op(
            "createLibrary",
            "libraries",
            "Create a library",
            _json(201, "The new library.", _ref("Library"))
            | _errors(
                _AUTH,
                _JSON_BODY,
                {
                    400: ["invalid_library", "invalid_settings", "invalid_preset"],
                    403: ["insufficient_role", "wrong_library"],
                    409: ["library_exists"],
                },
                _OUTAGE,
            ),
            description="Needs an admin key for every library.",
            body=_body("LibraryCreate"),
        ),
        "get": _op(
            "listLibraries",
            "libraries",
            "The libraries this key may use",
            _json(
                200, "Every library for a key of every library; else its own.", _ref("LibraryList")
            )
            | _errors(_AUTH, _OUTAGE),
        ),
    },
    "/v1/libraries/{library}": {
        "get": _op(
            "getLibrary",
            "libraries",
            "A library and its settings",
            _json(200, "The library.", _ref("Library")) | _errors(_AUTH, _LIBRARY, _OUTAGE),
            description=_role("read"),
            parameters=_path("library"),
        ),
        "patch": _op(
            "patchLibrary",
            "libraries",
            "Change a library's settings",
            _json(200, "The library, as changed.", _ref("Library"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _JSON_BODY,
                {400: ["invalid_settings", "invalid_preset"]},
                _OUTAGE,
            ),
            description=_role("admin") + " Every process serves the new rules at once.",
            parameters=_path("library"),
            body=_body("LibraryPatch", "At most 64 KiB."),
        ),
        "delete": _op(
            "deleteLibrary",
            "libraries",
            "Delete a library",
            _json(200, "Deleted, with how many images.", _ref("LibraryDeleted"))
            | _errors(_AUTH, _LIBRARY, {503: ["store_unavailable"]}, _OUTAGE),
            description="Needs an admin key for every library. Every image is deleted and "
            "purged, then the keys scoped to the library and its name.",
            parameters=_path("library"),
        ),
    },
    "/v1/libraries/{library}/images": {
        "post": _op(
            "uploadImage",
            "images",
            "Upload an image",
            _json(201, "The new image.", _ref("Image"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                _UPLOAD,
                {403: ["quota_exceeded"], 409: ["key_exists"]},
                _OUTAGE,
            ),
            description=_role("write")
            + " Optional fields come as form fields (multipart), JSON fields, or query "
            "parameters, each once. Identical bytes are stored once.",
            parameters=_path("library", "user") + _UPLOAD_QUERY,
            body=_upload_bodies(fields=True),
        ),
        "get": _op(
            "listImages",
            "images",
            "List and filter images",
            _json(200, "A page of images.", _ref("ImageList"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                {400: ["unknown_parameter", "invalid_parameter", "invalid_cursor"]},
                _OUTAGE,
            ),
            description=_role("read")
            + " Keyset-paginated: pass `next` back as `cursor`. Any other query parameter "
            "is a 400; every one but `tag`, `status` and `format` at most once.",
            parameters=_path("library", "user") + _LISTING,
        ),
    },
    "/v1/libraries/{library}/images/{image_id}": {
        "get": _op(
            "getImage",
            "images",
            "An image",
            _json(200, "The image.", _ref("Image"))
            | _errors(_AUTH, _LIBRARY, _CALL, _IMAGE, _OUTAGE),
            description=_role("read"),
            parameters=_IMAGE_PATH,
        ),
        "patch": _op(
            "patchImage",
            "images",
            "Change an image's key, alt text or tags",
            _json(200, "The image, as changed.", _ref("Image"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                _IMAGE,
                _EDIT,
                _JSON_BODY,
                {
                    400: ["invalid_patch", "invalid_key", "invalid_alt", "invalid_tag"],
                    409: ["key_exists"],
                },
                _OUTAGE,
            ),
            description=_role("write"),
            parameters=_IMAGE_PATH,
            body=_body("ImagePatch", "At most 64 KiB."),
        ),
        "delete": _op(
            "deleteImage",
            "images",
            "Delete an image",
            _NO_CONTENT | _errors(_AUTH, _LIBRARY, _CALL, _IMAGE, _EDIT, _OUTAGE),
            description=_role("write")
            + " Its variants are purged everywhere, and its originals deleted unless "
            "another image has the same bytes.",
            parameters=_IMAGE_PATH,
        ),
    },
    "/v1/libraries/{library}/images/{image_id}/activate": {
        "post": _op(
            "activateImage",
            "images",
            "Serve an image",
            _json(200, "The image, now active.", _ref("Image"))
            | _errors(_AUTH, _LIBRARY, _CALL, _IMAGE, _EDIT, _OUTAGE),
            description=_role("write"),
            parameters=_IMAGE_PATH,
        )
    },
    "/v1/libraries/{library}/images/{image_id}/deactivate": {
        "post": _op(
            "deactivateImage",
            "images",
            "Stop serving an image",
            _json(200, "The image, now pending; what was served of it is purged.", _ref("Image"))
            | _errors(_AUTH, _LIBRARY, _CALL, _IMAGE, _EDIT, _OUTAGE),
            description=_role("write"),
            parameters=_IMAGE_PATH,
        )
    },
    "/v1/libraries/{library}/images/{image_id}/original": {
        "put": _op(
            "replaceOriginal",
            "images",
            "Replace an image's original",
            _json(
                200,
                "The image, its version one higher (unchanged for the same bytes).",
                _ref("Image"),
            )
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                _IMAGE,
                _EDIT,
                _UPLOAD,
                {400: ["unexpected_field"], 403: ["quota_exceeded"], 409: ["image_changed"]},
                _OUTAGE,
            ),
            description=_role("write")
            + " The old version's variants are purged everywhere, its original deleted "
            "unless another image has the same bytes.",
            parameters=_IMAGE_PATH,
            body=_upload_bodies(fields=False),
        )
    },
    "/v1/libraries/{library}/images/{image_id}/html": {
        "get": _op(
            "imageHtml",
            "images",
            "A <picture> element for the image",
            {
                "200": {
                    "description": "AVIF and WebP sources and a JPEG or PNG fallback, each "
                    "at the widths asked for that do not enlarge the picture.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            }
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                _IMAGE,
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
                _OUTAGE,
            ),
            description=_role("read")
            + " URLs are signed when the library requires it (with its newest native or "
            "imgix key), and read as the origin reads them (presets, `widths` snapping).",
            parameters=[
                *_IMAGE_PATH,
                _query(
                    "widths",
                    {"type": "string", "pattern": "^[0-9]+(,[0-9]+)*$"},
                    "Comma-separated, at most 10 widths from 1 to 8192; default "
                    "320,640,960,1280,1920.",
                ),
                _query(
                    "sizes",
                    {"type": "string", "maxLength": 1000},
                    'The `sizes` attribute; default `100vw`. No `<`, `>` or `"`.',
                ),
                _query("preset", {"type": "string"}, "A preset of the library's."),
            ],
        )
    },
    "/v1/libraries/{library}/images/{image_id}/versions": {
        "get": _op(
            "listVersions",
            "versions",
            "An image's versions",
            _json(200, "Every version, and which is current.", _ref("VersionList"))
            | _errors(_AUTH, _LIBRARY, _CALL, _IMAGE, _OUTAGE),
            description=_role("read"),
            parameters=_IMAGE_PATH,
        )
    },
    "/v1/libraries/{library}/images/{image_id}/versions/{version}/restore": {
        "post": _op(
            "restoreVersion",
            "versions",
            "Make an old version current again",
            _json(200, "The image, as a new version with that version's original.", _ref("Image"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                _IMAGE,
                _EDIT,
                {
                    403: ["quota_exceeded"],
                    404: ["version_not_found"],
                    409: ["image_changed"],
                    410: ["version_gone"],
                    503: ["store_unavailable"],
                },
                _OUTAGE,
            ),
            description=_role("write"),
            parameters=[*_IMAGE_PATH, *_path("version")],
        )
    },
    "/v1/libraries/{library}/images/{image_id}/tags/{tag}": {
        "post": _op(
            "addTag",
            "tags",
            "Tag an image",
            _json(200, "The image.", _ref("Image"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                _IMAGE,
                _EDIT,
                {400: [f"invalid_tag (also: more than {MAX_TAGS} tags)"]},
                _OUTAGE,
            ),
            description=_role("write"),
            parameters=[*_IMAGE_PATH, *_path("tag")],
        ),
        "delete": _op(
            "removeTag",
            "tags",
            "Untag an image",
            _json(200, "The image.", _ref("Image"))
            | _errors(_AUTH, _LIBRARY, _CALL, _IMAGE, _EDIT, {400: ["invalid_tag"]}, _OUTAGE),
            description=_role("write"),
            parameters=[*_IMAGE_PATH, *_path("tag")],
        ),
    },
    "/v1/libraries/{library}/tags": {
        "get": _op(
            "listTags",
            "tags",
            "The library's tags",
            _json(200, "Each tag with how many live images have it.", _ref("TagList"))
            | _errors(_AUTH, _LIBRARY, _CALL, _OUTAGE),
            description=_role("read"),
            parameters=_path("library", "user"),
        )
    },
    "/v1/libraries/{library}/stats": {
        "get": _op(
            "libraryStats",
            "libraries",
            "A library's usage",
            _json(200, "Its images, store usage, renders and hits.", _ref("LibraryStats"))
            | _errors(_AUTH, _LIBRARY, _CALL, {503: ["store_unavailable"]}, _OUTAGE),
            description=_role("read")
            + " Measuring the variants lists the store: its cost grows with the library.",
            parameters=_path("library", "user"),
        )
    },
    "/v1/libraries/{library}/hashes/{sha256}": {
        "get": _op(
            "findByHash",
            "images",
            "The images with these bytes",
            _json(200, "The live images of this content.", _ref("HashMatch"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _CALL,
                {400: ["invalid_sha256"], 404: ["hash_not_found"]},
                _OUTAGE,
            ),
            description=_role("read") + " Lets a client skip an upload the library has.",
            parameters=_path("library", "sha256", "user"),
        )
    },
    "/v1/libraries/{library}/webhooks": {
        "post": _op(
            "createWebhook",
            "webhooks",
            "Add a webhook",
            _json(201, "The webhook, with its secret (shown this once).", _ref("NewWebhook"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _JSON_BODY,
                {400: ["invalid_webhook", "too_many_webhooks"]},
                _OUTAGE,
            ),
            description=_role("admin")
            + f" At most {MAX_WEBHOOKS} per library. Deliveries are POSTs of "
            "`{id, event, library, created_at, data}`, signed with "
            "`X-Imgorigin-Signature: sha256=<hex HMAC-SHA256 of the body>`, retried with "
            "backoff.",
            parameters=_path("library"),
            body=_body("WebhookCreate", "At most 8 KiB."),
        ),
        "get": _op(
            "listWebhooks",
            "webhooks",
            "The library's webhooks",
            _json(200, "Its webhooks (without secrets).", _ref("WebhookList"))
            | _errors(_AUTH, _LIBRARY, _OUTAGE),
            description=_role("admin"),
            parameters=_path("library"),
        ),
    },
    "/v1/libraries/{library}/webhooks/{webhook_id}": {
        "delete": _op(
            "deleteWebhook",
            "webhooks",
            "Remove a webhook",
            _NO_CONTENT | _errors(_AUTH, _LIBRARY, {404: ["webhook_not_found"]}, _OUTAGE),
            description=_role("admin"),
            parameters=_path("library", "webhook_id"),
        )
    },
    "/v1/keys": {
        "post": _op(
            "createKey",
            "keys",
            "Make an API key",
            _json(201, "The key, with its secret (shown this once).", _ref("NewApiKey"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _JSON_BODY,
                {400: ["invalid_key_spec", "invalid_expiry"]},
                _OUTAGE,
            ),
            description=_role("admin")
            + " A key scoped to a library makes keys of that library only.",
            body=_body("ApiKeyCreate", "At most 4 KiB."),
        ),
        "get": _op(
            "listKeys",
            "keys",
            "The API keys this key manages",
            _json(200, "Every key, revoked and expired ones too.", _ref("ApiKeyList"))
            | _errors(_AUTH, _LIBRARY, _OUTAGE),
            description=_role("admin"),
            parameters=[
                _query("library", {"type": "string"}, "Only this library's keys."),
            ],
        ),
    },
    "/v1/keys/{key_id}": {
        "delete": _op(
            "revokeKey",
            "keys",
            "Revoke an API key",
            _NO_CONTENT
            | _errors(
                _AUTH,
                {403: ["insufficient_role"], 404: ["key_not_found"]},
                _OUTAGE,
            ),
            description=_role("admin")
            + " Only a live key this key manages: its library's, or any for a key of every "
            "library.",
            parameters=_path("key_id"),
        )
    },
    "/v1/purge": {
        "post": _op(
            "purge",
            "purge",
            "Purge cached variants",
            _json(200, "What was purged, layer by layer.", _ref("PurgeReport"))
            | _errors(
                _AUTH,
                _LIBRARY,
                _JSON_BODY,
                {400: ["invalid_purge"], 503: ["store_unavailable"]},
                _OUTAGE,
            ),
            description="Needs a write key of the library. Deletes the variants from the "
            "blob store, then evicts them from nginx, then the CDNs by tag, then tells the "
            "purge webhook; a layer that fails is reported and the others purged all the "
            "same. Running it again is safe.",
            body=_body("PurgeRequest", "At most 64 KiB."),
        )
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "imgorigin admin API",
        "version": "1",
        "description": "Uploads, activation, replacement, deletion and purges of the images "
        "an imgorigin origin serves, on the admin port (keep it off the public network). "
        'JSON in and out; every error is `{"error": {"code", "message"}}` with a '
        "stable code. Keys have a role, `read` < `write` < `admin`, and belong to one "
        "library or to every library.",
    },
    "tags": [
        {"name": "libraries"},
        {"name": "images"},
        {"name": "versions"},
        {"name": "tags"},
        {"name": "webhooks"},
        {"name": "keys"},
        {"name": "purge"},
        {"name": "meta"},
    ],
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An admin API key: `Authorization: Bearer <key>`. "
                "`Authorization: ApiKey <key>` is accepted as well. Keys are made with "
                "`imgorigin keys create` or POST /v1/keys.",
            }
        },
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "headers": {
            "Challenge": {
                "description": 'Bearer realm="imgorigin"',
                "schema": {"type": "string"},
            },
            "RetryAfter": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "string"},
            },
        },
    },
}


def operations(document: dict[str, Any] = DOCUMENT) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation the document describes."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    }


_DOCUMENT_BODY = json.dumps(DOCUMENT, indent=1).encode()


async def serve_document(request: web.Request) -> web.Response:
    return web.Response(body=_DOCUMENT_BODY, content_type="application/json")


# The docs page: the document fetched and laid out by an inline script, so it works
# without any network but this server's; without script, a plain list of operations.
_SCRIPT = r"""
"use strict";
const root = document.getElementById("doc");
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}
function resolve(doc, node) {
  while (node && node.$ref) {
    node = node.$ref.slice(2).split("/").reduce((o, k) => o[k], doc);
  }
  return node;
}
function refName(node) {
  return node && node.$ref ? node.$ref.split("/").pop() : null;
}
function schemaText(doc, schema, depth, seen) {
  if (!schema) return "";
  const name = refName(schema);
  if (name) {
    if (seen.has(name) || depth > 3) return name;
    seen = new Set(seen).add(name);
    return name + " " + schemaText(doc, resolve(doc, schema), depth, seen);
  }
  const pad = "  ".repeat(depth);
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    if (schema[key]) {
      const parts = schema[key].map((s) => schemaText(doc, s, depth, seen));
      return parts.join(key === "allOf" ? " & " : " | ");
    }
  }
  let text = schema.type || (schema.const !== undefined ? JSON.stringify(schema.const) : "any");
  if (schema.enum) text += " (" + schema.enum.map((v) => JSON.stringify(v)).join(", ") + ")";
  const limits = ["minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
    "pattern", "format", "default", "contentMediaType", "contentEncoding"]
    .filter((k) => schema[k] !== undefined).map((k) => k + " " + schema[k]);
  if (limits.length) text += " [" + limits.join("; ") + "]";
  if (schema.type === "array" && schema.items) {
    text += " of " + schemaText(doc, schema.items, depth, seen);
  }
  if (schema.properties) {
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties).map(([key, value]) =>
      pad + "  " + key + (required.has(key) ? "" : "?") + ": "
      + schemaText(doc, value, depth + 1, seen)
      + (value.description ? "  // " + value.description : ""));
    text += " {\n" + lines.join("\n") + "\n" + pad + "}";
  }
  return text;
}
function section(parent, title) {
  parent.appendChild(el("h4", title));
}
function render(doc) {
  root.textContent = "";
  root.appendChild(el("h1", doc.info.title + " " + doc.info.version));
  root.appendChild(el("p", doc.info.description));
  for (const scheme of Object.values(doc.components.securitySchemes || {})) {
    root.appendChild(el("p", "Authentication: " + scheme.description));
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const box = el("section", undefined, "op");
      box.id = op.operationId;
      const head = el("h2");
      head.appendChild(el("span", method.toUpperCase(), "method " + method));
      head.appendChild(el("code", " " + path));
      head.appendChild(el("span", "  " + op.summary, "summary"));
      box.appendChild(head);
      if (op.description) box.appendChild(el("p", op.description));
      if (op.security && op.security.length === 0) {
        box.appendChild(el("p", "No key needed.", "note"));
      }
      const params = (op.parameters || []).map((p) => resolve(doc, p));
      if (params.length) {
        section(box, "Parameters");
        const table = el("table");
        for (const p of params) {
          const row = el("tr");
          row.appendChild(el("td", p.name + (p.required ? "" : "?")));
          row.appendChild(el("td", p.in));
          row.appendChild(el("td", schemaText(doc, p.schema, 0, new Set())));
          row.appendChild(el("td", p.description || ""));
          table.appendChild(row);
        }
        box.appendChild(table);
      }
      if (op.requestBody) {
        section(box, "Request body");
        if (op.requestBody.description) box.appendChild(el("p", op.requestBody.description));
        for (const [type, media] of Object.entries(op.requestBody.content)) {
          box.appendChild(el("div", type, "media"));
          box.appendChild(el("pre", schemaText(doc, media.schema, 0, new Set())));
        }
      }
      section(box, "Responses");
      for (const [status, response] of Object.entries(op.responses)) {
        const line = el("div", undefined, "response");
        line.appendChild(el("b", status + " "));
        line.appendChild(el("span", response.description));
        box.appendChild(line);
        for (const [type, media] of Object.entries(response.content || {})) {
          box.appendChild(el("pre", type + ": " + schemaText(doc, media.schema, 0, new Set())));
        }
      }
      root.appendChild(box);
    }
  }
  const schemas = el("section", undefined, "op");
  schemas.appendChild(el("h2", "Schemas"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.appendChild(el("h3", name));
    if (schema.description) schemas.appendChild(el("p", schema.description));
    schemas.appendChild(el("pre", schemaText(doc, schema, 0, new Set([name]))));
  }
  root.appendChild(schemas);
}
fetch("openapi.json")
  .then((r) => { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
  .then(render)
  .catch((e) => {
    root.insertBefore(el("p", "Could not load openapi.json: " + e, "note"), root.firstChild);
  });
"""

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; }
code, pre, td { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f5f5f5; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.op { border-top: 1px solid #ccc; padding-top: .5em; margin-top: 1.5em; }
.method { display: inline-block; min-width: 4.5em; font-size: 14px; }
.get { color: #0a6; } .post { color: #06c; } .put, .patch { color: #a60; }
.delete { color: #c22; } .summary { font-weight: normal; font-size: 15px; color: #555; }
.note, .media { color: #666; } td { border-bottom: 1px solid #eee; padding: .2em .6em; }
"""


def _docs_page() -> str:
    fallback = "\n".join(
        f"<li><code>{method} {html.escape(path)}</code> "
        f"{html.escape(PATHS[path][method.lower()]['summary'])}</li>"
        for path in PATHS
        for method in (m.upper() for m in PATHS[path])
    )
    title = html.escape(DOCUMENT["info"]["title"])
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        f'<main id=doc><h1>{title}</h1><p>The <a href="openapi.json">OpenAPI document</a>'
        f"; its operations:</p><ul>\n{fallback}\n</ul></main>\n"
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )


_DOCS_BODY = _docs_page().encode()


async def serve_docs(request: web.Request) -> web.Response:
    return web.Response(body=_DOCS_BODY, content_type="text/html", charset="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get(DOCUMENT_PATH, serve_document)
    app.router.add_get(DOCS_PATH, serve_docs)
