"""Purge: every layer that may hold a variant of an image forgets it.

The layers, in the order they are purged (an outer cache refilled from an inner one
that still holds the old bytes would keep them):
1. the blob store: `VariantCache.purge`;
2. nginx, by exact cache key: the module cannot match a prefix, so the origin records
   each URI it answered for an image's key (`ServedUris`) and the purge names them all;
3. CDNs and a webhook, by tag: the `Surrogate-Key` / `Cache-Tag` values the origin
   sends with every variant (`image_tag`, `library_tag`).

A hook that fails is retried, then reported: the purge goes on with the other layers
and says what it could not reach, so the caller can run it again. The outer layers
are purged once more a little later (`repeat_after`): a response that was on its way
to nginx while the purge ran (a render finishing, a slow store read) is cached after
the first pass, and nothing else would ever evict it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from cache.outbound import SIGNATURE_HEADER, CallFailed, send, signature
from cache.settings import PurgeSettings
from cache.singleflight import VariantCache

log = logging.getLogger(__name__)

# nginx's side of the purge protocol (imgorigin/nginxconf.py writes the config): a
# request to PURGE_PATH evicts the cache key named in the PURGE_KEY_HEADER, which is
# `{class}{uri}`. In a header, not the URL: the URI as the browser sent it, a trailing
# `?` or a `#` included, would not survive being sent as part of another URL.
PURGE_PATH = "/_purge"
PURGE_KEY_HEADER = "X-Imgorigin-Purge-Key"
FORMAT_CLASSES = ("avif", "webp", "other")
NGINX_CONCURRENCY = 16
STORE_CONCURRENCY = 16


def image_tag(image_id: str) -> str:
    return f"image-{image_id}"


def library_tag(library: str) -> str:
    return f"library-{library}"


class ServedLog(Protocol):
    """Where the URIs served per key are kept (the catalog)."""

    async def record_served(
        self, library_id: int, key: str, uri: str, cap: int, lifetime: float
    ) -> bool: ...

    async def prune_served(self, lifetime: float) -> int: ...

    async def served_uris(self, library_id: int, keys: list[str] | None) -> list[str]: ...


# How long this process takes a key that refused a URI to be full, before asking again.
FULL_KEPT = 60.0


class ServedUris:
    """Records each URI the origin answers for a key, so purges can name it to nginx.

    Bounded, whatever anonymous traffic sends (cache busters, reordered parameters):
    at most `cap` URIs a key, and a row lives `lifetime` seconds (nginx's `inactive`)
    from the last time the origin answered its URI. Past the cap an answer is not
    recorded, and the caller tells nginx not to keep it. A recorded answer tells nginx
    to ask again after half the lifetime (`nginx_expires`), and this process records
    a URI again once half the lifetime has passed: so when nginx asks, the row has at
    least half the lifetime left, and no entry nginx holds outlives its row, however
    hot it is (a hit in nginx never reaches the origin to refresh it).

    Each process remembers what it recorded, and which keys were full (for FULL_KEPT
    seconds), so neither a URI seen again nor a flood of new ones for a full key costs
    a write."""

    def __init__(
        self, log: ServedLog, cap: int, lifetime: float, remembered: int = 100_000
    ) -> None:
        self._log = log
        self.cap = cap
        self.lifetime = lifetime
        self._recorded: OrderedDict[bytes, float] = OrderedDict()  # when, by digest
        self._full: OrderedDict[bytes, float] = OrderedDict()
        self._remembered = remembered
        self._next_prune = 0.0

    @property
    def nginx_expires(self) -> int:
        """Seconds nginx may keep a recorded answer before asking the origin again."""
        return max(1, int(self.lifetime // 2))

    def recorded_until(self, library_id: int, key: str, uri: str) -> float:
        """Until when (time.monotonic()) `uri` counts as recorded without being
        recorded again; -inf when it is not."""
        seen = _digest(library_id, key, uri)
        return self._recorded.get(seen, -math.inf) + self.lifetime / 2

    async def record(self, library_id: int, key: str, uri: str) -> bool:
        """Whether `uri` is recorded for the key's purges; False past the key's cap."""
        # Remembered by digest: a URI may be 8 KB, and a hundred thousand are kept.
        image, seen = _digest(library_id, key), _digest(library_id, key, uri)
        now = time.monotonic()
        if now - self._recorded.get(seen, -math.inf) < self.lifetime / 2:
            self._recorded.move_to_end(seen)
            return True
        if now - self._full.get(image, -math.inf) < min(FULL_KEPT, self.lifetime / 2):
            return False
        if now >= self._next_prune:  # rows only grow with traffic, so traffic prunes
            self._next_prune = now + min(3600.0, self.lifetime / 10)
            await self._log.prune_served(self.lifetime)
        if await self._log.record_served(library_id, key, uri, self.cap, self.lifetime):
            _remember(self._recorded, seen, now, self._remembered)
            self._full.pop(image, None)
            return True
        _remember(self._full, image, now, self._remembered)
        return False


def _digest(*parts: object) -> bytes:
    text = "\0".join(map(str, parts)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).digest()


def _remember(memory: OrderedDict[bytes, float], item: bytes, at: float, most: int) -> None:
    memory[item] = at
    memory.move_to_end(item)
    if len(memory) > most:
        memory.popitem(last=False)


@dataclass(frozen=True)
class PurgeTarget:
    """The variants to purge: of these images, served under these keys; or
    (`whole_library`) of every image of a library, listed in `image_ids` all the same
    for the layers that purge by image."""

    library: str
    library_id: int
    image_ids: tuple[str, ...]
    keys: tuple[str, ...] = ()
    whole_library: bool = False

    @property
    def tags(self) -> list[str]:
        if self.whole_library:
            return [library_tag(self.library)]
        return [image_tag(i) for i in self.image_ids]


class PurgeHook(Protocol):
    @property
    def name(self) -> str: ...

    async def purge(self, target: PurgeTarget) -> dict[str, int]:
        """Purge `target` from this layer; counts to report. Raises CallFailed."""


@dataclass
class PurgeReport:
    variants: int = 0
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(result["ok"] for result in self.hooks.values())

    def to_json(self) -> dict[str, Any]:
        return {"variants": self.variants, "hooks": self.hooks, "complete": self.complete}


class Purger:
    def __init__(
        self,
        variants: VariantCache,
        hooks: Sequence[PurgeHook],
        repeat_after: float = 0,
        forget: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """`forget(library)`: every process forgets what it holds in memory of the
        library's URLs (origin.hits), between the store's purge and the hooks'."""
        self._variants = variants
        self._hooks = hooks
        self._repeat_after = repeat_after
        self._forget = forget
        self._repeats: set[asyncio.Task[None]] = set()

    async def purge(self, target: PurgeTarget) -> PurgeReport:
        limit = asyncio.Semaphore(STORE_CONCURRENCY)  # a library may hold many images

        async def purge_variants(image_id: str) -> int:
            async with limit:
                return await self._variants.purge(image_id)

        counts = await asyncio.gather(*(purge_variants(i) for i in target.image_ids))
        # After the store, so nothing remembers again what it is about to lose; before
        # nginx and the CDNs, so none of them fetches it again from a memory.
        if self._forget is not None:
            await self._forget(target.library)
        report = PurgeReport(variants=sum(counts), hooks=await self._run_hooks(target))
        if self._hooks and self._repeat_after:
            repeat = asyncio.create_task(self._repeat(target))
            self._repeats.add(repeat)
            repeat.add_done_callback(self._repeats.discard)
        return report

    async def _run_hooks(self, target: PurgeTarget) -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {}
        for hook in self._hooks:  # in order: nginx before the CDNs that pull through it
            try:
                results[hook.name] = {"ok": True, **await hook.purge(target)}
            except CallFailed as exc:
                log.warning("purge of %s: %s failed: %s", target.library, hook.name, exc)
                results[hook.name] = {"ok": False, "error": str(exc)}
        return results

    async def _repeat(self, target: PurgeTarget) -> None:
        await asyncio.sleep(self._repeat_after)
        await self._run_hooks(target)

    async def close(self) -> None:
        """Cancel the repeats still waiting (a stopping process cannot keep them)."""
        for repeat in list(self._repeats):
            repeat.cancel()
        await asyncio.gather(*self._repeats, return_exceptions=True)


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class NginxPurge:
    name = "nginx"

    def __init__(self, session: aiohttp.ClientSession, urls: Sequence[str], served: ServedLog):
        self._session = session
        self._urls = list(urls)
        self._served = served

    async def purge(self, target: PurgeTarget) -> dict[str, int]:
        keys = None if target.whole_library else list(target.keys)
        served = await self._served.served_uris(target.library_id, keys)
        limit = asyncio.Semaphore(NGINX_CONCURRENCY)

        async def evict(url: str, cache_key: str) -> bool:
            headers = {PURGE_KEY_HEADER: cache_key}
            async with limit:  # 404: nothing cached under that key
                status = await send(
                    self._session, "GET", url, lambda s: s in (200, 404), headers=headers
                )
                return status == 200

        results = await asyncio.gather(
            *(
                evict(url, f"{format_class}{uri}")
                for url in self._urls
                for uri in served
                for format_class in FORMAT_CLASSES
            ),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise CallFailed(f"{len(failures)} of {len(results)} keys: {failures[0]}")
        return {"uris": len(served), "evicted": sum(1 for r in results if r is True)}


@dataclass(frozen=True)
class TagPurge:
    """Purge by tag through a CDN's API: one POST of `{field: [tags]}` per `batch` tags."""

    name: str
    session: aiohttp.ClientSession
    url: str
    headers: dict[str, str]
    field: str
    batch: int

    async def purge(self, target: PurgeTarget) -> dict[str, int]:
        batches = _batches(target.tags, self.batch)
        for tags in batches:
            await send(
                self.session, "POST", self.url, json={self.field: tags}, headers=self.headers
            )
        return {"calls": len(batches)}


def cloudflare_purge(session: aiohttp.ClientSession, api: str, zone: str, token: str) -> TagPurge:
    """By Cache-Tag: POST /zones/{zone}/purge_cache, 30 tags a call."""
    url = f"{api}/zones/{zone}/purge_cache"
    headers = {"Authorization": f"Bearer {token}"}
    return TagPurge("cloudflare", session, url, headers, "tags", 30)


def fastly_purge(session: aiohttp.ClientSession, api: str, service: str, token: str) -> TagPurge:
    """By Surrogate-Key: POST /service/{id}/purge, 256 keys a call."""
    url = f"{api}/service/{service}/purge"
    return TagPurge("fastly", session, url, {"Fastly-Key": token}, "surrogate_keys", 256)


class WebhookPurge:
    """POSTs what was purged as JSON; signed with HMAC-SHA256 when a secret is set."""

    name = "webhook"

    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str):
        self._session, self._url, self._secret = session, url, secret

    async def purge(self, target: PurgeTarget) -> dict[str, int]:
        body = json.dumps(
            {
                "event": "purge",
                "library": target.library,
                "images": None if target.whole_library else list(target.image_ids),
                "tags": target.tags,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        await send(self._session, "POST", self._url, data=body, headers=headers)
        return {}


def purge_hooks(
    settings: PurgeSettings, session: aiohttp.ClientSession, served: ServedLog
) -> list[PurgeHook]:
    """The hooks the settings configure, in purge order."""
    hooks: list[PurgeHook] = []
    if settings.nginx_urls:
        hooks.append(NginxPurge(session, settings.nginx_urls, served))
    if settings.cloudflare_zone_id:
        hooks.append(
            cloudflare_purge(
                session,
                settings.cloudflare_api_url,
                settings.cloudflare_zone_id,
                settings.cloudflare_api_token,
            )
        )
    if settings.fastly_service_id:
        hooks.append(
            fastly_purge(
                session,
                settings.fastly_api_url,
                settings.fastly_service_id,
                settings.fastly_api_token,
            )
        )
    if settings.webhook_url:
        hooks.append(WebhookPurge(session, settings.webhook_url, settings.webhook_secret))
    return hooks
