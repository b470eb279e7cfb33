"""`imgorigin signing create-key|keys|revoke-key|require`: the keys that sign a
library's public URLs, and whether it serves signed URLs only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace

from catalog import Catalog, InvalidSecret, Library, Scheme
from imgorigin.cli.common import Commands, Handler, command, library_name, migrated_catalog
from imgorigin.settings import Settings

# A subcommand's work on its library (made if missing).
Step = Callable[[Catalog, Library, argparse.Namespace], Awaitable[None]]


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    signing = commands.add_parser("signing", help="manage the keys that sign public URLs")
    subcommands = signing.add_subparsers(dest="signing_command", required=True)
    create = subcommands.add_parser(
        "create-key", parents=[common], help="create a key; prints its secret on the last line"
    )
    create.add_argument("--scheme", choices=[s.value for s in Scheme], default="native")
    create.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the secret from standard input instead of making one, to keep URLs "
        "signed elsewhere working (imgproxy: KEY:SALT, as IMGPROXY_KEY:IMGPROXY_SALT)",
    )
    listing = subcommands.add_parser(
        "keys", parents=[common], help="list the live keys (no secrets)"
    )
    revoke = subcommands.add_parser("revoke-key", parents=[common], help="revoke a key")
    revoke.add_argument("key_id")
    require = subcommands.add_parser(
        "require", parents=[common], help="whether the library serves signed URLs only"
    )
    require.add_argument("required", choices=["yes", "no"])
    steps: list[tuple[argparse.ArgumentParser, Step]] = [
        (create, create_key),
        (revoke, revoke_key),
        (require, require_signed),
        (listing, list_keys),
    ]
    for subcommand, step in steps:
        subcommand.add_argument("--library", required=True, type=library_name)
        subcommand.set_defaults(handler=_on_library(step))


def _on_library(step: Step) -> Handler:
    async def work(settings: Settings, args: argparse.Namespace) -> None:
        async with migrated_catalog(settings) as catalog:
            library = await catalog.libraries.ensure(args.library)
            await step(catalog, library, args)

    return command(work)


async def create_key(catalog: Catalog, library: Library, args: argparse.Namespace) -> None:
    secret = sys.stdin.readline().strip() if args.secret_stdin else None
    try:
        key = await catalog.signing_keys.create(library, Scheme(args.scheme), secret)
    except InvalidSecret as exc:
        raise SystemExit(f"imgorigin: {exc}") from None
    print(f"library {library.name!r}, {key.scheme.value} signing key {key.id}:")
    print(key.secret)


async def list_keys(catalog: Catalog, library: Library, args: argparse.Namespace) -> None:
    for key in await catalog.signing_keys.live(library):
        print(f"{key.id}  {key.scheme.value}")


async def revoke_key(catalog: Catalog, library: Library, args: argparse.Namespace) -> None:
    if not await catalog.signing_keys.revoke(library, args.key_id):
        raise SystemExit(f"imgorigin: no live signing key {args.key_id!r}")
    print(f"revoked {args.key_id}")


async def require_signed(catalog: Catalog, library: Library, args: argparse.Namespace) -> None:
    rules = await catalog.libraries.settings(library)
    required = args.required == "yes"
    await catalog.libraries.set_settings(library, replace(rules, require_signed=required))
    print(f"library {library.name!r} requires signed URLs: {args.required}")
