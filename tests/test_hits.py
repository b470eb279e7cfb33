"""origin.hits: repeat hits answered from memory, exactly as the store answers them,
and forgotten by every process when the image or its library changes.

Two sets of services on one database, one Redis and one store stand for two
processes; a third without the memory answers each request the way the origin did
before it, for comparison. A variant removed from the store behind the origin's back
shows where an answer came from: only the memory still has it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from catalog import Role, Scheme
from imgorigin.app import Services, build_apps, open_services
from imgorigin.settings import Settings
from origin import signing
from origin.hits import HitMemo, Remembered
from tests import images
from tests.conftest import Tenant, library_of, new_tenant, upload

Apps = tuple[TestClient, TestClient]  # (origin, admin)


def with_redis(settings: Settings, redis_url: str, prefix: str, **origin: int) -> Settings:
    """On Redis; lookups cached far longer than a test, so that only an invalidation
    can explain a process answering differently after a change."""
    return dataclasses.replace(
        settings,
        cache=dataclasses.replace(settings.cache, redis_url=redis_url, redis_prefix=prefix),
        catalog=dataclasses.replace(settings.catalog, resolve_cache_ttl=600),
        origin=dataclasses.replace(settings.origin, **origin),
    )


@pytest.fixture
async def pair(
    settings: Settings, redis_url: str, redis_prefix: str, aiohttp_client
) -> AsyncIterator[tuple[Services, Apps, Apps, TestClient]]:  # type: ignore[no-untyped-def]
    """Services of process A, the apps of A and B, and an origin with no memory."""
    remembering = with_redis(settings, redis_url, redis_prefix)
    forgetful = with_redis(settings, redis_url, redis_prefix, hit_memory=0)
    async with (
        open_services(remembering) as a,
        open_services(remembering) as b,
        open_services(forgetful) as plain,
    ):
        assert a.memo is not None and plain.memo is None
        apps = []
        for services in (a, b, plain):
            origin_app, admin_app = build_apps(services)
            apps.append((await aiohttp_client(origin_app), await aiohttp_client(admin_app)))
        yield a, apps[0], apps[1], apps[2][0]


async def published(services: Services, admin: TestClient) -> tuple[Tenant, str]:
    """A fresh library with an active image at cat.jpg; the image's id."""
    tenant = await new_tenant(services)
    body = await upload(admin, tenant, images.jpeg(300, 200), key="cat.jpg", activate="true")
    return tenant, body["id"]


async def remembered(origin: TestClient, url: str) -> None:
    """Ask until the answer has come from the store (the first time, or the second,
    after a render): from then on it is held."""
    first = await origin.get(url)
    assert first.status == 200
    if first.headers["X-Cache"] != "HIT":
        again = await origin.get(url)
        assert (again.status, again.headers["X-Cache"]) == (200, "HIT")


async def hide_variants(services: Services) -> None:
    """Remove every stored variant without telling anyone."""
    await services.store.delete_prefix("variants/")


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 3) -> None:
    """Another process hears of a change through Redis, a moment later."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "the other process never heard of the change"
        await asyncio.sleep(0.02)


def without_date(headers: object) -> dict[str, str]:
    return {k: v for k, v in dict(headers).items() if k not in ("Date", "Server")}  # type: ignore[call-overload]


ASKS = [
    ("GET", {}),
    ("HEAD", {}),
    ("GET", {"Range": "bytes=10-99"}),
    ("GET", {"Range": "bytes=-20"}),
    ("GET", {"Accept": "image/avif,image/webp,*/*"}),
]


async def test_a_repeat_hit_is_answered_from_memory_as_the_store_answers_it(pair) -> None:  # type: ignore[no-untyped-def]
    a, (origin, admin), _, plain = pair
    tenant, _ = await published(a, admin)
    library = await library_of(a, tenant)
    for query in ("w=60&fm=webp", "w=60&auto=format", "w=60&dl=kitten.jpg"):
        url = f"/{tenant.name}/cat.jpg?{query}"
        await remembered(origin, url)
        for method, headers in ASKS:
            await plain.get(url, headers=headers)  # stored, if it was not
            expected = await plain.request(method, url, headers=headers)
            before = a.counters.unflushed(library.id)[1]
            answered = await origin.request(method, url, headers=headers)
            assert answered.status == expected.status, (url, method, headers)
            assert without_date(answered.headers) == without_date(expected.headers)
            assert await answered.read() == await expected.read()
            assert a.counters.unflushed(library.id)[1] == before + 1, "the hit is counted"
        etag = (await plain.get(url)).headers["ETag"]
        not_modified = await origin.get(url, headers={"If-None-Match": etag})
        reference = await plain.get(url, headers={"If-None-Match": etag})
        assert not_modified.status == reference.status == 304
        assert without_date(not_modified.headers) == without_date(reference.headers)
    await hide_variants(a)
    for query in ("w=60&fm=webp", "w=60&dl=kitten.jpg"):
        url = f"/{tenant.name}/cat.jpg?{query}"
        assert (await origin.get(url)).headers["X-Cache"] == "HIT"  # from memory
        assert (await plain.get(url)).headers["X-Cache"] == "MISS"


async def test_auto_format_is_remembered_per_accept_class(pair) -> None:  # type: ignore[no-untyped-def]
    a, (origin, admin), _, _ = pair
    tenant, _ = await published(a, admin)
    url = f"/{tenant.name}/cat.jpg?w=50&auto=format"
    for accept in ("image/webp", "image/avif,image/webp", "*/*"):
        for _ in range(2):
            await origin.get(url, headers={"Accept": accept})
    await hide_variants(a)
    for accept, mime in [
        ("image/webp,*/*;q=0.8", "image/webp"),
        ("image/avif", "image/avif"),
        ("image/png,*/*", "image/jpeg"),
    ]:
        response = await origin.get(url, headers={"Accept": accept})
        assert (response.headers["X-Cache"], response.content_type) == ("HIT", mime)


async def change_is_seen(
    pair,  # type: ignore[no-untyped-def]
    change: Callable[[TestClient, Tenant, str], Awaitable[None]],
    seen: Callable[[object], bool | Awaitable[bool]],
) -> None:
    """Both processes remember a URL; `change` it through A's admin API; then A at
    once, and B as soon as Redis tells it, answer as `seen` says, not from memory."""
    a, (origin_a, admin), (origin_b, _), _ = pair
    tenant, image_id = await published(a, admin)
    url = f"/{tenant.name}/cat.jpg?w=40&fm=png"
    await remembered(origin_a, url)
    await remembered(origin_b, url)
    await change(admin, tenant, image_id)
    # Nothing stored any more: a HIT could only come from a memory.
    await hide_variants(a)
    assert await answers(seen, await origin_a.get(url))

    async def b_sees_it() -> bool:
        await hide_variants(a)
        return await answers(seen, await origin_b.get(url))

    await eventually(b_sees_it)


async def answers(seen: Callable[[object], bool | Awaitable[bool]], response: object) -> bool:
    verdict = seen(response)
    return await verdict if not isinstance(verdict, bool) else verdict


def not_found(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status == 404


def rendered_again(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status == 200 and response.headers["X-Cache"] != "HIT"


async def test_a_purge_is_forgotten_everywhere(pair) -> None:  # type: ignore[no-untyped-def]
    async def purge(admin: TestClient, tenant: Tenant, image_id: str) -> None:
        body = {"library": tenant.name, "images": [image_id]}
        response = await admin.post("/v1/purge", json=body, headers=tenant.auth())
        assert response.status == 200

    await change_is_seen(pair, purge, rendered_again)


async def test_a_deactivation_is_forgotten_everywhere(pair) -> None:  # type: ignore[no-untyped-def]
    async def deactivate(admin: TestClient, tenant: Tenant, image_id: str) -> None:
        url = f"{tenant.images}/{image_id}/deactivate"
        assert (await admin.post(url, headers=tenant.auth())).status == 200

    await change_is_seen(pair, deactivate, not_found)


async def test_a_deletion_is_forgotten_everywhere(pair) -> None:  # type: ignore[no-untyped-def]
    async def delete(admin: TestClient, tenant: Tenant, image_id: str) -> None:
        assert (await admin.delete(f"{tenant.images}/{image_id}", headers=tenant.auth())).ok

    await change_is_seen(pair, delete, not_found)


async def test_a_replacement_is_forgotten_everywhere(pair) -> None:  # type: ignore[no-untyped-def]
    new = images.jpeg(200, 300)  # upright: w=40 is 60 high, and was 27

    async def replace(admin: TestClient, tenant: Tenant, image_id: str) -> None:
        response = await admin.put(
            f"{tenant.images}/{image_id}/original",
            data=new,
            headers={**tenant.auth(), "Content-Type": "image/jpeg"},
        )
        assert response.status == 200

    async def new_version(response) -> bool:  # type: ignore[no-untyped-def]
        return rendered_again(response) and images.encoded(await response.read()).height == 60

    await change_is_seen(pair, replace, new_version)


async def test_a_library_that_starts_requiring_signatures_is_forgotten_everywhere(pair) -> None:  # type: ignore[no-untyped-def]
    async def require_signed(admin: TestClient, tenant: Tenant, image_id: str) -> None:
        body = {"settings": {"require_signed": True}}
        response = await admin.patch(
            f"/v1/libraries/{tenant.name}", json=body, headers=tenant.auth(Role.ADMIN)
        )
        assert response.status == 200, await response.text()

    await change_is_seen(pair, require_signed, lambda response: response.status == 403)


async def test_an_expiring_url_is_never_remembered(pair) -> None:  # type: ignore[no-untyped-def]
    a, (origin, admin), _, _ = pair
    tenant, _ = await published(a, admin)
    library = await library_of(a, tenant)
    key = await a.catalog.signing_keys.create(library, Scheme.NATIVE)
    path = f"/{tenant.name}/cat.jpg"
    url = f"{path}?{signing.sign(key, path, f'w=30&expires={int(time.time()) + 60}')}"
    for _ in range(3):
        assert (await origin.get(url)).status == 200
    await hide_variants(a)
    assert (await origin.get(url)).headers["X-Cache"] == "MISS"


async def test_nothing_is_answered_from_memory_while_redis_is_away(
    settings: Settings, private_redis, aiohttp_client, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    remembering = with_redis(settings, private_redis.url, "away:")
    async with open_services(remembering) as services:
        origin = await aiohttp_client(build_apps(services)[0])
        admin = await aiohttp_client(build_apps(services)[1])
        tenant, _ = await published(services, admin)
        url = f"/{tenant.name}/cat.jpg?w=20&fm=png"
        await remembered(origin, url)
        private_redis.stop()
        await hide_variants(services)
        assert services.redis is not None

        async def noticed() -> bool:
            return not services.redis.available  # type: ignore[union-attr]

        await eventually(noticed, seconds=15)
        assert (await origin.get(url)).headers["X-Cache"] != "HIT"


# The memory itself


def entry(library: str, key: str, size: int, until: float = float("inf")) -> Remembered:
    variant = type("V", (), {"image": type("I", (), {"library": library, "key": key})()})()
    return Remembered(variant, b"x" * size, {}, until)  # type: ignore[arg-type]


def test_the_memory_holds_at_most_its_bytes_and_only_small_variants() -> None:
    memo = HitMemo(max_bytes=300, max_variant=120, listening=lambda: True)
    for n in range(4):
        memo.remember(f"/l/{n}", None, False, 0, entry("l", f"{n}", 100))
    memo.remember("/l/big", None, False, 0, entry("l", "big", 121))
    assert [memo.recall(f"/l/{n}", None) is not None for n in range(4)] == [
        False,  # the least recently used went first
        True,
        True,
        True,
    ]
    assert memo.recall("/l/big", None) is None


def test_the_memory_forgets_by_image_and_by_library_and_after_its_time() -> None:
    memo = HitMemo(max_bytes=10_000, max_variant=1000, listening=lambda: True)
    memo.remember("/l/a?w=1", None, False, 0, entry("l", "a", 10))
    memo.remember("/l/a?w=2", "image/webp", True, 0, entry("l", "a", 10))
    memo.remember("/l/b", None, False, 0, entry("l", "b", 10))
    memo.remember("/m/a", None, False, 0, entry("m", "a", 10))
    memo.remember("/m/old", None, False, 0, entry("m", "old", 10, until=time.monotonic() - 1))
    assert memo.recall("/l/a?w=2", "image/webp") is not None
    assert memo.recall("/l/a?w=2", None) is None  # another Accept class
    memo.forget("l", "a")
    assert memo.recall("/l/a?w=1", None) is None and memo.recall("/l/a?w=2", "image/webp") is None
    assert memo.recall("/l/b", None) is not None
    memo.forget("l", "")
    assert memo.recall("/l/b", None) is None and memo.recall("/m/a", None) is not None
    assert memo.recall("/m/old", None) is None


def test_an_answer_computed_while_something_was_forgotten_is_not_remembered() -> None:
    listening = True
    memo = HitMemo(max_bytes=10_000, max_variant=1000, listening=lambda: listening)
    since = memo.generation
    memo.forget("l", "a")
    memo.remember("/l/a", None, False, since, entry("l", "a", 10))
    assert memo.recall("/l/a", None) is None
    memo.remember("/l/a", None, False, memo.generation, entry("l", "a", 10))
    assert memo.recall("/l/a", None) is not None
    listening = False
    assert memo.recall("/l/a", None) is None


async def test_an_answer_lives_no_longer_than_its_record_for_nginx(
    settings: Settings, redis_url: str, redis_prefix: str, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    # nginx is told to ask again after half of `inactive` (1 s here), and the URI is
    # then recorded again: the memory must not answer past it, or the record lapses.
    remembering = with_redis(settings, redis_url, redis_prefix)
    remembering = dataclasses.replace(
        remembering,
        purge=dataclasses.replace(
            remembering.purge, nginx_purge_urls="http://127.0.0.1:9/_purge", nginx_inactive=2
        ),
    )
    async with open_services(remembering) as services:
        assert services.served is not None
        origin_app, admin_app = build_apps(services)
        origin, admin = await aiohttp_client(origin_app), await aiohttp_client(admin_app)
        tenant, _ = await published(services, admin)
        url = f"/{tenant.name}/cat.jpg?w=20&fm=png"
        await remembered(origin, url)
        await hide_variants(services)
        assert (await origin.get(url)).headers["X-Cache"] == "HIT"  # from memory
        await asyncio.sleep(1.1)
        assert (await origin.get(url)).headers["X-Cache"] == "MISS"
