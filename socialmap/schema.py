"""The column contract: the library's own column names for areas, services and population.

Loaders map a user's columns onto these names; every later step relies on them.
"""

from __future__ import annotations

from typing import Final

#: Areas: polygons, one row per area (municipality).
AREA_REQUIRED: Final = ("area_id", "name", "geometry")
AREA_OPTIONAL: Final = ("name_sq", "name_sr", "name_en")

#: Services: points, one row per service site.
SERVICE_REQUIRED: Final = ("service_id", "name", "service_type", "capacity", "geometry")
SERVICE_OPTIONAL: Final = ("provider", "target_groups", "illustrative", "area_id")

#: Population table: one row per area (joined to areas by id, or by name when there is none).
POPULATION_REQUIRED: Final = ("area_id", "population")
POPULATION_OPTIONAL: Final = (
    "name",
    "year",
    "population_source",
    "population_is_estimate",
    "estimate_method",
)

#: Columns that must hold numbers, and may not be negative.
NUMERIC_NONNEGATIVE: Final = {"services": ("capacity",), "population": ("population",)}

#: Language suffixes of name columns.
LANGUAGES: Final = ("en", "sq", "sr")

#: Allowed values of the optional `provider` column.
PROVIDERS: Final = ("public", "ngo", "private")
