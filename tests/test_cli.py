"""The commands a newcomer runs, on the embedded defaults: pgserver under a data dir.

These start real processes: `imgorigin serve`, then `imgorigin keys create` against
the same embedded PostgreSQL while serve is running, then an upload and a render
over HTTP, then a clean stop.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiobotocore.session import AioSession
from aiohttp.test_utils import TestClient

from admin_api.fields import Upload, UploadForm
from catalog import ImageQuery, LibrarySettings, Scheme, SigningKey, Sort, Status
from imgorigin.app import Services
from imgorigin.cli import main, parser
from imgorigin.cli.bulk import Progress
from imgorigin.machine import available_cpus
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
        # The default: a worker per available CPU, all on one embedded PostgreSQL.
        f"workers    {available_cpus()}",
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


def test_a_second_serve_on_busy_ports_leaves_the_demo_key_alone(served: Served) -> None:
    second = subprocess.run(
        [
            *EXE,
            "serve",
            "--demo",
            "--data-dir",
            str(served.data_dir),
            "--origin-port",
            str(served.origin_port),
            "--admin-port",
            str(served.admin_port),
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode != 0 and "cannot listen" in second.stderr, second.stderr
    assert "io_" not in second.stdout  # no key printed, and none made
    # The running server's key still works, and it is still the only demo key.
    status, _, body = _request(
        served.admin + "/v1/keys", headers={"Authorization": f"Bearer {served.key}"}
    )
    assert status == 200, body
    live = [k for k in json.loads(body)["items"] if k["revoked_at"] is None]
    assert [k["name"] for k in live] == ["serve --demo"]
    assert served.key.startswith(live[0]["prefix"])


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


# The management commands, on the session's PostgreSQL (IMGORIGIN_DATABASE_URL) and a
# data dir of the test's own. They run in this process, through `main` as the
# `imgorigin` script calls it, to keep the many runs fast; the tests above show the
# commands as real processes.


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`imgorigin ARGS --data-dir <tmp>/data`: its exit status, stdout and stderr. From
    async tests in a thread (`await asyncio.to_thread(cli, ...)`), as the command runs
    an event loop of its own."""
    for name in [n for n in os.environ if n.startswith("IMGORIGIN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IMGORIGIN_DATABASE_URL", database_url)
    data_dir = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [*args, "--data-dir", data_dir]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                status = 0
            except SystemExit as exc:  # as the interpreter would exit
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                status = exc.code if isinstance(exc.code, int) else 1
        return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())

    return run


def _name() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


def _refused(result: subprocess.CompletedProcess[str], message: str) -> bool:
    """Exit status 2 with `message` on stderr (anything but SystemExit would have
    been raised out of `cli`: a traceback)."""
    return result.returncode == 2 and message in result.stderr


def _rows(table: str) -> dict[str, dict[str, str]]:
    """A printed table's rows by their first column, each as {column: cell}."""
    header, *lines = table.strip().splitlines()
    names = header.split()
    starts = [header.index(name) for name in names]
    ends = [*starts[1:], None]
    rows = [
        {n: line[s:e].strip() for n, s, e in zip(names, starts, ends, strict=True)}
        for line in lines
    ]
    return {row[names[0]]: row for row in rows}


def test_keys_create_list_and_revoke(cli: Cli) -> None:
    library = _name()
    created = cli(
        "keys", "create", "--library", library, "--name", "ci deploy", "--expires-in", "3600"
    )
    assert created.returncode == 0, created.stderr
    first, key = created.stdout.strip().splitlines()[-2:]
    assert first.startswith(f"library {library!r}, role admin, key id ") and ", expires 20" in first
    key_id = first.split("key id ")[1].split(",")[0]
    assert key.startswith("io_")
    every = cli("keys", "create", "--every-library", "--role", "read")
    assert every.returncode == 0, every.stderr
    assert every.stdout.startswith("every library, role read, key id ")
    every_id = every.stdout.split("key id ")[1].split(":")[0]

    scoped = _rows(cli("keys", "list", "--library", library).stdout)
    assert list(scoped) == [key_id]  # keys for every library are not the library's own
    row = scoped[key_id]
    assert (row["name"], row["role"], row["library"], row["prefix"]) == (
        "ci deploy",
        "admin",
        library,
        key[:10],
    )
    assert row["expires"].endswith("Z") and (row["revoked"], row["last-used"]) == ("-", "-")
    everything = _rows(cli("keys", "list").stdout)
    assert everything[every_id]["library"] == "*" and everything[every_id]["name"] == "-"

    revoked = cli("keys", "revoke", key_id)
    assert revoked.returncode == 0 and revoked.stdout.strip() == f"revoked key {key_id}"
    assert _rows(cli("keys", "list", "--library", library).stdout)[key_id]["revoked"] != "-"

    assert _refused(cli("keys", "revoke", key_id), f"no live API key with id {key_id}")
    assert _refused(cli("keys", "revoke", "abc"), "invalid key id 'abc'")
    assert _refused(cli("keys", "list", "--library", _name()), "no library")
    assert _refused(cli("keys", "create", "--library", library, "--every-library"), "not allowed")
    assert _refused(cli("keys", "create", "--every-library", "--expires-in", "0"), "seconds")


def test_libraries_create_list_show_and_delete(cli: Cli) -> None:
    library = _name()
    settings = '{"presets": {"thumb": "w=200&fm=webp"}, "auto_activate": true}'
    created = cli("libraries", "create", library, "--settings", settings)
    assert created.returncode == 0 and created.stdout.strip() == f"created library {library!r}"
    listed = _rows(cli("libraries", "list").stdout)
    assert (listed[library]["active"], listed[library]["pending"]) == ("0", "0")
    shown = cli("libraries", "show", library)
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["name"] == library and described["signing_keys"] == []
    assert described["settings"]["presets"] == {"thumb": "w=200&fm=webp"}
    assert described["settings"]["auto_activate"] is True

    assert _refused(cli("libraries", "create", library), f"library {library!r} exists")
    other = _name()
    assert _refused(cli("libraries", "create", other, "--settings", "{presets"), "not JSON")
    assert _refused(cli("libraries", "create", other, "--settings", "[1]"), "a JSON object")
    bad_preset = '{"presets": {"thumb": "w=huge"}}'
    assert _refused(cli("libraries", "create", other, "--settings", bad_preset), "preset 'thumb'")
    assert _refused(cli("libraries", "create", other, "--settings", '{"colour": 1}'), "colour")
    assert _refused(cli("libraries", "show", other), f"no library {other!r}")
    assert _refused(cli("libraries", "create", "Not Valid"), "invalid library name")

    assert _refused(cli("libraries", "delete", library), "add --yes")
    deleted = cli("libraries", "delete", library, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted library {library!r} and its 0 image(s)"
    assert _refused(cli("libraries", "delete", library, "--yes"), f"no library {library!r}")


def _source_folder(root: Path) -> dict[str, bytes]:
    """Three images (one two folders down) and a file that is no image."""
    files = {
        "a.jpg": images.jpeg(300, 200),
        "nested/b.png": images.png_with_alpha(120, 120),
        "nested/deeper/c.jpg": images.jpeg(200, 300),
        "notes.txt": b"not a picture",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


async def test_import_a_folder_then_again(cli: Cli, services: Services, tmp_path: Path) -> None:
    name = _name()
    source = tmp_path / "source"
    files = _source_folder(source)
    assert (await asyncio.to_thread(cli, "libraries", "create", name)).returncode == 0
    command = ("import", str(source), "--library", name, "--prefix", "old/", "--tags", "x,y")

    first = await asyncio.to_thread(cli, *command, "--activate")
    assert first.returncode == 1, first.stderr  # a file failed
    assert first.stdout.strip() == (
        "imported 3, skipped as duplicates 0, failed 1 (unsupported_image 1)"
    )
    assert "old/notes.txt: unsupported_image: " in first.stderr
    assert "import 4/4" in first.stderr  # not a terminal: a line at the end
    library = await services.catalog.libraries.get(name)
    assert library is not None
    found, _ = await services.catalog.images.page(library, ImageQuery(sort=Sort.KEY))
    assert [(i.key, i.status, i.tags) for i in found] == [
        (f"old/{key}", Status.ACTIVE, ("x", "y"))
        for key in ("a.jpg", "nested/b.png", "nested/deeper/c.jpg")
    ]
    assert [i.sha256 for i in found] == [
        hashlib.sha256(files[key]).hexdigest()
        for key in ("a.jpg", "nested/b.png", "nested/deeper/c.jpg")
    ]

    # Run again: everything is there already.
    again = await asyncio.to_thread(cli, *command)
    assert again.stdout.strip() == (
        "imported 0, skipped as duplicates 3, failed 1 (unsupported_image 1)"
    )
    # Other content at a key the library has: reported, the image left as it was.
    (source / "a.jpg").write_bytes(images.jpeg(64, 48))
    changed = await asyncio.to_thread(cli, *command)
    assert changed.stdout.strip() == (
        "imported 0, skipped as duplicates 2, failed 2 (key_exists 1, unsupported_image 1)"
    )
    assert "old/a.jpg: key_exists: " in changed.stderr
    (kept,) = await services.catalog.images.by(library, "key", ["old/a.jpg"])
    assert kept.sha256 == found[0].sha256

    assert _refused(
        await asyncio.to_thread(cli, "import", str(source), "--library", _name()), "no library"
    )
    missing = tmp_path / "nowhere"
    assert _refused(
        await asyncio.to_thread(cli, "import", str(missing), "--library", name), "not a folder"
    )
    assert _refused(await asyncio.to_thread(cli, *command, "--tags", "bad tag"), "invalid tag")


async def test_import_from_s3(
    cli: Cli,
    services: Services,
    s3_endpoint: str,
    s3_storage_url: str,
    _bucket_maker: AioSession,
) -> None:
    bucket = urlsplit(s3_storage_url).netloc
    small, large = images.jpeg(120, 80), images.jpeg(1200, 800)
    objects = {
        "photos/a.jpg": small,
        "photos/sub/b.png": images.png_with_alpha(60, 60),
        "photos/big.jpg": large,
        "photos/readme.txt": b"words",
        "photos/empty-folder/": b"",
        "elsewhere/c.jpg": images.jpeg(90, 90),
    }
    async with _bucket_maker.create_client("s3", endpoint_url=s3_endpoint) as client:
        for key, data in objects.items():
            await client.put_object(Bucket=bucket, Key=key, Body=data)
    name = _name()
    limit = (len(small) + len(large)) // 2
    settings = json.dumps({"max_upload_bytes": limit})
    assert (
        await asyncio.to_thread(cli, "libraries", "create", name, "--settings", settings)
    ).returncode == 0

    command = ("import", f"s3://{bucket}/photos", "--library", name, "--endpoint-url", s3_endpoint)
    result = await asyncio.to_thread(cli, *command, "--prefix", "s3")
    assert result.stdout.strip() == (
        "imported 2, skipped as duplicates 0, failed 2 (unsupported_image 1, upload_too_large 1)"
    ), result.stderr
    assert f"s3/big.jpg: upload_too_large: the file is larger than {limit} bytes" in result.stderr
    library = await services.catalog.libraries.get(name)
    assert library is not None
    found, _ = await services.catalog.images.page(library, ImageQuery(sort=Sort.KEY))
    assert [(i.key, i.status) for i in found] == [
        ("s3/a.jpg", Status.PENDING),  # the library's auto_activate: off
        ("s3/sub/b.png", Status.PENDING),
    ]
    again = await asyncio.to_thread(cli, *command, "--prefix", "s3")
    assert again.stdout.startswith("imported 0, skipped as duplicates 2, failed 2")
    nothing = await asyncio.to_thread(
        cli, "import", f"s3://{bucket}/none/", "--library", name, "--endpoint-url", s3_endpoint
    )
    assert nothing.returncode == 0 and nothing.stdout.startswith(
        "imported 0, skipped as duplicates 0, failed 0"
    )
    no_bucket = await asyncio.to_thread(
        cli,
        "import",
        "s3://no-such-bucket-here/x",
        "--library",
        name,
        "--endpoint-url",
        s3_endpoint,
    )
    assert (
        no_bucket.returncode == 1 and "cannot list s3://no-such-bucket-here/x" in no_bucket.stderr
    )


async def test_warm_then_hits_then_purge(
    cli: Cli, services: Services, origin: TestClient, tmp_path: Path
) -> None:
    name = _name()
    settings = json.dumps({"presets": {"thumb": "w=100&fm=webp", "any": "w=80&auto=format"}})
    assert (
        await asyncio.to_thread(cli, "libraries", "create", name, "--settings", settings)
    ).returncode == 0
    _source_folder(tmp_path / "source")
    imported = await asyncio.to_thread(
        cli, "import", str(tmp_path / "source"), "--library", name, "--activate"
    )
    assert imported.stdout.startswith("imported 3,"), imported.stderr

    warmed = await asyncio.to_thread(cli, "warm", "--library", name, "--preset", "thumb")
    assert warmed.returncode == 0, warmed.stderr
    assert warmed.stdout.strip() == "rendered 3, already stored 0, failed 0"
    assert "warm 3/3" in warmed.stderr
    for key in ("a.jpg", "nested/b.png", "nested/deeper/c.jpg"):
        response = await origin.get(f"/{name}/{key}?p=thumb")
        assert response.status == 200 and response.headers["X-Cache"] == "HIT", key
        assert images.encoded(await response.read()).width == 100
    response = await origin.get(f"/{name}/a.jpg?w=100&fm=webp")  # the same picture
    assert response.headers["X-Cache"] == "HIT"
    assert (await origin.get(f"/{name}/a.jpg?w=101&fm=webp")).headers["X-Cache"] == "MISS"

    # auto=format: each format the Accept header may choose.
    again = await asyncio.to_thread(cli, "warm", "--library", name, "--preset", "any")
    assert again.stdout.strip() == "rendered 9, already stored 0, failed 0"
    for accept, fmt in (("image/avif,*/*", "avif"), ("image/webp", "webp"), ("*/*", "png")):
        response = await origin.get(f"/{name}/nested/b.png?p=any", headers={"Accept": accept})
        assert response.headers["X-Cache"] == "HIT" and response.content_type == f"image/{fmt}"
    # A query instead of a preset: the same picture as `thumb`, so the same variants.
    by_query = await asyncio.to_thread(cli, "warm", "--library", name, "--query", "fm=webp&w=100")
    assert by_query.stdout.strip() == "rendered 0, already stored 3, failed 0"
    assert _refused(
        await asyncio.to_thread(cli, "warm", "--library", name, "--preset", "nope"),
        "no preset 'nope'",
    )
    assert _refused(
        await asyncio.to_thread(cli, "warm", "--library", name, "--query", "w=abc"), "w='abc'"
    )
    assert _refused(
        await asyncio.to_thread(cli, "warm", "--library", _name(), "--preset", "thumb"),
        "no library",
    )

    # Purge by key: that image's variants go (from the store: a request renders again).
    purged = await asyncio.to_thread(cli, "purge", "--library", name, "--key", "a.jpg", "gone.jpg")
    assert purged.returncode == 0, purged.stderr
    report = json.loads(purged.stdout)
    assert report["library"] == name and report["images"] == 1
    assert report["missing"] == ["gone.jpg"] and report["variants"] == 5 and report["complete"]
    assert (await origin.get(f"/{name}/a.jpg?p=thumb")).headers["X-Cache"] == "MISS"
    assert (await origin.get(f"/{name}/nested/b.png?p=thumb")).headers["X-Cache"] == "HIT"
    by_id = await asyncio.to_thread(cli, "purge", "--library", name, "--image", "nosuchimage")
    assert json.loads(by_id.stdout)["missing"] == ["nosuchimage"]
    everything = json.loads((await asyncio.to_thread(cli, "purge", "--library", name)).stdout)
    assert everything["images"] == 3 and everything["variants"] == 1 + 2 * 4
    assert (await origin.get(f"/{name}/nested/b.png?p=thumb")).headers["X-Cache"] == "MISS"
    both = await asyncio.to_thread(cli, "purge", "--library", name, "--image", "x", "--key", "y")
    assert _refused(both, "not allowed with argument")

    deleted = await asyncio.to_thread(cli, "libraries", "delete", name, "--yes")
    assert deleted.stdout.strip() == f"deleted library {name!r} and its 3 image(s)"
    assert (await origin.get(f"/{name}/a.jpg?p=thumb")).status == 404
    # (Its originals are other tests' too, in this database: content is shared.)
    store = tmp_path / "data" / "store"
    assert not [p for p in store.rglob("*") if "variants" in p.parts and p.is_file()]


async def test_sweep_deletes_expired_pending_images(cli: Cli, services: Services) -> None:
    library = await services.catalog.libraries.create(_name(), LibrarySettings(pending_ttl=60))
    rules = await services.catalog.libraries.settings(library)
    upload = Upload(images.jpeg(64, 64), UploadForm(key="left.jpg"))
    image = await services.admin.store_upload(library, rules, upload)
    assert image.status is Status.PENDING
    await services.catalog.pool.execute(
        "UPDATE images SET pending_since = now() - interval '2 minutes' WHERE id = $1", image.id
    )
    swept = await asyncio.to_thread(cli, "sweep")
    assert swept.returncode == 0, swept.stderr
    count = int(swept.stdout.split()[1])
    assert count >= 1 and swept.stdout.strip() == f"swept {count} pending image(s)"
    assert await services.catalog.images.get(library, image.id) is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_place_on_a_terminal_and_in_lines_elsewhere() -> None:
    terminal = _Terminal()
    progress = Progress("import", 3, terminal)
    for _ in range(3):
        progress.advance()
    progress.note("a.jpg: unsupported_image: no")
    progress.close()
    text = terminal.getvalue()
    assert text.startswith("\rimport 1/3 ") and "\n" not in text.split("a.jpg")[0]
    assert "a.jpg: unsupported_image: no\n\rimport 3/3 " in text and text.endswith("\n")

    log = io.StringIO()
    progress = Progress("warm", 250, log)
    for _ in range(250):
        progress.advance()
    progress.close()
    lines = log.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["100/250", "200/250", "250/250"]


def _commands(command: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every command line's subcommands down to the last, with the handler it runs."""
    groups = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, command.get_default("handler")
        return
    for name, subcommand in groups[0].choices.items():
        yield from _commands(subcommand, f"{path} {name}".strip())


def test_every_command_of_the_readme_declares_a_handler() -> None:
    handlers = dict(_commands(parser()))
    assert list(handlers) == [
        "serve",
        "migrate",
        "keys create",
        "keys list",
        "keys revoke",
        "libraries create",
        "libraries list",
        "libraries show",
        "libraries delete",
        "import",
        "warm",
        "purge",
        "sweep",
        "signing create-key",
        "signing keys",
        "signing revoke-key",
        "signing require",
        "sign",
        "nginx-config",
        "settings",
    ]
    assert all(callable(handler) for handler in handlers.values())
