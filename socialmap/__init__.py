"""socialmap: social-service mapping and needs analysis.

Where social services are, who needs them, and where the gaps are. Start with
``socialmap.load_demo("kosovo")`` or the loaders ``read_areas``, ``read_services`` and
``read_population``, then ``socialmap.analyze(...)``.
"""

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
