"""The public read path over real HTTP: variants, headers, caching, 4xx."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from imgorigin.app import Services, build_apps, open_services
from imgorigin.settings import Settings
from origin import dialect
from tests import images
from tests.conftest import Tenant, error_of, new_tenant, upload

CHROME_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"


@pytest.fixture
async def photo_path(admin: TestClient, tenant: Tenant) -> str:
    await upload(admin, tenant, images.jpeg(1200, 800), key="cats/tom.jpg", activate="true")
    return f"/{tenant.name}/cats/tom.jpg"


async def test_first_request_renders_then_the_store_serves(
    origin: TestClient, photo_path: str
) -> None:
    first = await origin.get(photo_path + "?w=400&fm=webp")
    assert first.status == 200
    assert first.headers["Content-Type"] == "image/webp"
    assert first.headers["X-Cache"] == "MISS"
    assert first.headers["Cache-Control"] == (
        "public, max-age=86400, s-maxage=31536000, stale-while-revalidate=86400"
    )
    assert "Vary" not in first.headers
    rendered = images.encoded(await first.read())
    assert (rendered.width, rendered.height) == (400, 267)

    second = await origin.get(photo_path + "?fm=webp&w=400")  # same variant, other order
    assert second.headers["X-Cache"] == "HIT"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert await second.read() == await first.read()


async def test_etag_and_304(origin: TestClient, photo_path: str) -> None:
    response = await origin.get(photo_path + "?w=100")
    tag = response.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    for header in (tag, f'"other", {tag}', f"W/{tag}", "*"):
        cached = await origin.get(photo_path + "?w=100", headers={"If-None-Match": header})
        assert cached.status == 304, header
        assert cached.headers["ETag"] == tag
        assert await cached.read() == b""
    fresh = await origin.get(photo_path + "?w=100", headers={"If-None-Match": '"other"'})
    assert fresh.status == 200
    other = await origin.get(photo_path + "?w=101")
    assert other.headers["ETag"] != tag


async def test_auto_format_negotiates_and_varies(origin: TestClient, photo_path: str) -> None:
    avif = await origin.get(photo_path + "?w=120&auto=format", headers={"Accept": CHROME_ACCEPT})
    assert avif.headers["Content-Type"] == "image/avif"
    assert avif.headers["Vary"] == "Accept"
    webp = await origin.get(photo_path + "?w=120&auto=format", headers={"Accept": "image/webp"})
    assert webp.headers["Content-Type"] == "image/webp"
    old = await origin.get(photo_path + "?w=120&auto=format", headers={"Accept": "*/*"})
    assert old.headers["Content-Type"] == "image/jpeg"
    assert old.headers["Vary"] == "Accept"
    # The negotiated WebP is the same stored variant as an explicit fm=webp.
    explicit = await origin.get(photo_path + "?w=120&fm=webp")
    assert explicit.headers["X-Cache"] == "HIT"
    assert explicit.headers["ETag"] == webp.headers["ETag"]
    assert "Vary" not in explicit.headers


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("", (1200, 800)),
        ("w=400&h=400", (400, 267)),
        ("h=200", (300, 200)),
        ("w=2400", (2400, 1600)),
        ("w=2400&fit=max", (1200, 800)),
        ("w=300&h=300&fit=crop", (300, 300)),
        ("w=300&h=300&fit=fill", (300, 300)),
        ("w=300&h=100&fit=scale", (300, 100)),
        ("w=200&dpr=2", (400, 267)),
        ("w=150&dpr=1.5&h=150&fit=crop", (225, 225)),
    ],
)
async def test_fit_modes(
    origin: TestClient, photo_path: str, query: str, size: tuple[int, int]
) -> None:
    response = await origin.get(f"{photo_path}?{query}&fm=png")
    assert response.status == 200, await response.text()
    rendered = images.encoded(await response.read())
    assert (rendered.width, rendered.height) == size


@pytest.mark.parametrize(
    ("fm", "mime", "magic"),
    [
        ("jpg", "image/jpeg", b"\xff\xd8\xff"),
        ("png", "image/png", b"\x89PNG"),
        ("webp", "image/webp", b"RIFF"),
        ("avif", "image/avif", b"\x00\x00\x00"),
        ("gif", "image/gif", b"GIF8"),
    ],
)
async def test_output_formats(
    origin: TestClient, photo_path: str, fm: str, mime: str, magic: bytes
) -> None:
    response = await origin.get(f"{photo_path}?w=64&fm={fm}")
    assert response.headers["Content-Type"] == mime
    data = await response.read()
    assert data.startswith(magic)
    assert images.encoded(data).width == 64


async def test_head_answers_headers_only(origin: TestClient, photo_path: str) -> None:
    response = await origin.head(photo_path + "?w=50")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert int(response.headers["Content-Length"]) > 0
    assert await response.read() == b""


async def test_a_stored_variant_is_streamed_with_its_length(
    origin: TestClient, photo_path: str
) -> None:
    first = await origin.get(photo_path + "?w=90")
    body = await first.read()
    assert first.headers["X-Cache"] == "MISS"
    for method in (origin.get, origin.head):
        again = await method(photo_path + "?w=90")
        assert again.headers["X-Cache"] == "HIT"
        assert again.headers["Content-Type"] == "image/jpeg"
        assert int(again.headers["Content-Length"]) == len(body)
        assert await again.read() == (body if method == origin.get else b"")


async def test_concurrent_first_requests_render_once(
    origin: TestClient, photo_path: str, services: Services, tenant: Tenant
) -> None:
    responses = await asyncio.gather(
        *(origin.get(photo_path + "?w=777&fm=webp") for _ in range(12))
    )
    outcomes = [r.headers["X-Cache"] for r in responses]
    assert outcomes.count("MISS") == 1, outcomes
    assert "COALESCED" in outcomes, outcomes
    bodies = {await r.read() for r in responses}
    assert len(bodies) == 1
    stored = list((services.settings.server.data_dir / "store" / "variants").rglob("*.webp"))
    assert len(stored) == 1


async def test_only_active_images_are_served(
    origin: TestClient, admin: TestClient, tenant: Tenant
) -> None:
    await upload(admin, tenant, images.jpeg(50, 50), key="p.jpg")
    response = await origin.get(f"/{tenant.name}/p.jpg")
    assert response.status == 404 and await error_of(response) == "image_not_found"
    response = await origin.get("/no-such-library/p.jpg")
    assert response.status == 404 and await error_of(response) == "image_not_found"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("w=abc", "invalid_parameter"),
        ("w=%201", "invalid_parameter"),
        ("w=1_0", "invalid_parameter"),
        ("w=0", "invalid_parameter"),
        ("w=9000", "invalid_parameter"),
        ("q=101", "invalid_parameter"),
        ("dpr=9", "invalid_parameter"),
        ("fit=cover", "invalid_parameter"),
        ("fm=bmp", "unsupported_format"),
        ("blur=2001", "invalid_parameter"),
        ("zoom=5", "unknown_parameter"),
        ("w=10&w=10", "repeated_parameter"),
        ("w=8000&dpr=2", "output_too_large"),
    ],
)
async def test_bad_parameters(origin: TestClient, photo_path: str, query: str, code: str) -> None:
    response = await origin.get(URL(f"{photo_path}?{query}", encoded=True))
    assert response.status == 400
    assert await error_of(response) == code
    assert response.headers["Cache-Control"] == "public, max-age=60"  # briefly, as a 404


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/demo/a/%2e%2e/b.jpg", 400, "invalid_key"),
        ("/demo/a/%2E%2E/%2E%2E/etc/passwd", 400, "invalid_key"),
        ("/demo/a%00.jpg", 400, "invalid_key"),
        ("/demo/a%5cb.jpg", 400, "invalid_key"),
        # Not a library name, so an imgproxy path, whose source `x.jpg` is no address.
        ("/Demo_Lib/x.jpg", 400, "invalid_path"),
        ("/healthz/x.jpg", 400, "invalid_path"),
        ("/", 404, "not_found"),
        ("/demo", 404, "not_found"),
    ],
)
async def test_bad_paths(origin: TestClient, path: str, status: int, code: str) -> None:
    response = await origin.get(URL(path, encoded=True))
    assert response.status == status
    assert await error_of(response) == code


async def test_wrong_method_is_json(origin: TestClient, photo_path: str) -> None:
    response = await origin.post(photo_path)
    assert response.status == 405 and await error_of(response) == "method_not_allowed"


async def test_healthz(origin: TestClient) -> None:
    response = await origin.get("/healthz")
    assert response.status == 200 and (await response.json())["status"] == "ok"


async def test_a_render_that_outlives_its_image_stores_nothing(
    origin: TestClient, admin: TestClient, tenant: Tenant, services: Services
) -> None:
    """Resolved before a delete, rendered after it: the variant must not be stored,
    because the delete's purge has already run (another image keeps the original)."""
    from origin.app import ORIGIN
    from origin.errors import NotFound
    from origin.variants import Variant

    data = images.jpeg(300, 200)
    doomed = await upload(admin, tenant, data, key="doomed.jpg", activate="true")
    await upload(admin, tenant, data, key="keeper.jpg", activate="true")
    read_path = origin.server.app[ORIGIN]
    image = await read_path.resolve(tenant.name, "doomed.jpg")
    response = await admin.delete(f"{tenant.images}/{doomed['id']}", headers=tenant.auth())
    assert response.status == 204
    variant = Variant.of(image, dialect.parse("w=50&fm=png"))
    with pytest.raises(NotFound):
        await read_path.fetch(variant)
    stored = services.settings.server.data_dir / "store" / "variants" / doomed["id"]
    assert not [path for path in stored.rglob("*") if path.is_file()]
    keeper = await origin.get(f"/{tenant.name}/keeper.jpg?w=50&fm=png")
    assert keeper.status == 200


async def test_output_budget_over_http(origin: TestClient, photo_path: str) -> None:
    for query in ("w=8192&h=8192&fit=scale", "w=2100&h=2000&fit=scale&fm=gif"):
        response = await origin.get(f"{photo_path}?{query}")
        assert response.status == 400 and await error_of(response) == "output_too_large"


async def test_a_client_hanging_up_mid_body_is_not_an_outage(
    origin: TestClient, photo_path: str, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    from origin.app import ORIGIN
    from origin.variants import Variant

    library, key = photo_path.strip("/").split("/", 1)
    image = await origin.server.app[ORIGIN].resolve(library, key)
    variant = Variant.of(image, dialect.parse("w=10&fm=png"))
    # A stored variant far larger than the socket buffers, so the body is still being
    # written when the client goes.
    await services.store.put(variant.key, bytes(32 * 1024 * 1024), "image/png")
    for _ in range(3):
        response = await origin.get(f"{photo_path}?w=10&fm=png")
        assert response.headers["X-Cache"] == "HIT"
        await response.content.read(1000)
        response.close()  # hang up with most of the body unsent
    await asyncio.sleep(0.2)
    assert "unavailable" not in caplog.text


async def test_dl_sends_an_attachment_of_the_same_variant(
    origin: TestClient, photo_path: str
) -> None:
    inline = await origin.get(photo_path + "?w=90")
    assert "Content-Disposition" not in inline.headers
    named = await origin.get(photo_path + "?w=90&dl64=0LrQvtGCLmpwZw")  # dl=кот.jpg
    assert named.headers["X-Cache"] == "HIT"  # the same stored picture
    assert named.headers["Content-Disposition"] == (
        "attachment; filename=\"___.jpg\"; filename*=UTF-8''%D0%BA%D0%BE%D1%82.jpg"
    )


async def test_fm_json_and_blurhash_describe_the_original(
    origin: TestClient, photo_path: str
) -> None:
    response = await origin.get(photo_path + "?fm=json&w=10")
    assert response.headers["Content-Type"] == "application/json"
    described = await response.json()
    assert (described["width"], described["height"], described["format"]) == (1200, 800, "jpeg")
    assert described["dominant_color"].startswith("#") and described["blurhash"]
    blurhash = await origin.get(photo_path + "?fm=blurhash")
    assert blurhash.headers["Content-Type"].startswith("text/plain")
    assert await blurhash.text() == described["blurhash"]
    again = await origin.get(photo_path + "?fm=json")  # w is ignored: one variant
    assert again.headers["X-Cache"] == "HIT"


async def test_variant_headers_for_cdns(origin: TestClient, photo_path: str) -> None:
    response = await origin.get(photo_path + "?w=64")
    tags = response.headers["Surrogate-Key"].split(" ")
    assert tags[0] == f"library-{photo_path.split('/')[1]}"
    assert re.fullmatch(r"image-[a-z0-9]+", tags[1])
    assert response.headers["Cache-Tag"] == ",".join(tags)
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert abs((datetime.now(UTC) - modified).total_seconds()) < 600
    hit = await origin.get(photo_path + "?w=64")
    assert hit.headers["X-Cache"] == "HIT"
    for name in ("Surrogate-Key", "Cache-Tag", "Last-Modified", "Content-Security-Policy"):
        assert hit.headers[name] == response.headers[name]


@pytest.mark.parametrize(
    ("path", "status", "cache_control"),
    [
        ("/{library}/no-such.jpg", 404, "public, max-age=60"),
        ("/{library}/cats/tom.jpg?w=abc", 400, "public, max-age=60"),
        ("/{library}/cats/tom.jpg?s=abc", 403, "no-store"),  # a signature can change
    ],
)
async def test_errors_are_cached_briefly_or_not_at_all(
    origin: TestClient, photo_path: str, path: str, status: int, cache_control: str
) -> None:
    response = await origin.get(path.format(library=photo_path.split("/")[1]))
    assert response.status == status
    assert response.headers["Cache-Control"] == cache_control


async def test_sdk_srcset_widths_are_shrunk_to_the_limits_not_refused(
    settings: Settings,
    aiohttp_client,  # type: ignore[no-untyped-def]
) -> None:
    # The imgix SDKs' srcsets reach w=8192; a small pixel budget makes the same happen
    # here at a test's cost that 40 MP makes on a real 4:3 photo.
    budget = 1_000_000
    small = dataclasses.replace(
        settings, origin=dataclasses.replace(settings.origin, max_output_pixels=budget)
    ).validated()
    async with open_services(small) as services:
        origin_app, admin_app = build_apps(services)
        origin, admin = await aiohttp_client(origin_app), await aiohttp_client(admin_app)
        tenant = await new_tenant(services)
        await upload(admin, tenant, images.jpeg(1600, 1200), key="wide.jpg", activate="true")
        for query in ("w=7401", "w=8192", "w=8192&fit=max", "w=8192&fm=webp&ixlib=js-3.8.0"):
            response = await origin.get(f"/{tenant.name}/wide.jpg?{query}")
            assert response.status == 200, (query, await response.text())
            picture = images.encoded(await response.read())
            assert 990_000 < picture.width * picture.height <= budget, query
            assert abs(picture.width / picture.height - 4 / 3) < 0.005, query
        # What the URL demands itself is refused when it cannot be had.
        response = await origin.get(f"/{tenant.name}/wide.jpg?w=100&min-h=1000")
        assert response.status == 400 and await error_of(response) == "output_too_large"
        response = await origin.get(f"/{tenant.name}/wide.jpg?w=8192&h=8192&fit=scale")
        assert response.status == 400 and await error_of(response) == "output_too_large"
