"""`imgorigin serve`: the origin and the admin API, in one process or several."""

from __future__ import annotations

import argparse

from imgorigin.cli.common import Commands, load_settings
from imgorigin.server import DEMO_LIBRARY, configure_logging, serve


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    command = commands.add_parser("serve", parents=[common], help="run the origin and admin API")
    command.add_argument("--host", help="address to bind (default 127.0.0.1)")
    command.add_argument("--origin-port", type=int, help="public origin port (default 8080)")
    command.add_argument("--admin-port", type=int, help="admin API port (default 8081)")
    command.add_argument(
        "--workers",
        type=int,
        help="processes sharing the ports (default: one per available CPU, cgroup quota included)",
    )
    command.add_argument(
        "--demo",
        action="store_true",
        help=f"create library {DEMO_LIBRARY!r} and print a fresh admin key for it "
        "(the previous one printed this way is revoked)",
    )
    command.set_defaults(handler=run_server)


def run_server(args: argparse.Namespace, argv: list[str]) -> None:
    settings = load_settings(args)
    configure_logging(settings)
    serve(settings, args.demo)
