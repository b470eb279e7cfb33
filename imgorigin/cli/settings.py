"""`imgorigin settings`: every setting with its meaning, as README's table. It reads
no environment, so it works where the settings are wrong."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imgorigin.cli.common import Commands
from imgorigin.settings import settings_markdown

_SETTINGS_START = "<!-- settings:start -->"
_SETTINGS_END = "<!-- settings:end -->"


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    show = commands.add_parser("settings", help="print every setting with its meaning")
    show.add_argument("--markdown", action="store_true", help="as the README's Markdown table")
    show.add_argument("--write", type=Path, help="replace the settings table in this file")
    show.set_defaults(handler=print_settings)


def print_settings(args: argparse.Namespace, argv: list[str]) -> None:
    if args.write:
        write_settings_table(args.write)
    else:
        sys.stdout.write(settings_markdown())


def write_settings_table(path: Path) -> None:
    text = path.read_text()
    head, start, rest = text.partition(_SETTINGS_START)
    _, end, tail = rest.partition(_SETTINGS_END)
    if not start or not end:
        raise SystemExit(f"{path}: no {_SETTINGS_START} ... {_SETTINGS_END} block")
    path.write_text(f"{head}{start}\n{settings_markdown()}{end}{tail}")
