"""Render geometry: a pure function of the spec and the displayed source size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from origin.errors import BadRequest
from origin.pipeline.plan import Plan, plan
from origin.spec import MAX_DIMENSION, Fit, TransformSpec


def spec(**kw) -> TransformSpec:  # type: ignore[no-untyped-def]
    return TransformSpec(**kw).normalised()


@pytest.mark.parametrize(
    ("transform", "source", "expected"),
    [
        (spec(), (1200, 800), Plan(1200, 800, crop=False)),
        (spec(width=400), (1200, 800), Plan(400, 267, crop=False)),
        (spec(height=400), (1200, 800), Plan(600, 400, crop=False)),
        (spec(width=400, height=400), (1200, 800), Plan(400, 267, crop=False)),
        (spec(width=2400), (1200, 800), Plan(2400, 1600, crop=False)),  # clip enlarges
        (spec(width=2400, fit=Fit.MAX), (1200, 800), Plan(1200, 800, crop=False)),
        (spec(width=600, fit=Fit.MAX), (1200, 800), Plan(600, 400, crop=False)),
        (spec(width=300, height=300, fit=Fit.CROP), (1200, 800), Plan(300, 300, crop=True)),
        (spec(width=300, height=100, fit=Fit.SCALE), (1200, 800), Plan(300, 100, crop=False)),
        (
            spec(width=300, height=300, fit=Fit.FILL),
            (1200, 800),
            Plan(300, 200, crop=False, canvas=(300, 300)),
        ),
        (spec(width=300, height=200, fit=Fit.FILL), (1200, 800), Plan(300, 200, crop=False)),
        (spec(width=10), (10000, 10), Plan(10, 1, crop=False)),  # never a zero side
    ],
)
def test_plans(transform: TransformSpec, source: tuple[int, int], expected: Plan) -> None:
    assert plan(transform, *source) == expected


def test_output_over_the_maximum_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        plan(spec(height=8000), 100_000, 100)
    assert caught.value.code == "output_too_large"


sides = st.integers(1, 20_000)
boxes = st.none() | st.integers(1, 4096)


@given(sides, sides, boxes, boxes, st.sampled_from([Fit.CLIP, Fit.MAX]))
def test_clip_and_max_fit_inside_the_box(sw: int, sh: int, w, h, fit: Fit) -> None:  # type: ignore[no-untyped-def]
    try:
        result = plan(spec(width=w, height=h, fit=fit), sw, sh)
    except BadRequest:
        return  # the other side would pass MAX_DIMENSION
    out_w, out_h = result.output_size
    assert 1 <= out_w <= MAX_DIMENSION and 1 <= out_h <= MAX_DIMENSION
    if w is not None:
        assert out_w <= w
    if h is not None:
        assert out_h <= h
    if fit is Fit.MAX:
        assert out_w <= sw and out_h <= sh
    if w is not None or h is not None:
        assert out_w == w or out_h == h or (fit is Fit.MAX and (out_w, out_h) == (sw, sh))
