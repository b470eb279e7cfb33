"""Render geometry: a pure function of the spec and the displayed source size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from origin.errors import BadRequest
from origin.pipeline.plan import Plan, output_size, plan, source_region
from origin.spec import MAX_DIMENSION, Crop, Fit, Ratio, TransformSpec


def spec(**kw) -> TransformSpec:  # type: ignore[no-untyped-def]
    return TransformSpec(**kw).normalised()


SOURCE = (1200, 800)


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        (spec(), Plan((1200, 800), None)),
        (spec(width=400), Plan((400, 267), None)),
        (spec(height=400), Plan((600, 400), None)),
        (spec(width=400, height=400), Plan((400, 267), None)),
        (spec(width=2400), Plan((2400, 1600), None)),  # clip enlarges
        (spec(width=2400, fit=Fit.MAX), Plan((1200, 800), None)),
        (spec(width=600, fit=Fit.MAX), Plan((600, 400), None)),
        (spec(width=Ratio(0.5)), Plan((600, 400), None)),
        (spec(width=300, height=100, fit=Fit.SCALE), Plan((300, 100), None)),
        # crop: cover the box, cut the middle (or the named side, or the focal point): a
        # region of the picture shrunk on load
        (spec(width=300, height=300, fit=Fit.CROP), Plan((450, 300), (75, 0, 300, 300))),
        (
            spec(width=300, height=300, fit=Fit.CROP, crop=(Crop.LEFT,)),
            Plan((450, 300), (0, 0, 300, 300)),
        ),
        (
            spec(width=300, height=300, fit=Fit.CROP, crop=(Crop.RIGHT, Crop.TOP)),
            Plan((450, 300), (150, 0, 300, 300)),
        ),
        (
            spec(width=300, height=100, fit=Fit.CROP, crop=(Crop.BOTTOM,)),
            Plan((300, 200), (0, 100, 300, 100)),
        ),
        (
            spec(width=300, height=300, fit=Fit.CROP, crop=(Crop.ENTROPY,)),
            Plan((450, 300), None, smart=(300, 300, "entropy")),
        ),
        (
            spec(width=300, height=300, fit=Fit.CROP, crop=(Crop.FOCALPOINT,), focal=(0.9, 0.5, 2)),
            Plan((900, 600), (600, 150, 300, 300)),  # zoomed 2x, kept inside
        ),
        (spec(width=300, aspect=1.5, fit=Fit.CROP), Plan((300, 200), None)),
        (spec(aspect=1.0, fit=Fit.CROP), Plan((1200, 800), (200, 0, 800, 800))),
        # min: crop's shape, never enlarged
        (
            spec(width=2400, height=800, fit=Fit.MIN),
            Plan((1200, 800), (0, 200, 1200, 400)),
        ),
        (spec(width=300, height=300, fit=Fit.MIN), Plan((450, 300), (75, 0, 300, 300))),
        (spec(width=300, height=300, fit=Fit.FILL), Plan((300, 200), None, canvas=(300, 300))),
        (spec(width=300, height=200, fit=Fit.FILL), Plan((300, 200), None)),
        (
            spec(width=2400, height=2400, fit=Fit.FILLMAX),
            Plan((1200, 800), None, canvas=(2400, 2400)),
        ),
        (spec(width=10), Plan((10, 7), None)),
        # limits: bound the picture (clip) or the box (crop)
        (spec(width=1000, max_width=600), Plan((600, 400), None)),
        (spec(width=100, min_height=200), Plan((300, 200), None)),
        (spec(max_width=600), Plan((600, 400), None)),  # limits alone bound the source
        (
            spec(width=500, height=500, fit=Fit.CROP, max_height=250),
            Plan((500, 333), (0, 42, 500, 250)),
        ),
    ],
)
def test_plans(transform: TransformSpec, expected: Plan) -> None:
    assert plan(transform, SOURCE) == expected


def test_a_region_is_cut_from_a_source_shrunk_on_load() -> None:
    region = source_region((600, 400, 600, 400), *SOURCE)
    assert region == (600, 400, 600, 400)
    assert plan(spec(width=300), SOURCE, region) == Plan((600, 400), (300, 200, 300, 200))


def test_an_enlarged_region_is_cut_before_it_is_resized() -> None:
    region = source_region((Ratio(0.0), 0, Ratio(0.25), Ratio(0.25)), *SOURCE)
    assert region == (0, 0, 300, 200)
    assert plan(spec(width=600), SOURCE, region) == Plan(SOURCE, region, resize=(600, 400))


def test_a_region_is_clipped_to_the_source_or_refused_outside_it() -> None:
    assert source_region((1000, 700, 500, 500), *SOURCE) == (1000, 700, 200, 100)
    with pytest.raises(BadRequest):
        source_region((1200, 0, 10, 10), *SOURCE)


def test_the_size_after_rotation_and_padding() -> None:
    assert output_size(spec(rotate=90, pad=10), (300, 200)) == (220, 320)
    assert output_size(spec(rotate=45), (100, 100)) == (142, 142)


@pytest.mark.parametrize(
    ("transform", "source"),
    [
        (spec(width=8192, height=1, fit=Fit.CROP, crop=(Crop.ENTROPY,)), (400, 400)),  # from 8192²
        (spec(min_height=8000), (100_000, 100)),  # the URL demands a side of 8,000,000
        (spec(pad=2048, width=5000, height=100, fit=Fit.SCALE), SOURCE),
        (spec(width=4000, min_height=6000), (4000, 3000)),  # 8000x6000 is over the pixels
        (spec(width=5000, height=5000, fit=Fit.SCALE), SOURCE),
    ],
)
def test_output_over_the_maximum_is_refused(
    transform: TransformSpec, source: tuple[int, int]
) -> None:
    with pytest.raises(BadRequest) as caught:
        plan(transform, source, max_pixels=20_000_000)
    assert caught.value.code == "output_too_large"


sides = st.integers(1, 20_000)
boxes = st.none() | st.integers(1, 4096)


@given(sides, sides, boxes, boxes, st.sampled_from([Fit.CLIP, Fit.MAX]))
def test_clip_and_max_fit_inside_the_box(sw: int, sh: int, w, h, fit: Fit) -> None:  # type: ignore[no-untyped-def]
    result = plan(spec(width=w, height=h, fit=fit), (sw, sh))  # never refused: shrunk
    out_w, out_h = result.size
    assert 1 <= out_w <= MAX_DIMENSION and 1 <= out_h <= MAX_DIMENSION
    if w is not None:
        assert out_w <= w
    if h is not None:
        assert out_h <= h
    if fit is Fit.MAX:
        assert out_w <= sw and out_h <= sh
    assert abs(out_w * sh - out_h * sw) <= sw + sh  # the source's shape, give or take rounding
    if w is not None or h is not None:
        met = out_w == w or out_h == h or (fit is Fit.MAX and (out_w, out_h) == (sw, sh))
        assert met or max(out_w, out_h) >= MAX_DIMENSION - 1  # else shrunk to the limit


@pytest.mark.parametrize("width", [7401, 8192])
@pytest.mark.parametrize("fit", [Fit.CLIP, Fit.MAX])
def test_sdk_srcset_widths_on_a_large_4_3_source_are_shrunk_to_the_limits(
    width: int, fit: Fit
) -> None:
    # The imgix SDKs' default srcsets end at w=8192: on a 4:3 source (here 48 MP, so
    # fit=max reaches it too) that is 8192x6144 at most, over 40 MP.
    result = plan(spec(width=width, fit=fit), (8000, 6000), max_pixels=40_000_000)
    out_w, out_h = output_size(spec(width=width, fit=fit), result.size)
    assert out_w * out_h <= 40_000_000 and out_w * out_h > 39_900_000  # as large as allowed
    assert abs(out_w / out_h - 4 / 3) < 0.001
    # Turned and padded, the output as a whole is held to the limits.
    turned = spec(width=width, fit=fit, rotate=30, pad=100)
    assert max(output_size(turned, plan(turned, (8000, 6000), max_pixels=40_000_000).size)) <= (
        MAX_DIMENSION
    )


def test_the_shrunk_picture_keeps_a_side_limit_and_what_the_url_demands() -> None:
    tall = plan(spec(width=8192), (1000, 4000))  # a side over 8192: 2048x8192
    assert tall.size == (2048, 8192)
    # min-w is the URL's own demand: met, not shrunk below, when it fits.
    out_w, out_h = plan(spec(width=8192, min_width=5000), (4000, 3000), max_pixels=20_000_000).size
    assert out_w >= 5000 and 19_900_000 < out_w * out_h <= 20_000_000


def test_a_thin_crop_of_a_large_source_is_a_region_not_a_huge_picture() -> None:
    thin = spec(width=300, height=3000, fit=Fit.CROP)
    assert plan(thin, (9000, 3000), max_pixels=20_000_000) == Plan(
        (9000, 3000), (4350, 0, 300, 3000)
    )
    enlarged = spec(width=8192, height=1, fit=Fit.CROP)
    result = plan(enlarged, SOURCE, max_pixels=20_000_000)
    assert result.region == (0, 400, 1200, 1) and result.resize == (8192, 1)
