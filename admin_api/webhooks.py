"""Webhooks per library: what happened to its images, POSTed as signed JSON.

`emit` only puts the event on a bounded queue; deliveries run in the background,
each retried with backoff, so a slow or dead receiver never holds up the request
that caused the event, nor grows memory past the queue. Delivery is at most once
per process lifetime: events still queued when the process stops are lost (logged).

Receivers verify `X-Imgorigin-Signature: sha256=<hex HMAC-SHA256 of the raw body
with the webhook's secret>`, and may drop repeats by `X-Imgorigin-Delivery`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import secrets
import socket
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from admin_api import contracts as c
from admin_api.auth import authorize
from admin_api.contracts import EVENTS, MAX_URL
from admin_api.service import ADMIN
from admin_api.settings import AdminSettings
from admin_api.uploads import read_model
from cache.outbound import SIGNATURE_HEADER, CallFailed, send, signature
from catalog import Library, LimitReached, Webhook, WebhookRegistry
from origin.errors import BadRequest, NotFound

log = logging.getLogger(__name__)

MAX_WEBHOOKS = 20
MAX_WEBHOOK_BODY = 8192
CONCURRENCY = 8  # deliveries under way at once, per process


def _private(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return host.lower().rstrip(".") in ("localhost", "localhost.localdomain")


class PublicResolver(AbstractResolver):
    """Resolves names to global addresses only, so a webhook URL cannot make the server
    call its own loopback or private network, even through a name that points there."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = [
            a for a in await self._resolver.resolve(host, port, family) if not _private(a["host"])
        ]
        if not found:
            raise OSError(f"{host} has no public address")
        return found

    async def close(self) -> None:
        await self._resolver.close()


def check_url(url: str, private_allowed: bool) -> str:
    """An absolute http(s) URL with a host (not a private address unless allowed)."""
    try:
        parsed = URL(url)
        host = parsed.host  # decoded here: a malformed IDNA label raises UnicodeError
    except ValueError:
        parsed, host = None, None
    if (
        parsed is None
        or not url.isprintable()  # control characters, lone surrogates
        or len(url) > MAX_URL
        or parsed.scheme not in ("http", "https")
        or not host
        or parsed.user is not None
    ):
        raise BadRequest(
            "url is an absolute http(s) URL without credentials", code="invalid_webhook"
        )
    if not private_allowed and _private(host):
        raise BadRequest(
            "url names a loopback or private address (IMGORIGIN_WEBHOOK_PRIVATE_ADDRESSES)",
            code="invalid_webhook",
        )
    return url


class Webhooks:
    """The delivery side: `emit` from anywhere, `start` and `close` by the owner."""

    def __init__(self, registry: WebhookRegistry, settings: AdminSettings) -> None:
        self._registry = registry
        self._settings = settings
        self._queue: asyncio.Queue[tuple[Library, dict[str, Any]]] = asyncio.Queue(
            settings.webhook_queue
        )
        self._session: aiohttp.ClientSession | None = None
        self._resolver: PublicResolver | None = None
        self._worker: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        # aiohttp closes only a resolver it made itself; ours is closed in `close`.
        self._resolver = None if self._settings.webhook_private_addresses else PublicResolver()
        connector = aiohttp.TCPConnector(resolver=self._resolver)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout),
        )
        self._worker = asyncio.create_task(self._run())

    def emit(self, library: Library, event: str, data: dict[str, Any]) -> None:
        assert event in EVENTS
        payload = {
            "id": "evt_" + secrets.token_hex(8),
            "event": event,
            "library": library.name,
            "created_at": datetime.now(UTC).isoformat(),
            "data": data,
        }
        try:
            self._queue.put_nowait((library, payload))
        except asyncio.QueueFull:
            log.warning(
                "webhook queue full: %s %s of %s dropped", event, payload["id"], library.name
            )

    async def _run(self) -> None:
        limit = asyncio.Semaphore(CONCURRENCY)
        while True:
            library, payload = await self._queue.get()
            await limit.acquire()
            task = asyncio.create_task(self._deliver(library, payload))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
            task.add_done_callback(lambda _: limit.release())
            self._queue.task_done()

    async def _deliver(self, library: Library, payload: dict[str, Any]) -> None:
        try:
            hooks = await self._registry.listed(
                library.id, payload["event"], datetime.fromisoformat(payload["created_at"])
            )
        except Exception:  # the catalog is down: nothing to deliver to is known
            log.exception("webhooks of %s: lookup failed, %s lost", library.name, payload["id"])
            return
        body = json.dumps(payload).encode()
        await asyncio.gather(*(self._post(hook, payload, body) for hook in hooks))

    async def _post(self, hook: Webhook, payload: dict[str, Any], body: bytes) -> None:
        assert self._session is not None
        if not self._settings.webhook_private_addresses and _private(URL(hook.url).host or ""):
            log.warning("webhook %s: %s is a private address; not called", hook.id, hook.url)
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "imgorigin-webhook",
            "X-Imgorigin-Event": payload["event"],
            "X-Imgorigin-Delivery": payload["id"],
            SIGNATURE_HEADER: signature(hook.secret, body),
        }
        try:
            await send(
                self._session,
                "POST",
                hook.url,
                attempts=self._settings.webhook_attempts,
                backoff=self._settings.webhook_backoff,
                data=body,
                headers=headers,
            )
        except CallFailed as exc:
            log.warning(
                "webhook %s: %s %s not delivered: %s", hook.id, payload["event"], payload["id"], exc
            )

    async def close(self) -> None:
        """Deliver what is queued, for up to the webhook timeout, then stop."""
        if self._worker is None:
            return
        try:
            async with asyncio.timeout(self._settings.webhook_timeout):
                await self._queue.join()
                await asyncio.gather(*self._deliveries, return_exceptions=True)
        except TimeoutError:
            log.warning("stopping with %d webhook event(s) undelivered", self._queue.qsize())
        self._worker.cancel()
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(self._worker, *self._deliveries, return_exceptions=True)
        assert self._session is not None
        await self._session.close()
        if self._resolver is not None:
            await self._resolver.close()


# Handlers


async def create_webhook(request: web.Request) -> web.Response:
    """`{"url": ..., "events": [...]}` (no events: every one); the answer's `secret`
    is shown this once."""
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog)
    idle = admin.settings.upload_idle_timeout
    body = await read_model(request, c.WebhookCreate, MAX_WEBHOOK_BODY, idle)
    url = check_url(body.url, admin.settings.webhook_private_addresses)
    events = sorted(set(body.events))
    try:
        hook = await admin.catalog.webhooks.create(library, url, events, MAX_WEBHOOKS)
    except LimitReached as exc:
        raise BadRequest(str(exc), code="too_many_webhooks") from None
    return c.respond(c.NewWebhook.of(hook, secret=hook.secret), 201)


async def list_webhooks(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog)
    hooks = await admin.catalog.webhooks.listed(library.id)
    return c.respond(c.WebhookList(items=[c.Webhook.of(hook) for hook in hooks]))


async def delete_webhook(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog)
    webhook_id = request.match_info["webhook_id"]
    if not webhook_id.isprintable() or not await admin.catalog.webhooks.delete(library, webhook_id):
        raise NotFound(f"no webhook {webhook_id!r} in {library.name!r}", code="webhook_not_found")
    return web.Response(status=204)
