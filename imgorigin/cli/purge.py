"""`imgorigin purge`: what POST /v1/purge does (`Admin.purge_library`), its report
printed as JSON."""

from __future__ import annotations

import argparse
import json

from imgorigin.app import open_services
from imgorigin.cli.common import Commands, command, existing_library, library_name
from imgorigin.settings import Settings


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    purge = commands.add_parser(
        "purge",
        parents=[common],
        help="purge cached variants (store, nginx, CDNs) of a library, or of some images; "
        "prints the report as JSON",
    )
    purge.add_argument("--library", required=True, type=library_name)
    which = purge.add_mutually_exclusive_group()
    which.add_argument("--image", dest="images", nargs="+", action="extend", metavar="ID")
    which.add_argument("--key", dest="keys", nargs="+", action="extend", metavar="KEY")
    purge.set_defaults(handler=command(purge_variants))


async def purge_variants(settings: Settings, args: argparse.Namespace) -> None:
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.library)
        report = await services.admin.purge_library(library, images=args.images, keys=args.keys)
    print(json.dumps(report, indent=2))
