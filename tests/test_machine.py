"""The CPU count that sizes the defaults, on crafted cgroup trees (v1 and v2), and
what it makes of the worker and render-thread settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgorigin.machine import available_cpus, cgroup_cpu_quota, fit_to_machine
from imgorigin.settings import Settings


def affinity() -> int:
    return len(os.sched_getaffinity(0))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def v2(tmp_path: Path, cgroup: str, limits: dict[str, str]) -> tuple[Path, Path]:
    """A cgroup v2 mount with `cpu.max` in the given folders, and a membership file."""
    root = tmp_path / "cgroup"
    root.mkdir()
    for folder, limit in limits.items():
        write(root / folder / "cpu.max", limit + "\n")
    (root / cgroup.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root, write(tmp_path / "self", f"0::{cgroup}\n")


def test_v2_quota_of_the_process_cgroup(tmp_path: Path) -> None:
    root, self_cgroup = v2(tmp_path, "/app", {"": "max 100000", "app": "150000 100000"})
    assert cgroup_cpu_quota(root, self_cgroup) == 1.5
    assert available_cpus(root, self_cgroup) == min(affinity(), 2)  # rounded up


def test_v2_the_tightest_ancestor_wins(tmp_path: Path) -> None:
    root, self_cgroup = v2(
        tmp_path, "/a/b/c", {"a": "50000 100000", "a/b": "max 100000", "a/b/c": "400000 100000"}
    )
    assert cgroup_cpu_quota(root, self_cgroup) == 0.5
    assert available_cpus(root, self_cgroup) == 1  # never 0


def test_v2_without_a_quota(tmp_path: Path) -> None:
    root, self_cgroup = v2(tmp_path, "/", {"": "max 100000"})
    assert cgroup_cpu_quota(root, self_cgroup) is None
    assert available_cpus(root, self_cgroup) == affinity()


def test_v2_a_host_path_absent_from_the_container_mount(tmp_path: Path) -> None:
    """In a container without a cgroup namespace the path names the host's folder: the
    mount's own cpu.max is the container's quota."""
    root = tmp_path / "cgroup"
    write(root / "cpu.max", "100000 100000")
    self_cgroup = write(tmp_path / "self", "0::/system.slice/docker-abc.scope\n")
    assert cgroup_cpu_quota(root, self_cgroup) == 1.0
    self_cgroup.write_text("0::/../../escape\n")  # nothing outside the mount is read
    write(tmp_path / "escape" / "cpu.max", "10000 100000")
    assert cgroup_cpu_quota(root, self_cgroup) == 1.0


@pytest.mark.parametrize("controllers", ["cpu,cpuacct", "cpu"])
def test_v1_cfs_quota(tmp_path: Path, controllers: str) -> None:
    root = tmp_path / "cgroup"
    mount = root / controllers
    write(mount / "cpu.cfs_quota_us", "-1\n")
    write(mount / "cpu.cfs_period_us", "100000\n")
    write(mount / "docker" / "x" / "cpu.cfs_quota_us", "200000\n")
    write(mount / "docker" / "x" / "cpu.cfs_period_us", "100000\n")
    self_cgroup = write(
        tmp_path / "self", f"2:cpuacct:/docker/x\n1:{controllers}:/docker/x\n0::/\n"
    )
    assert cgroup_cpu_quota(root, self_cgroup) == 2.0
    (mount / "docker" / "x" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(root, self_cgroup) is None
    assert available_cpus(root, self_cgroup) == affinity()


def test_no_cgroup_files(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path, tmp_path / "missing") is None
    assert available_cpus(tmp_path, tmp_path / "missing") == affinity()


def test_damaged_files_are_no_quota(tmp_path: Path) -> None:
    root, self_cgroup = v2(tmp_path, "/", {"": "lots\n"})
    assert cgroup_cpu_quota(root, self_cgroup) is None
    (root / "cpu.max").write_text("0 100000")
    assert cgroup_cpu_quota(root, self_cgroup) is None


@pytest.mark.parametrize(
    ("workers", "renders", "cpus", "expected"),
    [
        (0, 0, 4, (4, 1)),  # the defaults: a worker per CPU, a render thread each
        (0, 0, 1, (1, 1)),
        (1, 0, 4, (1, 4)),  # one worker takes every CPU's render thread
        (3, 0, 4, (3, 1)),
        (8, 0, 2, (8, 1)),  # never 0 render threads
        (0, 3, 2, (2, 3)),  # a chosen count stays
    ],
)
def test_fit_to_machine(workers: int, renders: int, cpus: int, expected: tuple[int, int]) -> None:
    env = {"IMGORIGIN_WORKERS": str(workers), "IMGORIGIN_RENDER_WORKERS": str(renders)}
    fitted = fit_to_machine(Settings.from_env(env), cpus)
    assert (fitted.server.workers, fitted.origin.workers) == expected


def test_the_affinity_bounds_the_count(tmp_path: Path) -> None:
    """A process pinned to one CPU (taskset) counts one, whatever the host has."""
    first = min(os.sched_getaffinity(0))
    counted = subprocess.run(
        [sys.executable, "-c", "from imgorigin.machine import available_cpus as a; print(a())"],
        preexec_fn=lambda: os.sched_setaffinity(0, {first}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert counted.stdout.strip() == "1"
