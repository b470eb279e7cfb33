"""The path dialects over real HTTP: imgproxy, Cloudflare's /cdn-cgi/image and ipx's
/_ipx reach the same variants as the imgix query, and imgproxy's signatures guard a
library that requires them."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from catalog import LibrarySettings, Scheme
from imgorigin.app import Services
from origin import signing
from tests import images
from tests.conftest import Tenant, error_of, upload


@pytest.fixture
async def library(admin: TestClient, tenant: Tenant) -> str:
    await upload(admin, tenant, images.jpeg(1200, 800), key="cats/tom.jpg", activate="true")
    return tenant.name


def get(origin: TestClient, path: str):  # type: ignore[no-untyped-def]
    # encoded=True: the test client would otherwise resolve `..` and unescape `%40`.
    return origin.get(URL(path, encoded=True))


async def test_one_picture_in_four_dialects_is_one_variant(
    origin: TestClient, library: str
) -> None:
    paths = [
        f"/{library}/cats/tom.jpg?w=300&h=200&fit=min&fm=webp",
        f"/insecure/rs:fill:300:200/plain/{library}/cats/tom.jpg@webp",
        f"/cdn-cgi/image/width=300,height=200,fit=crop,format=webp/{library}/cats/tom.jpg",
        f"/_ipx/s_300x200,f_webp/{library}/cats/tom.jpg",
    ]
    responses = [await get(origin, path) for path in paths]
    for path, response in zip(paths, responses, strict=True):
        assert response.status == 200, (path, await response.text())
        assert response.headers["Content-Type"] == "image/webp", path
        picture = images.encoded(await response.read())
        assert (picture.width, picture.height) == (300, 200), path
    assert [r.headers["X-Cache"] for r in responses] == ["MISS", "HIT", "HIT", "HIT"]
    assert len({r.headers["ETag"] for r in responses}) == 1


@pytest.mark.parametrize(
    ("path", "size", "mime"),
    [
        ("/insecure/w:400/plain/{library}/cats/tom.jpg", (400, 267), "image/jpeg"),
        (
            "/insecure/rs:force:100:100/g:nowe/plain/{library}/cats/tom.jpg@png",
            (100, 100),
            "image/png",
        ),
        # imgproxy's sizes are of the turned picture
        ("/insecure/rs:fit:600:0/rot:90/{source}.avif", (600, 900), "image/avif"),
        # turned and flipped bottom up: both read their input out of order
        ("/{library}/cats/tom.jpg?w=600&rot=90&flip=v", (400, 600), "image/jpeg"),
        ("/cdn-cgi/image/width=250,format=auto/{library}/cats/tom.jpg", (250, 167), "image/avif"),
        (
            "/cdn-cgi/image/w=100,h=100,fit=pad,background=%23ff0000/{library}/cats/tom.jpg",
            (100, 100),
            "image/jpeg",
        ),
        ("/_ipx/w_320/{library}/cats/tom.jpg", (320, 213), "image/jpeg"),
        ("/_ipx/_/{library}/cats/tom.jpg", (1200, 800), "image/jpeg"),
        ("/_ipx/s_64x64,fit_fill,f_png/{library}/cats/tom.jpg", (64, 64), "image/png"),
        # Nuxt Image's imgproxy provider: the source with a leading slash, plain and base64
        ("/insecure/w:120/plain//{library}/cats/tom.jpg", (120, 80), "image/jpeg"),
        ("/insecure/w:120/plain/%2F{library}/cats/tom.jpg@png", (120, 80), "image/png"),
        ("/insecure/rs:fit:90:90/{slashed}", (90, 60), "image/jpeg"),
    ],
)
async def test_each_dialect_renders_what_it_asks_for(
    origin: TestClient, library: str, path: str, size: tuple[int, int], mime: str
) -> None:
    import base64

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    source, slashed = b64(f"{library}/cats/tom.jpg"), b64(f"/{library}/cats/tom.jpg")
    url = path.format(library=library, source=source, slashed=slashed)
    response = await origin.get(URL(url, encoded=True), headers={"Accept": "image/avif,*/*"})
    assert response.status == 200, (url, await response.text())
    assert response.headers["Content-Type"] == mime
    picture = images.encoded(await response.read())
    assert (picture.width, picture.height) == size


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/insecure/zz:1/plain/{library}/cats/tom.jpg", 400, "unknown_parameter"),
        ("/insecure/w:abc/plain/{library}/cats/tom.jpg", 400, "invalid_parameter"),
        ("/insecure/w:10/plain/https://example.com/a.jpg", 400, "invalid_path"),
        ("/insecure/w:10/plain/{library}/no-such.jpg", 404, "image_not_found"),
        ("/insecure/w:10/plain///{library}/cats/tom.jpg", 400, "invalid_path"),  # one "/" only
        ("/cdn-cgi/image/trim=1/{library}/cats/tom.jpg", 400, "unknown_parameter"),
        ("/cdn-cgi/image/width=x/{library}/cats/tom.jpg", 400, "invalid_parameter"),
        ("/_ipx/grayscale/{library}/cats/tom.jpg", 400, "unknown_parameter"),
        ("/_ipx/w_10/../etc/passwd", 400, "invalid_path"),
        # No path dialect reads a query: one would only make endless new URIs of a path.
        ("/insecure/w:10/plain/{library}/cats/tom.jpg?w=5000&foo=bar", 400, "unexpected_query"),
        ("/insecure/w:10/plain/{library}/cats/tom.jpg@png?cb=1", 400, "unexpected_query"),
        ("/cdn-cgi/image/width=10/{library}/cats/tom.jpg?v=2", 400, "unexpected_query"),
        ("/_ipx/w_10/{library}/cats/tom.jpg?ixlib=js-3.8.0", 400, "unexpected_query"),
    ],
)
async def test_dialect_mistakes_are_4xx(
    origin: TestClient, library: str, path: str, status: int, code: str
) -> None:
    response = await get(origin, path.format(library=library))
    assert response.status == status
    assert await error_of(response) == code


async def test_imgproxy_signatures_guard_a_library_that_requires_them(
    origin: TestClient, library: str, services: Services
) -> None:
    found = await services.catalog.libraries.get(library)
    assert found is not None
    key = await services.catalog.signing_keys.create(found, Scheme.IMGPROXY)
    await services.catalog.libraries.set_settings(found, LibrarySettings(require_signed=True))
    path = f"/rs:fit:120:0/plain/{library}/cats/tom.jpg@png"
    unsigned = await get(origin, f"/insecure{path}")
    assert unsigned.status == 403 and await error_of(unsigned) == "signature_required"
    forged = await get(origin, f"/{'A' * 43}{path}")
    assert forged.status == 403 and await error_of(forged) == "invalid_signature"
    signed = await get(origin, signing.sign_path(key, path))
    assert signed.status == 200, await signed.text()
    assert images.encoded(await signed.read()).width == 120
    # The signature covers the path, not a query: one added is refused, not served.
    busted = await get(origin, signing.sign_path(key, path) + "?w=5000&foo=bar")
    assert busted.status == 400 and await error_of(busted) == "unexpected_query"
    elsewhere = await get(origin, f"/cdn-cgi/image/width=120/{library}/cats/tom.jpg")
    assert elsewhere.status == 403 and await error_of(elsewhere) == "signature_required"
