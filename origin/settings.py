"""Settings of the public read path: render limits, response caching, its counts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from origin.pipeline.header import MAX_ANIMATION_PIXELS, MAX_FRAMES, SourceLimits
from origin.pipeline.render import RenderLimits


@dataclass(frozen=True)
class OriginSettings:
    render_workers: int = field(
        default=0,
        metadata={
            "env": "IMGORIGIN_RENDER_WORKERS",
            "min": 0,
            "help": "Renders run at once per process (threads). 0 means the available CPUs "
            "shared among `imgorigin serve`'s workers (at least one each).",
        },
    )
    render_queue: int = field(
        default=64,
        metadata={
            "env": "IMGORIGIN_RENDER_QUEUE",
            "min": 0,
            "help": "Requests that may wait for a render thread; past that a miss answers "
            "503 with Retry-After.",
        },
    )
    max_source_pixels: int = field(
        default=100_000_000,
        metadata={
            "env": "IMGORIGIN_MAX_SOURCE_PIXELS",
            "min": 1,
            "help": "Largest original accepted (width x height; of each frame of an "
            "animation); larger uploads answer 422.",
        },
    )
    max_animation_frames: int = field(
        default=MAX_FRAMES,
        metadata={
            "env": "IMGORIGIN_MAX_ANIMATION_FRAMES",
            "min": 1,
            "help": "Most frames an animated GIF or WebP may have; longer uploads answer 422 "
            "`too_many_frames`.",
        },
    )
    max_animation_pixels: int = field(
        default=MAX_ANIMATION_PIXELS,
        metadata={
            "env": "IMGORIGIN_MAX_ANIMATION_PIXELS",
            "min": 1,
            "help": "Most pixels an animation may have in all its frames together (width x "
            "height x frames); larger uploads answer 422 `animation_too_large`. Originals "
            "stored before a limit was lowered render their first frame.",
        },
    )
    max_output_pixels: int = field(
        default=40_000_000,
        metadata={
            "env": "IMGORIGIN_MAX_OUTPUT_PIXELS",
            "min": 1,
            "help": "Largest variant (width x height). With fit=clip or max a larger one is "
            "shrunk to it, keeping its shape; otherwise, or below what min-w or min-h ask, "
            "it answers 400 `output_too_large`. "
            "GIF and PNG8 outputs (palette quantised) are capped at 4 MP, of each frame "
            "of an animation, whatever this says.",
        },
    )
    render_timeout: float = field(
        default=20.0,
        metadata={
            "env": "IMGORIGIN_RENDER_TIMEOUT",
            "above": 0,
            "help": "Seconds of pixel work a render may take before libvips abandons it "
            "(503 `render_timeout`).",
        },
    )
    max_age: int = field(
        default=86_400,
        metadata={
            "env": "IMGORIGIN_MAX_AGE",
            "min": 0,
            "help": "Seconds browsers may keep a variant (`max-age`). Short, because "
            "replacing an original changes what a URL shows and no purge reaches a browser.",
        },
    )
    s_maxage: int = field(
        default=31_536_000,
        metadata={
            "env": "IMGORIGIN_S_MAXAGE",
            "min": 0,
            "help": "Seconds shared caches (nginx, the CDN) may keep a variant (`s-maxage`); "
            "long, since purges reach them.",
        },
    )
    stale_while_revalidate: int = field(
        default=86_400,
        metadata={
            "env": "IMGORIGIN_STALE_WHILE_REVALIDATE",
            "min": 0,
            "help": "Seconds a cache may serve a stale variant while it fetches a fresh one.",
        },
    )
    error_max_age: int = field(
        default=60,
        metadata={
            "env": "IMGORIGIN_ERROR_MAX_AGE",
            "min": 0,
            "help": "Seconds caches may keep a 400, 404 or 422 from the origin, so that a "
            "CDN neither hammers the origin with a bad URL nor pins the error; 0: no-store.",
        },
    )
    stats_flush_interval: float = field(
        default=5.0,
        metadata={
            "env": "IMGORIGIN_STATS_FLUSH_INTERVAL",
            "above": 0,
            "help": "Seconds between additions of each process's counts of renders and hits "
            "per library to PostgreSQL (and once at shutdown); counting itself never writes.",
        },
    )

    hit_memory: int = field(
        default=16 * 1024 * 1024,
        metadata={
            "env": "IMGORIGIN_HIT_MEMORY",
            "min": 0,
            "help": "Bytes of small stored variants each process keeps in memory to answer "
            "a URL asked for again without reading it or the store; 0: none. Used only "
            "with Redis, whose channel tells every process what was purged or changed.",
        },
    )
    hit_memory_max_variant: int = field(
        default=64 * 1024,
        metadata={
            "env": "IMGORIGIN_HIT_MEMORY_MAX_VARIANT",
            "min": 0,
            "help": "Largest variant (bytes) kept in that memory; larger ones stream from "
            "the store.",
        },
    )

    def cache_control(self, lifetime: int | None = None) -> str:
        """A variant's Cache-Control. `lifetime`: seconds its URL has left to live (a
        signed URL's `expires`). No cache may keep it, or serve it stale, past that."""
        max_age, s_maxage, stale = self.max_age, self.s_maxage, self.stale_while_revalidate
        if lifetime is not None:
            left = max(0, lifetime)
            max_age, s_maxage = min(max_age, left), min(s_maxage, left)
            stale = min(stale, left - max(max_age, s_maxage))
        return f"public, max-age={max_age}, s-maxage={s_maxage}, stale-while-revalidate={stale}"

    @property
    def error_cache_control(self) -> str:
        return f"public, max-age={self.error_max_age}" if self.error_max_age else "no-store"

    @property
    def source_limits(self) -> SourceLimits:
        return SourceLimits(
            self.max_source_pixels, self.max_animation_frames, self.max_animation_pixels
        )

    @property
    def render_limits(self) -> RenderLimits:
        return RenderLimits(self.source_limits, self.max_output_pixels, self.render_timeout)

    @property
    def workers(self) -> int:
        return self.render_workers or os.cpu_count() or 1

    def validate(self) -> None:
        """Ranges are checked from each field's metadata (`min`, `above`, `max`)."""
