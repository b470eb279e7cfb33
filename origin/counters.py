"""Counts of what the origin serves, per library: renders and hits.

Counting is a dict increment in this process (one event loop: no lock), so the
serving path never writes anywhere. A background task adds the counts gathered to
PostgreSQL's `library_counters` every IMGORIGIN_STATS_FLUSH_INTERVAL seconds and once
more at shutdown, so the table holds the whole fleet's totals. A flush that fails is
logged and its counts kept for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import UTC, datetime

from cache import Outcome
from catalog import Stats

log = logging.getLogger(__name__)


class ServeCounters:
    """Per library id: variants rendered (MISS) and served without a render of their
    own (HIT from the store, or COALESCED onto another request's render)."""

    def __init__(self, stats: Stats, interval: float) -> None:
        self._stats = stats
        self._interval = interval
        self.started = datetime.now(UTC)
        self._renders: Counter[int] = Counter()
        self._hits: Counter[int] = Counter()
        # What a flush under way is adding: still this process's own until it commits.
        self._flushing: dict[int, tuple[int, int]] = {}
        self._flush_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def count(self, library_id: int, outcome: Outcome) -> None:
        """One variant served; the serving path's only cost."""
        if outcome is Outcome.MISS:
            self._renders[library_id] += 1
        else:
            self._hits[library_id] += 1

    def unflushed(self, library_id: int) -> tuple[int, int]:
        """(renders, hits) of the library that this process has not added yet."""
        renders, hits = self._flushing.get(library_id, (0, 0))
        return renders + self._renders[library_id], hits + self._hits[library_id]

    async def flush(self) -> bool:
        """Add what was counted to the catalog; False (logged, counts kept) on failure."""
        async with self._flush_lock:
            ids = set(self._renders) | set(self._hits)
            if not ids:
                return True
            # Taken in one step: counts made during the write go to fresh counters.
            self._flushing = {i: (self._renders[i], self._hits[i]) for i in ids}
            self._renders, self._hits = Counter(), Counter()
            try:
                await self._stats.add_counts(self._flushing)
            except BaseException as exc:
                for library_id, (renders, hits) in self._flushing.items():
                    self._renders[library_id] += renders
                    self._hits[library_id] += hits
                if not isinstance(exc, Exception):
                    raise
                log.warning("serving counts not flushed, kept for the next try: %r", exc)
                return False
            finally:
                self._flushing = {}
            return True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="serve-counters")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            await self.flush()

    async def close(self) -> None:
        """Stop the flusher after one last flush (of everything counted until now)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        else:
            await self.flush()
