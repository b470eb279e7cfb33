"""Handler for a library's statistics: its images, what its originals and variants
take in the store, and how often the origin rendered and served its variants."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import web

from admin_api import contracts as wire
from admin_api.images import call
from cache.variants import variant_prefix
from storage import BlobStore

# Image folders measured at once. Each is a folder walk on disk or at least one
# ListObjectsV2 on S3, so a library of n images costs n of them: bounded, so a large
# library does not flood the store (or the event loop's threads).
USAGE_CONCURRENCY = 16


async def variants_usage(store: BlobStore, image_ids: Iterable[str]) -> tuple[int, int]:
    """(variants, bytes) stored for these images, every version of each."""
    pending = iter(list(image_ids))
    totals = [0, 0]

    async def worker() -> None:
        for image_id in pending:  # workers share the one iterator
            count, size = await store.usage(variant_prefix(image_id))
            totals[0] += count
            totals[1] += size

    await asyncio.gather(*(worker() for _ in range(USAGE_CONCURRENCY)))
    return totals[0], totals[1]


async def library_stats(request: web.Request) -> web.Response:
    """Images by status, their originals' bytes, their stored variants, and the
    renders and hits counted since `since` (the whole fleet's, plus what this
    process has not flushed yet). Measuring the variants lists the store: its cost
    grows with the library (see variants_usage)."""
    c = await call(request)
    catalog, library = c.admin.catalog, c.library
    usage = await catalog.stats.usage(library)
    variants, variant_bytes = await variants_usage(
        c.admin.store, await catalog.images.live_ids(library)
    )
    counted = await catalog.stats.counts(library)
    renders, hits, since = counted if counted is not None else (0, 0, None)
    if c.admin.counters is not None:
        more_renders, more_hits = c.admin.counters.unflushed(library.id)
        renders, hits = renders + more_renders, hits + more_hits
        since = since or c.admin.counters.started
    return wire.respond(
        wire.LibraryStats(
            library=library.name,
            images=wire.ImageCounts(
                pending=usage["pending"], active=usage["active"], deleted=usage["deleted"]
            ),
            original_bytes=usage["bytes"],
            variants=wire.VariantUsage(count=variants, bytes=variant_bytes),
            renders=renders,
            hits=hits,
            since=since.isoformat() if since is not None else None,
        )
    )
