"""socialmap app for municipal planners: where social services are, who needs them, where the gaps are.

Thin by design (STYLE.md §7): widgets, caching, layout and text only. Every table, figure, map and
download comes from :mod:`socialmap.views`, which is tested without a browser.

Run it with ``make app``: that installs the map libraries (``make assets``) and turns on Streamlit's
static serving, so the map draws with no internet. Without static serving the libraries are
inlined into each map instead (slower to send, still offline).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import streamlit as st

# Importing streamlit_folium declares the maps' Streamlit component, which Streamlit registers only in a
# script run: the script imports it (the tabs use it), and the warm-up imports what it imports instead.
import streamlit_folium  # noqa: F401

from socialmap import serve, settings, templates, views
from socialmap.app.ui import about, explore, plan, profile
from socialmap.app.ui.cached import (
    Source,
    load_demo,
    preview_upload,
    read_inputs,
    read_roads,
    read_taxonomy,
    run_analysis,
)
from socialmap.app.ui.common import (
    BASEMAP_LABELS,
    DEFAULTS,
    DEMO,
    METHODS,
    MIME,
    SCHEME_LABELS,
    SPREADING,
    TABS,
    Page,
    show_table,
)
from socialmap.app.ui.workspace import (
    keep_workspace,
    kept_taxonomy,
    resolve_uploads,
    restore_late_view,
    restore_map_view,
    show_workspace_notes,
    start_workspace,
    workspace_panel,
)
from socialmap.columns import ambiguity_hint, apply_choices, required_columns
from socialmap.display import offer_download, plain
from socialmap.errors import SocialMapError
from socialmap.errors import message as error_text
from socialmap.gaps import SCHEMES
from socialmap.i18n import LANGUAGES, format_number, nt, t
from socialmap.io import SUPPORTED_SUFFIXES
from socialmap.privacy import preview_rows

# Started by `python -m socialmap.serve app.py` (`make app`), the warm-up has imported, read and analysed
# the demo ahead: the first run waits for it rather than doing the same beside it (no wait otherwise).
serve.wait_for_warm_up()

APP_DIR = Path(__file__).resolve().parent
#: Local copies of Leaflet and its plugins (``make assets``), served at /app/static/vendor.
VENDOR_DIR = APP_DIR / "static" / "vendor"

# No page_icon: Streamlit would fetch a Material icon from fonts.gstatic.com (no internet here).
st.set_page_config(page_title="socialmap", layout="wide")


start_workspace()
if "ws_view" in st.session_state:
    st.session_state["ws_view_map"] = st.session_state["ws_view_late"] = st.session_state.pop("ws_view")


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


# ---- sidebar: language, data, analysis, map ----------------------------------------------------

with st.sidebar:
    lang = st.selectbox(
        "Language · Gjuha · Jezik",
        list(LANGUAGES),
        format_func=lambda c: LANGUAGES[c][1],
        key="lang",
        on_change=keep_choices,
    )
with st.sidebar:
    workspace_panel(lang)


def page_style(lang: str) -> str:
    """
    CSS for Streamlit's own words and for phones.

    Streamlit 1.67 has no option for the text of its upload widget ("Upload", "200MB per file"):
    the app hides the size line (the caption above says it in the language) and writes the
    button's word in the language. The "Press Enter to apply" hint of text inputs is hidden. On a
    phone the title and the headline figures are smaller, two figures to a row.
    """
    word = t("Choose a file", lang)
    upload = '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ") + '"'  # a CSS string
    return f"""<style>
[data-testid="stFileUploaderDropzoneInstructions"], [data-testid="InputInstructions"] {{ display: none; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: {upload}; font-size: 0.875rem; }}
@media (max-width: 640px) {{
  h1 {{ font-size: 1.6rem !important; }}
  h3 {{ font-size: 1.15rem !important; }}
  [data-testid="stMetricValue"] {{ font-size: 1.5rem !important; }}
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) {{ flex-wrap: wrap; gap: 0.5rem; }}
  [data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) > [data-testid="stColumn"] {{
    min-width: calc(50% - 0.5rem) !important; flex: 1 1 calc(50% - 0.5rem) !important; }}
}}
</style>"""


st.html(page_style(lang))

try:
    demo = load_demo(DEMO)
except SocialMapError as exc:
    st.error(t("The demo data could not be loaded: {error}", lang, error=plain(error_text(exc, lang))))
    st.stop()
tax = demo.taxonomy
if "ws_view_map" in st.session_state:  # once per session: a restored workspace's own taxonomy decides
    restore_map_view(kept_taxonomy(st.session_state.get("ws_uploads", {})) or tax)  # what its view may name


def mapping_step(kind: str, upload: views.Upload, lang: str) -> None:
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
        start = next((c for c, o in kept.items() if o == ours and c in found.columns), None)
        start = start or found.guess.column_for(ours) or ""
        choices[ours] = st.selectbox(
            views.column_label(ours, lang, kind),
            options,
            index=options.index(start) if start in options else 0,
            format_func=lambda c: c or t("(none)", lang),
            key=f"column_{kind}_{ours}_{digest}",
            placeholder=t("Choose an option", lang),
        )
    mappings[kind] = apply_choices(found.guess.mapping, choices, found.columns)
    for ours, candidates in found.guess.ambiguous.items():
        st.caption(plain(ambiguity_hint(ours, candidates).render(lang)))


with st.sidebar:
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
            mapping_step("areas", (up_areas.name, up_areas.getvalue()), lang)
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
            mapping_step("services", (up_services.name, up_services.getvalue()), lang)
        up_population = st.file_uploader(
            t("Population (per municipality)", lang),
            type=types,
            key="upload_population",
            help=t("One row per municipality: its code or name, and its population.", lang),
        )
        if up_population is not None:
            mapping_step("population", (up_population.name, up_population.getvalue()), lang)
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

taxonomy_upload = resolve_uploads({"taxonomy": up_taxonomy})["taxonomy"]
own_taxonomy = read_taxonomy(taxonomy_upload)
if own_taxonomy.taxonomy is not None:
    tax = own_taxonomy.taxonomy

with st.sidebar:
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


# ---- data and analysis -------------------------------------------------------------------------

st.title(t("Social services: needs, coverage and gaps", lang))

show_workspace_notes(lang)
chosen = resolve_uploads({"areas": up_areas, "services": up_services, "population": up_population})
uploads = (chosen["areas"], chosen["services"], chosen["population"])
# Only the mappings of files uploaded now key the reading (a mapping kept from an earlier file is not).
given = {kind for kind, upload in zip(views.UPLOAD_KINDS, uploads, strict=True) if upload is not None}
source = Source(
    DEMO,
    columns=tuple(
        (kind, tuple(mapping.items()))
        for kind, mapping in sorted(st.session_state.get("column_mappings", {}).items())
        if kind in given
    ),
    taxonomy=taxonomy_upload,
    attribution=str(st.session_state.get("ws_attribution") or "") if chosen["areas"] is not None else "",
    demo_instead=tuple(k for k in views.UPLOAD_KINDS if st.session_state.get(f"demo_instead_{k}")),
)
if own_taxonomy.problems:
    st.error(
        t(
            "The taxonomy {file} cannot be used, so nothing is analysed. Fix it and upload it again, or "
            "remove it to use Kosovo's taxonomy.",
            lang,
            file=plain(taxonomy_upload[0] if taxonomy_upload is not None else ""),
        )
    )
    show_table(views.problems_table(own_taxonomy.problems, lang), lang, key="problems_taxonomy")
    st.stop()
with st.spinner(t("Reading the data…", lang)):
    inputs = read_inputs(*uploads, source)
for outcome in inputs.uploads:
    if not outcome.problems:
        continue
    file = plain(outcome.filename)
    kind_name = t(views.KIND_LABELS[outcome.kind], lang)
    if outcome.ok:
        st.warning(
            nt(
                "{file}: read, with {n} warning worth a look.",
                "{file}: read, with {n} warnings worth a look.",
                outcome.warnings,
                lang,
                file=file,
                n=outcome.warnings,
            )
        )
    elif outcome.kind in inputs.demo_instead:
        st.error(
            nt(
                "{file} has {n} error, so it is not used: the demo's {kind} are used in its place, as "
                "you chose. Fix the rows listed below and upload it again.",
                "{file} has {n} errors, so it is not used: the demo's {kind} are used in its place, as "
                "you chose. Fix the rows listed below and upload it again.",
                outcome.errors,
                lang,
                file=file,
                n=outcome.errors,
                kind=kind_name,
            )
        )
    else:
        st.error(
            nt(
                "{file} has {n} error, so nothing is analysed until it is fixed: fix the rows listed "
                "below and upload it again, or choose below to use the demo's {kind} in its place.",
                "{file} has {n} errors, so nothing is analysed until it is fixed: fix the rows listed "
                "below and upload it again, or choose below to use the demo's {kind} in its place.",
                outcome.errors,
                lang,
                file=file,
                n=outcome.errors,
                kind=kind_name,
            )
        )
    show_table(views.problems_table(outcome.problems, lang), lang, key=f"problems_{outcome.kind}")
    if not outcome.ok:
        st.checkbox(
            t("Use the demo's {kind} instead of {file} (not your data)", lang, kind=kind_name, file=file),
            key=f"demo_instead_{outcome.kind}",
        )

with data_box:
    st.caption(t("Templates to fill in (XLSX, in this language); a filled template needs no mapping:", lang))
    offer_download(
        data_box,
        t("Services template", lang),
        functools.partial(templates.services_template, tax, lang=lang),
        file_name=f"socialmap-services-template-{lang}.xlsx",
        mime=MIME["xlsx"],
        key="template_services",
    )
    template_areas = inputs.areas if inputs.areas is not None else demo.areas
    offer_download(
        data_box,
        t("Population template (its municipalities filled in)", lang),
        functools.partial(templates.population_template, template_areas, lang=lang),
        file_name=f"socialmap-population-template-{lang}.xlsx",
        mime=MIME["xlsx"],
        key="template_population",
    )

st.session_state["ws_source"] = source  # for "Save workspace" (made on the next run)
keep_workspace(inputs, lang)

with st.spinner(t("Reading the roads…", lang)):
    roads = read_roads(roads_file, travel_mode)
for problem in roads.problems:
    st.error(
        t(
            "The road network could not be used, so straight-line distances are used instead: {problem}",
            lang,
            problem=plain(problem.translated(lang).message),
        )
    )
road_options = (roads_file if roads.graph is not None else None, travel_mode, catchment_min)
with st.spinner(t("Analysing…", lang)):
    analysis = run_analysis(
        *uploads, source, method, catchment_km * 1000.0, spreading, cell_km * 1000.0, *road_options
    )
if analysis.result is None:
    st.error(t("The analysis could not run on these data:", lang))
    show_table(views.problems_table(analysis.problems, lang), lang, key="problems_analysis")
    st.stop()
result = analysis.result
restore_late_view(result, lang)

sources = views.data_sources(inputs, demo, lang)
st.caption(
    t(
        "{areas} municipalities, {services} services. {attribution}",
        lang,
        areas=format_number(len(result.areas), lang, decimals=0),
        services=format_number(len(result.services), lang, decimals=0),
        attribution=plain(sources.attribution),
    )
)
demo_layers = views.demo_caption(inputs, lang) if inputs.uploads or own_taxonomy.taxonomy else None
if demo_layers:
    st.caption(demo_layers)
taxonomy_note = views.taxonomy_note(tax, lang)
if taxonomy_note:
    st.info(taxonomy_note)
demo_note = views.demonstration_note(result, lang)
if demo_note:
    st.warning(demo_note)
selection = views.Selection(
    service_type=service_type,
    metric=metric,
    target_group=target_group,
    scheme=scheme,
    k=k,
    basemap=basemap,
    lang=lang,
    cells=show_cells,
)

missing = views.missing_assets(VENDOR_DIR)
if missing:
    st.warning(
        t(
            "The map libraries are not installed ({missing}), so the map needs internet. "
            "Run `make assets` and restart the app.",
            lang,
            missing=", ".join(missing),
        )
    )
assets = None if missing else VENDOR_DIR
asset_url = (
    views.static_url(st.get_option("server.baseUrlPath"), "vendor")
    if assets is not None and st.get_option("server.enableStaticServing")
    else None
)

# Lazy tabs: only the open tab's content runs, so a widget change redraws what is on screen only.
# Streamlit keeps the open tab by its label, which the language changes: the app keeps its key.
tab_list = st.tabs([t(text, lang) for text in TABS.values()], key="view", on_change="rerun")
tab_map, tab_ranking, tab_profile, tab_plan, tab_about = tab_list
st.session_state["open_tab"] = next((k for k, tab in zip(TABS, tab_list, strict=True) if tab.open), "map")
page = Page(
    lang=lang,
    tax=tax,
    result=result,
    sources=sources,
    selection=selection,
    assets=assets,
    asset_url=asset_url,
    uploads=uploads,
    source=source,
    road_options=road_options,
    method=method,
    catchment_km=catchment_km,
    spreading=spreading,
    cell_km=cell_km,
)

# ---- map and downloads -------------------------------------------------------------------------

if tab_map.open:
    with tab_map:
        explore.map_tab(page)

# ---- ranking -----------------------------------------------------------------------------------

if tab_ranking.open:
    with tab_ranking:
        explore.ranking_tab(page)

# ---- profile of one municipality ---------------------------------------------------------------

if tab_profile.open:
    with tab_profile:
        profile.profile_tab(page)

# ---- plan: new services, named scenarios, costing ------------------------------------------------

if tab_plan.open:
    with tab_plan:
        plan.plan_tab(page)

# ---- about: what the figures mean, and where the data come from -------------------------------

if tab_about.open:
    with tab_about:
        about.about_tab(page)

# What the tabs changed in this run (a saved scenario, targets, the scenario being drawn) is kept now,
# not only on the next run: a reload right after "Save scenario" finds it.
keep_workspace(inputs, lang)
