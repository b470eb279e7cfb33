"""Peak memory of a process tree while a load runs, sampled from /proc; and the CPU
time the tree has used, to tell a slow render from one that got less of the machine.

The figure is the largest sum, over one sample, of VmRSS of the process and all of
its descendants (a server's workers, thumbor's forks). Pages shared between processes
(a forked interpreter, shared libraries) count once per process, so for several
processes the sum overstates what they take together; PSS, which splits shared pages
among their users, is sampled alongside for that.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INTERVAL = 0.05  # seconds between samples
MIB = 1024 * 1024


@dataclass
class Peak:
    rss: int = 0  # bytes, the largest sum of VmRSS over the tree in one sample
    pss: int = 0  # bytes, the largest sum of Pss
    processes: int = 0  # in the tree at the largest RSS sample
    samples: int = 0

    @property
    def rss_mib(self) -> float:
        return self.rss / MIB

    @property
    def pss_mib(self) -> float:
        return self.pss / MIB

    def describe(self) -> str:
        tree = f"{self.processes} process{'es' if self.processes != 1 else ''}"
        return f"{self.rss_mib:.0f} MiB RSS ({self.pss_mib:.0f} MiB PSS), {tree}"


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from the parent pids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone since the scan
        # The command name is in parentheses and may hold spaces: split after it.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def machine_state() -> str:
    """Cores and load average, with a warning when other work shares the machine: then
    absolute figures are low, and a target with more runnable threads (raw pyvips at 16
    threads against a server's 2 render threads) gets more than its share of the CPU."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()
    line = f"{cores} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    if load[0] > 0.5 * cores:
        line += " -- !! the machine is busy with other work: figures will be noisy"
    return line


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User and system CPU time used so far by `pid` (and, with `tree`, the processes
    below it; the CPU of children already gone is not counted)."""
    ticks = 0
    for process in descendants(pid) if tree else [pid]:
        try:
            stat = Path(f"/proc/{process}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in bytes; zeros if it is gone."""
    rss = pss = 0
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == "Rss":
            rss = int(rest.split()[0]) * 1024
        elif name == "Pss":
            pss = int(rest.split()[0]) * 1024
    return rss, pss


def sample(pids: list[int], peak: Peak) -> None:
    figures = [memory(pid) for pid in pids]
    rss, pss = sum(r for r, _ in figures), sum(p for _, p in figures)
    peak.samples += 1
    if rss > peak.rss:
        peak.rss, peak.processes = rss, sum(1 for r, _ in figures if r)
    peak.pss = max(peak.pss, pss)


@contextmanager
def sampling(
    pid: int, record: Callable[[list[int]], None], *, tree: bool = True, interval: float = INTERVAL
) -> Iterator[None]:
    """Call `record` with `pid` (and, with `tree`, the processes below it) every
    `interval` seconds while the block runs, and once more after it."""
    stop = threading.Event()

    def processes() -> list[int]:
        return descendants(pid) if tree else [pid]

    def sampler() -> None:
        while True:
            record(processes())
            if stop.wait(interval):
                return

    thread = threading.Thread(target=sampler, name="rss-sampler", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        record(processes())  # one last look, after the load's end


@contextmanager
def peak_rss(pid: int, *, tree: bool = True) -> Iterator[Peak]:
    """Sample `pid` and, with `tree`, the processes below it every INTERVAL for the
    block; the peak after it."""
    peak = Peak()
    with sampling(pid, lambda pids: sample(pids, peak), tree=tree):
        yield peak
