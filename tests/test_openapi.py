"""The admin API's OpenAPI document against the code: the route table, the OpenAPI 3.1
specification, and schemathesis run against a real server on 127.0.0.1.

The schemathesis part generates requests for every operation (valid ones and
invalid ones; most aimed at a real library, its images and their versions), and fails
on any 5xx, any status the document does not list for the operation, and any answer
whose content type or body the document does not describe.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import shutil
import subprocess
import threading
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from admin_api import openapi
from admin_api.app import create_admin_app
from catalog import LibrarySettings, Role
from imgorigin.app import build_apps, open_services
from imgorigin.settings import Settings
from tests import images

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25  # per operation and mode


def admin_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route of the admin app, but aiohttp's HEAD twins of GETs."""
    stand_in = SimpleNamespace(settings=SimpleNamespace(max_upload_bytes=1))
    app = create_admin_app(stand_in)  # type: ignore[arg-type]  # routing only
    return {
        (route.method, resource.canonical)
        for resource in app.router.resources()
        for route in resource
        if route.method != "HEAD"
    }


def test_every_route_is_documented_and_nothing_else() -> None:
    routes, documented = admin_routes(), openapi.operations()
    assert routes - documented == set(), "routes the document does not describe"
    assert documented - routes == set(), "operations the admin app does not route"


def test_the_document_is_valid_openapi_3_1() -> None:
    assert openapi.DOCUMENT["openapi"].startswith("3.1.")
    validate(openapi.DOCUMENT, cls=OpenAPIV31SpecValidator)
    ids = [
        operation["operationId"]
        for item in openapi.DOCUMENT["paths"].values()
        for operation in item.values()
    ]
    assert len(ids) == len(set(ids))
    # JSON as served: no tuples, sets or other Python-only values in the data.
    assert json.loads(json.dumps(openapi.DOCUMENT)) == openapi.DOCUMENT


async def test_document_and_docs_page_are_served_without_a_key(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    stand_in = SimpleNamespace(settings=SimpleNamespace(max_upload_bytes=1))
    client = await aiohttp_client(create_admin_app(stand_in))  # type: ignore[arg-type]
    response = await client.get("/v1/openapi.json")
    assert response.status == 200 and response.content_type == "application/json"
    assert await response.json() == openapi.DOCUMENT
    response = await client.get("/v1/docs")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert 'fetch("openapi.json")' in page and "<script src" not in page
    for method, path in openapi.operations():  # the listing without script
        assert f"<code>{method} {path}</code>" in page


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_docs_page_script_renders_every_operation(tmp_path: Path) -> None:
    """The page's own script, run by node on a stand-in DOM, lays out every operation
    with its parameters, request body and responses."""
    page = openapi._docs_page()
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    harness = tmp_path / "render.js"
    harness.write_text(
        """
const fs = require("fs");
function node(tag) {
  return {
    tag, children: [], textContent: "", className: "", id: "",
    appendChild(c) { this.children.push(c); return c; },
    insertBefore(c) { this.children.unshift(c); return c; },
    get firstChild() { return this.children[0]; },
  };
}
const host = node("main");
global.document = { getElementById: () => host, createElement: node };
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
global.fetch = () => Promise.resolve({ ok: true, json: () => Promise.resolve(spec) });
function text(n) { return n.textContent + " " + n.children.map(text).join(" "); }
"""
        + script
        + """
setTimeout(() => {
  const ops = host.children.filter((c) => c.className === "op" && c.id);
  console.log(JSON.stringify({ ids: ops.map((o) => o.id), text: text(host) }));
}, 50);
"""
    )
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(openapi.DOCUMENT))
    out = subprocess.run(
        ["node", str(harness), str(spec)], capture_output=True, text=True, timeout=30, check=True
    )
    rendered = json.loads(out.stdout)
    expected = [
        op["operationId"] for item in openapi.DOCUMENT["paths"].values() for op in item.values()
    ]
    assert rendered["ids"] == expected
    text = rendered["text"]
    for needle in (
        "multipart/form-data",
        "tag_match",
        "X-User-Id",
        "Error object {",
        "415",
        "Bearer",
    ):
        assert needle in text, needle


# Schemathesis against a real server.


def pictures() -> list[bytes]:
    """Small originals of every kind the run uploads, each of different bytes."""
    return [
        images.jpeg(48, 32),
        images.jpeg(20, 30, q=60),
        images.png_with_alpha(110, 90),
        bytes(images.photo(24, 24).webpsave_buffer()),
        bytes(images.photo(16, 12).gifsave_buffer()),
        images.jpeg(33, 17, orientation=6),
    ]


@dataclass
class Target:
    """The server under test, and the real things requests may aim at."""

    url: str
    library: str
    key: str  # the library's admin key
    key_id: int
    pictures: list[bytes] = field(default_factory=pictures)
    image_ids: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def images(self) -> str:
        return f"{self.url}/v1/libraries/{self.library}/images"

    def upload(self, data: bytes, **fields: str) -> dict[str, Any]:
        response = self.session.post(
            self.images, files={"file": ("upload.bin", data)}, data=fields, headers=self.auth
        )
        assert response.status_code == 201, response.text
        return self.known(response.json())

    def replace(self, image_id: str, data: bytes) -> dict[str, Any]:
        response = self.session.put(
            f"{self.images}/{image_id}/original",
            data=data,
            headers={**self.auth, "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 200, response.text
        return self.known(response.json())

    def known(self, image: dict[str, Any]) -> dict[str, Any]:
        if image["id"] not in self.image_ids:
            self.image_ids.append(image["id"])
        if image["sha256"] not in self.hashes:
            self.hashes.append(image["sha256"])
        return image

    def image_with_two_versions(self) -> None:
        """An image whose version 1 can be restored: replaced, with its first original
        kept by another image of the same bytes."""
        first, second = self.pictures[len(self.image_ids) % 3], self.pictures[3]
        image = self.upload(first, activate="true", alt="first")
        self.upload(first)
        assert self.replace(image["id"], second)["version"] == 2


class NoEvents:
    """The library's webhooks hear nothing: a generated webhook URL is never called."""

    def emit(self, library: Any, event: str, data: dict[str, Any]) -> None:
        pass


@pytest.fixture(scope="module")
def target(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The admin app on 127.0.0.1 (a free port), served by its own thread and event loop
    over the session's fresh database, with a library of a few images and its keys."""
    base = Settings()
    config = dataclasses.replace(
        base,
        server=dataclasses.replace(base.server, data_dir=tmp_path_factory.mktemp("openapi")),
        catalog=dataclasses.replace(base.catalog, database_url=database_url, pool_size=4),
        purge=dataclasses.replace(base.purge, repeat_after=0),
    ).validated()
    started: Future[Target] = Future()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with open_services(config) as services:
            admin = dataclasses.replace(services.admin, events=NoEvents())
            _, app = build_apps(dataclasses.replace(services, admin=admin))
            runner = web.AppRunner(app)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = runner.addresses[0][1]
                library = await services.catalog.libraries.ensure(f"oa-{uuid.uuid4().hex[:10]}")
                for role in (Role.READ, Role.WRITE):  # revocable by the run; the admin key not
                    await services.catalog.api_keys.create(library, role, f"openapi {role}")
                key, record = await services.catalog.api_keys.create(library, Role.ADMIN, "openapi")
                started.set_result(Target(f"http://127.0.0.1:{port}", library.name, key, record.id))
                await stop.wait()
            finally:
                await runner.cleanup()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="openapi-server", daemon=True)
    thread.start()
    found = started.result(timeout=60)
    try:
        found.image_with_two_versions()
        found.upload(found.pictures[2], tags="a,b")
        found.upload(found.pictures[4], tags="cats", activate="false")
        yield found
    finally:
        found.session.close()
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi.DOCUMENT)))  # a copy

UPLOAD = ("POST", "/v1/libraries/{library}/images")
REPLACE = ("PUT", "/v1/libraries/{library}/images/{image_id}/original")
DELETE = ("DELETE", "/v1/libraries/{library}/images/{image_id}")
PATCH_LIBRARY = ("PATCH", "/v1/libraries/{library}")


def aim(case: schemathesis.Case, target: Target) -> None:
    """Aim three cases in four (chosen by what was generated, so that a case replayed
    is aimed alike) at the real library, its images, their bytes and versions, with
    a real picture in uploads (whose fields come once: in the body, else the query);
    the others go as generated, mostly to a library the key may not use."""
    generated = repr((case.path_parameters, case.query, case.body)).encode()
    if zlib.crc32(generated) % 4 == 0:
        return
    chosen = zlib.crc32(generated[::-1])
    path = case.path_parameters or {}
    if "library" in path:
        path["library"] = target.library
    if "image_id" in path:
        path["image_id"] = target.image_ids[chosen % len(target.image_ids)]
    if "sha256" in path:
        path["sha256"] = target.hashes[chosen % len(target.hashes)]
    if "version" in path:
        path["version"] = 1 + chosen % 3
    for named in (case.body, case.query):  # a purge, a new key, a key listing
        if isinstance(named, dict) and "library" in named:
            named["library"] = target.library
    if (case.method.upper(), case.path) in (UPLOAD, REPLACE):
        picture = target.pictures[chosen % len(target.pictures)]
        if isinstance(case.body, dict):
            if "file" in case.body:
                case.body["file"] = picture
            if "data" in case.body:
                case.body["data"] = base64.b64encode(picture).decode()
            for name in set(case.body) & set(case.query or {}):
                del case.query[name]
        elif case.media_type and case.media_type.split("/")[0] in ("image", "application"):
            case.body = picture


_DEFAULT_SETTINGS = LibrarySettings().to_json()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_admin_api_conforms_to_its_document(case: schemathesis.Case, target: Target) -> None:
    aim(case, target)
    if case.path_parameters and str(case.path_parameters.get("key_id")) == str(target.key_id):
        case.path_parameters["key_id"] = 2**62  # the run's own key stays live
    response = case.call_and_validate(
        base_url=target.url, session=target.session, headers=target.auth, checks=CHECKS
    )
    operation = (case.method.upper(), case.path)
    if operation == UPLOAD and response.status_code == 201:
        target.known(response.json())
    if operation == DELETE and response.status_code == 204:
        # Deleting every image early would leave the operations after it only 404s.
        target.image_ids.remove(case.path_parameters["image_id"])
        target.image_with_two_versions()
    if operation == PATCH_LIBRARY and response.status_code == 200:
        # Back to the defaults, so that quotas, format lists and the like that a
        # generated patch set do not turn every later upload into a refusal.
        reset = target.session.patch(
            f"{target.url}/v1/libraries/{target.library}",
            json=_DEFAULT_SETTINGS,
            headers=target.auth,
        )
        assert reset.status_code == 200, reset.text


def _cursor(*values: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        # Text PostgreSQL cannot hold (NUL, lone surrogates), times out of its range, a
        # malformed IDNA host and unhashable events: once 500s, now the client's mistake.
        ("DELETE", "/webhooks/%00", None, "webhook_not_found"),
        ("POST", "/webhooks", {"url": "https://example.com/", "events": [[]]}, "invalid_webhook"),
        ("POST", "/webhooks", {"url": "https://xn--.com/"}, "invalid_webhook"),
        ("POST", "/webhooks", {"url": "https://example.com/\ud800"}, "invalid_webhook"),
        ("POST", "/webhooks", {"url": "https://example.com/\u0000"}, "invalid_webhook"),
        ("GET", "/images?format=%00", None, "invalid_parameter"),
        ("GET", "/images?created_after=9999-12-31T23:59:59-23:59", None, "invalid_parameter"),
        ("GET", "/images?created_before=0001-01-01T00:00:00%2B14:00", None, "invalid_parameter"),
        ("GET", "/images?sort=key&cursor=" + _cursor("key", "\u0000", "a"), None, "invalid_cursor"),
        ("GET", "/images?sort=key&cursor=" + _cursor("key", "a", "\ud800"), None, "invalid_cursor"),
        ("PATCH", "", {"presets": {"a": "dl=\ud800"}}, "invalid_preset"),
        ("PATCH", "/images/{image}", {"alt": "\ud800"}, "invalid_alt"),
        (
            "POST",
            "/images",
            {"data": "R0lGODdhAQABAAAAACwAAAAAAQABAAA=", "alt": "\udfff"},
            "invalid_alt",
        ),
    ],
)
def test_client_mistakes_are_4xx(
    target: Target, method: str, path: str, body: Any, code: str
) -> None:
    url = f"{target.url}/v1/libraries/{target.library}" + path.format(image=target.image_ids[0])
    response = target.session.request(
        method,
        url,
        data=None if body is None else json.dumps(body),  # lone surrogates escaped
        headers={**target.auth, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == code
