"""README's Architecture rules, checked on the syntax tree of every module: which of
our packages each package may import, what the render pipeline may import, and who
may know a blob backend or the HTTP server. Imports inside functions and under
TYPE_CHECKING count too: a dependency is one wherever it is written.

A new package needs a row here and in README's table; a rule broken on purpose
should be changed here, in README and in DESIGN.md together.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ANY = frozenset({"*"})

# What each package may import of ours (DESIGN.md's "Components and their homes").
MAY_IMPORT: dict[str, frozenset[str]] = {
    "storage": frozenset(),
    "catalog": frozenset(),
    "migrations": frozenset(),
    "cache": frozenset({"storage"}),
    "origin": frozenset({"cache", "storage", "catalog"}),
    "admin_api": frozenset({"catalog", "storage", "cache", "origin"}),
    "imgorigin": frozenset({"origin", "cache", "storage", "catalog", "admin_api"}),
    "bench": frozenset(
        {"origin", "cache", "storage", "catalog", "admin_api", "imgorigin", "tests"}
    ),
    "tests": ANY,
}
# The render pipeline is pure pixel work: it knows the spec and the typed errors, not
# HTTP, the catalog, the caches or the stores.
PIPELINE = "origin.pipeline"
PIPELINE_MAY_IMPORT = ("origin.spec", "origin.errors", PIPELINE)
# Only these may name a blob backend (storage.s3, storage.filesystem, ...); everyone
# else holds the BlobStore protocol the package `storage` exports.
BACKEND_KNOWERS = frozenset({"storage", "imgorigin", "bench", "tests"})
# Know no HTTP server (DESIGN: "nothing in storage/ or catalog/ knows HTTP").
NO_HTTP_SERVER = frozenset({"storage", "catalog", "migrations"})


@cache
def our_packages() -> frozenset[str]:
    """Every top-level Python package of the repository, and the two folders of code
    that are not installed."""
    found = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    return frozenset(found | {"tests", "bench"})


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


@cache
def imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of each import: `from a import b` names `a.b` when b is a
    module of ours or anything of another's (`aiohttp.web`), else `a`; relative
    imports are made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                name = f"{base}.{alias.name}" if base else alias.name
                ours = base.partition(".")[0] in our_packages()
                found.append((node.lineno, name if not ours or _is_module(name) else base))
    return found


def found(package: str, broken: Callable[[str, str], bool]) -> list[str]:
    """`file:line imports name` for each import of `package`'s modules that `broken`
    says breaks a rule."""
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in modules(package)
        for line, name in imports(module, path)
        if broken(module, name)
    ]


def test_every_package_has_a_row() -> None:
    missing = our_packages() - set(MAY_IMPORT)
    assert not missing, f"add {sorted(missing)} to MAY_IMPORT and README's Architecture"


@pytest.mark.parametrize("package", sorted(our_packages()))
def test_packages_import_only_what_their_row_allows(package: str) -> None:
    allowed, ours = MAY_IMPORT[package], our_packages()

    def broken(_module: str, name: str) -> bool:
        top = name.partition(".")[0]
        return top in ours and top != package and allowed is not ANY and top not in allowed

    assert found(package, broken) == []


def test_the_pipeline_imports_only_the_spec_and_the_errors() -> None:
    def broken(module: str, name: str) -> bool:
        if not module.startswith(PIPELINE):
            return False
        top = name.partition(".")[0]
        return (top in our_packages() or top == "aiohttp") and not any(
            name == allowed or name.startswith(allowed + ".") for allowed in PIPELINE_MAY_IMPORT
        )

    assert found("origin", broken) == []


@pytest.mark.parametrize("package", sorted(our_packages() - BACKEND_KNOWERS))
def test_only_storage_and_the_composition_root_know_a_blob_backend(package: str) -> None:
    assert found(package, lambda _m, name: name.startswith("storage.")) == []


@pytest.mark.parametrize("package", sorted(NO_HTTP_SERVER & our_packages()))
def test_storage_and_catalog_know_no_http_server(package: str) -> None:
    assert found(package, lambda _m, name: name.startswith("aiohttp.web")) == []


def test_no_module_imports_itself_back() -> None:
    """No cycle of imports between our modules (every import counts, so a cycle may
    not hide under TYPE_CHECKING or in a function): each module can be read, and
    tested, after the ones it uses. A package's __init__ re-exporting its modules is
    no cycle: `from storage.base import X` is an import of storage.base alone."""
    graph = {
        module: {name for _, name in imports(module, path) if name != module}
        for package in our_packages() - {"tests", "bench"}
        for module, path in modules(package)
    }
    cycles = [sorted(group) for group in _strongly_connected(graph) if len(group) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's groups of modules that reach each other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for used in graph[module] & graph.keys():
            if used not in index:
                visit(used)
                low[module] = min(low[module], low[used])
            elif used in stack:
                low[module] = min(low[module], index[used])
        if low[module] == index[module]:
            group: list[str] = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            groups.append(group)

    for module in graph:
        if module not in index:
            visit(module)
    return groups


def test_every_form_of_import_is_seen(tmp_path: Path) -> None:
    """The rules are only as good as the reading of imports."""
    source = tmp_path / "store.py"
    source.write_text(
        "import origin.spec\nfrom origin.pipeline import steps\nfrom origin import nothing\n"
        "from . import resolver\nfrom .resolver import Resolver\n"
        "from aiohttp import web, ClientError\n"
        "def late():\n    from cache import variant_key\n"
    )
    assert [name for _, name in imports("catalog.store", source)] == [
        "origin.spec",
        "origin.pipeline.steps",
        "origin",
        "catalog.resolver",
        "catalog.resolver",
        "aiohttp.web",
        "aiohttp.ClientError",
        "cache",
    ]


def test_readme_states_these_rules() -> None:
    """README's Architecture table has one row per package, with this module's rule."""
    section = README.read_text().split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)/` \|[^|]*\| ([^|]*) \|$", section, re.MULTILINE)
    stated = {
        package: ANY if "everything" in rule else frozenset(re.findall(r"`(\w+)`", rule))
        for package, rule in rows
    }
    assert stated == MAY_IMPORT
