"""The Map tab (the headline figures, the map, the downloads of what is on screen) and the Ranking tab."""

from __future__ import annotations

import functools

import streamlit as st

from socialmap import views
from socialmap.app.ui.common import MIME, Page, show_table
from socialmap.display import offer_download, plain
from socialmap.i18n import format_number, t
from socialmap.report import run_notes


def ranking_csv(page: Page) -> bytes:
    """Return the ranking on screen as a CSV in the language's convention."""
    result, selection, tax, lang = page.result, page.selection, page.tax, page.lang
    return views.csv_bytes(views.ranking_table(result, selection, tax), lang)


def map_tab(page: Page) -> None:
    """Show the Map tab: the headline figures, the map, its downloads and its notes."""
    # Imported by the script run, which registers the map's Streamlit component (see socialmap.serve).
    from streamlit_folium import st_folium

    lang, tax, result, selection = page.lang, page.tax, page.result, page.selection
    service_type, target_group, metric = selection.service_type, selection.target_group, selection.metric
    sources, assets, asset_url = page.sources, page.assets, page.asset_url
    ranking = functools.partial(ranking_csv, page)
    figures = views.headline(result, selection, tax)
    cols = st.columns(4)
    if service_type == views.ALL_TYPES:
        score = views.score_label(result, views.types_in_scope(tax, target_group), tax, lang)
        cols[0].metric(t("Municipalities", lang), format_number(figures["areas"], lang, decimals=0))
        cols[1].metric(t("Service types", lang), format_number(figures["types"], lang, decimals=0))
        median = format_number(figures["composite_gap"], lang)
        cols[2].metric(t("Median: {score}", lang, score=plain(score)), median)
    else:
        cols[0].metric(t("Need (persons)", lang), format_number(figures["need"], lang, decimals=0))
        cols[1].metric(t("Supply (places)", lang), format_number(figures["supply"], lang, decimals=0))
        cols[2].metric(t("Services", lang), format_number(figures["services"], lang, decimals=0))
        cols[3].metric(
            t("Gap score, all municipalities (%)", lang), format_number(figures["gap_score"], lang)
        )
    st.caption(plain(views.metric_help(metric, result, tax, lang)))
    # The base map stays the same across selections, so streamlit-folium keeps its frame and
    # only swaps the layers (choropleth, services, legend, title): no reload of Leaflet.
    parts = views.map_parts(
        views.selection_map(
            result, selection, tax, attribution=sources.attribution, assets=assets, asset_url=asset_url
        )
    )
    st_folium(
        parts.base,
        key="map",
        height=580,
        use_container_width=True,
        returned_objects=[],
        feature_group_to_add=parts.layers,
        layer_control=parts.control,
    )

    offline_map = functools.partial(
        views.selection_map, result, selection, tax, attribution=sources.attribution, assets=assets
    )
    st.caption(t("Downloads of what is on screen", lang))
    d1, d2, d3 = st.columns(3)
    offer_download(
        d1,
        t("Table (CSV)", lang),
        ranking,
        file_name=views.download_name(selection, "csv"),
        mime=MIME["csv"],
        key="download_csv",
    )
    offer_download(
        d2,
        t("Map layers (GeoPackage)", lang),
        lambda: views.gpkg_bytes(views.selection_layers(result, selection, tax)),
        file_name=views.download_name(selection, "gpkg"),
        mime=MIME["gpkg"],
        key="download_gpkg",
    )
    offer_download(
        d3,
        t("Map (HTML, works offline)", lang),
        lambda: views.map_html_bytes(offline_map()),
        file_name=views.download_name(selection, "html"),
        mime=MIME["html"],
        key="download_html",
    )
    p1, p2, p3 = st.columns(3)
    offer_download(
        p1,
        t("Print map (PNG)", lang),
        lambda: views.print_map(result, selection, tax, "png"),
        file_name=views.download_name(selection, "png"),
        mime=MIME["png"],
        key="download_png",
    )
    offer_download(
        p2,
        t("Print map (PDF)", lang),
        lambda: views.print_map(result, selection, tax, "pdf"),
        file_name=views.download_name(selection, "pdf"),
        mime=MIME["pdf"],
        key="download_pdf",
    )
    offer_download(
        p3,
        t("National brief (PDF, one page)", lang),
        lambda: views.brief_pdf(result, tax, lang),
        file_name=views.brief_name(result, None, lang),
        mime=MIME["pdf"],
        key="download_brief_national",
    )
    for note in run_notes(result, lang, taxonomy=tax):
        st.info(plain(note))
    hidden_note = views.privacy_note(selection, tax)
    if hidden_note:
        st.info(plain(hidden_note))
    cells_note = views.cells_note(result, selection, tax)
    if cells_note:
        st.info(plain(cells_note))


def ranking_tab(page: Page) -> None:
    """Show the Ranking tab: the municipalities by their gap, and its CSV."""
    lang, tax, result, selection = page.lang, page.tax, page.result, page.selection
    ranking = functools.partial(ranking_csv, page)
    st.subheader(plain(views.map_title(result, selection, tax)))
    st.caption(t("Rank 1 is the largest gap. Municipalities without a score are listed last.", lang))
    show_table(views.ranking_table(result, selection, tax), lang, key="ranking", height="content")
    offer_download(
        st,
        t("Table (CSV)", lang),
        ranking,
        file_name=views.download_name(selection, "csv"),
        mime=MIME["csv"],
        key="download_ranking_csv",
    )
