"""Work over many items from the command line (`imgorigin import`, `imgorigin warm`):
`concurrency` workers each take the next item as they finish, so nothing reads ahead
of them, and a progress line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO, TypeVar

T = TypeVar("T")

CONCURRENCY = 4


def concurrency_flag(value: str) -> int:
    """`--concurrency`: a whole number from 1 to 64."""
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 64):
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number from 1 to 64")
    return int(value)


class Progress:
    """`label done/total rate/s` on `stream`: redrawn in place on a terminal (at most
    ten times a second), one line per `every` items otherwise (logs, CI)."""

    def __init__(
        self, label: str, total: int, stream: TextIO | None = None, every: int = 100
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.tty = self.stream.isatty()
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.label} {self.done}/{self.total}  {self.done / elapsed:.1f}/s"

    def advance(self) -> None:
        self.done += 1
        last = self.done >= self.total
        if self.tty:
            now = time.monotonic()
            if last or now - self._drawn >= 0.1:
                self._drawn = now
                self._draw()
        elif last or self.done % self.every == 0:
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def note(self, message: str) -> None:
        """A line of its own, above the progress line on a terminal."""
        if self.tty:
            self.stream.write("\r" + " " * self._width + "\r")
        self.stream.write(message + "\n")
        if self.tty and self._width:
            self._draw()
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        text = self.line()
        self.stream.write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))
        self.stream.flush()


async def each(items: Iterable[T], work: Callable[[T], Awaitable[None]], concurrency: int) -> None:
    """`work(item)` for every item, `concurrency` at a time; the first error cancels
    the rest."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # shared: each worker takes the next item
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # the cause, not a group of one


@dataclass
class Tally:
    """What a run did, by outcome, and its failures by error code."""

    counts: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def summary(self, *outcomes: str) -> str:
        parts = [f"{outcome} {self.counts[outcome]}" for outcome in outcomes]
        failures = ", ".join(f"{code} {n}" for code, n in sorted(self.failed.items()))
        parts.append(f"failed {self.failed.total()}" + (f" ({failures})" if failures else ""))
        return ", ".join(parts)
