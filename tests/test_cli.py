"""The commands a newcomer runs, on the embedded defaults: pgserver under a data dir.

These start real processes: `imgorigin serve`, then `imgorigin keys create` against
the same embedded PostgreSQL while serve is running, then an upload and a render
over HTTP, then a clean stop.
"""

from __future__ import annotations

import concurrent.futures
import json
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import Scheme, SigningKey
from origin import signing
from tests import images
from tests.processes import EXE, Served, clean_env, free_port


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # The commands must find everything from --data-dir alone: no IMGORIGIN_ variables.
    return subprocess.run(
        [*EXE, *args], env=clean_env(), capture_output=True, text=True, timeout=120, input=stdin
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data", clean_env()).start()
    assert server.lines[:3] == [
        f"origin     {server.origin}",
        f"admin API  {server.admin}",
        "workers    1",
    ]
    yield server
    server.stop()


def _request(
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serve_upload_render_and_keys_while_serving(served: Served) -> None:
    origin, admin, key, data_dir = served.origin, served.admin, served.key, served.data_dir
    assert _request(origin + "/healthz")[0] == 200
    assert _request(admin + "/healthz")[0] == 200

    status, _, body = _request(
        admin + "/v1/libraries/demo/images?key=cats/tom.jpg&activate=true",
        data=images.jpeg(1200, 800),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "image/jpeg"},
    )
    assert status == 201, body
    assert json.loads(body)["url"] == origin + "/demo/cats/tom.jpg"  # --origin-port, not 8080
    status, headers, data = _request(origin + "/demo/cats/tom.jpg?w=400&fm=webp")
    assert status == 200 and headers["Content-Type"] == "image/webp"
    assert images.encoded(data).width == 400
    assert headers["X-Cache"] == "MISS"
    assert _request(origin + "/demo/cats/tom.jpg?fm=webp&w=400")[1]["X-Cache"] == "HIT"

    # Another command joins the same embedded PostgreSQL while serve runs.
    created = _run(
        "keys", "create", "--library", "other", "--role", "read", "--data-dir", str(data_dir)
    )
    assert created.returncode == 0, created.stderr
    read_key = created.stdout.strip().splitlines()[-1]
    assert read_key.startswith("io_") and read_key != key
    status, _, body = _request(
        admin + "/v1/libraries/other/images/x", headers={"Authorization": f"Bearer {read_key}"}
    )
    assert status == 404 and json.loads(body)["error"]["code"] == "image_not_found"
    status, _, body = _request(
        admin + "/v1/libraries/other/images",
        data=b"x",
        method="POST",
        headers={"Authorization": f"Bearer {read_key}"},
    )
    assert status == 403 and json.loads(body)["error"]["code"] == "insufficient_role"

    assert served.stop() == 0
    # The last user of the embedded server gone, pgserver stops it.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


def test_keys_create_and_migrate_on_a_fresh_data_dir(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    first = _run("keys", "create", "--library", "demo", "--data-dir", data_dir)
    assert first.returncode == 0, first.stderr
    second = _run("keys", "create", "--library", "demo", "--role", "write", "--data-dir", data_dir)
    assert second.returncode == 0, second.stderr
    keys = [r.stdout.strip().splitlines()[-1] for r in (first, second)]
    assert all(k.startswith("io_") for k in keys) and keys[0] != keys[1]
    migrated = _run("migrate", "--data-dir", data_dir)
    assert migrated.returncode == 0 and "applied 0 migration(s)" in migrated.stdout
    bad = _run("keys", "create", "--library", "Not Valid", "--data-dir", data_dir)
    assert bad.returncode == 2 and "invalid library name" in bad.stderr


def test_bad_settings_exit_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [*EXE, "migrate", "--data-dir", str(tmp_path)],
        env=clean_env(IMGORIGIN_DB_POOL_SIZE="many"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "IMGORIGIN_DB_POOL_SIZE" in result.stderr


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *EXE,
                "serve",
                "--data-dir",
                str(tmp_path / "data"),
                "--origin-port",
                str(port),
                "--admin-port",
                str(free_port()),
            ],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_lets_a_render_in_flight_finish(served: Served) -> None:
    status, _, body = _request(
        served.admin + "/v1/libraries/demo/images?key=big.jpg&activate=true",
        data=images.jpeg(4000, 3000),
        headers={"Authorization": f"Bearer {served.key}", "Content-Type": "image/jpeg"},
    )
    assert status == 201, body
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # A render of a few hundred milliseconds, stopped in the middle.
        answer = pool.submit(_request, served.origin + "/demo/big.jpg?w=3000&fm=avif&q=90")
        time.sleep(0.15)
        assert not answer.done()
        assert served.process is not None
        served.process.send_signal(signal.SIGTERM)
        status, headers, data = answer.result(timeout=60)
    assert status == 200 and headers["X-Cache"] == "MISS"
    assert images.encoded(data).width == 3000
    assert served.stop() == 0


def test_signing_keys_and_signed_urls_from_the_cli(served: Served) -> None:
    data_dir = str(served.data_dir)
    status, _, body = _request(
        served.admin + "/v1/libraries/demo/images?key=signed.jpg&activate=true",
        data=images.jpeg(300, 200),
        headers={"Authorization": f"Bearer {served.key}", "Content-Type": "image/jpeg"},
    )
    assert status == 201, body
    created = _run("signing", "create-key", "--library", "demo", "--data-dir", data_dir)
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split("signing key ")[1].split(":")[0]
    secret = created.stdout.strip().splitlines()[-1]
    required = _run("signing", "require", "--library", "demo", "yes", "--data-dir", data_dir)
    assert required.returncode == 0, required.stderr
    listed = _run("signing", "keys", "--library", "demo", "--data-dir", data_dir)
    assert key_id in listed.stdout and secret not in listed.stdout

    url = served.origin + "/demo/signed.jpg?w=120&fm=png"
    signed = _run("sign", url, "--library", "demo", "--expires-in", "60", "--data-dir", data_dir)
    assert signed.returncode == 0, signed.stderr
    signed_url = signed.stdout.strip().splitlines()[-1]
    assert signed_url.startswith(url + "&expires=") and "&s=" in signed_url
    status, _, data = _request(signed_url)
    assert status == 200 and images.encoded(data).width == 120
    status, _, body = _request(url)
    assert status == 403 and json.loads(body)["error"]["code"] == "signature_required"

    revoked = _run("signing", "revoke-key", key_id, "--library", "demo", "--data-dir", data_dir)
    assert (
        revoked.returncode == 0
        and _run("sign", url, "--library", "demo", "--data-dir", data_dir).returncode != 0
    )  # no live key left to sign with


def test_imgproxy_keys_and_signed_paths_from_the_cli(served: Served) -> None:
    data_dir = str(served.data_dir)
    common = ("--library", "demo", "--data-dir", data_dir)
    # imgproxy's own key and salt, brought over so its signed URLs keep working.
    create = ("signing", "create-key", "--scheme", "imgproxy", "--secret-stdin", *common)
    refused = _run(*create, stdin="secret:hello\n")
    assert refused.returncode != 0 and "hex" in refused.stderr
    created = _run(*create, stdin="736563726574:68656C6C6F\n")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret == "736563726574:68656c6c6f"

    path = "/rs:fill:300:400:0/g:sm/plain/demo/cat.jpg@webp"
    signed = _run("sign", f"/insecure{path}", *common)
    assert signed.returncode == 0, signed.stderr
    key = SigningKey("any", Scheme.IMGPROXY, secret)
    assert signed.stdout.strip().splitlines()[-1] == signing.sign_path(key, path)
    assert _run("sign", f"/insecure{path}", "--expires-in", "60", *common).returncode != 0
    # Origin URLs take a native or imgix key, and this library has none.
    assert _run("sign", "/demo/cat.jpg?w=10", *common).returncode != 0
