"""Library statistics over real HTTP: images, originals' and variants' bytes, and the
origin's counts of renders and hits, flushed to PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cache import Outcome
from catalog import Role
from imgorigin.app import Services, open_services
from imgorigin.settings import Settings
from origin.counters import ServeCounters
from tests import images
from tests.conftest import Tenant, error_of, library_of, new_tenant, upload


def stats_path(tenant: Tenant) -> str:
    return f"/v1/libraries/{tenant.name}/stats"


async def stats(admin: TestClient, tenant: Tenant) -> dict[str, Any]:
    response = await admin.get(stats_path(tenant), headers=tenant.auth(Role.READ))
    body = await response.json()
    assert response.status == 200, body
    return body


def stored_variants(services: Services, image_id: str) -> list[Path]:
    folder = services.settings.server.data_dir / "store" / "variants" / image_id
    return [p for p in folder.rglob("*") if p.is_file()]


async def test_stats_of_a_fresh_library(admin: TestClient, tenant: Tenant) -> None:
    body = await stats(admin, tenant)
    assert body["library"] == tenant.name
    assert body["images"] == {"pending": 0, "active": 0, "deleted": 0}
    assert body["original_bytes"] == 0
    assert body["variants"] == {"count": 0, "bytes": 0}
    assert (body["renders"], body["hits"]) == (0, 0)
    assert body["since"] is not None  # this process counts from its start


async def test_stats_after_uploads_renders_and_hits(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    active_data, pending_data = images.jpeg(233, 151), images.jpeg(151, 233)
    active = await upload(admin, tenant, active_data, key="a.jpg", activate="true")
    await upload(admin, tenant, pending_data, key="p.jpg")
    first = await origin.get(f"/{tenant.name}/a.jpg?w=100&fm=webp")
    second = await origin.get(f"/{tenant.name}/a.jpg?w=100&fm=webp")
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    rendered = await first.read()

    body = await stats(admin, tenant)  # at once: this process's counts are added
    assert body["images"] == {"pending": 1, "active": 1, "deleted": 0}
    assert body["original_bytes"] == len(active_data) + len(pending_data)
    [variant] = stored_variants(services, active["id"])
    assert variant.stat().st_size == len(rendered)
    assert body["variants"] == {"count": 1, "bytes": len(rendered)}
    assert (body["renders"], body["hits"]) == (1, 1)

    # A 304 is neither; a HEAD of the stored variant is a hit.
    etag = second.headers["ETag"]
    not_modified = await origin.get(
        f"/{tenant.name}/a.jpg?w=100&fm=webp", headers={"If-None-Match": etag}
    )
    assert not_modified.status == 304
    assert (await origin.head(f"/{tenant.name}/a.jpg?w=100&fm=webp")).status == 200
    body = await stats(admin, tenant)
    assert (body["renders"], body["hits"]) == (1, 2)


async def test_a_deleted_image_counts_as_deleted(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    body = await upload(admin, tenant, images.jpeg(211, 97), key="gone.jpg", activate="true")
    assert (await origin.get(f"/{tenant.name}/gone.jpg?w=50")).status == 200
    assert (await stats(admin, tenant))["variants"]["count"] == 1
    response = await admin.delete(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert response.status == 204
    after = await stats(admin, tenant)
    assert after["images"] == {"pending": 0, "active": 0, "deleted": 1}
    assert after["original_bytes"] == 0
    assert after["variants"] == {"count": 0, "bytes": 0}  # purged
    assert after["renders"] == 1  # what was served stays counted


async def test_counts_are_flushed_to_the_table(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    await upload(admin, tenant, images.jpeg(199, 101), key="f.jpg", activate="true")
    for _ in range(3):
        assert (await origin.get(f"/{tenant.name}/f.jpg?w=40")).status == 200
    found = await library_of(services, tenant)
    assert await services.counters.flush()
    row = await services.catalog.pool.fetchrow(
        "SELECT renders, hits, since FROM library_counters WHERE library_id = $1", found.id
    )
    assert (row["renders"], row["hits"]) == (1, 2)
    assert services.counters.unflushed(found.id) == (0, 0)
    body = await stats(admin, tenant)
    assert (body["renders"], body["hits"]) == (1, 2)  # not counted twice
    assert body["since"] == row["since"].isoformat()

    # Deltas are added, never overwritten.
    assert (await origin.get(f"/{tenant.name}/f.jpg?w=40")).status == 200
    assert await services.counters.flush()
    assert await services.catalog.stats.counts(found) == (1, 3, row["since"])


async def test_a_failed_flush_keeps_the_counts(
    admin: TestClient, tenant: Tenant, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await library_of(services, tenant)
    counters = ServeCounters(services.catalog.stats, interval=3600)

    async def unavailable(counts: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(services.catalog.stats, "add_counts", unavailable)
    counters.count(found.id, Outcome.MISS)
    counters.count(found.id, Outcome.HIT)
    assert not await counters.flush()
    counters.count(found.id, Outcome.COALESCED)  # served without a render: a hit
    assert counters.unflushed(found.id) == (1, 2)

    monkeypatch.undo()
    assert await counters.flush()
    assert counters.unflushed(found.id) == (0, 0)
    counted = await services.catalog.stats.counts(found)
    assert counted is not None and counted[:2] == (1, 2)


async def test_counts_of_a_deleted_library_are_dropped(tenant: Tenant, services: Services) -> None:
    found = await library_of(services, tenant)
    counters = ServeCounters(services.catalog.stats, interval=3600)
    counters.count(found.id, Outcome.HIT)
    counters.count(2**62, Outcome.HIT)  # no such library (deleted since it was counted)
    assert await counters.flush()
    counted = await services.catalog.stats.counts(found)
    assert counted is not None and counted[:2] == (0, 1)


async def test_the_services_flush_on_their_own_and_at_shutdown(
    settings: Settings, services: Services
) -> None:
    tenant = await new_tenant(services)
    found = await library_of(services, tenant)
    quick = dataclasses.replace(
        settings, origin=dataclasses.replace(settings.origin, stats_flush_interval=0.05)
    )
    async with open_services(quick) as running:
        running.counters.count(found.id, Outcome.MISS)
        for _ in range(200):  # the background flusher's turn
            if await services.catalog.stats.counts(found) is not None:
                break
            await asyncio.sleep(0.02)
        counted = await services.catalog.stats.counts(found)
        assert counted is not None and counted[:2] == (1, 0)
        running.counters.count(found.id, Outcome.HIT)
        running.counters.count(found.id, Outcome.HIT)
    counted = await services.catalog.stats.counts(found)  # flushed as the services closed
    assert counted is not None and counted[:2] == (1, 2)


async def test_stats_need_a_key_for_the_library(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    response = await admin.get(stats_path(tenant))
    assert response.status == 401 and await error_of(response) == "missing_api_key"
    other = await new_tenant(services)
    response = await admin.get(stats_path(tenant), headers=other.auth(Role.ADMIN))
    assert response.status == 403 and await error_of(response) == "wrong_library"
    every, _ = await services.catalog.api_keys.create(None, Role.READ, "stats test")
    response = await admin.get(
        "/v1/libraries/no-such-library/stats", headers={"Authorization": f"Bearer {every}"}
    )
    assert response.status == 404 and await error_of(response) == "library_not_found"
    response = await admin.get(stats_path(tenant), headers={"Authorization": f"Bearer {every}"})
    assert response.status == 200  # read is enough
