"""The whole admin API over real HTTP, on a real PostgreSQL and the filesystem store:
libraries, keys, images (upload, search, edit, versions, activation), library rules,
the pending sweeper, webhooks and purges, who may do what, and that nothing is lost
or left behind when a step fails."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict
from pytest_aiohttp import AiohttpClient

from admin_api.settings import AdminSettings
from admin_api.webhooks import EVENTS, Webhooks
from catalog import Library, LibrarySettings, Role
from imgorigin.app import Services, build_apps
from storage import BlobStore, StoreUnavailable, original_key
from tests import images
from tests.conftest import Tenant, error_of, library_of, new_tenant, upload

# Helpers


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def unique_image(width: int, height: int, fmt: str = "jpeg") -> bytes:
    """A picture of `width` x `height` that no other test uploads: originals are shared
    by content across the session's database, so each test brings its own bytes."""
    marks = secrets.token_bytes(6)
    picture = images.photo(width, height)
    side = min(8, width, height)
    picture = picture.draw_rect(list(marks[:3]), 0, height - side, side, side, fill=True)
    picture = picture.draw_rect(list(marks[3:]), width - side, 0, side, side, fill=True)
    if fmt == "png":
        return bytes(picture.pngsave_buffer())
    if fmt == "webp":
        return bytes(picture.webpsave_buffer(lossless=True))
    assert fmt == "jpeg"
    return bytes(picture.jpegsave_buffer(Q=95))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dimensions(data: bytes) -> tuple[int, int]:
    picture = images.encoded(data)
    return picture.width, picture.height


async def quick_upload(
    admin: TestClient,
    tenant: Tenant,
    data: bytes,
    *,
    role: Role = Role.WRITE,
    user: str | None = None,
    expect: int = 201,
    content_type: str = "image/jpeg",
    **params: str,
) -> dict[str, Any]:
    """The image itself as the body, the fields in the query string."""
    headers = {**tenant.auth(role), "Content-Type": content_type}
    if user is not None:
        headers["X-User-Id"] = user
    response = await admin.post(tenant.images, data=data, params=params, headers=headers)
    body: dict[str, Any] = await response.json()
    assert response.status == expect, body
    return body


async def json_upload(
    admin: TestClient, tenant: Tenant, data: bytes, *, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    """The file in base64 as `data`, the fields beside it."""
    document = {"data": base64.b64encode(data).decode(), **fields}
    response = await admin.post(tenant.images, json=document, headers=tenant.auth())
    body: dict[str, Any] = await response.json()
    assert response.status == expect, body
    return body


async def set_settings(admin: TestClient, tenant: Tenant, **settings: Any) -> dict[str, Any]:
    response = await admin.patch(
        f"/v1/libraries/{tenant.name}", json=settings, headers=tenant.auth(Role.ADMIN)
    )
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def image_rows(services: Services, tenant: Tenant) -> list[tuple[str, str, str]]:
    """(id, key, status) of every row of the library, deleted ones too, straight from SQL."""
    rows = await services.catalog.pool.fetch(
        "SELECT i.id, i.key, i.status FROM images i JOIN libraries l ON l.id = i.library_id"
        " WHERE l.name = $1 ORDER BY i.created_at",
        tenant.name,
    )
    return [(row["id"], row["key"], row["status"]) for row in rows]


async def has_original(services: Services, data_or_sha: bytes | str) -> bool:
    digest = sha(data_or_sha) if isinstance(data_or_sha, bytes) else data_or_sha
    return await services.store.head(original_key(digest)) is not None


async def admin_client(
    services: Services,
    aiohttp_client: AiohttpClient,
    *,
    settings: AdminSettings | None = None,
    **admin_changes: Any,
) -> TestClient:
    """An admin API on the same services, with other admin settings or collaborators
    (a store, the webhooks)."""
    admin_settings = settings or services.settings.admin
    admin = dataclasses.replace(services.admin, settings=admin_settings, **admin_changes)
    changed = dataclasses.replace(
        services,
        settings=dataclasses.replace(services.settings, admin=admin_settings),
        admin=admin,
    )
    return await aiohttp_client(build_apps(changed)[1])


def variants_dir(services: Services, image_id: str) -> Path:
    return services.settings.server.data_dir / "store" / "variants" / image_id


# 1. Libraries


async def test_libraries_crud(
    admin: TestClient, origin: TestClient, services: Services, tenant: Tenant
) -> None:
    root, _ = await services.catalog.api_keys.create(None, Role.ADMIN, "root")
    name = f"{tenant.name}-new"
    response = await admin.post(
        "/v1/libraries",
        json={"name": name, "settings": {"auto_activate": True, "widths": [300, 100]}},
        headers=bearer(root),
    )
    created = await response.json()
    assert response.status == 201, created
    assert created["name"] == name
    assert created["signing_keys"] == []
    assert created["settings"]["auto_activate"] is True
    assert created["settings"]["widths"] == [100, 300]
    assert created["settings"]["pending_ttl"] == 7 * 24 * 3600  # defaults filled in
    datetime.fromisoformat(created["created_at"])

    response = await admin.post("/v1/libraries", json={"name": name}, headers=bearer(root))
    assert response.status == 409 and await error_of(response) == "library_exists"

    response = await admin.get(f"/v1/libraries/{name}", headers=bearer(root))
    assert response.status == 200 and await response.json() == created

    # Every-library keys list every library; a scoped key only its own.
    response = await admin.get("/v1/libraries", headers=bearer(root))
    names = [item["name"] for item in (await response.json())["items"]]
    assert {name, tenant.name} <= set(names) and names == sorted(names)
    response = await admin.get("/v1/libraries", headers=tenant.auth(Role.READ))
    assert [item["name"] for item in (await response.json())["items"]] == [tenant.name]

    # PATCH merges: both spellings, each leaving the other settings alone.
    response = await admin.patch(
        f"/v1/libraries/{name}", json={"settings": {"quota_images": 5}}, headers=bearer(root)
    )
    patched = await response.json()
    assert response.status == 200, patched
    assert patched["settings"]["quota_images"] == 5
    assert patched["settings"]["auto_activate"] is True
    response = await admin.patch(
        f"/v1/libraries/{name}",
        json={"presets": {"thumb": "w=40&h=40&fit=crop"}, "quota_images": None, "widths": []},
        headers=bearer(root),
    )
    patched = await response.json()
    assert response.status == 200, patched
    assert patched["settings"]["presets"] == {"thumb": "w=40&h=40&fit=crop"}
    assert patched["settings"]["quota_images"] is None
    assert patched["settings"]["auto_activate"] is True
    response = await admin.get(f"/v1/libraries/{name}", headers=bearer(root))
    assert (await response.json())["settings"] == patched["settings"]

    # The new rules hold at once: auto_activate and the preset, on the origin too.
    new = Tenant(name, {Role.WRITE: root, Role.ADMIN: root, Role.READ: root})
    first = await quick_upload(admin, new, unique_image(80, 60), key="a/one.jpg")
    assert first["status"] == "active"
    second = await quick_upload(admin, new, unique_image(60, 60), key="a/two.jpg")
    response = await origin.get(f"/{name}/a/one.jpg?p=thumb")
    assert response.status == 200
    assert dimensions(await response.read()) == (40, 40)
    scoped, _ = await services.catalog.api_keys.create(
        await services.catalog.libraries.get(name), Role.ADMIN
    )

    response = await admin.delete(f"/v1/libraries/{name}", headers=bearer(root))
    report = await response.json()
    assert response.status == 200, report
    assert report == {"library": name, "images_deleted": 2}
    for body in (first, second):
        assert not await has_original(services, body["sha256"])
        assert not variants_dir(services, body["id"]).exists()
    assert (await origin.get(f"/{name}/a/one.jpg")).status == 404
    response = await admin.get(f"/v1/libraries/{name}", headers=bearer(root))
    assert response.status == 404 and await error_of(response) == "library_not_found"
    response = await admin.get("/v1/libraries", headers=bearer(scoped))
    assert await error_of(response) == "invalid_api_key"  # its keys went with it
    response = await admin.delete(f"/v1/libraries/{name}", headers=bearer(root))
    assert response.status == 404 and await error_of(response) == "library_not_found"
    # The name is free again.
    response = await admin.post("/v1/libraries", json={"name": name}, headers=bearer(root))
    assert response.status == 201
    assert (await response.json())["settings"]["auto_activate"] is False


# 1. Keys


async def test_keys_create_list_revoke(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    root, root_record = await services.catalog.api_keys.create(None, Role.ADMIN, "root")
    before = datetime.now(UTC)
    response = await admin.post(
        "/v1/keys",
        json={"name": "ci deploy", "role": "write", "library": tenant.name, "expires_in": 3600},
        headers=bearer(root),
    )
    made = await response.json()
    assert response.status == 201, made
    key = made.pop("key")
    assert key.startswith("io_") and len(key) > 40
    assert made["prefix"] == key[:10]
    assert (made["name"], made["role"], made["library"]) == ("ci deploy", "write", tenant.name)
    expires = datetime.fromisoformat(made["expires_at"])
    assert before + timedelta(seconds=3590) < expires < before + timedelta(seconds=3700)
    assert made["revoked_at"] is None and made["last_used_at"] is None

    # The key works with its role and scope, and no further.
    new = Tenant(tenant.name, {Role.WRITE: key})
    await quick_upload(admin, new, unique_image(20, 20))
    response = await admin.patch(
        f"/v1/libraries/{tenant.name}", json={"auto_activate": True}, headers=bearer(key)
    )
    assert response.status == 403 and await error_of(response) == "insufficient_role"

    # Listed (never with the secret), with its use recorded.
    response = await admin.get("/v1/keys", headers=bearer(root))
    listed = (await response.json())["items"]
    assert response.status == 200
    assert all("key" not in item and key not in json.dumps(item) for item in listed)
    mine = next(item for item in listed if item["id"] == made["id"])
    assert mine["last_used_at"] is not None
    assert {k: v for k, v in mine.items() if k != "last_used_at"} == {
        k: v for k, v in made.items() if k != "last_used_at"
    }
    assert root_record.id in {item["id"] for item in listed}
    response = await admin.get("/v1/keys", params={"library": tenant.name}, headers=bearer(root))
    narrowed = (await response.json())["items"]
    assert {item["library"] for item in narrowed} == {tenant.name}
    assert len(narrowed) == 4  # the tenant's three, and this one
    # A library's admin sees its library's keys only, without asking.
    response = await admin.get("/v1/keys", headers=tenant.auth(Role.ADMIN))
    assert {item["id"] for item in (await response.json())["items"]} == {
        item["id"] for item in narrowed
    }

    # A library's admin makes keys for its library, never for every library.
    for body in ({"role": "read"}, {"role": "read", "library": None}):
        response = await admin.post("/v1/keys", json=body, headers=tenant.auth(Role.ADMIN))
        assert response.status == 403 and await error_of(response) == "wrong_library"
    response = await admin.post(
        "/v1/keys",
        json={"role": "read", "library": tenant.name, "expires_at": "2100-01-01T00:00:00+00:00"},
        headers=tenant.auth(Role.ADMIN),
    )
    assert response.status == 400 and await error_of(response) == "invalid_expiry"  # > 10 years
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    response = await admin.post(
        "/v1/keys",
        json={"role": "read", "library": tenant.name, "expires_at": at.isoformat()},
        headers=tenant.auth(Role.ADMIN),
    )
    reader = await response.json()
    assert response.status == 201, reader
    assert datetime.fromisoformat(reader["expires_at"]) == at
    # An every-library key made by an every-library key reaches every library.
    response = await admin.post("/v1/keys", json={"role": "read"}, headers=bearer(root))
    everywhere = await response.json()
    assert response.status == 201 and everywhere["library"] is None
    response = await admin.get(f"/v1/libraries/{tenant.name}", headers=bearer(everywhere["key"]))
    assert response.status == 200
    # ...and a library's admin cannot revoke it.
    response = await admin.delete(f"/v1/keys/{everywhere['id']}", headers=tenant.auth(Role.ADMIN))
    assert response.status == 404 and await error_of(response) == "key_not_found"

    # Revoked: refused at once, listed as revoked, not revoked twice.
    response = await admin.delete(f"/v1/keys/{made['id']}", headers=tenant.auth(Role.ADMIN))
    assert response.status == 204
    response = await admin.get(tenant.images, headers=bearer(key))
    assert response.status == 401 and await error_of(response) == "invalid_api_key"
    response = await admin.get("/v1/keys", headers=bearer(root))
    mine = next(item for item in (await response.json())["items"] if item["id"] == made["id"])
    assert mine["revoked_at"] is not None
    response = await admin.delete(f"/v1/keys/{made['id']}", headers=bearer(root))
    assert response.status == 404 and await error_of(response) == "key_not_found"

    # Expired: a key made for an hour, whose hour is over.
    response = await admin.post(
        "/v1/keys",
        json={"role": "read", "library": tenant.name, "expires_in": 3600},
        headers=bearer(root),
    )
    short = await response.json()
    assert (await admin.get(tenant.images, headers=bearer(short["key"]))).status == 200
    await services.catalog.pool.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", short["id"]
    )
    response = await admin.get(tenant.images, headers=bearer(short["key"]))
    assert response.status == 401 and await error_of(response) == "invalid_api_key"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# 1. Images: uploads, reading, editing, tags, hashes


async def test_three_upload_forms_and_get(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    multipart = unique_image(64, 48)
    raw = unique_image(48, 64, "png")
    as_json = unique_image(32, 32, "webp")
    one = await upload(
        admin, tenant, multipart, key="m/one.jpg", tags="a,b", alt="One", activate="true"
    )
    two = await quick_upload(
        admin, tenant, raw, key="r/two.png", tags="b", content_type="image/png", user="u-1"
    )
    three = await json_upload(
        admin, tenant, as_json, key="j/three.webp", tags=["c", "a"], alt="Three", activate=False
    )
    assert (one["status"], one["format"], one["tags"], one["alt"]) == (
        "active",
        "jpeg",
        ["a", "b"],
        "One",
    )
    assert (two["status"], two["format"], two["created_by"]) == ("pending", "png", "u-1")
    assert (three["status"], three["format"], three["tags"]) == ("pending", "webp", ["a", "c"])
    for body, data in ((one, multipart), (two, raw), (three, as_json)):
        assert body["sha256"] == sha(data) and body["bytes"] == len(data)
        assert body["version"] == 1
        assert await has_original(services, data)
        response = await admin.get(f"{tenant.images}/{body['id']}", headers=tenant.auth(Role.READ))
        assert response.status == 200 and await response.json() == body
    assert sorted(key for _, key, _ in await image_rows(services, tenant)) == [
        "j/three.webp",
        "m/one.jpg",
        "r/two.png",
    ]


async def test_patch_key_alt_tags_and_tag_endpoints(admin: TestClient, tenant: Tenant) -> None:
    body = await quick_upload(admin, tenant, unique_image(30, 30), key="p/x.jpg", tags="a,b")
    url = f"{tenant.images}/{body['id']}"
    response = await admin.patch(
        url, json={"alt": "A caption", "tags": ["z", "y", "z"]}, headers=tenant.auth()
    )
    changed = await response.json()
    assert response.status == 200, changed
    assert (changed["alt"], changed["tags"], changed["key"]) == ("A caption", ["y", "z"], "p/x.jpg")
    assert changed["updated_at"] >= body["updated_at"]
    response = await admin.patch(url, json={"alt": None}, headers=tenant.auth())
    assert (await response.json())["alt"] is None
    response = await admin.patch(url, json={"tags": []}, headers=tenant.auth())
    assert (await response.json())["tags"] == []

    response = await admin.post(f"{url}/tags/featured", headers=tenant.auth())
    assert response.status == 200 and (await response.json())["tags"] == ["featured"]
    response = await admin.post(f"{url}/tags/featured", headers=tenant.auth())  # idempotent
    assert response.status == 200 and (await response.json())["tags"] == ["featured"]
    response = await admin.post(f"{url}/tags/other:1.x", headers=tenant.auth())
    assert (await response.json())["tags"] == ["featured", "other:1.x"]
    response = await admin.delete(f"{url}/tags/featured", headers=tenant.auth())
    assert response.status == 200 and (await response.json())["tags"] == ["other:1.x"]
    response = await admin.delete(f"{url}/tags/never-there", headers=tenant.auth())
    assert response.status == 200 and (await response.json())["tags"] == ["other:1.x"]

    response = await admin.patch(url, json={"key": "p/renamed.jpg"}, headers=tenant.auth())
    renamed = await response.json()
    assert (renamed["key"], renamed["tags"]) == ("p/renamed.jpg", ["other:1.x"])
    assert renamed["url"].endswith(f"/{tenant.name}/p/renamed.jpg")
    response = await admin.get(url, headers=tenant.auth(Role.READ))
    assert await response.json() == renamed


async def test_tag_counts_and_hashes(admin: TestClient, services: Services, tenant: Tenant) -> None:
    shared = unique_image(40, 30)
    first = await quick_upload(admin, tenant, shared, key="h/1.jpg", tags="cat,pet")
    await quick_upload(admin, tenant, shared, key="h/2.jpg", tags="cat")
    gone = await quick_upload(admin, tenant, unique_image(41, 30), key="h/3.jpg", tags="pet,old")
    await quick_upload(admin, tenant, unique_image(42, 30), key="h/4.jpg")
    response = await admin.delete(f"{tenant.images}/{gone['id']}", headers=tenant.auth())
    assert response.status == 204

    response = await admin.get(f"/v1/libraries/{tenant.name}/tags", headers=tenant.auth(Role.READ))
    assert response.status == 200
    assert (await response.json())["items"] == [
        {"tag": "cat", "count": 2},
        {"tag": "pet", "count": 1},
    ]

    hashes = f"/v1/libraries/{tenant.name}/hashes"
    for digest in (first["sha256"], first["sha256"].upper()):
        response = await admin.get(f"{hashes}/{digest}", headers=tenant.auth(Role.READ))
        found = await response.json()
        assert response.status == 200, found
        assert found["sha256"] == first["sha256"]
        assert sorted(image["key"] for image in found["images"]) == ["h/1.jpg", "h/2.jpg"]
    for digest in (gone["sha256"], sha(b"never uploaded")):  # a deleted image's: not live
        response = await admin.get(f"{hashes}/{digest}", headers=tenant.auth(Role.READ))
        assert response.status == 404 and await error_of(response) == "hash_not_found"
    for digest in ("abc", "g" * 64, first["sha256"] + "0"):
        response = await admin.get(f"{hashes}/{digest}", headers=tenant.auth(Role.READ))
        assert response.status == 400 and await error_of(response) == "invalid_sha256"
    # Another library does not see this one's content.
    other = await new_tenant(services)
    response = await admin.get(
        f"/v1/libraries/{other.name}/hashes/{first['sha256']}", headers=other.auth(Role.READ)
    )
    assert response.status == 404


# 1. Listing


_LISTED = [
    # key, format, width, height, tags, alt, active
    ("cats/tom.jpg", "jpeg", 100, 80, ["cat", "pet"], "Tom the cat", True),
    ("cats/felix.png", "png", 200, 100, ["cat"], None, False),
    ("dogs/rex.jpg", "jpeg", 300, 200, ["dog", "pet"], "Good boy", True),
    ("dogs/fido.webp", "webp", 400, 300, ["dog"], None, False),
    ("birds/tweety.jpg", "jpeg", 150, 150, [], "yellow CANARY", True),
    ("misc/x_y.jpg", "jpeg", 60, 60, [], None, True),
    ("misc/xzy.jpg", "jpeg", 70, 70, [], None, False),
    ("misc/gone.jpg", "jpeg", 120, 90, ["pet", "gone"], None, True),  # deleted below
]


@dataclass
class Listing:
    admin: TestClient
    tenant: Tenant
    made: dict[str, dict[str, Any]]  # by key, in upload order

    async def page(self, **params: Any) -> dict[str, Any]:
        response = await self.admin.get(
            self.tenant.images, params=params, headers=self.tenant.auth(Role.READ)
        )
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        return body

    async def keys(self, **params: Any) -> list[str]:
        body = await self.page(limit=200, **params)
        assert body["next"] is None
        return [item["key"] for item in body["items"]]

    async def error(self, **params: Any) -> str:
        response = await self.admin.get(
            self.tenant.images, params=params, headers=self.tenant.auth(Role.READ)
        )
        assert response.status == 400
        return await error_of(response)


@pytest.fixture
async def listing(admin: TestClient, tenant: Tenant) -> Listing:
    made: dict[str, dict[str, Any]] = {}
    for n, (key, fmt, width, height, tags, alt, active) in enumerate(_LISTED):
        data = unique_image(width, height, fmt)
        fields: dict[str, Any] = {"key": key, "activate": str(active).lower()}
        if tags:
            fields["tags"] = ",".join(tags)
        if alt is not None:
            fields["alt"] = alt
        if n % 3 == 0:
            body = await upload(admin, tenant, data, **fields)
        elif n % 3 == 1:
            body = await quick_upload(admin, tenant, data, content_type=f"image/{fmt}", **fields)
        else:
            body = await json_upload(admin, tenant, data, **fields)
        assert (body["width"], body["format"], body["status"]) == (
            width,
            fmt,
            "active" if active else "pending",
        )
        made[key] = body
    gone = made["misc/gone.jpg"]
    response = await admin.delete(f"{tenant.images}/{gone['id']}", headers=tenant.auth())
    assert response.status == 204
    return Listing(admin, tenant, made)


_LIVE = [key for key, *_ in _LISTED if key != "misc/gone.jpg"]  # in upload order


async def test_listing_filters(listing: Listing) -> None:
    newest_first = list(reversed(_LIVE))
    assert await listing.keys() == newest_first
    first = await listing.page()
    assert first["items"][0] == {
        **listing.made["misc/xzy.jpg"],
        "updated_at": first["items"][0]["updated_at"],
    }

    # Tags: any (the default) or all; a deleted image is not counted.
    assert await listing.keys(tag="pet") == ["dogs/rex.jpg", "cats/tom.jpg"]
    assert await listing.keys(tag=["cat", "pet"]) == [
        "dogs/rex.jpg",
        "cats/felix.png",
        "cats/tom.jpg",
    ]
    assert await listing.keys(tag=["cat", "pet"], tag_match="all") == ["cats/tom.jpg"]
    assert await listing.keys(tag=["cat", "dog"], tag_match="all") == []
    assert await listing.keys(tag="gone") == []

    # Status: live by default, deleted on request.
    assert await listing.keys(status="active") == [
        "misc/x_y.jpg",
        "birds/tweety.jpg",
        "dogs/rex.jpg",
        "cats/tom.jpg",
    ]
    assert await listing.keys(status="pending") == [
        "misc/xzy.jpg",
        "dogs/fido.webp",
        "cats/felix.png",
    ]
    assert await listing.keys(status="deleted") == ["misc/gone.jpg"]
    assert len(await listing.keys(status=["deleted", "active", "pending"])) == 8
    assert await listing.keys(status="deleted", tag="pet") == ["misc/gone.jpg"]

    # Format.
    assert await listing.keys(format="png") == ["cats/felix.png"]
    assert await listing.keys(format=["png", "webp"]) == ["dogs/fido.webp", "cats/felix.png"]
    assert await listing.keys(format="gif") == []

    # Creation time: after is inclusive, before exclusive.
    rex = listing.made["dogs/rex.jpg"]["created_at"]
    assert await listing.keys(created_after=rex, sort="created_at") == _LIVE[2:]
    assert await listing.keys(created_before=rex, sort="created_at") == _LIVE[:2]
    assert await listing.keys(created_after=rex, created_before=rex) == []
    zulu = datetime.fromisoformat(rex).astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert await listing.keys(created_after=zulu, sort="created_at") == _LIVE[2:]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await listing.keys(created_after=later) == []
    assert await listing.keys(created_before=later) == newest_first

    # Key prefix, with LIKE's wildcards taken literally.
    assert await listing.keys(prefix="cats/", sort="key") == ["cats/felix.png", "cats/tom.jpg"]
    assert await listing.keys(prefix="misc/x_") == ["misc/x_y.jpg"]
    assert await listing.keys(prefix="misc/x%") == []
    assert await listing.keys(prefix="cats") == ["cats/felix.png", "cats/tom.jpg"]

    # Text in the key or the alt text, in any case.
    assert await listing.keys(q="canary") == ["birds/tweety.jpg"]
    assert await listing.keys(q="REX") == ["dogs/rex.jpg"]
    assert await listing.keys(q="boy") == ["dogs/rex.jpg"]
    assert await listing.keys(q="CAT", sort="key") == ["cats/felix.png", "cats/tom.jpg"]
    assert await listing.keys(q="_") == ["misc/x_y.jpg"]
    assert await listing.keys(q="%") == []

    # Width bounds, inclusive.
    assert await listing.keys(min_width=200, sort="key") == [
        "cats/felix.png",
        "dogs/fido.webp",
        "dogs/rex.jpg",
    ]
    assert await listing.keys(max_width=70, sort="key") == ["misc/x_y.jpg", "misc/xzy.jpg"]
    assert await listing.keys(min_width=100, max_width=200, sort="key") == [
        "birds/tweety.jpg",
        "cats/felix.png",
        "cats/tom.jpg",
    ]

    # Everything at once.
    assert await listing.keys(
        tag="pet", status="active", format="jpeg", prefix="dogs/", q="good", min_width=300
    ) == ["dogs/rex.jpg"]


async def test_listing_sorts_and_pages(listing: Listing, admin: TestClient) -> None:
    by_key = sorted(_LIVE)
    expected = {
        "-created_at": list(reversed(_LIVE)),
        "created_at": _LIVE,
        "key": by_key,
        "-key": list(reversed(by_key)),
    }
    assert await listing.keys() == expected["-created_at"]  # the default
    cursors: dict[str, str] = {}
    for sort, order in expected.items():
        assert await listing.keys(sort=sort) == order, sort
        seen: list[str] = []
        params: dict[str, Any] = {"sort": sort, "limit": 2}
        pages = 0
        while True:
            body = await listing.page(**params)
            pages += 1
            assert 1 <= len(body["items"]) <= 2
            seen += [item["key"] for item in body["items"]]
            if body["next"] is None:
                break
            cursors.setdefault(sort, body["next"])
            params["cursor"] = body["next"]
        assert pages == 4 and seen == order, sort  # 7 images, 2 a page

    # A cursor belongs to its sort.
    for made_for, used_with in (("key", "-key"), ("-created_at", "created_at"), ("key", None)):
        params = {"cursor": cursors[made_for]} | ({"sort": used_with} if used_with else {})
        assert await listing.error(**params) == "invalid_cursor"
    forged = base64.urlsafe_b64encode(json.dumps(["key", 5, "x"]).encode()).decode()
    for cursor in ("not-a-cursor", "", forged, "e30"):
        assert await listing.error(cursor=cursor, sort="key") == "invalid_cursor"

    # Keyset pages: an image added after the first page neither repeats nor shifts them.
    first = await listing.page(limit=3)
    assert [item["key"] for item in first["items"]] == expected["-created_at"][:3]
    await quick_upload(admin, listing.tenant, unique_image(10, 10), key="late/one.jpg")
    rest = await listing.page(limit=200, cursor=first["next"])
    assert [item["key"] for item in rest["items"]] == expected["-created_at"][3:]
    assert (await listing.keys())[0] == "late/one.jpg"


async def test_listing_errors(listing: Listing) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"colour": "red"}, "unknown_parameter"),
        ({"limit": "0"}, "invalid_parameter"),
        ({"limit": "201"}, "invalid_parameter"),
        ({"limit": "ten"}, "invalid_parameter"),
        ({"limit": "-1"}, "invalid_parameter"),
        ({"limit": ["1", "2"]}, "invalid_parameter"),
        ({"sort": "width"}, "invalid_parameter"),
        ({"status": "gone"}, "invalid_parameter"),
        ({"tag_match": "some"}, "invalid_parameter"),
        ({"tag": "not a tag"}, "invalid_parameter"),
        ({"tag": [f"t{i}" for i in range(51)]}, "invalid_parameter"),
        ({"created_after": "yesterday"}, "invalid_parameter"),
        ({"created_before": "2024-01-01T00:00:00"}, "invalid_parameter"),  # no zone
        ({"min_width": "1.5"}, "invalid_parameter"),
        ({"max_width": str(2**31)}, "invalid_parameter"),
        ({"q": ["a", "b"]}, "invalid_parameter"),
        ({"q": "x" * 2001}, "invalid_parameter"),
        ({"prefix": "a\x00"}, "invalid_parameter"),
        ({"cursor": "%%%"}, "invalid_cursor"),
    ]
    for params, code in cases:
        assert await listing.error(**params) == code, params


# 1. Versions


async def test_versions_replace_restore_and_originals(
    admin: TestClient, origin: TestClient, services: Services, tenant: Tenant
) -> None:
    v1, v2, v3 = unique_image(120, 60), unique_image(100, 100), unique_image(90, 120)
    body = await quick_upload(admin, tenant, v1, key="ver/pic.jpg", activate="true", user="ann")
    url = f"{tenant.images}/{body['id']}"
    public = f"/{tenant.name}/ver/pic.jpg?w=60"

    async def served() -> tuple[int, int]:
        response = await origin.get(public)
        assert response.status == 200
        return dimensions(await response.read())

    async def replace(data: bytes, user: str) -> dict[str, Any]:
        response = await admin.put(
            f"{url}/original",
            data=data,
            headers={**tenant.auth(), "Content-Type": "image/jpeg", "X-User-Id": user},
        )
        replaced: dict[str, Any] = await response.json()
        assert response.status == 200, replaced
        return replaced

    assert await served() == (60, 30)
    second = await replace(v2, "bob")
    assert (second["version"], second["sha256"], second["width"]) == (2, sha(v2), 100)
    assert second["created_by"] == "ann"  # the image's creator does not change
    assert await served() == (60, 60)  # the old version's variant was purged
    third = await replace(v3, "cy")
    assert (third["version"], third["sha256"]) == (3, sha(v3))
    assert await served() == (60, 80)
    assert (await replace(v3, "cy"))["version"] == 3  # the same bytes change nothing

    response = await admin.get(f"{url}/versions", headers=tenant.auth(Role.READ))
    versions = await response.json()
    assert response.status == 200, versions
    assert versions["current"] == 3
    assert [
        (v["version"], v["sha256"], v["width"], v["height"], v["created_by"])
        for v in versions["items"]
    ] == [(3, sha(v3), 90, 120, "cy"), (2, sha(v2), 100, 100, "bob"), (1, sha(v1), 120, 60, "ann")]
    assert all(v["format"] == "jpeg" for v in versions["items"])
    assert [v["bytes"] for v in versions["items"]] == [len(v3), len(v2), len(v1)]
    for data in (v1, v2, v3):  # every version's original stays while the image lives
        assert await has_original(services, data)

    response = await admin.post(
        f"{url}/versions/1/restore", headers={**tenant.auth(), "X-User-Id": "dee"}
    )
    restored = await response.json()
    assert response.status == 200, restored
    assert (restored["version"], restored["sha256"]) == (4, sha(v1))
    assert (restored["width"], restored["height"], restored["bytes"]) == (120, 60, len(v1))
    assert await served() == (60, 30)  # v1's pixels again
    response = await admin.get(f"{url}/versions", headers=tenant.auth(Role.READ))
    versions = await response.json()
    assert versions["current"] == 4
    newest = versions["items"][0]
    assert (newest["version"], newest["sha256"], newest["created_by"]) == (
        4,
        sha(v1),
        "dee",
    )
    assert len(versions["items"]) == 4
    # Restoring what is current already changes nothing.
    response = await admin.post(f"{url}/versions/1/restore", headers=tenant.auth())
    assert (await response.json())["version"] == 4
    for number in ("9", "0", "abc", "-1", "99999999999"):
        response = await admin.post(f"{url}/versions/{number}/restore", headers=tenant.auth())
        assert response.status == 404 and await error_of(response) == "version_not_found"
    for data in (v1, v2, v3):
        assert await has_original(services, data)

    response = await admin.delete(url, headers=tenant.auth())
    assert response.status == 204
    for data in (v1, v2, v3):  # every version's original goes with the image
        assert not await has_original(services, data)
    assert (await origin.get(public)).status == 404
    response = await admin.get(f"{url}/versions", headers=tenant.auth(Role.READ))
    assert response.status == 404 and await error_of(response) == "image_not_found"


async def test_restoring_a_version_whose_original_is_gone(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    v1, v2 = unique_image(50, 40), unique_image(40, 50)
    body = await quick_upload(admin, tenant, v1, key="gone/v.jpg")
    url = f"{tenant.images}/{body['id']}"
    response = await admin.put(
        f"{url}/original", data=v2, headers={**tenant.auth(), "Content-Type": "image/jpeg"}
    )
    assert response.status == 200
    await services.store.delete(original_key(sha(v1)))  # lost behind the catalog's back
    response = await admin.post(f"{url}/versions/1/restore", headers=tenant.auth())
    assert response.status == 410 and await error_of(response) == "version_gone"
    response = await admin.get(url, headers=tenant.auth())
    assert (await response.json())["version"] == 2


# 2. Who may do what


CREDENTIALS = [
    "none",
    "unknown",
    "revoked",
    "expired",
    "read",
    "write",
    "admin",
    "other_admin",  # an admin key of another library
    "global_read",  # keys for every library
    "global_admin",
]
_KEYED = CREDENTIALS[4:]
OK, ROLE, WRONG, NO_KEY = "ok", "insufficient_role", "wrong_library", "key_not_found"
# What each keyed credential gets, per endpoint family, in _KEYED's order.
MATRIX: dict[str, tuple[str, str, str, str, str, str]] = {
    #                    read   write  admin  other  g_read g_admin
    "libraries.create": (ROLE, ROLE, WRONG, WRONG, ROLE, OK),
    "libraries.list": (OK, OK, OK, OK, OK, OK),
    "libraries.get": (OK, OK, OK, WRONG, OK, OK),
    "libraries.patch": (ROLE, ROLE, OK, WRONG, ROLE, OK),
    "libraries.delete": (ROLE, ROLE, WRONG, WRONG, ROLE, OK),
    "keys.create": (ROLE, ROLE, OK, WRONG, ROLE, OK),
    "keys.list": (ROLE, ROLE, OK, WRONG, ROLE, OK),
    "keys.revoke": (ROLE, ROLE, OK, NO_KEY, ROLE, OK),
    "images.read": (OK, OK, OK, WRONG, OK, OK),
    "images.write": (ROLE, OK, OK, WRONG, ROLE, OK),
    "webhooks": (ROLE, ROLE, OK, WRONG, ROLE, OK),
    "purge": (ROLE, OK, OK, WRONG, ROLE, OK),
}
_STATUS = {ROLE: 403, WRONG: 403, NO_KEY: 404}


def expected(family: str, credential: str) -> tuple[int, str]:
    """(status, error code), or (0, "ok") for success."""
    if credential == "none":
        return 401, "missing_api_key"
    if credential in ("unknown", "revoked", "expired"):
        return 401, "invalid_api_key"
    outcome = MATRIX[family][_KEYED.index(credential)]
    return (0, OK) if outcome == OK else (_STATUS[outcome], outcome)


@dataclass
class Outcome:
    what: str
    status: int
    ok_status: int
    code: str | None
    body: Any


@dataclass
class Matrix:
    admin: TestClient
    services: Services
    tenant: Tenant
    library: Library
    other: Library
    keys: dict[str, str]
    image: dict[str, Any]
    victim_key: int
    webhook: str | None = None

    def url(self, tail: str = "") -> str:
        return f"/v1/libraries/{self.tenant.name}{tail}"

    @property
    def image_url(self) -> str:
        return f"{self.tenant.images}/{self.image['id']}"

    async def call(
        self,
        method: str,
        path: str,
        ok_status: int,
        headers: dict[str, str],
        **kwargs: Any,
    ) -> Outcome:
        response = await self.admin.request(method, path, headers=headers, **kwargs)
        code = await error_of(response) if response.status >= 400 else None
        if response.status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json() if response.content_type == "application/json" else None
        return Outcome(f"{method} {path}", response.status, ok_status, code, body)

    async def snapshot(self) -> dict[str, Any]:
        """Everything a refused call might have changed, as an every-library admin sees it."""
        root = bearer(self.keys["global_admin"])

        async def get(path: str, **params: Any) -> Any:
            response = await self.admin.get(path, params=params, headers=root)
            assert response.status == 200, path
            return await response.json()

        keys = await get("/v1/keys", library=self.tenant.name)
        return {
            "made": await self.services.catalog.libraries.get(f"{self.tenant.name}-made"),
            "key_count": await self.services.catalog.pool.fetchval("SELECT count(*) FROM api_keys"),
            "library": await get(self.url()),
            "images": await get(self.tenant.images, status=["pending", "active", "deleted"]),
            "versions": await get(f"{self.image_url}/versions"),
            "keys": [  # using a key records when: not a change
                {k: v for k, v in item.items() if k != "last_used_at"} for item in keys["items"]
            ],
            "webhooks": await get(self.url("/webhooks")),
            "original": await has_original(self.services, self.image["sha256"]),
            "variants": sorted(
                str(p) for p in variants_dir(self.services, self.image["id"]).rglob("*")
            ),
        }


Family = Callable[[Matrix, dict[str, str], str], Awaitable[list[Outcome]]]


async def _libraries_create(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    body = {"name": f"{m.tenant.name}-made", "settings": {"auto_activate": True}}
    return [await m.call("POST", "/v1/libraries", 201, h, json=body)]


async def _libraries_list(m: Matrix, h: dict[str, str], credential: str) -> list[Outcome]:
    outcome = await m.call("GET", "/v1/libraries", 200, h)
    if outcome.status == 200:
        names = [item["name"] for item in outcome.body["items"]]
        if credential == "other_admin":
            assert names == [m.other.name]
        elif credential.startswith("global"):
            assert {m.tenant.name, m.other.name} <= set(names)
        else:
            assert names == [m.tenant.name]
    return [outcome]


async def _libraries_get(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    return [await m.call("GET", m.url(), 200, h)]


async def _libraries_patch(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    outcome = await m.call("PATCH", m.url(), 200, h, json={"settings": {"max_quality": 90}})
    if outcome.status == 200:
        assert outcome.body["settings"]["max_quality"] == 90
    return [outcome]


async def _libraries_delete(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    outcome = await m.call("DELETE", m.url(), 200, h)
    if outcome.status == 200:
        assert outcome.body == {"library": m.tenant.name, "images_deleted": 1}
        assert await m.services.catalog.libraries.get(m.tenant.name) is None
    return [outcome]


async def _keys_create(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    body = {"name": "made", "role": "read", "library": m.tenant.name}
    outcome = await m.call("POST", "/v1/keys", 201, h, json=body)
    if outcome.status == 201:
        response = await m.admin.get(m.url(), headers=bearer(outcome.body["key"]))
        assert response.status == 200
    return [outcome]


async def _keys_list(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    outcome = await m.call("GET", "/v1/keys", 200, h, params={"library": m.tenant.name})
    if outcome.status == 200:
        assert m.victim_key in {item["id"] for item in outcome.body["items"]}
        assert {item["library"] for item in outcome.body["items"]} == {m.tenant.name}
    return [outcome]


async def _keys_revoke(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    return [await m.call("DELETE", f"/v1/keys/{m.victim_key}", 204, h)]


async def _images_read(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    outcomes = [
        await m.call("GET", m.tenant.images, 200, h),
        await m.call("GET", m.image_url, 200, h),
        await m.call("GET", f"{m.image_url}/versions", 200, h),
        await m.call("GET", m.url("/tags"), 200, h),
        await m.call("GET", m.url(f"/hashes/{m.image['sha256']}"), 200, h),
    ]
    if outcomes[1].status == 200:
        assert outcomes[0].body["items"] == [outcomes[1].body]
        assert outcomes[1].body["id"] == m.image["id"]
    return outcomes


async def _images_write(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    raw = {**h, "Content-Type": "image/jpeg"}
    url = m.image_url
    return [
        await m.call("POST", m.tenant.images, 201, raw, data=unique_image(24, 24)),
        await m.call("PATCH", url, 200, h, json={"alt": "changed", "tags": ["x"]}),
        await m.call("POST", f"{url}/tags/y", 200, h),
        await m.call("DELETE", f"{url}/tags/y", 200, h),
        await m.call("POST", f"{url}/deactivate", 200, h),
        await m.call("POST", f"{url}/activate", 200, h),
        await m.call("PUT", f"{url}/original", 200, raw, data=unique_image(26, 24)),
        await m.call("POST", f"{url}/versions/1/restore", 200, h),
        await m.call("DELETE", url, 204, h),
    ]


async def _webhooks(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    # Public URLs that never resolve, in a library whose images do nothing meanwhile.
    body = {"url": "https://hooks.example.invalid/new", "events": ["image.deleted"]}
    return [
        await m.call("POST", m.url("/webhooks"), 201, h, json=body),
        await m.call("GET", m.url("/webhooks"), 200, h),
        await m.call("DELETE", m.url(f"/webhooks/{m.webhook}"), 204, h),
    ]


async def _purge(m: Matrix, h: dict[str, str], _: str) -> list[Outcome]:
    body = {"library": m.tenant.name, "images": [m.image["id"]]}
    outcome = await m.call("POST", "/v1/purge", 200, h, json=body)
    if outcome.status == 200:
        assert outcome.body["images"] == 1 and outcome.body["missing"] == []
        assert not variants_dir(m.services, m.image["id"]).exists()
    return [outcome]


FAMILIES: dict[str, Family] = {
    "libraries.create": _libraries_create,
    "libraries.list": _libraries_list,
    "libraries.get": _libraries_get,
    "libraries.patch": _libraries_patch,
    "libraries.delete": _libraries_delete,
    "keys.create": _keys_create,
    "keys.list": _keys_list,
    "keys.revoke": _keys_revoke,
    "images.read": _images_read,
    "images.write": _images_write,
    "webhooks": _webhooks,
    "purge": _purge,
}
assert set(FAMILIES) == set(MATRIX)


async def matrix_context(
    admin: TestClient, origin: TestClient, services: Services, tenant: Tenant, family: str
) -> Matrix:
    catalog = services.catalog
    library = await library_of(services, tenant)
    other = await catalog.libraries.ensure(f"{tenant.name}-other")
    keys = {
        "read": tenant.keys[Role.READ],
        "write": tenant.keys[Role.WRITE],
        "admin": tenant.keys[Role.ADMIN],
        "unknown": "io_" + secrets.token_urlsafe(32),
    }
    keys["other_admin"], _ = await catalog.api_keys.create(other, Role.ADMIN)
    keys["global_read"], _ = await catalog.api_keys.create(None, Role.READ)
    keys["global_admin"], _ = await catalog.api_keys.create(None, Role.ADMIN)
    keys["revoked"], revoked = await catalog.api_keys.create(None, Role.ADMIN)
    assert await catalog.api_keys.revoke(revoked.id)
    keys["expired"], _ = await catalog.api_keys.create(
        None, Role.ADMIN, expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    image = await quick_upload(admin, tenant, unique_image(32, 24), activate="true", tags="t")
    response = await origin.get(f"/{tenant.name}/{image['key']}?w=10")  # a variant to purge
    assert response.status == 200
    _, victim = await catalog.api_keys.create(library, Role.READ, "victim")
    m = Matrix(admin, services, tenant, library, other, keys, image, victim.id)
    if family == "webhooks":
        hook = await catalog.webhooks.create(
            library, "https://hooks.example.invalid/old", ["purge.completed"], 20
        )
        m.webhook = hook.id
    return m


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("family", list(MATRIX))
async def test_auth_matrix(
    admin: TestClient,
    origin: TestClient,
    services: Services,
    tenant: Tenant,
    family: str,
    credential: str,
) -> None:
    m = await matrix_context(admin, origin, services, tenant, family)
    headers = {} if credential == "none" else bearer(m.keys[credential])
    status, code = expected(family, credential)
    before = await m.snapshot() if code != OK else None
    outcomes = await FAMILIES[family](m, headers, credential)
    assert outcomes
    for outcome in outcomes:
        if code == OK:
            assert outcome.status == outcome.ok_status, (outcome.what, outcome.body)
        else:
            assert (outcome.status, outcome.code) == (status, code), (outcome.what, outcome.body)
    if before is not None:  # a refused call changed nothing
        assert await m.snapshot() == before


# 3. Errors and their stable codes


async def expect_error(
    admin: TestClient, method: str, path: str, status: int, code: str, **kwargs: Any
) -> None:
    response = await admin.request(method, path, **kwargs)
    assert response.status == status, (method, path, code, await response.text())
    assert await error_of(response) == code, (method, path, kwargs)


JSON = {"Content-Type": "application/json"}

# Bodies of POST /v1/libraries, and the code each is refused with.
_BAD_LIBRARIES: list[tuple[Any, str]] = [
    ([], "invalid_json"),
    ({"name": "{good}", "colour": 1}, "invalid_library"),
    ({"name": "{good}", "settings": []}, "invalid_library"),
    ({"name": "Bad_Name"}, "invalid_library"),
    ({"name": "v1"}, "invalid_library"),  # reserved
    ({"name": "-x"}, "invalid_library"),
    ({"name": 5}, "invalid_library"),
    ({}, "invalid_library"),
    ({"name": "{good}", "settings": {"nope": 1}}, "invalid_settings"),
    ({"name": "{good}", "settings": {"presets": {"t": "w=abc"}}}, "invalid_preset"),
    ({"name": "{tenant}"}, "library_exists"),
]
# Bodies of PATCH /v1/libraries/{library}.
_BAD_SETTINGS: list[tuple[Any, str]] = [
    ({"auto_activate": "yes"}, "invalid_settings"),
    ({"creator_only": 1}, "invalid_settings"),
    ({"pending_ttl": -1}, "invalid_settings"),
    ({"pending_ttl": 1.5}, "invalid_settings"),
    ({"quota_images": 0}, "invalid_settings"),
    ({"quota_bytes": 1.5}, "invalid_settings"),
    ({"max_upload_bytes": "big"}, "invalid_settings"),
    ({"allowed_formats": ["zzz"]}, "invalid_settings"),
    ({"allowed_formats": "jpeg"}, "invalid_settings"),
    ({"widths": [0]}, "invalid_settings"),
    ({"presets": {"t": "w=abc"}}, "invalid_preset"),
    ({"presets": {"t": "p=other"}}, "invalid_preset"),
    ({"settings": {"x": 1}, "y": 2}, "invalid_settings"),
    ([1], "invalid_json"),
]
# Bodies of POST /v1/keys.
_BAD_KEYS: list[tuple[Any, str]] = [
    ({"role": "read", "colour": 1}, "invalid_key_spec"),
    ({"role": "root"}, "invalid_key_spec"),
    ({}, "invalid_key_spec"),
    ({"role": "read", "name": 5}, "invalid_key_spec"),
    ({"role": "read", "name": "a\nb"}, "invalid_key_spec"),
    ({"role": "read", "name": "n" * 201}, "invalid_key_spec"),
    ({"role": "read", "library": 5}, "invalid_key_spec"),
    ({"role": "read", "library": "no-such-library"}, "library_not_found"),
    ({"role": "read", "expires_in": 0}, "invalid_expiry"),
    ({"role": "read", "expires_in": "60"}, "invalid_expiry"),
    ({"role": "read", "expires_in": 10**10}, "invalid_expiry"),
    ({"role": "read", "expires_in": 60, "expires_at": None}, "invalid_expiry"),
    ({"role": "read", "expires_at": "2020-01-01T00:00:00Z"}, "invalid_expiry"),  # past
    ({"role": "read", "expires_at": "2030-01-01T00:00:00"}, "invalid_expiry"),  # no zone
    ({"role": "read", "expires_at": "soon"}, "invalid_expiry"),
    ({"role": "read", "expires_at": 5}, "invalid_expiry"),
    ([], "invalid_json"),
]
# Bodies of POST /v1/purge.
_BAD_PURGES: list[tuple[Any, str]] = [
    ({}, "invalid_purge"),
    ({"library": 5}, "invalid_purge"),
    ({"library": "{tenant}", "images": []}, "invalid_purge"),
    ({"library": "{tenant}", "images": "x"}, "invalid_purge"),
    ({"library": "{tenant}", "images": ["x"] * 1001}, "invalid_purge"),
    ({"library": "{tenant}", "images": ["a"], "keys": ["b"]}, "invalid_purge"),
    ({"library": "{tenant}", "tags": ["a"]}, "invalid_purge"),
    ({"library": "{tenant}", "keys": [1]}, "invalid_purge"),
    ({"library": "no-such-library"}, "library_not_found"),
    ({"library": "No_Such"}, "invalid_library"),
]
_STATUS_OF = {
    "invalid_json": 400,
    "library_exists": 409,
    "library_not_found": 404,
}


def _named(value: Any, names: dict[str, str]) -> Any:
    """`value` with "{name}" strings replaced."""
    if isinstance(value, str):
        return names.get(value.strip("{}"), value) if value.startswith("{") else value
    if isinstance(value, list):
        return [_named(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _named(v, names) for k, v in value.items()}
    return value


async def test_library_key_and_purge_request_errors(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    root, _ = await services.catalog.api_keys.create(None, Role.ADMIN)
    auth = bearer(root)
    lib = f"/v1/libraries/{tenant.name}"
    names = {"good": f"{tenant.name}-ok", "tenant": tenant.name}
    for path, method, table in (
        ("/v1/libraries", "POST", _BAD_LIBRARIES),
        (lib, "PATCH", _BAD_SETTINGS),
        ("/v1/keys", "POST", _BAD_KEYS),
        ("/v1/purge", "POST", _BAD_PURGES),
    ):
        for body, code in table:
            status = _STATUS_OF.get(code, 400)
            document = _named(body, names)
            await expect_error(admin, method, path, status, code, json=document, headers=auth)
    for path, method in (("/v1/libraries", "POST"), (lib, "PATCH"), ("/v1/keys", "POST")):
        for raw in (b"{", b"\xff\xfe", b""):
            await expect_error(
                admin, method, path, 400, "invalid_json", data=raw, headers={**auth, **JSON}
            )
        await expect_error(
            admin, method, path, 415, "unsupported_media_type", data=b"name=x", headers=auth
        )
    big = b'{"a": "' + b"x" * 70000 + b'"}'
    await expect_error(
        admin, "PATCH", lib, 413, "body_too_large", data=big, headers={**auth, **JSON}
    )
    for path, method, status, code in (
        ("/v1/libraries/no-such-library", "GET", 404, "library_not_found"),
        ("/v1/libraries/no-such-library", "PATCH", 404, "library_not_found"),
        ("/v1/libraries/No_Such", "GET", 400, "invalid_library"),
        ("/v1/keys/abc", "DELETE", 404, "key_not_found"),
        ("/v1/keys/999999999999", "DELETE", 404, "key_not_found"),
        ("/v1/keys/99999999999999999999999", "DELETE", 404, "key_not_found"),
        ("/v1/keys?library=no-such-library", "GET", 404, "library_not_found"),
    ):
        await expect_error(admin, method, path, status, code, json={}, headers=auth)
    # A scoped key cannot probe for other libraries: 403 whether or not they exist.
    for name in ("no-such-library", f"{tenant.name}-ok"):
        await expect_error(
            admin, "GET", f"/v1/libraries/{name}", 403, "wrong_library", headers=tenant.auth()
        )
    assert await services.catalog.libraries.get(names["good"]) is None
    response = await admin.get(lib, headers=auth)  # the refused PATCHes changed nothing
    assert (await response.json())["settings"] == LibrarySettings().to_json()


# PATCH bodies for an image, and the code each is refused with.
_BAD_PATCHES: list[tuple[Any, str]] = [
    ({}, "invalid_patch"),
    ({"colour": "red"}, "invalid_patch"),
    ({"alt": "x", "status": "active"}, "invalid_patch"),
    (["key"], "invalid_json"),
    ({"key": 5}, "invalid_key"),
    ({"key": ""}, "invalid_key"),
    ({"key": "../x.jpg"}, "invalid_key"),
    ({"key": "a//b.jpg"}, "invalid_key"),
    ({"key": "a?b.jpg"}, "invalid_key"),
    ({"key": "a%20b.jpg"}, "invalid_key"),
    ({"key": "plain/x.jpg"}, "invalid_key"),
    ({"key": "\ud800.jpg"}, "invalid_key"),
    ({"key": "k" * 1025}, "invalid_key"),
    ({"tags": "a,b"}, "invalid_tag"),
    ({"tags": [1]}, "invalid_tag"),
    ({"tags": ["not ok"]}, "invalid_tag"),
    ({"tags": ["t" * 65]}, "invalid_tag"),
    ({"tags": [f"t{i}" for i in range(51)]}, "invalid_tag"),
    ({"alt": 5}, "invalid_alt"),
    ({"alt": "a\x00b"}, "invalid_alt"),
    ({"alt": "a" * 2001}, "invalid_alt"),
    ({"key": "e/two.jpg"}, "key_exists"),
]


async def test_image_request_errors(admin: TestClient, services: Services, tenant: Tenant) -> None:
    body = await quick_upload(admin, tenant, unique_image(30, 20), key="e/one.jpg", tags="a")
    other = await quick_upload(admin, tenant, unique_image(31, 20), key="e/two.jpg")
    url = f"{tenant.images}/{body['id']}"
    nothing = f"{tenant.images}/aaaaaaaaaaaaaaaa"
    auth = tenant.auth()
    for document, code in _BAD_PATCHES:
        status = 409 if code == "key_exists" else 400
        await expect_error(admin, "PATCH", url, status, code, json=document, headers=auth)
    await expect_error(
        admin, "PATCH", url, 400, "invalid_json", data=b"{", headers={**auth, **JSON}
    )
    await expect_error(
        admin, "PATCH", url, 415, "unsupported_media_type", data=b"alt=x", headers=auth
    )
    raw = {**auth, "Content-Type": "image/jpeg"}
    cases: list[tuple[str, str, int, str, dict[str, Any]]] = [
        ("PATCH", nothing, 404, "image_not_found", {"json": {"alt": "x"}}),
        ("POST", f"{url}/tags/not%20ok", 400, "invalid_tag", {}),
        ("POST", f"{url}/tags/{'t' * 65}", 400, "invalid_tag", {}),
        ("DELETE", f"{url}/tags/-x", 400, "invalid_tag", {}),
        ("POST", f"{nothing}/tags/x", 404, "image_not_found", {}),
        ("POST", f"{nothing}/activate", 404, "image_not_found", {}),
        ("POST", f"{nothing}/deactivate", 404, "image_not_found", {}),
        ("GET", f"{nothing}/versions", 404, "image_not_found", {}),
        ("POST", f"{nothing}/versions/1/restore", 404, "image_not_found", {}),
        ("PUT", f"{nothing}/original", 404, "image_not_found", {"data": b"x", "headers": raw}),
        (
            "PUT",
            f"{url}/original",
            400,
            "unexpected_field",
            {"data": unique_image(10, 10), "params": {"key": "x.jpg"}, "headers": raw},
        ),
        ("PUT", f"{url}/original", 415, "unsupported_image", {"data": b"nope", "headers": raw}),
        ("PUT", f"{url}/original", 400, "empty_upload", {"data": b"", "headers": raw}),
        ("GET", url, 400, "invalid_user_id", {"headers": {**auth, "X-User-Id": ""}}),
        ("GET", url, 400, "invalid_user_id", {"headers": {**auth, "X-User-Id": "u" * 129}}),
        (
            "PATCH",
            url,
            400,
            "invalid_user_id",
            {"json": {"alt": "x"}, "headers": {**auth, "X-User-Id": "u" * 129}},
        ),
    ]
    for method, path, status, code, kwargs in cases:
        kwargs.setdefault("headers", auth)
        await expect_error(admin, method, path, status, code, **kwargs)
    response = await admin.get(url, headers=auth)
    assert await response.json() == body  # nothing above changed it
    response = await admin.get(f"{tenant.images}/{other['id']}", headers=auth)
    assert await response.json() == other

    # At most 50 tags, by PATCH and by the tag endpoint.
    fifty = [f"t{i}" for i in range(50)]
    response = await admin.patch(url, json={"tags": fifty}, headers=auth)
    assert response.status == 200 and len((await response.json())["tags"]) == 50
    await expect_error(admin, "POST", f"{url}/tags/one-more", 400, "invalid_tag", headers=auth)
    response = await admin.post(f"{url}/tags/t7", headers=auth)  # has it already: fine
    assert response.status == 200
    # X-User-Id is printable ASCII, up to 128.
    response = await admin.get(url, headers={**auth, "X-User-Id": "u" * 128})
    assert response.status == 200
    assert len(await image_rows(services, tenant)) == 2


async def test_upload_request_errors(admin: TestClient, services: Services, tenant: Tenant) -> None:
    data = unique_image(40, 30)
    encoded = base64.b64encode(data).decode()
    json_cases: list[tuple[Any, str]] = [
        ({"data": "not base64!!"}, "invalid_base64"),
        ({"data": encoded[:-3]}, "invalid_base64"),  # broken padding
        ({"data": 5}, "missing_file"),
        ({"key": "x.jpg"}, "missing_file"),
        ({"data": encoded, "colour": "red"}, "unknown_field"),
        ({"data": encoded, "tags": 5}, "invalid_tag"),
        ({"data": encoded, "tags": ["ok", "not ok"]}, "invalid_tag"),
        ({"data": encoded, "tags": [f"t{i}" for i in range(51)]}, "invalid_tag"),
        ({"data": encoded, "key": 5}, "invalid_key"),
        ({"data": encoded, "key": "a/../b.jpg"}, "invalid_key"),
        ({"data": encoded, "alt": ["x"]}, "invalid_alt"),
        ({"data": encoded, "activate": "maybe"}, "invalid_activate"),
        ({"data": encoded, "activate": 1}, "invalid_activate"),
        ([encoded], "invalid_json"),
    ]
    for document, code in json_cases:
        response = await admin.post(tenant.images, json=document, headers=tenant.auth())
        assert response.status == 400, (code, await response.text())
        assert await error_of(response) == code, document if code != "invalid_json" else code
    response = await admin.post(
        tenant.images, data=b"{nope", headers={**tenant.auth(), "Content-Type": "application/json"}
    )
    assert response.status == 400 and await error_of(response) == "invalid_json"
    response = await admin.post(
        tenant.images,
        data=data,
        params={"tags": ",".join(f"t{i}" for i in range(51))},
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 400 and await error_of(response) == "invalid_tag"
    response = await admin.post(
        tenant.images,
        data=data,
        headers={**tenant.auth(), "Content-Type": "image/jpeg", "X-User-Id": ""},
    )
    assert response.status == 400 and await error_of(response) == "invalid_user_id"
    assert await image_rows(services, tenant) == []
    assert not await has_original(services, data)


async def test_library_upload_rules(admin: TestClient, services: Services, tenant: Tenant) -> None:
    # max_upload_bytes: every upload form, refused past the library's own cap.
    await set_settings(admin, tenant, max_upload_bytes=5000)
    big, small = unique_image(300, 200), unique_image(16, 16)
    assert len(big) > 5000 > len(small)
    response = await admin.post(
        tenant.images, data=big, headers={**tenant.auth(), "Content-Type": "image/jpeg"}
    )
    assert response.status == 413 and await error_of(response) == "upload_too_large"
    assert (await upload(admin, tenant, big, expect=413))["error"]["code"] == "upload_too_large"
    assert (await json_upload(admin, tenant, big, expect=413))["error"][
        "code"
    ] == "upload_too_large"
    first = await quick_upload(admin, tenant, small, key="rules/small.jpg")
    response = await admin.put(
        f"{tenant.images}/{first['id']}/original",
        data=big,
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 413 and await error_of(response) == "upload_too_large"
    assert not await has_original(services, big)

    # allowed_formats: by what the bytes are.
    await set_settings(admin, tenant, max_upload_bytes=None, allowed_formats=["png", "webp"])
    jpeg, png = unique_image(20, 20), unique_image(20, 20, "png")
    response = await admin.post(
        tenant.images, data=jpeg, headers={**tenant.auth(), "Content-Type": "image/png"}
    )
    assert response.status == 415 and await error_of(response) == "format_not_allowed"
    assert (await json_upload(admin, tenant, jpeg, expect=415))["error"][
        "code"
    ] == "format_not_allowed"
    response = await admin.put(
        f"{tenant.images}/{first['id']}/original",
        data=jpeg,
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 415 and await error_of(response) == "format_not_allowed"
    png_body = await quick_upload(admin, tenant, png, key="rules/p.png", content_type="image/png")
    assert png_body["format"] == "png"
    assert not await has_original(services, jpeg)
    assert [key for _, key, _ in await image_rows(services, tenant)] == [
        "rules/small.jpg",
        "rules/p.png",
    ]
    await set_settings(admin, tenant, allowed_formats=[])  # empty: every format again
    await quick_upload(admin, tenant, jpeg, key="rules/j.jpg")


async def test_quota_images(admin: TestClient, services: Services, tenant: Tenant) -> None:
    await set_settings(admin, tenant, quota_images=2)
    first_data = unique_image(20, 20)
    first = await quick_upload(admin, tenant, first_data, key="q/1.jpg")  # pending counts
    await quick_upload(admin, tenant, unique_image(21, 20), key="q/2.jpg", activate="true")
    refused = unique_image(22, 20)
    for send in (
        lambda: quick_upload(admin, tenant, refused, key="q/3.jpg", expect=403),
        lambda: upload(admin, tenant, refused, key="q/3.jpg", expect=403),
        lambda: json_upload(admin, tenant, refused, key="q/3.jpg", expect=403),
    ):
        body = await send()
        assert body["error"]["code"] == "quota_exceeded"
        assert "2 images" in body["error"]["message"]
    assert [key for _, key, _ in await image_rows(services, tenant)] == ["q/1.jpg", "q/2.jpg"]
    assert not await has_original(services, refused)  # no orphan
    # Refused content that another image uses keeps its original.
    body = await quick_upload(admin, tenant, first_data, key="q/copy.jpg", expect=403)
    assert body["error"]["code"] == "quota_exceeded"
    assert await has_original(services, first_data)
    # A deleted image frees its place.
    response = await admin.delete(f"{tenant.images}/{first['id']}", headers=tenant.auth())
    assert response.status == 204
    third = await quick_upload(admin, tenant, refused, key="q/3.jpg")
    assert await has_original(services, third["sha256"])


async def test_quota_bytes(admin: TestClient, services: Services, tenant: Tenant) -> None:
    a, b, c = unique_image(120, 90), unique_image(150, 100), unique_image(8, 8)
    await set_settings(admin, tenant, quota_bytes=len(a) + len(c) + 10)
    assert len(b) > len(c) + 10
    first = await quick_upload(admin, tenant, a, key="qb/a.jpg")
    body = await quick_upload(admin, tenant, b, key="qb/b.jpg", expect=403)
    assert body["error"]["code"] == "quota_exceeded"
    assert not await has_original(services, b)
    assert [key for _, key, _ in await image_rows(services, tenant)] == ["qb/a.jpg"]
    tiny = await quick_upload(admin, tenant, c, key="qb/c.jpg")

    async def used() -> int:
        response = await admin.get(tenant.images, headers=tenant.auth())
        return sum(item["bytes"] for item in (await response.json())["items"])

    assert await used() == len(a) + len(c)
    # A larger replacement is held to the quota as an upload is, and leaves nothing.
    raw = {**tenant.auth(), "Content-Type": "image/jpeg"}
    response = await admin.put(f"{tenant.images}/{tiny['id']}/original", data=b, headers=raw)
    assert response.status == 403 and await error_of(response) == "quota_exceeded"
    assert not await has_original(services, b)
    response = await admin.get(f"{tenant.images}/{tiny['id']}", headers=tenant.auth())
    assert await response.json() == tiny
    # A smaller one always fits; restoring the larger version is held to it again.
    smaller = unique_image(40, 30)
    assert len(smaller) < len(a)
    response = await admin.put(f"{tenant.images}/{first['id']}/original", data=smaller, headers=raw)
    assert response.status == 200 and (await response.json())["version"] == 2
    await set_settings(admin, tenant, quota_bytes=await used())
    restore = f"{tenant.images}/{first['id']}/versions/1/restore"
    response = await admin.post(restore, headers=tenant.auth())
    assert response.status == 403 and await error_of(response) == "quota_exceeded"
    assert await has_original(services, a)  # still version 1's
    await set_settings(admin, tenant, quota_bytes=None)
    response = await admin.post(restore, headers=tenant.auth())
    assert response.status == 200 and (await response.json())["version"] == 3
    assert await used() == len(a) + len(c)


# 4. Renaming moves the public URL


async def test_rename_moves_the_public_url(
    admin: TestClient, origin: TestClient, services: Services, tenant: Tenant
) -> None:
    body = await quick_upload(
        admin, tenant, unique_image(80, 40), key="old/name.jpg", activate="true"
    )
    old, new = f"/{tenant.name}/old/name.jpg", f"/{tenant.name}/new/name.jpg"
    assert (await origin.get(old + "?w=40")).status == 200  # cached in every layer
    assert (await origin.get(new + "?w=40")).status == 404
    response = await admin.patch(
        f"{tenant.images}/{body['id']}", json={"key": "new/name.jpg"}, headers=tenant.auth()
    )
    assert response.status == 200
    assert (await response.json())["url"].endswith(new)
    for path in (old + "?w=40", old, old + "?w=41"):
        response = await origin.get(path)
        assert response.status == 404, path
    response = await origin.get(new + "?w=40")
    assert response.status == 200 and dimensions(await response.read()) == (40, 20)
    # The old key is free for another image, served as itself.
    await quick_upload(admin, tenant, unique_image(30, 60), key="old/name.jpg", activate="true")
    response = await origin.get(old + "?w=40")
    assert response.status == 200 and dimensions(await response.read()) == (40, 80)
    # Renaming onto a live image's key is refused and changes nothing.
    response = await admin.patch(
        f"{tenant.images}/{body['id']}", json={"key": "old/name.jpg"}, headers=tenant.auth()
    )
    assert response.status == 409 and await error_of(response) == "key_exists"
    assert (await origin.get(new + "?w=40")).status == 200
    assert sorted(key for _, key, _ in await image_rows(services, tenant)) == [
        "new/name.jpg",
        "old/name.jpg",
    ]


# 5. creator_only


async def test_creator_only(admin: TestClient, origin: TestClient, tenant: Tenant) -> None:
    await set_settings(admin, tenant, creator_only=True)
    body = await quick_upload(admin, tenant, unique_image(40, 40), key="co/a.jpg", user="alice")
    assert body["created_by"] == "alice"
    anonymous = await quick_upload(admin, tenant, unique_image(41, 40), key="co/anon.jpg")
    assert anonymous["created_by"] is None
    url = f"{tenant.images}/{body['id']}"
    raw = {"Content-Type": "image/jpeg"}
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", url, {"json": {"alt": "mine now"}}),
        ("POST", f"{url}/tags/x", {}),
        ("DELETE", f"{url}/tags/x", {}),
        ("POST", f"{url}/activate", {}),
        ("POST", f"{url}/deactivate", {}),
        ("PUT", f"{url}/original", {"data": unique_image(42, 40), "headers": raw}),
        ("POST", f"{url}/versions/1/restore", {}),
        ("DELETE", url, {}),
    ]
    for user in ("bob", None, "Alice"):
        for method, path, kwargs in attempts:
            extra = dict(kwargs)
            headers = {**tenant.auth(Role.WRITE), **extra.pop("headers", {})}
            if user is not None:
                headers["X-User-Id"] = user
            response = await admin.request(method, path, headers=headers, **extra)
            assert response.status == 403, (user, method, path)
            assert await error_of(response) == "not_creator"
    # Reading is for everyone with a read key.
    response = await admin.get(url, headers={**tenant.auth(Role.READ), "X-User-Id": "bob"})
    assert response.status == 200 and await response.json() == body
    # Nobody but an admin may change an image made without a user.
    response = await admin.patch(
        f"{tenant.images}/{anonymous['id']}", json={"alt": "x"}, headers=tenant.auth()
    )
    assert response.status == 403 and await error_of(response) == "not_creator"

    alice = {**tenant.auth(Role.WRITE), "X-User-Id": "alice"}
    response = await admin.patch(url, json={"alt": "by alice"}, headers=alice)
    assert response.status == 200 and (await response.json())["alt"] == "by alice"
    response = await admin.post(f"{url}/activate", headers=alice)
    assert (await response.json())["status"] == "active"
    response = await admin.put(
        f"{url}/original", data=unique_image(43, 40), headers={**alice, **raw}
    )
    assert response.status == 200 and (await response.json())["version"] == 2
    # An admin key may, with or without a user.
    response = await admin.patch(
        url, json={"alt": "by the admin"}, headers={**tenant.auth(Role.ADMIN), "X-User-Id": "bob"}
    )
    assert response.status == 200 and (await response.json())["alt"] == "by the admin"
    response = await admin.patch(
        f"{tenant.images}/{anonymous['id']}", json={"alt": "x"}, headers=tenant.auth(Role.ADMIN)
    )
    assert response.status == 200
    response = await admin.delete(url, headers=tenant.auth(Role.ADMIN))
    assert response.status == 204
    assert (await origin.get(f"/{tenant.name}/co/a.jpg")).status == 404

    # Without creator_only, any write key may change anyone's image.
    await set_settings(admin, tenant, creator_only=False)
    response = await admin.patch(
        f"{tenant.images}/{anonymous['id']}",
        json={"alt": "by bob"},
        headers={**tenant.auth(), "X-User-Id": "bob"},
    )
    assert response.status == 200 and (await response.json())["created_by"] is None


# 6. Activation


async def test_auto_activate_and_activate_field(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    async def served(key: str) -> int:
        return (await origin.get(f"/{tenant.name}/{key}?w=20")).status

    await quick_upload(admin, tenant, unique_image(30, 30), key="aa/default.jpg")
    await quick_upload(admin, tenant, unique_image(31, 30), key="aa/on.jpg", activate="true")
    assert (await served("aa/default.jpg"), await served("aa/on.jpg")) == (404, 200)

    await set_settings(admin, tenant, auto_activate=True)
    auto = await upload(admin, tenant, unique_image(32, 30), key="aa/auto.jpg")
    off = await quick_upload(admin, tenant, unique_image(33, 30), key="aa/off.jpg", activate="0")
    off_json = await json_upload(
        admin, tenant, unique_image(34, 30), key="aa/j.jpg", activate=False
    )
    assert (auto["status"], off["status"], off_json["status"]) == ("active", "pending", "pending")
    assert (await served("aa/auto.jpg"), await served("aa/off.jpg")) == (200, 404)
    assert await served("aa/j.jpg") == 404


async def test_deactivate_and_activate(
    admin: TestClient, origin: TestClient, services: Services, tenant: Tenant
) -> None:
    body = await quick_upload(admin, tenant, unique_image(60, 30), key="d/a.jpg", activate="true")
    url, public = f"{tenant.images}/{body['id']}", f"/{tenant.name}/d/a.jpg?w=30"
    assert (await origin.get(public)).status == 200
    assert variants_dir(services, body["id"]).exists()
    response = await admin.post(f"{url}/deactivate", headers=tenant.auth())
    assert response.status == 200 and (await response.json())["status"] == "pending"
    assert (await origin.get(public)).status == 404  # at once, despite the caches
    assert not variants_dir(services, body["id"]).exists()  # and purged
    response = await admin.post(f"{url}/deactivate", headers=tenant.auth())
    assert response.status == 200 and (await response.json())["status"] == "pending"
    response = await admin.post(f"{url}/activate", headers=tenant.auth())
    assert response.status == 200 and (await response.json())["status"] == "active"
    response = await origin.get(public)
    assert response.status == 200 and dimensions(await response.read()) == (30, 15)
    response = await admin.post(f"{url}/activate", headers=tenant.auth())  # no change
    assert response.status == 200 and (await response.json())["status"] == "active"


# 7. The pending sweeper


async def test_sweeper_deletes_expired_pending_images(
    admin: TestClient, origin: TestClient, services: Services, tenant: Tenant
) -> None:
    await set_settings(admin, tenant, pending_ttl=1)
    stale_data = unique_image(50, 50)
    stale = await quick_upload(admin, tenant, stale_data, key="sw/stale.jpg")
    active = await quick_upload(
        admin, tenant, unique_image(51, 50), key="sw/active.jpg", activate="true"
    )
    fresh = await quick_upload(admin, tenant, unique_image(52, 50), key="sw/fresh.jpg")
    # Published once, then taken down: kept, however long ago.
    withdrawn = await quick_upload(
        admin, tenant, unique_image(55, 50), key="sw/withdrawn.jpg", activate="true"
    )
    response = await admin.post(
        f"{tenant.images}/{withdrawn['id']}/deactivate", headers=tenant.auth()
    )
    assert response.status == 200
    keeper = await new_tenant(services)  # pending_ttl 0: kept forever
    await set_settings(admin, keeper, pending_ttl=0)
    kept = await quick_upload(admin, keeper, unique_image(53, 50), key="sw/kept.jpg")
    default = await new_tenant(services)  # the default: a week
    week = await quick_upload(admin, default, unique_image(54, 50), key="sw/week.jpg")
    for image_id, age in (
        (stale["id"], "1 hour"),
        (active["id"], "1 hour"),  # not pending: ignored whatever this says
        (withdrawn["id"], "1 year"),
        (kept["id"], "1 year"),
        (week["id"], "1 day"),
    ):
        await services.catalog.pool.execute(
            f"UPDATE images SET pending_since = now() - interval '{age}' WHERE id = $1", image_id
        )
    await services.catalog.pool.execute(
        "UPDATE images SET pending_since = now() + interval '1 hour' WHERE id = $1", fresh["id"]
    )  # however slow this test runs, not yet expired

    assert await services.admin.sweep() >= 1
    response = await admin.get(f"{tenant.images}/{stale['id']}", headers=tenant.auth())
    assert response.status == 404 and await error_of(response) == "image_not_found"
    assert not await has_original(services, stale_data)
    assert [(key, status) for _, key, status in await image_rows(services, tenant)] == [
        ("sw/stale.jpg", "deleted"),
        ("sw/active.jpg", "active"),
        ("sw/fresh.jpg", "pending"),
        ("sw/withdrawn.jpg", "pending"),
    ]
    assert await has_original(services, active["sha256"])
    assert (await origin.get(f"/{tenant.name}/sw/active.jpg?w=10")).status == 200
    for other, image in ((keeper, kept), (default, week)):
        response = await admin.get(f"{other.images}/{image['id']}", headers=other.auth())
        assert response.status == 200 and (await response.json())["status"] == "pending"
    rows = await image_rows(services, tenant)
    await services.admin.sweep()  # again: nothing more of these to sweep
    assert await image_rows(services, tenant) == rows


# 8. Webhooks


@dataclass
class Delivery:
    path: str
    headers: CIMultiDict[str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    def signed_with(self, secret: str) -> bool:
        mac = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-Imgorigin-Signature", ""), f"sha256={mac}")


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request: `/hang` answers when
    released, a path in `failures` answers 500 that many times first."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.failures: dict[str, int] = {}
        self.release = asyncio.Event()
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/{name}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._arrived:
            self.deliveries.append(Delivery(request.path, CIMultiDict(request.headers), body))
            self._arrived.notify_all()
        if request.path == "/hang":
            await asyncio.wait_for(self.release.wait(), 30)
        if self.failures.get(request.path, 0) > 0:
            self.failures[request.path] -= 1
            return web.Response(status=500)
        return web.Response(status=204)

    def url(self, name: str) -> str:
        return str(self.server.make_url(f"/{name}"))

    def at(self, name: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == f"/{name}"]

    async def wait_for(self, name: str, count: int) -> list[Delivery]:
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(lambda: len(self.at(name)) >= count)
        return self.at(name)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.server.start_server()
    try:
        yield receiver
    finally:
        receiver.release.set()
        await receiver.server.close()


@pytest.fixture
async def hooked(services: Services, aiohttp_client: AiohttpClient) -> AsyncIterator[TestClient]:
    """An admin API whose webhooks may call 127.0.0.1, retrying quickly."""
    settings = dataclasses.replace(
        services.settings.admin,
        webhook_private_addresses=True,
        webhook_backoff=0.05,
        webhook_attempts=4,
        webhook_timeout=3.0,
    )
    webhooks = Webhooks(services.catalog.webhooks, settings)
    webhooks.start()
    try:
        yield await admin_client(services, aiohttp_client, settings=settings, events=webhooks)
    finally:
        await webhooks.close()


async def make_webhook(
    client: TestClient, tenant: Tenant, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url} | ({"events": events} if events is not None else {})
    response = await client.post(
        f"/v1/libraries/{tenant.name}/webhooks", json=body, headers=tenant.auth(Role.ADMIN)
    )
    made: dict[str, Any] = await response.json()
    assert response.status == 201, made
    return made


async def test_webhook_urls_are_checked(admin: TestClient, tenant: Tenant) -> None:
    hooks = f"/v1/libraries/{tenant.name}/webhooks"
    refused: list[Any] = [
        {"url": "http://127.0.0.1:8080/hook"},
        {"url": "http://localhost/hook"},
        {"url": "http://10.1.2.3/hook"},
        {"url": "http://192.168.0.1/hook"},
        {"url": "http://169.254.169.254/latest/meta-data"},
        {"url": "http://[::1]/hook"},
        {"url": "ftp://hooks.example.com/x"},
        {"url": "hooks.example.com/x"},
        {"url": "https://user:pass@hooks.example.com/x"},
        {"url": "https://"},
        {"url": 5},
        {"url": "https://hooks.example.com/x", "events": ["image.exploded"]},
        {"url": "https://hooks.example.com/x", "events": "image.deleted"},
        {"url": "https://hooks.example.com/x", "colour": "red"},
        {"events": []},
    ]
    for body in refused:
        response = await admin.post(hooks, json=body, headers=tenant.auth(Role.ADMIN))
        assert response.status == 400, body
        assert await error_of(response) == "invalid_webhook", body
    response = await admin.get(hooks, headers=tenant.auth(Role.ADMIN))
    assert (await response.json())["items"] == []

    made = await make_webhook(admin, tenant, "https://hooks.example.invalid/a", ["image.deleted"])
    assert made["id"].startswith("wh_") and len(made["secret"]) >= 32
    assert made["events"] == ["image.deleted"]
    everything = await make_webhook(admin, tenant, "https://hooks.example.invalid/b")
    assert everything["events"] == list(EVENTS)
    response = await admin.get(hooks, headers=tenant.auth(Role.ADMIN))
    listed = (await response.json())["items"]
    assert [item["id"] for item in listed] == [made["id"], everything["id"]]
    assert all("secret" not in item for item in listed)
    response = await admin.delete(f"{hooks}/{made['id']}", headers=tenant.auth(Role.ADMIN))
    assert response.status == 204
    response = await admin.delete(f"{hooks}/{made['id']}", headers=tenant.auth(Role.ADMIN))
    assert response.status == 404 and await error_of(response) == "webhook_not_found"
    for n in range(19):
        await make_webhook(admin, tenant, f"https://hooks.example.invalid/{n}")
    response = await admin.post(
        hooks, json={"url": "https://hooks.example.invalid/x"}, headers=tenant.auth(Role.ADMIN)
    )
    assert response.status == 400 and await error_of(response) == "too_many_webhooks"


async def test_webhook_events_are_signed_and_filtered(
    hooked: TestClient, receiver: Receiver, services: Services, tenant: Tenant
) -> None:
    every = await make_webhook(hooked, tenant, receiver.url("all"))
    deletions = await make_webhook(hooked, tenant, receiver.url("deleted"), ["image.deleted"])
    activations = await make_webhook(
        hooked, tenant, receiver.url("activated"), ["image.activated", "purge.completed"]
    )
    dropped = await make_webhook(hooked, tenant, receiver.url("dropped"))
    response = await hooked.delete(
        f"/v1/libraries/{tenant.name}/webhooks/{dropped['id']}", headers=tenant.auth(Role.ADMIN)
    )
    assert response.status == 204
    # Another library's webhook hears nothing of this one.
    other = await new_tenant(services)
    await make_webhook(hooked, other, receiver.url("other"))

    body = await quick_upload(
        hooked, tenant, unique_image(40, 30), key="wh/a.jpg", activate="true", user="ann"
    )
    url = f"{tenant.images}/{body['id']}"
    response = await hooked.put(
        f"{url}/original",
        data=unique_image(30, 40),
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 200
    assert (await hooked.delete(url, headers=tenant.auth())).status == 204
    response = await hooked.post("/v1/purge", json={"library": tenant.name}, headers=tenant.auth())
    assert response.status == 200
    # A webhook made after those events hears none of them, even if they wait in the queue.
    late = await make_webhook(hooked, tenant, receiver.url("late"))

    heard = await receiver.wait_for("all", 5)
    assert len(await receiver.wait_for("deleted", 1)) == 1
    assert len(await receiver.wait_for("activated", 2)) == 2
    await asyncio.sleep(0.3)  # nothing more is on its way
    assert len(receiver.at("all")) == 5 and len(receiver.at("deleted")) == 1
    assert receiver.at("dropped") == [] and receiver.at("other") == []
    assert receiver.at("late") == [] and late["id"]

    by_event = {d.payload["event"]: d for d in heard}
    assert sorted(by_event) == sorted(EVENTS)
    for delivery in heard:
        payload = delivery.payload
        assert delivery.signed_with(every["secret"])
        assert not delivery.signed_with(deletions["secret"])
        assert delivery.headers["Content-Type"] == "application/json"
        assert delivery.headers["X-Imgorigin-Event"] == payload["event"]
        assert delivery.headers["X-Imgorigin-Delivery"] == payload["id"]
        assert payload["id"].startswith("evt_") and payload["library"] == tenant.name
        assert set(payload) == {"id", "event", "library", "created_at", "data"}
        datetime.fromisoformat(payload["created_at"])
    for event in ("image.uploaded", "image.activated", "image.replaced", "image.deleted"):
        data = by_event[event].payload["data"]
        assert (data["id"], data["key"], data["created_by"]) == (body["id"], "wh/a.jpg", "ann")
    assert by_event["image.uploaded"].payload["data"]["version"] == 1
    assert by_event["image.activated"].payload["data"]["status"] == "active"
    assert by_event["image.replaced"].payload["data"]["version"] == 2
    assert by_event["image.deleted"].payload["data"]["status"] == "deleted"
    purge = by_event["purge.completed"].payload["data"]
    assert purge["library"] == tenant.name and purge["missing"] == []
    assert "image_ids" in purge and "images" in purge
    # The filtered webhooks: the same events, signed with their own secrets.
    (deleted,) = receiver.at("deleted")
    assert deleted.payload["event"] == "image.deleted" and deleted.signed_with(deletions["secret"])
    assert deleted.payload["id"] == by_event["image.deleted"].payload["id"]
    assert sorted(d.payload["event"] for d in receiver.at("activated")) == [
        "image.activated",
        "purge.completed",
    ]
    assert all(d.signed_with(activations["secret"]) for d in receiver.at("activated"))


async def test_webhook_retried_until_it_succeeds(
    hooked: TestClient, receiver: Receiver, tenant: Tenant
) -> None:
    hook = await make_webhook(hooked, tenant, receiver.url("flaky"), ["image.uploaded"])
    receiver.failures["/flaky"] = 2
    body = await quick_upload(hooked, tenant, unique_image(20, 30))
    tries = await receiver.wait_for("flaky", 3)
    await asyncio.sleep(0.5)  # the third answered 2xx: no fourth
    assert len(receiver.at("flaky")) == 3
    assert len({t.body for t in tries}) == 1
    assert len({t.headers["X-Imgorigin-Delivery"] for t in tries}) == 1
    assert all(t.signed_with(hook["secret"]) for t in tries)
    assert tries[0].payload["data"]["id"] == body["id"]


async def test_a_hanging_receiver_does_not_delay_uploads(
    hooked: TestClient, receiver: Receiver, tenant: Tenant
) -> None:
    await make_webhook(hooked, tenant, receiver.url("hang"))
    for n in range(3):
        started = time.monotonic()
        await quick_upload(hooked, tenant, unique_image(20 + n, 20), activate="true")
        assert time.monotonic() - started < 1.0
        # The receiver holds the deliveries open meanwhile.
        await receiver.wait_for("hang", 2 * (n + 1))
    assert not receiver.release.is_set()
    receiver.release.set()


# 9. Nothing lost, nothing left behind


class FailingStore:
    """The real filesystem store, but for a `put` that fails: before writing (the
    store is down) or after (the write went through, its answer was lost)."""

    def __init__(self, store: BlobStore, *, after_writing: bool = False) -> None:
        self._store = store
        self._after_writing = after_writing
        self.puts = 0

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.puts += 1
        if self._after_writing:
            await self._store.put(key, data, content_type)
        raise StoreUnavailable(f"put {key}: the store fell over")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.mark.parametrize("after_writing", [False, True])
async def test_a_failing_store_loses_nothing(
    services: Services,
    aiohttp_client: AiohttpClient,
    admin: TestClient,
    tenant: Tenant,
    after_writing: bool,
) -> None:
    existing_data = unique_image(40, 40)
    existing = await quick_upload(admin, tenant, existing_data, key="f/ok.jpg", activate="true")
    failing = FailingStore(services.store, after_writing=after_writing)
    broken = await admin_client(services, aiohttp_client, store=failing)

    new = unique_image(41, 40)
    response = await broken.post(
        tenant.images,
        data=new,
        params={"key": "f/new.jpg"},
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 503 and await error_of(response) == "store_unavailable"
    assert response.headers["Retry-After"]
    assert not await has_original(services, new)  # not left behind, written or not
    response = await broken.post(
        tenant.images,
        json={"data": base64.b64encode(new).decode(), "key": "f/new.jpg"},
        headers=tenant.auth(),
    )
    assert response.status == 503 and await error_of(response) == "store_unavailable"
    assert not await has_original(services, new)
    replacement = unique_image(42, 40)
    response = await broken.put(
        f"{tenant.images}/{existing['id']}/original",
        data=replacement,
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 503 and await error_of(response) == "store_unavailable"
    assert failing.puts == 3

    # No row for the failed uploads, the replaced image as it was, no orphans.
    assert [key for _, key, _ in await image_rows(services, tenant)] == ["f/ok.jpg"]
    response = await admin.get(
        tenant.images, params={"status": ["pending", "active", "deleted"]}, headers=tenant.auth()
    )
    assert [item["id"] for item in (await response.json())["items"]] == [existing["id"]]
    response = await admin.get(f"{tenant.images}/{existing['id']}", headers=tenant.auth())
    assert await response.json() == existing
    assert await has_original(services, existing_data)
    assert not await has_original(services, new)
    assert not await has_original(services, replacement)
    # Once the store is back, the same upload goes through.
    body = await quick_upload(admin, tenant, new, key="f/new.jpg")
    assert await has_original(services, body["sha256"])


async def test_a_refused_row_leaves_no_orphan_but_keeps_shared_originals(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    shared = unique_image(44, 40)
    await quick_upload(admin, tenant, shared, key="k/taken.jpg")
    # The same bytes under the taken key: refused; the original is the first image's.
    body = await json_upload(admin, tenant, shared, key="k/taken.jpg", expect=409)
    assert body["error"]["code"] == "key_exists"
    assert await has_original(services, shared)
    # Other bytes under the taken key, by every form: refused, and their blob removed.
    other = unique_image(45, 40)
    assert (await upload(admin, tenant, other, key="k/taken.jpg", expect=409))["error"][
        "code"
    ] == "key_exists"
    assert (await json_upload(admin, tenant, other, key="k/taken.jpg", expect=409))["error"][
        "code"
    ] == "key_exists"
    assert not await has_original(services, other)
    assert [key for _, key, _ in await image_rows(services, tenant)] == ["k/taken.jpg"]


async def test_a_writer_that_died_leaves_no_orphan_after_a_sweep(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    """A process killed between the original's put and the row's commit leaves its
    journal entry; the sweep removes that blob unless an image came to use it."""
    pool = services.catalog.pool
    kept = await quick_upload(admin, tenant, unique_image(61, 40), key="dead/kept.jpg")
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM unsettled_originals WHERE sha256 = $1", kept["sha256"]
        )
        == 0
    )  # a write that ended is no longer journalled
    # What a writer killed after its put leaves behind: the entry and the blob, no row.
    orphan = unique_image(62, 40)
    await services.catalog.originals.unsettle([sha(orphan)])
    await services.store.put(original_key(sha(orphan)), orphan, "application/octet-stream")
    # And one whose image was committed by another upload of the same bytes meanwhile.
    await services.catalog.originals.unsettle([kept["sha256"]])
    young = unique_image(63, 40)  # a write under way now: left alone
    await services.catalog.originals.unsettle([sha(young)])
    await services.store.put(original_key(sha(young)), young, "application/octet-stream")
    await pool.execute(
        "UPDATE unsettled_originals SET since = now() - interval '2 hours'"
        " WHERE sha256 = ANY($1::text[])",
        [sha(orphan), kept["sha256"]],
    )

    await services.admin.sweep()
    assert not await has_original(services, orphan)
    assert await has_original(services, kept["sha256"])
    assert await has_original(services, young)
    left = await pool.fetch(
        "SELECT sha256 FROM unsettled_originals WHERE sha256 = ANY($1::text[])",
        [sha(orphan), kept["sha256"], sha(young)],
    )
    assert [row["sha256"] for row in left] == [sha(young)]
