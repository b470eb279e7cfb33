"""The public origin: `GET /{library}/{key}?{params}` (and the path dialects of
origin.adapters), the read path of DESIGN.md."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from urllib.parse import quote

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from cache import Outcome, ServedUris, VariantCache, image_tag, library_tag
from catalog import UNAVAILABLE as CATALOG_UNAVAILABLE
from catalog import Image, Resolver, UrlPolicy
from origin import dialect, ranges, url
from origin.adapters import Address
from origin.counters import ServeCounters
from origin.errors import HTTPError, NotFound, error_middleware
from origin.hits import HitMemo, Remembered
from origin.pipeline.pool import RenderPool
from origin.pipeline.render import render
from origin.settings import OriginSettings
from origin.variants import Variant
from storage import BlobStore, BlobStream, StoreUnavailable, original_key

log = logging.getLogger(__name__)


class OriginalMissing(HTTPError):
    """The catalog names an original the store does not have: our fault, not the client's."""

    status, default_code = 500, "original_missing"


@dataclass(frozen=True, slots=True)
class Answer:
    """What a request gets: a variant, with the headers of its answer."""

    variant: Variant
    headers: dict[str, str]
    negotiated: bool  # its format depended on Accept
    memorable: bool  # its answer may be remembered (origin.hits)


def _not_found(library: str, key: str) -> NotFound:
    return NotFound(f"no image at {library}/{key}", code="image_not_found")


@dataclass(frozen=True)
class Probe:
    """One dependency /readyz checks: `check` raises when it cannot serve. Without a
    `required` one the origin cannot answer; without another it serves, degraded."""

    name: str
    check: Callable[[], Awaitable[None]]
    required: bool = True


@dataclass(frozen=True)
class Origin:
    """The read path's collaborators, injected by the composition root."""

    resolver: Resolver[Image]
    policies: Resolver[UrlPolicy]
    variants: VariantCache
    store: BlobStore
    pool: RenderPool
    settings: OriginSettings
    served: ServedUris | None = None
    probes: tuple[Probe, ...] = field(default=())
    counters: ServeCounters | None = None  # renders and hits per library
    memo: HitMemo | None = None  # repeat hits answered from memory

    async def admit(self, parsed: Address) -> dialect.Request:
        """The request a parsed URL makes under its library's policy; 400 or 403 when
        it may not be served (see url.admit)."""
        policy = await self.policies.resolve(parsed.library, "")
        return url.admit(parsed, policy, time.time())

    async def resolve(self, library: str, key: str) -> Image:
        image = await self.resolver.resolve(library, key)
        if image is None:
            raise _not_found(library, key)
        return image

    @property
    def generation(self) -> int:
        """Taken as a request begins: what the memo had forgotten by then."""
        return self.memo.generation if self.memo is not None else 0

    def recall(self, request: web.Request) -> web.Response | None:
        """The answer to a URL asked for before, from memory (origin.hits)."""
        if self.memo is None:
            return None
        found = self.memo.recall(request.raw_path, request.headers.get(hdrs.ACCEPT))
        if found is None:
            return None
        if etag_matches(request, found.variant.etag):
            return web.Response(status=304, headers=found.headers)
        self.count(found.variant.image, Outcome.HIT)
        return send_rendered(request, found.body, found.variant, found.hit_headers)

    async def variant_for(
        self, request: web.Request, image: Image, asked: dialect.Request
    ) -> Answer:
        """The variant of `image` a request gets (its format negotiated by Accept),
        and the headers to answer with."""
        variant, negotiated = Variant.for_accept(
            image, asked.spec, request.headers.get(hdrs.ACCEPT)
        )
        headers = variant_headers(variant, negotiated, self.settings, asked.expires)
        if asked.download is not None:
            headers[hdrs.CONTENT_DISPOSITION] = attachment(asked.download)
        kept = await self.kept_by_nginx(image, request.raw_path, headers)
        headers.update(kept)
        # An answer whose lifetime runs out, or that nginx may not keep (no purge would
        # reach it), must be computed afresh each time.
        memorable = asked.expires is None and hdrs.CACHE_CONTROL not in kept
        return Answer(variant, headers, negotiated, memorable)

    async def deliver(self, request: web.Request, answer: Answer, since: int) -> web.StreamResponse:
        """304 when the client has it; else the stored variant, or a render of it.
        A small stored one is remembered (`since`: the generation the request began in)."""
        variant, headers = answer.variant, answer.headers
        if etag_matches(request, variant.etag):
            return web.Response(status=304, headers=headers)
        async with self.variants.stored(variant.key) as stored:
            if stored is not None:
                self.count(variant.image, Outcome.HIT)
                if not self.memorable(answer, stored.info.size):
                    return await send_stored(request, stored, variant, headers)
                found = self.remember(request, answer, await stored.read(), since)
                return send_rendered(request, found.body, variant, found.hit_headers)
        data, outcome = await self.fetch(variant)
        self.count(variant.image, outcome)
        headers["X-Cache"] = outcome.value
        return send_rendered(request, data, variant, headers)

    def memorable(self, answer: Answer, size: int) -> bool:
        return self.memo is not None and answer.memorable and size <= self.memo.max_variant

    def remember(self, request: web.Request, answer: Answer, body: bytes, since: int) -> Remembered:
        image = answer.variant.image
        # No longer than the lookups it stands for would be answered from their caches.
        until = min(
            self.resolver.cached_until(image.library, image.key),
            self.policies.cached_until(image.library, ""),
            # nor past when the URI is due to be recorded again for nginx's purges
            math.inf
            if self.served is None
            else self.served.recorded_until(image.library_id, image.key, request.raw_path),
        )
        found = Remembered(answer.variant, body, answer.headers, until)
        assert self.memo is not None
        self.memo.remember(
            request.raw_path, request.headers.get(hdrs.ACCEPT), answer.negotiated, since, found
        )
        return found

    async def fetch(self, variant: Variant) -> tuple[bytes, Outcome]:
        async def render_variant() -> bytes:
            async with self.pool.slot():
                original = await self.store.get(original_key(variant.image.sha256))
                if original is None:
                    await self.still_current(variant.image)  # deleted since we resolved it
                    raise OriginalMissing(f"the original of image {variant.image.id} is missing")
                return await self.pool.run(
                    render, original.data, variant.spec, self.settings.render_limits
                )

        # Deleted or replaced while we rendered? Then its purge may have run before our
        # put, and the variant would stay where nothing will ever delete it.
        still_wanted = functools.partial(self.still_current, variant.image)
        return await self.variants.get_or_render(
            variant.key, variant.mime, render_variant, still_wanted
        )

    async def stored_or_rendered(self, variant: Variant) -> Outcome:
        """Have the variant stored where requests find it, as a miss would (`imgorigin
        warm`): HIT when it is there already (only its head read), else `fetch`'s outcome."""
        if await self.store.head(variant.key) is not None:
            return Outcome.HIT
        _, outcome = await self.fetch(variant)
        return outcome

    def count(self, image: Image, outcome: Outcome) -> None:
        if self.counters is not None:
            self.counters.count(image.library_id, outcome)

    async def kept_by_nginx(
        self, image: Image, uri: str, headers: dict[str, str]
    ) -> dict[str, str]:
        """Headers that keep nginx from holding an answer no purge would reach. `uri`
        is recorded under the image's key, so purging the image can evict it; when it
        cannot be (the catalog failed, or the key has its cap of URIs), nginx must not
        cache the answer; when it is, nginx asks again before the record lapses."""
        if self.served is None:
            return {}
        try:
            recorded = await self.served.record(image.library_id, image.key, uri)
        except CATALOG_UNAVAILABLE as exc:
            log.warning("could not record %s for purges, answering uncacheable: %r", uri, exc)
            return {hdrs.CACHE_CONTROL: "private, no-store"}
        if not recorded:
            # Browsers may keep it as long as ever; shared caches (nginx, a CDN), which
            # s-maxage speaks to, may not keep a private answer at all.
            return {hdrs.CACHE_CONTROL: headers[hdrs.CACHE_CONTROL].replace("public", "private")}
        return {"X-Accel-Expires": str(self.served.nginx_expires)}  # hidden from clients

    async def still_current(self, image: Image) -> None:
        current = await self.resolver.resolve(image.library, image.key, fresh=True)
        if current is None or (current.id, current.version) != (image.id, image.version):
            raise _not_found(image.library, image.key)


ORIGIN = web.AppKey("origin", Origin)


def etag_matches(request: web.Request, tag: str) -> bool:
    header = request.headers.get(hdrs.IF_NONE_MATCH, "")
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return tag in candidates or "*" in candidates


async def serve_image(request: web.Request) -> web.StreamResponse:
    """The read path of DESIGN.md, one step a line."""
    origin = request.app[ORIGIN]
    since = origin.generation
    if (remembered := origin.recall(request)) is not None:
        return remembered  # a URL answered before from the store
    # Raw as sent: an imgproxy signature covers the path, escapes and all.
    parsed = url.parse(request.rel_url.raw_path, request.rel_url.raw_query_string)
    asked = await origin.admit(parsed)
    image = await origin.resolve(parsed.library, parsed.key)
    answer = await origin.variant_for(request, image, asked)
    return await origin.deliver(request, answer, since)


def send_rendered(
    request: web.Request, data: bytes, variant: Variant, headers: dict[str, str]
) -> web.Response:
    """A variant just rendered (or waited for), whole or the range asked of it."""
    part = ranges.requested(request.method, request.headers, variant.etag, len(data))
    if part is None:
        return web.Response(body=data, content_type=variant.mime, headers=headers)
    return web.Response(
        status=206,
        body=data[part.start : part.stop],
        content_type=variant.mime,
        headers={**headers, hdrs.CONTENT_RANGE: part.content_range},
    )


async def send_stored(
    request: web.Request, stored: BlobStream, variant: Variant, headers: dict[str, str]
) -> web.StreamResponse:
    """A stored variant, whole or the range asked of it, chunk by chunk: a large one is
    never all in memory, and a range is read without the bytes before it.

    Each chunk is sent only once the next read has succeeded, because a store may find
    a blob damaged only at its end (S3 checks the checksum on the last read): a failure
    then cuts the body short, so no client or CDN takes it for a whole image. Once the
    headers are out there is no error response to send, so the connection is dropped.
    """
    part = ranges.requested(request.method, request.headers, variant.etag, stored.info.size)
    response = web.StreamResponse(headers={**headers, "X-Cache": Outcome.HIT.value})
    response.content_type = variant.mime
    if part is None:
        response.content_length = stored.info.size
        body = stored.chunks
    else:
        response.set_status(206)
        response.headers[hdrs.CONTENT_RANGE] = part.content_range
        response.content_length = part.stop - part.start
        body = stored.ranged(part.start, part.stop)
    if request.method == hdrs.METH_HEAD:
        await response.prepare(request)
        await response.write_eof()
        return response
    chunks = aiter(body)
    held = await anext(chunks, b"")  # a failure here is still an error response
    if len(held) == response.content_length:
        # All of it in one read, as most variants are, and the store content with it
        # (S3 checks the checksum at the end): one Response, whose headers and body
        # leave in one write, not two (a tenth of a hit's time).
        if await anext(chunks, None) is not None:
            raise StoreUnavailable(f"{variant.key} holds more bytes than its size says")
        return web.Response(status=response.status, body=held, headers=response.headers)
    await response.prepare(request)
    try:
        async for chunk in chunks:
            await response.write(held)
            held = chunk
    except StoreUnavailable as exc:
        log.warning("%s: the store failed mid-body, dropping the connection: %s", request.path, exc)
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write(held)
    await response.write_eof()
    return response


def attachment(filename: str) -> str:
    """Content-Disposition for a download: an ASCII name for old clients, the real
    one (RFC 6266) for the rest."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def variant_headers(
    variant: Variant, negotiated: bool, settings: OriginSettings, expires: int | None = None
) -> dict[str, str]:
    """`expires`: when the URL stops working (unix seconds); no cache keeps it longer."""
    image = variant.image
    tags = (library_tag(image.library), image_tag(image.id))
    lifetime = None if expires is None else int(expires - time.time())
    headers = {
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.CACHE_CONTROL: settings.cache_control(lifetime),
        hdrs.ETAG: variant.etag,
        hdrs.LAST_MODIFIED: format_datetime(image.updated_at.astimezone(UTC), usegmt=True),
        # What a CDN purges by: every variant of an image, or of a library.
        "Surrogate-Key": " ".join(tags),  # Fastly
        "Cache-Tag": ",".join(tags),  # Cloudflare
        "X-Content-Type-Options": "nosniff",
        # Nothing in a picture may run: a browser opening one gets no scripts, no fetches.
        "Content-Security-Policy": "default-src 'none'",
    }
    if negotiated:
        headers[hdrs.VARY] = "Accept"
    return headers


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers (its pid tells workers sharing a port apart).
    Readiness is /readyz."""
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    """Whether this process can serve: 200 `ok` or `degraded` (it serves without an
    optional dependency, such as Redis), 503 `unavailable` when a required one fails."""
    probes = request.app[ORIGIN].probes
    results = await asyncio.gather(*(_run_probe(p) for p in probes))
    checks = {p.name: result for p, result in zip(probes, results, strict=True)}
    failed = [p for p, result in zip(probes, results, strict=True) if result != "ok"]
    if any(p.required for p in failed):
        status, http_status = "unavailable", 503
    else:
        status, http_status = ("degraded" if failed else "ok"), 200
    return web.json_response(
        {"status": status, "checks": checks},
        status=http_status,
        headers={hdrs.CACHE_CONTROL: "no-store"},
    )


PROBE_TIMEOUT = 2.0


async def _run_probe(probe: Probe) -> str:
    try:
        await asyncio.wait_for(probe.check(), PROBE_TIMEOUT)
    except Exception as exc:  # a probe reports any failure; it never raises
        # The details (internal host names) go to the log, not to the public port.
        log.warning("readiness: %s failed: %r", probe.name, exc)
        return f"failed: {type(exc).__name__}"
    return "ok"


CACHEABLE_ERRORS = frozenset({400, 404, 410, 422})  # the same URL gives the same answer


def error_caching(cache_control: str) -> Middleware:
    """Errors that a URL will keep giving get a short Cache-Control, so a CDN neither
    forwards every repeat of a bad URL nor keeps the error for a year; 403 and 5xx stay
    uncached (a signature or an outage can change any moment)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if response.status in CACHEABLE_ERRORS:
            response.headers[hdrs.CACHE_CONTROL] = cache_control
        return response

    return middleware


def create_origin_app(origin: Origin) -> web.Application:
    app = web.Application(
        middlewares=[error_caching(origin.settings.error_cache_control), error_middleware]
    )
    app[ORIGIN] = origin
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/{library}/{key:.+}", serve_image)
    return app
