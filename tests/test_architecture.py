"""The house's plan: no import cycles, and each room imports only its own and lower rooms.

Every module under ``src/scrsearch`` is parsed (not imported) and every ``import`` in it
counts, at the top of the module or inside a function, relative ones resolved. The
rooms, lowest first, are those of STYLE.md::

    records, config, errors < embed < index < search < present < themes < ingestion
        < measure < cli, api, app

``cli``, ``api`` and ``app`` are clients: none imports another. The package's own
``__init__.py`` (the public names) and ``__main__.py`` may import anything.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "scrsearch"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: The rooms, lowest first. A room may import its own level and any lower one.
ROOM_ORDER: tuple[tuple[str, ...], ...] = (
    ("records", "config", "errors"),
    ("embed",),
    ("index",),
    ("search",),
    ("present",),
    ("themes",),
    ("ingestion",),
    ("measure",),
    ("cli", "api", "app"),
)
CLIENTS = frozenset(ROOM_ORDER[-1])
LEVEL = {room: level for level, rooms in enumerate(ROOM_ORDER) for room in rooms}
#: The package top: its ``__init__`` gathers the public names from every room.
EXEMPT = frozenset({PACKAGE, f"{PACKAGE}.__main__"})


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} (line {self.line})"


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    names = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``target`` that is a module of the package, if any."""
    parts = target.split(".")
    while parts:
        if ".".join(parts) in modules:
            return ".".join(parts)
        parts.pop()
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path) -> list[str]:
    """The dotted names one import statement reaches, relative ones made absolute."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1])
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    # ``from pkg import name``: ``name`` may be a submodule, else it is an attribute of pkg.
    return [f"{base}.{alias.name}" for alias in node.names]


def imports() -> list[Import]:
    """Every import of one package module by another, wherever it is in the file."""
    modules = module_names()
    found = set()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, module, path):
                imported = _resolve(target, modules)
                if imported is not None and imported != module:
                    found.add(Import(module, imported, node.lineno))
    return sorted(found, key=lambda i: (i.importer, i.imported, i.line))


def room(module: str) -> str:
    return module.split(".")[1]


def broken_rule(edge: Import) -> str | None:
    """The room rule ``edge`` breaks, or ``None``."""
    if edge.importer in EXEMPT:
        return None
    importer = room(edge.importer)
    if edge.imported in EXEMPT:
        if importer in CLIENTS:
            return None
        return f"only a client ({', '.join(sorted(CLIENTS))}) imports the package top"
    imported = room(edge.imported)
    for name in (importer, imported):
        if name not in LEVEL:
            return f"'{name}' is in no room: add it to ROOM_ORDER (and STYLE.md)"
    if importer in CLIENTS and imported in CLIENTS and importer != imported:
        return "a client never imports another client"
    if LEVEL[imported] > LEVEL[importer]:
        return f"a lower room ({importer}) never imports a higher one ({imported})"
    return None


def cycles(edges: list[Import]) -> list[list[Import]]:
    """One shortest cycle for each group of modules that import one another round."""
    graph: dict[str, dict[str, Import]] = defaultdict(dict)
    for edge in edges:
        graph[edge.importer].setdefault(edge.imported, edge)
    reach = {module: _reachable(graph, module) for module in list(graph)}
    found = []
    grouped: set[str] = set()
    for start in sorted(reach):
        if start in grouped or start not in reach[start]:
            continue
        grouped |= {m for m in reach[start] if start in reach.get(m, set())}
        found.append(_shortest_cycle(graph, start))
    return found


def _reachable(graph: dict[str, dict[str, Import]], start: str) -> set[str]:
    """The modules ``start`` imports, directly or not (itself only if through a cycle)."""
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, {}))
    return seen


def _shortest_cycle(graph: dict[str, dict[str, Import]], start: str) -> list[Import]:
    """The shortest chain of imports from ``start`` back to itself (breadth first)."""
    came_by: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target, edge in sorted(graph.get(module, {}).items()):
            if target == start:
                chain = [edge]
                while chain[0].importer != start:
                    chain.insert(0, came_by[chain[0].importer])
                return chain
            if target not in came_by:
                came_by[target] = edge
                queue.append(target)
    return []


def test_no_module_imports_itself_back_through_others() -> None:
    found = cycles(imports())
    message = "\n".join(
        "import cycle: "
        + " -> ".join([chain[0].importer, *(f"{e.imported} (line {e.line})" for e in chain)])
        for chain in found
    )
    assert not found, message + "\nBreak it: move what both need down to the lower module."


def test_rooms_import_only_their_own_and_lower_rooms() -> None:
    broken = [(edge, rule) for edge in imports() if (rule := broken_rule(edge))]
    assert not broken, "\n".join(f"{edge}: {rule}" for edge, rule in broken)


def test_each_room_says_what_it_holds_and_what_it_may_import() -> None:
    unsaid = []
    for init in sorted(SRC.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        modules = sorted(p.stem for p in init.parent.glob("*.py") if not p.stem.startswith("__"))
        missing = [m for m in modules if not re.search(rf"\b{m}\b", doc)]
        if "May import:" not in doc or missing:
            unsaid.append(
                f"{init.relative_to(SRC.parent)}: May import: {'May import:' in doc}, "
                f"modules not named: {missing}"
            )
    assert not unsaid, "\n".join(unsaid)


# --- the checker itself ------------------------------------------------------------------


def test_the_checker_resolves_relative_and_function_level_imports() -> None:
    found = {(e.importer, e.imported) for e in imports()}
    assert ("scrsearch.embed.onnx", "scrsearch.embed.base") in found  # from .base import
    assert ("scrsearch.embed.registry", "scrsearch.embed.onnx") in found  # inside a function
    assert ("scrsearch.search.searcher", "scrsearch.embed.registry") in found  # from ..embed
    assert ("scrsearch.app.common", "scrsearch") in found  # from scrsearch import


def test_the_checker_names_each_rule() -> None:
    def rule(importer: str, imported: str) -> str | None:
        return broken_rule(Import(importer, imported, 1))

    assert rule("scrsearch.embed.base", "scrsearch.index.store") == (
        "a lower room (embed) never imports a higher one (index)"
    )
    assert rule("scrsearch.index.store", "scrsearch.embed.base") is None
    assert rule("scrsearch.records", "scrsearch.errors") is None  # the same level
    assert rule("scrsearch.cli.common", "scrsearch.app.common") == (
        "a client never imports another client"
    )
    assert rule("scrsearch.search.searcher", "scrsearch") == (
        "only a client (api, app, cli) imports the package top"
    )
    assert rule("scrsearch.app.common", "scrsearch") is None
    assert rule("scrsearch", "scrsearch.cli") is None
    assert rule("scrsearch.attic.old", "scrsearch.records") == (
        "'attic' is in no room: add it to ROOM_ORDER (and STYLE.md)"
    )


def test_the_checker_reports_the_shortest_cycle() -> None:
    edges = [
        Import("scrsearch.a", "scrsearch.b", 3),
        Import("scrsearch.b", "scrsearch.c", 5),
        Import("scrsearch.c", "scrsearch.a", 7),
        Import("scrsearch.b", "scrsearch.a", 9),
        Import("scrsearch.c", "scrsearch.d", 1),
    ]
    assert cycles(edges) == [[edges[0], edges[3]]]
    assert cycles(edges[:3]) == [edges[:3]]
    assert cycles([edges[0], edges[1], edges[4]]) == []


#: The most lines a function's code may run to, its docstring not counted (STYLE.md:
#: "functions under about 60 lines"). A longer one is split, not listed here.
MAX_FUNCTION_LINES = 60


def long_functions(limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``module:line name (N lines)`` for each function whose code runs over ``limit``."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                length -= (doc.end_lineno or doc.lineno) - doc.lineno + 1
            if length > limit:
                found.append(f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name} ({length})")
    return found


def test_functions_stay_short() -> None:
    found = long_functions()
    assert not found, "split these functions:\n" + "\n".join(found)
