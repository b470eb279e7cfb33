"""`imgorigin sweep`: once, what `serve` does every IMGORIGIN_SWEEP_INTERVAL."""

from __future__ import annotations

import argparse

from imgorigin.app import open_services
from imgorigin.cli.common import Commands, command
from imgorigin.settings import Settings


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    sweep = commands.add_parser(
        "sweep",
        parents=[common],
        help="delete once the pending images older than their library's pending_ttl",
    )
    sweep.set_defaults(handler=command(sweep_pending))


async def sweep_pending(settings: Settings, args: argparse.Namespace) -> None:
    async with open_services(settings) as services:
        swept = await services.admin.sweep()
    print(f"swept {swept} pending image(s)")
