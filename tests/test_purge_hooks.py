"""The CDN purge hooks (Cloudflare by tag, Fastly by surrogate key, a signed webhook),
each called against a local HTTP server that records what it receives."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cache import PurgeSettings, PurgeTarget
from cache.outbound import SIGNATURE_HEADER, CallFailed
from cache.purge import cloudflare_purge
from imgorigin.app import Services, build_apps, open_services
from imgorigin.settings import Settings
from tests.conftest import new_tenant, upload
from tests.images import jpeg

SECRET = "hook-secret"


@dataclass
class Recorder:
    """Answers every request with the next status queued for its path (default 200)
    and keeps (method, path, headers, body) of each."""

    server: TestServer | None = None
    calls: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append((request.method, request.path, dict(request.headers), body))
        queued = self.statuses.get(request.path) or [200]
        status = queued.pop(0) if len(queued) > 1 else queued[0]
        return web.json_response({"success": status == 200}, status=status)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def to(self, path: str) -> list[tuple[str, dict[str, str], dict]]:
        return [(m, h, json.loads(b)) for m, p, h, b in self.calls if p == path]


@pytest.fixture
async def recorder(aiohttp_server) -> Recorder:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    recorder.server = await aiohttp_server(app)
    return recorder


@dataclass
class Hooked:
    admin: TestClient
    origin: TestClient
    services: Services


@pytest.fixture
async def hooked(settings: Settings, recorder: Recorder, aiohttp_client) -> AsyncIterator[Hooked]:  # type: ignore[no-untyped-def]
    purge = dataclasses.replace(
        settings.purge,
        cloudflare_zone_id="zone1",
        cloudflare_api_token="cf-token",
        cloudflare_api_url=recorder.url + "/cf",
        fastly_service_id="svc1",
        fastly_api_token="fastly-token",
        fastly_api_url=recorder.url + "/fastly",
        webhook_url=recorder.url + "/hook",
        webhook_secret=SECRET,
        timeout=5,
    )
    async with open_services(dataclasses.replace(settings, purge=purge).validated()) as services:
        origin_app, admin_app = build_apps(services)
        yield Hooked(await aiohttp_client(admin_app), await aiohttp_client(origin_app), services)


CF, FASTLY, HOOK = "/cf/zones/zone1/purge_cache", "/fastly/service/svc1/purge", "/hook"


async def test_a_purge_calls_every_configured_hook_with_the_tags_the_origin_sends(
    hooked: Hooked, recorder: Recorder
) -> None:
    tenant = await new_tenant(hooked.services)
    image = await upload(hooked.admin, tenant, jpeg(200, 100), key="a.jpg", activate="true")
    served = await hooked.origin.get(f"/{tenant.name}/a.jpg?w=50")
    tags = served.headers["Cache-Tag"].split(",")
    assert served.headers["Surrogate-Key"].split() == tags
    image_tag = f"image-{image['id']}"
    assert image_tag in tags and f"library-{tenant.name}" in tags

    response = await hooked.admin.post(
        "/v1/purge", json={"library": tenant.name, "images": [image["id"]]}, headers=tenant.auth()
    )
    report = await response.json()
    assert response.status == 200 and report["complete"], report
    assert report["hooks"] == {
        "cloudflare": {"ok": True, "calls": 1},
        "fastly": {"ok": True, "calls": 1},
        "webhook": {"ok": True},
    }
    [(method, headers, body)] = recorder.to(CF)
    assert method == "POST" and headers["Authorization"] == "Bearer cf-token"
    assert body == {"tags": [image_tag]}
    [(method, headers, body)] = recorder.to(FASTLY)
    assert method == "POST" and headers["Fastly-Key"] == "fastly-token"
    assert body == {"surrogate_keys": [image_tag]}
    [(_, headers, body)] = recorder.to(HOOK)
    assert body == {
        "event": "purge",
        "library": tenant.name,
        "images": [image["id"]],
        "tags": [image_tag],
    }
    raw = next(b for _, p, _, b in recorder.calls if p == HOOK)
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"


async def test_the_outer_layers_are_purged_once_more_a_little_later(
    settings: Settings, recorder: Recorder
) -> None:
    purge = PurgeSettings(webhook_url=recorder.url + "/hook", repeat_after=0.3)
    async with open_services(dataclasses.replace(settings, purge=purge).validated()) as services:
        tenant = await new_tenant(services)
        library = await services.catalog.libraries.get(tenant.name)
        assert library is not None
        report = await services.purger.purge(PurgeTarget(library.name, library.id, ("a",)))
        assert report.complete and len(recorder.to(HOOK)) == 1
        await asyncio.sleep(0.6)
        assert [body for _, _, body in recorder.to(HOOK)] == [report_body(tenant.name)] * 2
        # A repeat still waiting when the process stops is dropped, not left running.
        await services.purger.purge(PurgeTarget(library.name, library.id, ("a",)))
    await asyncio.sleep(0.5)
    assert len(recorder.to(HOOK)) == 3


def report_body(library: str) -> dict:
    return {"event": "purge", "library": library, "images": ["a"], "tags": ["image-a"]}


async def test_a_library_purge_purges_the_library_tag(hooked: Hooked, recorder: Recorder) -> None:
    tenant = await new_tenant(hooked.services)
    await upload(hooked.admin, tenant, jpeg(200, 100), key="a.jpg", activate="true")
    response = await hooked.admin.post(
        "/v1/purge", json={"library": tenant.name}, headers=tenant.auth()
    )
    assert response.status == 200
    library_tag = [f"library-{tenant.name}"]
    assert recorder.to(CF)[0][2] == {"tags": library_tag}
    assert recorder.to(FASTLY)[0][2] == {"surrogate_keys": library_tag}
    assert recorder.to(HOOK)[0][2]["images"] is None


async def test_deleting_and_replacing_purge_the_cdns(hooked: Hooked, recorder: Recorder) -> None:
    tenant = await new_tenant(hooked.services)
    image = await upload(hooked.admin, tenant, jpeg(200, 100), key="a.jpg", activate="true")
    url = f"{tenant.images}/{image['id']}"
    replaced = await hooked.admin.put(url + "/original", data=jpeg(100, 200), headers=tenant.auth())
    assert replaced.status == 200
    deleted = await hooked.admin.delete(url, headers=tenant.auth())
    assert deleted.status == 204
    assert [body for _, _, body in recorder.to(CF)] == [{"tags": [f"image-{image['id']}"]}] * 2


async def test_a_failing_hook_is_retried_reported_and_does_not_stop_the_others(
    hooked: Hooked, recorder: Recorder
) -> None:
    tenant = await new_tenant(hooked.services)
    image = await upload(hooked.admin, tenant, jpeg(200, 100), key="a.jpg", activate="true")
    recorder.statuses[CF] = [503]  # always
    recorder.statuses[FASTLY] = [500, 200]  # once
    recorder.statuses[HOOK] = [401]  # refused: not worth asking again
    response = await hooked.admin.post(
        "/v1/purge", json={"library": tenant.name, "images": [image["id"]]}, headers=tenant.auth()
    )
    report = await response.json()
    assert response.status == 200 and not report["complete"]
    assert report["hooks"]["cloudflare"]["ok"] is False
    assert "HTTP 503" in report["hooks"]["cloudflare"]["error"]
    assert report["hooks"]["fastly"] == {"ok": True, "calls": 1}
    assert report["hooks"]["webhook"]["ok"] is False
    assert (len(recorder.to(CF)), len(recorder.to(FASTLY)), len(recorder.to(HOOK))) == (3, 2, 1)


async def test_cloudflare_takes_at_most_30_tags_a_call(recorder: Recorder) -> None:
    ids = tuple(f"{n:016d}" for n in range(61))
    async with aiohttp.ClientSession() as session:
        hook = cloudflare_purge(session, recorder.url + "/cf", "zone1", "t")
        assert await hook.purge(PurgeTarget("lib", 1, ids)) == {"calls": 3}
        recorder.statuses[CF] = [404]
        with pytest.raises(CallFailed, match="HTTP 404"):
            await hook.purge(PurgeTarget("lib", 1, ids[:1]))
    sent = [body["tags"] for _, _, body in recorder.to(CF)]
    assert [len(tags) for tags in sent] == [30, 30, 1, 1]
    assert [tag for tags in sent[:3] for tag in tags] == [f"image-{i}" for i in ids]


async def test_an_unreachable_hook_fails_after_its_attempts(unused_tcp_port: int) -> None:
    async with aiohttp.ClientSession() as session:
        hook = cloudflare_purge(session, f"http://127.0.0.1:{unused_tcp_port}", "z", "t")
        with pytest.raises(CallFailed, match="ClientConnectorError"):
            await hook.purge(PurgeTarget("lib", 1, ("a",)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cloudflare_zone_id": "z"}, "CLOUDFLARE_API_TOKEN"),
        ({"fastly_service_id": "s"}, "FASTLY_API_TOKEN"),
        ({"webhook_url": "ftp://x"}, "must be http"),
        ({"nginx_purge_urls": "http://a/_purge, nginx:80/_purge"}, "must be http"),
    ],
)
def test_purge_settings_are_checked(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PurgeSettings(**changes).validate()
