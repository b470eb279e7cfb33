"""The admin API under races, failing stores and concurrency: what a review of #6
found broken, kept as the tests that hold the fixes."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

import admin_api.service as service
from admin_api.settings import AdminSettings
from admin_api.webhooks import PublicResolver, Webhooks
from catalog import Role
from imgorigin.app import Services
from storage import StoreUnavailable
from tests.conftest import Tenant, error_of, library_of
from tests.test_admin_api import (
    admin_client,
    has_original,
    quick_upload,
    set_settings,
    unique_image,
)

README = Path(__file__).resolve().parent.parent / "README.md"


# Replacements racing on one image: the losers answer 409 without ever holding one
# pooled connection while waiting for another (which hung the whole pool once).
async def test_racing_replacements_do_not_deadlock_the_pool(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    body = await quick_upload(admin, tenant, unique_image(40, 40), key="race/one.jpg")
    url = f"{tenant.images}/{body['id']}/original"
    headers = {**tenant.auth(), "Content-Type": "image/jpeg"}

    async def replace(data: bytes) -> int | str:
        try:
            response = await asyncio.wait_for(admin.put(url, data=data, headers=headers), 10)
        except TimeoutError:
            return "hung"
        return response.status

    # The fixture's pool has 4 connections; 16 racing replacements hang it reliably.
    statuses = await asyncio.gather(*(replace(unique_image(41 + i, 40)) for i in range(16)))
    assert "hung" not in statuses, statuses
    assert sorted(statuses) == [200] + [409] * 15, statuses


# A delete whose store fails after the row is marked deleted (503, and a retry finds
# nothing): its journal entries let the sweep drop the original.
class DeleteFails:
    def __init__(self, store: Any) -> None:
        self._store = store

    async def delete(self, key: str) -> None:
        raise StoreUnavailable(f"delete {key}: the store fell over")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_a_failed_delete_leaves_no_orphan_original(
    admin: TestClient, services: Services, tenant: Tenant, aiohttp_client: AiohttpClient
) -> None:
    data = unique_image(70, 40)
    body = await quick_upload(admin, tenant, data, key="orphan/x.jpg")
    broken = await admin_client(services, aiohttp_client, store=DeleteFails(services.store))
    response = await broken.delete(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert response.status == 503 and await error_of(response) == "store_unavailable"
    # The client retries, as a 503 invites: the image is already gone.
    response = await admin.delete(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert response.status == 404
    await services.catalog.pool.execute(
        "UPDATE unsettled_originals SET since = now() - interval '2 hours' WHERE sha256 = $1",
        hashlib.sha256(data).hexdigest(),
    )
    await services.admin.sweep()
    assert not await has_original(services, data), "no row uses it, nothing will drop it"


# An upload that lands while its library is deleted: its original is dropped too.
async def test_deleting_a_library_while_an_upload_lands_leaves_no_orphan(
    admin: TestClient, services: Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await quick_upload(admin, tenant, unique_image(70, 42), key="a.jpg")
    late = unique_image(70, 43)
    listed = services.catalog.images.live_ids

    async def list_then_an_upload_lands(library: Any) -> list[str]:
        ids = await listed(library)
        await quick_upload(admin, tenant, late, key="late.jpg")  # the race's window
        return ids

    monkeypatch.setattr(services.catalog.images, "live_ids", list_then_an_upload_lands)
    await services.admin.delete_library(await library_of(services, tenant))
    await services.admin.sweep()
    assert not await has_original(services, late)


# An image published (and withdrawn) after the sweeper listed it is kept.
async def test_the_sweeper_keeps_an_image_published_meanwhile(
    admin: TestClient, services: Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_settings(admin, tenant, pending_ttl=1)
    body = await quick_upload(admin, tenant, unique_image(50, 60), key="pub.jpg")
    await services.catalog.pool.execute(
        "UPDATE images SET pending_since = now() - interval '1 hour' WHERE id = $1", body["id"]
    )
    url = f"{tenant.images}/{body['id']}"
    expired = services.catalog.images.expired_pending

    async def listed_then_published(*args: Any) -> Any:
        found = await expired(*args)
        if found:
            assert (await admin.post(url + "/activate", headers=tenant.auth())).status == 200
            assert (await admin.post(url + "/deactivate", headers=tenant.auth())).status == 200
        return found

    monkeypatch.setattr(services.catalog.images, "expired_pending", listed_then_published)
    await services.admin.sweep()
    assert (await admin.get(url, headers=tenant.auth())).status == 200


# The caps of 50 tags an image and 20 webhooks a library hold under concurrent calls:
# exactly as many calls succeed as the cap has room for, each of the others is the
# cap's 400, and what is stored is exactly what the successful calls added.
async def test_tag_cap_holds_under_concurrency(admin: TestClient, tenant: Tenant) -> None:
    tags = ",".join(f"t{i}" for i in range(48))
    body = await quick_upload(admin, tenant, unique_image(70, 41), key="tags.jpg", tags=tags)
    url = f"{tenant.images}/{body['id']}/tags/"
    added = [f"n{i}" for i in range(6)]
    responses = await asyncio.gather(
        *(admin.post(url + tag, headers=tenant.auth()) for tag in added)
    )
    accepted = [tag for tag, r in zip(added, responses, strict=True) if r.status == 200]
    refused = [r for r in responses if r.status != 200]
    assert len(accepted) == 2
    assert [await error_of(r) for r in refused] == ["invalid_tag"] * 4
    response = await admin.get(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert sorted((await response.json())["tags"]) == sorted(tags.split(",") + accepted)


async def test_webhook_cap_holds_under_concurrency(admin: TestClient, tenant: Tenant) -> None:
    url = f"/v1/libraries/{tenant.name}/webhooks"
    hooks = [f"https://example.com/h{i}" for i in range(30)]
    responses = await asyncio.gather(
        *(admin.post(url, json={"url": hook}, headers=tenant.auth(Role.ADMIN)) for hook in hooks)
    )
    created = [(await r.json())["id"] for r in responses if r.status == 201]
    refused = [r for r in responses if r.status != 201]
    assert len(created) == 20
    assert [await error_of(r) for r in refused] == ["too_many_webhooks"] * 10
    response = await admin.get(url, headers=tenant.auth(Role.ADMIN))
    assert sorted(hook["id"] for hook in (await response.json())["items"]) == sorted(created)


# Uploads to a slow store do not hold pooled connections during the put: the origin
# shares the pool, and its resolves and /readyz must not wait behind them.
class SlowStore:
    def __init__(self, store: Any) -> None:
        self._store = store

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.sleep(2)  # a large original going to S3
        await self._store.put(key, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_uploads_to_a_slow_store_do_not_take_the_pool(
    services: Services, tenant: Tenant, aiohttp_client: AiohttpClient
) -> None:
    slow = await admin_client(services, aiohttp_client, store=SlowStore(services.store))
    headers = {**tenant.auth(), "Content-Type": "image/jpeg"}
    uploads = [
        asyncio.create_task(
            slow.post(
                tenant.images,
                data=unique_image(90 + i, 20),
                params={"key": f"s{i}"},
                headers=headers,
            )
        )
        for i in range(4)  # the fixture's pool size
    ]
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await services.catalog.ping()
    waited = time.monotonic() - started
    await asyncio.gather(*uploads)
    assert waited < 0.5, f"a catalog query waited {waited:.2f}s for a connection"


# The SHA-256 of an upload (up to 50 MB) is computed off the event loop that also
# serves the origin.
async def test_the_upload_hash_is_not_computed_on_the_event_loop(
    admin: TestClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.current_thread()
    on_loop: list[bool] = []

    def sha256(data: bytes) -> Any:
        on_loop.append(threading.current_thread() is loop_thread)
        return hashlib.sha256(data)

    monkeypatch.setattr(service, "hashlib", types.SimpleNamespace(sha256=sha256))
    await quick_upload(admin, tenant, unique_image(64, 64), key="hash.jpg")
    assert on_loop == [False]


# Webhooks close the resolver they made (aiohttp closes only resolvers it made).
async def test_closing_webhooks_closes_their_resolver(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[bool] = []
    real_close = PublicResolver.close

    async def close(self: PublicResolver) -> None:
        closed.append(True)
        await real_close(self)

    monkeypatch.setattr(PublicResolver, "close", close)
    hooks = Webhooks(services.catalog.webhooks, AdminSettings())
    hooks.start()
    await hooks.close()
    assert closed == [True]


# A JSON upload's error codes do not depend on the names a client sends.
@pytest.mark.parametrize(
    ("fields", "code"), [({"colour": 1}, "unknown_field"), ({"tags": ["a", 1]}, "invalid_tag")]
)
async def test_json_upload_error_codes_are_stable(
    admin: TestClient, tenant: Tenant, fields: dict[str, Any], code: str
) -> None:
    response = await admin.post(
        tenant.images, json={"data": "aGk=", **fields}, headers=tenant.auth()
    )
    assert response.status == 400
    assert await error_of(response) == code


# Error codes the README's admin API section must name.
@pytest.mark.parametrize(
    "code",
    ["invalid_key_spec", "invalid_expiry", "key_not_found", "unexpected_field", "body_timeout"],
)
def test_readme_names_every_admin_error_code(code: str) -> None:
    assert f"`{code}`" in README.read_text()
