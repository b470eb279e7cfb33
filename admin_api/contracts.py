"""The admin API's contracts: every request and response body as a msgspec Struct,
with its bounds and descriptions. The route table (admin_api/routes.py) names them,
the OpenAPI document is generated from them, request bodies are checked by them, and
responses are encoded from them; a domain value reaches the wire through one `of`.

Request bodies are parsed by the standard library, then converted: msgspec's own JSON
decoder refuses a lone-surrogate escape as malformed JSON, while the field's own code
(`invalid_alt`, `invalid_preset`, ...) is the stable answer to it.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, Struct, UnsetType

from admin_api.fields import MAX_ALT, MAX_TAGS
from catalog import ApiKeyRecord, ImageVersion, Role, Scheme, Status
from catalog import Image as StoredImage
from catalog import Webhook as Hook
from catalog.naming import RESERVED_LIBRARIES
from origin.errors import BadRequest
from origin.pipeline.analysis import COLOUR_SPACES, MAX_TEXT
from origin.pipeline.formats import SOURCE_FORMATS

T = TypeVar("T", bound="Wire")

USER_HEADER = "X-User-Id"
MAX_PAGE = 200
MAX_NAME = 200
MAX_URL = 2000
MAX_PURGE_ITEMS = 1000
MAX_LIFETIME_SECONDS = 3660 * 24 * 3600
EVENTS = (
    "image.uploaded",
    "image.activated",
    "image.replaced",
    "image.deleted",
    "purge.completed",
)


def _with(**schema: Any) -> Meta:
    """JSON Schema the document states and msgspec does not check: keywords it has no
    argument for (`format`, `const`), and rules a named function of ours checks with
    its own code (check_library_name, check_tag, check_image_key, `_expiry`)."""
    return Meta(extra_json_schema=schema)


# Shared field types.
Time = Annotated[str, _with(format="date-time")]
Whole = Annotated[int, Meta(ge=0)]
Positive = Annotated[int, Meta(ge=1)]
LibraryName = Annotated[
    str,
    _with(
        pattern="^[a-z0-9][a-z0-9-]{0,62}$",
        description="1-63 of a-z, 0-9 and '-', starting with a letter or digit; not one of "
        f"the reserved words {', '.join(sorted(RESERVED_LIBRARIES))}.",
    ),
]
ImageId = Annotated[str, Meta(pattern="^[a-z2-7]{16}$")]
Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Tag = Annotated[str, _with(pattern="^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Tags = Annotated[list[Tag], _with(maxItems=MAX_TAGS)]  # after blanks and repeats go
KEY_RULES = (
    "The image's path under its library in public URLs: 1-1024 bytes of "
    "UTF-8, no control characters, `\\`, `?`, `#` or `%`, no empty, `.` or `..` segments "
    "nor segments with outer spaces; its first segment is not `plain` and has no `:`."
)
ImageKey = Annotated[str, _with(minLength=1, description=KEY_RULES)]
Alt = Annotated[
    str,
    Meta(
        max_length=MAX_ALT,
        description=f"Alt text: at most {MAX_ALT} characters, no control characters.",
    ),
]
Format = Literal[SOURCE_FORMATS]  # type: ignore[valid-type]  # the formats we read
Event = Literal[EVENTS]  # type: ignore[valid-type]
Colour = Annotated[str, Meta(pattern="^#[0-9a-f]{6}$")]
Activate = Annotated[
    Literal["true", "false", "1", "0"],
    Meta(
        description="Activate at once (`true`) or start `pending` (`false`); without it, as "
        "the library's `auto_activate` says. Case-insensitive."
    ),
]
TagsField = Annotated[
    str,
    Meta(description=f"Comma-separated tags, at most {MAX_TAGS}; blanks and repeats are dropped."),
]
Binary = Annotated[str, _with(contentMediaType="application/octet-stream")]
Quota = Annotated[int, Meta(ge=1, le=2**62)]
Name = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]


class Wire(Struct, forbid_unknown_fields=True):
    """A body of the admin API: closed (no field it does not list). A request's
    mistakes answer 400 with `error_code`, or a field's own from `field_error_codes`."""

    error_code: ClassVar[str] = "bad_request"
    field_error_codes: ClassVar[Mapping[str, str]] = {}


# Responses


class ErrorBody(Wire):
    code: Annotated[str, Meta(description="Stable, machine-readable.")]
    message: Annotated[str, Meta(description="For people.")]


class Error(Wire):
    """Every error: a stable `code` and a message. Sent with `Cache-Control: no-store`."""

    error: ErrorBody


class Gps(Wire):
    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]
    altitude: float | None


class Analysis(Wire):
    width: Positive
    height: Positive
    format: Format
    bytes: Positive
    has_alpha: bool
    frames: Positive
    colour_space: Annotated[
        Literal[COLOUR_SPACES],  # type: ignore[valid-type]
        Meta(description="Untagged RGB counts as `srgb`; `rgb` is a profile not named here."),
    ]
    icc_profile: Annotated[Name | None, Meta(description="The embedded ICC profile's description.")]
    camera: Annotated[Name | None, Meta(description="EXIF make and model.")]
    lens: Annotated[Name | None, Meta(description="EXIF lens model.")]
    taken_at: Annotated[
        Annotated[
            str,
            Meta(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?([+-]\d{2}:\d{2})?$"),
        ]
        | None,
        Meta(
            description="EXIF DateTimeOriginal, ISO 8601: the camera's local time, with its "
            "offset when it recorded one."
        ),
    ]
    orientation: Annotated[
        Annotated[int, Meta(ge=1, le=8)] | None,
        Meta(description="The EXIF orientation; `width` and `height` are as displayed."),
    ]
    blurhash: str
    dominant_color: Colour
    lqip: Annotated[
        str,
        Meta(
            pattern="^data:image/webp;base64,",
            description="A tiny WebP (32 pixels on its longer side) as a data URI.",
        ),
    ]
    gps: Annotated[
        Gps | UnsetType,
        Meta(
            description="Where it was taken (metres above sea level): only in libraries "
            "with `keep_gps` at upload, and only when the file says."
        ),
    ] = UNSET


class Image(Wire):
    id: ImageId
    library: str
    key: str
    status: Status
    version: Positive
    width: Positive
    height: Positive
    format: Format
    bytes: Positive
    sha256: Sha256
    colour: Annotated[
        Colour | None,
        Meta(
            description="The average colour (`#rrggbb`), for a placeholder; null: "
            "not measured (images uploaded before it was)."
        ),
    ]
    analysis: Annotated[
        Analysis | None,
        Meta(
            description="What the original is, found at upload: `fm=json`'s answer, "
            "with `gps` where kept; null: uploaded before analyses were kept."
        ),
    ]
    alt: str | None
    tags: list[str]
    created_by: str | None
    created_at: Time
    updated_at: Time
    url: Annotated[str, Meta(description="The original on the public origin.")]

    @classmethod
    def of(cls, image: StoredImage, url: str) -> Image:
        return cls(
            id=image.id,
            library=image.library,
            key=image.key,
            status=image.status,
            version=image.version,
            width=image.width,
            height=image.height,
            format=image.format,
            bytes=image.bytes,
            sha256=image.sha256,
            colour=image.colour,
            # As found at upload, encoded as stored (what Analysis describes); `gps`
            # only where the library had keep_gps on then.
            analysis=cast(Analysis, None if image.analysis is None else dict(image.analysis)),
            alt=image.alt,
            tags=list(image.tags),
            created_by=image.created_by,
            created_at=image.created_at.isoformat(),
            updated_at=image.updated_at.isoformat(),
            url=url,
        )


class ImageList(Wire):
    """One page; `next` is the `cursor` of the following page (null: last)."""

    items: list[Image]
    next: str | None


class Version(Wire):
    version: Positive
    sha256: Sha256
    format: Format
    width: Positive
    height: Positive
    bytes: Positive
    created_by: str | None
    created_at: Time

    @classmethod
    def of(cls, version: ImageVersion) -> Version:
        content = version.content
        return cls(
            version=version.version,
            sha256=content.sha256,
            format=content.format,
            width=content.width,
            height=content.height,
            bytes=content.bytes,
            created_by=version.created_by,
            created_at=version.created_at.isoformat(),
        )


class VersionList(Wire):
    current: Positive
    items: list[Version]


class TagCount(Wire):
    tag: str
    count: int


class TagList(Wire):
    items: list[TagCount]


class HashMatch(Wire):
    sha256: Sha256
    images: list[Image]


class LibrarySettings(Wire):
    """A library's settings as the API shows and takes them (catalog.LibrarySettings
    within the API's bounds)."""

    error_code: ClassVar[str] = "invalid_settings"

    require_signed: Annotated[bool, Meta(description="Unsigned URLs answer 403.")] = False
    presets: Annotated[
        dict[Annotated[str, Meta(pattern="^[a-z0-9_-]{1,32}$")], str],
        Meta(
            description="Name -> query string the origin accepts, e.g. "
            '`{"thumb": "w=200&h=200&fit=crop"}`; used as `?p=thumb`.'
        ),
    ] = {}
    presets_only: Annotated[bool, Meta(description="A URL may name a preset, nothing else.")] = (
        False
    )
    ignore_unknown_parameters: bool = False
    widths: Annotated[
        list[Annotated[int, Meta(ge=1, le=8192)]],
        Meta(description="Unsigned URLs' `w` rounds up to one of these."),
    ] = []
    max_quality: Annotated[int, Meta(ge=1, le=100)] = 100
    auto_activate: Annotated[bool, Meta(description="Uploads are active at once.")] = False
    pending_ttl: Annotated[
        int,
        Meta(
            ge=0,
            le=10 * 365 * 24 * 3600,
            description="Seconds an upload never activated stays pending; 0: kept.",
        ),
    ] = 7 * 24 * 3600
    quota_bytes: Quota | None = None
    quota_images: Quota | None = None
    allowed_formats: Annotated[
        list[Format], Meta(description="Source formats uploads may have; empty: every one.")
    ] = []
    max_upload_bytes: Quota | None = None
    creator_only: Annotated[
        bool,
        Meta(description=f"Only the image's creator ({USER_HEADER}) or an admin key changes it."),
    ] = False
    keep_gps: Annotated[
        bool,
        Meta(
            description="Uploads' `analysis` keeps where they were taken (EXIF GPS), "
            "shown by this API only, never by the origin."
        ),
    ] = False


class SettingsPatch(LibrarySettings):
    """The settings to change; the others keep their values."""


class SigningKeyRef(Wire):
    id: str
    scheme: Scheme


class Library(Wire):
    name: str
    created_at: Time
    settings: LibrarySettings
    signing_keys: Annotated[
        list[SigningKeyRef],
        Meta(description="Ids and schemes; secrets are shown only when made (CLI)."),
    ]


class LibraryList(Wire):
    items: list[Library]


class LibraryDeleted(Wire):
    library: str
    images_deleted: Whole


class ApiKey(Wire):
    id: int
    name: str
    role: Role
    library: str | None
    prefix: str
    created_at: Time
    expires_at: Time | None
    revoked_at: Time | None
    last_used_at: Time | None

    @classmethod
    def of(cls, record: ApiKeyRecord, **more: Any) -> Any:
        def moment(value: Any) -> str | None:
            return value.isoformat() if value else None

        return cls(
            id=record.id,
            name=record.name,
            role=record.role,
            library=record.library,
            prefix=record.prefix,
            created_at=record.created_at.isoformat(),
            expires_at=moment(record.expires_at),
            revoked_at=moment(record.revoked_at),
            last_used_at=moment(record.last_used_at),
            **more,
        )


class NewApiKey(ApiKey):
    """A new key; `key` is the secret, shown this once only."""

    key: str


class ApiKeyList(Wire):
    items: list[ApiKey]


class Webhook(Wire):
    id: str
    url: str
    events: list[Event]
    created_at: Time

    @classmethod
    def of(cls, hook: Hook, **more: Any) -> Any:
        events = list(hook.events) or list(EVENTS)
        return cls(
            id=hook.id, url=hook.url, events=events, created_at=hook.created_at.isoformat(), **more
        )


class NewWebhook(Webhook):
    """A new webhook; `secret` (which signs its deliveries) is shown this once only."""

    secret: str


class WebhookList(Wire):
    items: list[Webhook]


class HookReport(Struct):
    ok: bool
    error: str | UnsetType = UNSET


class PurgeReport(Wire):
    """`images`: how many were purged; `missing`: names that matched none;
    `variants`: stored variants deleted."""

    library: str
    images: Whole
    missing: list[str]
    variants: Whole
    hooks: Annotated[
        dict[str, HookReport],
        Meta(
            description="Per outer layer (nginx, cloudflare, fastly, webhook): "
            "`ok` and what it did, or `ok: false` and its `error`."
        ),
    ]
    complete: Annotated[bool, Meta(description="Every layer was purged; false: run it again.")]


class Health(Wire):
    status: Annotated[str, _with(const="ok")]


class ImageCounts(Wire):
    pending: Whole
    active: Whole
    deleted: Whole


class VariantUsage(Wire):
    count: Whole
    bytes: Whole


class LibraryStats(Wire):
    """Images by status; the bytes of their originals; the variants stored for live
    images; renders and hits counted since `since` (null: none yet)."""

    library: str
    images: ImageCounts
    original_bytes: Whole
    variants: VariantUsage
    renders: Whole
    hits: Whole
    since: Time | None


# Requests


class LibraryCreate(Wire):
    error_code: ClassVar[str] = "invalid_library"

    name: LibraryName
    settings: SettingsPatch = msgspec.field(default_factory=SettingsPatch)


class WrappedSettings(Wire):
    settings: SettingsPatch


class ImagePatch(Wire):
    """Any of key (moves the public URL; the old one is purged), alt (null removes
    it) and tags (replaces them)."""

    error_code: ClassVar[str] = "invalid_patch"
    field_error_codes: ClassVar[Mapping[str, str]] = {
        "key": "invalid_key",
        "alt": "invalid_alt",
        "tags": "invalid_tag",
    }

    key: ImageKey | UnsetType = UNSET
    alt: Alt | UnsetType | None = UNSET
    tags: Tags | UnsetType = UNSET


class ApiKeyCreate(Wire):
    """`library` null (or absent): a key for every library, which only such a key may
    make. `expires_at` (with a zone) or `expires_in` (seconds), not both, within ten
    years; neither: the key does not expire."""

    error_code: ClassVar[str] = "invalid_key_spec"
    field_error_codes: ClassVar[Mapping[str, str]] = {
        "expires_at": "invalid_expiry",
        "expires_in": "invalid_expiry",
    }

    role: Role
    name: Annotated[str, Meta(max_length=MAX_NAME)] = ""
    library: LibraryName | None = None
    expires_at: Time | UnsetType | None = UNSET
    expires_in: Annotated[int, Meta(ge=1, le=MAX_LIFETIME_SECONDS)] | UnsetType | None = UNSET


class WebhookCreate(Wire):
    error_code: ClassVar[str] = "invalid_webhook"

    url: Annotated[
        str,
        Meta(
            max_length=MAX_URL,
            description="Absolute http(s) URL without credentials; not a loopback "
            "or private address unless IMGORIGIN_WEBHOOK_PRIVATE_ADDRESSES.",
        ),
        _with(format="uri"),
    ]
    events: Annotated[
        list[Event], Meta(description="The events it hears; none or absent: every one.")
    ] = []


Names = Annotated[list[str], Meta(min_length=1, max_length=MAX_PURGE_ITEMS)]


class PurgeRequest(Wire):
    """The whole library, or some of its images by `images` or `keys` (not both)."""

    error_code: ClassVar[str] = "invalid_purge"

    library: LibraryName
    images: Annotated[Names, Meta(description="Image ids, deleted ones too.")] | UnsetType = UNSET
    keys: (
        Annotated[
            Names,
            Meta(
                description="Keys of live images; nginx is purged under each key "
                "whether or not a live image has it."
            ),
        ]
        | UnsetType
    ) = UNSET


class MultipartUpload(Wire):
    file: Annotated[Binary, Meta(description="The image: JPEG, PNG, WebP, GIF, AVIF or TIFF.")]
    key: Annotated[ImageKey, Meta(description="Default `{id}.{ext}`.")] | UnsetType = UNSET
    tags: TagsField | UnsetType = UNSET
    alt: Alt | UnsetType = UNSET
    activate: Activate | UnsetType = UNSET


class JsonUpload(Wire):
    data: Annotated[bytes, Meta(description="The image, base64-encoded.")]
    key: ImageKey | UnsetType = UNSET
    tags: Tags | TagsField | UnsetType = UNSET
    alt: Alt | UnsetType = UNSET
    activate: bool | Activate | UnsetType = UNSET


class FileOnly(Wire):
    file: Binary


class DataOnly(Wire):
    data: Annotated[bytes, Meta(description="The image, base64-encoded.")]


# Checking requests and answering


def convert(data: Any, model: type[T]) -> T:
    """`data` (parsed JSON) as `model`; 400 with the code of the field at fault."""
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc), code=_code(model, str(exc))) from None


_AT = re.compile(r"`\$([^`]*)`$")
_PATH = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[[^\]]*\]")


def _code(model: type[Wire], message: str) -> str:
    """The code for msgspec's `message`: the field at its path (`... - at `$.a.b[0]``,
    or `... - at `key` in `$.a``) names it, in the Struct that holds that field; an
    unknown or missing field is the fault of the object at the path."""
    at = _AT.search(message)
    owner, field, current = model, None, cast(Any, model)
    for match in _PATH.finditer(at.group(1) if at else ""):
        name = match.group(1)
        if name is None:  # an item of a list or a value of a dict: the same field's
            continue
        struct = _struct(current)
        if struct is None:
            break
        owner, field = struct, name
        current = typing.get_type_hints(struct, include_extras=True)[name]
    if message.startswith("Object ") and _struct(current) is not None:
        return cast(type[Wire], _struct(current)).error_code
    return owner.field_error_codes.get(field or "", owner.error_code)


def _struct(hint: Any) -> type[Wire] | None:
    """The Struct that `hint` is, or holds (through Annotated, unions and lists)."""
    if isinstance(hint, type):
        return hint if issubclass(hint, Wire) else None
    for argument in typing.get_args(hint):
        found = _struct(argument)
        if found is not None:
            return found
    return None


_ENCODER = msgspec.json.Encoder()


def respond(body: Struct, status: int = 200) -> web.Response:
    return web.Response(body=_ENCODER.encode(body), status=status, content_type="application/json")


def to_builtins(body: Struct) -> dict[str, Any]:
    """The body as JSON-ready Python values (for webhooks and the CLI)."""
    return cast(dict[str, Any], msgspec.to_builtins(body))
