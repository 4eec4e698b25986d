"""Interactive maps (folium). The only module that converts to EPSG:4326, and only to draw.

Maps work offline: no tile layer is added unless asked for, and all text drawn from the data is
HTML-escaped, so a name such as ``<script>`` shows as text.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from socialmap.crs import require_crs

if TYPE_CHECKING:
    import folium

#: Colours of service markers, cycled over service types in sorted order.
SERVICE_COLOURS = (
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
)


def _to_4326(gdf: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    require_crs(gdf, names=(label,))
    return gdf if gdf.crs.equals("EPSG:4326") else gdf.to_crs("EPSG:4326")


def _escaped(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: html.escape(str(v)) if pd.notna(v) else "")
    return out


def areas_map(
    areas: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame | None = None,
    *,
    tooltip_columns: tuple[str, ...] = ("name",),
    attribution: str = "",
    tiles: str | None = None,
) -> folium.Map:
    """
    Draw areas (and optionally service sites) on an offline folium map.

    Parameters
    ----------
    areas
        Polygons with a CRS.
    services
        Points with ``name`` and ``service_type``; drawn as circle markers coloured by type.
    tooltip_columns
        Area columns shown in the tooltip (those present).
    attribution
        Data sources and caveats drawn in the map's corner (e.g. "schematic boundaries").
    tiles
        A folium tile layer name, or ``None`` for a plain background that needs no internet.

    Returns
    -------
    map
        A ``folium.Map`` fitted to the areas.
    """
    import folium

    shown = _to_4326(areas, "areas")
    cols = [c for c in tooltip_columns if c in shown.columns]
    shown = _escaped(shown[[*cols, "geometry"]], cols)
    minx, miny, maxx, maxy = shown.total_bounds
    fmap = folium.Map(tiles=tiles, control_scale=True, attr=html.escape(attribution) if tiles else None)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.GeoJson(
        shown.to_json(),
        name="areas",
        style_function=lambda _f: {"color": "#444444", "weight": 1, "fillColor": "#9ecae1", "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=cols) if cols else None,
    ).add_to(fmap)
    if services is not None and len(services):
        _add_services(fmap, services)
    if attribution:
        _add_note(fmap, attribution)
    folium.LayerControl().add_to(fmap)
    return fmap


def _add_services(fmap: folium.Map, services: gpd.GeoDataFrame) -> None:
    import folium

    pts = _to_4326(services, "services")
    types = sorted(pts["service_type"].astype(str).unique())
    colour = {t: SERVICE_COLOURS[i % len(SERVICE_COLOURS)] for i, t in enumerate(types)}
    layer = folium.FeatureGroup(name="services")
    for name, stype, geom in zip(pts["name"], pts["service_type"].astype(str), pts.geometry, strict=True):
        folium.CircleMarker(
            location=[geom.y, geom.x],
            radius=4,
            color=colour[stype],
            fill=True,
            fill_opacity=0.9,
            tooltip=html.escape(f"{name} ({stype})"),
        ).add_to(layer)
    layer.add_to(fmap)


def _add_note(fmap: folium.Map, text: str) -> None:
    from branca.element import Element

    note: Any = Element(
        '<div style="position:absolute;bottom:6px;left:6px;z-index:9999;background:rgba(255,255,255,.85);'
        f'padding:2px 6px;font:11px sans-serif;">{html.escape(text)}</div>'
    )
    fmap.get_root().html.add_child(note)
