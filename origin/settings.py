"""Settings of the public read path: render limits and response caching."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from origin.pipeline.render import RenderLimits


@dataclass(frozen=True)
class OriginSettings:
    render_workers: int = field(
        default=0,
        metadata={
            "env": "IMGORIGIN_RENDER_WORKERS",
            "min": 0,
            "help": "Renders run at once per process (threads). 0 means one per CPU core.",
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
            "help": "Largest original accepted (width x height); larger uploads answer 422.",
        },
    )
    max_output_pixels: int = field(
        default=40_000_000,
        metadata={
            "env": "IMGORIGIN_MAX_OUTPUT_PIXELS",
            "min": 1,
            "help": "Largest variant (width x height) a URL may ask for; larger answer 400. "
            "GIF outputs are capped at 4 MP whatever this says.",
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
    cache_control: str = field(
        default="public, max-age=31536000, immutable",
        metadata={
            "env": "IMGORIGIN_CACHE_CONTROL",
            "help": "Cache-Control of served variants. A variant URL's bytes never change "
            "(replacing an original makes new variants), hence `immutable`.",
        },
    )

    @property
    def render_limits(self) -> RenderLimits:
        return RenderLimits(self.max_source_pixels, self.max_output_pixels, self.render_timeout)

    @property
    def workers(self) -> int:
        return self.render_workers or os.cpu_count() or 1

    def validate(self) -> None:
        """Ranges are checked from each field's metadata (`min`, `above`, `max`)."""
