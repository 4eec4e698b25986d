"""socialmap app (placeholder until the planners' app lands): the Kosovo demo on a map.

Thin by design: widgets, caching, layout and text only; every computation is a library function.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

import socialmap
from socialmap import maps
from socialmap.errors import SocialMapError

st.set_page_config(page_title="socialmap", layout="wide")
st.title("socialmap: social services in Kosovo (demo)")


@st.cache_resource(show_spinner="Loading the Kosovo demo…")
def _demo(name: str) -> socialmap.datasets.Demo:
    return socialmap.load_demo(name)


try:
    demo = _demo("kosovo")
except SocialMapError as exc:
    st.error(str(exc))
    st.stop()

st.caption(
    f"{len(demo.areas)} municipalities, {len(demo.services)} services. "
    f"{demo.provenance['boundaries']}. Services other than the Centres for Social Work are illustrative."
)
fmap = maps.areas_map(
    demo.areas,
    demo.services,
    tooltip_columns=("name", "name_sr", "name_en"),
    attribution=demo.provenance["boundaries"],
)
st_folium(fmap, height=600, use_container_width=True, returned_objects=[])
