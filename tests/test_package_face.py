"""
The package's public face (``socialmap/__init__.py``): its names load when first used (PEP 562).

``import socialmap`` imports none of the library's modules (the app's server and the CLI start without
geopandas); every name of ``__all__``, every name the README, the docs and the notebooks take from
``socialmap``, and any submodule as an attribute still work; type checkers see the same names.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import socialmap

REPO = Path(__file__).resolve().parent.parent

#: The public names by the module that defines them, written out here (not read from the package).
FACE = {
    "socialmap.datasets": ("Demo", "fetch_boundaries", "load_demo"),
    "socialmap.errors": ("CRSError", "DataSourceError", "SocialMapError", "TaxonomyError", "ValidationError"),
    "socialmap.io": ("read_areas", "read_population", "read_services", "write_atomic"),
    "socialmap.pipeline": ("AnalysisConfig", "Result", "analyze"),
    "socialmap.taxonomy": ("load_taxonomy",),
    "socialmap.validate": ("Report", "validate_file"),
}
MODULES = (
    "access",
    "coverage",
    "crs",
    "datasets",
    "errors",
    "gaps",
    "io",
    "names",
    "needs",
    "pipeline",
    "schema",
    "settings",
    "taxonomy",
    "validate",
)


def test_import_socialmap_loads_no_module_of_the_library():
    code = (
        "import sys, socialmap\n"
        "print(sorted(m for m in sys.modules if m.startswith('socialmap') or m in ('geopandas', 'pandas')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.split() == ["['socialmap']"]


def test_every_public_name_is_the_object_its_module_defines():
    names = [name for names in FACE.values() for name in names]
    assert sorted(socialmap.__all__) == sorted([*names, *MODULES])
    for module, defined in FACE.items():
        home = importlib.import_module(module)
        for name in defined:
            assert getattr(socialmap, name) is getattr(home, name), name
    for name in MODULES:
        assert getattr(socialmap, name) is importlib.import_module(f"socialmap.{name}")
    assert set(socialmap.__all__) <= set(dir(socialmap))
    assert socialmap.__version__


def test_from_socialmap_import_star_gives_the_public_names():
    space: dict[str, object] = {}
    exec("from socialmap import *", space)
    assert {name for name in space if name != "__builtins__"} == set(socialmap.__all__)


def test_any_submodule_is_an_attribute_and_an_unknown_name_is_an_attribute_error():
    assert socialmap.views is importlib.import_module("socialmap.views")
    assert socialmap.i18n.t("Map", "en") == "Map"
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = socialmap.no_such_name  # type: ignore[attr-defined]
    assert not hasattr(socialmap, "__no_such_dunder__")


def _documented_names() -> set[str]:
    """What README, docs/ and notebooks/ take from socialmap: ``from socialmap import x``, ``socialmap.x``."""
    texts = [REPO / "README.md", *(REPO / "docs").rglob("*.md")]
    sources = [path.read_text(encoding="utf-8") for path in texts if path.is_file()]
    for notebook in (REPO / "notebooks").rglob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        sources.extend("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    names: set[str] = set()
    for text in sources:
        for group in re.findall(r"from socialmap import \(?([\w, \n]+)\)?", text):
            names.update(part.split(" as ")[0].strip() for part in group.split(","))
        # socialmap.x, but not socialmap.x.y's module path in an import statement (the import loads it)
        names.update(re.findall(r"(?<![\w.])socialmap\.(\w+)\b(?!\.\w)", text))
    return {name for name in names if name}


def test_every_name_the_documentation_uses_is_there():
    names = _documented_names()
    assert {"analyze", "load_demo"} <= names  # the reading of the documents found the quick start
    missing = [name for name in sorted(names) if not hasattr(socialmap, name)]
    assert not missing, f"names used in README/docs/notebooks that socialmap does not have: {missing}"


def test_type_checkers_see_every_public_name():
    """The imports under ``if TYPE_CHECKING:`` name exactly ``__all__`` (mypy reads those)."""
    tree = ast.parse((REPO / "socialmap" / "__init__.py").read_text(encoding="utf-8"))
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                seen.update(alias.asname or alias.name for alias in statement.names)
    assert seen == set(socialmap.__all__)
