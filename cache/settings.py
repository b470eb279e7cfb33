"""Settings of the variant cache: where renders are coordinated, and for how long;
and which outer caches a purge reaches."""

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


def _urls(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())


@dataclass(frozen=True)
class PurgeSettings:
    nginx_purge_urls: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_NGINX_PURGE_URLS",
            "help": "Comma-separated purge locations of the nginx servers in front "
            "(`http://nginx:8000/_purge`, as `imgorigin nginx-config` writes them). When "
            "set, the origin records the URIs it serves per image, and purges evict them.",
        },
    )
    nginx_uris_per_image: int = field(
        default=100,
        metadata={
            "env": "IMGORIGIN_NGINX_URIS_PER_IMAGE",
            "min": 1,
            "help": "Most URIs recorded for nginx's purges per image key (a purge sends three "
            "calls per URI to each nginx). An answer past it is sent `Cache-Control: private` "
            "(browsers keep it, nginx and CDNs do not), so cache-busting URLs neither grow "
            "the catalog nor escape a purge.",
        },
    )
    nginx_inactive: int = field(
        default=30 * 86_400,
        metadata={
            "env": "IMGORIGIN_NGINX_INACTIVE",
            "min": 2,
            "help": "Seconds nginx keeps an entry nobody asks for (`inactive=` of "
            "`imgorigin nginx-config`). URIs the origin has not answered for this long are "
            "no longer recorded, and nginx is told (`X-Accel-Expires`) to ask again after "
            "half of it, so no entry outlives its record.",
        },
    )
    cloudflare_zone_id: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_CLOUDFLARE_ZONE_ID",
            "help": "Cloudflare zone whose cache is purged by tag (`Cache-Tag`). Empty: none.",
        },
    )
    cloudflare_api_token: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_CLOUDFLARE_API_TOKEN",
            "help": "API token with the zone's Cache Purge permission.",
        },
    )
    cloudflare_api_url: str = field(
        default="https://api.cloudflare.com/client/v4",
        metadata={"env": "IMGORIGIN_CLOUDFLARE_API_URL", "help": "Cloudflare's API base URL."},
    )
    fastly_service_id: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_FASTLY_SERVICE_ID",
            "help": "Fastly service whose cache is purged by `Surrogate-Key`. Empty: none.",
        },
    )
    fastly_api_token: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_FASTLY_API_TOKEN",
            "help": "Fastly API token with purge rights (`Fastly-Key`).",
        },
    )
    fastly_api_url: str = field(
        default="https://api.fastly.com",
        metadata={"env": "IMGORIGIN_FASTLY_API_URL", "help": "Fastly's API base URL."},
    )
    webhook_url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_PURGE_WEBHOOK_URL",
            "help": "URL POSTed a JSON account of every purge (`event`, `library`, "
            "`images`, `tags`), for caches of your own. Empty: none.",
        },
    )
    webhook_secret: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_PURGE_WEBHOOK_SECRET",
            "help": "Signs the purge webhook: `X-Imgorigin-Signature: sha256=<hex HMAC-SHA256 "
            "of the body>`. Empty: unsigned.",
        },
    )
    repeat_after: float = field(
        default=60.0,
        metadata={
            "env": "IMGORIGIN_PURGE_REPEAT_AFTER",
            "min": 0,
            "help": "Seconds after a purge when nginx, the CDNs and the webhook are purged "
            "once more, for answers that were on their way to them while it ran (a render "
            "finishing); 0: once only. A process that stops before then skips the repeat.",
        },
    )
    timeout: float = field(
        default=10.0,
        metadata={
            "env": "IMGORIGIN_PURGE_TIMEOUT",
            "above": 0,
            "help": "Seconds allowed for each purge call to nginx, a CDN or the webhook "
            "(tried three times).",
        },
    )

    @property
    def nginx_urls(self) -> tuple[str, ...]:
        return _urls(self.nginx_purge_urls)

    def validate(self) -> None:
        urls = [*self.nginx_urls, self.cloudflare_api_url, self.fastly_api_url]
        urls += [self.webhook_url] if self.webhook_url else []
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"purge URL {url!r} must be http(s)")
        if self.cloudflare_zone_id and not self.cloudflare_api_token:
            raise ValueError("IMGORIGIN_CLOUDFLARE_ZONE_ID needs IMGORIGIN_CLOUDFLARE_API_TOKEN")
        if self.fastly_service_id and not self.fastly_api_token:
            raise ValueError("IMGORIGIN_FASTLY_SERVICE_ID needs IMGORIGIN_FASTLY_API_TOKEN")
