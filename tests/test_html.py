"""An image's `<picture>` element over real HTTP, each of its URLs rendered by the
origin; and the average colour measured at upload, which is its background."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from catalog import Library, LibrarySettings, Role, Scheme
from imgorigin.app import Services
from origin import signing
from tests import images
from tests.conftest import Tenant, error_of, new_tenant, upload


class Elements(HTMLParser):
    """Every element's tag and attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(text)
    parser.close()
    return parser.found


def parse_srcset(text: str | None) -> list[tuple[str, int]]:
    assert text
    pairs = []
    for item in text.split(", "):
        url, descriptor = item.split(" ")
        assert descriptor.endswith("w")
        pairs.append((url, int(descriptor[:-1])))
    return pairs


async def picture(
    admin: TestClient, tenant: Tenant, image_id: str, **params: str
) -> dict[str, Any]:
    """The element's parts: {"avif": attrs, "webp": attrs, "img": attrs}."""
    response = await admin.get(
        f"{tenant.images}/{image_id}/html", params=params, headers=tenant.auth(Role.READ)
    )
    text = await response.text()
    assert response.status == 200, text
    assert response.content_type == "text/html" and response.charset == "utf-8"
    found = elements(text)
    assert [tag for tag, _ in found] == ["picture", "source", "source", "img"]
    sources = {attrs["type"]: attrs for tag, attrs in found if tag == "source"}
    assert set(sources) == {"image/avif", "image/webp"}
    return {"avif": sources["image/avif"], "webp": sources["image/webp"], "img": found[3][1]}


async def activate(admin: TestClient, tenant: Tenant, image_id: str) -> None:
    response = await admin.post(f"{tenant.images}/{image_id}/activate", headers=tenant.auth())
    assert response.status == 200


async def check_renders(
    origin: TestClient, services: Services, srcset: list[tuple[str, int]], fmt: str
) -> list[tuple[int, int]]:
    """Fetch every URL of a srcset from the origin: each a 200 of `fmt` at its width."""
    sizes = []
    for url, width in srcset:
        assert url.startswith(services.settings.public_url + "/")
        response = await origin.get(_path_qs(url, services))
        assert response.status == 200, await response.text()
        assert response.content_type == f"image/{fmt}"
        decoded = images.encoded(await response.read())
        assert decoded.width == width
        sizes.append((decoded.width, decoded.height))
    return sizes


def _path_qs(url: str, services: Services) -> str:
    return url.removeprefix(services.settings.public_url)


MIME = {"avif": "avif", "webp": "webp", "jpg": "jpeg", "png": "png"}


async def test_the_picture_element(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    body = await upload(
        admin, tenant, images.jpeg(1000, 500), key="pics/wide.jpg", alt="A wide picture"
    )
    assert body["colour"] is not None and len(body["colour"]) == 7
    parts = await picture(admin, tenant, body["id"], widths="1280,320,640")
    base = f"{services.settings.public_url}/{tenant.name}/pics/wide.jpg"
    for fmt in ("avif", "webp"):
        source = parts[fmt]
        assert parse_srcset(source["srcset"]) == [
            (f"{base}?w=320&fm={fmt}", 320),
            (f"{base}?w=640&fm={fmt}", 640),  # 1280 would enlarge: dropped
        ]
        assert source["sizes"] == "100vw"
    img = parts["img"]
    assert parse_srcset(img["srcset"]) == [
        (f"{base}?w=320&fm=jpg", 320),
        (f"{base}?w=640&fm=jpg", 640),
    ]
    assert img["src"] == f"{base}?w=640&fm=jpg"
    assert (img["width"], img["height"]) == ("640", "320")  # the largest, in shape
    assert img["alt"] == "A wide picture"
    assert img["sizes"] == "100vw"
    assert (img["loading"], img["decoding"]) == ("lazy", "async")
    assert img["style"] == f"background-color:{body['colour']}"

    # Pending: not served yet. Active: every URL renders at its width.
    first_url = parse_srcset(img["srcset"])[0][0]
    assert (await origin.get(_path_qs(first_url, services))).status == 404
    await activate(admin, tenant, body["id"])
    for part, fmt in (("avif", "avif"), ("webp", "webp"), ("img", "jpg")):
        sizes = await check_renders(
            origin, services, parse_srcset(parts[part]["srcset"]), MIME[fmt]
        )
        assert sizes == [(320, 160), (640, 320)]


async def test_default_widths_and_sizes(admin: TestClient, tenant: Tenant) -> None:
    body = await upload(admin, tenant, images.jpeg(1000, 750), key="d.jpg")
    parts = await picture(admin, tenant, body["id"], sizes="(min-width: 800px) 50vw, 100vw")
    assert [w for _, w in parse_srcset(parts["img"]["srcset"])] == [320, 640, 960]
    assert (parts["img"]["width"], parts["img"]["height"]) == ("960", "720")
    for part in ("avif", "webp", "img"):
        assert parts[part]["sizes"] == "(min-width: 800px) 50vw, 100vw"


async def test_widths_never_enlarge(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    body = await upload(admin, tenant, images.jpeg(500, 333), key="small.jpg", activate="true")
    parts = await picture(admin, tenant, body["id"], widths="640,1280")
    srcset = parse_srcset(parts["webp"]["srcset"])
    assert [w for _, w in srcset] == [500]  # all too wide: the source's own width
    assert (parts["img"]["width"], parts["img"]["height"]) == ("500", "333")
    assert await check_renders(origin, services, srcset, "webp") == [(500, 333)]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"widths": "0"}, "invalid_parameter"),
        ({"widths": "8193"}, "invalid_parameter"),
        ({"widths": "320,,640"}, "invalid_parameter"),
        ({"widths": ""}, "invalid_parameter"),
        ({"widths": "320 ,640"}, "invalid_parameter"),
        ({"widths": "-5"}, "invalid_parameter"),
        ({"widths": ",".join(str(100 + i) for i in range(11))}, "invalid_parameter"),
        ({"sizes": '100vw" onload="alert(1)'}, "invalid_parameter"),
        ({"sizes": "<b>"}, "invalid_parameter"),
        ({"sizes": ""}, "invalid_parameter"),
        ({"preset": "nope"}, "unknown_preset"),
        ({"width": "320"}, "unknown_parameter"),
    ],
)
async def test_bad_parameters_are_400(
    admin: TestClient, tenant: Tenant, params: dict[str, str], code: str
) -> None:
    body = await upload(admin, tenant, images.jpeg(64, 48), key="p.jpg")
    response = await admin.get(
        f"{tenant.images}/{body['id']}/html", params=params, headers=tenant.auth(Role.READ)
    )
    assert response.status == 400 and await error_of(response) == code


async def test_ten_widths_are_enough(admin: TestClient, tenant: Tenant) -> None:
    body = await upload(admin, tenant, images.jpeg(2000, 100), key="ten.jpg")
    widths = ",".join(str(100 * (i + 1)) for i in range(10))
    parts = await picture(admin, tenant, body["id"], widths=widths)
    assert len(parse_srcset(parts["img"]["srcset"])) == 10


async def test_hostile_text_is_escaped(admin: TestClient, tenant: Tenant) -> None:
    alt = "\"><script>alert('x')</script> & <img src=x onerror=alert(1)>"
    body = await upload(admin, tenant, images.jpeg(320, 200), key='a&b "q".jpg', alt=alt)
    response = await admin.get(
        f"{tenant.images}/{body['id']}/html",
        params={"widths": "320", "sizes": "(max-width: 10px) 5vw, 100vw & more"},
        headers=tenant.auth(Role.READ),
    )
    text = await response.text()
    assert "<script" not in text and "<img src=x" not in text
    assert text.count("<") == 5 and text.count(">") == 5  # the five tags, nothing else
    found = elements(text)
    img = found[3][1]
    assert img["alt"] == alt
    assert img["sizes"] == "(max-width: 10px) 5vw, 100vw & more"
    assert img["src"] is not None and img["src"].endswith("/a%26b%20%22q%22.jpg?w=320&fm=jpg")


async def test_no_alt_is_an_empty_alt(admin: TestClient, tenant: Tenant) -> None:
    body = await upload(admin, tenant, images.jpeg(100, 100), key="noalt.jpg")
    parts = await picture(admin, tenant, body["id"], widths="100")
    assert parts["img"]["alt"] == ""  # decorative, not missing


async def test_the_fallback_keeps_alpha(admin: TestClient, tenant: Tenant) -> None:
    cases = [
        (images.png_with_alpha(300, 200), "png"),
        (bytes(images.photo(300, 200).pngsave_buffer()), "jpg"),
        (bytes(images.flat(300, 200, (0, 0, 255, 128)).webpsave_buffer()), "png"),
        (bytes(images.photo(300, 200).webpsave_buffer()), "jpg"),
    ]
    for index, (data, fallback) in enumerate(cases):
        body = await upload(admin, tenant, data, key=f"alpha/{index}")
        img = (await picture(admin, tenant, body["id"], widths="300"))["img"]
        assert img["src"] is not None and img["src"].endswith(f"?w=300&fm={fallback}"), index


async def set_rules(services: Services, tenant: Tenant, rules: LibrarySettings) -> Library:
    library = await services.catalog.libraries.get(tenant.name)
    assert library is not None
    await services.catalog.libraries.set_settings(library, rules)
    await services.policies.invalidate(library.name, "")
    return library


async def test_a_preset_is_named_in_every_url(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    await set_rules(services, tenant, LibrarySettings(presets={"square": "fit=crop&ar=1:1"}))
    body = await upload(admin, tenant, images.jpeg(900, 600), key="sq.jpg", activate="true")
    parts = await picture(admin, tenant, body["id"], widths="200,400", preset="square")
    for part, fmt in (("avif", "avif"), ("webp", "webp"), ("img", "jpg")):
        srcset = parse_srcset(parts[part]["srcset"])
        assert all(url.endswith(f"fm={fmt}&preset=square") for url, _ in srcset)
        assert await check_renders(origin, services, srcset, MIME[fmt]) == [(200, 200), (400, 400)]
    # The preset's shape, not the source's.
    assert (parts["img"]["width"], parts["img"]["height"]) == ("400", "400")


async def test_a_library_s_widths_are_the_descriptors(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    """Unsigned URLs' widths snap up to the library's; the srcset says what comes."""
    await set_rules(services, tenant, LibrarySettings(widths=(400, 800)))
    body = await upload(admin, tenant, images.jpeg(1000, 500), key="snap.jpg", activate="true")
    parts = await picture(admin, tenant, body["id"], widths="300,350,700")
    srcset = parse_srcset(parts["webp"]["srcset"])
    assert [w for _, w in srcset] == [400, 800]
    assert await check_renders(origin, services, srcset, "webp") == [(400, 200), (800, 400)]


async def test_a_presets_only_library_cannot_have_widths(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    await set_rules(services, tenant, LibrarySettings(presets={"t": "w=100"}, presets_only=True))
    body = await upload(admin, tenant, images.jpeg(300, 200), key="po.jpg")
    response = await admin.get(
        f"{tenant.images}/{body['id']}/html", params={"preset": "t"}, headers=tenant.auth()
    )
    assert response.status == 400 and await error_of(response) == "presets_only"


async def test_a_signed_library_gets_signed_urls(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    body = await upload(admin, tenant, images.jpeg(700, 350), key="signed.jpg", activate="true")
    library = await set_rules(services, tenant, LibrarySettings(require_signed=True))
    response = await admin.get(f"{tenant.images}/{body['id']}/html", headers=tenant.auth())
    assert response.status == 409 and await error_of(response) == "no_signing_key"

    await services.catalog.signing_keys.create(library, Scheme.IMGPROXY)  # signs paths only
    older = await services.catalog.signing_keys.create(library, Scheme.NATIVE)
    newest = await services.catalog.signing_keys.create(library, Scheme.IMGIX)
    assert older.id != newest.id
    parts = await picture(admin, tenant, body["id"], widths="320,640")
    path = f"/{tenant.name}/signed.jpg"
    for part, fmt in (("avif", "avif"), ("webp", "webp"), ("img", "jpg")):
        srcset = parse_srcset(parts[part]["srcset"])
        for url, width in srcset:
            query = URL(url).raw_query_string
            assert query.startswith(f"w={width}&fm={fmt}&s=")
            assert URL(url).query["s"] == signing.signature_for(newest, path, query)
        assert await check_renders(origin, services, srcset, MIME[fmt]) == [
            (320, 160),
            (640, 320),
        ]
    unsigned = await origin.get(f"{path}?w=320&fm=jpg")
    assert unsigned.status == 403 and await error_of(unsigned) == "signature_required"


async def test_html_needs_a_key_for_the_library(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    body = await upload(admin, tenant, images.jpeg(64, 64), key="k.jpg")
    path = f"{tenant.images}/{body['id']}/html"
    response = await admin.get(path)
    assert response.status == 401 and await error_of(response) == "missing_api_key"
    other = await new_tenant(services)
    response = await admin.get(path, headers=other.auth(Role.ADMIN))
    assert response.status == 403 and await error_of(response) == "wrong_library"
    response = await admin.get(
        f"{tenant.images}/aaaaaaaaaaaaaaaa/html", headers=tenant.auth(Role.READ)
    )
    assert response.status == 404 and await error_of(response) == "image_not_found"
    await admin.delete(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    response = await admin.get(path, headers=tenant.auth(Role.READ))
    assert response.status == 404 and await error_of(response) == "image_not_found"


# The average colour, measured at upload.


async def test_the_average_colour_is_measured_at_upload(admin: TestClient, tenant: Tenant) -> None:
    red = bytes(images.flat(40, 30, (255, 0, 0)).pngsave_buffer())
    body = await upload(admin, tenant, red, key="red.png")
    assert body["colour"] == "#ff0000"
    half = bytes(images.flat(40, 30, (0, 0, 0, 0)).pngsave_buffer())  # transparent black
    assert (await upload(admin, tenant, half, key="clear.png"))["colour"] == "#ffffff"
    grey = bytes(images.flat(40, 30, (51,)).copy(interpretation="b-w").pngsave_buffer())
    assert (await upload(admin, tenant, grey, key="grey.png"))["colour"] == "#333333"

    # A replacement brings its own colour; restoring a version brings back its own.
    blue = bytes(images.flat(40, 30, (0, 0, 255)).pngsave_buffer())
    response = await admin.put(
        f"{tenant.images}/{body['id']}/original",
        data=blue,
        headers={**tenant.auth(), "Content-Type": "image/png"},
    )
    assert response.status == 200 and (await response.json())["colour"] == "#0000ff"
    response = await admin.post(
        f"{tenant.images}/{body['id']}/versions/1/restore", headers=tenant.auth()
    )
    assert response.status == 200 and (await response.json())["colour"] == "#ff0000"
    response = await admin.get(f"{tenant.images}/{body['id']}", headers=tenant.auth(Role.READ))
    assert (await response.json())["colour"] == "#ff0000"
