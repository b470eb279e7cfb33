"""Settings of the admin API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AdminSettings:
    max_upload_bytes: int = field(
        default=50 * 1024 * 1024,
        metadata={
            "env": "IMGORIGIN_MAX_UPLOAD_BYTES",
            "min": 1,
            "help": "Largest original accepted, in bytes; larger uploads answer 413.",
        },
    )
    upload_idle_timeout: float = field(
        default=30.0,
        metadata={
            "env": "IMGORIGIN_UPLOAD_IDLE_TIMEOUT",
            "above": 0,
            "help": "Seconds an upload body may go without sending a byte; then 408.",
        },
    )
    public_url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_PUBLIC_URL",
            "help": "Base URL of the public origin, used in the `url` of admin answers. "
            "Empty means `http://<host>:<origin port>`.",
        },
    )

    webhook_attempts: int = field(
        default=5,
        metadata={
            "env": "IMGORIGIN_WEBHOOK_ATTEMPTS",
            "min": 1,
            "help": "Tries per webhook delivery, on connection errors, timeouts, 429 and 5xx.",
        },
    )
    webhook_backoff: float = field(
        default=1.0,
        metadata={
            "env": "IMGORIGIN_WEBHOOK_BACKOFF",
            "min": 0,
            "help": "Seconds before a webhook's second try; doubled before each next one.",
        },
    )
    webhook_timeout: float = field(
        default=10.0,
        metadata={
            "env": "IMGORIGIN_WEBHOOK_TIMEOUT",
            "above": 0,
            "help": "Seconds allowed for each webhook call; also how long a stopping "
            "process waits for deliveries still under way.",
        },
    )
    webhook_queue: int = field(
        default=1000,
        metadata={
            "env": "IMGORIGIN_WEBHOOK_QUEUE",
            "min": 1,
            "help": "Events waiting for delivery, per process; past it, new events are "
            "dropped (and logged), so a dead receiver cannot grow memory.",
        },
    )
    webhook_private_addresses: bool = field(
        default=False,
        metadata={
            "env": "IMGORIGIN_WEBHOOK_PRIVATE_ADDRESSES",
            "help": "Let webhooks reach loopback, private and link-local addresses. Off: a "
            "library's admin cannot make the server call its own network.",
        },
    )
    sweep_interval: float = field(
        default=300.0,
        metadata={
            "env": "IMGORIGIN_SWEEP_INTERVAL",
            "min": 0,
            "help": "Seconds between sweeps (pending images past their library's "
            "`pending_ttl`, originals a dead process left half-written), in each serving "
            "process; 0: only `imgorigin sweep`.",
        },
    )

    def validate(self) -> None:
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("IMGORIGIN_PUBLIC_URL must be an http(s) URL")
