"""The demand cells layer of an interactive map: unmet need or distance per grid cell (residual map).

:func:`demand_cells_layer` (importable from :mod:`socialmap.maps` too) draws
:func:`socialmap.export.cells_table`'s rows as grid squares or points, classed like the areas.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialmap._map_parts import (
    MISSING_TEXT,
    NARROW_MAP_PX,
    NO_DATA_COLOUR,
    _check_columns,
    _legend_entries,
    _legend_markup,
    _narrow_note,
    _number_formatter,
    _palette,
    _safe,
    _to_4326,
)
from socialmap.crs import require_crs
from socialmap.errors import SocialMapError
from socialmap.gaps import honest_classes
from socialmap.i18n import N_, check_language, localise_number, t

if TYPE_CHECKING:
    import folium

logger = logging.getLogger("socialmap.maps")


#: Columns of demand cells a layer can be coloured by, with their legend titles.
CELL_LAYER_COLUMNS = {
    "unmet": N_("Unmet need per cell (persons)"),
    "nearest_m": N_("Distance to the nearest service (km)"),
    "nearest_min": N_("Travel time to the nearest service (min)"),
}


#: Where the cells' legend sits: top left, under the zoom buttons and the demo mark, clear of the others.
CELLS_LEGEND_CSS = (
    ".socialmap-legend.socialmap-cells-legend{top:112px;left:10px;right:auto;bottom:auto;"
    "max-width:40%;max-height:calc(100% - 200px);}"
)


def _cell_values(cells: gpd.GeoDataFrame, cell_size_m: float | None) -> gpd.GeoDataFrame:
    """One row per drawn cell: pieces of one grid cell in two areas pooled, with their square."""
    cols = [c for c in ("need", "unmet", "nearest_m", "nearest_min") if c in cells.columns]
    pts = cells[[*cols, "geometry"]].copy()
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    for col in cols:
        pts[col] = pd.to_numeric(pts[col], errors="coerce").astype(float)
    if cell_size_m is None:
        return pts.reset_index(drop=True)
    require_crs(pts, names=("cells",))
    if not pts.crs.is_projected:
        raise SocialMapError(
            "`cells` must be in a projected CRS in metres to draw grid cells of `cell_size_m`."
        )
    size = float(cell_size_m)
    x, y = shapely.get_x(pts.geometry.values), shapely.get_y(pts.geometry.values)
    ix, iy = np.floor(x / size).astype(np.int64), np.floor(y / size).astype(np.int64)
    pts = pd.DataFrame(pts.drop(columns="geometry")).assign(ix=ix, iy=iy)
    sums = {c: "sum" for c in ("need", "unmet") if c in pts.columns}
    mins = {c: "min" for c in ("nearest_m", "nearest_min") if c in pts.columns}
    # min_count: a cell whose every piece is unknown stays unknown (NaN), not 0
    pooled = pts.groupby(["ix", "iy"], sort=True).agg({**sums, **mins})
    for col in sums:
        pooled[col] = pts.groupby(["ix", "iy"], sort=True)[col].sum(min_count=1)
    pooled = pooled.reset_index()
    squares = shapely.box(
        pooled["ix"] * size, pooled["iy"] * size, (pooled["ix"] + 1) * size, (pooled["iy"] + 1) * size
    )
    return gpd.GeoDataFrame(pooled.drop(columns=["ix", "iy"]), geometry=squares, crs=cells.crs)


def demand_cells_layer(
    cells: gpd.GeoDataFrame,
    column: str = "unmet",
    *,
    cell_size_m: float | None = None,
    name: str | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    colormap: str = "Purples",
    lang: str | None = None,
    show: bool = True,
) -> folium.FeatureGroup:
    """
    Draw demand cells (AccessMod's residual-population map) as a layer to add to a map.

    Give it only cells that may be published: :attr:`socialmap.privacy.Protected.result`'s
    ``demand`` (or :func:`socialmap.privacy.public_cells`), which holds no cell of a sensitive
    service type.

    Parameters
    ----------
    cells
        Demand points of one service type (:attr:`socialmap.pipeline.Result.demand` rows), with
        ``column`` and any of ``need``, ``unmet``, ``nearest_m`` and ``nearest_min`` (shown in the
        tooltips).
    column
        What colours the cells, a key of :data:`CELL_LAYER_COLUMNS`: ``unmet`` (persons whose need
        is not met), ``nearest_m`` (metres, shown in km) or ``nearest_min``.
    cell_size_m
        Side of the grid's cells (``result.config.cell_size_m`` for ``spreading="grid"``): each point
        is drawn as the grid square holding it, and the pieces of one square in two areas are pooled
        (need and unmet need summed, the nearest distance the smaller). ``None`` (demand points that
        are not a grid): each point is drawn as a dot.
    name
        Name of the layer in the layer control (default: the legend title of ``column``).
    scheme, k, colormap
        Classes and palette, as for :func:`choropleth_map`; values that span little get one class
        and the legend says so (:func:`socialmap.gaps.honest_classes`).
    lang
        Language of the legend, tooltips and numbers.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    layer
        A ``folium.FeatureGroup`` drawn on a canvas (thousands of cells stay fast), with its own
        legend shown while the layer is on. Add it to a map drawn by :func:`choropleth_map`.

    Raises
    ------
    SocialMapError
        If ``column`` is not one of :data:`CELL_LAYER_COLUMNS` or not in ``cells``, or
        ``cell_size_m`` is given for cells in a geographic CRS.
    """
    import folium
    from branca.element import MacroElement
    from folium.template import Template

    lang = check_language(lang)
    if column not in CELL_LAYER_COLUMNS:
        raise SocialMapError(f"`column` must be one of {list(CELL_LAYER_COLUMNS)}; got {column!r}.")
    _check_columns(cells, [column], "cells", "column")
    pooled = _cell_values(cells, cell_size_m)
    km = column == "nearest_m"
    values = pooled[column] / 1000.0 if km else pooled[column]
    values = values.where(np.isfinite(values))
    classes, bins, narrow = honest_classes(values, scheme=scheme, k=k)
    palette = _palette(colormap, len(bins))
    fmt = _number_formatter("{:,.1f}", lang)
    entries = _legend_entries(values.dropna(), bins, palette, fmt) if values.notna().any() else []
    colours = [*palette, NO_DATA_COLOUR]
    if values.isna().any():
        entries.append((NO_DATA_COLOUR, t("no data", lang)))
    title = t(CELL_LAYER_COLUMNS[column], lang)
    note = _narrow_note(narrow, fmt, lang)
    legend = _legend_markup(title, entries, note).replace(
        'class="socialmap-legend"', 'class="socialmap-legend socialmap-cells-legend"', 1
    )
    legend = legend.replace("</style>", CELLS_LEGEND_CSS + "</style>", 1)
    shown = [
        (c, t(label, lang))
        for c, label in (
            ("unmet", N_("Unmet need (persons)")),
            ("need", N_("Need (persons)")),
            ("nearest_m", N_("Nearest service (km)")),
            ("nearest_min", N_("Nearest service (min)")),
        )
        if c in pooled.columns and pooled[c].notna().any()
    ]
    texts = []
    for col, _label in shown:
        scale = 1000.0 if col == "nearest_m" else 1.0
        english = [
            MISSING_TEXT if not np.isfinite(v) else f"{v / scale:,.1f}" for v in pooled[col].to_numpy()
        ]
        # one call for the whole column: the separators are swapped the same way in every number
        texts.append(localise_number("\n".join(english), lang).split("\n"))
    drawn = _to_4326(pooled, "cells")
    codes = [len(palette) if pd.isna(c) else int(c) for c in classes]
    if cell_size_m is None:
        geoms = drawn.geometry
        coords = np.column_stack([shapely.get_y(geoms.values), shapely.get_x(geoms.values)])
    else:
        b = shapely.bounds(drawn.geometry.values)  # south-west and north-east corners of each square
        coords = b[:, [1, 0, 3, 2]]
    coords = np.round(coords, 5)  # 1e-5 degrees is about 1 m
    rows = [
        [*map(float, xy), code, *(texts[j][i] for j in range(len(shown)))]
        for i, (xy, code) in enumerate(zip(coords, codes, strict=True))
    ]

    class CellsLayer(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            (function () {
                var group = {{ this._parent.get_name() }};
                // Their own pane, above the areas (overlay pane, 400) and below the services'
                // markers (600): hovering a cell shows the cell, not the area under it.
                function pane(map) {
                    if (!map.getPane("socialmapCells")) {
                        map.createPane("socialmapCells").style.zIndex = 450;
                    }
                }
                var onAdd = group.onAdd;
                group.onAdd = function (map) { pane(map); return onAdd.call(this, map); };
                if (group._map) { pane(group._map); }
                var renderer = L.canvas({padding: 0.5, pane: "socialmapCells"});
                var colours = {{ this.colours|tojson }};
                var labels = {{ this.labels|tojson }};
                var square = {{ this.square|tojson }};
                {{ this.rows|tojson }}.forEach(function (r) {
                    var style = {renderer: renderer, stroke: false, fillColor: colours[r[square ? 4 : 2]],
                                 fillOpacity: 0.85};
                    var shape = square ? L.rectangle([[r[0], r[1]], [r[2], r[3]]], style)
                                       : L.circleMarker([r[0], r[1]], Object.assign({radius: 4}, style));
                    var first = square ? 5 : 3;
                    var tip = labels.map(function (l, i) { return l + ": " + r[first + i]; }).join("<br>");
                    shape.bindTooltip(tip, {sticky: true});
                    group.addLayer(shape);
                });
                var div = document.createElement("div");
                div.innerHTML = {{ this.legend|tojson }};
                L.DomEvent.disableClickPropagation(div);
                function place(map) {
                    var container = map.getContainer();
                    container.appendChild(div);
                    if (container.clientWidth < {{ this.narrow }}) {  // a phone: legend closed
                        div.querySelectorAll("details").forEach(function (d) { d.open = false; });
                    }
                }
                group.on("add", function (e) { place(e.target._map); });
                group.on("remove", function () { div.remove(); });
                if (group._map) { place(group._map); }
            })();
            {% endmacro %}
            """
        )

    element: Any = CellsLayer()
    element._name = "DemandCells"
    element.colours = colours
    element.labels = [html.escape(label) for _c, label in shown]
    element.square = cell_size_m is not None
    element.rows = rows
    element.legend = legend
    element.narrow = NARROW_MAP_PX
    layer = folium.FeatureGroup(name=_safe(name if name is not None else title), show=show)
    layer.add_child(element)
    logger.info("demand cells layer of %r: %d cells, %d classes", column, len(pooled), len(bins))
    return layer
