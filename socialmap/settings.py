"""Module-wide defaults, read at call time when an argument is ``None``.

Change them for a session with e.g. ``socialmap.settings.default_catchment_m = 5000``.
"""

from __future__ import annotations

#: CRS used for analysis when the caller names none. ``None`` means: estimate the UTM zone
#: of the data (``GeoDataFrame.estimate_utm_crs()``), as osmnx's ``project_gdf`` does.
work_crs: str | None = None

#: Catchment radius (metres) used for a service type whose taxonomy entry gives none.
#: A modelling parameter, not a sourced figure: say which one you used when you publish.
default_catchment_m: float = 10_000.0

#: Largest input file the loaders accept, in bytes.
max_upload_bytes: int = 50 * 1024 * 1024

#: Largest number of features (rows) the loaders accept in one file.
max_features: int = 2_000_000

#: Counts below this are suppressed in exports of sensitive target groups.
suppression_threshold: int = 5

#: Language of user-facing strings when none is chosen.
default_language: str = "en"
