"""
The sidebar: the language, your data (uploads and their column mapping), the analysis and map choices.

Each function draws one section of the sidebar (``app.py`` places them under ``with st.sidebar:``) and
returns what the person chose; the choices are the widgets' own values, under the same widget keys.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, NamedTuple

import streamlit as st

from socialmap import settings, views
from socialmap.app.ui.cached import preview_upload
from socialmap.app.ui.common import BASEMAP_LABELS, DEFAULTS, METHODS, SCHEME_LABELS, SPREADING, TABS
from socialmap.app.ui.workspace import resolve_uploads
from socialmap.app.uploads import start_choice
from socialmap.columns import ambiguity_hint, apply_choices, required_columns
from socialmap.display import plain
from socialmap.gaps import SCHEMES
from socialmap.i18n import LANGUAGES, format_number, t
from socialmap.io import SUPPORTED_SUFFIXES
from socialmap.privacy import preview_rows

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.runtime.uploaded_file_manager import UploadedFile

# ---- widget state that survives a language switch (STYLE.md §8) -------------------------------

#: Widgets whose value is a stable key (a taxonomy key, a metric id, an area id) shown through a
#: translated label. Streamlit's browser side keeps the *label* of the choice, so after a language
#: switch it would send back an English label the new language does not know (issue #15): the
#: switch sets each of them again, and Streamlit then sends the label in the new language.
CHOICE_KEYS = (
    "method",
    "spreading",
    "target_group",
    "service_type",
    "metric",
    "scheme",
    "basemap",
    "profile_area",
    "plan_existing",
    "plan_action",
    "plan_diff_scenario",
    "plan_diff_metric",
    "plan_costed",
    "plan_target_scenario",
    "plan_target_area",
    "profile_trend_indicator",
)


def keep_choices() -> None:
    """On a language switch: set every choice again (its value, read with the old labels)."""
    for key in CHOICE_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    # The open tab, by its label in the new language (the tabs are new widgets, their labels new).
    open_tab = st.session_state.get("open_tab", "map")
    st.session_state["view"] = t(TABS.get(open_tab, TABS["map"]), st.session_state["lang"])


def language() -> str:
    """Show the language select (its label in the three languages); return the language chosen."""
    lang = st.selectbox(
        "Language · Gjuha · Jezik",
        list(LANGUAGES),
        format_func=lambda c: LANGUAGES[c][1],
        key="lang",
        on_change=keep_choices,
    )
    return str(lang)


def mapping_step(kind: str, upload: views.Upload, lang: str, tax: Any) -> None:
    """
    Show the column-mapping step of one upload: its first rows, and one select per contract column.

    Each select is pre-filled by the library's guess (or by the mapping kept for the session, e.g.
    a workspace's); the chosen mapping is kept as a plain dict in
    ``st.session_state["column_mappings"][kind]``, and the file is read through it.
    """
    shown = preview_upload(upload, kind)
    if shown.preview is None:
        return  # why it cannot be read is shown with the file's problems
    found = shown.preview
    st.caption(t("The first rows of {file}, and which of its columns is which:", lang, file=plain(upload[0])))
    if found.header_row and found.header_row > 1:
        st.caption(
            t("Its header is on row {row}; the rows above it are left out.", lang, row=found.header_row)
        )
    # Counts of sensitive groups (e.g. victims) never reach the browser, not even in a preview.
    rows = preview_rows(found.rows, tax, found.guess.mapping, lang=lang)
    st.dataframe(rows, hide_index=True, height=150, key=f"preview_{kind}")
    mappings = st.session_state.setdefault("column_mappings", {})
    kept = mappings.get(kind) or {}
    # The selects belong to this file (its bytes): another file starts from its own guess.
    digest = hashlib.sha256(upload[1]).hexdigest()[:12]
    options = ["", *found.columns]
    choices: dict[str, str | None] = {}
    for ours in required_columns(kind, geometry=found.geometry):
        choices[ours] = st.selectbox(
            views.column_label(ours, lang, kind),
            options,
            index=start_choice(ours, kept, found.columns, found.guess.column_for(ours)),
            format_func=lambda c: c or t("(none)", lang),
            key=f"column_{kind}_{ours}_{digest}",
            placeholder=t("Choose an option", lang),
        )
    mappings[kind] = apply_choices(found.guess.mapping, choices, found.columns)
    for ours, candidates in found.guess.ambiguous.items():
        st.caption(plain(ambiguity_hint(ours, candidates).render(lang)))


class Files(NamedTuple):
    """The sidebar's uploads (the widgets' files; a workspace's saved files are resolved later)."""

    #: The "Your data" expander (the templates are offered in it once the data are read).
    data_box: DeltaGenerator
    areas: UploadedFile | None
    services: UploadedFile | None
    population: UploadedFile | None
    taxonomy: UploadedFile | None
    #: The road file (the widget's, or the workspace's) and the travel mode chosen for it.
    roads: views.Upload | None
    travel_mode: str


def data_panel(lang: str, tax: Any) -> Files:
    """
    Show the "Your data" section: the uploads, each file's column mapping, the roads' travel mode.

    ``tax`` is the demo's taxonomy: a preview hides the counts of the sensitive groups it names.
    """
    data_box = st.expander(t("Your data", lang), expanded=False)
    with data_box:
        formats = ", ".join(s for s in SUPPORTED_SUFFIXES if s != ".shp")
        limit = format_number(st.get_option("server.maxUploadSize"), lang, decimals=0)
        st.caption(
            t(
                "Upload your own municipalities, services or population; the Kosovo demo is used for "
                "anything you do not upload. Formats: {formats} (a shapefile zipped). Up to {mb} MB "
                "per file.",
                lang,
                formats=formats,
                mb=limit,
            )
        )
        # A shapefile is several files: it is uploaded zipped.
        types = [s.lstrip(".") for s in SUPPORTED_SUFFIXES if s != ".shp"]
        up_areas = st.file_uploader(
            t("Municipalities (polygons)", lang),
            type=types,
            key="upload_areas",
            help=t(
                "One polygon per municipality, with a name (and a code if you have one); names are "
                "matched to Kosovo's municipalities where they can be.",
                lang,
            ),
        )
        if up_areas is not None:
            mapping_step("areas", (up_areas.name, up_areas.getvalue()), lang, tax)
            if "areas_attribution" not in st.session_state:  # the widget was not shown: the kept text
                st.session_state["areas_attribution"] = st.session_state.get("ws_attribution", "")
            st.text_input(
                t("Who made these boundaries (attribution)", lang),
                key="areas_attribution",
                help=t(
                    "Shown on the map and on briefs, e.g. “Boundaries: Kosovo Cadastral Agency, 2023”. "
                    "Leave it blank to use what the file itself says.",
                    lang,
                ),
            )
            st.session_state["ws_attribution"] = st.session_state["areas_attribution"]
        up_services = st.file_uploader(
            t("Services (points)", lang),
            type=types,
            key="upload_services",
            help=t(
                "One row per service: name, service type, capacity (blank if unknown) and its "
                "longitude and latitude (or points).",
                lang,
            ),
        )
        if up_services is not None:
            mapping_step("services", (up_services.name, up_services.getvalue()), lang, tax)
        up_population = st.file_uploader(
            t("Population (per municipality)", lang),
            type=types,
            key="upload_population",
            help=t("One row per municipality: its code or name, and its population.", lang),
        )
        if up_population is not None:
            mapping_step("population", (up_population.name, up_population.getvalue()), lang, tax)
        up_taxonomy = st.file_uploader(
            t("Taxonomy: your own service types and target groups (YAML)", lang),
            type=["yaml", "yml"],
            key="upload_taxonomy",
            help=t(
                "Service types, the target groups they serve and their need rates, as described in "
                "socialmap/taxonomies/README.md. Names are needed only in the languages the file "
                "declares. Without one, Kosovo's taxonomy is used.",
                lang,
            ),
        )
        up_roads = st.file_uploader(
            t("Roads: an OpenStreetMap extract (.osm.pbf), for catchments in travel time", lang),
            type=["pbf", "osm", "npz"],
            key="upload_roads",
        )
        roads_file = resolve_uploads({"roads": up_roads})["roads"]  # the widget's, or the workspace's
        travel_mode = "drive"
        if roads_file is not None:
            travel_mode = st.radio(
                t("Travel", lang),
                ("drive", "walk"),
                format_func=lambda m: views.cost_name(m, lang),
                key="travel_mode",
            )
    return Files(data_box, up_areas, up_services, up_population, up_taxonomy, roads_file, travel_mode)


class Analysis(NamedTuple):
    """The analysis options chosen in the sidebar."""

    method: str
    #: The catchment in a straight line (km; the default when a road file is used).
    catchment_km: float
    #: The catchment in minutes of travel (``None``: no road file).
    catchment_min: float | None
    spreading: str
    cell_km: float


def analysis_panel(lang: str, roads_file: views.Upload | None, travel_mode: str) -> Analysis:
    """Show the Analysis section: method, catchment, demand spreading, grid cell."""
    st.subheader(t("Analysis", lang))
    method = st.radio(
        t("Method", lang),
        METHODS,
        index=1,
        format_func=lambda m: t(views.METHOD_LABELS[m], lang),
        key="method",
        help=t(
            "Distance coverage: the share of need within the catchment of a service. 2SFCA and "
            "E2SFCA also weigh each service's places against everyone who can reach it "
            "(E2SFCA: nearer counts more).",
            lang,
        ),
    )
    # With a road file the catchment is a travel time (minutes); straight lines (km) are not used then.
    catchment_km = round(settings.default_catchment_m / 1000)
    if roads_file is None:
        catchment_km = st.slider(
            t("Catchment (km)", lang),
            1,
            50,
            catchment_km,
            key="catchment_km",
            help=t(
                "How far people can reach a service, in a straight line (not along roads): a place "
                "further away does not count for them.",
                lang,
            ),
        )
    catchment_min: float | None = None
    if roads_file is not None:
        catchment_min = float(
            st.slider(
                t("Catchment (minutes of travel)", lang),
                5,
                120,
                round(settings.default_catchment_min),
                step=5,
                key="catchment_min",
            )
        )
    st.caption(
        t(
            "Catchments measured as: {cost}",
            lang,
            cost=views.cost_name(travel_mode if roads_file else None, lang),
        )
    )
    spreading = st.radio(
        t("Demand spreading", lang),
        SPREADING,
        index=SPREADING.index(DEFAULTS.spreading),
        format_func=lambda s: t(views.SPREADING_LABELS[s], lang),
        key="spreading",
        help=t("Where the people in need are placed inside each municipality.", lang),
    )
    cell_km = DEFAULTS.cell_size_m / 1000
    if spreading == "grid":
        cell_km = st.select_slider(
            t("Grid cell (km)", lang), sorted({0.5, 1.0, 2.0, 5.0, cell_km}), value=cell_km, key="cell_km"
        )
    return Analysis(method, catchment_km, catchment_min, spreading, cell_km)


class MapChoices(NamedTuple):
    """What the map shows, chosen in the sidebar."""

    target_group: Any
    service_type: Any
    metric: Any
    scheme: Any
    k: int
    basemap: Any
    show_cells: bool


def map_panel(lang: str, tax: Any) -> MapChoices:
    """Show the Map section: target group, service type, metric, classification, basemap, cells."""
    st.subheader(t("Map", lang))
    target_group = st.selectbox(
        t("Target group", lang),
        views.target_group_options(tax),
        format_func=lambda g: views.choice_label(g, tax, lang),
        key="target_group",
        placeholder=t("Choose an option", lang),
    )
    service_type = st.selectbox(
        t("Service type", lang),
        views.service_type_options(tax, target_group),
        format_func=lambda s: views.choice_label(s, tax, lang),
        key="service_type",
        placeholder=t("Choose an option", lang),
    )
    metric = st.selectbox(
        t("Metric", lang),
        views.metric_options(service_type),
        format_func=lambda m: views.label(m, lang),
        key="metric",
        help=" ".join(
            f"{views.label(m, lang)}: {t(views.METRIC_HELP[m], lang)}"
            for m in views.metric_options(service_type)
            if m in views.METRIC_HELP
        )
        + " "
        + t("What each metric means and how it is computed is in the About tab.", lang),
        placeholder=t("Choose an option", lang),
    )
    scheme = st.selectbox(
        t("Classification", lang),
        SCHEMES,
        format_func=lambda s: t(SCHEME_LABELS[s], lang),
        key="scheme",
        placeholder=t("Choose an option", lang),
    )
    k = st.slider(t("Classes", lang), 3, 7, 5, key="k")
    basemap = st.radio(
        t("Basemap", lang),
        list(views.BASEMAPS),
        format_func=lambda b: t(BASEMAP_LABELS[b], lang),
        key="basemap",
    )
    show_cells = st.toggle(
        t("Demand cells", lang),
        key="cells",
        help=t(
            "Draw the chosen service type's demand grid: unmet need and distance to the nearest service "
            "in each cell (not for service types serving a sensitive group).",
            lang,
        ),
    )
    return MapChoices(target_group, service_type, metric, scheme, k, basemap, show_cells)
