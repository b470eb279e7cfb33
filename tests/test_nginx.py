"""A real nginx, configured by `imgorigin nginx-config`, in front of a real origin:
what it caches, under which format, how often the origin is asked, and purges."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cache.purge import PURGE_KEY_HEADER, PURGE_PATH
from catalog import Status
from imgorigin.app import Services, build_apps, open_services
from imgorigin.nginxconf import NginxOptions
from imgorigin.settings import Settings
from tests.conftest import Tenant, new_tenant, upload
from tests.images import encoded, flat, jpeg
from tests.nginxserver import Nginx, nginx_binary

REQUIRE_SERVICES = os.environ.get("IMGORIGIN_REQUIRE_SERVICES") == "1"

# Real browsers' Accept headers for images.
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
EDGE_OLD = "image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX_OLD = "image/webp,*/*"
SAFARI_OLD = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"


RED, BLUE = (255, 0, 0), (0, 0, 255)


def near(pixel: list[float], colour: tuple[int, int, int]) -> bool:
    """Within lossy-encoding distance (WebP shifts flat colours by a step or two)."""
    return all(abs(p - c) <= 8 for p, c in zip(pixel, colour, strict=False))


@pytest.fixture(autouse=True)
def nginx_installed() -> None:
    if nginx_binary() is None:
        if REQUIRE_SERVICES:
            pytest.fail("nginx with libnginx-mod-http-cache-purge is required in CI")
        pytest.skip("nginx with the cache-purge module is not installed (make test installs it)")


@dataclass
class Front:
    """nginx in front of an in-process origin that counts what reaches it."""

    nginx: Nginx
    client: aiohttp.ClientSession  # to nginx
    admin: TestClient
    services: Services
    reached: Counter[str]  # raw request URI -> requests that reached the origin
    accepts: list[str | None]  # the Accept header of each of them

    async def get(self, path: str, **headers: str) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.client.get(path, headers=headers) as response:
            return response, await response.read()


@pytest.fixture
def purge_allow() -> tuple[str, ...]:
    """Who may call nginx's purge location; a test parametrizes it to change that."""
    return NginxOptions.purge_allow


@pytest.fixture
async def front(
    settings: Settings,
    tmp_path: Path,
    purge_allow: tuple[str, ...],
    aiohttp_server,
    aiohttp_client,
) -> AsyncIterator[Front]:
    nginx = Nginx(tmp_path / "nginx", upstreams=(), purge_allow=purge_allow)
    async with fronted(nginx, settings, aiohttp_server, aiohttp_client) as opened:
        yield opened


@contextlib.asynccontextmanager
async def fronted(
    nginx: Nginx,
    settings: Settings,
    aiohttp_server,
    aiohttp_client,
    *purge_urls: str,
    **purge_changes: Any,
) -> AsyncIterator[Front]:
    """nginx in front of an origin on `settings`, whose purges also go to `purge_urls`."""
    settings = dataclasses.replace(
        settings,
        purge=dataclasses.replace(
            settings.purge,
            nginx_purge_urls=",".join((nginx.purge_url, *purge_urls)),
            **purge_changes,
        ),
        origin=dataclasses.replace(settings.origin, error_max_age=1),
    ).validated()
    reached: Counter[str] = Counter()
    accepts: list[str | None] = []

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        reached[request.raw_path] += 1
        accepts.append(request.headers.get("Accept"))

    async with open_services(settings) as services:
        origin_app, admin_app = build_apps(services)
        origin_app.on_response_prepare.append(count)
        server = await aiohttp_server(origin_app)
        nginx.upstreams = (f"127.0.0.1:{server.port}",)
        nginx.start()
        try:
            admin = await aiohttp_client(admin_app)
            async with aiohttp.ClientSession(nginx.url) as client:
                yield Front(nginx, client, admin, services, reached, accepts)
        finally:
            nginx.stop()


@pytest.fixture
async def tenant(front: Front) -> Tenant:
    return await new_tenant(front.services)


async def raw_get(port: int, target: str) -> tuple[int, dict[str, str]]:
    """GET `target` byte for byte (HTTP clients tidy a trailing `?` or a `#` away)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head, _, _ = (await reader.read()).partition(b"\r\n\r\n")
    finally:
        writer.close()
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines)
    return int(status_line.split()[1]), {k.lower(): v.strip() for k, _, v in fields}


async def published(front: Front, tenant: Tenant, data: bytes, key: str) -> str:
    image = await upload(front.admin, tenant, data, key=key, activate="true")
    return image["id"]


async def test_the_second_request_is_an_nginx_hit_that_never_reaches_the_origin(
    front: Front, tenant: Tenant
) -> None:
    await published(front, tenant, jpeg(600, 400), "cat.jpg")
    path = f"/{tenant.name}/cat.jpg?w=120&fm=webp"
    first, body = await front.get(path)
    assert first.status == 200 and first.headers["X-Cache-Status"] == "MISS"
    second, again = await front.get(path)
    assert second.status == 200 and second.headers["X-Cache-Status"] == "HIT"
    assert again == body and encoded(again).width == 120
    assert front.reached[path] == 1
    # The origin's headers reach the client through the cache.
    assert second.headers["ETag"] == first.headers["ETag"]
    assert "s-maxage" in second.headers["Cache-Control"]


async def test_each_format_class_gets_its_own_correct_entry(front: Front, tenant: Tenant) -> None:
    await published(front, tenant, jpeg(600, 400), "neg.jpg")
    path = f"/{tenant.name}/neg.jpg?w=100&auto=format"
    expected = {CHROME: "image/avif", EDGE_OLD: "image/webp", SAFARI_OLD: "image/jpeg"}
    for accept, mime in expected.items():
        response, body = await front.get(path, Accept=accept)
        assert response.headers["X-Cache-Status"] == "MISS", accept
        assert response.content_type == mime and encoded(body).width == 100
        assert response.headers["Vary"] == "Accept"
    # Other browsers of the same class are served from the same entries.
    for accept, mime in {
        FIREFOX_OLD: "image/webp",
        "image/avif,*/*": "image/avif",
        "*/*": "image/jpeg",
        "": "image/jpeg",
        # AVIF refused outright is no AVIF support.
        "image/avif;q=0,image/webp,*/*": "image/webp",
        "image/avif;q=0.0, image/webp;q=0, */*": "image/jpeg",
    }.items():
        response, _ = await front.get(path, Accept=accept)
        assert response.headers["X-Cache-Status"] == "HIT", accept
        assert response.content_type == mime, accept
    # Three renders, and the origin was told the class, never a browser's string.
    assert front.reached[path] == 3
    assert set(front.accepts) == {"image/avif,image/webp,*/*", "image/webp,*/*", "*/*"}


async def test_concurrent_first_requests_reach_the_origin_once(
    front: Front, tenant: Tenant
) -> None:
    await published(front, tenant, jpeg(1600, 1200), "herd.jpg")
    path = f"/{tenant.name}/herd.jpg?w=640&fm=avif"
    answers = await asyncio.gather(*(front.get(path) for _ in range(24)))
    assert {response.status for response, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    assert front.reached[path] == 1


async def test_replacing_an_original_purges_nginx(front: Front, tenant: Tenant) -> None:
    red, blue = (bytes(flat(64, 48, c).pngsave_buffer()) for c in (RED, BLUE))
    image_id = await published(front, tenant, red, "swap.png")
    paths = [f"/{tenant.name}/swap.png?w=32", f"/{tenant.name}/swap.png?w=32&fm=webp"]
    for path in paths:
        await front.get(path)
        response, body = await front.get(path)
        assert response.headers["X-Cache-Status"] == "HIT"
        assert near(encoded(body)(16, 16), RED)

    replaced = await front.admin.put(
        f"{tenant.images}/{image_id}/original", data=blue, headers=tenant.auth()
    )
    assert replaced.status == 200, await replaced.text()
    assert (await replaced.json())["version"] == 2

    for path in paths:
        response, body = await front.get(path)
        assert response.headers["X-Cache-Status"] == "MISS", path
        assert near(encoded(body)(16, 16), BLUE)
        assert front.reached[path] == 2


async def test_admin_purge_evicts_every_uri_an_image_was_served_under(
    front: Front, tenant: Tenant
) -> None:
    image_id = await published(front, tenant, jpeg(300, 200), "p.jpg")
    other_id = await published(front, tenant, jpeg(300, 200), "q.jpg")
    # Served under three URIs (one percent-escaped as sent), each in two classes.
    paths = [
        f"/{tenant.name}/p.jpg?w=50",
        f"/{tenant.name}/p.jpg?w=60&auto=format",
        f"/{tenant.name}/%70.jpg?w=70",
    ]
    for path in paths:
        for accept in (CHROME, SAFARI_OLD):
            await front.get(path, Accept=accept)
    kept = f"/{tenant.name}/q.jpg?w=50"
    await front.get(kept)

    purged = await front.admin.post(
        "/v1/purge", json={"library": tenant.name, "images": [image_id]}, headers=tenant.auth()
    )
    report = await purged.json()
    assert purged.status == 200, report
    assert report["complete"] and report["images"] == 1 and report["missing"] == []
    assert report["hooks"]["nginx"] == {"ok": True, "uris": 3, "evicted": 6}
    assert report["variants"] == 4  # w=50, w=60 avif and jpeg, w=70

    for path in paths:
        for accept in (CHROME, SAFARI_OLD):
            response, _ = await front.get(path, Accept=accept)
            assert response.headers["X-Cache-Status"] == "MISS", (path, accept)
    response, _ = await front.get(kept)
    assert response.headers["X-Cache-Status"] == "HIT"

    # By key, and the whole library.
    by_key = await front.admin.post(
        "/v1/purge",
        json={"library": tenant.name, "keys": ["q.jpg", "gone.jpg"]},
        headers=tenant.auth(),
    )
    assert (await by_key.json())["missing"] == ["gone.jpg"]
    response, _ = await front.get(kept)
    assert response.headers["X-Cache-Status"] == "MISS"
    everything = await front.admin.post(
        "/v1/purge", json={"library": tenant.name}, headers=tenant.auth()
    )
    report = await everything.json()
    assert report["images"] == 2 and report["hooks"]["nginx"]["evicted"] >= 1
    response, _ = await front.get(kept)
    assert response.headers["X-Cache-Status"] == "MISS"
    assert other_id


async def test_uris_of_any_shape_are_evicted(front: Front, tenant: Tenant) -> None:
    """A URI is purged exactly as the browser sent it: an empty query, a fragment sent
    along, escapes."""
    await published(front, tenant, jpeg(300, 200), "odd.jpg")
    paths = [
        f"/{tenant.name}/odd.jpg?",
        f"/{tenant.name}/odd.jpg?w=52#frag",
        f"/{tenant.name}/%6Fdd.jpg?w=53&",
    ]
    for path in paths:
        status, _ = await raw_get(front.nginx.port, path)
        assert status == 200, path
    assert set(front.reached) == set(paths)  # the origin saw them as sent
    purged = await front.admin.post(
        "/v1/purge", json={"library": tenant.name, "keys": ["odd.jpg"]}, headers=tenant.auth()
    )
    assert (await purged.json())["hooks"]["nginx"] == {"ok": True, "uris": 3, "evicted": 3}
    for path in paths:
        _, headers = await raw_get(front.nginx.port, path)
        assert headers["x-cache-status"] == "MISS", path


async def test_a_new_image_under_an_old_key_purges_what_the_old_one_left(
    front: Front, tenant: Tenant
) -> None:
    old_id = await published(front, tenant, jpeg(300, 200), "k.jpg")
    path = f"/{tenant.name}/k.jpg?w=30"
    await front.get(path)
    # The old image's purge failed to reach nginx (say): its variant is still cached.
    await front.services.catalog.images.set_status(
        await front.services.catalog.libraries.get(tenant.name), old_id, Status.DELETED
    )
    new_id = await published(front, tenant, jpeg(200, 300), "k.jpg")
    response, _ = await front.get(path)
    assert response.headers["X-Cache-Status"] == "HIT"  # the old picture
    purged = await front.admin.post(
        "/v1/purge", json={"library": tenant.name, "images": [new_id]}, headers=tenant.auth()
    )
    assert (await purged.json())["hooks"]["nginx"]["evicted"] == 1
    response, body = await front.get(path)
    assert response.headers["X-Cache-Status"] == "MISS" and encoded(body).height == 45


async def test_deleting_an_image_evicts_it_from_nginx(front: Front, tenant: Tenant) -> None:
    image_id = await published(front, tenant, jpeg(300, 200), "d.jpg")
    path = f"/{tenant.name}/d.jpg?w=40"
    await front.get(path)
    deleted = await front.admin.delete(f"{tenant.images}/{image_id}", headers=tenant.auth())
    assert deleted.status == 204
    response, _ = await front.get(path)
    assert response.status == 404 and response.headers["X-Cache-Status"] == "MISS"


async def test_a_404_is_cached_only_briefly(front: Front, tenant: Tenant) -> None:
    path = f"/{tenant.name}/later.jpg?w=40"
    response, _ = await front.get(path)
    assert response.status == 404 and response.headers["Cache-Control"] == "public, max-age=1"
    response, _ = await front.get(path)
    assert response.status == 404 and response.headers["X-Cache-Status"] == "HIT"
    await published(front, tenant, jpeg(300, 200), "later.jpg")
    await asyncio.sleep(2.1)  # nginx counts whole seconds: max-age=1 lasts up to 2
    response, body = await front.get(path)
    assert response.status == 200 and encoded(body).width == 40


async def test_head_and_range_through_nginx(front: Front, tenant: Tenant) -> None:
    await published(front, tenant, jpeg(600, 400), "h.jpg")
    path = f"/{tenant.name}/h.jpg?w=200"
    async with front.client.head(path) as head:
        assert head.status == 200 and head.headers["X-Cache-Status"] == "MISS"
        length = int(head.headers["Content-Length"])
    response, body = await front.get(path)
    assert response.headers["X-Cache-Status"] == "HIT" and len(body) == length
    ranged, part = await front.get(path, Range="bytes=10-19")
    assert ranged.status == 206 and part == body[10:20]
    assert front.reached[path] == 1


async def test_the_admin_api_is_not_reachable_through_nginx(front: Front, tenant: Tenant) -> None:
    path = f"/v1/libraries/{tenant.name}/images"
    response, _ = await front.get(path, **tenant.auth())
    assert response.status in (400, 404)  # the origin's answer to a path of no image
    assert front.reached[path] == 1


# Every address but the tests' own, which is where the origin calls from too.
@pytest.mark.parametrize("purge_allow", [("192.0.2.1",)])
async def test_only_allowed_hosts_may_purge(front: Front, tenant: Tenant) -> None:
    await published(front, tenant, jpeg(300, 200), "kept.jpg")
    path = f"/{tenant.name}/kept.jpg?w=40"
    _, body = await front.get(path)
    # The very key the entry is cached under: an allowed host would evict it.
    async with front.client.get(
        front.nginx.purge_url, headers={PURGE_KEY_HEADER: f"other{path}"}
    ) as refused:
        assert refused.status == 403
    purged = await front.admin.post(
        "/v1/purge", json={"library": tenant.name, "keys": ["kept.jpg"]}, headers=tenant.auth()
    )
    report = await purged.json()
    assert not report["complete"] and not report["hooks"]["nginx"]["ok"], report
    response, again = await front.get(path)
    assert response.headers["X-Cache-Status"] == "HIT" and again == body
    assert front.reached[path] == 1


async def test_cache_busters_leave_at_most_the_cap_and_a_purge_stays_bounded(
    settings: Settings, tmp_path: Path, aiohttp_server, aiohttp_client
) -> None:
    cap = 40
    # A second purge location that counts the calls each nginx gets.
    purge_calls: Counter[str] = Counter()

    async def count_purge(request: web.Request) -> web.Response:
        purge_calls[request.headers[PURGE_KEY_HEADER]] += 1
        return web.Response(status=404)  # nothing cached here

    counter = web.Application()
    counter.router.add_get(PURGE_PATH, count_purge)
    counting = str((await aiohttp_server(counter)).make_url(PURGE_PATH))
    nginx = Nginx(tmp_path / "nginx", upstreams=())
    async with fronted(
        nginx, settings, aiohttp_server, aiohttp_client, counting, nginx_uris_per_image=cap
    ) as front:
        tenant = await new_tenant(front.services)
        image_id = await published(front, tenant, jpeg(300, 200), "bust.jpg")
        path = f"/{tenant.name}/bust.jpg?w=64"
        first, _ = await front.get(path)
        again, _ = await front.get(path)
        assert again.headers["X-Cache-Status"] == "HIT"
        assert "X-Accel-Expires" not in first.headers  # for nginx only

        # 10,000 cache busters (ixlib is ignored: one variant), straight at the origin:
        # through nginx they would reach it just the same, each a new cache key.
        statuses: Counter[tuple[int, str]] = Counter()
        limit = asyncio.Semaphore(32)
        async with aiohttp.ClientSession(f"http://{nginx.upstreams[0]}") as direct:

            async def bust(i: int) -> None:
                async with limit, direct.get(f"{path}&ixlib=js-{i}") as response:
                    await response.read()
                    kind = response.headers["Cache-Control"].partition(",")[0]
                    statuses[(response.status, kind)] += 1

            await asyncio.gather(*(bust(i) for i in range(10_000)))
        assert statuses == {(200, "public"): cap - 1, (200, "private"): 10_000 - (cap - 1)}
        library = await front.services.catalog.libraries.get(tenant.name)
        assert library is not None
        assert len(await front.services.catalog.served.served_uris(library.id, ["bust.jpg"])) == cap

        # Past the cap nginx keeps nothing: each request reaches the origin.
        late = f"{path}&ixlib=late"
        for _ in range(2):
            response, _ = await front.get(late)
            assert response.headers["X-Cache-Status"] == "MISS"
            assert response.headers["Cache-Control"].startswith("private, max-age=86400")
        assert front.reached[late] == 2

        # One purge: three calls (format classes) per recorded URI to each nginx.
        purged = await front.admin.post(
            "/v1/purge", json={"library": tenant.name, "images": [image_id]}, headers=tenant.auth()
        )
        report = await purged.json()
        assert report["hooks"]["nginx"]["uris"] == cap
        assert sum(purge_calls.values()) == len(purge_calls) == cap * 3
        response, _ = await front.get(path)
        assert response.headers["X-Cache-Status"] == "MISS"  # the real nginx was purged too


async def test_records_lapse_no_sooner_than_nginx_entries(
    settings: Settings, tmp_path: Path, aiohttp_server, aiohttp_client
) -> None:
    # A lifetime of 4 s: nginx asks again after 2, records older than 4 are pruned.
    nginx = Nginx(tmp_path / "nginx", upstreams=())
    async with fronted(
        nginx, settings, aiohttp_server, aiohttp_client, nginx_inactive=4, nginx_uris_per_image=2
    ) as front:
        tenant = await new_tenant(front.services)
        await published(front, tenant, jpeg(300, 200), "lapse.jpg")
        await published(front, tenant, jpeg(300, 200), "other.jpg")
        library = await front.services.catalog.libraries.get(tenant.name)
        assert library is not None
        hot, cold, full, fresh, other = (
            f"/{tenant.name}/{name}?w={w}"
            for name, w in (
                ("lapse.jpg", 10),
                ("lapse.jpg", 11),
                ("lapse.jpg", 12),
                ("lapse.jpg", 13),
                ("other.jpg", 10),
            )
        )
        for path in (hot, cold, other):
            response, _ = await front.get(path)
            assert response.headers["Cache-Control"].startswith("public"), path
        response, _ = await front.get(full)  # the key's cap of two is reached
        assert response.headers["Cache-Control"].startswith("private")

        # nginx holds a hot entry only until it must ask again, which renews its record.
        response, _ = await front.get(hot)
        assert response.headers["X-Cache-Status"] == "HIT"
        await asyncio.sleep(3)
        response, _ = await front.get(hot)
        assert response.headers["X-Cache-Status"] != "HIT"
        for _ in range(50):  # a background update reaches the origin a moment later
            if front.reached[hot] == 2:
                break
            await asyncio.sleep(0.1)
        assert front.reached[hot] == 2

        # Past the lifetime, records nobody renewed are gone, for this key and others;
        # the key has room again.
        await asyncio.sleep(1.5)
        response, _ = await front.get(fresh)
        assert response.headers["Cache-Control"].startswith("public")
        kept = await front.services.catalog.served.served_uris(library.id, ["lapse.jpg"])
        assert sorted(kept) == sorted([hot, fresh])
        assert await front.services.catalog.served.served_uris(library.id, ["other.jpg"]) == []
