"""The composition root: builds every service once and injects it into both apps.

The origin and the admin API share one set of services (one pool of database
connections, one render pool, one variant cache), so their lifetimes are owned by
`open_services`, not by either app's cleanup_ctx.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from admin_api.app import create_admin_app
from admin_api.service import Admin
from admin_api.webhooks import Webhooks
from cache import (
    FileFlights,
    Flights,
    Purger,
    RedisFlights,
    RedisLink,
    ServedUris,
    VariantCache,
    purge_hooks,
)
from catalog import Catalog, Image, Resolver, UrlPolicy, start_embedded
from catalog.resolver import Lookup
from imgorigin.settings import Settings
from origin.app import Origin, Probe, create_origin_app
from origin.counters import ServeCounters
from origin.hits import HitMemo
from origin.pipeline import vips
from origin.pipeline.pool import RenderPool
from storage import BlobStore, open_store

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    settings: Settings
    catalog: Catalog
    store: BlobStore
    variants: VariantCache
    resolver: Resolver[Image]
    policies: Resolver[UrlPolicy]
    pool: RenderPool
    redis: RedisLink | None
    purger: Purger
    served: ServedUris | None  # recorded for nginx's purge by exact key, when nginx is set
    admin: Admin
    counters: ServeCounters  # renders and hits per library, flushed to the catalog
    memo: HitMemo | None = None  # repeat hits answered from memory (origin.hits)

    def probes(self) -> tuple[Probe, ...]:
        probes = [Probe("catalog", self.catalog.ping), Probe("store", self.store.health)]
        if self.redis is not None:
            probes.append(Probe("redis", self.redis.health, required=False))
        return tuple(probes)


async def database_url(settings: Settings) -> str:
    """The configured PostgreSQL, or the embedded one under the data dir."""
    if settings.catalog.database_url:
        return settings.catalog.database_url
    return await start_embedded(settings.server.data_dir, settings.catalog.timeout)


@asynccontextmanager
async def open_catalog(settings: Settings) -> AsyncIterator[Catalog]:
    url = await database_url(settings)
    async with Catalog.connect(url, settings.catalog) as catalog:
        yield catalog


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    vips.configure()
    async with AsyncExitStack() as stack:
        catalog = await stack.enter_async_context(open_catalog(settings))
        await catalog.migrate()
        store = await stack.enter_async_context(
            open_store(settings.storage, settings.server.data_dir)
        )
        await store.health()
        pool = RenderPool(settings.origin.workers, settings.origin.render_queue)
        stack.callback(pool.close)
        link = RedisLink(settings.cache) if settings.cache.redis_url else None
        # Two lookups by library/key, cached per process: images, and each library's
        # URL rules (under key ""). Changes made through the admin API reach every
        # process through Redis; the CLI's (signing keys) within the cache's TTL.
        # Repeat hits answered from memory: only where every invalidation reaches this
        # process (Redis), and only while it does.
        memo = (
            HitMemo(
                settings.origin.hit_memory,
                settings.origin.hit_memory_max_variant,
                listening=lambda: link is not None and link.available,
            )
            if link is not None and settings.origin.hit_memory > 0
            else None
        )
        resolver = _cached(catalog.images.resolve, settings, link, memo)
        policies = _cached(catalog.libraries.url_policy, settings, link, memo)
        flights: Flights
        if link is None:
            flights = FileFlights(settings.server.data_dir / "locks")
        else:
            stack.push_async_callback(link.close)

            def forget(message: Any) -> None:
                resolver.forget(*message)
                policies.forget(*message)

            def clear() -> None:
                resolver.clear()
                policies.clear()

            link.on_invalidate, link.on_reconnect = forget, clear
            await link.start(wait=2 * settings.cache.redis_timeout)
            flights = RedisFlights(link, settings.cache.render_lease)
        variants = VariantCache(store, flights, settings.cache.render_wait)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.purge.timeout))
        )
        hooks = purge_hooks(settings.purge, session, catalog.served)
        # Key "" names the whole library: the memo forgets its URLs (origin.hits).
        purger = Purger(
            variants,
            hooks,
            settings.purge.repeat_after,
            forget=functools.partial(resolver.invalidate, key=""),
        )
        stack.push_async_callback(purger.close)
        served = None
        if settings.purge.nginx_urls:
            purge = settings.purge
            served = ServedUris(catalog.served, purge.nginx_uris_per_image, purge.nginx_inactive)
        webhooks = Webhooks(catalog.webhooks, settings.admin)
        webhooks.start()
        stack.push_async_callback(webhooks.close)
        counters = ServeCounters(catalog.stats, settings.origin.stats_flush_interval)
        counters.start()
        stack.push_async_callback(counters.close)  # flushes once more
        admin = Admin(
            catalog=catalog,
            store=store,
            purger=purger,
            resolver=resolver,
            policies=policies,
            pool=pool,
            events=webhooks,
            settings=settings.admin,
            public_url=settings.public_url,
            source_limits=settings.origin.source_limits,
            counters=counters,
        )
        yield Services(
            settings,
            catalog,
            store,
            variants,
            resolver,
            policies,
            pool,
            link,
            purger,
            served,
            admin,
            counters,
            memo,
        )


def _cached(
    lookup: Lookup[T], settings: Settings, link: RedisLink | None, memo: HitMemo | None
) -> Resolver[T]:
    return Resolver(
        lookup,
        settings.catalog.resolve_cache_ttl,
        settings.catalog.resolve_cache_size,
        broadcast=link.broadcast_invalidation if link else None,
        also=memo,
    )


def create_origin(services: Services) -> Origin:
    """The read path on `services`: what the origin app serves with, and what
    `imgorigin warm` renders through."""
    return Origin(
        resolver=services.resolver,
        policies=services.policies,
        variants=services.variants,
        store=services.store,
        pool=services.pool,
        settings=services.settings.origin,
        served=services.served,
        probes=services.probes(),
        counters=services.counters,
        memo=services.memo,
    )


def build_apps(services: Services) -> tuple[web.Application, web.Application]:
    """(origin app, admin app), sharing `services`."""
    return create_origin_app(create_origin(services)), create_admin_app(services.admin)
