"""Settings of the variant cache: where renders are coordinated, and for how long."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CacheSettings:
    redis_url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_REDIS_URL",
            "help": "Redis (`redis://host:6379/0`) shared by a fleet: one render per variant "
            "across every process, and catalog changes seen by every process at once. "
            "Empty: file locks under `<data dir>/locks` (one host, many workers).",
        },
    )
    redis_prefix: str = field(
        default="imgorigin:",
        metadata={
            "env": "IMGORIGIN_REDIS_PREFIX",
            "help": "Prefix of every Redis key and channel, so deployments can share a Redis.",
        },
    )
    redis_timeout: float = field(
        default=0.5,
        metadata={
            "env": "IMGORIGIN_REDIS_TIMEOUT",
            "above": 0,
            "help": "Seconds allowed for connecting to Redis and for each command. When Redis "
            "fails, renders fall back to per-process single-flight until it is back.",
        },
    )
    render_lease: float = field(
        default=10.0,
        metadata={
            "env": "IMGORIGIN_RENDER_LEASE",
            "above": 0,
            "help": "Seconds a render claim lives without renewal (it is renewed while the "
            "render runs); the longest a dead claimant can hold up the others.",
        },
    )
    render_wait: float = field(
        default=30.0,
        metadata={
            "env": "IMGORIGIN_RENDER_WAIT",
            "above": 0,
            "help": "Seconds a request waits for another process's render of the same "
            "variant before answering 503 with Retry-After.",
        },
    )

    def validate(self) -> None:
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("IMGORIGIN_REDIS_URL must be a redis://, rediss:// or unix:// URL")
