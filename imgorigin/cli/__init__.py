"""The `imgorigin` command: serve, migrate, keys, libraries, import, warm, purge, sweep,
signing, sign, settings, nginx-config."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from imgorigin.cli import (
    importing,
    keys,
    libraries,
    migrate,
    nginx_config,
    purge,
    serve,
    settings,
    sign,
    signing,
    sweep,
    warm,
)
from imgorigin.cli.common import Commands, settings_from

__all__ = ["main", "parser", "settings_from"]

# Each module declares its command (or its group of subcommands) with the handler
# each runs; `imgorigin --help` lists them in this order.
COMMANDS: tuple[Callable[[Commands, argparse.ArgumentParser], None], ...] = (
    serve.declare,
    migrate.declare,
    keys.declare,
    libraries.declare,
    importing.declare,
    warm.declare,
    purge.declare,
    sweep.declare,
    signing.declare,
    sign.declare,
    nginx_config.declare,
    settings.declare,
)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, help="data folder (default: $IMGORIGIN_DATA_DIR or ./data)"
    )
    root = argparse.ArgumentParser(prog="imgorigin", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for declare in COMMANDS:
        declare(commands, common)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    status = args.handler(args, sys.argv[1:] if argv is None else argv)
    if status:
        raise SystemExit(status)
