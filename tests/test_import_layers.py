"""The house rule on imports: no cycles, and every import points down the floors declared below.

The import graph is read from the source (ast), every `onegate` import counted: at module level, inside
functions, and under `TYPE_CHECKING`, because an import hidden in a function is still a dependency.
docs/ARCHITECTURE.md draws the same floors; `test_the_architecture_doc_draws_these_floors` keeps it so.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# Bottom to top. A module may import from its own floor (without a cycle) or any floor below.
# An entry names a package or module; the longest entry that contains a module gives its floor.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "onegate",  # the package itself (its version) only
            "onegate.errors",
            "onegate.redaction",
            "onegate.logsafe",
            "onegate.outages",
            "onegate.i18n",
            "onegate.settings",
            "onegate.apikeys",
            "onegate.surfaces",
            "onegate.sse",
            "onegate.accounting.usage",
            "onegate.accounting.money",
            "onegate.accounting.pricing",
            "onegate.accounting.periods",
        ),
    ),
    # the video task store and its callbacks' delivery log sit low so the management service reads them
    ("storage", ("onegate.store", "onegate.counters", "onegate.media.tasks")),
    ("translation", ("onegate.dialects", "onegate.diagnosis", "onegate.setup", "onegate.doctor.evidence")),
    (
        "request",
        (
            "onegate.context",
            "onegate.asgi",
            "onegate.keys",
            "onegate.accounting",
            "onegate.providers",
            "onegate.channels",
            "onegate.observe",
            "onegate.media.webhooks",
        ),
    ),
    ("pipeline", ("onegate.pipeline",)),
    ("management", ("onegate.manage",)),
    (
        "handlers",
        ("onegate.server", "onegate.admin", "onegate.media", "onegate.observe.endpoints", "onegate.console"),
    ),
    ("process", ("onegate.app", "onegate.cli", "onegate.doctor", "onegate.__main__")),
)

# Module cycles tolerated for now; each entry must still exist: once a cycle is gone, delete it here.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "onegate").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in modules:
                    yield target  # `from onegate.server import routes`: the module itself
                elif node.module in modules:
                    yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: set(_imports(path, modules)) - {name} for name, path in modules.items()}


def floor_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (entry length, floor)
    for floor, (_name, entries) in enumerate(FLOORS):
        for entry in entries:
            inside = module == entry or (entry != "onegate" and module.startswith(entry + "."))
            if inside and (best is None or len(entry) > best[0]):
                best = (len(entry), floor)
    return None if best is None else best[1]


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_every_module_has_a_floor():
    assert [m for m in sorted(import_graph()) if floor_of(m) is None] == []


def test_no_import_cycles():
    found = set(cycles(import_graph()))
    assert found - KNOWN_CYCLES == set(), "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in found)
    assert KNOWN_CYCLES - found == set(), "a known cycle is gone: remove it from KNOWN_CYCLES"


def test_imports_point_down_the_floors():
    upward = [
        f"{module} ({FLOORS[floor_of(module) or 0][0]}) imports {target} ({FLOORS[floor_of(target) or 0][0]})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if (floor_of(target) or 0) > (floor_of(module) or 0)
    ]
    assert upward == []


def test_the_checks_catch_a_cycle_and_an_upward_import():
    graph = {"onegate.dialects.a": {"onegate.dialects.b"}, "onegate.dialects.b": {"onegate.dialects.a"}}
    assert cycles(graph) == [frozenset(graph)]
    assert floor_of("onegate.accounting.usage") < floor_of("onegate.dialects.pairs") < floor_of("onegate.accounting")
    assert floor_of("onegate.server.routes") < floor_of("onegate.app")
    assert floor_of("onegate.something_new") is None


def floors_table() -> str:
    """The floors as the Markdown table docs/ARCHITECTURE.md shows, top floor first."""
    rows = ["| floor | name | modules |", "| --- | --- | --- |"]
    for floor, (name, entries) in reversed(list(enumerate(FLOORS))):
        shown = ", ".join(f"`{e.removeprefix('onegate.')}`" if e != "onegate" else "`onegate`" for e in entries)
        rows.append(f"| {floor} | {name} | {shown} |")
    return "\n".join(rows)


def test_the_architecture_doc_draws_these_floors():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert floors_table() in doc, "docs/ARCHITECTURE.md must contain this floors table:\n" + floors_table()


def test_the_architecture_doc_names_only_files_that_exist():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", doc))
    bare = {path.name for path in (SRC / "onegate").rglob("*.py")}  # `wire.py`: the file every dialect has
    places = (SRC / "onegate", ROOT)
    missing = sorted(
        name for name in named if not any((place / name).exists() for place in places) and name not in bare
    )
    assert named and missing == []
