"""Upload-time analysis over real HTTP: kept in the catalog, shown by the admin API
(GPS only where the library keeps it), and `fm=json` on the public origin, which never
tells where a picture was taken."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pyvips
from aiohttp.test_utils import TestClient

from catalog import Role
from imgorigin.app import Services
from tests import images
from tests.conftest import Tenant, error_of, library_of, upload
from tests.test_describe import CAMERA_FIELDS, GPS_FIELDS


def camera_jpeg(width: int = 300, height: int = 200, *, gps: bool = True) -> bytes:
    """A JPEG from a camera (with where it was taken) that no other test uploads."""
    marks = secrets.token_bytes(3)
    picture = images.photo(width, height).draw_rect(list(marks), 0, height - 8, 8, 8, fill=True)
    picture = picture.copy()
    for name, value in (CAMERA_FIELDS | (GPS_FIELDS if gps else {})).items():
        picture.set_type(pyvips.GValue.gstr_type, name, value)
    return bytes(picture.jpegsave_buffer(Q=90, keep="exif"))


async def keep_gps(admin: TestClient, tenant: Tenant, on: bool) -> dict[str, Any]:
    response = await admin.patch(
        f"/v1/libraries/{tenant.name}", json={"keep_gps": on}, headers=tenant.auth(Role.ADMIN)
    )
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def image_json(admin: TestClient, tenant: Tenant, image_id: str) -> dict[str, Any]:
    response = await admin.get(f"{tenant.images}/{image_id}", headers=tenant.auth())
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def test_an_upload_carries_its_analysis(admin: TestClient, tenant: Tenant) -> None:
    data = camera_jpeg()
    created = await upload(admin, tenant, data)
    analysis = created["analysis"]
    assert analysis["width"] == 300 and analysis["height"] == 200
    assert (analysis["format"], analysis["bytes"], analysis["frames"]) == ("jpeg", len(data), 1)
    assert (analysis["colour_space"], analysis["icc_profile"]) == ("srgb", None)
    assert analysis["camera"] == "Canon EOS R5"
    assert analysis["lens"] == "RF24-70mm F2.8 L (IS) USM"
    assert analysis["taken_at"] == "2024-05-06T07:08:09+02:00"
    assert analysis["orientation"] == 1
    assert analysis["has_alpha"] is False
    assert analysis["blurhash"] and analysis["dominant_color"].startswith("#")
    lqip = analysis["lqip"].removeprefix("data:image/webp;base64,")
    small = pyvips.Image.new_from_buffer(base64.b64decode(lqip), "")
    assert small.width == 32 and small.height in (21, 22)  # 3:2, from a 64x43 thumbnail
    assert "gps" not in analysis  # the library does not keep it
    # Stored, not computed per request: the same on every read, in lists too.
    assert (await image_json(admin, tenant, created["id"]))["analysis"] == analysis
    response = await admin.get(tenant.images, headers=tenant.auth())
    listed = {item["id"]: item for item in (await response.json())["items"]}
    assert listed[created["id"]]["analysis"] == analysis


async def test_gps_is_kept_only_where_the_library_keeps_it(
    admin: TestClient, tenant: Tenant
) -> None:
    data = camera_jpeg()
    before = await upload(admin, tenant, data)
    assert "gps" not in before["analysis"]

    settings = await keep_gps(admin, tenant, True)
    assert settings["settings"]["keep_gps"] is True
    kept = await upload(admin, tenant, data, key="kept.jpg")
    gps = kept["analysis"]["gps"]
    assert abs(gps["latitude"] - 48.858194) < 1e-6
    assert abs(gps["longitude"] - 2.2945) < 1e-6
    assert gps["altitude"] == 35
    assert (await image_json(admin, tenant, kept["id"]))["analysis"]["gps"] == gps
    # Decided at upload: the earlier image did not gain it.
    assert "gps" not in (await image_json(admin, tenant, before["id"]))["analysis"]

    # Turned off again: later uploads do not keep it.
    assert (await keep_gps(admin, tenant, False))["settings"]["keep_gps"] is False
    later = await upload(admin, tenant, data, key="later.jpg")
    assert "gps" not in later["analysis"]


async def test_a_picture_without_gps_has_none_kept(admin: TestClient, tenant: Tenant) -> None:
    await keep_gps(admin, tenant, True)
    created = await upload(admin, tenant, camera_jpeg(gps=False))
    assert "gps" not in created["analysis"]
    assert created["analysis"]["camera"] == "Canon EOS R5"


async def test_the_origin_never_tells_where(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    await keep_gps(admin, tenant, True)
    created = await upload(admin, tenant, camera_jpeg(), key="trip/eiffel.jpg", activate="true")
    assert "gps" in created["analysis"]

    response = await origin.get(f"/{tenant.name}/trip/eiffel.jpg?fm=json")
    assert response.status == 200
    described = await response.json()
    assert "gps" not in described
    assert b"48.85" not in await response.read()
    # Otherwise the same analysis as the catalog's.
    expected = {k: v for k, v in created["analysis"].items() if k != "gps"}
    assert described == expected

    # Nor does any render: metadata is stripped.
    for query in ("w=100", "fm=jpg", "fm=webp&w=50"):
        response = await origin.get(f"/{tenant.name}/trip/eiffel.jpg?{query}")
        assert response.status == 200, query
        rendered = pyvips.Image.new_from_buffer(await response.read(), "")
        assert not [f for f in rendered.get_fields() if f.startswith("exif-")], query


async def test_each_version_keeps_its_analysis(admin: TestClient, tenant: Tenant) -> None:
    first = await upload(admin, tenant, camera_jpeg(300, 200))
    url = f"{tenant.images}/{first['id']}"
    second = images.jpeg(120, 90)  # no camera
    response = await admin.put(
        f"{url}/original", data=second, headers={**tenant.auth(), "Content-Type": "image/jpeg"}
    )
    replaced = await response.json()
    assert response.status == 200, replaced
    assert (replaced["analysis"]["width"], replaced["analysis"]["camera"]) == (120, None)
    response = await admin.post(f"{url}/versions/1/restore", headers=tenant.auth())
    restored = await response.json()
    assert response.status == 200, restored
    assert restored["analysis"] == first["analysis"]


async def test_images_from_before_have_none(
    admin: TestClient, services: Services, tenant: Tenant
) -> None:
    """Rows from before migration 0009 are not analysed after the fact: null."""
    created = await upload(admin, tenant, camera_jpeg())
    await services.catalog.pool.execute(
        "UPDATE images SET analysis = NULL WHERE id = $1", created["id"]
    )
    assert (await image_json(admin, tenant, created["id"]))["analysis"] is None


async def test_keep_gps_is_a_flag(admin: TestClient, services: Services, tenant: Tenant) -> None:
    response = await admin.get(f"/v1/libraries/{tenant.name}", headers=tenant.auth())
    assert (await response.json())["settings"]["keep_gps"] is False
    for value in ("yes", 1, None):
        response = await admin.patch(
            f"/v1/libraries/{tenant.name}",
            json={"keep_gps": value},
            headers=tenant.auth(Role.ADMIN),
        )
        assert await error_of(response) == "invalid_settings", value
    library = await library_of(services, tenant)
    assert (await services.catalog.libraries.settings(library)).keep_gps is False
