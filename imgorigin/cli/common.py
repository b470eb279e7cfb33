"""What the commands share: how a command is declared and run, its settings, its
errors, and the argument types and printing more than one command uses."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeAlias

from catalog import UNAVAILABLE as CATALOG_UNAVAILABLE
from catalog import Catalog, InvalidName, Library, check_library_name
from imgorigin.app import open_catalog
from imgorigin.server import configure_logging
from imgorigin.settings import Settings
from storage import StoreUnavailable

# What a command's subparser runs (its `handler` default): the parsed arguments and
# the command line as given; the exit status, or None for 0.
Handler: TypeAlias = Callable[[argparse.Namespace, list[str]], int | None]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Work: TypeAlias = Coroutine[Any, Any, int | None]


class CommandError(Exception):
    """What the command cannot do, as one line for stderr, and the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the command line's server flags over them."""
    settings = Settings.from_env()
    overrides = {
        name: getattr(args, name)
        for name in ("data_dir", "host", "origin_port", "admin_port", "workers")
        if getattr(args, name, None) is not None
    }
    return replace(settings, server=replace(settings.server, **overrides)).validated()


def load_settings(args: argparse.Namespace) -> Settings:
    """`settings_from`, a bad value ending the command with its message."""
    try:
        return settings_from(args)
    except ValueError as exc:
        raise SystemExit(f"imgorigin: {exc}") from None


def command(work: Callable[[Settings, argparse.Namespace], Work]) -> Handler:
    """The handler of a command that works on the services: settings, logging, then
    `work` on an event loop of its own, through `run`."""

    def handler(args: argparse.Namespace, argv: list[str]) -> int | None:
        settings = load_settings(args)
        configure_logging(settings)
        return run(work(settings, args))

    return handler


def run(work: Work) -> int | None:
    """Run a command; what it cannot do (or what is down) is a line on stderr and an
    exit status, not a traceback."""
    try:
        return asyncio.run(work)
    except CommandError as exc:
        print(f"imgorigin: {exc}", file=sys.stderr)
        return exc.status
    except (StoreUnavailable, *CATALOG_UNAVAILABLE) as exc:
        print(f"imgorigin: unavailable, try again: {exc!r}", file=sys.stderr)
        return 1


@asynccontextmanager
async def migrated_catalog(settings: Settings) -> AsyncIterator[Catalog]:
    """The catalog alone, its migrations applied: for the commands that need no store."""
    async with open_catalog(settings) as catalog:
        await catalog.migrate()
        yield catalog


async def existing_library(catalog: Catalog, name: str) -> Library:
    library = await catalog.libraries.get(name)
    if library is None:
        raise CommandError(f"no library {name!r}")
    return library


def library_name(value: str) -> str:
    try:
        return check_library_name(value)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def moment(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
