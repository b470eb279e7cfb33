"""How much CPU this process may use: the defaults that size the service to the machine.

`os.cpu_count()` counts the host's cores. A container limited to one CPU by its cgroup
quota, or a process pinned to two cores by `taskset`, would then start a worker per
host core, and each would get a fraction of a CPU. Here the count is the smallest of
the CPUs this process may run on (its affinity) and the cgroup's CPU quota (cgroup v2
`cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), rounded up, as the JVM and Go
runtimes size their thread pools.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from imgorigin.settings import Settings

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")


def available_cpus(cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> int:
    """CPUs this process may use: affinity, then any cgroup quota, at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, self_cgroup)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def cgroup_cpu_quota(cgroup_root: Path, self_cgroup: Path) -> float | None:
    """The tightest CPU quota (in CPUs) over this process' cgroup and its ancestors,
    or None when there is none (or no cgroup file system to read)."""
    try:
        memberships = self_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas: list[float] = []
    for line in memberships:
        # "hierarchy-id:controllers:path"; v2 is "0::path", v1 names its controllers.
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            quotas += _along(cgroup_root, path, _v2_quota)
        elif "cpu" in controllers.split(","):
            mount = cgroup_root / controllers
            quotas += _along(mount if mount.is_dir() else cgroup_root / "cpu", path, _v1_quota)
    return min(quotas, default=None)


def _along(mount: Path, path: str, read: Callable[[Path], float | None]) -> list[float]:
    """The quotas set on the cgroup's folder and each folder above it, up to the mount.

    In a container the path may name the host's hierarchy (cgroup v1, or v2 without a
    cgroup namespace), which the container's mount does not hold: then the mount
    itself is the container's cgroup."""
    folder = Path(os.path.normpath(mount / path.lstrip("/")))
    if not folder.is_dir() or not folder.is_relative_to(mount):
        folder = mount
    quotas = []
    while True:
        if (quota := read(folder)) is not None:
            quotas.append(quota)
        if folder == mount:
            return quotas
        folder = folder.parent


def _v2_quota(folder: Path) -> float | None:
    """cgroup v2 `cpu.max`: "<quota> <period>" in microseconds, or "max <period>"."""
    try:
        quota, period = (folder / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else _ratio(quota, period)


def _v1_quota(folder: Path) -> float | None:
    """cgroup v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us`; a quota of -1 is none."""
    try:
        quota = (folder / "cpu.cfs_quota_us").read_text().strip()
        period = (folder / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def fit_to_machine(settings: Settings, cpus: int | None = None) -> Settings:
    """`settings` with the defaults that size the service resolved: 0 workers is one
    per available CPU, and 0 render threads shares those CPUs among the workers (at
    least one each), so that N workers do not start N render threads each."""
    cpus = cpus or available_cpus()
    workers = settings.server.workers or cpus
    renders = settings.origin.render_workers or max(1, cpus // workers)
    return replace(
        settings,
        server=replace(settings.server, workers=workers),
        origin=replace(settings.origin, render_workers=renders),
    )
