"""
The page's inputs: the uploads read through their mappings, their problems shown, the analysis run.

What is shown comes from the library (``views``): the problem tables, the notes, the templates; these
functions call it in the page's order and stop the page (``st.stop``) where nothing can be analysed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import streamlit as st

from socialmap import templates, views
from socialmap.app.ui.cached import Source, read_inputs, read_roads, read_taxonomy, run_analysis
from socialmap.app.ui.common import DEMO, MIME, Page, show_table
from socialmap.app.ui.workspace import resolve_uploads, restore_late_view
from socialmap.display import offer_download, plain
from socialmap.i18n import format_number, nt, t

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    import socialmap
    from socialmap.app.ui.sidebar import Analysis, Files, MapChoices


def taxonomy(up_taxonomy: UploadedFile | None) -> tuple[views.Upload | None, views.TaxonomyUpload]:
    """Return the taxonomy file in use (the widget's, or the workspace's) and what reading it gave."""
    taxonomy_upload = resolve_uploads({"taxonomy": up_taxonomy})["taxonomy"]
    own_taxonomy = read_taxonomy(taxonomy_upload)
    return taxonomy_upload, own_taxonomy


class Data(NamedTuple):
    """The inputs read, and what keys them: the uploads of areas, services and population, the source."""

    inputs: views.Inputs
    uploads: tuple[views.Upload | None, views.Upload | None, views.Upload | None]
    source: Source


def read(
    lang: str,
    demo: socialmap.Demo,
    tax: Any,
    files: Files,
    taxonomy_upload: views.Upload | None,
    own_taxonomy: views.TaxonomyUpload,
) -> Data:
    """Read the inputs; show each upload's problems (and the choice of the demo's layer), the templates."""
    up_areas, up_services, up_population = files.areas, files.services, files.population
    data_box = files.data_box
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
        st.caption(
            t("Templates to fill in (XLSX, in this language); a filled template needs no mapping:", lang)
        )
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
    return Data(inputs, uploads, source)


def analyse(
    lang: str,
    demo: socialmap.Demo,
    tax: Any,
    data: Data,
    own_taxonomy: views.TaxonomyUpload,
    files: Files,
    analysis_choices: Analysis,
    map_choices: MapChoices,
    vendor_dir: Path,
) -> Page:
    """Read the roads and run the analysis; show where the data come from and the notes; return the page."""
    inputs, uploads, source = data
    roads_file, travel_mode = files.roads, files.travel_mode
    method, catchment_km, catchment_min, spreading, cell_km = analysis_choices
    target_group, service_type, metric, scheme, k, basemap, show_cells = map_choices

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
    credit = plain(sources.attribution)
    credit = credit[:1].upper() + credit[1:]  # it starts a sentence here ("… 142 services. Schematic …")
    st.caption(
        t(
            "{areas} municipalities, {services} services. {attribution}",
            lang,
            areas=format_number(len(result.areas), lang, decimals=0),
            services=format_number(len(result.services), lang, decimals=0),
            attribution=credit,
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

    missing = views.missing_assets(vendor_dir)
    if missing:
        st.warning(
            t(
                "The map libraries are not installed ({missing}), so the map needs internet. "
                "Run `make assets` and restart the app.",
                lang,
                missing=", ".join(missing),
            )
        )
    assets = None if missing else vendor_dir
    asset_url = (
        views.static_url(st.get_option("server.baseUrlPath"), "vendor")
        if assets is not None and st.get_option("server.enableStaticServing")
        else None
    )
    return Page(
        lang=lang,
        tax=tax,
        inputs=inputs,
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
