"""Whatever a client sends, the answer is a result or a typed 4xx: never anything else.

Bounded Hypothesis runs: arbitrary query strings through the dialect, and damaged
images (bytes flipped, cut short, header fields rewritten) through the upload probe
and, when the probe accepts them, through a render.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from origin import dialect
from origin.errors import BadRequest, HTTPError
from origin.pipeline import vips
from origin.pipeline.header import SourceLimits
from origin.pipeline.probe import probe
from origin.pipeline.render import RenderLimits, render
from origin.spec import OutputFormat, TransformSpec
from tests import images

PARAM_NAMES = st.sampled_from(["w", "h", "fit", "dpr", "q", "fm", "auto", "x", ""])
PARAM_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-10, 10_000).map(str),
    st.sampled_from(["clip", "crop", "fill", "max", "scale", "webp", "avif", "format", "1.5"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=8))
def test_any_query_is_a_spec_or_a_400(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import quote

    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    try:
        spec = dialect.parse(query)
    except BadRequest as exc:
        assert exc.status == 400 and exc.code
        return
    assert dialect.parse(spec.canonical()) == spec


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_raw_query_text_is_a_spec_or_a_400(text: str) -> None:
    with contextlib.suppress(BadRequest):
        dialect.parse(text)


SOURCES = {
    "jpeg": images.jpeg(96, 64),
    "png": images.png_with_alpha(96, 64),
    "webp": images.photo(96, 64).webpsave_buffer(),
    "gif": images.photo(96, 64).gifsave_buffer(),
    "tiff": images.photo(96, 64).tiffsave_buffer(),
    "avif": images.photo(96, 64).heifsave_buffer(compression="av1"),
}
LIMITS = RenderLimits(SourceLimits(50_000_000), max_output_pixels=10_000_000, timeout=10)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(SOURCES[draw(st.sampled_from(sorted(SOURCES)))])
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@pytest.fixture(scope="module", autouse=True)
def _vips() -> None:
    vips.configure()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), st.sampled_from(OutputFormat))
def test_damaged_images_are_accepted_or_refused_with_a_4xx(data: bytes, fmt: OutputFormat) -> None:
    try:
        probe(data, LIMITS.source)
    except HTTPError as exc:
        assert 400 <= exc.status < 500, (exc.status, exc.code)
        return
    try:
        out = render(data, TransformSpec(width=40, format=fmt), LIMITS)
    except HTTPError as exc:
        # What the probe passed can still hide damage past the part it decoded, or ask
        # for more pixels than allowed: a 4xx either way, never an untyped error.
        assert 400 <= exc.status < 500, (exc.status, exc.code)
        return
    assert out


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.lists(st.binary(min_size=0, max_size=6), min_size=1, max_size=4))
async def test_any_origin_path_is_answered_without_a_5xx(origin, path: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote_from_bytes

    from yarl import URL

    encoded = "/lib/" + "/".join(quote_from_bytes(segment, safe="") for segment in path)
    response = await origin.get(URL(encoded, encoded=True))
    assert response.status < 500, (encoded, response.status, await response.text())
    if response.status >= 400:
        assert response.content_type == "application/json"
