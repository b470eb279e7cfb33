"""Rendering as the origin does, for the tests that hold renders to the issue."""

from __future__ import annotations

from origin import dialect
from origin.pipeline.render import render
from origin.settings import OriginSettings

LIMITS = OriginSettings().render_limits  # the defaults the origin runs with


def render_query(data: bytes, query: str) -> bytes:
    """Render as the origin does for a URL with this query (which names `fm`)."""
    spec = dialect.parse(query)
    assert spec.format is not None
    return render(data, spec.for_output(spec.format), LIMITS)
