"""origin.url: every dialect parsed without the catalog, then admitted under a policy."""

from __future__ import annotations

import pytest

from catalog import LibrarySettings, Scheme, SigningKey, UrlPolicy
from origin import dialect, signing, url
from origin.errors import BadRequest, Forbidden

CROP = "w=300&h=200&fit=crop&fm=webp"
DIALECTS = [  # (path, query, the imgix query of the same picture)
    ("/lib/cats/tom.jpg", CROP, CROP),
    ("/insecure/rs:fill:300:200:1/f:webp/plain/lib/cats%2Ftom.jpg", "", CROP),
    ("/cdn-cgi/image/width=300,height=200,fit=cover,format=webp/lib/cats/tom.jpg", "", CROP),
    # sharp's cover does not enlarge: imgix's min.
    ("/_ipx/w_300,h_200,fit_cover,f_webp/lib/cats/tom.jpg", "", CROP.replace("crop", "min")),
]


@pytest.mark.parametrize(("path", "query", "imgix"), DIALECTS)
def test_every_dialect_parses_to_its_image_and_admits_to_its_spec(
    path: str, query: str, imgix: str
) -> None:
    parsed = url.parse(path, query)
    assert (parsed.library, parsed.key) == ("lib", "cats/tom.jpg")
    assert url.admit(parsed, None, 0).spec == dialect.parse(imgix)


def test_a_native_path_is_decoded_as_the_router_decodes_it() -> None:
    parsed = url.parse("/lib/a%20b%2Fc.jpg", "dl=x%26y.jpg")
    assert parsed.key == "a b/c.jpg"
    # The query as yarl decodes it for the handler: an escaped & stays one value's.
    assert parsed.pairs == (("dl", "x&y.jpg"),)
    assert (parsed.signed_path, parsed.query) == ("/lib/a%20b%2Fc.jpg", "dl=x%26y.jpg")


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/lib", "", "invalid_key"),
        ("/lib/bad%00.jpg", "", "invalid_key"),
        ("/lib/../cat.jpg", "", "invalid_key"),
        ("/lib/cat.jpg", "w=1&w=2", None),  # syntax only: repeats are the policy's to judge
        ("/lib/cat.jpg", "w=%ff", "invalid_query"),
        ("/insecure/w:10/plain/lib/cat.jpg", "cb=1", "unexpected_query"),
        ("/_ipx/w_10/lib/cat.jpg", "w=5000", "unexpected_query"),
    ],
)
def test_parse_refuses_what_no_library_could_serve(path: str, query: str, code: str | None) -> None:
    if code is None:
        assert url.parse(path, query).pairs == (("w", "1"), ("w", "2"))
        return
    with pytest.raises(BadRequest) as caught:
        url.parse(path, query)
    assert caught.value.code == code


def test_admit_holds_a_parsed_url_to_its_librarys_policy() -> None:
    key = SigningKey("k1", Scheme.NATIVE, "secret-of-lib")
    presets = UrlPolicy(LibrarySettings(presets={"t": "w=64"}, presets_only=True), ())
    signed_only = UrlPolicy(LibrarySettings(require_signed=True), (key,))
    free = url.parse("/lib/cat.jpg", "w=64")

    assert url.admit(url.parse("/lib/cat.jpg", "p=t"), presets, 0).spec.width == 64
    with pytest.raises(BadRequest) as caught:
        url.admit(free, presets, 0)
    assert caught.value.code == "presets_only"
    with pytest.raises(Forbidden) as refused:
        url.admit(free, signed_only, 0)
    assert refused.value.code == "signature_required"

    query = signing.sign(key, "/lib/cat.jpg", "w=64&expires=100")
    signed = url.parse("/lib/cat.jpg", query)
    assert url.admit(signed, signed_only, 99).spec.width == 64
    with pytest.raises(Forbidden) as expired:
        url.admit(signed, signed_only, 101)
    assert expired.value.code == "url_expired"
    # A path dialect with no place for a signature is never signed.
    with pytest.raises(Forbidden):
        url.admit(url.parse("/_ipx/w_64/lib/cat.jpg", ""), signed_only, 0)
