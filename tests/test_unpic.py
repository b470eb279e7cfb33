"""A front end's own loader pointed at the origin: unpic's imgix provider.

The URLs are made by the real npm package (installed by `make test` under
.cache/unpic), not written by hand, so a change in what unpic sends shows up here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from tests import images
from tests.conftest import REQUIRE_SERVICES, Tenant, upload

UNPIC = Path(__file__).resolve().parent.parent / ".cache" / "unpic"
GENERATOR = Path(__file__).resolve().parent / "unpic" / "generate.mjs"


def unpic_urls(base: str) -> list[dict]:  # type: ignore[type-arg]
    node = shutil.which("node")
    if node is None or not (UNPIC / "node_modules" / "unpic").is_dir():
        if REQUIRE_SERVICES:
            pytest.fail(
                "node and unpic (make test installs it under .cache/unpic) are required in CI"
            )
        pytest.skip("node or the unpic package is not installed")
    # Node resolves `unpic` from the script's directory upwards, so run a copy beside
    # the installed package.
    script = UNPIC / GENERATOR.name
    script.write_text(GENERATOR.read_text())
    out = subprocess.run(
        [node, str(script), base], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


async def test_unpic_imgix_urls_render_what_they_ask_for(
    origin: TestClient, admin: TestClient, tenant: Tenant
) -> None:
    await upload(admin, tenant, images.jpeg(1600, 1200), key="hero.jpg", activate="true")
    base = str(origin.make_url(f"/{tenant.name}/hero.jpg"))
    for generated in unpic_urls(base):
        ask, url = generated["ask"], URL(generated["url"])
        response = await origin.get(url.path_qs, headers={"Accept": "image/avif,image/webp,*/*"})
        assert response.status == 200, (url, await response.text())
        picture = images.encoded(await response.read())
        # unpic asks imgix for fit=min: the box's shape, never larger than the source.
        if "height" in ask:
            assert (picture.width, picture.height) == (ask["width"], ask["height"]), url
        else:
            assert (picture.width, picture.height) == (ask["width"], ask["width"] * 3 // 4), url
        if "format" in ask:
            assert response.headers["Content-Type"] == f"image/{ask['format']}", url
        else:  # unpic adds auto=format, so the Accept header decides
            assert response.headers["Content-Type"] == "image/avif", url
