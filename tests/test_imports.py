"""
The library's import structure: no circle among socialmap's modules, no upward import.

Every module's imports are read with :mod:`ast` (nothing is imported or run): at module level and
inside functions and methods, absolute (``from socialmap.io import x``, ``import socialmap.io``)
and relative (``from .io import x``, ``from . import io``). Imports under ``if TYPE_CHECKING:``
are left out: they are never run, they only name types for the annotations.

The rules (docs/architecture.md explains the layers):

- no circle: no module reaches itself through the imports of others;
- no upward import: the app's layer (the package ``socialmap.app`` and ``views``, ``display``,
  ``store``, ``serve``) and the command line (``cli``) are faces over the library; no other module
  imports them (nor any module inside them);
- the app's model (``socialmap.app``) has no circle among its own modules either.

``socialmap/__init__.py`` is the package's public face (its names are imported when first used, PEP 562); it
takes part as a module like the others, so a module that imports ``socialmap`` itself would close a
circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "socialmap"

#: The app's layer and the command line: faces over the library, imported by no library module.
FACES = {
    "socialmap.app",
    "socialmap.views",
    "socialmap.display",
    "socialmap.store",
    "socialmap.serve",
    "socialmap.cli",
    "socialmap.app.ui",
}


def _in_face(module: str) -> bool:
    """Whether a module is a face or inside one (``socialmap.app.plan`` is in ``socialmap.app``)."""
    return any(module == face or module.startswith(face + ".") for face in FACES)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of the tree, at any depth, except those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The socialmap modules an import statement loads (a package's ``__init__`` counts as the package)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return {_nearest(name, known) for name in names if name.split(".")[0] == "socialmap"} - {None}  # type: ignore[operator]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    if prefix.split(".")[0] != "socialmap":
        return set()
    targets = set()
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        targets.add(candidate if candidate in known else _nearest(prefix, known))
    return targets - {None}  # type: ignore[operator]


def _nearest(name: str, known: set[str]) -> str | None:
    """The module a dotted name loads: the name itself, else its nearest known parent."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _loaded(targets: set[str], importer: str) -> set[str]:
    """
    The targets with the subpackages Python runs first: importing ``socialmap.sources.base`` from
    outside ``socialmap.sources`` runs ``socialmap/sources/__init__.py`` too (and what it imports).

    The top package ``socialmap`` is left out: every module is in it, and its ``__init__`` (the
    public API) is what a user imports first.
    """
    out = set(targets)
    for target in targets:
        parts = target.split(".")
        for depth in range(2, len(parts)):
            package = ".".join(parts[:depth])
            if importer != package and not importer.startswith(package + "."):
                out.add(package)
    return out


def import_graph() -> nx.DiGraph:
    """The graph of socialmap's modules, an edge ``a → b`` where ``a`` imports ``b`` (with the lines)."""
    modules = _modules()
    known = set(modules)
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            for target in _loaded(_targets(node, name, path.name == "__init__.py", known), name):
                if target != name:
                    if graph.has_edge(name, target):
                        graph[name][target]["lines"].append(node.lineno)
                    else:
                        graph.add_edge(name, target, lines=[node.lineno])
    return graph


def _describe(graph: nx.DiGraph, cycle: list[str]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        steps.append(f"{a} -> {b} (line {', '.join(map(str, graph[a][b]['lines']))})")
    return "; ".join(steps)


def test_the_reader_sees_imports_of_every_kind(tmp_path: Path) -> None:
    """The parser finds module- and function-level, absolute and relative imports, and skips TYPE_CHECKING."""
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import socialmap.gaps\n"
        "from socialmap import coverage\n"
        "from .needs import x\n"
        "from . import crs\n"
        "if TYPE_CHECKING:\n"
        "    from socialmap.views import y\n"
        "def f():\n"
        "    from socialmap.access import fca\n"
        "class C:\n"
        "    def m(self):\n"
        "        import socialmap.names as n\n"
    )
    known = {"socialmap", "socialmap.gaps", "socialmap.coverage", "socialmap.needs", "socialmap.crs",
             "socialmap.views", "socialmap.access", "socialmap.names", "socialmap.export"}  # fmt: skip
    found = set()
    for node in _imports(ast.parse(source)):
        found |= _targets(node, "socialmap.export", False, known)
    assert found == {
        "socialmap.gaps",
        "socialmap.coverage",
        "socialmap.needs",
        "socialmap.crs",
        "socialmap.access",
        "socialmap.names",
    }
    # In a package's __init__, "." is the package itself.
    node = ast.parse("from .readers import read_areas").body[0]
    assert isinstance(node, ast.ImportFrom)
    known = {"socialmap.io", "socialmap.io.readers"}
    assert _targets(node, "socialmap.io", True, known) == {"socialmap.io.readers"}
    # Importing a subpackage's module from outside runs the subpackage's __init__ first; from inside, not.
    assert _loaded({"socialmap.io.readers"}, "socialmap.export") == {"socialmap.io.readers", "socialmap.io"}
    assert _loaded({"socialmap.io.readers"}, "socialmap.io.sheets") == {"socialmap.io.readers"}


def test_the_graph_knows_the_library() -> None:
    """A sanity check that the graph is read from the real tree (a parser that read nothing would pass)."""
    graph = import_graph()
    assert "socialmap.pipeline" in graph
    assert graph.has_edge("socialmap.pipeline", "socialmap.access")
    assert graph.has_edge("socialmap.cli.running", "socialmap.pipeline")
    assert graph.number_of_edges() > 100


def test_no_import_circle() -> None:
    graph = import_graph()
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    details = []
    for component in circles:
        cycle = nx.find_cycle(graph.subgraph(component))
        details.append(_describe(graph, [a for a, _ in cycle]))
    assert not circles, "import circles among socialmap's modules:\n" + "\n".join(details)


@pytest.mark.parametrize("face", sorted(FACES))
def test_no_library_module_imports_a_face(face: str) -> None:
    graph = import_graph()
    inside = {m for m in graph if m == face or m.startswith(face + ".")}
    lines = {
        (m, target): graph[m][target]["lines"]
        for target in inside
        for m in graph.predecessors(target)
        if not _in_face(m) and m != "socialmap"
    }
    assert not lines, f"library modules import the app's layer / the CLI ({face}): {lines}"


def test_the_faces_are_found_inside_their_packages() -> None:
    """The rule above sees the app's model: views re-exports it, no library module reaches it."""
    graph = import_graph()
    app_modules = {m for m in graph if m.startswith("socialmap.app.")}
    assert app_modules, "socialmap.app has no module"
    assert all(_in_face(m) for m in app_modules)
    assert any(graph.has_edge("socialmap.views", m) for m in app_modules)
    assert not _in_face("socialmap.application") and not _in_face("socialmap.export")


def test_no_import_circle_inside_the_app_model() -> None:
    graph = import_graph()
    app = graph.subgraph([m for m in graph if m == "socialmap.app" or m.startswith("socialmap.app.")])
    circles = [sorted(c) for c in nx.strongly_connected_components(app) if len(c) > 1]
    assert not circles, f"import circles inside socialmap.app: {circles}"


def test_the_architecture_documents_floors_are_the_codes() -> None:
    # docs/architecture.md's floors table (floor, lines, imports of every module) is rebuilt from this graph
    # by scripts/architecture_table.py; a move that changes it must rewrite the table (run the script)
    import importlib.util

    path = PACKAGE.parent / "scripts" / "architecture_table.py"
    spec = importlib.util.spec_from_file_location("architecture_table", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    text = script.DOC.read_text(encoding="utf-8")
    new, missing = script.rewrite(text)
    assert missing == [], f"modules without a row in docs/architecture.md: {missing}"
    assert new == text, "the floors table is out of date: run scripts/architecture_table.py"
