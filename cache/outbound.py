"""Calls this service makes to others (purge APIs, webhooks): retried, bounded, signed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import aiohttp
from yarl import URL

SIGNATURE_HEADER = "X-Imgorigin-Signature"


class CallFailed(Exception):
    """A call did not succeed, after its retries; the message says how it failed."""


def signature(secret: str, body: bytes) -> str:
    """The `X-Imgorigin-Signature` value: `sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _succeeded(status: int) -> bool:
    return 200 <= status < 300


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    done: Callable[[int], bool] = _succeeded,
    *,
    attempts: int = 3,
    backoff: float = 0.25,
    **kwargs: Any,
) -> int:
    """The status of one call, retried on connection errors, timeouts, 429 and 5xx,
    `backoff` seconds after the first attempt and twice as long after each next one;
    CallFailed unless `done(status)` at last. The session's timeout bounds each try."""
    problem = ""
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
        try:
            # No redirects: they would carry tokens and signed bodies wherever they point.
            async with session.request(method, url, allow_redirects=False, **kwargs) as response:
                await response.read()
                if done(response.status):
                    return response.status
                problem = f"HTTP {response.status}"
                if response.status != 429 and response.status < 500:
                    break  # our request is wrong; asking again will not help
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = repr(exc)
    raise CallFailed(f"{method} {URL(url).with_query(None)}: {problem}")
