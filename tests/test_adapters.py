"""The imgproxy, Cloudflare and ipx path dialects: each option as the imgix parameters
it means, one variant whatever the dialect, typed 400s, and nothing else for any path."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import InvalidName, LibrarySettings, check_library_name
from origin import adapters, dialect, signing
from origin.errors import BadRequest
from origin.spec import TransformSpec

RULES = LibrarySettings(presets={"thumb": "w=100&h=100&fit=crop"})
IMGPROXY = "/insecure/{}/plain/lib/cat.jpg"
CLOUDFLARE = "/cdn-cgi/image/{}/lib/cat.jpg"
IPX = "/_ipx/{}/lib/cat.jpg"


def spec_of(path: str, rules: LibrarySettings = RULES) -> TransformSpec:
    found = adapters.address(path)
    assert found is not None, path
    return adapters.read(found, rules).spec


def code_of(path: str) -> str:
    with pytest.raises(BadRequest) as caught:
        spec_of(path)
    return caught.value.code


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# imgproxy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "query"),
    [
        # Resizing types: enlarge is off by default, as in imgproxy.
        ("rs:fit:300:200", "w=300&h=200&fit=max"),
        ("rs:fit:300:200:1", "w=300&h=200&fit=clip"),
        ("rs:fit:300:200:0:1", "w=300&h=200&fit=fillmax"),
        ("rs:fit:300:200:1:1", "w=300&h=200&fit=fill"),
        ("rs:fit:300:200:1:1:ce", "w=300&h=200&fit=fill"),
        ("rs:fill:300:200", "w=300&h=200&fit=min"),
        ("rs:fill:300:200:1", "w=300&h=200&fit=crop"),
        ("rs:fill:300:200:1:1", "w=300&h=200&fit=crop"),  # nothing left to extend
        ("rs:fill-down:300:200", "w=300&h=200&fit=min"),
        ("rs:auto:300:200:t", "w=300&h=200&fit=crop"),  # auto is read as fill
        ("rs:force:300:200", "w=300&h=200&fit=scale"),
        ("rs:force:300", "w=300&h=1.0&fit=scale"),  # the other side stays the source's
        ("resize:fill:300:200:true", "w=300&h=200&fit=crop"),
        ("rs::300", "w=300&fit=max"),
        ("s:300:200", "w=300&h=200&fit=max"),
        ("size:300:200:1", "w=300&h=200&fit=clip"),
        ("rt:fill/w:300/h:200/el:1", "w=300&h=200&fit=crop"),
        ("resizing_type:fill/width:300/height:200/enlarge:1", "w=300&h=200&fit=crop"),
        ("w:300/h:200/ex:1", "w=300&h=200&fit=fillmax"),
        ("w:300/w:0/h:100", "h=100&fit=max"),  # a later option wins; 0 is "not set"
        ("dpr:2/w:100", "w=100&dpr=2&fit=max"),
        ("dpr:1.5/w:100/h:100", "w=150&h=150&fit=max"),
        # Gravity, for fill's crop.
        ("rs:fill:300:200:1/g:ce", "w=300&h=200&fit=crop"),
        ("rs:fill:300:200:1/g:no", "w=300&h=200&fit=crop&crop=top"),
        ("rs:fill:300:200:1/g:so", "w=300&h=200&fit=crop&crop=bottom"),
        ("rs:fill:300:200:1/g:ea", "w=300&h=200&fit=crop&crop=right"),
        ("rs:fill:300:200:1/g:we", "w=300&h=200&fit=crop&crop=left"),
        ("rs:fill:300:200:1/g:noea", "w=300&h=200&fit=crop&crop=top,right"),
        ("rs:fill:300:200:1/g:nowe", "w=300&h=200&fit=crop&crop=top,left"),
        ("rs:fill:300:200:1/g:soea", "w=300&h=200&fit=crop&crop=bottom,right"),
        ("rs:fill:300:200:1/gravity:sowe", "w=300&h=200&fit=crop&crop=bottom,left"),
        ("rs:fill:300:200:1/g:no:0:0", "w=300&h=200&fit=crop&crop=top"),
        ("rs:fill:300:200:1/g:sm", "w=300&h=200&fit=crop&crop=edges"),
        (
            "rs:fill:300:200:1/g:fp:0.25:0.75",
            "w=300&h=200&fit=crop&crop=focalpoint&fp-x=0.25&fp-y=0.75",
        ),
        # Crop: a region of the source, before resizing.
        ("c:0.5:0.5", "rect=0.25,0.25,0.5,0.5"),
        ("c:0.5:0.5:soea", "rect=0.5,0.5,0.5,0.5"),
        ("c:0.5:0.5:no", "rect=0.25,0,0.5,0.5"),
        ("c:0.5:0.5:fp:0.9:0.5", "rect=0.5,0.25,0.5,0.5"),  # held inside the source
        ("c:100:50:nowe", "rect=0,0,100,50"),
        ("crop:100:0:nowe", "rect=0,0,100,1.0"),  # 0: all of that side
        ("c:100.7:50:nowe", "rect=0,0,100,50"),  # imgproxy truncates pixels
        ("g:we/c:100:0.5", "rect=0,0.25,100,0.5"),  # the crop takes g's gravity
        ("g:sm/c:0.5:0.5:ce", "rect=0.25,0.25,0.5,0.5"),  # unless it has its own
        ("c:0:0", ""),
        ("c:0.5:0.5/rs:fill:100:100:1", "rect=0.25,0.25,0.5,0.5&w=100&h=100&fit=crop"),
        # The rest of the picture.
        ("q:80", "q=80"),
        ("quality:80/q:0", ""),  # 0: the default
        ("f:webp", "fm=webp"),
        ("format:jpeg", "fm=jpg"),
        ("ext:png", "fm=png"),
        ("bl:1.5", "blur=15"),
        ("blur:0.01", "blur=1"),
        ("sh:1", "sharp=30"),
        ("sharpen:0.5", "sharp=15"),
        ("rot:180", "rot=180"),
        ("rot:-90", "rot=270"),
        ("rotate:450", "rot=90"),
        ("fl:1", "flip=h"),
        ("fl:0:1", "flip=v"),
        ("flip:t:true", "flip=hv"),
        ("bg:ff0000", "bg=ff0000"),
        ("bg:FF0000/bg:", ""),  # an empty background unsets it
        ("background:0:128:255", "bg=0080ff"),
        ("pd:10", "pad=10"),
        ("padding:10:10:10:10", "pad=10"),
        ("pd:10::10", "pad=10"),
        ("pd:5/dpr:2/w:100", "w=200&fit=max&pad=10"),  # imgproxy pads in CSS pixels
        ("ar:1", ""),  # EXIF orientation is always applied
        ("cb:2024-05-01", ""),
        ("pr:thumb", "p=thumb"),
        ("pr:thumb:thumb/preset:thumb", "p=thumb"),
        ("pr:thumb/w:200", "p=thumb&w=200"),  # the preset's fit holds
        ("pr:thumb/rs:fit:200:200", "p=thumb&w=200&h=200&fit=max"),
    ],
)
def test_imgproxy_options(options: str, query: str) -> None:
    assert spec_of(IMGPROXY.format(options)) == dialect.read(query, RULES).spec


def test_imgproxy_rotation_turns_the_box_and_gravity_back() -> None:
    """imgproxy's width, height and gravity are those of the rotated picture; the
    pipeline resizes and crops before it rotates, then flips."""
    path = IMGPROXY.format("rs:fill:300:200:1/g:fp:0.2:0.3/rot:90")
    query = "w=200&h=300&fit=crop&crop=focalpoint&fp-x=0.3&fp-y=0.8&rot=90"
    assert spec_of(path) == dialect.parse(query)
    path = IMGPROXY.format("rs:fill:300:200:1/g:we/rot:270/fl:1")
    assert spec_of(path) == dialect.parse("w=200&h=300&fit=crop&crop=bottom&rot=270&flip=h")
    path = IMGPROXY.format("c:0.5:0.25:nowe/rot:180")
    assert spec_of(path) == dialect.parse("rect=0.5,0.75,0.5,0.25&rot=180")


@pytest.mark.parametrize(
    ("path", "library", "key", "query"),
    [
        ("/insecure/plain/lib/cat.jpg", "lib", "cat.jpg", ""),
        ("/insecure/plain/lib/a/b/cat.jpg@webp", "lib", "a/b/cat.jpg", "fm=webp"),
        ("/insecure/plain/lib/cat.jpg@", "lib", "cat.jpg", ""),
        ("/insecure/f:png/plain/lib/cat.jpg@avif", "lib", "cat.jpg", "fm=avif"),  # @ wins
        ("/insecure/plain/lib/photo%402x.jpg@jpeg", "lib", "photo@2x.jpg", "fm=jpg"),
        ("/insecure/plain/lib/caf%C3%A9.jpg", "lib", "café.jpg", ""),
        (f"/insecure/w:10/{b64('lib/cat.jpg')}", "lib", "cat.jpg", "w=10&fit=max"),
        (f"/insecure/{b64('lib/cat.jpg')}.gif", "lib", "cat.jpg", "fm=gif"),
        (f"/insecure/{b64('lib/a/cat.jpg')}==", "lib", "a/cat.jpg", ""),
        # One leading slash, as Nuxt Image's imgproxy provider sends it.
        ("/insecure/plain//lib/cat.jpg", "lib", "cat.jpg", ""),
        (f"/insecure/{b64('/lib/cat.jpg')}", "lib", "cat.jpg", ""),
        # imgproxy lets the base64 be split into segments anywhere.
        (f"/Sig/{b64('lib/cat.jpg')[:5]}/{b64('lib/cat.jpg')[5:]}.png", "lib", "cat.jpg", "fm=png"),
    ],
)
def test_imgproxy_sources(path: str, library: str, key: str, query: str) -> None:
    found = adapters.address(path)
    assert found is not None and (found.library, found.key) == (library, key)
    assert adapters.read(found, RULES).spec == dialect.parse(query)


def test_imgproxy_paths_carry_what_their_signature_covers() -> None:
    found = adapters.imgproxy("SIG_nature/rs:fill:300:400:0/g:sm/plain/lib/cat.jpg@webp")
    assert found.signature == "SIG_nature"
    assert found.signed_path == "/rs:fill:300:400:0/g:sm/plain/lib/cat.jpg@webp"


def test_imgproxy_documented_signature_vector() -> None:
    # docs.imgproxy.net/usage/signing_url: key "secret", salt "hello", hex-encoded.
    path = "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"
    assert signing.imgproxy_signature("736563726574", "68656c6c6f", path) == (
        "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8"
    )
    # The same path is refused as a source: it names a remote URL.
    assert code_of("/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8" + path) == "invalid_path"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/insecure/w:100", "invalid_path"),  # no source
        ("/insecure/plain/lib", "invalid_path"),  # no key
        ("/insecure/plain///lib/cat.jpg", "invalid_path"),  # one leading slash, not two
        (f"/insecure/{b64('//lib/cat.jpg')}", "invalid_path"),
        ("/insecure/plain/http%3A%2F%2Fexample.com%2Fa.jpg", "invalid_path"),
        ("/insecure/plain/http://example.com/a.jpg", "invalid_path"),
        (f"/insecure/{b64('https://example.com/a.jpg')}", "invalid_path"),
        (f"/insecure/{b64('lib/a.jpg')}.png.webp", "invalid_path"),
        ("/insecure/plain/lib/a.jpg@webp@png", "invalid_path"),
        ("/insecure/!!!", "invalid_path"),
        (
            "/insecure/" + b64("\udcff".encode("utf-8", "surrogateescape").decode("latin-1")),
            "invalid_path",
        ),
        ("/insecure/plain/lib/%FF.jpg", "invalid_path"),
        ("/insecure/plain/Lib/a.jpg", "invalid_path"),
        ("/insecure/plain/insecure/a.jpg", "invalid_path"),  # a reserved name
        ("/insecure/plain/lib/a/../b.jpg", "invalid_path"),
        (IMGPROXY.format("wm:0.5"), "unknown_parameter"),
        (IMGPROXY.format("zoom:2"), "unknown_parameter"),
        (IMGPROXY.format("no:such"), "unknown_parameter"),
        (IMGPROXY.format("w:abc"), "invalid_parameter"),
        (IMGPROXY.format("w:9000"), "invalid_parameter"),
        (IMGPROXY.format("w:1:2"), "invalid_parameter"),
        (IMGPROXY.format("rs:stretch:1:1"), "invalid_parameter"),
        (IMGPROXY.format("rs:fit:1:1:0:0:ce:0:0:0"), "invalid_parameter"),
        (IMGPROXY.format("rs:fill:300:200:0:1"), "invalid_parameter"),
        (IMGPROXY.format("el:maybe"), "invalid_parameter"),
        (IMGPROXY.format("ex:1:no"), "invalid_parameter"),
        (IMGPROXY.format("g:up"), "invalid_parameter"),
        (IMGPROXY.format("g:no:10:0"), "invalid_parameter"),
        (IMGPROXY.format("g:fp:1.5:0"), "invalid_parameter"),
        (IMGPROXY.format("g:sm:1"), "invalid_parameter"),
        (IMGPROXY.format("c:100:100"), "invalid_parameter"),  # centred pixels
        (IMGPROXY.format("c:100:100:soea"), "invalid_parameter"),
        (IMGPROXY.format("c:0.5:0.5:sm"), "invalid_parameter"),
        (IMGPROXY.format("dpr:0"), "invalid_parameter"),
        (IMGPROXY.format("dpr:6"), "invalid_parameter"),
        (IMGPROXY.format("q:101"), "invalid_parameter"),
        (IMGPROXY.format("bl:0"), "invalid_parameter"),
        (IMGPROXY.format("bl:201"), "invalid_parameter"),
        (IMGPROXY.format("sh:4"), "invalid_parameter"),
        (IMGPROXY.format("rot:45"), "invalid_parameter"),
        (IMGPROXY.format("fl:yes"), "invalid_parameter"),
        (IMGPROXY.format("bg:red"), "invalid_parameter"),
        (IMGPROXY.format("bg:0:0:256"), "invalid_parameter"),
        (IMGPROXY.format("pd:10:20"), "invalid_parameter"),  # sides must be alike
        (IMGPROXY.format("ar:0"), "invalid_parameter"),
        (IMGPROXY.format("pr:thumb:card"), "invalid_parameter"),
        (IMGPROXY.format("pr:card"), "unknown_preset"),
        (IMGPROXY.format("f:tiff"), "unsupported_format"),
        (IMGPROXY.format("f:best"), "unsupported_format"),
        ("/insecure/plain/lib/cat.jpg@bmp", "unsupported_format"),
        (IMGPROXY.format("w:5000/dpr:2"), "output_too_large"),
    ],
)
def test_imgproxy_rejections(path: str, code: str) -> None:
    assert code_of(path) == code


# Cloudflare ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "query"),
    [
        ("width=400", "w=400&fit=max"),  # with no fit, sizes are the most to scale down to
        ("w=400,h=300", "w=400&h=300&fit=max"),
        ("width=400,height=300,fit=scale-down", "w=400&h=300&fit=max"),
        ("width=400,height=300,fit=contain", "w=400&h=300&fit=clip"),
        ("width=400,height=300,fit=cover", "w=400&h=300&fit=crop"),
        ("width=400,height=300,fit=crop", "w=400&h=300&fit=min"),
        ("width=400,height=300,fit=pad", "w=400&h=300&fit=fill&fill-color=ffffff"),
        ("width=400,height=300,fit=pad,background=%23000000", "w=400&h=300&fit=fill&bg=000000"),
        ("width=400,height=300,fit=squeeze", "w=400&h=300&fit=scale"),
        ("format=auto", "auto=format"),
        ("f=webp", "fm=webp"),
        ("format=avif", "fm=avif"),
        ("format=png", "fm=png"),
        ("format=jpeg", "fm=pjpg"),  # Cloudflare's jpeg is progressive
        ("format=baseline-jpeg", "fm=jpg"),
        ("format=json", "fm=json"),
        ("quality=80", "q=80"),
        ("q=80,quality=60", "q=60"),  # a later option wins
        ("width=100,dpr=2", "w=200&fit=max"),
        ("w=4,h=3,fit=cover,gravity=auto", "w=4&h=3&fit=crop&crop=edges"),
        ("w=4,h=3,fit=cover,gravity=face", "w=4&h=3&fit=crop&crop=edges"),
        ("w=4,h=3,fit=cover,gravity=left", "w=4&h=3&fit=crop&crop=left"),
        ("w=4,h=3,fit=cover,gravity=right", "w=4&h=3&fit=crop&crop=right"),
        ("w=4,h=3,fit=cover,g=top", "w=4&h=3&fit=crop&crop=top"),
        ("w=4,h=3,fit=cover,gravity=bottom", "w=4&h=3&fit=crop&crop=bottom"),
        (
            "w=4,h=3,fit=cover,gravity=0.5x0.3",
            "w=4&h=3&fit=crop&crop=focalpoint&fp-x=0.5&fp-y=0.3",
        ),
        ("background=%23ff0000", "bg=ff0000"),
        ("background=%23f00", "bg=ff0000"),
        ("background=%23ff000080", "bg=80ff0000"),  # CSS's alpha last, imgix's first
        ("blur=10", "blur=50"),
        ("blur=250", "blur=1250"),
        ("sharpen=1", "sharp=10"),
        ("sharpen=2.5", "sharp=25"),
        ("sharpen=0", ""),
        ("rotate=180", "rot=180"),
        ("rotate=90,width=100,height=50", "w=50&h=100&fit=max&rot=90"),  # after rotating
        ("flip=h", "flip=h"),
        ("flip=hv", "flip=hv"),
        ("flip=h,rotate=90", "rot=90&flip=v"),  # Cloudflare flips first
        ("anim=false,metadata=none,onerror=redirect", ""),
    ],
)
def test_cloudflare_options(options: str, query: str) -> None:
    assert spec_of(CLOUDFLARE.format(options)) == dialect.read(query, RULES).spec


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (CLOUDFLARE.format("trim=10"), "unknown_parameter"),
        (CLOUDFLARE.format("brightness=1.2"), "unknown_parameter"),
        (CLOUDFLARE.format("width"), "invalid_parameter"),
        (CLOUDFLARE.format("width=auto"), "invalid_parameter"),
        (CLOUDFLARE.format("width=0"), "invalid_parameter"),
        (CLOUDFLARE.format("fit=stretch"), "invalid_parameter"),
        (CLOUDFLARE.format("rotate=45"), "invalid_parameter"),
        (CLOUDFLARE.format("gravity=middle"), "invalid_parameter"),
        (CLOUDFLARE.format("gravity=1.5x0.5"), "invalid_parameter"),
        (CLOUDFLARE.format("background=red"), "invalid_parameter"),
        (CLOUDFLARE.format("blur=251"), "invalid_parameter"),
        (CLOUDFLARE.format("sharpen=11"), "invalid_parameter"),
        (CLOUDFLARE.format("flip=x"), "invalid_parameter"),
        (CLOUDFLARE.format("anim=maybe"), "invalid_parameter"),
        (CLOUDFLARE.format("quality=0"), "invalid_parameter"),
        (CLOUDFLARE.format("format=tiff"), "unsupported_format"),
        ("/cdn-cgi/image/width=100/https://example.com/a.jpg", "invalid_path"),
        ("/cdn-cgi/image/width=100", "invalid_path"),
        ("/cdn-cgi/image/width=100/lib", "invalid_path"),
    ],
)
def test_cloudflare_rejections(path: str, code: str) -> None:
    assert code_of(path) == code


# ipx -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modifiers", "query"),
    [
        ("_", ""),
        ("_,w_400,f_auto", "w=400&fit=max&auto=format"),  # as unpic rewrites /_ipx/_/ URLs
        ("w_200", "w=200&fit=max"),  # ipx never enlarges unless told to
        ("width_200,enlarge", "w=200&fit=clip"),
        ("h_100", "h=100&fit=max"),
        ("s_200x100", "w=200&h=100&fit=min"),
        ("resize_200x100,enlarge", "w=200&h=100&fit=crop"),
        ("s_200", "w=200&h=200&fit=min"),  # a square
        ("w_200,h_100", "w=200&h=100&fit=min"),
        ("s_200x100,fit_cover", "w=200&h=100&fit=min"),
        ("s_200x100,fit_contain", "w=200&h=100&fit=fillmax&fill-color=000000"),
        ("s_200x100,fit_contain,enlarge", "w=200&h=100&fit=fill&fill-color=000000"),
        ("s_200x100,fit_contain,b_ff0000", "w=200&h=100&fit=fillmax&fill-color=ff0000"),
        (
            "s_200x100,fit_contain,background_%23ff000080",
            "w=200&h=100&fit=fillmax&fill-color=80ff0000",
        ),
        ("s_200x100,fit_fill", "w=200&h=100&fit=scale"),
        ("s_200x100,fit_inside", "w=200&h=100&fit=max"),
        ("s_200x100,fit_inside,enlarge", "w=200&h=100&fit=clip"),
        ("s_200x100,b_ff0000", "w=200&h=100&fit=min"),  # a background for contain only
        ("s_2x1,enlarge,pos_top", "w=2&h=1&fit=crop&crop=top"),
        ("s_2x1,enlarge,position_right-top", "w=2&h=1&fit=crop&crop=top,right"),
        ("s_2x1,enlarge,pos_left%20bottom", "w=2&h=1&fit=crop&crop=bottom,left"),
        ("s_2x1,enlarge,pos_northwest", "w=2&h=1&fit=crop&crop=top,left"),
        ("s_2x1,enlarge,pos_centre", "w=2&h=1&fit=crop"),
        ("s_2x1,enlarge,pos_entropy", "w=2&h=1&fit=crop&crop=entropy"),
        ("s_2x1,enlarge,pos_attention", "w=2&h=1&fit=crop&crop=edges"),
        ("s_2x1,enlarge,pos_16", "w=2&h=1&fit=crop&crop=entropy"),
        ("f_webp", "fm=webp"),
        ("format_jpg", "fm=pjpg"),  # ipx writes progressive JPEG
        ("f_jpeg", "fm=pjpg"),
        ("f_auto", "auto=format"),
        ("q_80", "q=80"),
        ("quality_50,q_80", "q=80"),
        ("rotate_90,s_200x100", "rot=90&w=100&h=200&fit=min"),
        ("rotate_-90", "rot=270"),
        ("rotate", ""),  # sharp's EXIF orientation: always applied
        ("flip", "flip=v"),  # sharp's flip is upside down
        ("flop", "flip=h"),
        ("flip,flop", "flip=hv"),
        ("flip,rotate_90", "rot=90&flip=h"),  # sharp flips first
        ("blur_5", "blur=50"),
        ("sharpen_1", "sharp=30"),
        ("w:200&q=80", "w=200&fit=max&q=80"),  # ipx's other separators
    ],
)
def test_ipx_modifiers(modifiers: str, query: str) -> None:
    assert spec_of(IPX.format(modifiers)) == dialect.read(query, RULES).spec


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (IPX.format("grayscale"), "unknown_parameter"),
        (IPX.format("extract_0_0_10_10"), "unknown_parameter"),
        (IPX.format("trim_10"), "unknown_parameter"),
        (IPX.format(""), "invalid_path"),
        (IPX.format("s_100x100,fit_outside"), "invalid_parameter"),
        (IPX.format("s_100x100,fit_contain,pos_top"), "invalid_parameter"),
        (IPX.format("s_100,w_100"), "invalid_parameter"),
        (IPX.format("s_0x100"), "invalid_parameter"),
        (IPX.format("s_abc"), "invalid_parameter"),
        (IPX.format("w_1.5"), "invalid_parameter"),
        (IPX.format("fit_stretch"), "invalid_parameter"),
        (IPX.format("pos_middle"), "invalid_parameter"),
        (IPX.format("pos_5"), "invalid_parameter"),
        (IPX.format("rotate_45"), "invalid_parameter"),
        (IPX.format("blur"), "invalid_parameter"),
        (IPX.format("blur_0.1"), "invalid_parameter"),
        (IPX.format("sharpen_1_2_3"), "invalid_parameter"),
        (IPX.format("enlarge_no"), "invalid_parameter"),
        (IPX.format("b_red"), "invalid_parameter"),
        (IPX.format("f_tiff"), "unsupported_format"),
        ("/_ipx/w_100/https://example.com/a.jpg", "invalid_path"),
        ("/_ipx/w_100", "invalid_path"),
    ],
)
def test_ipx_rejections(path: str, code: str) -> None:
    assert code_of(path) == code


# One picture, one variant --------------------------------------------------------------


@pytest.mark.parametrize(
    "paths",
    [
        (
            "w=400&h=300&fit=crop&crop=top&q=80&fm=webp",
            IMGPROXY.format("rs:fill:400:300:1/g:no/q:80/f:webp"),
            CLOUDFLARE.format("width=400,height=300,fit=cover,gravity=top,quality=80,format=webp"),
            IPX.format("s_400x300,enlarge,pos_top,q_80,f_webp"),
        ),
        (
            "w=640&fit=max&fm=png",
            "/insecure/w:640/plain/lib/cat.jpg@png",
            CLOUDFLARE.format("width=640,format=png"),
            IPX.format("w_640,f_png"),
        ),
        (
            "w=300&h=200&fit=min&blur=50&rot=90",
            IMGPROXY.format("rs:fill:200:300/bl:5/rot:90"),
            CLOUDFLARE.format("width=200,height=300,fit=crop,blur=10,rotate=90"),
            IPX.format("s_200x300,blur_5,rotate_90"),
        ),
    ],
)
def test_the_same_picture_from_every_dialect_is_one_variant(paths: tuple[str, ...]) -> None:
    query, *others = paths
    canonical = dialect.read(query, RULES).spec.canonical()
    assert {spec_of(path).canonical() for path in others} == {canonical}


# Routing and signing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("insecure", "plain", True),
        ("insecure", "w:100", True),
        ("unsafe", "anything", True),
        ("_", "x", True),
        ("oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8", "rs:fill:1:1", True),
        ("Signature", "aGVsbG8", True),
        ("cats", "tom.jpg", False),
        ("cats", "2024", False),
        ("cats", "12:30.jpg", False),  # "12" is no imgproxy option
        ("cats", "plain", True),  # so native keys cannot start with "plain/"
        ("cats", "rs:fill:300:200", True),
        ("cats", "wm:0.5", True),  # an option this origin refuses is still imgproxy's
    ],
)
def test_is_imgproxy(first: str, second: str, expected: bool) -> None:
    assert adapters.is_imgproxy(first, second) is expected


def test_addresses_by_prefix() -> None:
    assert adapters.address("/cats/tom.jpg") is None
    assert adapters.address("/cats/a/b/tom.jpg") is None
    assert adapters.address("/favicon.ico") is None
    assert adapters.address("/cdn-cgi/image/w=1/lib/a.jpg") == adapters.cloudflare("w=1/lib/a.jpg")
    assert adapters.address("/_ipx/w_1/lib/a.jpg") == adapters.ipx("w_1/lib/a.jpg")
    imgproxy = adapters.address("/insecure/w:1/plain/lib/a.jpg")
    assert imgproxy == adapters.imgproxy("insecure/w:1/plain/lib/a.jpg")
    for reserved in ("insecure", "unsafe"):
        with pytest.raises(InvalidName):
            check_library_name(reserved)


def test_a_checked_signature_lifts_the_limits_for_unsigned_urls() -> None:
    rules = LibrarySettings(widths=(100, 200), max_quality=50)
    found = adapters.imgproxy("SIGNATURE/w:150/q:90/plain/lib/cat.jpg")
    unsigned = adapters.read(found, rules).spec
    assert (unsigned.width, unsigned.quality) == (200, 50)
    signed = adapters.read(found, rules, signed=True).spec
    assert (signed.width, signed.quality) == (150, 90)
    # Only an imgproxy signature can be checked: the other dialects are never signed.
    cloudflare = adapters.cloudflare("width=150/lib/cat.jpg")
    assert adapters.read(cloudflare, rules, signed=True).spec.width == 200


def test_presets_only_libraries_take_imgproxy_presets() -> None:
    rules = LibrarySettings(presets={"thumb": "w=100"}, presets_only=True)
    found = adapters.imgproxy("insecure/pr:thumb/plain/lib/cat.jpg")
    assert adapters.read(found, rules).spec == dialect.parse("w=100")
    with pytest.raises(BadRequest) as caught:
        adapters.read(adapters.imgproxy("insecure/w:100/plain/lib/cat.jpg"), rules)
    assert caught.value.code == "presets_only"


# Any path: a request or a 400 ----------------------------------------------------------

SEGMENTS = st.one_of(
    st.text(max_size=16),
    st.sampled_from(
        [
            "insecure",
            "plain",
            "lib",
            "cat.jpg@webp",
            "rs:fill:10:10:1:1",
            "c:0.5:0.5:fp:0.1:0.9",
            "g:sm",
            "pd:1:1",
            "rot:90",
            "w=10,fit=cover,gravity=0.1x0.1,rotate=270",
            "s_10x10,fit_contain,enlarge",
            "pos_attention,flip,rotate_90",
            "%FF",
            "%40",
            "..",
            "",
            b64("lib/cat.jpg"),
        ]
    ),
)
PATHS = st.one_of(
    st.text(max_size=60),
    st.lists(SEGMENTS, max_size=6).map("/".join),
)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(["", "/", "/cdn-cgi/image/", "/_ipx/", "/insecure/", "/x/plain/"]),
    PATHS,
)
def test_any_path_is_a_request_or_a_400(prefix: str, rest: str) -> None:
    path = prefix + rest
    try:
        found = adapters.address(path)
        if found is not None:
            adapters.read(found, RULES)
            adapters.read(found, RULES, signed=True)
    except BadRequest:
        pass
    for parse in (adapters.imgproxy, adapters.cloudflare, adapters.ipx):
        with contextlib.suppress(BadRequest):
            parse(rest)
