"""Fixtures: a real PostgreSQL, the real services, both apps over real HTTP.

PostgreSQL: the server at IMGORIGIN_TEST_DATABASE_URL (default: CI's, on
127.0.0.1:5432), with a fresh database per test session. Without it, the embedded
pgserver is used, unless IMGORIGIN_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from catalog import Library, Role, start_embedded
from imgorigin.app import Services, build_apps, open_services
from imgorigin.settings import Settings
from origin.pipeline import vips

# S3 (moto) fixtures: s3_endpoint, s3_storage_url. Redis: redis_url, redis_prefix,
# private_redis.
pytest_plugins = ["tests.s3server", "tests.redisserver"]

TEST_DATABASE_URL = os.environ.get(
    "IMGORIGIN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVICES = os.environ.get("IMGORIGIN_REQUIRE_SERVICES") == "1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from this run"
    )


@pytest.fixture(scope="session", autouse=True)
def aws_test_credentials() -> Iterator[None]:
    """Dummy credentials where botocore's chain looks first, and none of the developer's
    profiles or config files, so no test ever acts as a real AWS identity."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        yield


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _server_url(tmp: Path) -> str:
    try:
        conn = await asyncpg.connect(TEST_DATABASE_URL, timeout=3)
        await conn.close()
        return TEST_DATABASE_URL
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL at {TEST_DATABASE_URL} is required in CI: {exc!r}")
        return await start_embedded(tmp, connect_timeout=10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = asyncio.run(_server_url(tmp_path_factory.mktemp("embedded")))
    name = f"imgorigin_test_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(server, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    yield with_database(server, name)
    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = Settings()
    return dataclasses.replace(
        base,
        server=dataclasses.replace(base.server, data_dir=tmp_path / "data"),
        catalog=dataclasses.replace(base.catalog, database_url=database_url, pool_size=4),
        # Tests that count purge calls see the one pass; test_purge_hooks shows the repeat.
        purge=dataclasses.replace(base.purge, repeat_after=0),
    ).validated()


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings) as opened:
        yield opened


@pytest.fixture
async def clients(services: Services, aiohttp_client) -> tuple[TestClient, TestClient]:  # type: ignore[no-untyped-def]
    origin_app, admin_app = build_apps(services)
    return await aiohttp_client(origin_app), await aiohttp_client(admin_app)


@pytest.fixture
def origin(clients: tuple[TestClient, TestClient]) -> TestClient:
    return clients[0]


@pytest.fixture
def admin(clients: tuple[TestClient, TestClient]) -> TestClient:
    return clients[1]


@dataclass(frozen=True)
class Tenant:
    """A fresh library with one key per role, so tests never share names."""

    name: str
    keys: dict[Role, str]

    def auth(self, role: Role = Role.WRITE) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @property
    def images(self) -> str:
        return f"/v1/libraries/{self.name}/images"


async def new_tenant(services: Services) -> Tenant:
    library = await services.catalog.libraries.ensure(f"t-{uuid.uuid4().hex[:10]}")
    keys = {}
    for role in Role:
        keys[role], _ = await services.catalog.api_keys.create(library, role, f"test {role}")
    return Tenant(library.name, keys)


@pytest.fixture
async def tenant(services: Services) -> Tenant:
    return await new_tenant(services)


async def upload(
    admin: TestClient, tenant: Tenant, data: bytes, *, expect: int = 201, **fields: str
) -> dict:
    """Upload as multipart with `fields`; assert the status; return the JSON body."""
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", data, filename="upload.bin", content_type="application/octet-stream")
    for name, value in fields.items():
        form.add_field(name, value)
    response = await admin.post(tenant.images, data=form, headers=tenant.auth())
    body = await response.json()
    assert response.status == expect, body
    return body


async def library_of(services: Services, tenant: Tenant) -> Library:
    library = await services.catalog.libraries.get(tenant.name)
    assert library is not None
    return library


async def error_of(response) -> str:  # type: ignore[no-untyped-def]
    """The stable error code of a JSON error response, checking the body's shape."""
    assert response.status >= 400
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    return body["error"]["code"]


@pytest.fixture(scope="module")
def production_loaders() -> Iterator[None]:
    """Render as the origin does: only the allowlisted loaders (process-wide, as in
    every other test that sets it up)."""
    vips.configure()
    yield
