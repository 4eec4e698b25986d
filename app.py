"""socialmap app for municipal planners: where social services are, who needs them, where the gaps are.

Thin by design (STYLE.md §7): widgets, caching, layout and text only. Every table, figure, map and
download comes from :mod:`socialmap.views`, which is tested without a browser.

Run it with ``make app``: that installs the map libraries (``make assets``) and turns on Streamlit's
static serving, so the map draws with no internet. Without static serving the libraries are
inlined into each map instead (slower to send, still offline).
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

# Importing streamlit_folium declares the maps' Streamlit component, which Streamlit registers only in a
# script run: the script imports it (the tabs use it), and the warm-up imports what it imports instead.
import streamlit_folium  # noqa: F401

from socialmap import serve, templates, views
from socialmap.app.ui import about, explore, plan, profile, sidebar
from socialmap.app.ui.cached import (
    Source,
    load_demo,
    read_inputs,
    read_roads,
    read_taxonomy,
    run_analysis,
)
from socialmap.app.ui.common import (
    DEMO,
    MIME,
    TABS,
    Page,
    page_style,
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
from socialmap.display import offer_download, plain
from socialmap.errors import SocialMapError
from socialmap.errors import message as error_text
from socialmap.i18n import format_number, nt, t

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


# ---- sidebar: language, data, analysis, map ----------------------------------------------------

with st.sidebar:
    lang = sidebar.language()
with st.sidebar:
    workspace_panel(lang)


st.html(page_style(lang))

try:
    demo = load_demo(DEMO)
except SocialMapError as exc:
    st.error(t("The demo data could not be loaded: {error}", lang, error=plain(error_text(exc, lang))))
    st.stop()
tax = demo.taxonomy
if "ws_view_map" in st.session_state:  # once per session: a restored workspace's own taxonomy decides
    restore_map_view(kept_taxonomy(st.session_state.get("ws_uploads", {})) or tax)  # what its view may name

with st.sidebar:
    files = sidebar.data_panel(lang, tax)
data_box, up_areas, up_services, up_population, up_taxonomy, roads_file, travel_mode = files
taxonomy_upload = resolve_uploads({"taxonomy": up_taxonomy})["taxonomy"]
own_taxonomy = read_taxonomy(taxonomy_upload)
if own_taxonomy.taxonomy is not None:
    tax = own_taxonomy.taxonomy

with st.sidebar:
    method, catchment_km, catchment_min, spreading, cell_km = sidebar.analysis_panel(
        lang, roads_file, travel_mode
    )
    target_group, service_type, metric, scheme, k, basemap, show_cells = sidebar.map_panel(lang, tax)


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
