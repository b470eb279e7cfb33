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

    def validate(self) -> None:
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("IMGORIGIN_PUBLIC_URL must be an http(s) URL")
