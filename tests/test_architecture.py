"""The layering (README: Architecture) as a test: read every import of procure/ (function-local ones and
those under TYPE_CHECKING included) and fail on a cycle or an edge the layering does not allow."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "procure"

# What each part of procure may import from procure (besides itself). The foundations (config,
# errors, db, money, kinds, documents and the lazy fronts' helper) are open to every part.
FOUNDATIONS = {
    "config",
    "errors",
    "db",
    "money",
    "kinds",
    "documents",
    "results",
    "workfiles",
    "_lazy",
}
ALLOWED: dict[str, set[str]] = {
    "foundations": set(),
    "migrations": {"records"},
    "records": set(),
    "delivery": {"records"},
    "labels": {"records"},
    "quality.stats": set(),
    "quality": {"records", "labels", "quality.stats"},
    "economics": {"quality.stats"},  # the scenario maths, pure
    "economics.measured": {
        "records",
        "delivery",
        "labels",
        "quality",
        "quality.stats",
        "economics",
    },
    "llm": {"records", "labels", "quality", "quality.stats", "economics"},
    "sample": {"records", "labels", "llm"},
    "cli": {"*"},
    "ui": {"*"},
}
PURE = {"quality.stats", "economics"}  # no database layer, no DuckDB
IMPURE_LIBRARIES = {"sqlmodel", "sqlalchemy", "duckdb", "alembic", "streamlit"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The layer a procure module belongs to: its package, with the finer parts named apart."""
    name = module.removeprefix("procure.").removeprefix("procure")
    for special in ("quality.stats", "economics.measured"):
        if name == special or name.startswith(special + "."):
            return special
    head = name.split(".")[0]
    return "foundations" if head in FOUNDATIONS or head == "" else head


def imports(path: Path, package: str | None = None) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports, with the line, wherever the import statement stands
    (``package``, the one a relative import starts from, defaults to the file's own)."""
    package = package or ".".join(path.parent.relative_to(ROOT).parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # ``from procure.x import submodule``
                candidate = f"{target}.{alias.name}"
                if (ROOT / candidate.replace(".", "/")).with_suffix(".py").exists():
                    yield candidate, node.lineno


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "versions" not in p.parts)


def procure_edges() -> Iterator[tuple[str, str, str]]:
    for path in SOURCES:
        source = module_name(path)
        for target, line in imports(path):
            if target == "procure" or target.startswith("procure."):
                yield source, target, f"{path.relative_to(ROOT)}:{line}"


def test_every_import_follows_the_layering() -> None:
    wrong = []
    for source, target, where in procure_edges():
        if target.startswith(source + "."):
            continue  # a package front naming its own modules
        mine, theirs = part_of(source), part_of(target)
        allowed = ALLOWED[mine]
        if theirs in (mine, "foundations") or "*" in allowed or theirs in allowed:
            continue
        wrong.append(f"{where}: {mine} imports {target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for source, target, _ in procure_edges():
        if target != source:
            graph.setdefault(source, set()).add(target)
    # A package imports its modules through its front: an edge to ``procure.x`` is one to its
    # __init__, whose own imports are in the graph as they are written.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_libraries_stay_in_their_layer(path: Path) -> None:
    part = part_of(module_name(path))
    used = {target.split(".")[0] for target, _ in imports(path)}
    if part != "ui":
        assert "streamlit" not in used, "streamlit is imported only in procure/ui"
    if part in PURE:
        assert not used & IMPURE_LIBRARIES, f"{part} is pure: no {used & IMPURE_LIBRARIES}"


def test_pages_and_the_app_import_only_package_fronts() -> None:
    fronts = {module_name(p.parent) for p in PACKAGE.glob("*/__init__.py")} | {
        f"procure.{name}" for name in FOUNDATIONS
    }
    deep = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for target, line in imports(path):
            top = ".".join(target.split(".")[:2])
            if (target.startswith("procure.") and target != top and top != "procure.ui") or (
                target.startswith("procure.") and top not in fronts
            ):
                deep.append(f"{path.name}:{line}: {target}")
    assert deep == []


@pytest.mark.parametrize(
    "front", sorted(PACKAGE.glob("*/__init__.py")), ids=lambda p: p.parent.name
)
def test_a_front_name_never_shadows_a_module(front: Path) -> None:
    """Importing ``procure.x.name`` sets ``procure.x.name`` to the module, hiding a front's name."""
    package = __import__(module_name(front.parent), fromlist=["__all__"])
    modules = {p.stem for p in front.parent.glob("*.py")} | {
        p.parent.name for p in front.parent.glob("*/__init__.py")
    }
    assert set(getattr(package, "__all__", [])) & modules == set()


def test_a_relative_import_is_resolved_from_its_package(tmp_path: Path) -> None:
    source = "from ..records import models\nfrom .results import Agreement\nfrom . import files\n"
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    found = [target for target, _ in imports(probe, package="procure.quality")]
    assert "procure.records.models" in found and "procure.quality.results" in found
    assert "procure.quality.files" in found
