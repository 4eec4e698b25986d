"""What the app's panels share: the options they offer, the tabs, media types, a table's display."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import streamlit as st

from socialmap import views
from socialmap.i18n import N_, t
from socialmap.pipeline import AnalysisConfig

if TYPE_CHECKING:
    import pandas as pd
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from socialmap.app.ui.cached import Source

DEMO = "kosovo"
#: The library's default options (demand spreading, grid cell) are the app's defaults.
DEFAULTS = AnalysisConfig()
METHODS = ("coverage", "2sfca", "e2sfca")
SPREADING = ("representative", "grid")
SCHEME_LABELS = {
    "quantiles": N_("Quantiles"),
    "natural_breaks": N_("Natural breaks"),
    "fisher_jenks": N_("Fisher-Jenks"),
    "equal_interval": N_("Equal intervals"),
}
#: The tabs: a stable key each, and its label.
TABS = {
    "map": N_("Map"),
    "ranking": N_("Ranking"),
    "profile": N_("Municipality profile"),
    "plan": N_("Plan"),
    "about": N_("About"),
}
BASEMAP_LABELS = {"plain": N_("Plain (works offline)"), "osm": N_("OpenStreetMap (needs internet)")}

MIME = {
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
    "html": "text/html",
    "png": "image/png",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def show_table(table: pd.DataFrame, lang: str, **kwargs: Any) -> None:
    """Show a display table, its numbers written for the language (views.display_table)."""
    st.dataframe(
        views.display_table(table, lang), hide_index=True, width="stretch", placeholder="–", **kwargs
    )


def uploaded(file: UploadedFile | None) -> views.Upload | None:
    """Return the (name, bytes) of an st.file_uploader value."""
    return None if file is None else (file.name, file.getvalue())


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


class Page(NamedTuple):
    """What the tabs draw from: this run's language, taxonomy and analysis, and the sidebar's choices."""

    #: The language of the page.
    lang: str
    #: The taxonomy in use (an uploaded one, else the demo's).
    tax: Any
    #: The inputs read (the uploads, else the demo's layers).
    inputs: views.Inputs
    #: The analysis of the inputs (a ``socialmap.pipeline.Result``).
    result: Any
    #: Where the areas, services and population come from (``views.data_sources``).
    sources: views.DataSources
    #: What is on screen: service type, metric, target group, classes, basemap.
    selection: views.Selection
    #: The local map libraries (``None``: not installed, the map needs internet) and their address.
    assets: Path | None
    asset_url: str | None
    #: The uploads of areas, services and population (``None``: the demo's).
    uploads: tuple[views.Upload | None, views.Upload | None, views.Upload | None]
    #: The rest of what keys the analysis: the demo, the mappings, the taxonomy file.
    source: Source
    #: The road file used (``None``: straight lines), the travel mode, the catchment in minutes.
    road_options: tuple[views.Upload | None, str, float | None]
    #: The analysis options chosen in the sidebar.
    method: str
    catchment_km: float
    spreading: str
    cell_km: float
