"""The imgix query dialect: strict grammar, stable error codes, one canonical form."""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from origin import dialect
from origin.errors import BadRequest
from origin.spec import (
    DEFAULT_QUALITY,
    MAX_DIMENSION,
    MAX_PAD,
    MAX_RATIO,
    Colour,
    ColourSpace,
    Crop,
    Fill,
    Fit,
    Flip,
    OutputFormat,
    Ratio,
    TransformSpec,
)


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("w=400", "w=400"),
        ("w=0400", "w=400"),
        ("h=300&w=400", "w=400&h=300"),
        ("w=400&fm=webp", "w=400&fm=webp"),
        ("fm=webp&w=400", "w=400&fm=webp"),
        ("w=200&dpr=2", "w=400"),
        ("w=200&h=100&dpr=1.5", "w=300&h=150"),
        ("dpr=3", ""),  # no box: nothing to multiply
        ("w=400&h=300&fit=crop", "w=400&h=300&fit=crop"),
        ("w=400&fit=crop", "w=400"),  # one side: crop, fill and scale all keep the aspect
        ("w=400&fit=fill", "w=400"),
        ("w=400&fit=scale", "w=400"),
        ("w=400&fit=max", "w=400&fit=max"),
        ("fit=crop", ""),
        ("q=75", ""),
        ("q=80", "q=80"),
        ("auto=format", "auto=format"),
        ("auto=format&fm=png", "fm=png"),  # fm wins over auto=format
        ("auto=format,format", "auto=format"),
        ("w=0.5", "w=0.5"),
        ("w=0.5&dpr=2", "w=1.0"),  # a fraction keeps its decimal point: w=1 is a pixel
        ("ar=16:9&w=320&fit=crop", "w=320&h=180&fit=crop"),  # the same as asking so
        ("ar=32:18&h=180&fit=crop", "w=320&h=180&fit=crop"),
        ("ar=16:9&w=0.5&fit=crop", "w=0.5&ar=1.7778:1&fit=crop"),
        ("ar=16:9&fit=crop", "ar=1.7778:1&fit=crop"),
        ("w=0.0001&dpr=0.1", "w=0.0001"),  # never a zero fraction
        ("ixlib=js-3.8.0&w=10", "w=10"),  # the imgix SDKs' signature, not a parameter
        ("auto=format,enhance,redeye", "auto=format"),
        ("ar=16:9&w=320&h=100&fit=crop", "w=320&h=100&fit=crop"),  # two sides win
        ("ar=16:9&w=320", "w=320"),  # ar is for crop and min
        ("crop=left,top&fit=crop&w=1&h=1", "w=1&h=1&fit=crop&crop=top,left"),
        ("crop=faces&fit=crop&w=1&h=1", "w=1&h=1&fit=crop&crop=edges"),
        ("crop=top,entropy,edges&fit=crop&w=1&h=1", "w=1&h=1&fit=crop&crop=entropy"),
        ("crop=top&fp-x=0.2&fit=crop&w=1&h=1", "w=1&h=1&fit=crop&crop=top"),
        ("crop=top&w=1&h=1", "w=1&h=1"),  # crops only where fit crops
        ("fit=fill&fill=blur&fill-color=f00&w=1&h=1", "w=1&h=1&fit=fill&fill=blur"),
        ("fit=fillmax&w=2", "w=2&fit=max"),
        ("fit=min&w=2", "w=2&fit=max"),
        ("bg=f00", "bg=ff0000"),
        ("bg=8f00", "bg=88ff0000"),  # imgix's ARGB
        ("bg=FF0000FF", "bg=0000ff"),
        ("auto=compress", "auto=compress"),
        ("auto=compress&q=45", "auto=compress"),
        ("auto=compress&q=75", "q=75&auto=compress"),
        ("auto=compress,format", "auto=compress,format"),
        ("fm=json&w=10&bg=fff", "fm=json"),  # describes the original, whatever else
        ("lossless=true", "lossless=1"),
        ("lossless=0", ""),
        ("cs=strip", ""),
        ("w64=NDAw", "w=400"),
        ("trim=auto&rot=0&blur=0", "trim=auto"),
        ("dl=cat.jpg&w=10", "w=10"),  # delivery, not the picture
    ],
)
def test_canonical_forms(query: str, canonical: str) -> None:
    assert dialect.parse(query).canonical() == canonical


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("w=0", "invalid_parameter"),
        (f"w={MAX_DIMENSION + 1}", "invalid_parameter"),
        ("w=-1", "invalid_parameter"),
        ("w=%201", "invalid_parameter"),  # int() accepts " 1"
        ("w=1%20", "invalid_parameter"),
        ("w=1_0", "invalid_parameter"),  # int() accepts "1_0"
        ("w=" + quote("١٠"), "invalid_parameter"),  # int() accepts Arabic-Indic digits
        ("w=" + quote("１０"), "invalid_parameter"),  # and full-width ones
        ("w=8.5", "invalid_parameter"),  # a fraction of at most 8
        ("w=0.0", "invalid_parameter"),
        ("w=1e3", "invalid_parameter"),
        ("w=", "invalid_parameter"),
        ("w", "invalid_parameter"),
        ("h=abc", "invalid_parameter"),
        ("w=99999999999999999999", "invalid_parameter"),
        ("dpr=0", "invalid_parameter"),
        ("dpr=6", "invalid_parameter"),
        ("dpr=inf", "invalid_parameter"),
        ("dpr=nan", "invalid_parameter"),
        ("dpr=2.", "invalid_parameter"),
        ("q=101", "invalid_parameter"),
        ("fit=cover", "invalid_parameter"),
        ("fit=CROP", "invalid_parameter"),
        ("auto=sharpen", "invalid_parameter"),
        ("fm=bmp", "unsupported_format"),
        ("fm=JPG", "unsupported_format"),
        ("fm=jpeg", "unsupported_format"),
        ("width=100", "unknown_parameter"),
        ("W=100", "unknown_parameter"),
        ("w=100&w=100", "repeated_parameter"),
        ("w=100&w=200", "repeated_parameter"),
        ("w=5000&dpr=2", "output_too_large"),
        ("rect=1,2,3", "invalid_parameter"),
        ("rect=0,0,0,10", "invalid_parameter"),
        ("ar=16", "invalid_parameter"),
        ("ar=0:9", "invalid_parameter"),
        ("ar=1:1000", "invalid_parameter"),
        ("crop=middle", "invalid_parameter"),
        ("fp-x=1.5", "invalid_parameter"),
        ("fp-z=0.5", "invalid_parameter"),
        ("bg=ggg", "invalid_parameter"),
        ("bg=12345", "invalid_parameter"),
        ("bg=%23fff", "invalid_parameter"),
        ("rot=360", "invalid_parameter"),
        ("flip=x", "invalid_parameter"),
        ("trim=color", "invalid_parameter"),
        ("sharp=101", "invalid_parameter"),
        ("pad=2049", "invalid_parameter"),
        ("cs=p3", "invalid_parameter"),
        ("lossless=yes", "invalid_parameter"),
        ("dl=a/b", "invalid_parameter"),
        ("dl=", "invalid_parameter"),
        ("dl=..", "invalid_parameter"),
        ("w64=!!!", "invalid_parameter"),
        ("w64=_w", "invalid_parameter"),  # not UTF-8 once decoded
        ("w=1&w64=MQ", "repeated_parameter"),
        ("w=1&s64=QUJD", "unknown_parameter"),  # s and expires are read as sent
        ("w=1&expires64=MQ", "unknown_parameter"),
        ("w=%ff", "invalid_query"),  # not UTF-8
        ("&".join(f"x{i}=1" for i in range(40)), "invalid_query"),
    ],
)
def test_rejections(query: str, code: str) -> None:
    with pytest.raises(BadRequest) as caught:
        dialect.parse(query)
    assert caught.value.code == code
    assert caught.value.status == 400


def test_dl_names_the_download_and_64_decodes_any_value() -> None:
    assert dialect.read("dl=cat.jpg").download == "cat.jpg"
    assert dialect.read("dl64=0LrQvtGCLmpwZw").download == "кот.jpg"
    assert dialect.read("w=10").download is None


def test_dpr_rounds_to_nearest_pixel() -> None:
    assert dialect.parse("w=333&dpr=1.5").width == 500  # 499.5 rounds up
    assert dialect.parse("h=101&dpr=1.1").height == 111


def _decimals(low: float, high: float) -> st.SearchStrategy[float]:
    """Numbers the dialect can write: at most four decimals."""
    return st.integers(round(low * 10_000), round(high * 10_000)).map(lambda n: n / 10_000)


colours = st.builds(Colour, *([st.integers(0, 255)] * 4))
ratios = _decimals(0.0001, MAX_RATIO).map(Ratio)
lengths = st.integers(1, MAX_DIMENSION) | ratios
corners = st.integers(0, 65_535) | _decimals(0, MAX_RATIO).map(Ratio)
sizes = st.integers(1, MAX_DIMENSION)
specs = st.builds(
    TransformSpec,
    rect=st.none() | st.tuples(corners, corners, st.integers(1, 65_535) | ratios, lengths),
    width=st.none() | lengths,
    height=st.none() | lengths,
    aspect=st.none() | _decimals(0.01, 100),
    min_width=st.none() | sizes,
    min_height=st.none() | sizes,
    max_width=st.none() | sizes,
    max_height=st.none() | sizes,
    fit=st.sampled_from(Fit),
    fill=st.sampled_from(Fill),
    fill_color=st.none() | colours,
    crop=st.lists(st.sampled_from(Crop), max_size=4).map(tuple),
    focal=st.tuples(_decimals(0, 1), _decimals(0, 1), _decimals(1, 100)),
    trim=st.booleans(),
    rotate=st.integers(0, 359),
    flip=st.none() | st.sampled_from(Flip),
    blur=st.integers(0, 2000),
    sharpen=st.integers(0, 100),
    pad=st.integers(0, MAX_PAD),
    background=st.none() | colours,
    quality=st.integers(0, 100),
    lossless=st.booleans(),
    format=st.none() | st.sampled_from(OutputFormat),
    auto_format=st.booleans(),
    auto_compress=st.booleans(),
    colour_space=st.sampled_from(ColourSpace),
).map(TransformSpec.normalised)


@settings(max_examples=500)
@given(specs)
def test_parse_of_canonical_is_identity(spec: TransformSpec) -> None:
    assert dialect.parse(spec.canonical()) == spec


@given(specs, st.randoms())
def test_parameter_order_does_not_change_the_spec(spec: TransformSpec, rnd) -> None:  # type: ignore[no-untyped-def]
    params = spec.canonical().split("&") if spec.canonical() else []
    rnd.shuffle(params)
    assert dialect.parse("&".join(params)) == spec


def test_every_order_of_a_full_query_is_one_variant() -> None:
    params = ["w=400", "h=300", "fit=crop", "q=80", "fm=webp", "dpr=1"]
    canonicals = {dialect.parse("&".join(p)).canonical() for p in itertools.permutations(params)}
    assert canonicals == {"w=400&h=300&fit=crop&q=80&fm=webp"}


def test_quality_is_dropped_for_lossless_outputs() -> None:
    spec = dialect.parse("w=10&q=50")
    assert spec.for_output(OutputFormat.PNG).canonical() == "w=10&fm=png"
    assert spec.for_output(OutputFormat.WEBP).canonical() == "w=10&q=50&fm=webp"
    assert spec.for_output(OutputFormat.GIF).quality == DEFAULT_QUALITY
