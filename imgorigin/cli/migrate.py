"""`imgorigin migrate`: apply the migrations the database has not had."""

from __future__ import annotations

import argparse

from imgorigin.app import open_catalog
from imgorigin.cli.common import Commands, command
from imgorigin.settings import Settings


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    migrate = commands.add_parser("migrate", parents=[common], help="apply new database migrations")
    migrate.set_defaults(handler=command(apply_migrations))


async def apply_migrations(settings: Settings, args: argparse.Namespace) -> None:
    async with open_catalog(settings) as catalog:
        applied = await catalog.migrate()
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
