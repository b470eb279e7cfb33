"""The `imgorigin` command: serve, migrate, keys, signing, sign, settings, nginx-config."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from catalog import InvalidName, InvalidSecret, Role, Scheme, check_library_name
from imgorigin import nginxconf
from imgorigin.app import open_catalog
from imgorigin.server import DEMO_LIBRARY, configure_logging, serve
from imgorigin.settings import Settings, settings_markdown
from origin import adapters, signing

_SETTINGS_START = "<!-- settings:start -->"
_SETTINGS_END = "<!-- settings:end -->"


def _library(value: str) -> str:
    try:
        return check_library_name(value)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        "--workers", type=int, help="processes sharing the ports (default 1; about one per core)"
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
    create.add_argument("--library", required=True, type=_library)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    create.add_argument("--name", default="", help="a label for the key")

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


async def create_key(settings: Settings, library_name: str, role: Role, name: str) -> None:
    async with open_catalog(settings) as catalog:
        await catalog.migrate()
        library = await catalog.ensure_library(library_name)
        key, record = await catalog.create_api_key(library, role, name)
    print(f"library {library.name!r}, role {role.value}, key id {record.id}:")
    print(key)


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
    elif args.command == "migrate":
        asyncio.run(migrate(settings))
    elif args.command == "signing":
        asyncio.run(manage_signing(settings, args))
    elif args.command == "sign":
        asyncio.run(sign_url(settings, args))
    elif args.command == "keys":
        asyncio.run(create_key(settings, args.library, Role(args.role), args.name))


if __name__ == "__main__":
    main()
