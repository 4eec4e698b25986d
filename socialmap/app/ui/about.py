"""The About tab: what the figures mean, and where the data come from."""

from __future__ import annotations

import streamlit as st

from socialmap import views
from socialmap.app.ui.common import Page, show_table
from socialmap.display import plain
from socialmap.i18n import t


def about_tab(page: Page) -> None:
    """Show what the figures mean and where the data come from."""
    lang, tax, result, sources = page.lang, page.tax, page.result, page.sources
    st.subheader(t("What the figures mean", lang))
    for heading, text in views.help_sections(result, tax, lang):
        st.markdown(f"**{plain(heading)}**  \n{plain(text)}")
    st.subheader(t("Where the data come from", lang))
    for line in sources.lines:
        st.markdown(f"- {plain(line)}")
    show_table(views.provenance_table(result, tax, lang), lang, key="provenance")
