"""Presets and a library's URL rules: the parser's part, and the admin API's."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient

from catalog import InvalidSettings, LibrarySettings, Role
from origin import dialect
from origin.errors import BadRequest
from tests import images
from tests.conftest import Tenant, error_of, upload

RULES = LibrarySettings(presets={"thumb": "w=200&h=200&fit=crop", "hero": "w=1200&fm=webp"})


def code_of(query: str, rules: LibrarySettings) -> str:
    with pytest.raises(BadRequest) as caught:
        dialect.parse(query, rules)
    return caught.value.code


def test_a_preset_is_its_parameters_and_the_url_overrides_them() -> None:
    assert dialect.parse("p=thumb", RULES) == dialect.parse("w=200&h=200&fit=crop")
    assert dialect.parse("preset=thumb", RULES) == dialect.parse("p=thumb", RULES)
    assert dialect.parse("p=thumb&w=300", RULES) == dialect.parse("w=300&h=200&fit=crop")
    assert code_of("p=nope", RULES) == "unknown_preset"
    assert code_of("p=", RULES) == "unknown_preset"
    assert code_of("p=thumb&preset=hero", RULES) == "repeated_parameter"
    assert code_of("p=thumb&p=hero", RULES) == "repeated_parameter"


def test_presets_only() -> None:
    rules = dataclasses.replace(RULES, presets_only=True)
    assert dialect.parse("p=hero&s=abc&expires=99", rules).width == 1200
    assert code_of("w=100", rules) == "presets_only"
    assert code_of("p=thumb&w=100", rules) == "presets_only"
    assert code_of("", rules) == "presets_only"


def test_unknown_parameters_may_be_ignored() -> None:
    assert code_of("w=10&utm_source=x", RULES) == "unknown_parameter"
    lenient = dataclasses.replace(RULES, ignore_unknown_parameters=True)
    assert dialect.parse("w=10&utm_source=x", lenient) == dialect.parse("w=10")


def test_unsigned_widths_snap_up_and_quality_is_capped() -> None:
    rules = LibrarySettings(widths=(320, 640, 1080), max_quality=70)
    assert dialect.parse("w=500", rules).width == 640
    assert dialect.parse("w=640", rules).width == 640
    assert dialect.parse("w=5000", rules).width == 1080
    snapped = dialect.parse("w=500&h=250&fit=crop", rules)
    assert (snapped.width, snapped.height) == (640, 320)  # the shape is kept
    assert dialect.parse("w=100&dpr=2", rules).width == 320  # after dpr
    assert dialect.parse("h=123", rules).height == 123  # only widths snap
    assert dialect.parse("q=90", rules).quality == 70
    signed = dialect.parse("w=500&q=90&s=abc", rules)  # signed URLs are the owner's own
    assert (signed.width, signed.quality) == (500, 90)


@pytest.mark.parametrize(
    "query", ["w=abc", "p=thumb", "preset=x", "s=abc", "expires=1", "w=1&w=2", "zzz=1"]
)
def test_a_preset_must_be_a_valid_picture_query(query: str) -> None:
    with pytest.raises(BadRequest) as caught:
        dialect.check_preset("x", query)
    assert caught.value.code == "invalid_preset"


@pytest.mark.parametrize(
    "data",
    [
        {"nope": True},
        {"require_signed": "yes"},
        {"presets": {"Bad Name": "w=1"}},
        {"presets": {"ok": 5}},
        {"presets": ["w=1"]},
        {"widths": [0]},
        {"widths": [100, "200"]},
        {"widths": [True]},
        {"max_quality": 0},
        {"max_quality": 50.5},
    ],
)
def test_settings_are_checked(data: dict) -> None:
    with pytest.raises(InvalidSettings):
        LibrarySettings.from_json(data)


async def patch(admin: TestClient, tenant: Tenant, body: object, role: Role = Role.ADMIN):  # type: ignore[no-untyped-def]
    return await admin.patch(f"/v1/libraries/{tenant.name}", json=body, headers=tenant.auth(role))


async def test_library_settings_over_the_admin_api(
    origin: TestClient, admin: TestClient, tenant: Tenant
) -> None:
    shown = await admin.get(f"/v1/libraries/{tenant.name}", headers=tenant.auth(Role.READ))
    body = await shown.json()
    assert shown.status == 200 and body["name"] == tenant.name
    assert body["settings"] == LibrarySettings().to_json() and body["signing_keys"] == []

    await upload(admin, tenant, images.jpeg(600, 400), key="cat.jpg", activate="true")
    path = f"/{tenant.name}/cat.jpg"
    explicit = await origin.get(f"{path}?w=200&h=200&fit=crop")  # caches the old rules
    assert explicit.status == 200

    denied = await patch(admin, tenant, {"presets_only": True}, Role.WRITE)
    assert denied.status == 403 and await error_of(denied) == "insufficient_role"
    changed = await patch(
        admin, tenant, {"presets": {"thumb": "w=200&h=200&fit=crop"}, "presets_only": True}
    )
    body = await changed.json()
    assert changed.status == 200, body
    assert body["settings"]["presets_only"] and body["settings"]["presets"]["thumb"]

    # The new rules apply at once, though the old ones were cached.
    refused = await origin.get(f"{path}?w=200")
    assert refused.status == 400 and await error_of(refused) == "presets_only"
    thumb = await origin.get(f"{path}?p=thumb")
    assert thumb.status == 200 and thumb.headers["X-Cache"] == "HIT"  # the same variant
    assert thumb.headers["ETag"] == explicit.headers["ETag"]
    shape = images.encoded(await thumb.read())
    assert (shape.width, shape.height) == (200, 200)

    kept = await patch(admin, tenant, {"presets_only": False})  # a PATCH changes what it names
    assert (await kept.json())["settings"]["presets"] == {"thumb": "w=200&h=200&fit=crop"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"presets": {"x": "w=abc"}}, 400, "invalid_preset"),
        ({"nope": 1}, 400, "invalid_settings"),
        ({"widths": "640"}, 400, "invalid_settings"),
        ([1, 2], 400, "invalid_json"),
    ],
)
async def test_bad_settings_are_refused(
    admin: TestClient, tenant: Tenant, body: object, status: int, code: str
) -> None:
    response = await patch(admin, tenant, body)
    assert response.status == status and await error_of(response) == code


async def test_bad_settings_bodies_are_refused(admin: TestClient, tenant: Tenant) -> None:
    url, auth = f"/v1/libraries/{tenant.name}", tenant.auth(Role.ADMIN)
    json_type = {**auth, "Content-Type": "application/json"}
    not_json = await admin.patch(url, data=b"{", headers=json_type)
    assert not_json.status == 400 and await error_of(not_json) == "invalid_json"
    form = await admin.patch(url, data=b"a=1", headers={**auth, "Content-Type": "text/plain"})
    assert form.status == 415 and await error_of(form) == "unsupported_media_type"
    huge = {"presets": {f"p{i}": "w=100" for i in range(6000)}}
    too_large = await admin.patch(url, json=huge, headers=auth)
    assert too_large.status == 413 and await error_of(too_large) == "body_too_large"
    shown = await admin.get(url, headers=auth)
    assert (await shown.json())["settings"] == LibrarySettings().to_json()  # nothing changed
