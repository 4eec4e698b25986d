"""Interactive maps (folium). The maps are the only modules that convert to EPSG:4326, and only to draw.

Maps work offline: no tile layer is added unless asked for, and all text drawn from the data is
HTML-escaped, so a name such as ``<script>`` shows as text.

Every text the maps add (legend, "no data", tooltip labels, layer names, the attribution note) is
in the language given by ``lang`` (:mod:`socialmap.i18n`); area names are taken from
``name_<lang>`` where the areas have it, service types are shown by their taxonomy label, and
numbers use the language's separators (``12.345,6`` in Albanian and Serbian).

The pieces every map shares (limits, colours, escaping, number formats, legends) are in
:mod:`socialmap._map_parts`, the demand cells layer in :mod:`socialmap._map_cells`; their public
names are importable from here.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialmap._map_cells import CELL_LAYER_COLUMNS, CELLS_LEGEND_CSS, demand_cells_layer  # noqa: F401 - re-exported
from socialmap._map_parts import (  # noqa: F401 - also re-exported (the names maps had)
    COORD_DECIMALS,
    MAP_CSS,
    MAX_DISPLAY_VERTICES,
    MAX_ZOOM,
    MISSING_TEXT,
    NARROW_MAP_PX,
    NO_DATA_COLOUR,
    SERVICE_COLOURS,
    _check_columns,
    _escaped,
    _legend_entries,
    _legend_markup,
    _narrow_note,
    _number_formatter,
    _palette,
    _safe,
    _to_4326,
    _tooltip_texts,
)
from socialmap.errors import SocialMapError
from socialmap.gaps import honest_classes
from socialmap.i18n import area_names, check_language, column_title, localise_number, t

if TYPE_CHECKING:
    import folium

    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)


def _service_colours(types: list[str]) -> dict[str, str]:
    return {key: SERVICE_COLOURS[i % len(SERVICE_COLOURS)] for i, key in enumerate(sorted(types))}


def _type_label(taxonomy: Taxonomy | None, key: str, lang: str) -> str:
    """Return a service type's label in ``lang`` (its key when the taxonomy does not know it)."""
    if taxonomy is not None and key in taxonomy.service_types:
        return str(taxonomy.label(key, lang))
    return key


def _localised_names(gdf: gpd.GeoDataFrame, lang: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` with ``name`` in ``lang`` where a filled ``name_<lang>`` column exists."""
    if "name" not in gdf.columns or f"name_{lang}" not in gdf.columns:
        return gdf
    out = gdf.copy()
    out["name"] = area_names(out, lang)
    return out


def _note_text(text: str, lang: str) -> str:
    """Translate an attribution note: whole, or part by part (parts joined by ``"; "``)."""
    whole = t(text, lang)
    if whole != text:
        return whole
    return "; ".join(t(part, lang) for part in text.split("; "))


def areas_map(
    areas: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame | None = None,
    *,
    tooltip_columns: tuple[str, ...] = ("name",),
    attribution: str = "",
    tiles: str | None = None,
    lang: str | None = None,
    labels: Mapping[str, str] | None = None,
    taxonomy: Taxonomy | None = None,
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
        Data sources and caveats drawn in the map's corner (e.g. "schematic boundaries"); texts the
        catalogs know (e.g. the demo's) are translated.
    tiles
        A folium tile layer name, or ``None`` for a plain background that needs no internet.
    lang
        Language of the map's texts and of the area names (``name_<lang>`` when present);
        ``None``: :func:`socialmap.i18n.default_language`.
    labels
        Displayed label per tooltip column; others show their title (:func:`socialmap.i18n.column_title`).
    taxonomy
        For the service types' labels (default: their keys).

    Returns
    -------
    map
        A ``folium.Map`` fitted to the areas.
    """
    import folium

    lang = check_language(lang)
    labels = dict(labels or {})
    shown = _localised_names(_to_4326(areas, "areas"), lang)
    cols = [c for c in tooltip_columns if c in shown.columns]
    shown = _escaped(shown[[*cols, "geometry"]], cols)
    minx, miny, maxx, maxy = shown.total_bounds
    fmap = folium.Map(tiles=tiles, attr=html.escape(attribution) if tiles else None)
    add_scale_bar(fmap)
    fmap.options["max_zoom"] = MAX_ZOOM  # folium sets it only on a tile layer
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.GeoJson(
        shown.to_json(),
        name=_safe(t("Areas", lang)),
        style_function=lambda _f: {
            "color": "#444444",
            "weight": 1,
            "fillColor": "#9ecae1",
            "fillOpacity": 0.5,
        },
        tooltip=(
            folium.GeoJsonTooltip(
                fields=cols, aliases=[_safe(labels.get(c, column_title(c, lang))) for c in cols]
            )
            if cols
            else None
        ),
    ).add_to(fmap)
    if services is not None and len(services):
        _add_services(fmap, services, taxonomy, lang)
    if attribution:
        _add_note(fmap, _note_text(attribution, lang))
    folium.LayerControl().add_to(fmap)
    return fmap


def _add_services(fmap: folium.Map, services: gpd.GeoDataFrame, taxonomy: Taxonomy | None, lang: str) -> None:
    import folium

    pts = _localised_names(_to_4326(services, "services"), lang)
    types = sorted(pts["service_type"].astype(str).unique())
    colour = _service_colours(types)
    layer = folium.FeatureGroup(name=_safe(t("Services", lang)))
    for name, stype, geom in zip(pts["name"], pts["service_type"].astype(str), pts.geometry, strict=True):
        folium.CircleMarker(
            location=[geom.y, geom.x],
            radius=4,
            color=colour[stype],
            fill=True,
            fill_opacity=0.9,
            tooltip=_safe(f"{name} ({_type_label(taxonomy, stype, lang)})"),
        ).add_to(layer)
    layer.add_to(fmap)


def _add_markup(fmap: folium.Map, markup: str) -> None:
    """Add ready-made (already escaped) markup to the page, without Jinja reading it as a template."""
    from branca.element import Element

    element: Any = Element("{{ this.markup }}")
    element.markup = markup
    root: Any = fmap.get_root()  # a branca Figure, typed as Element
    root.html.add_child(element)


def _add_note(fmap: folium.Map, text: str) -> None:
    _add_markup(fmap, f'<div class="socialmap-note"><style>{MAP_CSS}</style>{_safe(text)}</div>')


def choropleth_map(
    areas: gpd.GeoDataFrame,
    column: str,
    *,
    services: gpd.GeoDataFrame | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    tooltip_columns: tuple[str, ...] = ("name",),
    labels: Mapping[str, str] | None = None,
    attribution: str = "",
    tiles: str | None = None,
    title: str | None = None,
    colormap: str = "YlOrRd",
    legend_title: str | None = None,
    value_format: str = "{:,.1f}",
    lang: str | None = None,
    taxonomy: Taxonomy | None = None,
    service_legend: list[tuple[str, str]] | None = None,
) -> folium.Map:
    """
    Draw areas filled by classes of a numeric column, with a legend, tooltips and clustered services.

    Parameters
    ----------
    areas
        Polygons in any CRS (converted to EPSG:4326 for drawing only).
    column
        Numeric column to classify and colour (e.g. ``gap_score``). NaN and infinite values are
        drawn grey and listed in the legend as "no data".
    services
        Optional points with ``name`` and ``service_type`` (and optionally ``capacity``,
        ``provider``), drawn as clustered markers coloured by type, one toggleable layer per type.
    scheme
        Classification scheme, one of :data:`socialmap.gaps.SCHEMES`.
    k
        Number of classes wanted; fewer are drawn when there are fewer distinct values.
    tooltip_columns
        Area columns shown in the tooltip; ``column`` is added after them if not listed.
    labels
        Displayed label per column name (tooltip rows, and the legend title by default);
        columns not in it show their title in ``lang`` (:func:`socialmap.i18n.column_title`), or
        their own name when they have none.
    attribution
        Data sources and caveats drawn in the map's corner (e.g. "schematic boundaries"); texts the
        catalogs know (e.g. the demo's) are translated.
    tiles
        A folium tile layer name such as ``"OpenStreetMap"``, or ``None`` for a plain background
        that needs no internet.
    title
        Optional title drawn at the top of the map.
    colormap
        A sequential ColorBrewer palette name (e.g. ``"YlOrRd"``, ``"Blues"``; ``"_r"`` reverses it).
    legend_title
        Legend heading; defaults to the label of ``column``. Put units here, e.g. "gap score (%)".
    value_format
        Format of numbers in the legend and the tooltips (integers are shown whole), written as
        for English (``"{:,.1f}"``); the separators are then those of ``lang``.
    lang
        Language of the map's texts ("no data", tooltip labels, layer names, the note), of the
        area names (``name_<lang>`` when present) and of the numbers; ``None``:
        :func:`socialmap.i18n.default_language`.
    taxonomy
        For the service types' labels (default: their keys).
    service_legend
        ``(colour, label)`` of service markers drawn by the caller, listed in the legend under
        "Services" (default: those of ``services``).

    Returns
    -------
    map
        A ``folium.Map`` fitted to the areas, with a layer control and a scale bar in km.

    Raises
    ------
    CRSError
        If ``areas`` or ``services`` has no CRS.
    SocialMapError
        If a column is missing or not numeric, or an option is invalid.

    Notes
    -----
    Every text drawn from the data (names, labels, titles, the attribution) is HTML-escaped.
    Coordinates are kept to :data:`COORD_DECIMALS` decimals. If the areas have more than
    :data:`MAX_DISPLAY_VERTICES` vertices, they are simplified for drawing (shared borders kept
    where the polygons form a clean coverage); the data themselves are never changed.
    """
    lang = check_language(lang)
    labels = dict(labels or {})
    _check_columns(areas, [column], "areas", "column")
    _check_columns(areas, list(tooltip_columns), "areas", "tooltip_columns")
    if not (pd.api.types.is_numeric_dtype(areas[column]) and not pd.api.types.is_bool_dtype(areas[column])):
        raise SocialMapError(
            f"`column` {column!r} must be numeric to colour the map; it has dtype {areas[column].dtype}. "
            f"Convert it with `pd.to_numeric`."
        )
    fmt = _number_formatter(value_format, lang)
    if len(areas) == 0:
        raise SocialMapError("`areas` is empty: there is nothing to draw.")
    shown = _localised_names(_to_4326(areas, "areas").reset_index(drop=True), lang)

    values = pd.to_numeric(shown[column], errors="coerce").astype(float)
    values = values.where(np.isfinite(values))
    classes, bins, narrow = honest_classes(values, scheme=scheme, k=k)
    palette = _palette(colormap, len(bins))
    fills = [NO_DATA_COLOUR if pd.isna(c) else palette[int(c)] for c in classes]

    entries = _legend_entries(values, bins, palette, fmt)
    if values.isna().any():
        entries.append((NO_DATA_COLOUR, t("no data", lang)))
    fmap = _areas_figure(
        shown,
        (column, tooltip_columns),
        (fills, classes),
        fmt,
        legend=(legend_title, entries),
        page=_Page(labels, tiles, attribution, title, lang),
        services=(services, taxonomy),
        legend_note=_narrow_note(narrow, fmt, lang),
        service_legend=service_legend,
    )
    logger.info("choropleth of %r: %d areas, %d classes (%s)", column, len(shown), len(bins), scheme)
    return fmap


class _Page(NamedTuple):
    """What frames a map of areas, as its caller gave it: labels, tiles, attribution, title, language."""

    labels: Mapping[str, str]
    tiles: str | None
    attribution: str
    title: str | None
    lang: str


def _areas_figure(
    shown: gpd.GeoDataFrame,
    columns: tuple[str, tuple[str, ...]],
    classes: tuple[list[str], pd.Series],
    fmt: Any,
    *,
    legend: tuple[str | None, list[tuple[str, str]]],
    page: _Page,
    services: tuple[gpd.GeoDataFrame | None, Taxonomy | None] = (None, None),
    legend_note: str = "",
    service_legend: list[tuple[str, str]] | None = None,
) -> folium.Map:
    """Draw the map around filled areas: base, tooltips, legend, services, title, note, layer control."""
    import folium

    labels, tiles, attribution, title, lang = page
    column, tooltip_columns = columns
    fills, codes = classes
    fields = list(dict.fromkeys([*tooltip_columns, column]))
    props = pd.DataFrame(
        {f"t{i}": _tooltip_texts(shown[col], fmt, lang) for i, col in enumerate(fields)}, index=shown.index
    )
    props["fill"] = fills
    props["class"] = codes.astype("object").where(codes.notna(), None)
    drawn = gpd.GeoDataFrame(props, geometry=_display_geometry(shown.geometry), crs="EPSG:4326")
    legend_title, entries = legend
    legend_name = str(
        legend_title if legend_title is not None else labels.get(column, column_title(column, lang))
    )
    fmap = _base_map(shown, tiles, attribution)
    folium.GeoJson(
        drawn.to_json(),
        name=_safe(legend_name),
        style_function=_area_style,
        highlight_function=lambda _f: {"weight": 3, "color": "#222222"},
        tooltip=folium.GeoJsonTooltip(
            fields=[f"t{i}" for i in range(len(fields))],
            aliases=[_safe(labels.get(c, column_title(c, lang))) for c in fields],
        ),
    ).add_to(fmap)
    points, taxonomy = services
    drawn_types: list[tuple[str, str]] = []
    if points is not None and len(points):
        drawn_types = _add_clustered_services(fmap, points, taxonomy, lang)
    markers = list(service_legend) if service_legend is not None else drawn_types
    _add_markup(
        fmap,
        _legend_markup(legend_name, entries, legend_note, services=(t("Services", lang), markers)),
    )
    _add_narrow_legend_script(fmap)
    if title:
        _add_markup(fmap, f'<div class="socialmap-title">{_safe(title)}</div>')
    if attribution:
        _add_note(fmap, _note_text(attribution, lang))
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def difference_map(
    areas: gpd.GeoDataFrame,
    column: str,
    *,
    tolerance: float = 0.05,
    higher_is_worse: bool = True,
    n_side: int = 3,
    tooltip_columns: tuple[str, ...] = ("name",),
    labels: Mapping[str, str] | None = None,
    attribution: str = "",
    tiles: str | None = None,
    title: str | None = None,
    legend_title: str | None = None,
    value_format: str = "{:+,.1f}",
    lang: str | None = None,
) -> folium.Map:
    """
    Draw a change (after − before) per area on a diverging scale: better in blue, worse in red.

    Classes are those of :func:`socialmap.gaps.delta_classes`: changes no larger than
    ``tolerance`` are "no change" (near white); larger ones fall in ``n_side`` equal steps on each
    side of zero, the same steps on both sides.

    Parameters
    ----------
    areas
        Polygons in any CRS with the change in ``column`` (e.g. ``gap_score_delta`` from
        :meth:`socialmap.scenario.Comparison.map_frame`).
    column
        Numeric column of changes. NaN is drawn grey ("no data").
    tolerance
        Largest change shown as "no change": half the last digit shown, e.g. 0.05 for one decimal.
    higher_is_worse
        ``True`` for gaps and unmet need (a rise is drawn red); ``False`` for places or access.
    n_side
        Classes on each side of zero.
    tooltip_columns, labels, attribution, tiles, title, legend_title, lang
        As for :func:`choropleth_map`.
    value_format
        Format of the changes in the legend and tooltips (English style, with sign: ``"{:+,.1f}"``).

    Returns
    -------
    map
        A ``folium.Map`` fitted to the areas, with a legend of the classes present.

    Raises
    ------
    CRSError
        If ``areas`` has no CRS.
    SocialMapError
        If a column is missing or not numeric, or an option is invalid.
    """
    from branca.utilities import color_brewer

    from socialmap.gaps import delta_classes

    lang = check_language(lang)
    labels = dict(labels or {})
    _check_columns(areas, [column, *tooltip_columns], "areas", "column")
    if not (pd.api.types.is_numeric_dtype(areas[column]) and not pd.api.types.is_bool_dtype(areas[column])):
        raise SocialMapError(
            f"`column` {column!r} must be numeric to draw a change; it has dtype {areas[column].dtype}."
        )
    if len(areas) == 0:
        raise SocialMapError("`areas` is empty: there is nothing to draw.")
    fmt = _number_formatter(value_format, lang)
    shown = _localised_names(_to_4326(areas, "areas").reset_index(drop=True), lang)
    values = pd.to_numeric(shown[column], errors="coerce").astype(float)
    classes, edges = delta_classes(values, tolerance=tolerance, n_side=n_side)
    # RdBu runs red → blue; with higher_is_worse a rise (class > 0) takes the red end.
    palette = list(color_brewer("RdBu", 2 * n_side + 1)) if n_side > 1 else ["#ef8a62", "#f7f7f7", "#67a9cf"]
    middle = n_side
    sign = -1 if higher_is_worse else 1

    def colour(c: int) -> str:
        return palette[middle + sign * c]

    fills = [NO_DATA_COLOUR if pd.isna(c) else colour(int(c)) for c in classes]

    present = set(classes.dropna().astype(int))
    entries: list[tuple[str, str]] = []
    for c in range(-n_side, n_side + 1):
        if c not in present:
            continue
        if c == 0:
            text = t("no change", lang)
        else:
            lower, upper = (edges[abs(c) - 2] if abs(c) > 1 else tolerance), edges[abs(c) - 1]
            lo, hi = (-upper, -lower) if c < 0 else (lower, upper)
            text = f"{fmt(lo)} – {fmt(hi)}"
        entries.append((colour(c), text))
    if classes.isna().any():
        entries.append((NO_DATA_COLOUR, t("no data", lang)))
    fmap = _areas_figure(
        shown,
        (column, tooltip_columns),
        (fills, classes),
        fmt,
        legend=(legend_title, entries),
        page=_Page(labels, tiles, attribution, title, lang),
        legend_note=t("blue: better; red: worse", lang),
    )
    logger.info("difference map of %r: %d areas, %d classes", column, len(shown), len(entries))
    return fmap


def save_map(fmap: folium.Map, path: str | os.PathLike[str]) -> Path:
    """
    Write a map to an HTML file atomically.

    The page is rendered first, then written to a temporary file in the same folder and moved
    over ``path`` with :func:`os.replace`, so an interrupted write never leaves a half-written
    file in place of a good one. The elements' ids (random in folium) are numbered first
    (:func:`stable_ids`), so the same map gives the same bytes.

    Parameters
    ----------
    fmap
        The map to save.
    path
        Destination ``.html`` file; its folder must exist.

    Returns
    -------
    path
        The path written.
    """
    from socialmap.io import write_atomic

    stable_ids(fmap)
    page = fmap.get_root().render()
    target = write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8", newline=""))
    logger.info("map written to %s", target)
    return target


def stable_ids(fmap: folium.Map) -> folium.Map:
    """
    Give every element of a map's page an id numbered in document order (in place); return the map.

    folium (branca) gives each element 32 random hex digits, which appear in the page as JavaScript
    names (``map_3f2a...``), so two renderings of the same map differ. Numbered ids keep the names unique
    within the page and make the page byte-identical for the same map.
    """
    from collections import OrderedDict

    from branca.element import Element

    stack: list[Element] = [fmap.get_root()]
    found: list[tuple[Element, str]] = []  # every element, with its name before
    seen: set[int] = set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        found.append((element, element.get_name()))
        # Children, and elements held as attributes (a popup's or a figure's header, html and script).
        held = [v for k, v in vars(element).items() if k != "_parent" and isinstance(v, Element)]
        stack.extend(reversed([*element._children.values(), *held]))
    for number, (element, _) in enumerate(found):
        element._id = f"{number:032x}"
    before = {id(element): name for element, name in found}
    for element, _ in found:  # children are kept under their names, which templates use (a popup's)
        element._children = OrderedDict(
            (child.get_name() if key == before.get(id(child)) else key, child)
            for key, child in element._children.items()
        )
    return fmap


def _area_style(feature: dict[str, Any]) -> dict[str, Any]:
    missing = feature["properties"]["class"] is None
    return {
        "fillColor": feature["properties"]["fill"],
        "fillOpacity": 0.5 if missing else 0.75,
        "color": "#555555",
        "weight": 1,
        "dashArray": "4 4" if missing else None,
    }


def _add_narrow_legend_script(fmap: folium.Map) -> None:
    """Close the legend when the map is narrow (a phone): its title stays, a tap opens it."""
    from branca.element import MacroElement
    from folium.template import Template

    class NarrowLegend(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            (function () {
                var container = {{ this._parent.get_name() }}.getContainer();
                if (container.clientWidth < {{ this.width }}) {
                    document.querySelectorAll(".socialmap-legend details")
                        .forEach(function (d) { d.open = false; });
                }
            })();
            {% endmacro %}
            """
        )

    element: Any = NarrowLegend()
    element._name = "NarrowLegend"
    element.width = NARROW_MAP_PX
    fmap.add_child(element)


def _base_map(shown: gpd.GeoDataFrame, tiles: str | None, attribution: str) -> folium.Map:
    import folium

    try:
        fmap = folium.Map(tiles=tiles, attr=html.escape(attribution) if tiles else None)
    except ValueError as exc:
        raise SocialMapError(
            f"`tiles` {tiles!r} cannot be used: {exc} Pass `attribution` for custom tiles."
        ) from None
    add_scale_bar(fmap)
    minx, miny, maxx, maxy = shown.total_bounds
    fmap.options["max_zoom"] = MAX_ZOOM  # folium sets it only on a tile layer
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def add_scale_bar(fmap: folium.Map) -> None:
    """Add a scale bar in kilometres only (Leaflet's default also shows miles)."""
    from branca.element import MacroElement
    from folium.template import Template

    class MetricScale(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            L.control.scale({metric: true, imperial: false, position: "bottomleft"})
                .addTo({{ this._parent.get_name() }});
            {% endmacro %}
            """
        )

    scale = MetricScale()
    scale._name = "MetricScale"
    fmap.add_child(scale)


def _display_geometry(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Geometry for drawing only: simplified if very detailed, coordinates rounded."""
    arr = geoms.to_numpy()
    vertices = int(shapely.get_num_coordinates(arr).sum())
    if vertices > MAX_DISPLAY_VERTICES:
        minx, miny, maxx, maxy = shapely.total_bounds(arr)
        tolerance = max(maxx - minx, maxy - miny) / 20_000
        simplified = arr
        while vertices > MAX_DISPLAY_VERTICES and tolerance < max(maxx - minx, maxy - miny):
            simplified = _simplify(arr, tolerance)
            vertices = int(shapely.get_num_coordinates(simplified).sum())
            tolerance *= 2
        logger.info("areas simplified for display: %d vertices (tolerance %.2g°)", vertices, tolerance / 2)
        arr = simplified
    rounded = shapely.transform(arr, lambda xy: np.round(xy, COORD_DECIMALS))
    return gpd.GeoSeries(rounded, index=geoms.index, crs=geoms.crs)


def _simplify(arr: np.ndarray, tolerance: float) -> np.ndarray:
    if hasattr(shapely, "coverage_simplify"):
        try:
            return shapely.coverage_simplify(arr, tolerance)
        except shapely.errors.GEOSException:
            pass
    return shapely.simplify(arr, tolerance, preserve_topology=True)


def _add_clustered_services(
    fmap: folium.Map, services: gpd.GeoDataFrame, taxonomy: Taxonomy | None = None, lang: str = "en"
) -> list[tuple[str, str]]:
    """
    Add services as markers clustered per type, one layer (FeatureGroup) per service type.

    One folium element per type (``FastMarkerCluster``: the markers, their tooltips and popups are
    made in the browser from a data array), so the page is rendered without one template per
    marker: drawing 150 or 15,000 services costs about the same in Python.

    Returns the ``(colour, label)`` of each type drawn, for the legend.
    """
    import warnings

    import folium
    from folium.plugins import FastMarkerCluster

    _check_columns(services, ["name", "service_type"], "services", "services")
    pts = _localised_names(_to_4326(services, "services"), lang)
    geoms = pts.geometry
    absent = geoms.isna() | geoms.is_empty
    if absent.any():
        warnings.warn(
            f"{int(absent.sum())} service(s) without a location are not drawn.", UserWarning, stacklevel=3
        )
        pts, geoms = pts[~absent], geoms[~absent]
    not_points = geoms.geom_type != "Point"
    if not_points.any():
        warnings.warn(
            f"{int(not_points.sum())} service(s) are not points; drawn at a point inside their shape.",
            UserWarning,
            stacklevel=3,
        )
        geoms = geoms.where(~not_points, geoms.representative_point())
    unspecified = t("unspecified", lang)
    types = pts["service_type"].astype("object").where(pts["service_type"].notna(), unspecified).astype(str)
    colours = _service_colours(list(types.unique()))
    extra = [c for c in ("capacity", "provider") if c in pts.columns]
    names = [_safe(n) for n in pts["name"].tolist()]
    lat = np.round(geoms.y.to_numpy(dtype=float), COORD_DECIMALS).tolist()
    lon = np.round(geoms.x.to_numpy(dtype=float), COORD_DECIMALS).tolist()
    details = [""] * len(pts)
    for c in extra:
        title = _safe(column_title(c, lang))
        details = [
            f"{d}<br>{title}: {_detail(v, lang, column=c)}"
            for d, v in zip(details, pts[c].tolist(), strict=True)
        ]
    type_list = types.tolist()
    drawn = []
    for stype in sorted(colours):
        colour = colours[stype]
        shown_type = _safe(_type_label(taxonomy, stype, lang))
        # One row per marker, [lat, lon, tooltip, popup], made into markers in the browser.
        data = [
            [lat[i], lon[i], f"{names[i]} ({shown_type})", f"<b>{names[i]}</b><br>{shown_type}{details[i]}"]
            for i, row_type in enumerate(type_list)
            if row_type == stype
        ]
        count = localise_number(f"{len(data):,}", lang)
        group = folium.FeatureGroup(name=f"{shown_type} ({count})", show=True)
        FastMarkerCluster(
            data, callback=_marker_js(colour), icon_create_function=_cluster_icon_js(colour), control=False
        ).add_to(group)
        group.add_to(fmap)
        drawn.append((colour, f"{shown_type} ({count})"))
    return drawn


def _detail(value: Any, lang: str, column: str = "") -> str:
    """Return a service's capacity or provider for a popup, numbers with the language's separators."""
    from socialmap.i18n import provider_label

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return t("unknown", lang) if column == "capacity" else MISSING_TEXT
    if column == "provider":
        return _safe(provider_label(value, lang))
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        text = f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"
        return _safe(localise_number(text, lang))
    return _safe(value)


def _marker_js(colour: str, *, sticky: bool = True) -> str:
    """Return the browser-side function that makes one service's marker from its data row.

    The row is ``[lat, lon, tooltip, popup]``; ``sticky`` tooltips follow the pointer (folium's default).
    """
    tooltip = "row[2], {sticky: true}" if sticky else "row[2]"
    return (
        "function (row) {"
        " var icon = L.divIcon({className: 'socialmap-service', iconSize: [12, 12], iconAnchor: [6, 6],"
        f" html: '<div style=\"width:12px;height:12px;border-radius:50%;background:{colour};"
        "border:1px solid #fff;box-shadow:0 0 2px #000;\"></div>'});"
        " var marker = L.marker([row[0], row[1]], {icon: icon});"
        f" marker.bindTooltip({tooltip}); marker.bindPopup(row[3], {{maxWidth: 300}});"
        " return marker; }"
    )


def _cluster_icon_js(colour: str) -> str:
    return (
        "function(cluster) { return L.divIcon({html: '<div style=\"width:28px;height:28px;line-height:28px;"
        f"border-radius:50%;background:{colour};color:#fff;text-align:center;font:bold 12px sans-serif;"
        "opacity:.85;\">' + cluster.getChildCount() + '</div>', className: 'socialmap-cluster', "
        "iconSize: L.point(28, 28)}); }"
    )
