"""
Rewrite the floors table of docs/architecture.md from the code: each row's floor, lines and imports.

The graph is ``tests/test_imports.py``'s ``import_graph()`` (every import read with ``ast``), folded so that
a subpackage (``access/``, ``app/``, ``app/ui/``, ``cli/``, ``privacy/``, ``sources/``, ``validate/``) counts
as one module. A module's floor is the longest chain of imports below it (floor 0 imports nothing of
socialmap). The rows' "its job" column is kept as written; a module without a row is reported, not added
(its job is for a person to write).

    python scripts/architecture_table.py          # rewrite the table
    python scripts/architecture_table.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("app.ui", "app", "access", "cli", "privacy", "sources", "validate")
ROW = re.compile(r"^\| (\d+) \| `([^`]+)` \| ([^|]*) \| ([^|]*) \| ([^|]*) \|$")


def _fold(module: str) -> str:
    """``socialmap.access.fca`` → ``access/``; ``socialmap.io`` → ``io.py``; ``socialmap`` → ``__init__``."""
    if module == "socialmap":
        return "__init__"
    name = module.removeprefix("socialmap.")
    for package in PACKAGES:
        if name == package or name.startswith(package + "."):
            return package.replace(".", "/") + "/"
    return name + ".py"


def _label(row: str) -> str:
    """A row's name as the imports column writes it: ``access/`` → ``access``, ``io.py`` → ``io``."""
    return row.removesuffix("/").removesuffix(".py")


def folded_graph() -> tuple[nx.DiGraph, dict[str, list[Path]]]:
    """The import graph with subpackages folded, and the files of each folded module."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_imports import _modules, import_graph

    graph = import_graph()
    files: dict[str, list[Path]] = {}
    for name, path in _modules().items():
        files.setdefault(_fold(name), []).append(path)
    folded = nx.DiGraph()
    folded.add_nodes_from(files)
    for a, b in graph.edges:
        fa, fb = _fold(a), _fold(b)
        # app/ui/ is inside app/ but imports it from outside, as any face does
        if fa != fb:
            folded.add_edge(fa, fb)
    return folded, files


def _lines(paths: list[Path]) -> tuple[int, int, str]:
    counts = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in paths}
    largest = max(counts, key=lambda k: counts[k])
    return sum(counts.values()), counts[largest], largest


def rows() -> dict[str, tuple[int, str, str]]:
    """Each folded module's floor, lines text and imports text."""
    graph, files = folded_graph()
    if not nx.is_directed_acyclic_graph(graph):
        raise SystemExit(f"import circle among folded modules: {nx.find_cycle(graph)}")
    floor: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        floor[node] = 1 + max((floor[s] for s in graph.successors(node)), default=-1)
    out = {}
    for node, paths in files.items():
        total, top, name = _lines(paths)
        lines = f"{total}" if len(paths) == 1 else f"{total} in {len(paths)} modules, largest `{name}` {top}"
        imports = ", ".join(sorted(_label(s) for s in graph.successors(node)))
        out[node] = (floor[node], lines, imports)
    return out


def rewrite(text: str) -> tuple[str, list[str]]:
    """The document with the floors table's rows rewritten (sorted by floor, highest first); unknown rows."""
    computed = rows()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| floor | module |"))
    end = start + 2
    while end < len(lines) and lines[end].startswith("| "):
        end += 1
    table: dict[str, str] = {}
    for line in lines[start + 2 : end]:
        match = ROW.match(line)
        if match is None or match.group(2) in table:
            continue  # a second copy of a row (left by a merge) or the separator
        module, job = match.group(2), match.group(4).strip()
        if module not in computed:
            raise SystemExit(f"docs/architecture.md names `{module}`, which is no module of socialmap")
        floor, count, imports = computed[module]
        table[module] = f"| {floor} | `{module}` | {count} | {job} | {imports} |"
    missing = sorted(set(computed) - set(table) - {"__init__"})
    order = sorted(table, key=lambda m: (-computed[m][0], m))
    body = lines[: start + 2] + [table[m] for m in order] + lines[end:]
    return "\n".join(body) + "\n", missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is out of date")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    new, missing = rewrite(text)
    for module in missing:
        print(f"no row for `{module}`: add one (its job) to docs/architecture.md", file=sys.stderr)
    if args.check:
        if new != text or missing:
            print("docs/architecture.md's floors table is out of date: run scripts/architecture_table.py")
            return 1
        print("docs/architecture.md's floors table is up to date")
        return 0
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
