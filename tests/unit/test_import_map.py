"""The house rules, read from the import map of the product packages (docs/architecture.md).

The map is built from the source with `ast` — nothing is imported, so no import side effects —
and holds every import, at module level or inside a function (a lazy import is still an arrow).
It fails on any import circle, on an arrow across the layers the wrong way, and on any module
other than the composition root (service/runtime.py) that opens the event log, the store,
the side tables or the projector.

Modules are named here by their room (`graph.model`); the installed names carry the one
distribution package in front (`lineage_kg.graph.model`, pyproject.toml's package-dir).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("graph", "ingest", "queries", "api", "cli")  # each a top-level folder
PRODUCT = ("service", *ROOMS)  # service/ is the package lineage_kg itself
PACKAGE = "lineage_kg"
RUNTIME = "lineage_kg.runtime"


def _short(name: str) -> str:
    """`lineage_kg.graph.model` -> `graph.model`: a room's modules by the room's name."""
    head, _, rest = name.partition(".")
    return rest if head == PACKAGE and rest.split(".")[0] in ROOMS else name


# what each room may not import (a prefix match on the imported module)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "graph": ("ingest", "queries", "api", "cli", "lineage_kg", "benchmarks", "tools"),
    "ingest": ("queries", "api", "cli", "lineage_kg", "benchmarks", "tools"),
    "queries": ("ingest", "api", "cli", "lineage_kg", "benchmarks", "tools"),
    "lineage_kg": ("api", "cli", "benchmarks", "tools"),
    "api": ("cli", "benchmarks", "tools"),
    "cli": ("benchmarks", "tools"),
}
# The lazy arrows to the unshipped parts of a source checkout, each saying so clearly when it
# is missing: `lkg generate` (the synthetic generator), `lkg neo4j` (the dev launcher).
OPTIONAL = {
    (_short(a), _short(b))
    for a, b in (
        ("lineage_kg.cli.generate", "benchmarks.synthetic.write"),
        ("lineage_kg.cli.service", "tools.neo4j_server"),
        # `lkg bulk-load`: the importer and the launcher (cli/admin.py says so when missing;
        # cli/bulk.py is reached only from there)
        ("lineage_kg.cli.admin", "tools.neo4j_import"),
        ("lineage_kg.cli.bulk", "tools.neo4j_import"),
        ("lineage_kg.cli.bulk", "tools.neo4j_server"),
    )
}
# Calls that open a part of the service; only the composition root makes them (the stores'
# own factory builds the store classes, the sources' registry the side projections).
OPENERS: dict[str, set[str]] = {
    "EventLog": {RUNTIME},
    "open_store": {RUNTIME},
    "Projector": {RUNTIME},
    "side_projections": {RUNTIME},
    "Neo4jStore": {"lineage_kg.graph.factory"},
    "EmbeddedStore": {"lineage_kg.graph.factory"},
    "DecisionProjection": {"lineage_kg.ingest.sources"},
    "DecisionTable": {"lineage_kg.ingest.decisions.projection"},
    "ChangeProjection": {"lineage_kg.ingest.sources"},
    "Outbox": {"lineage_kg.ingest.notifications.projection"},
    "GovernanceLog": {RUNTIME},
    "GovernanceWatch": {RUNTIME},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    parts = (PACKAGE, *parts[1:]) if parts[0] == "service" else parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = ast.parse(path.read_text(), str(path))
    return found


def _imported(name: str, tree: ast.Module) -> Iterator[str]:
    is_package = (ROOT / name.replace(".", "/") / "__init__.py").is_file()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (_short(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                package = name.split(".")
                package = package if is_package else package[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from pkg import module` is an arrow to the module; else to pkg
                yield _short(f"{base}.{alias.name}")
                yield _short(base)


@cache
def import_map() -> dict[str, set[str]]:
    """module -> the product (and benchmark) modules it imports."""
    known = set(modules())
    arrows: dict[str, set[str]] = {}
    for name, tree in modules().items():
        targets = set()
        for target in _imported(name, tree):
            if target in known or (
                target.split(".")[0] in ("benchmarks", "tools") and _is_module(target)
            ):
                targets.add(target)
        targets.discard(name)
        arrows[name] = targets
    return arrows


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _room(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def test_the_map_covers_every_room() -> None:
    rooms = {_room(m) for m in modules()}
    assert rooms == {PACKAGE, *ROOMS}
    assert RUNTIME in modules()


def test_no_import_circles() -> None:
    # Tarjan's strongly connected components over the module graph
    graph = {m: {t for t in ts if t in modules()} for m, ts in import_map().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == [], f"import circles: {circles}"


def test_arrows_point_down() -> None:
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in import_map().items()
        for target in targets
        if (source, target) not in OPTIONAL
        and any(
            target == room or target.startswith(room + ".") for room in FORBIDDEN[_room(source)]
        )
    )
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


def _openers_called(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, name) of every call in `tree` that opens a part of the service."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = (
            func.id
            if isinstance(func, ast.Name)
            else func.value.id
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            else None
        )
        if called in OPENERS:
            yield node.lineno, called


def test_only_the_composition_root_opens_the_service() -> None:
    found = [
        f"{name}:{line} calls {called}"
        for name, tree in modules().items()
        for line, called in _openers_called(tree)
        if name not in {_short(m) for m in OPENERS[called]}
    ]
    assert found == [], "opened outside the composition root:\n" + "\n".join(found)


# What a benchmark still opens itself, and why; everything else it asks the composition root
# for (`Runtime.open(settings, store=...)`, `open_log_at`), as the service does.
BENCHMARKS_OPEN_THEMSELVES = {
    # scratch stores that check names while an estate is loaded; never the service's store
    ("benchmarks.synthetic.load", "EmbeddedStore"),
}


def test_benchmarks_open_the_service_through_the_composition_root() -> None:
    found, used = [], set()
    for path in sorted((ROOT / "benchmarks").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for line, called in _openers_called(ast.parse(path.read_text(), str(path))):
            if (name, called) in BENCHMARKS_OPEN_THEMSELVES:
                used.add((name, called))
            else:
                found.append(f"{name}:{line} calls {called}")
    assert found == [], "a benchmark opened a part itself:\n" + "\n".join(found)
    assert ("benchmarks.synthetic.load", "EmbeddedStore") in used  # the scan sees benchmarks


def test_each_data_file_is_named_once() -> None:
    """The files of the data dir: each name written in one module, imported where needed."""
    owners = {
        "events.sqlite3": [RUNTIME],
        "decisions.sqlite3": ["ingest.decisions.projection"],
        "outbox.sqlite3": ["ingest.notifications.projection"],
        "keys.sqlite3": ["api.auth"],
        "governance.sqlite3": [RUNTIME],
    }
    named = {
        file: sorted(
            name
            for name, tree in modules().items()
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value == file
        )
        for file in owners
    }
    assert named == owners


def _package_dirs() -> dict[str, Path]:
    """Every package of the product (installed name -> folder)."""
    found = {}
    for room in PRODUCT:
        for init in sorted((ROOT / room).rglob("__init__.py")):
            name = _module_name(init)
            found[name if name.startswith(PACKAGE) else f"{PACKAGE}.{name}"] = init.parent
    return found


def test_the_wheel_holds_one_package_with_every_room() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(setuptools["packages"]) == set(_package_dirs())
    assert setuptools["package-dir"] == {PACKAGE: "service"} | {f"{PACKAGE}.{r}": r for r in ROOMS}


def test_imports_name_the_one_package() -> None:
    """A room imported by its bare name (`graph.model`) would be a second copy of the module
    beside `lineage_kg.graph.model`: everything, tests and benchmarks too, uses the long name."""
    bare = []
    for folder in (*PRODUCT, "tests", "benchmarks", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else []
                )
                bare += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {n}"
                    for n in names
                    if n.split(".")[0] in ROOMS
                ]
    assert bare == []


def _reach(start: str) -> set[str]:
    """Every product module `start` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for target in import_map().get(todo.pop(), set()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_shared_ingest_parts_need_no_openlineage_mapper() -> None:
    """The SQL lineage (dbt, Feast and OpenLineage use it) and the facet readers sit beside
    the sources, not inside one: they reach nothing of ingest/openlineage/."""
    for shared in ("ingest.sql_lineage", "ingest.facets"):
        assert shared in modules()
        inside = sorted(m for m in _reach(shared) if m.startswith("ingest.openlineage"))
        assert inside == [], f"{shared} reaches {inside}"
