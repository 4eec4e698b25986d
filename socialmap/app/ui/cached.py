"""
The app's calls of the library, cached by Streamlit: each cached function uses only its arguments.

A cached function keys its answer by its arguments (uploads as ``(name, bytes)``, choices as text and
numbers), so a rerun with the same ones reuses it; :class:`Source` is hashable for that reason.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import streamlit as st

import socialmap
from socialmap import views
from socialmap.pipeline import AnalysisConfig


@st.cache_resource(show_spinner=False)
def load_demo(name: str) -> socialmap.Demo:
    """Load the demo once per server process (read-only)."""
    return socialmap.load_demo(name)


class Source(NamedTuple):
    """
    Where the inputs come from besides the three files: the demo and what the person chose.

    Hashable (tuples and text only), so the cached functions below are keyed by it.
    """

    #: The demo that fills in what is not uploaded.
    demo: str
    #: The column mapping of each upload, ``((kind, ((their column, our column), ...)), ...)``.
    columns: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    #: An uploaded taxonomy (file name, bytes), or ``None``: the demo's.
    taxonomy: views.Upload | None = None
    #: The attribution of uploaded boundaries as typed in (blank: what the file says).
    attribution: str = ""
    #: Kinds whose failed upload the person chose to replace by the demo's layer.
    demo_instead: tuple[str, ...] = ()


@st.cache_data(show_spinner=False, max_entries=16)
def read_taxonomy(upload: views.Upload | None) -> views.TaxonomyUpload:
    """Read an uploaded taxonomy (cached by its bytes); nothing uploaded: no taxonomy, no problem."""
    return views.TaxonomyUpload() if upload is None else views.read_taxonomy(upload)


@st.cache_data(show_spinner=False, max_entries=16)
def preview_upload(upload: views.Upload, kind: str) -> views.UploadPreview:
    """Read an upload's header and first rows, and guess its mapping (cached by its bytes)."""
    return views.preview_upload(upload, kind)


@st.cache_data(show_spinner=False, max_entries=16)
def read_inputs(
    areas: views.Upload | None,
    services: views.Upload | None,
    population: views.Upload | None,
    source: Source,
) -> views.Inputs:
    """Read and validate the uploads through their column mappings (cached by bytes and choices)."""
    return views.read_inputs(
        areas,
        services,
        population,
        demo=load_demo(source.demo),
        columns={kind: dict(pairs) for kind, pairs in source.columns},
        taxonomy=read_taxonomy(source.taxonomy).taxonomy,
        attribution=source.attribution,
        demo_instead=source.demo_instead,
    )


def analysis_config(
    method: str, catchment_m: float, spreading: str, cell_size_m: float, catchment_min: float | None = None
) -> AnalysisConfig:
    """Return the analysis options chosen in the sidebar."""
    return AnalysisConfig(
        method=method,  # type: ignore[arg-type]
        catchment_m=catchment_m,
        spreading=spreading,  # type: ignore[arg-type]
        cell_size_m=cell_size_m,
        catchment_min=catchment_min,
    )


# A road graph is parsed once per uploaded file and travel mode, and shared by every rerun.
@st.cache_resource(show_spinner=False, max_entries=2)
def read_roads(roads: views.Upload | None, travel_mode: str) -> views.Roads:
    """Read the uploaded road network (cached by its bytes and the travel mode)."""
    return views.read_roads(roads, travel_mode)


# A Result holds a few GeoDataFrames that nothing changes (views functions copy what they alter):
# cache_resource hands the same object to every rerun instead of unpickling a copy each time.
@st.cache_resource(show_spinner=False, max_entries=32)
def run_analysis(
    areas: views.Upload | None,
    services: views.Upload | None,
    population: views.Upload | None,
    source: Source,
    method: str,
    catchment_m: float,
    spreading: str,
    cell_size_m: float,
    roads: views.Upload | None = None,
    travel_mode: str = "drive",
    catchment_min: float | None = None,
) -> views.Analysis:
    """Run the analysis on the inputs with the chosen options (cached by all of them)."""
    inputs = read_inputs(areas, services, population, source)
    config = analysis_config(method, catchment_m, spreading, cell_size_m, catchment_min)
    graph = read_roads(roads, travel_mode).graph
    return views.analyze_inputs(inputs, config, demo=load_demo(source.demo), network=graph)


@st.cache_resource(show_spinner=False, max_entries=32)
def run_plan(
    areas: views.Upload | None,
    services: views.Upload | None,
    population: views.Upload | None,
    source: Source,
    method: str,
    catchment_m: float,
    spreading: str,
    cell_size_m: float,
    roads: views.Upload | None,
    travel_mode: str,
    catchment_min: float | None,
    edits: tuple[views.PlanEdit, ...],
    lang: str,
) -> views.PlanRun:
    """Run a scenario (the proposed services) on the inputs with the chosen options (cached by all)."""
    road_options = (roads, travel_mode, catchment_min)
    options = (
        areas,
        services,
        population,
        source,
        method,
        catchment_m,
        spreading,
        cell_size_m,
        *road_options,
    )
    base = run_analysis(*options)
    config = analysis_config(method, catchment_m, spreading, cell_size_m, catchment_min)
    inputs = read_inputs(areas, services, population, source)
    graph = read_roads(roads, travel_mode).graph
    return views.run_plan(
        inputs,
        config,
        edits,
        demo=load_demo(source.demo),
        base=base.result,  # type: ignore[arg-type]
        lang=lang,
        network=graph,
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def demo_trend(demo_name: str, method: str, catchment_m: float, spreading: str, cell_size_m: float) -> Any:
    """Return the demo's indicators over its census years, with the chosen options (cached by them)."""
    return views.demo_monitoring(
        demo_name, analysis_config(method, catchment_m, spreading, cell_size_m, None)
    )


@st.cache_data(show_spinner=False, max_entries=16)
def suggest_sites(
    options: tuple[Any, ...], service_type: str, k: int, capacity: float | None, lang: str
) -> tuple[tuple[views.PlanEdit, ...], tuple[str, ...]]:
    """Suggest k sites on the current services (cached by the analysis options and the inputs)."""
    analysis = run_analysis(*options)
    return views.suggest_sites(analysis.result, service_type, k=k, capacity=capacity, lang=lang)  # type: ignore[arg-type]
