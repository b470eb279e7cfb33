"""`imgorigin libraries create|list|show|delete`, under the admin API's rules."""

from __future__ import annotations

import argparse
import json

from admin_api.service import library_json, patched_settings
from catalog import LibraryExists, LibrarySettings
from imgorigin.app import open_services
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
from origin.errors import BadRequest


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    libraries = commands.add_parser("libraries", help="manage libraries")
    subcommands = libraries.add_subparsers(dest="libraries_command", required=True)

    create = subcommands.add_parser("create", parents=[common], help="create a library")
    create.add_argument("name", type=library_name, metavar="NAME")
    create.add_argument(
        "--settings", default="{}", help="its settings as JSON: '{\"presets\": {...}, ...}'"
    )
    create.set_defaults(handler=command(create_library))

    listing = subcommands.add_parser("list", parents=[common], help="list the libraries")
    listing.set_defaults(handler=command(list_libraries))

    show = subcommands.add_parser(
        "show", parents=[common], help="print a library and its settings as JSON"
    )
    show.add_argument("name", type=library_name, metavar="NAME")
    show.set_defaults(handler=command(show_library))

    delete = subcommands.add_parser(
        "delete",
        parents=[common],
        help="delete a library: every image (its variants purged, originals dropped), "
        "its keys and its name",
    )
    delete.add_argument("name", type=library_name, metavar="NAME")
    delete.add_argument("--yes", action="store_true", help="yes, delete it all")
    delete.set_defaults(handler=command(delete_library))


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


async def create_library(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        rules = library_settings(args.settings)
        try:
            library = await catalog.libraries.create(args.name, rules)
        except LibraryExists:
            raise CommandError(f"library {args.name!r} exists") from None
        print(f"created library {library.name!r}")


async def list_libraries(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        rows = []
        for library in await catalog.libraries.listed():
            usage = await catalog.stats.usage(library)
            rows.append(
                [library.name, moment(library.created_at)]
                + [str(usage[n]) for n in ("active", "pending", "bytes")]
            )
        print(table(["name", "created", "active", "pending", "bytes"], rows))


async def show_library(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        library = await existing_library(catalog, args.name)
        shown = await library_json(catalog, library) | {"usage": await catalog.stats.usage(library)}
        print(json.dumps(shown, indent=2))


async def delete_library(settings: Settings, args: argparse.Namespace) -> None:
    if not args.yes:
        raise CommandError(f"deleting library {args.name!r} deletes every image of it; add --yes")
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.name)
        count = await services.admin.delete_library(library)
    print(f"deleted library {library.name!r} and its {count} image(s)")
