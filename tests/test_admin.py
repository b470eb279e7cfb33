"""The admin API over real HTTP, on a real PostgreSQL and the filesystem store."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from yarl import URL

from catalog import Role
from imgorigin.app import Services, build_apps, open_services
from storage import original_key
from tests import images
from tests.conftest import Tenant, error_of, upload


async def test_multipart_upload_answers_the_contract(admin: TestClient, tenant: Tenant) -> None:
    data = images.jpeg(640, 480)
    body = await upload(admin, tenant, data, key="cats/tom.jpg", tags="cat, pet,cat", alt="Tom")
    assert set(body) >= {
        "id",
        "library",
        "key",
        "status",
        "width",
        "height",
        "format",
        "bytes",
        "sha256",
        "tags",
        "created_at",
        "url",
    }
    assert body["library"] == tenant.name
    assert body["key"] == "cats/tom.jpg"
    assert body["status"] == "pending"
    assert (body["width"], body["height"], body["format"]) == (640, 480, "jpeg")
    assert body["bytes"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["tags"] == ["cat", "pet"]
    assert body["alt"] == "Tom"
    assert body["url"].endswith(f"/{tenant.name}/cats/tom.jpg")

    response = await admin.get(f"{tenant.images}/{body['id']}", headers=tenant.auth(Role.READ))
    assert response.status == 200
    assert await response.json() == body


async def test_raw_body_upload_with_query_fields(admin: TestClient, tenant: Tenant) -> None:
    data = images.photo(300, 200).pngsave_buffer()
    response = await admin.post(
        tenant.images,
        params={"key": "raw/one.png", "activate": "true", "tags": "a"},
        data=data,
        headers={**tenant.auth(), "Content-Type": "image/png"},
    )
    body = await response.json()
    assert response.status == 201, body
    assert (body["key"], body["status"], body["format"], body["tags"]) == (
        "raw/one.png",
        "active",
        "png",
        ["a"],
    )


async def test_format_comes_from_the_bytes_not_the_name(admin: TestClient, tenant: Tenant) -> None:
    webp = images.photo(100, 80).webpsave_buffer()
    response = await admin.post(
        tenant.images, data=webp, headers={**tenant.auth(), "Content-Type": "image/jpeg"}
    )
    body = await response.json()
    assert body["format"] == "webp"
    assert body["key"] == f"{body['id']}.webp"  # no key given: {id}.{ext}


async def test_default_key_uses_the_format_extension(admin: TestClient, tenant: Tenant) -> None:
    body = await upload(admin, tenant, images.jpeg(50, 40))
    assert body["key"] == f"{body['id']}.jpg"


async def test_identical_uploads_share_one_original(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    data = images.jpeg(64, 64)
    first = await upload(admin, tenant, data, key="a.jpg")
    second = await upload(admin, tenant, data, key="b.jpg")
    assert first["sha256"] == second["sha256"] and first["id"] != second["id"]
    assert await services.store.head(original_key(first["sha256"])) is not None


async def test_purge_names_that_cannot_exist_are_missing(admin: TestClient, tenant: Tenant) -> None:
    for body in (
        {"images": ["a\u0000b", "AAAAAAAAAAAAAAAA"]},
        {"keys": ["a\u0000b", "\ud800", "../x", "ok.jpg"]},
    ):
        response = await admin.post(
            "/v1/purge", json={"library": tenant.name, **body}, headers=tenant.auth()
        )
        report = await response.json()
        assert response.status == 200 and report["images"] == 0, report
        assert sorted(report["missing"]) == sorted(next(iter(body.values())))


async def test_activate_then_delete(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    # Bytes no other test uploads: originals are shared by content across the database.
    body = await upload(admin, tenant, images.jpeg(217, 103), key="d/x.jpg")
    path = f"/{tenant.name}/d/x.jpg"
    assert (await origin.get(path)).status == 404  # pending is not served
    response = await admin.post(f"{tenant.images}/{body['id']}/activate", headers=tenant.auth())
    assert response.status == 200
    assert (await response.json())["status"] == "active"
    assert (await origin.get(path + "?w=50")).status == 200  # seen at once, despite the cache
    assert (await origin.get(path + "?w=60&fm=webp")).status == 200
    variants = services.settings.server.data_dir / "store" / "variants" / body["id"]
    assert len(list(variants.rglob("*.*"))) == 2

    response = await admin.delete(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert response.status == 204
    assert (await origin.get(path + "?w=50")).status == 404
    assert not variants.exists()
    assert await services.store.head(original_key(body["sha256"])) is None
    response = await admin.get(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert await error_of(response) == "image_not_found"
    response = await admin.delete(f"{tenant.images}/{body['id']}", headers=tenant.auth())
    assert await error_of(response) == "image_not_found"


async def test_deleting_one_of_two_sharers_keeps_the_original(
    admin: TestClient, origin: TestClient, tenant: Tenant, services: Services
) -> None:
    data = images.jpeg(80, 60)
    first = await upload(admin, tenant, data, key="s/1.jpg", activate="true")
    await upload(admin, tenant, data, key="s/2.jpg", activate="true")
    assert (
        await admin.delete(f"{tenant.images}/{first['id']}", headers=tenant.auth())
    ).status == 204
    assert await services.store.head(original_key(first["sha256"])) is not None
    assert (await origin.get(f"/{tenant.name}/s/2.jpg?w=20")).status == 200


async def test_a_deleted_key_can_be_used_again(admin: TestClient, tenant: Tenant) -> None:
    first = await upload(admin, tenant, images.jpeg(30, 30), key="again.jpg")
    await admin.delete(f"{tenant.images}/{first['id']}", headers=tenant.auth())
    second = await upload(admin, tenant, images.jpeg(31, 30), key="again.jpg")
    assert second["id"] != first["id"]


async def test_key_conflict_is_409_and_leaves_no_orphan(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    await upload(admin, tenant, images.jpeg(40, 40), key="taken.jpg")
    other = images.jpeg(41, 40)
    body = await upload(admin, tenant, other, key="taken.jpg", expect=409)
    assert body["error"]["code"] == "key_exists"
    assert await services.store.head(original_key(hashlib.sha256(other).hexdigest())) is None


async def admin_with(services: Services, aiohttp_client, **sections: dict) -> TestClient:  # type: ignore[no-untyped-def]
    """An admin client on the same services with some settings changed, e.g.
    admin={"max_upload_bytes": 10}."""
    settings = services.settings
    for section, changes in sections.items():
        changed = dataclasses.replace(getattr(settings, section), **changes)
        settings = dataclasses.replace(settings, **{section: changed})
    admin = dataclasses.replace(
        services.admin,
        settings=settings.admin,
        source_limits=settings.origin.source_limits,
    )
    changed = dataclasses.replace(services, settings=settings, admin=admin)
    return await aiohttp_client(build_apps(changed)[1])


async def _post(
    admin: TestClient, tenant: Tenant, data: bytes, headers: dict[str, str], **params: str
):  # type: ignore[no-untyped-def]
    return await admin.post(tenant.images, data=data, headers=headers, params=params)


async def test_authentication_and_roles(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    data = images.jpeg(20, 20)
    raw = {"Content-Type": "image/jpeg"}
    cases = [
        ({}, 401, "missing_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "invalid_authorization"),
        ({"Authorization": "Bearer"}, 401, "invalid_authorization"),
        ({"Authorization": "Bearer io_not-a-key"}, 401, "invalid_api_key"),
        (tenant.auth(Role.READ), 403, "insufficient_role"),
    ]
    for headers, status, code in cases:
        response = await _post(admin, tenant, data, {**raw, **headers})
        assert response.status == status, code
        assert await error_of(response) == code
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    other = await services.catalog.libraries.ensure(tenant.name + "-other")
    other_key, _ = await services.catalog.api_keys.create(other, Role.ADMIN)
    response = await _post(admin, tenant, data, {**raw, "Authorization": f"Bearer {other_key}"})
    assert response.status == 403 and await error_of(response) == "wrong_library"
    response = await admin.post(
        "/v1/libraries/no-such-library/images",
        data=data,
        headers={**raw, "Authorization": f"Bearer {other_key}"},
    )
    assert response.status == 403 and await error_of(response) == "wrong_library"
    response = await admin.post(
        "/v1/libraries/Bad_Name/images", data=data, headers={**raw, **tenant.auth()}
    )
    assert response.status == 400 and await error_of(response) == "invalid_library"
    response = await _post(
        admin, tenant, data, {**raw, "Authorization": f"ApiKey {tenant.keys[Role.WRITE]}"}
    )
    assert response.status == 201


async def test_revoked_key_is_refused(
    admin: TestClient, tenant: Tenant, services: Services
) -> None:
    library = await services.catalog.libraries.get(tenant.name)
    assert library is not None
    first, _ = await services.catalog.api_keys.create(
        library, Role.ADMIN, "rot", replace_named=True
    )
    second, _ = await services.catalog.api_keys.create(
        library, Role.ADMIN, "rot", replace_named=True
    )
    get = f"{tenant.images}/nothing"
    response = await admin.get(get, headers={"Authorization": f"Bearer {first}"})
    assert await error_of(response) == "invalid_api_key"
    response = await admin.get(get, headers={"Authorization": f"Bearer {second}"})
    assert await error_of(response) == "image_not_found"


async def test_bad_uploads(admin: TestClient, tenant: Tenant) -> None:
    jpeg = images.jpeg(60, 40)
    auth = tenant.auth()
    cases = [
        (b"just some text", {"Content-Type": "image/png"}, {}, 415, "unsupported_image"),
        (
            b"<html><body>not a picture</body></html>",
            {"Content-Type": "image/svg+xml"},
            {},
            415,
            "unsupported_image",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            {"Content-Type": "image/svg+xml"},
            {},
            415,
            "unsafe_svg",
        ),
        # No size: librsvg cannot tell how large to draw it.
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            {"Content-Type": "image/svg+xml"},
            {},
            422,
            "undecodable_image",
        ),
        (jpeg, {"Content-Type": "text/plain"}, {}, 415, "unsupported_media_type"),
        (b"", {"Content-Type": "image/jpeg"}, {}, 400, "empty_upload"),
        (jpeg[: len(jpeg) // 2], {"Content-Type": "image/jpeg"}, {}, 422, "undecodable_image"),
        (jpeg[:40], {"Content-Type": "image/jpeg"}, {}, 422, "undecodable_image"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"key": "../etc/passwd"}, 400, "invalid_key"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"key": "a//b.jpg"}, 400, "invalid_key"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"key": "a\\b.jpg"}, 400, "invalid_key"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"key": "a?b.jpg"}, 400, "invalid_key"),
        # Keys the origin would read as imgproxy paths could never be served.
        (jpeg, {"Content-Type": "image/jpeg"}, {"key": "plain/tee.jpg"}, 400, "invalid_key"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"key": "w:300/x.jpg"}, 400, "invalid_key"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"tags": "ok,not ok"}, 400, "invalid_tag"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"activate": "maybe"}, 400, "invalid_activate"),
        (jpeg, {"Content-Type": "image/jpeg"}, {"colour": "red"}, 400, "unknown_field"),
    ]
    for data, headers, params, status, code in cases:
        response = await _post(admin, tenant, data, {**auth, **headers}, **params)
        assert response.status == status, (code, await response.text())
        assert await error_of(response) == code


async def test_bad_multipart_forms(admin: TestClient, tenant: Tenant) -> None:
    form = FormData(default_to_multipart=True)
    form.add_field("key", "x.jpg")
    response = await admin.post(tenant.images, data=form, headers=tenant.auth())
    assert response.status == 400 and await error_of(response) == "missing_file"

    form = FormData()  # url-encoded: no way to carry an image
    form.add_field("key", "x.jpg")
    response = await admin.post(tenant.images, data=form, headers=tenant.auth())
    assert response.status == 415 and await error_of(response) == "unsupported_media_type"

    form = FormData()
    form.add_field("file", images.jpeg(10, 10), filename="a.jpg")
    form.add_field("file", images.jpeg(10, 10), filename="b.jpg")
    response = await admin.post(tenant.images, data=form, headers=tenant.auth())
    assert response.status == 400 and await error_of(response) == "repeated_field"

    form = FormData()
    form.add_field("file", images.jpeg(10, 10), filename="a.jpg")
    form.add_field("key", "x.jpg")
    response = await admin.post(
        tenant.images, data=form, params={"key": "y.jpg"}, headers=tenant.auth()
    )
    assert response.status == 400 and await error_of(response) == "repeated_field"

    response = await admin.post(
        tenant.images,
        data=b'--zz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={**tenant.auth(), "Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert 400 <= response.status < 500
    await error_of(response)


async def test_upload_size_cap(services: Services, aiohttp_client, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    client = await admin_with(services, aiohttp_client, admin={"max_upload_bytes": 10_000})
    big = images.jpeg(800, 600)
    assert len(big) > 10_000
    response = await client.post(
        tenant.images, data=big, headers={**tenant.auth(), "Content-Type": "image/jpeg"}
    )
    assert response.status == 413 and await error_of(response) == "upload_too_large"
    form = FormData()
    form.add_field("file", big, filename="big.jpg")
    response = await client.post(tenant.images, data=form, headers=tenant.auth())
    assert response.status == 413 and await error_of(response) == "upload_too_large"

    async def chunked():  # type: ignore[no-untyped-def]
        for i in range(0, len(big), 4096):
            yield big[i : i + 4096]

    response = await client.post(
        tenant.images, data=chunked(), headers={**tenant.auth(), "Content-Type": "image/jpeg"}
    )
    assert response.status == 413 and await error_of(response) == "upload_too_large"


async def test_pixel_cap(services: Services, aiohttp_client, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    client = await admin_with(services, aiohttp_client, origin={"max_source_pixels": 100 * 100})
    response = await client.post(
        tenant.images,
        data=images.jpeg(101, 100),
        headers={**tenant.auth(), "Content-Type": "image/jpeg"},
    )
    assert response.status == 422 and await error_of(response) == "image_too_large"


async def test_admin_routing_errors_are_json(admin: TestClient, tenant: Tenant) -> None:
    assert await error_of(await admin.get("/nope")) == "not_found"
    assert (
        await error_of(await admin.put(tenant.images, headers=tenant.auth()))
        == "method_not_allowed"
    )
    assert (await admin.get("/healthz")).status == 200


async def test_control_characters_and_odd_ids(admin: TestClient, tenant: Tenant) -> None:
    jpeg = images.jpeg(20, 20)
    response = await _post(
        admin, tenant, jpeg, {**tenant.auth(), "Content-Type": "image/jpeg"}, alt="a\x00b"
    )
    assert response.status == 400 and await error_of(response) == "invalid_alt"
    body = await upload(admin, tenant, jpeg, alt="tab\there", expect=400)
    assert body["error"]["code"] == "invalid_alt"
    for image_id in ("%00", "..%2F..%2Fx", "ABCDEFGHIJKLMNOP", "x" * 200):
        path = URL(f"{tenant.images}/{image_id}", encoded=True)
        for method in ("GET", "DELETE"):
            response = await admin.request(method, path, headers=tenant.auth())
            assert response.status == 404 and await error_of(response) == "image_not_found"
        response = await admin.post(
            URL(f"{tenant.images}/{image_id}/activate", encoded=True), headers=tenant.auth()
        )
        assert response.status in (404, 405)
        await error_of(response)


async def _raw(client: TestClient, request: bytes) -> bytes:
    """Send bytes as they are (headers no HTTP client would send) and read the answer."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()


async def test_non_ascii_api_key_is_401(admin: TestClient, tenant: Tenant) -> None:
    answer = await _raw(
        admin,
        f"GET {tenant.images}/x HTTP/1.1\r\nHost: a\r\n".encode()
        + b"Authorization: Bearer \xff\xfe\xfd\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"invalid_api_key"' in answer


async def test_unreadable_bodies_are_400(admin: TestClient, tenant: Tenant) -> None:
    body = b"certainly not gzip"
    answer = await _raw(  # aiohttp closes the connection after this one: read it raw
        admin,
        f"POST {tenant.images} HTTP/1.1\r\nHost: a\r\nContent-Type: image/jpeg\r\n"
        f"Authorization: Bearer {tenant.keys[Role.WRITE]}\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'"invalid_body"' in answer
    broken_part_headers = [
        b"--zz\r\nno colon in this header line\r\n\r\nabc\r\n--zz--\r\n",
        b"--zz\r\nContent Disposition: form-data; name=file\r\n\r\nabc\r\n--zz--\r\n",
        b"--zz\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\nabc\r\n--zz--\r\n",
    ]
    for body in broken_part_headers:
        response = await admin.post(
            tenant.images,
            data=body,
            headers={**tenant.auth(), "Content-Type": "multipart/form-data; boundary=zz"},
        )
        assert response.status == 400, body[:40]
        assert await error_of(response) == "invalid_multipart"


async def test_a_stalled_upload_times_out(
    services: Services, aiohttp_client, tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    client = await admin_with(services, aiohttp_client, admin={"upload_idle_timeout": 0.3})
    answer = await _raw(
        client,
        f"POST {tenant.images} HTTP/1.1\r\nHost: a\r\nContent-Type: image/jpeg\r\n"
        f"Authorization: Bearer {tenant.keys[Role.WRITE]}\r\n"
        "Content-Length: 100000\r\nConnection: close\r\n\r\n".encode()
        + b"\xff\xd8\xff" * 30,
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"upload_timeout"' in answer


async def test_concurrent_uploads_do_not_exhaust_the_pool(
    settings,
    aiohttp_client,
    tenant: Tenant,  # type: ignore[no-untyped-def]
) -> None:
    small = dataclasses.replace(
        settings, catalog=dataclasses.replace(settings.catalog, pool_size=2)
    )
    async with open_services(small) as tight:
        client = await aiohttp_client(build_apps(tight)[1])
        distinct = [images.jpeg(100 + i, 80) for i in range(8)]
        same = images.jpeg(90, 90)

        async def send(data: bytes, key: str) -> int:
            response = await client.post(
                tenant.images,
                data=data,
                params={"key": key},
                headers={**tenant.auth(), "Content-Type": "image/jpeg"},
            )
            return response.status

        statuses = await asyncio.wait_for(
            asyncio.gather(
                *(send(d, f"distinct/{i}.jpg") for i, d in enumerate(distinct)),
                *(send(same, f"same/{i}.jpg") for i in range(6)),
            ),
            timeout=60,
        )
        assert statuses == [201] * 14


async def test_a_raw_upload_needs_no_content_type(admin: TestClient, tenant: Tenant) -> None:
    # The bytes say what the image is; a client that sends no Content-Type is not wrong.
    response = await admin.post(
        tenant.images,
        data=images.png(30, 20),
        params={"key": "bare.png"},
        headers=tenant.auth(),
        skip_auto_headers=["Content-Type"],
    )
    assert response.status == 201, await response.text()
    image = await response.json()
    assert (image["format"], image["width"], image["key"]) == ("png", 30, "bare.png")


async def test_a_misnamed_file_field_is_unknown_not_too_large(
    admin: TestClient, tenant: Tenant
) -> None:
    # `curl -F image=@cat.jpg`: the name is what is wrong, whatever the file's size.
    big = images.jpeg(400, 300)
    assert len(big) > 8192
    form = FormData()
    form.add_field("image", big, filename="cat.jpg", content_type="image/jpeg")
    response = await admin.post(tenant.images, data=form, headers=tenant.auth())
    assert response.status == 400 and await error_of(response) == "unknown_field"
    assert "image" in (await response.json())["error"]["message"]
    # A known field that is too long is still refused for its size.
    form = FormData()
    form.add_field("file", images.jpeg(10, 10), filename="a.jpg")
    form.add_field("alt", "a" * 9000)
    response = await admin.post(tenant.images, data=form, headers=tenant.auth())
    assert response.status == 413
