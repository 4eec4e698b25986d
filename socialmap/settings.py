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

#: Folder of the app's workspaces (``socialmap.store``); ``None``: ``$SOCIALMAP_WORKSPACES``, else
#: ``workspaces`` in the user data directory. Name one folder for a shared server.
workspaces_dir: str | None = None

# Limits on input -------------------------------------------------------------------------------
# Every reader checks what a file will cost before it decodes it (declared sizes, dimensions, row and
# alias counts, nesting depth) and refuses it, naming the file and the limit, when it is over one of these.
# Raise them for a session if your data really are larger.

#: Largest input file the loaders accept, in bytes (the app's upload limit too, ``.streamlit/config.toml``).
#: Also the most a file may unpack or decode to: a ZIP's or an XLSX workbook's members (their declared
#: sizes), a GeoParquet file's columns (declared page sizes, dictionary-encoded text as it expands).
max_upload_bytes: int = 50 * 1024 * 1024

#: Largest workspace file (``socialmap.workspace``) read, in bytes: it holds the three inputs at once.
max_workspace_bytes: int = 4 * max_upload_bytes

#: Largest number of features (rows) the loaders accept in one file.
max_features: int = 2_000_000

#: Largest number of services in one services file: the analysis costs grow with it (100,000 services in
#: one type and 10 km catchments over Kosovo's 38 municipalities take about 6 s and 0.3 GB; 750,000 took
#: over 12 minutes and 5.9 GB).
max_services: int = 100_000

#: Largest number of columns of a table (CSV, XLSX sheet, Parquet, attributes of a vector file).
max_columns: int = 1_000

#: Largest number of cells (rows × columns) of a table: each costs about 60 bytes once read, so 5 million
#: cells are about 0.3 GB.
max_cells: int = 5_000_000

#: Largest number of files in a ZIP archive or an XLSX workbook.
max_zip_members: int = 1_000

#: Largest plan file (scenario edits, ``socialmap.scenario.read_scenario``), in bytes, and most edits
#: (rows) in one: a plan of 1,000 edits is already more than anyone reviews by hand.
max_plan_bytes: int = 5 * 1024 * 1024
max_plan_edits: int = 1_000

#: Largest taxonomy YAML file, in bytes (the shipped one is about 9 KB).
max_taxonomy_bytes: int = 1024 * 1024

#: Deepest nesting of lists and mappings in a taxonomy YAML (the shipped one nests 4 deep).
max_yaml_depth: int = 32

#: Most YAML nodes a taxonomy may hold with its aliases (``*name``) expanded: the shipped one has about
#: 400; an alias bomb ("billion laughs") has billions.
max_yaml_nodes: int = 100_000

#: At most this many problems are written out in an error message or a validation report; the rest are
#: counted ("... and 1,234 more problem(s)"). ``Report.problems`` and ``ValidationError.problems`` keep all.
max_problems_shown: int = 100

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

#: Seconds to wait for a download to answer (each connection and each read).
download_timeout_s: float = 60.0

#: Catchment (minutes of travel) used on a road network for a service type whose taxonomy gives none.
#: A modelling parameter, not a sourced figure: say which one you used when you publish.
default_catchment_min: float = 30.0

#: Points (demand or services) farther than this many metres from every node of a road network are off the
#: network: reported and left out, never silently snapped (see socialmap.network.snap).
default_max_snap_m: float = 1000.0

#: Workers the 2SFCA core (``access.fca_arrays``, ``two_step_fca``, the analysis: forked processes, on
#: Linux) and ``pairs_within`` (threads) run on. ``None``: every core this process may use (the 2SFCA
#: family forks only while no other thread runs). Small problems run on one whatever this says.
workers: int | None = None

#: Seconds a whole download (``socialmap.fetch_boundaries``) may take, however the server trickles it.
download_deadline_s: float = 300.0

#: Smallest grid cell (metres) of ``spreading="grid"``: finer than any population data (census
#: enumeration areas, 100 m grids); smaller values are refused by ``AnalysisConfig``.
min_cell_size_m: float = 10.0

# Dates in outputs ------------------------------------------------------------------------------

#: The date outputs carry, as ``"YYYY-MM-DD"`` (the "made on" line of maps and briefs, the "exported" row
#: of an XLSX's sources sheet, and the creation and change dates in the files' metadata). ``None``: the
#: ``SOURCE_DATE_EPOCH`` environment variable when set (seconds since 1970, the reproducible-builds
#: convention; it also wins over this setting), else today. See :func:`socialmap.i18n.output_datetime`.
output_date: str | None = None
