"""socialmap: social-service mapping and needs analysis.

Where social services are, who needs them, and where the gaps are. Start with
``socialmap.load_demo("kosovo")`` or the loaders ``read_areas``, ``read_services`` and
``read_population``, then ``socialmap.analyze(...)``.

The names below are loaded when first used (PEP 562): ``import socialmap`` alone imports none of the
library's modules, so that a command or the app's server that needs only one of them does not pay for
geopandas and the rest first. ``socialmap.analyze``, ``from socialmap import analyze`` and
``dir(socialmap)`` work as if everything were imported here; so does any submodule as an attribute
(``socialmap.gaps``). Type checkers read the imports under ``TYPE_CHECKING`` below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialmap import (
        access,
        coverage,
        crs,
        datasets,
        errors,
        gaps,
        io,
        names,
        needs,
        pipeline,
        schema,
        settings,
        taxonomy,
        validate,
    )
    from socialmap.datasets import Demo, fetch_boundaries, load_demo
    from socialmap.errors import CRSError, DataSourceError, SocialMapError, TaxonomyError, ValidationError
    from socialmap.io import read_areas, read_population, read_services, write_atomic
    from socialmap.pipeline import AnalysisConfig, Result, analyze
    from socialmap.taxonomy import load_taxonomy
    from socialmap.validate import Report, validate_file

__version__ = "0.1.0"

#: The public functions and classes, by the module that defines them.
_FACE = {
    "Demo": "datasets",
    "fetch_boundaries": "datasets",
    "load_demo": "datasets",
    "CRSError": "errors",
    "DataSourceError": "errors",
    "SocialMapError": "errors",
    "TaxonomyError": "errors",
    "ValidationError": "errors",
    "read_areas": "io",
    "read_population": "io",
    "read_services": "io",
    "write_atomic": "io",
    "AnalysisConfig": "pipeline",
    "Result": "pipeline",
    "analyze": "pipeline",
    "load_taxonomy": "taxonomy",
    "Report": "validate",
    "validate_file": "validate",
}
#: The public modules (any other submodule is loaded as an attribute too, but is not listed).
_MODULES = (
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

#: What ``from socialmap import *`` gives: the names of ``_FACE`` and ``_MODULES`` (a test checks it).
__all__ = [
    "AnalysisConfig",
    "CRSError",
    "DataSourceError",
    "Demo",
    "Report",
    "Result",
    "SocialMapError",
    "TaxonomyError",
    "ValidationError",
    "access",
    "analyze",
    "coverage",
    "crs",
    "datasets",
    "errors",
    "fetch_boundaries",
    "gaps",
    "io",
    "load_demo",
    "load_taxonomy",
    "names",
    "needs",
    "pipeline",
    "read_areas",
    "read_population",
    "read_services",
    "schema",
    "settings",
    "taxonomy",
    "validate",
    "validate_file",
    "write_atomic",
]


# Hidden from type checkers, which read the names from the imports above: with a module ``__getattr__`` in
# sight they would take any misspelt ``socialmap.name`` for a name of type Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Load a public name, or a submodule, when it is first asked for (PEP 562)."""
        home = _FACE.get(name)
        if home is not None:
            value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
            globals()[name] = value  # asked once: later lookups find it without this function
            return value
        if not name.startswith("__"):
            try:
                # the import binds the submodule as this package's attribute (the import system does that)
                return importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise  # the submodule exists but something it imports is missing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
