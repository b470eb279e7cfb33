"""`imgorigin keys create|list|revoke`: the admin API's keys."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from admin_api.service import MAX_KEY_LIFETIME
from catalog import Role
from imgorigin.cli.common import (
    CommandError,
    Commands,
    command,
    existing_library,
    library_name,
    migrated_catalog,
    moment,
    table,
)
from imgorigin.settings import Settings


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    keys = commands.add_parser("keys", help="manage admin API keys")
    subcommands = keys.add_subparsers(dest="keys_command", required=True)

    create = subcommands.add_parser(
        "create", parents=[common], help="create a key; prints it alone on the last line"
    )
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--library", type=library_name, help="the library (made if missing)")
    scope.add_argument("--every-library", action="store_true", help="a key for every library")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    create.add_argument("--name", default="", help="a label for the key")
    create.add_argument("--expires-in", type=_lifetime, help="seconds until the key expires")
    create.set_defaults(handler=command(create_key))

    listing = subcommands.add_parser(
        "list", parents=[common], help="list the keys, revoked and expired ones too"
    )
    listing.add_argument("--library", type=library_name, help="only the keys of this library")
    listing.set_defaults(handler=command(list_keys))

    revoke = subcommands.add_parser("revoke", parents=[common], help="revoke a key")
    revoke.add_argument("key_id", type=_key_id, metavar="ID")
    revoke.set_defaults(handler=command(revoke_key))


def _key_id(value: str) -> int:
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
        raise argparse.ArgumentTypeError(f"invalid key id {value!r}: ids are whole numbers")
    return int(value)


def _lifetime(value: str) -> int:
    limit = int(MAX_KEY_LIFETIME.total_seconds())
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= limit):
        raise argparse.ArgumentTypeError(f"{value!r}: seconds, from 1 to {limit} (ten years)")
    return int(value)


async def create_key(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        library = await catalog.libraries.ensure(args.library) if args.library else None
        expires = None
        if args.expires_in is not None:
            expires = datetime.now(UTC) + timedelta(seconds=args.expires_in)
        role = Role(args.role)
        key, record = await catalog.api_keys.create(library, role, args.name, expires_at=expires)
        scope = f"library {library.name!r}" if library else "every library"
        until = f", expires {moment(record.expires_at)}" if record.expires_at else ""
        print(f"{scope}, role {role.value}, key id {record.id}{until}:")
        print(key)


async def list_keys(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        scope_id = (await existing_library(catalog, args.library)).id if args.library else None
        records = await catalog.api_keys.listed(scope_id)
        header = ["id", "name", "role", "library", "prefix", "created", "expires"]
        header += ["revoked", "last-used"]
        rows = [
            [
                str(r.id),
                r.name or "-",
                r.role.value,
                r.library or "*",
                r.prefix,
                moment(r.created_at),
                moment(r.expires_at),
                moment(r.revoked_at),
                moment(r.last_used_at),
            ]
            for r in records
        ]
        print(table(header, rows))


async def revoke_key(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        if not await catalog.api_keys.revoke(args.key_id):
            raise CommandError(f"no live API key with id {args.key_id}")
        print(f"revoked key {args.key_id}")
