"""Cold renders over a set of targets (workloads 1, 2 and 5 of the suite): sequential
latency, requests/s at a number of connections, and peak memory while the most
connections render.

Every request is a new variant: a new (copy, width) pair, the width varied within a
range where libvips decodes the JPEG at the same scale (its shrink-on-load leaves at
least a factor of two for the resize: 6000 px at 1/2 for widths 750-1500, 1200 px at
1/2 for 150-300; the photos' 16 widths from their target keep 2048-4032 px at 1/2),
so every request costs the same work. Targets take turns, each on
its own sequence of pairs: in the sequential part request by request, in the
concurrent part run by run, so that all of them see the same machine.
"""

from __future__ import annotations

import functools
import math
import os
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath

from bench.client import ms, p, session, upload
from bench.load import Rate
from bench.processes import Server
from bench.rss import Peak
from bench.source import MIME, copy_name
from bench.targets import Http, Pair, Target, pairs
from origin.spec import OutputFormat

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))  # sequential renders per target
# The length of a concurrent run: 4 s keeps `make bench` near 10 minutes on 2 cores.
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
BIG_WIDTHS = range(800, 900)
SMALL_WIDTHS = range(300, 200, -1)
PHOTO_WIDTHS = 16  # from the target width up


@dataclass(frozen=True)
class Workload:
    title: str
    fmt: OutputFormat
    source: str  # a file name of bench.source: "big.jpg" (6000x4000), a photo's
    widths: range
    sequential: bool
    connections: tuple[int, ...]
    memory_at: int | None = None  # connections at which to sample peak memory
    # A bound on requests per run: `seconds` times this; set well above any rate seen.
    per_second: int = 40
    label: str = ""  # short, for the summary's rows

    @property
    def heic(self) -> bool:
        return self.source.endswith(".heic")

    def cap(self, seconds: float) -> int:
        return max(20, int(seconds * self.per_second))

    def copies(self, rounds: int, seconds: float) -> int:
        """Copies of the source the variants need: one for warming up, and enough
        for one target's sequential rounds and runs at the cap."""
        asks = (rounds if self.sequential else 0) + len(self.connections) * self.cap(seconds)
        return 1 + math.ceil(asks / len(self.widths))


def big(fmt: OutputFormat, connections: tuple[int, ...], memory_at: int | None) -> Workload:
    title = f"6000x4000 JPEG -> w=800 {fmt.value}"
    label = f"24MP {fmt.value}"
    return Workload(title, fmt, "big.jpg", BIG_WIDTHS, True, connections, memory_at, label=label)


def small(connections: int) -> Workload:
    return Workload(
        f"1200x800 JPEG -> w=300 {OutputFormat.WEBP.value}",
        OutputFormat.WEBP,
        "small.jpg",
        SMALL_WIDTHS,
        False,
        (connections,),
        per_second=400,
        label="small 1200x800->300 webp",
    )


def photo(
    source: str,
    fmt: OutputFormat,
    width: int,
    connections: tuple[int, ...],
    *,
    sequential: bool = False,
    per_second: int = 40,
) -> Workload:
    """A real photo of bench.source.PHOTOS -> w=`width` (and the next 15 widths)."""
    kind = "HEIC" if source.endswith(".heic") else "JPEG"
    name = source.rsplit(".", 1)[0]
    return Workload(
        f"{source} ({kind}) -> w={width} {fmt.value}",
        fmt,
        source,
        range(width, width + PHOTO_WIDTHS),
        sequential,
        connections,
        per_second=per_second,
        label=f"{name}->{width} {fmt.value}",
    )


def suite(photos: bool) -> dict[str, Workload]:
    """The cold-render workloads of both benches (issues #8 and #17), by name; the
    real photos' only when `photos` (they live outside the repository)."""
    formats = (OutputFormat.WEBP, OutputFormat.JPG, OutputFormat.AVIF)
    workloads = {fmt.value: big(fmt, (4, 16), memory_at=16) for fmt in formats}
    workloads["small"] = small(16)
    if not photos:
        return workloads
    for source in ("phone-4032x3024.jpg", "phone-3264x2448.jpg"):
        for fmt in formats:
            # The sequential p50 once per format, on the 12 MP photo.
            one = photo(source, fmt, 800, (4, 16), sequential=source.startswith("phone-4032"))
            workloads[one.label] = one
    for source in ("camera-2048x1536-orient6.jpg", "trailcam-2048x1536.jpg"):
        thumb = photo(source, OutputFormat.WEBP, 300, (16,), per_second=100)
        workloads[thumb.label] = thumb
    # HEVC decodes whole-size, at a few a second: 4 connections keep both cores busy.
    for source in ("phone-3024x4032.heic", "phone-2566x3313.heic"):
        heic = photo(source, OutputFormat.JPG, 800, (4,), per_second=20)
        workloads[heic.label] = heic
    return workloads


def copies_needed(
    workloads: Iterable[Workload], rounds: int = ROUNDS, seconds: float = SECONDS
) -> dict[str, int]:
    """Copies of each source the workloads need (run with these rounds and seconds)."""
    needed: dict[str, int] = {}
    for w in workloads:
        needed[w.source] = max(needed.get(w.source, 0), w.copies(rounds, seconds))
    return needed


async def upload_copies(
    server: Server,
    sources: dict[str, bytes],
    prefix: str,
    workloads: Iterable[Workload],
    rounds: int = ROUNDS,
    seconds: float = SECONDS,
) -> None:
    """Each source under as many keys as the workloads need: other image ids of the
    same bytes, so other variants of the same work."""
    async with session() as client:
        for source, count in copies_needed(workloads, rounds, seconds).items():
            mime = MIME[PurePath(source).suffix]
            for copy in range(count):
                key = f"{prefix}/{copy_name(source, copy)}"
                await upload(client, server, key, sources[source], mime)


def origin_urls(server: Server, prefix: str) -> Callable[[OutputFormat, str, Pair], str]:
    """The origin's URL of a (copy, width) of a source in a format, as a peer's."""

    def url(fmt: OutputFormat, source: str, pair: Pair) -> str:
        key = f"{prefix}/{copy_name(source, pair[0])}"
        return f"{server.origin}/demo/{key}?w={pair[1]}&fm={fmt.value}"

    return url


def origin_target(name: str, server: Server, prefix: str, workload: Workload) -> Http:
    url = functools.partial(origin_urls(server, prefix), workload.fmt, workload.source)
    return Http(name, url, server.pid, expected="MISS")


@dataclass
class Figures:
    """One target's figures in one workload."""

    times: list[float] = field(default_factory=list)  # sequential, seconds
    size: int = 0  # bytes of the first sequential render (the lowest width of the range)
    rates: dict[int, Rate] = field(default_factory=dict)  # by connections
    cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds of each run
    peak: Peak | None = None  # at the workload's memory_at

    def cpu_per_render(self, connections: int) -> float:
        """CPU seconds a render at that many connections: unlike the rate, it does not
        move with the share of a busy machine the renderer got."""
        return self.cpu[connections] / max(1, self.rates[connections].done)

    @property
    def p50(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        return p(self.times, 0.95)


async def run(
    workload: Workload, targets: list[Target], rounds: int, seconds: float
) -> dict[str, Figures]:
    """The workload over the targets, printed as it goes; figures by target name."""
    copies = workload.copies(rounds, seconds)
    # Copy 0 is for warming up; each target's sequence starts at copy 1.
    variants: dict[str, Iterator[Pair]] = {
        t.name: (pair for pair in pairs(copies, workload.widths) if pair[0] > 0) for t in targets
    }
    figures = {t.name: Figures() for t in targets}
    async with session() as client:
        for target in targets:
            await target.once(client, (0, workload.widths[0]))  # first-render costs
        if workload.sequential:
            for _ in range(rounds):
                for target in targets:
                    seconds_taken, size = await target.once(client, next(variants[target.name]))
                    figures[target.name].times.append(seconds_taken)
                    figures[target.name].size = figures[target.name].size or size
    for connections in workload.connections:
        for target in targets:
            mine = figures[target.name]
            load = target.load(variants[target.name], connections, seconds, workload.cap(seconds))
            cpu = target.cpu()
            if connections == workload.memory_at:
                with target.memory() as peak:
                    mine.rates[connections] = await load
                mine.peak = peak
            else:
                mine.rates[connections] = await load
            mine.cpu[connections] = target.cpu() - cpu
    print_figures(workload, rounds, seconds, targets, figures)
    return figures


def print_figures(
    workload: Workload,
    rounds: int,
    seconds: float,
    targets: list[Target],
    figures: dict[str, Figures],
) -> None:
    width = max(len(name) for name in figures)
    print(f"cold renders, {workload.title}, each request a new variant")
    if workload.sequential:
        print(f"  sequential, {rounds} rounds, targets in turn")
        for name, f in figures.items():
            print(f"    {name:<{width}}  p50 {ms(f.p50)}  p95 {ms(f.p95)}  {f.size:>7} B")
    for connections in workload.connections:
        print(f"  {connections} connections, {seconds:g} s a run, targets in turn")
        for name, f in figures.items():
            r = f.rates[connections]
            share = f.cpu[connections] / r.seconds
            print(
                f"    {name:<{width}}  {r.rate:7.1f} req/s  ({r.done} in {r.seconds:.1f} s;"
                f" CPU {share:.0%} of a core, {f.cpu_per_render(connections) * 1000:.0f} ms"
                " a render)"
            )
    if workload.memory_at is not None:
        print(f"  peak memory at {workload.memory_at} connections, sampled every 50 ms")
        for name, f in figures.items():
            assert f.peak is not None
            print(f"    {name:<{width}}  {f.peak.describe()}")
    for target in targets:
        for connections, rate in figures[target.name].rates.items():
            if unexpected := rate.unexpected(target.expected):
                print(f"  !! {target.name}, {connections} connections: {unexpected}")
