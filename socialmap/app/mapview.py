"""
The app's map: the folium map of a selection, split so that a rerun swaps layers, drawn offline.

:func:`selection_map` draws the areas coloured by the selected metric, the services as markers
(clustered, with the marker and cluster icons of :func:`_marker_js` and :func:`_cluster_js`), the
demand cells, the legend and the title. :func:`map_parts` splits it into a fixed base and changing
layers, so streamlit-folium swaps the layers instead of reloading its frame. Leaflet and its plugins
are pointed at local copies (:func:`socialmap.assets.use_local_assets`, URLs from
:func:`static_url`), so the map draws with no internet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap.app.explore import (
    Selection,
    area_names,
    choice_label,
    score_label,
    selection_frame,
    types_in_scope,
)
from socialmap.app.labels import _SHARES, ALL_TYPES, BASEMAPS, METHOD_LABELS, _text, label
from socialmap.app.runner import cost_label, published
from socialmap.assets import use_local_assets
from socialmap.i18n import format_number, t

if TYPE_CHECKING:
    import folium

    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


#: Number format of each metric in map legends and tooltips.
_FORMATS = {
    "gap_score": "{:,.1f}",
    "composite_gap": "{:,.1f}",
    "covered_share": "{:,.0f}",
    "need": "{:,.0f}",
    "supply": "{:,.0f}",
    "unmet_need": "{:,.0f}",
    "services": "{:,.0f}",
    "supply_per_10k": "{:,.1f}",
    "access": "{:,.4f}",
    "population": "{:,.0f}",
    "spar": "{:,.2f}",
    "places_per_1000": "{:,.1f}",
    "supply_reach": "{:,.0f}",
}
#: Decimals of each metric in tooltips drawn with :func:`socialmap.i18n.format_number`.
_DECIMALS = {"gap_score": 1, "composite_gap": 1, "need": 0, "supply": 0, "population": 0}


#: Deepest zoom of the maps (that of OpenStreetMap's tiles).
MAX_ZOOM = 18

#: Text size of the map's controls and tooltips.
FONT_SIZE = "0.8rem"

#: Zoom steps the map may stop at when fitting the areas (Leaflet's ``zoomSnap``).
ZOOM_SNAP = 0.25

#: Room left around the areas when the map is fitted to them: left, top, right, bottom (pixels).
FIT_PADDING_PX = (10, 48, 10, 56)


def map_title(result: Result, selection: Selection, taxonomy: Taxonomy) -> str:
    """Title of the map: metric, service type (or target group), method and catchment."""
    lang = selection.lang
    if selection.service_type == ALL_TYPES:
        types = types_in_scope(taxonomy, selection.target_group)
        what = score_label(result, types, taxonomy, lang)
        if what != label("composite_gap", lang):  # one type scored: its name is in the label
            return what
        scope = choice_label(selection.target_group, taxonomy, lang) if selection.target_group else None
        return f"{what}: {scope}" if scope else what
    rows = result.for_service_type(selection.service_type)
    method = t(METHOD_LABELS.get(str(rows["method"].iloc[0]), str(rows["method"].iloc[0])), lang)
    if "catchment_min" in rows.columns:  # travel time on a road network
        minutes = format_number(float(rows["catchment_min"].iloc[0]), lang, decimals=0)
        reach = f"{minutes} min, {cost_label(result, lang)}"
    else:
        reach = format_number(float(rows["catchment_m"].iloc[0]) / 1000, lang, decimals=0) + " km"
    return (
        f"{label(selection.metric, lang)}: {taxonomy.label(selection.service_type, lang)} ({method}, {reach})"
    )


def selection_map(
    result: Result,
    selection: Selection,
    taxonomy: Taxonomy,
    *,
    attribution: str = "",
    assets: Path | None = None,
    asset_url: str | None = None,
) -> folium.Map:
    """
    Draw the choropleth of the selection, with clustered services coloured by type.

    Parameters
    ----------
    result
        The analysis.
    selection
        What is on screen: the metric colours the areas (classes by ``scheme`` and ``k``, legend
        with the class breaks); tooltips give the name, need, supply and gap.
    taxonomy
        Labels of service types (layer names and tooltips).
    attribution
        Sources and caveats drawn in the map's corner.
    assets
        Folder of the local map libraries (see :func:`use_local_assets`); ``None`` leaves
        folium's CDN links (the map then needs internet).
    asset_url
        URL under which ``assets`` is served; ``None`` inlines the libraries into the page.

    Returns
    -------
    map
        A ``folium.Map`` with one layer for the areas, one per service type and a layer control.
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    import folium

    from socialmap.maps import choropleth_map

    lang = selection.lang
    frame = selection_frame(result, selection, taxonomy)
    # Areas drawn in a fixed order (not by rank), so each keeps its place among the map's paths.
    shown = frame.sort_values("area_id", kind="stable").reset_index(drop=True)
    column = selection.metric
    for col in _SHARES:
        if col in shown.columns:
            shown[col] = shown[col] * 100
    if selection.service_type == ALL_TYPES:
        texts = {"population": "population", "rank": "rank"}
    else:
        texts = {"need": "need", "supply": "supply", "gap_score": "gap_score"}
    tooltip = ["name"]
    labels = {"name": label("name", lang), column: label(column, lang)}
    for key in texts:
        if key == column:
            continue
        col = f"{key}__text"
        shown[col] = [format_number(v, lang, decimals=_DECIMALS.get(key, 0)) for v in shown[key]]
        tooltip.append(col)
        labels[col] = label(key, lang)
    sites = public_service_sites(result.services, taxonomy)
    single = None if selection.service_type == ALL_TYPES else selection.service_type
    fmap = choropleth_map(
        shown,
        column,
        services=None,
        scheme=selection.scheme,
        k=selection.k,
        tooltip_columns=tuple(tooltip),
        labels=labels,
        attribution=attribution,
        tiles=BASEMAPS[selection.basemap],
        title=map_title(result, selection, taxonomy),
        value_format=_FORMATS.get(column, "{:,.1f}"),
        lang=lang,
        taxonomy=taxonomy,
        service_legend=_service_legend(sites, taxonomy, lang, shown=single),
    )
    # Leaflet.markercluster needs the map's maxZoom, which only a tile layer sets otherwise: without
    # it the plain (no tiles) map throws "Map has no maxZoom specified" and draws no services.
    fmap.options.setdefault("max_zoom", MAX_ZOOM)
    fmap.font_size = FONT_SIZE  # folium's 1rem makes the layer list crowd a small map
    fmap.options.setdefault("zoom_snap", ZOOM_SNAP)  # fit the areas closely, not to a whole zoom level
    for child in fmap._children.values():
        if isinstance(child, folium.FitBounds):  # keep the areas clear of the title, note and legend
            child.options.setdefault("paddingTopLeft", FIT_PADDING_PX[:2])
            child.options.setdefault("paddingBottomRight", FIT_PADDING_PX[2:])
    _add_services(fmap, sites, taxonomy, lang, shown=single)
    if selection.cells:
        _add_cells(fmap, result, selection, taxonomy)
    if demonstration_note(result, lang):
        _add_demo_mark(fmap, lang)
    # choropleth_map added its layer control before the service layers; its script must come
    # after theirs (it names them), so move it to the end of the map's children. Collapsed to an
    # icon: the list of eight layers would otherwise cover the title and part of the map.
    for key, child in list(fmap._children.items()):
        if isinstance(child, folium.LayerControl):
            child.options["collapsed"] = True
            fmap._children[key] = fmap._children.pop(key)
    if assets is not None:
        use_local_assets(fmap, assets, base_url=asset_url)
    return fmap


def selection_cells(result: Result, selection: Selection, taxonomy: Taxonomy) -> gpd.GeoDataFrame | None:
    """
    Return the published demand cells of the selected service type, or ``None`` when there are none to show.

    ``None`` for all service types (the cells are per type), for a sensitive type (its cells are
    never published: :func:`socialmap.privacy.public_cells`) and where the analysis made no cells.
    Columns: those of :func:`socialmap.export.cells_table` that the run has.
    """
    from socialmap.export import CELL_COLUMNS

    if selection.service_type == ALL_TYPES:
        return None
    result = published(result, taxonomy)  # the one rule: no cell of a sensitive type
    demand = result.demand
    if not len(demand) or "service_type" not in demand.columns:
        return None
    cells = demand[demand["service_type"].astype(str) == selection.service_type]
    if cells.empty:
        return None
    keep = [c for c in (*CELL_COLUMNS, "nearest_min") if c in cells.columns]
    return gpd.GeoDataFrame(cells[keep], geometry=cells.geometry, crs=demand.crs).reset_index(drop=True)


def cells_note(result: Result, selection: Selection, taxonomy: Taxonomy) -> str | None:
    """Say why the demand cells asked for are not on the map (all types, a sensitive type); else ``None``."""
    from socialmap.privacy import sensitive_service_types

    if not selection.cells or selection_cells(result, selection, taxonomy) is not None:
        return None
    if selection.service_type == ALL_TYPES:
        return t(
            "Choose a service type to see its demand cells: they are drawn per service type.", selection.lang
        )
    if selection.service_type in sensitive_service_types(taxonomy):
        return t(
            "The demand cells of a service type serving a sensitive group are never shown: a cell holds a "
            "handful of people, and its distances would point at the sites.",
            selection.lang,
        )
    return t("This analysis has no demand cells for this service type.", selection.lang)


def _cell_column(cells: gpd.GeoDataFrame) -> str:
    """Choose what colours the cells: unmet need where known, else distance or time to the nearest site."""
    for col in ("unmet", "nearest_m", "nearest_min"):
        if col in cells.columns and pd.to_numeric(cells[col], errors="coerce").notna().any():
            return col
    return "unmet"


def _add_cells(fmap: folium.Map, result: Result, selection: Selection, taxonomy: Taxonomy) -> None:
    """Add the selected type's demand cells (:func:`socialmap.maps.demand_cells_layer`) to a map."""
    from socialmap.maps import demand_cells_layer

    cells = selection_cells(result, selection, taxonomy)
    if cells is None:
        return
    config: Any = getattr(result, "config", None)
    size = float(config.cell_size_m) if getattr(config, "spreading", None) == "grid" else None
    demand_cells_layer(
        cells,
        _cell_column(cells),
        cell_size_m=size,
        scheme=selection.scheme,
        k=selection.k,
        lang=selection.lang,
    ).add_to(fmap)


def service_colours(services: gpd.GeoDataFrame) -> dict[str, str]:
    """Colour of each service type's markers (by sorted key, as in :mod:`socialmap.maps`)."""
    from socialmap.maps import SERVICE_COLOURS

    kinds = services["service_type"].astype("object").where(services["service_type"].notna(), "unspecified")
    order = sorted(kinds.astype(str).unique())
    return {st: SERVICE_COLOURS[i % len(SERVICE_COLOURS)] for i, st in enumerate(order)}


def _add_services(
    fmap: folium.Map,
    services: gpd.GeoDataFrame,
    taxonomy: Taxonomy,
    lang: str,
    *,
    shown: str | None = None,
) -> list[tuple[str, str]]:
    """
    Services as markers clustered per type, one layer per type, coloured as in :mod:`socialmap.maps`.

    One folium element per type (``FastMarkerCluster``: the markers are made in the browser from
    a data array), so drawing 150 or 15,000 services costs about the same in Python. With
    ``shown`` (a service type) only that type's layer is on; the others are listed in the layer
    control, off. Returns the ``(colour, label)`` of the layers that are on, for the legend.
    """
    import folium
    from folium.plugins import FastMarkerCluster

    from socialmap.i18n import provider_label
    from socialmap.maps import COORD_DECIMALS

    if services is None or services.empty:
        return []
    colours = service_colours(services)
    pts = services.to_crs("EPSG:4326") if not services.crs.equals("EPSG:4326") else services
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    geoms = pts.geometry.where(pts.geometry.geom_type == "Point", pts.geometry.representative_point())
    types = pts["service_type"].astype("object").where(pts["service_type"].notna(), "unspecified").astype(str)
    order = sorted(types.unique())
    labels = {st: _text(taxonomy.label(st, lang) if st in taxonomy.service_types else st) for st in order}
    names = [_text(n) for n in area_names(pts, lang).tolist()]  # name_<lang> where the services have it
    lat = np.round(geoms.y.to_numpy(dtype=float), COORD_DECIMALS).tolist()
    lon = np.round(geoms.x.to_numpy(dtype=float), COORD_DECIMALS).tolist()
    extra = [""] * len(pts)
    if "capacity" in pts.columns:
        unknown, word = _text(t("unknown", lang)), _text(t("Capacity", lang))
        caps = pd.to_numeric(pts["capacity"], errors="coerce").tolist()
        extra = [
            f"{e}<br>{word}: {unknown if pd.isna(c) else _text(format_number(c, lang, decimals=0))}"
            for e, c in zip(extra, caps, strict=True)
        ]
    if "provider" in pts.columns:
        word = _text(t("Provider", lang))
        extra = [
            e if pd.isna(v) else f"{e}<br>{word}: {_text(provider_label(v, lang))}"
            for e, v in zip(extra, pts["provider"].tolist(), strict=True)
        ]
    if "illustrative" in pts.columns:
        invented = _text(t("invented for the demonstration", lang))
        flags = pts["illustrative"].astype(str).str.strip().str.lower().isin(("true", "1", "yes")).tolist()
        extra = [f"{e}<br><i>{invented}</i>" if f else e for e, f in zip(extra, flags, strict=True)]
    type_list = types.tolist()
    legend = []
    for st in order:
        name = labels[st]
        data = [
            [lat[i], lon[i], f"{names[i]} ({name})", f"<b>{names[i]}</b><br>{name}{extra[i]}"]
            for i, row_type in enumerate(type_list)
            if row_type == st
        ]
        colour = colours[st]
        on = shown is None or st == shown
        layer_name = f"{name} ({format_number(len(data), lang, decimals=0)})"
        group = folium.FeatureGroup(name=layer_name, show=on)
        FastMarkerCluster(
            data,
            callback=_marker_js(colour),
            icon_create_function=_cluster_js(colour),
            control=False,
        ).add_to(group)
        if not on:
            group.add_child(_layer_off_element())
        group.add_to(fmap)
        if on:
            legend.append((colour, layer_name))
    return legend


def _service_legend(
    services: gpd.GeoDataFrame, taxonomy: Taxonomy, lang: str, *, shown: str | None = None
) -> list[tuple[str, str]]:
    """``(colour, "label (count)")`` of the service layers :func:`_add_services` puts on the map."""
    if services is None or services.empty:
        return []
    colours = service_colours(services)
    kinds = services["service_type"].astype("object").where(services["service_type"].notna(), "unspecified")
    counts = kinds.astype(str).value_counts()
    rows = []
    for st in sorted(counts.index):
        if shown is not None and st != shown:
            continue
        name = taxonomy.label(st, lang) if st in taxonomy.service_types else st
        rows.append((colours[st], f"{name} ({format_number(int(counts[st]), lang, decimals=0)})"))
    return rows


def _layer_off_element() -> Any:
    """
    Return an element that takes its layer off the map once drawn (it stays in the layer control).

    folium leaves a ``show=False`` layer off the map, but streamlit-folium adds every layer it is
    given; this puts such a layer back off, so both show the same.
    """
    from branca.element import MacroElement
    from folium.template import Template

    class LayerOff(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            setTimeout(function () { {{ this._parent.get_name() }}.remove(); }, 0);
            {% endmacro %}
            """
        )

    element = LayerOff()
    element._name = "LayerOff"
    return element


@dataclass
class MapParts:
    """
    A map split for streamlit-folium: a base that stays the same, and the layers that change.

    streamlit-folium rebuilds its frame (reloading Leaflet) whenever the map's script changes,
    but swaps layers passed as ``feature_group_to_add`` into the frame it has. Passing the
    choropleth, the services, the legend and the title that way redraws a new selection in the
    same frame.

    Attributes
    ----------
    base
        The map without its changing parts: background, bounds, scale, the note in its corner.
    layers
        Feature groups: the areas (choropleth with tooltips), one per service type, and one
        (not listed in the layer control) holding the legend and the title.
    control
        The layer control, listing ``layers``.
    """

    base: folium.Map
    layers: list[Any]
    control: Any = None


#: Classes of the markup on a map that changes with the selection or the language: moved into a
#: layer by :func:`map_parts`, so that a kept frame shows them anew.
_CHANGING_MARKUP = ("socialmap-legend", "socialmap-title", "socialmap-demo")


def map_parts(fmap: folium.Map) -> MapParts:
    """
    Split a map drawn by :func:`selection_map` into a fixed base and changing layers.

    Parameters
    ----------
    fmap
        The map (changed in place: its changing parts move into the layers).

    Returns
    -------
    parts
        For ``st_folium(parts.base, feature_group_to_add=parts.layers,
        layer_control=parts.control)``.

    Notes
    -----
    The legend and the title that :func:`socialmap.maps.choropleth_map` adds to the page, and the
    demonstration mark (elements with the classes ``socialmap-legend``, ``socialmap-title`` and
    ``socialmap-demo``), are moved into a layer that places them on the map when added and
    removes them when removed: they change with the language and the data, the base does not.
    """
    import folium

    root: Any = fmap.get_root()
    overlay = folium.FeatureGroup(name="legend", control=False)
    for key, element in list(root.html._children.items()):
        markup = getattr(element, "markup", None)
        if isinstance(markup, str) and any(c in markup for c in _CHANGING_MARKUP):
            del root.html._children[key]
            overlay.add_child(_overlay_class()(markup))
    layers: list[Any] = []
    control = None
    for key, child in list(fmap._children.items()):
        if getattr(child, "_name", "") == "NarrowLegend":  # the overlay closes the legend itself
            pass
        elif isinstance(child, folium.LayerControl):
            control = child
        elif isinstance(child, folium.FeatureGroup):
            layers.append(child)
        elif isinstance(child, folium.GeoJson):
            group = folium.FeatureGroup(name=child.layer_name)
            child.control = False
            group.add_child(child)
            layers.insert(0, group)
        else:
            continue
        del fmap._children[key]
    layers.append(overlay)
    return MapParts(fmap, layers, control)


@functools.cache
def _overlay_class() -> type:
    """Return the folium element that shows ready-made markup on its layer's map while the layer is."""
    from branca.element import MacroElement
    from folium.template import Template

    class MapOverlay(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            (function () {
                var div = document.createElement("div");
                div.innerHTML = {{ this.markup|tojson }};
                L.DomEvent.disableClickPropagation(div);
                {{ this._parent.get_name() }}.on("add", function (e) {
                    var container = e.target._map.getContainer();
                    container.appendChild(div);
                    if (container.clientWidth < {{ this.narrow }}) {  // a phone: legend closed
                        div.querySelectorAll("details").forEach(function (d) { d.open = false; });
                    }
                });
                {{ this._parent.get_name() }}.on("remove", function () { div.remove(); });
            })();
            {% endmacro %}
            """
        )

        def __init__(self, markup: str) -> None:
            from socialmap.maps import NARROW_MAP_PX

            super().__init__()
            self._name = "MapOverlay"
            self.markup = markup
            self.narrow = NARROW_MAP_PX

    return MapOverlay


def _marker_js(colour: str) -> str:
    from socialmap.maps import _marker_js as marker_js

    return marker_js(colour, sticky=False)


def _cluster_js(colour: str) -> str:
    return (
        "function (cluster) { return L.divIcon({html: '<div style=\"width:28px;height:28px;"
        f"line-height:28px;border-radius:50%;background:{colour};color:#fff;text-align:center;"
        "font:bold 12px sans-serif;opacity:.85;\">' + cluster.getChildCount() + '</div>',"
        " className: 'socialmap-cluster', iconSize: L.point(28, 28)}); }"
    )


def static_url(base_url_path: str | None, *parts: str) -> str:
    """
    URL of a file in Streamlit's app static folder (``server.enableStaticServing``).

    Parameters
    ----------
    base_url_path
        Streamlit's ``server.baseUrlPath`` ("" when the app is served at the root).
    *parts
        Path inside the ``static`` folder.

    Examples
    --------
    >>> static_url("", "vendor")
    '/app/static/vendor'
    >>> static_url("/planner/", "vendor")
    '/planner/app/static/vendor'
    """
    prefix = "/" + base_url_path.strip("/") if base_url_path and base_url_path.strip("/") else ""
    return "/".join([prefix, "app", "static", *(p.strip("/") for p in parts)])


def public_service_sites(services: gpd.GeoDataFrame, taxonomy: Taxonomy) -> gpd.GeoDataFrame:
    """
    Return the services whose locations may be shown: all but those of sensitive types (shelters…).

    Their addresses are confidential, so the app neither draws nor exports them (as the briefs and
    exports do not; see :mod:`socialmap.privacy`).
    """
    from socialmap.privacy import sensitive_service_types

    hidden = set(sensitive_service_types(taxonomy))
    return services[~services["service_type"].isin(hidden)].copy()


def demonstration_note(result: Result, lang: str | None = None) -> str | None:
    """Say that the figures rest on invented services, when they do (see :mod:`socialmap.static`)."""
    from socialmap.static import demonstration_note as note

    return note(result, lang)


def _add_demo_mark(fmap: folium.Map, lang: str) -> None:
    """Put a red "demonstration data" mark on a map (under the zoom buttons), for invented services."""
    from socialmap.maps import _add_markup

    _add_markup(
        fmap,
        '<div class="socialmap-demo" style="position:absolute;top:84px;left:10px;z-index:9999;'
        "background:#fff;border:1.5px solid #b30000;color:#b30000;font:bold 11px sans-serif;"
        f'padding:2px 6px;">{_text(t("DEMONSTRATION DATA", lang))}</div>',
    )
