"""Module-wide defaults, read at call time when an argument is ``None``.

Change them for a session with e.g. ``socialmap.settings.default_catchment_m = 5000``.
"""

from __future__ import annotations

#: CRS used for analysis when the caller names none. ``None`` means: keep the data's own CRS if it keeps
#: distances true where the data is (see ``work_crs_max_scale_error``), else the UTM zone of the data
#: (``GeoDataFrame.estimate_utm_crs()``, as osmnx's ``project_gdf`` does). See ``socialmap.crs.work_crs_for``.
work_crs: str | None = None

#: Largest distortion of distances (relative: 0.001 = 0.1 %, 10 m in 10 km) for which the data's own
#: projected CRS is kept as the working CRS: UTM's own worst case inside a zone, so a CRS kept is as true
#: as the data's UTM zone (a national grid, the right zone). Web Mercator distorts by 35 % at Kosovo's
#: latitude and a neighbouring UTM zone by 0.4 %: such data are analysed in their UTM zone.
work_crs_max_scale_error: float = 0.001

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

#: Where downloaded boundaries are cached. ``None``: the ``SOCIALMAP_CACHE_DIR`` environment
#: variable if set, else the user cache directory (``platformdirs.user_cache_dir("socialmap")``).
cache_dir: str | None = None

#: URL template of geoBoundaries' gbOpen release files. ``{iso}`` is the ISO 3166-1 alpha-3 code
#: (Kosovo: ``XKX``), ``{level}`` the admin level (``ADM0`` ... ``ADM5``). The environment variable
#: ``SOCIALMAP_GEOBOUNDARIES_URL`` overrides it (a mirror, or a local server in tests).
geoboundaries_url: str = (
    "https://github.com/wmgeolab/geoBoundaries/raw/main/releaseData/gbOpen/"
    "{iso}/{level}/geoBoundaries-{iso}-{level}_simplified.geojson"
)

#: Seconds to wait for a download to answer.
download_timeout_s: float = 60.0

#: Catchment (minutes of travel) used on a road network for a service type whose taxonomy gives none.
#: A modelling parameter, not a sourced figure: say which one you used when you publish.
default_catchment_min: float = 30.0

#: Points (demand or services) farther than this many metres from every node of a road network are off the
#: network: reported and left out, never silently snapped (see socialmap.network.snap).
default_max_snap_m: float = 1000.0

#: Threads the 2SFCA core (``access.fca_arrays``, ``two_step_fca``, the analysis) runs on. ``None``:
#: every core this process may use. Small problems run on one thread whatever this says.
workers: int | None = None
