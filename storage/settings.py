"""Storage settings: where the blobs are, and how S3 is called."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from storage.base import InvalidKey, check_key

ADDRESSING_STYLES = ("auto", "path", "virtual")


@dataclass(frozen=True)
class StorageSettings:
    url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_STORAGE_URL",
            "help": "Where originals and variants are stored: `file:///path`, or "
            "`s3://bucket/prefix` (the prefix is optional). Empty means `<data dir>/store`. "
            "S3 credentials come from the usual AWS chain: environment, profile, "
            "instance role.",
        },
    )
    s3_endpoint_url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_S3_ENDPOINT_URL",
            "help": "Endpoint of an S3-compatible service such as MinIO, "
            "e.g. `http://minio:9000`. Empty means AWS.",
        },
    )
    s3_region: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_S3_REGION",
            "help": "Region of the bucket. Empty means the AWS chain's (`AWS_REGION`, "
            "the profile), else `us-east-1`.",
        },
    )
    s3_addressing_style: str = field(
        default="auto",
        metadata={
            "env": "IMGORIGIN_S3_ADDRESSING_STYLE",
            "help": "`auto`, `path` (`host/bucket/key`) or `virtual` (`bucket.host/key`). "
            "MinIO behind a host name usually needs `path`.",
        },
    )
    s3_connect_timeout: float = field(
        default=3.0,
        metadata={
            "env": "IMGORIGIN_S3_CONNECT_TIMEOUT",
            "above": 0,
            "help": "Seconds allowed to open a connection to S3.",
        },
    )
    s3_read_timeout: float = field(
        default=10.0,
        metadata={
            "env": "IMGORIGIN_S3_READ_TIMEOUT",
            "above": 0,
            "help": "Seconds S3 may go without sending a byte of an answer.",
        },
    )
    s3_max_attempts: int = field(
        default=3,
        metadata={
            "env": "IMGORIGIN_S3_MAX_ATTEMPTS",
            "min": 1,
            "help": "Tries per S3 call, the first included; retries back off exponentially "
            "on connection errors, 5xx answers and throttling. Each call is abandoned after "
            "its attempts' timeouts and back-offs, and answers 503.",
        },
    )

    def validate(self) -> None:
        scheme = urlsplit(self.url).scheme
        if self.url and scheme not in ("file", "s3"):
            raise ValueError(f"IMGORIGIN_STORAGE_URL: unsupported scheme in {self.url!r}")
        if scheme == "file" and not urlsplit(self.url).path:
            raise ValueError(f"IMGORIGIN_STORAGE_URL: no path in {self.url!r}")
        if scheme == "s3":
            self.s3_location()
        # Checked whatever the URL, so a typo is found before the day S3 is switched on.
        self._validate_s3_client()

    def _validate_s3_client(self) -> None:
        endpoint = urlsplit(self.s3_endpoint_url)
        if self.s3_endpoint_url and not (endpoint.scheme in ("http", "https") and endpoint.netloc):
            raise ValueError("IMGORIGIN_S3_ENDPOINT_URL must be an http:// or https:// URL")
        if self.s3_addressing_style not in ADDRESSING_STYLES:
            raise ValueError(f"IMGORIGIN_S3_ADDRESSING_STYLE must be one of {ADDRESSING_STYLES}")

    def s3_location(self) -> tuple[str, str]:
        """(bucket, key prefix) of an `s3://bucket/prefix` URL; the prefix is '' or ends in '/'."""
        parts = urlsplit(self.url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"IMGORIGIN_STORAGE_URL: no bucket in {self.url!r}")
        prefix = unquote(parts.path).strip("/")
        if prefix:
            try:
                check_key(prefix)
            except InvalidKey as exc:
                raise ValueError(f"IMGORIGIN_STORAGE_URL: invalid prefix in {self.url!r}") from exc
        return parts.netloc, f"{prefix}/" if prefix else ""
