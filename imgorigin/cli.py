"""The `imgorigin` command: serve, migrate, keys, libraries, import, warm, purge, sweep,
signing, sign, settings, nginx-config."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from admin_api.fields import field_tags
from admin_api.service import MAX_KEY_LIFETIME, library_json, patched_settings
from catalog import UNAVAILABLE as CATALOG_UNAVAILABLE
from catalog import (
    Catalog,
    InvalidName,
    InvalidSecret,
    Library,
    LibraryExists,
    LibrarySettings,
    Role,
    Scheme,
    check_library_name,
)
from imgorigin import bulk, nginxconf
from imgorigin.app import open_catalog, open_services
from imgorigin.bulk import CommandError
from imgorigin.server import DEMO_LIBRARY, configure_logging, serve
from imgorigin.settings import Settings, settings_markdown
from origin import adapters, signing
from origin.errors import BadRequest
from storage import StoreUnavailable

_SETTINGS_START = "<!-- settings:start -->"
_SETTINGS_END = "<!-- settings:end -->"


def _library(value: str) -> str:
    try:
        return check_library_name(value)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _key_id(value: str) -> int:
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
        raise argparse.ArgumentTypeError(f"invalid key id {value!r}: ids are whole numbers")
    return int(value)


def _lifetime(value: str) -> int:
    limit = int(MAX_KEY_LIFETIME.total_seconds())
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= limit):
        raise argparse.ArgumentTypeError(f"{value!r}: seconds, from 1 to {limit} (ten years)")
    return int(value)


def _tags(value: str) -> tuple[str, ...]:
    try:
        return field_tags(value.split(","))
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _concurrency(value: str) -> int:
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 64):
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number from 1 to 64")
    return int(value)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, help="data folder (default: $IMGORIGIN_DATA_DIR or ./data)"
    )
    root = argparse.ArgumentParser(prog="imgorigin", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the origin and admin API")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--origin-port", type=int, help="public origin port (default 8080)")
    serve.add_argument("--admin-port", type=int, help="admin API port (default 8081)")
    serve.add_argument(
        "--workers",
        type=int,
        help="processes sharing the ports (default: one per available CPU, cgroup quota included)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help=f"create library {DEMO_LIBRARY!r} and print a fresh admin key for it "
        "(the previous one printed this way is revoked)",
    )

    commands.add_parser("migrate", parents=[common], help="apply new database migrations")

    keys = commands.add_parser("keys", help="manage admin API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser(
        "create", parents=[common], help="create a key; prints it alone on the last line"
    )
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--library", type=_library, help="the library (made if missing)")
    scope.add_argument("--every-library", action="store_true", help="a key for every library")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    create.add_argument("--name", default="", help="a label for the key")
    create.add_argument("--expires-in", type=_lifetime, help="seconds until the key expires")
    listing = key_commands.add_parser(
        "list", parents=[common], help="list the keys, revoked and expired ones too"
    )
    listing.add_argument("--library", type=_library, help="only the keys of this library")
    revoke_api_key = key_commands.add_parser("revoke", parents=[common], help="revoke a key")
    revoke_api_key.add_argument("key_id", type=_key_id, metavar="ID")

    libraries = commands.add_parser("libraries", help="manage libraries")
    library_commands = libraries.add_subparsers(dest="libraries_command", required=True)
    new_library = library_commands.add_parser("create", parents=[common], help="create a library")
    new_library.add_argument("name", type=_library, metavar="NAME")
    new_library.add_argument(
        "--settings", default="{}", help="its settings as JSON: '{\"presets\": {...}, ...}'"
    )
    library_commands.add_parser("list", parents=[common], help="list the libraries")
    show_library = library_commands.add_parser(
        "show", parents=[common], help="print a library and its settings as JSON"
    )
    show_library.add_argument("name", type=_library, metavar="NAME")
    drop_library = library_commands.add_parser(
        "delete",
        parents=[common],
        help="delete a library: every image (its variants purged, originals dropped), "
        "its keys and its name",
    )
    drop_library.add_argument("name", type=_library, metavar="NAME")
    drop_library.add_argument("--yes", action="store_true", help="yes, delete it all")

    importing = commands.add_parser(
        "import",
        parents=[common],
        help="upload every file of a folder or an S3 prefix; files whose content the "
        "library has are skipped, so an import can be run again to finish it",
    )
    importing.add_argument("source", metavar="SOURCE", help="a folder, or s3://bucket/prefix")
    importing.add_argument("--library", required=True, type=_library)
    importing.add_argument(
        "--prefix", default="", help="keys go under this folder (default: the top)"
    )
    importing.add_argument(
        "--activate",
        action="store_true",
        help="make the images active at once (default: as the library's auto_activate says)",
    )
    importing.add_argument("--tags", type=_tags, default=(), help="tags for every image: a,b")
    importing.add_argument(
        "--endpoint-url",
        help="the S3 service of an s3:// source (default: AWS, or $AWS_ENDPOINT_URL)",
    )
    importing.add_argument(
        "--concurrency", type=_concurrency, default=bulk.CONCURRENCY, help="files at a time"
    )

    warm = commands.add_parser(
        "warm", parents=[common], help="render a preset's variant of every active image"
    )
    warm.add_argument("--library", required=True, type=_library)
    what = warm.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", help="one of the library's presets")
    what.add_argument("--query", help="URL parameters instead: 'w=800&fm=webp'")
    warm.add_argument(
        "--accept",
        help="with auto=format, the Accept header to render for (default: each format "
        "it can choose)",
    )
    warm.add_argument(
        "--concurrency", type=_concurrency, default=bulk.CONCURRENCY, help="images at a time"
    )

    purge = commands.add_parser(
        "purge",
        parents=[common],
        help="purge cached variants (store, nginx, CDNs) of a library, or of some images; "
        "prints the report as JSON",
    )
    purge.add_argument("--library", required=True, type=_library)
    which = purge.add_mutually_exclusive_group()
    which.add_argument("--image", dest="images", nargs="+", action="extend", metavar="ID")
    which.add_argument("--key", dest="keys", nargs="+", action="extend", metavar="KEY")

    commands.add_parser(
        "sweep",
        parents=[common],
        help="delete once the pending images older than their library's pending_ttl",
    )

    signing = commands.add_parser("signing", help="manage the keys that sign public URLs")
    signing_commands = signing.add_subparsers(dest="signing_command", required=True)
    new_key = signing_commands.add_parser(
        "create-key", parents=[common], help="create a key; prints its secret on the last line"
    )
    new_key.add_argument("--scheme", choices=[s.value for s in Scheme], default="native")
    new_key.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the secret from standard input instead of making one, to keep URLs "
        "signed elsewhere working (imgproxy: KEY:SALT, as IMGPROXY_KEY:IMGPROXY_SALT)",
    )
    signing_commands.add_parser("keys", parents=[common], help="list the live keys (no secrets)")
    revoke = signing_commands.add_parser("revoke-key", parents=[common], help="revoke a key")
    revoke.add_argument("key_id")
    require = signing_commands.add_parser(
        "require", parents=[common], help="whether the library serves signed URLs only"
    )
    require.add_argument("required", choices=["yes", "no"])
    for command in (new_key, revoke, require, signing_commands.choices["keys"]):
        command.add_argument("--library", required=True, type=_library)

    sign = commands.add_parser("sign", parents=[common], help="print a URL signed for a library")
    sign.add_argument(
        "url",
        help="an origin URL or path: /{library}/{key}?{parameters}; or an imgproxy path, "
        "with `insecure` (or a signature to replace) where its signature goes",
    )
    sign.add_argument("--library", required=True, type=_library)
    sign.add_argument("--key", help="the signing key's id (default: the newest live key)")
    sign.add_argument("--expires-in", type=int, help="seconds until the URL expires")

    nginx = commands.add_parser(
        "nginx-config", parents=[common], help="print an nginx.conf for the front of the origin"
    )
    nginxconf.add_arguments(nginx)

    show = commands.add_parser("settings", help="print every setting with its meaning")
    show.add_argument("--markdown", action="store_true", help="as the README's Markdown table")
    show.add_argument("--write", type=Path, help="replace the settings table in this file")
    return root


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    overrides = {
        name: getattr(args, name)
        for name in ("data_dir", "host", "origin_port", "admin_port", "workers")
        if getattr(args, name, None) is not None
    }
    return replace(settings, server=replace(settings.server, **overrides)).validated()


async def migrate(settings: Settings) -> None:
    async with open_catalog(settings) as catalog:
        applied = await catalog.migrate()
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


async def existing_library(catalog: Catalog, name: str) -> Library:
    library = await catalog.get_library(name)
    if library is None:
        raise CommandError(f"no library {name!r}")
    return library


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


async def manage_keys(settings: Settings, args: argparse.Namespace) -> None:
    async with open_catalog(settings) as catalog:
        await catalog.migrate()
        if args.keys_command == "create":
            library = await catalog.ensure_library(args.library) if args.library else None
            expires = None
            if args.expires_in is not None:
                expires = datetime.now(UTC) + timedelta(seconds=args.expires_in)
            role = Role(args.role)
            key, record = await catalog.create_api_key(library, role, args.name, expires_at=expires)
            scope = f"library {library.name!r}" if library else "every library"
            until = f", expires {_moment(record.expires_at)}" if record.expires_at else ""
            print(f"{scope}, role {role.value}, key id {record.id}{until}:")
            print(key)
        elif args.keys_command == "list":
            scope_id = (await existing_library(catalog, args.library)).id if args.library else None
            records = await catalog.api_keys(scope_id)
            header = ["id", "name", "role", "library", "prefix", "created", "expires"]
            header += ["revoked", "last-used"]
            rows = [
                [
                    str(r.id),
                    r.name or "-",
                    r.role.value,
                    r.library or "*",
                    r.prefix,
                    _moment(r.created_at),
                    _moment(r.expires_at),
                    _moment(r.revoked_at),
                    _moment(r.last_used_at),
                ]
                for r in records
            ]
            print(table(header, rows))
        else:
            if not await catalog.revoke_api_key(args.key_id):
                raise CommandError(f"no live API key with id {args.key_id}")
            print(f"revoked key {args.key_id}")


async def manage_libraries(settings: Settings, args: argparse.Namespace) -> None:
    if args.libraries_command == "delete":
        if not args.yes:
            raise CommandError(
                f"deleting library {args.name!r} deletes every image of it; add --yes"
            )
        async with open_services(settings) as services:
            library = await existing_library(services.catalog, args.name)
            count = await services.admin.delete_library(library)
        print(f"deleted library {library.name!r} and its {count} image(s)")
        return
    async with open_catalog(settings) as catalog:
        await catalog.migrate()
        if args.libraries_command == "create":
            rules = library_settings(args.settings)
            try:
                library = await catalog.create_library(args.name, rules)
            except LibraryExists:
                raise CommandError(f"library {args.name!r} exists") from None
            print(f"created library {library.name!r}")
        elif args.libraries_command == "list":
            rows = []
            for library in await catalog.libraries():
                usage = await catalog.usage(library)
                rows.append(
                    [library.name, _moment(library.created_at)]
                    + [str(usage[n]) for n in ("active", "pending", "bytes")]
                )
            print(table(["name", "created", "active", "pending", "bytes"], rows))
        else:
            library = await existing_library(catalog, args.name)
            shown = await library_json(catalog, library) | {"usage": await catalog.usage(library)}
            print(json.dumps(shown, indent=2))


def library_settings(text: str) -> LibrarySettings:
    """Settings from `--settings` JSON, held to the admin API's rules."""
    try:
        changes = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"--settings is not JSON: {exc}") from None
    if not isinstance(changes, dict):
        raise CommandError("--settings is a JSON object: '{\"presets\": {...}, ...}'")
    try:
        return patched_settings(LibrarySettings(), changes)
    except BadRequest as exc:
        raise CommandError(f"--settings: {exc.message}") from None


async def import_source(settings: Settings, args: argparse.Namespace) -> int:
    s3 = args.source.startswith("s3://")
    if not s3 and not await asyncio.to_thread(Path(args.source).is_dir):
        raise CommandError(f"{args.source}: not a folder, nor an s3://bucket/prefix")
    if not s3 and args.endpoint_url:
        raise CommandError("--endpoint-url is for an s3:// source")
    options: dict[str, Any] = {
        "prefix": args.prefix,
        "tags": args.tags,
        "activate": True if args.activate else None,
        "concurrency": args.concurrency,
    }
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.library)
        if s3:
            async with bulk.s3_files(args.source, args.endpoint_url, settings.storage) as files:
                tally = await bulk.import_files(services, library, files, **options)
        else:
            files = await asyncio.to_thread(bulk.directory_files, Path(args.source))
            tally = await bulk.import_files(services, library, files, **options)
    print(tally.summary(*bulk.IMPORT_OUTCOMES))
    return 1 if tally.failed else 0


async def warm_variants(settings: Settings, args: argparse.Namespace) -> int:
    query = f"p={quote(args.preset, safe='')}" if args.preset is not None else args.query
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.library)
        tally = await bulk.warm(
            services, library, query, accept=args.accept, concurrency=args.concurrency
        )
    print(tally.summary(*bulk.WARM_OUTCOMES))
    return 1 if tally.failed else 0


async def purge(settings: Settings, args: argparse.Namespace) -> None:
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.library)
        report = await services.admin.purge_library(library, images=args.images, keys=args.keys)
    print(json.dumps(report, indent=2))


async def sweep(settings: Settings) -> None:
    async with open_services(settings) as services:
        swept = await services.admin.sweep()
    print(f"swept {swept} pending image(s)")


async def manage_signing(settings: Settings, args: argparse.Namespace) -> None:
    async with open_catalog(settings) as catalog:
        await catalog.migrate()
        library = await catalog.ensure_library(args.library)
        if args.signing_command == "create-key":
            secret = sys.stdin.readline().strip() if args.secret_stdin else None
            try:
                key = await catalog.create_signing_key(library, Scheme(args.scheme), secret)
            except InvalidSecret as exc:
                raise SystemExit(f"imgorigin: {exc}") from None
            print(f"library {library.name!r}, {key.scheme.value} signing key {key.id}:")
            print(key.secret)
        elif args.signing_command == "keys":
            for key in await catalog.signing_keys(library):
                print(f"{key.id}  {key.scheme.value}")
        elif args.signing_command == "revoke-key":
            if not await catalog.revoke_signing_key(library, args.key_id):
                raise SystemExit(f"imgorigin: no live signing key {args.key_id!r}")
            print(f"revoked {args.key_id}")
        else:
            rules = await catalog.library_settings(library)
            required = args.required == "yes"
            await catalog.set_library_settings(library, replace(rules, require_signed=required))
            print(f"library {library.name!r} requires signed URLs: {args.required}")


async def sign_url(settings: Settings, args: argparse.Namespace) -> None:
    async with open_catalog(settings) as catalog:
        await catalog.migrate()
        library = await catalog.get_library(args.library)
        keys = await catalog.signing_keys(library) if library else []
    url = urlsplit(args.url)
    # imgproxy paths are signed by imgproxy keys, origin URLs by the others.
    first, _, rest = url.path.removeprefix("/").partition("/")
    imgproxy = adapters.is_imgproxy(first, rest.partition("/")[0])
    chosen = [
        k for k in keys if args.key in (None, k.id) and (k.scheme is Scheme.IMGPROXY) == imgproxy
    ]
    if not chosen:
        kind = "imgproxy" if imgproxy else "native or imgix"
        raise SystemExit(f"imgorigin: library {args.library!r} has no such live {kind} signing key")
    if imgproxy:
        if args.expires_in is not None:
            raise SystemExit("imgorigin: imgproxy paths are signed without an expiry")
        print(urlunsplit(url._replace(path=signing.sign_path(chosen[0], unsigned_path(url.path)))))
        return
    query = url.query
    if args.expires_in is not None:
        expires = f"{signing.EXPIRES}={int(time.time()) + args.expires_in}"
        query = f"{query}&{expires}" if query else expires
    print(urlunsplit(url._replace(query=signing.sign(chosen[0], url.path, query))))


def unsigned_path(path: str) -> str:
    """An imgproxy path without its signature segment (`insecure`, or a signature to
    replace), which is its first unless that is already an option or `plain`."""
    first, slash, rest = path.removeprefix("/").partition("/")
    return path if not slash or ":" in first or first == "plain" else f"/{rest}"


def write_settings_table(path: Path) -> None:
    text = path.read_text()
    head, start, rest = text.partition(_SETTINGS_START)
    _, end, tail = rest.partition(_SETTINGS_END)
    if not start or not end:
        raise SystemExit(f"{path}: no {_SETTINGS_START} ... {_SETTINGS_END} block")
    path.write_text(f"{head}{start}\n{settings_markdown()}{end}{tail}")


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "settings":
        if args.write:
            write_settings_table(args.write)
        else:
            sys.stdout.write(settings_markdown())
        return
    try:
        settings = settings_from(args)
    except ValueError as exc:
        raise SystemExit(f"imgorigin: {exc}") from None
    if args.command == "nginx-config":
        upstream = f"{settings.server.host}:{settings.server.origin_port}"
        options = nginxconf.options_from(
            args, upstream, settings.server.data_dir, settings.cache.render_wait
        )
        command = nginxconf.command_line(sys.argv[1:] if argv is None else argv)
        sys.stdout.write(nginxconf.render(options, command))
        return
    configure_logging(settings)
    if args.command == "serve":
        serve(settings, args.demo)
        return
    commands: dict[str, Any] = {
        "migrate": lambda: migrate(settings),
        "signing": lambda: manage_signing(settings, args),
        "sign": lambda: sign_url(settings, args),
        "keys": lambda: manage_keys(settings, args),
        "libraries": lambda: manage_libraries(settings, args),
        "import": lambda: import_source(settings, args),
        "warm": lambda: warm_variants(settings, args),
        "purge": lambda: purge(settings, args),
        "sweep": lambda: sweep(settings),
    }
    status = run(commands[args.command]())
    if status:
        raise SystemExit(status)


def run(command: Coroutine[Any, Any, int | None]) -> int | None:
    """Run a command; what it cannot do (or what is down) is a line on stderr and an
    exit status, not a traceback."""
    try:
        return asyncio.run(command)
    except CommandError as exc:
        print(f"imgorigin: {exc}", file=sys.stderr)
        return exc.status
    except (StoreUnavailable, *CATALOG_UNAVAILABLE) as exc:
        print(f"imgorigin: unavailable, try again: {exc!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    main()
