"""The Municipality profile tab: one municipality's figures, its composite's make-up, its brief and trend."""

from __future__ import annotations

import streamlit as st

from socialmap import views
from socialmap.app.ui.cached import demo_trend
from socialmap.app.ui.common import DEMO, MIME, Page, show_table
from socialmap.display import offer_download, plain
from socialmap.i18n import format_number, t


def profile_tab(page: Page) -> None:
    """Show the profile of the municipality chosen in the tab."""
    lang, tax, result, target_group = page.lang, page.tax, page.result, page.selection.target_group
    uploads, road_options = page.uploads, page.road_options
    method, catchment_km, spreading, cell_km = page.method, page.catchment_km, page.spreading, page.cell_km
    names = views.area_options(result, lang)
    area_id = st.selectbox(
        t("Municipality", lang),
        list(names),
        format_func=lambda a: names[a],
        key="profile_area",
        placeholder=t("Choose an option", lang),
    )
    summary = views.profile_summary(result, area_id, tax, target_group=target_group, lang=lang)
    st.subheader(plain(summary["name"]))
    c1, c2, c3 = st.columns(3)
    c1.metric(t("Population", lang), format_number(summary["population"], lang, decimals=0))
    c2.metric(plain(summary["score_label"]), format_number(summary["composite_gap"], lang))
    c3.metric(
        t("Rank", lang),
        "–"
        if summary["rank"] is None
        else t(
            "{rank} of {n}",
            lang,
            rank=format_number(summary["rank"], lang, decimals=0),
            n=format_number(summary["areas"], lang, decimals=0),
        ),
    )
    show_table(
        views.profile_table(result, area_id, tax, target_group=target_group, lang=lang),
        lang,
        key="profile",
    )
    st.markdown("**" + t("Composite make-up", lang) + "**")
    st.caption(t(views.METRIC_HELP["composite_gap"], lang))
    show_table(views.composite_makeup_table(result, area_id, tax, lang), lang, key="profile_makeup")
    st.caption(t("Gap score (%) by service type, beside all municipalities together", lang))
    chart = views.profile_chart(result, area_id, tax, target_group=target_group, lang=lang)
    st.vega_lite_chart(views.profile_chart_spec(chart, lang), width="stretch")
    offer_download(
        st,
        t("Brief of {name} (PDF, one page)", lang, name=summary["name"]),
        lambda: views.brief_pdf(result, tax, lang, area_id=area_id),
        file_name=views.brief_name(result, area_id, lang),
        mime=MIME["pdf"],
        key="download_brief",
    )
    # The trend over the years: the demo's censuses (own data has one year: no trend to draw).
    if all(u is None for u in uploads) and road_options[0] is None:
        with st.spinner(t("Analysing…", lang)):
            trend = demo_trend(DEMO, method, catchment_km * 1000.0, spreading, cell_km * 1000.0)
        if trend is not None:
            from socialmap.monitor import INDICATORS

            st.markdown("**" + t("Trend: {years}", lang, years=" – ".join(map(str, trend.years))) + "**")
            indicator = st.selectbox(
                t("Indicator", lang),
                ["places_per_1000", "share_within_reach", "places", "need"],
                format_func=lambda k: t(INDICATORS[k].name, lang),
                key="profile_trend_indicator",
                placeholder=t("Choose an option", lang),
            )
            trend_data, trend_notes = views.trend_chart(trend, area_id, tax, indicator, lang)
            st.vega_lite_chart(views.trend_chart_spec(trend_data, indicator, lang), width="stretch")
            st.caption(t(INDICATORS[indicator].definition, lang))
            for note in trend_notes:
                st.info(plain(note))
