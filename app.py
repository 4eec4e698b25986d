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
from streamlit_folium import st_folium

from socialmap import serve, settings, templates, views
from socialmap.app.ui import about, explore, profile
from socialmap.app.ui.cached import (
    Source,
    load_demo,
    preview_upload,
    read_inputs,
    read_roads,
    read_taxonomy,
    run_analysis,
    run_plan,
    suggest_sites,
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
    remember_costing,
    resolve_uploads,
    restore_costing,
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


def add_edits(*edits: views.PlanEdit) -> None:
    """Add proposed services to the scenario being drawn (session state, per session)."""
    st.session_state["plan_edits"] = [*st.session_state.get("plan_edits", []), *edits]


def add_planned(service_type: str) -> None:
    """Add the service at the point given below the map ("Add to scenario"), with its places."""
    lon, lat = st.session_state.get("plan_lon"), st.session_state.get("plan_lat")
    if lon is None or lat is None:
        return
    capacity = st.session_state.get("plan_capacity")
    add_edits(views.PlanEdit(service_type, float(lon), float(lat), capacity))
    st.session_state.pop("plan_point", None)


def add_suggested(*suggested: views.PlanEdit) -> None:
    """Add the suggested sites to the scenario and forget the suggestion."""
    add_edits(*suggested)
    st.session_state.pop("plan_suggested", None)


def remove_edit(index: int) -> None:
    """Remove one proposed service from the scenario being drawn."""
    edits = list(st.session_state.get("plan_edits", []))
    if 0 <= index < len(edits):
        del edits[index]
    st.session_state["plan_edits"] = edits


def clear_edits() -> None:
    """Start a new scenario: forget the services proposed so far (saved scenarios stay)."""
    st.session_state["plan_edits"] = []


def save_scenario(name: str) -> None:
    """Keep the scenario being drawn under a name (replacing one of the same name)."""
    st.session_state["plan_scenarios"] = {
        **st.session_state.get("plan_scenarios", {}),
        name: tuple(st.session_state.get("plan_edits", [])),
    }


def delete_scenario(name: str) -> None:
    """Forget a saved scenario."""
    st.session_state["plan_scenarios"] = {
        n: e for n, e in st.session_state.get("plan_scenarios", {}).items() if n != name
    }


if tab_plan.open:
    with tab_plan:
        options = (
            *uploads,
            source,
            method,
            catchment_km * 1000.0,
            spreading,
            cell_km * 1000.0,
            *road_options,
        )
        if service_type == views.ALL_TYPES:
            st.info(t("Choose one service type in the sidebar to plan new services of that type.", lang))
        else:
            type_label = plain(views.choice_label(service_type, tax, lang))
            edits = tuple(st.session_state.get("plan_edits", []))
            with st.spinner(t("Analysing…", lang)):
                draft = run_plan(*options, edits, lang)
            if draft.result is None:
                st.error(t("The scenario could not be analysed:", lang))
                show_table(views.problems_table(draft.problems, lang), lang, key="problems_plan")
            shown = draft.result if draft.result is not None else result
            st.caption(
                t(
                    "Click on the map to propose a new {type} there; the map shows the gaps with the "
                    "services of the scenario added.",
                    lang,
                    type=type_label,
                )
            )
            clicked = st.session_state.get("plan_point")
            plan_parts = views.map_parts(
                views.plan_map(
                    shown,
                    selection,
                    tax,
                    edits,
                    clicked,
                    attribution=sources.attribution,
                    assets=assets,
                    asset_url=asset_url,
                    services=result.services,
                )
            )
            value = st_folium(
                plan_parts.base,
                key="plan_map",
                height=520,
                use_container_width=True,
                returned_objects=["last_clicked"],
                feature_group_to_add=plan_parts.layers,
                layer_control=plan_parts.control,
            )
            point = views.clicked_point(value)
            if point is not None and point != st.session_state.get("plan_last_click"):
                # A new click: it fills the point below (the inputs are drawn after the map).
                st.session_state["plan_last_click"] = point
                st.session_state["plan_point"] = point
                st.session_state["plan_lon"], st.session_state["plan_lat"] = point
                st.rerun()

            c1, c2, c3 = st.columns(3)
            lon = c1.number_input(t("Longitude", lang), format="%.5f", value=None, key="plan_lon")
            lat = c2.number_input(t("Latitude", lang), format="%.5f", value=None, key="plan_lat")
            capacity = c3.number_input(
                t("Places of the new service", lang),
                min_value=0.0,
                value=20.0,
                step=1.0,
                format="%.0f",
                key="plan_capacity",
                help=t("Places the new service offers (its capacity).", lang),
            )
            # Added before the page is drawn again (a callback), so one run shows the scenario.
            st.button(
                t("Add to scenario", lang),
                key="plan_add",
                disabled=lon is None or lat is None,
                type="primary",
                on_click=add_planned,
                args=(service_type,),
            )

            with st.expander(t("Close, move or resize an existing service", lang)):
                existing = views.existing_services(result, service_type, tax, edits, lang)
                if existing.empty:
                    st.caption(
                        t(
                            "No existing {type} can be changed here (the sites of confidential services "
                            "are never shown; change them in a scenario file with `socialmap scenario`).",
                            lang,
                            type=type_label,
                        )
                    )
                else:
                    labels = dict(zip(existing["service_id"], existing["label"], strict=True))
                    chosen = st.selectbox(
                        t("Service", lang),
                        list(labels),
                        format_func=lambda i: labels[i],
                        key="plan_existing",
                        placeholder=t("Choose an option", lang),
                    )
                    action = st.radio(
                        t("Change", lang),
                        ("remove", "move", "capacity"),
                        format_func=lambda a: t(views.ACTION_LABELS[a], lang),
                        horizontal=True,
                        key="plan_action",
                    )
                    row = existing.set_index("service_id").loc[chosen]
                    new_places = None
                    if action == "move":
                        st.caption(
                            t(
                                "It moves to the longitude and latitude above: click its new site on "
                                "the map.",
                                lang,
                            )
                        )
                    elif action == "capacity":
                        new_places = st.number_input(
                            t("New number of places", lang),
                            min_value=0.0,
                            value=None,
                            step=1.0,
                            format="%.0f",
                            key="plan_new_places",
                        )
                    blocked = (action == "move" and (lon is None or lat is None)) or (
                        action == "capacity" and new_places is None
                    )
                    if st.button(t("Apply the change", lang), key="plan_apply", disabled=blocked):
                        where = (
                            (float(lon), float(lat))
                            if action == "move"
                            else (float(row["lon"]), float(row["lat"]))
                        )  # type: ignore[arg-type]
                        add_edits(
                            views.PlanEdit(
                                service_type, *where, new_places, action=action, service_id=str(chosen)
                            )
                        )
                        st.session_state.pop("plan_point", None)
                        st.rerun()

            with st.expander(t("Suggest sites", lang)):
                n_sites = st.number_input(t("Number of sites", lang), 1, 10, 3, key="plan_k")
                if st.button(t("Suggest {k} sites", lang, k=n_sites), key="plan_suggest"):
                    try:
                        with st.spinner(t("Choosing sites…", lang)):
                            st.session_state["plan_suggested"] = suggest_sites(
                                options, service_type, int(n_sites), capacity, lang
                            )
                    except SocialMapError as exc:
                        st.error(
                            t(
                                "No sites could be suggested: {error}",
                                lang,
                                error=plain(error_text(exc, lang)),
                            )
                        )
                suggested, notes = st.session_state.get("plan_suggested", ((), ()))
                suggested = tuple(e for e in suggested if e.service_type == service_type)
                if suggested:
                    show_table(views.plan_edits_table(suggested, tax, lang), lang, key="plan_suggested_table")
                    for note in notes:
                        st.caption(plain(note))
                    st.button(
                        t("Add the suggested sites to the scenario", lang),
                        key="plan_add_suggested",
                        on_click=add_suggested,
                        args=suggested,
                    )

            st.subheader(t("Scenario", lang))
            if not edits:
                st.caption(t("No change yet.", lang))
            else:
                show_table(
                    views.plan_edits_table(edits, tax, lang, services=result.services),
                    lang,
                    key="plan_edits_table",
                )
                st.button(t("Start a new scenario", lang), key="plan_clear", on_click=clear_edits)
                r1, r2 = st.columns([3, 1])
                drop = r1.selectbox(
                    t("Undo a change", lang),
                    range(1, len(edits) + 1),
                    key="plan_remove_index",
                    placeholder=t("Choose an option", lang),
                )
                r2.button(
                    t("Undo", lang), key="plan_remove", on_click=remove_edit, args=(int(drop or 1) - 1,)
                )
            if draft.result is not None:
                for note in views.plan_notes(result, draft.result, tax, lang):
                    st.warning(plain(note))
            s1, s2 = st.columns([3, 1])
            scenario_name = s1.text_input(t("Scenario name", lang), key="plan_name").strip()
            if s2.button(t("Save scenario", lang), key="plan_save", disabled=not edits):
                if not scenario_name:
                    st.error(t("Give the scenario a name before saving it.", lang))
                elif scenario_name == t(views.CURRENT, lang):
                    st.error(t("That name is taken by the current services: choose another.", lang))
                else:
                    save_scenario(scenario_name)
                    st.success(t("Saved scenario {name}.", lang, name=plain(scenario_name)))

            saved: dict[str, tuple[views.PlanEdit, ...]] = st.session_state.get("plan_scenarios", {})
            st.subheader(t("Comparison: {type}", lang, type=type_label))
            # Runs by a stable key (a saved scenario's name, stripped, so never one of the two
            # others), so a language switch keeps the choices below.
            run_names = {" current": t(views.CURRENT, lang)}
            results = {" current": result}
            if draft.result is not None and edits and edits not in saved.values():
                run_names[" draft"], results[" draft"] = t("Scenario (not saved)", lang), draft.result
            for name, scenario_edits in saved.items():
                run = run_plan(*options, scenario_edits, lang)
                if run.result is None:
                    st.error(t("Scenario {name} could not be analysed.", lang, name=plain(name)))
                else:
                    run_names[name], results[name] = name, run.result
            runs = {run_names[k]: r for k, r in results.items()}
            if len(runs) < 2:
                st.caption(t("Add a new service to see what changes.", lang))
            else:
                try:
                    by_area = views.plan_comparison(runs, service_type, lang=lang)
                    national = views.plan_comparison(runs, service_type, level="total", lang=lang)
                except SocialMapError as exc:
                    st.error(
                        t(
                            "The scenarios could not be compared: {error}",
                            lang,
                            error=plain(error_text(exc, lang)),
                        )
                    )
                else:
                    st.caption(t("National totals", lang))
                    show_table(national, lang, key="plan_national")
                    st.caption(t("By municipality (Δ: change from the current services)", lang))
                    show_table(by_area, lang, key="plan_by_area")
                    tables = {"municipalities": by_area, "national": national}
                    x1, x2 = st.columns(2)
                    offer_download(
                        x1,
                        t("Comparison (CSV)", lang),
                        lambda: views.plan_download(tables, "csv", lang),
                        file_name=f"socialmap_scenarios_{service_type}.csv",
                        mime=MIME["csv"],
                        key="plan_download_csv",
                    )
                    offer_download(
                        x2,
                        t("Comparison (XLSX)", lang),
                        lambda: views.plan_download(tables, "xlsx", lang),
                        file_name=f"socialmap_scenarios_{service_type}.xlsx",
                        mime=MIME["xlsx"],
                        key="plan_download_xlsx",
                    )
            if len(runs) >= 2:
                st.subheader(t("Difference map", lang))
                m1, m2 = st.columns(2)
                compared_key = m1.selectbox(
                    t("Scenario", lang),
                    list(results)[1:],
                    format_func=lambda k: run_names[k],
                    key="plan_diff_scenario",
                    placeholder=t("Choose an option", lang),
                )
                compared = run_names[compared_key]
                diff_metric = m2.selectbox(
                    t("Metric", lang),
                    views.PLAN_METRICS,
                    format_func=lambda m: views.label(m, lang),
                    key="plan_diff_metric",
                    placeholder=t("Choose an option", lang),
                )
                difference_map = functools.partial(
                    views.plan_difference_map,
                    result,
                    runs[compared],
                    selection,
                    tax,
                    metric=diff_metric,
                    scenario_name=compared,
                    attribution=sources.attribution,
                    assets=assets,
                )
                try:
                    diff_parts = views.map_parts(difference_map(asset_url=asset_url))
                except SocialMapError as exc:
                    st.error(
                        t("The change could not be mapped: {error}", lang, error=plain(error_text(exc, lang)))
                    )
                else:
                    # As the main map: the frame stays, only the layers change (no reload of Leaflet).
                    st_folium(
                        diff_parts.base,
                        key="plan_diff_map",
                        height=480,
                        use_container_width=True,
                        returned_objects=[],
                        feature_group_to_add=diff_parts.layers,
                        layer_control=diff_parts.control,
                    )
                    offer_download(
                        st,
                        t("Difference map (HTML, works offline)", lang),
                        lambda: views.map_html_bytes(difference_map()),  # libraries inlined
                        file_name=f"socialmap_change_{service_type}_{diff_metric}.html",
                        mime=MIME["html"],
                        key="plan_download_diff_map",
                    )
            if saved:
                g1, g2 = st.columns([3, 1])
                forget = g1.selectbox(
                    t("Saved scenario", lang),
                    list(saved),
                    key="plan_forget_name",
                    placeholder=t("Choose an option", lang),
                )
                g2.button(t("Delete", lang), key="plan_delete", on_click=delete_scenario, args=(forget,))

            st.subheader(t("Costing: {type}", lang, type=type_label))
            st.caption(
                t(
                    "Places needed to reach a planning standard, and their yearly budget. Where the "
                    "taxonomy gives no sourced figure, enter your own: it is shown as user-supplied.",
                    lang,
                )
            )
            restore_costing(service_type)
            k1, k2, k3 = st.columns(3)
            standard = k1.number_input(
                t("Standard (places per 1,000 of the target group)", lang),
                min_value=0.0,
                value=None,
                format="%g",
                key="plan_standard",
            )
            unit_cost = k2.number_input(
                t("Unit cost (EUR per place per year)", lang),
                min_value=0.0,
                value=None,
                step=100.0,
                format="%.0f",
                key="plan_unit_cost",
            )
            remember_costing(service_type, standard, unit_cost)
            costed = k3.selectbox(
                t("Services", lang),
                list(results),
                format_func=lambda k: run_names[k],
                key="plan_costed",
                placeholder=t("Choose an option", lang),
            )
            costed_result = results.get(costed, result)
            try:
                costing = views.plan_costing(
                    costed_result,
                    service_type,
                    tax,
                    standard=standard,
                    unit_cost=unit_cost,
                    lang=lang,
                )
            except SocialMapError as exc:
                st.error(
                    t("The costing could not be computed: {error}", lang, error=plain(error_text(exc, lang)))
                )
            else:
                none = t("none", lang)
                st.markdown(
                    t(
                        "Source of the standard: **{standard}**. Source of the unit cost: **{cost}**.",
                        lang,
                        standard=plain(views.source_label(costing.standard_source, lang) or none),
                        cost=plain(views.source_label(costing.cost_source, lang) or none),
                    )
                )
                show_table(costing.national, lang, key="plan_cost_national")
                show_table(costing.table, lang, key="plan_cost_areas")
                offer_download(
                    st,
                    t("Results and costing (XLSX, small counts hidden)", lang),
                    lambda: views.costing_download(
                        costed_result, service_type, tax, standard=standard, unit_cost=unit_cost, lang=lang
                    ),
                    file_name=f"socialmap_costing_{service_type}.xlsx",
                    mime=MIME["xlsx"],
                    key="plan_download_costing",
                )
                for note in costing.notes:
                    st.info(plain(note))

            # Targets of the action plan, from a scenario; the action plan (DOCX) of a municipality.
            st.subheader(t("Targets and action plan", lang))
            planned = [k for k in results if k != " current"]
            if not planned:
                st.caption(t("Add a new service to see what changes.", lang))
            else:
                p1, p2, p3 = st.columns(3)
                target_key = p1.selectbox(
                    t("Scenario", lang),
                    planned,
                    format_func=lambda k: run_names[k],
                    key="plan_target_scenario",
                    placeholder=t("Choose an option", lang),
                )
                first_year = p2.number_input(
                    t("First year of the plan", lang), 2000, 2100, 2026, step=1, key="plan_first_year"
                )
                n_years = p3.number_input(t("Years of the plan", lang), 1, 10, 3, step=1, key="plan_years")
                if st.button(t("Save as targets", lang), key="plan_save_targets", type="primary"):
                    st.session_state["plan_targets"] = views.scenario_targets(
                        result,
                        results[target_key],
                        name=run_names[target_key],
                        first_year=int(first_year),
                        years=int(n_years),
                        service_type=service_type,
                        unit_cost=unit_cost,
                    )
            plan_targets = st.session_state.get("plan_targets")
            if plan_targets is not None:
                st.caption(t("Targets of {plan}: the changes by year", lang, plan=plain(plan_targets.name)))
                show_table(
                    views.targets_table(plan_targets, tax, lang, areas=result.areas),
                    lang,
                    key="plan_targets_table",
                )
                names = views.area_options(result, lang)
                d1, d2, d3 = st.columns([2, 1, 1])
                plan_area = d1.selectbox(
                    t("Municipality", lang),
                    list(names),
                    format_func=lambda a: names[a],
                    key="plan_target_area",
                    placeholder=t("Choose an option", lang),
                )
                offer_download(
                    d2,
                    t("Action plan of {name} (DOCX)", lang, name=names[plan_area]),
                    lambda: views.action_plan_docx(result, plan_targets, tax, lang, area_id=plan_area),
                    file_name=views.action_plan_name(result, plan_area, lang),
                    mime=MIME["docx"],
                    key="plan_download_action_plan",
                )
                offer_download(
                    d3,
                    t("Targets (XLSX)", lang),
                    lambda: views.targets_xlsx(plan_targets, lang),
                    file_name="socialmap_targets.xlsx",
                    mime=MIME["xlsx"],
                    key="plan_download_targets",
                )

# ---- about: what the figures mean, and where the data come from -------------------------------

if tab_about.open:
    with tab_about:
        about.about_tab(page)

# What the tabs changed in this run (a saved scenario, targets, the scenario being drawn) is kept now,
# not only on the next run: a reload right after "Save scenario" finds it.
keep_workspace(inputs, lang)
