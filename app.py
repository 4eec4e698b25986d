"""socialmap app for municipal planners: where social services are, who needs them, where the gaps are.

Thin by design (STYLE.md §7): this script sets up the page and lays it out (the sidebar, the tabs); each
section's widgets are a function in :mod:`socialmap.app.ui` (one module per tab or panel). Every table,
figure, map and download comes from :mod:`socialmap.views`, which is tested without a browser.

Run it with ``make app``: that installs the map libraries (``make assets``) and turns on Streamlit's
static serving, so the map draws with no internet. Without static serving the libraries are
inlined into each map instead (slower to send, still offline).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# Importing streamlit_folium declares the maps' Streamlit component, which Streamlit registers only in a
# script run: the script imports it (the tabs use it), and the warm-up imports what it imports instead.
import streamlit_folium  # noqa: F401

from socialmap import serve
from socialmap.app.ui import about, explore, inputs, plan, profile, sidebar
from socialmap.app.ui.cached import load_demo
from socialmap.app.ui.common import DEMO, TABS, page_style
from socialmap.app.ui.workspace import (
    keep_workspace,
    kept_taxonomy,
    restore_map_view,
    show_workspace_notes,
    start_workspace,
    workspace_panel,
)
from socialmap.display import plain
from socialmap.errors import SocialMapError
from socialmap.errors import message as error_text
from socialmap.i18n import t

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
taxonomy_upload, own_taxonomy = inputs.taxonomy(files.taxonomy)
if own_taxonomy.taxonomy is not None:
    tax = own_taxonomy.taxonomy

with st.sidebar:
    analysis_choices = sidebar.analysis_panel(lang, files.roads, files.travel_mode)
    map_choices = sidebar.map_panel(lang, tax)


# ---- data and analysis -------------------------------------------------------------------------

st.title(t("Social services: needs, coverage and gaps", lang))

show_workspace_notes(lang)
data = inputs.read(lang, demo, tax, files, taxonomy_upload, own_taxonomy)
page = inputs.analyse(
    lang, demo, tax, data, own_taxonomy, files, analysis_choices, map_choices, vendor_dir=VENDOR_DIR
)

# Lazy tabs: only the open tab's content runs, so a widget change redraws what is on screen only.
# Streamlit keeps the open tab by its label, which the language changes: the app keeps its key.
tab_list = st.tabs([t(text, lang) for text in TABS.values()], key="view", on_change="rerun")
tab_map, tab_ranking, tab_profile, tab_plan, tab_about = tab_list
st.session_state["open_tab"] = next((k for k, tab in zip(TABS, tab_list, strict=True) if tab.open), "map")

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
keep_workspace(page.inputs, lang)
