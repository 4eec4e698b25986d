"""Print-quality gap maps (PNG, SVG, PDF) drawn with matplotlib, offline (no basemap tiles).

A map carries what it needs to stand alone when printed or posted: a title, a legend with the
class breaks and units, a scale bar of a round length (measured in the metric CRS the map is
drawn in), a north arrow pointing to true north, the data sources and licences from the result's
provenance (including whatever it says about the boundaries, e.g. "schematic boundaries (not
official)") and the date.

Sizes: the figure is 7.5 inches wide (the text width of an A4 page) and saved as PNG at 1,080
pixels wide; the smallest text is 7 pt, i.e. about 14 pixels at that width.

The figures are made with :class:`matplotlib.figure.Figure` directly, not pyplot: no global state,
no GUI backend, safe in a web app's threads.
"""

from __future__ import annotations

import logging
import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

# The lines every output prints about its figures (sources, method, demonstration note) live in
# socialmap.credits; they are importable from here, as they always were.
from socialmap.credits import (  # noqa: F401 - re-exported
    _label_of,
    demonstration_note,
    method_line,
    sources_lines,
    taxonomy_name,
    without_paths,
)
from socialmap.errors import CRSError, SocialMapError
from socialmap.i18n import output_datetime

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

#: Width of the figure (inches): the text width of A4 with 15 mm margins.
FIGURE_WIDTH_IN = 7.5
#: Width of a saved PNG in pixels (readable on a phone and in a post).
PNG_WIDTH_PX = 1080
#: File suffixes :func:`save_figure` writes.
FIGURE_FORMATS = (".png", ".svg", ".pdf")

_FONT = "DejaVu Sans"  # ships with matplotlib; has every Albanian and Serbian letter
_NO_DATA = "#d9d9d9"
_EDGE = "#ffffff"

#: Columns that are gap scores (higher = worse), drawn red.
_GAP_COLUMNS = ("composite_gap", "gap_score")


def _column_title(column: str, lang: str | None) -> str:
    from socialmap.i18n import column_title

    return column_title(column, lang)


def _display_factor(column: str) -> float:
    return 100.0 if column == "covered_share" else 1.0


def _metric_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the frame in a metric CRS (projecting a geographic one for display only)."""
    if gdf.crs is None:
        raise CRSError(
            "The result's areas have no CRS; analyse them with a CRS set (e.g. `crs=` in analyze)."
        )
    if gdf.crs.is_geographic:
        utm = gdf.estimate_utm_crs()
        logger.info("drawing the map in %s (the data are in degrees)", utm.to_string())
        return gdf.to_crs(utm)
    unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else ""
    if unit not in ("metre", "meter", "m"):
        raise CRSError(
            f"The map needs a CRS in metres for its scale bar; the result's CRS {gdf.crs.to_string()} "
            f"uses {unit or 'unknown units'}. Analyse with a metric CRS (e.g. crs='EPSG:3035')."
        )
    return gdf


def _nice_length(span_m: float) -> float:
    """Return a round length (1, 2 or 5 × 10^n metres) of about a fifth of ``span_m``."""
    target = max(span_m / 5.0, 1e-9)
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def _north_angle_deg(gdf: gpd.GeoDataFrame, x: float, y: float) -> float:
    """Angle (degrees, clockwise from the map's up) of true north at (x, y) of the map's CRS."""
    from pyproj import Transformer

    to_geo = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
    from_geo = Transformer.from_crs("EPSG:4326", gdf.crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    x2, y2 = from_geo.transform(lon, min(lat + 0.05, 89.9))
    return math.degrees(math.atan2(x2 - x, y2 - y))


def _class_labels(
    values: pd.Series, bins: list[float], factor: float, lang: str | None, decimals: int
) -> list[str]:
    from socialmap.i18n import format_number

    if not bins:
        return []
    lows = [float(values.min())] + bins[:-1]
    labels = []
    for low, high in zip(lows, bins, strict=True):
        a = format_number(low * factor, lang, decimals=decimals)
        b = format_number(high * factor, lang, decimals=decimals)
        labels.append(a if a == b else f"{a} – {b}")
    return labels


def _area_names(areas: pd.DataFrame, lang: str | None) -> pd.Series:
    from socialmap.i18n import area_names

    return area_names(areas, lang)


def _map_data(
    result: Result,
    column: str | None,
    service_type: str | None,
    protected: Protected | None,
    taxonomy: Taxonomy | None,
    threshold: float | None,
) -> tuple[gpd.GeoDataFrame, str, str | None, Protected]:
    """Return the published areas with the value to draw, a ``suppression`` column, the column and type."""
    from socialmap.privacy import cell_marks, protect

    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=taxonomy)
    areas = protected.areas  # every value drawn is a published one (socialmap.privacy)
    if service_type is None and column is not None and column.startswith("gap_score_"):
        candidate = column[len("gap_score_") :]
        if candidate in set(result.table["service_type"]):
            service_type = candidate
    if service_type is None:
        column = column or "composite_gap"
        if column not in areas.columns:
            raise SocialMapError(
                f"`column` {column!r} is not a column of the result's areas; choose one of "
                f"{[c for c in areas.columns if c != 'geometry']}, or give `service_type`."
            )
        data = areas.copy()
        data["suppression"] = ""
        return data, column, None, protected
    known = list(dict.fromkeys(result.table["service_type"]))
    if service_type not in known:
        raise SocialMapError(f"No results for service type {service_type!r}; analysed: {', '.join(known)}.")
    column = column or "gap_score"
    if column == f"gap_score_{service_type}":
        column = "gap_score"
    if column not in result.table.columns or column in ("geometry", "area_id", "service_type", "method"):
        raise SocialMapError(
            f"`column` {column!r} is not a metric of the result's table; choose one of "
            "need, services, supply, supply_per_10k, covered_share, access, reachable_places, "
            "unmet_need, gap_score."
        )
    table = protected.table
    marks = cell_marks(table, protected.hidden, protected)
    rows = pd.DataFrame(table[["area_id", column]]).assign(suppression=marks[column].to_numpy())
    rows = rows[(table["service_type"] == service_type).to_numpy()]
    data = areas[
        [c for c in areas.columns if c in ("area_id", "name", "name_sq", "name_sr", "name_en", "geometry")]
    ]
    data = data.merge(rows, on="area_id", how="left")
    data["suppression"] = data["suppression"].fillna("")
    return gpd.GeoDataFrame(data, geometry="geometry", crs=areas.crs), column, service_type, protected


def gap_map(
    result: Result,
    *,
    column: str | None = None,
    service_type: str | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    labels: bool = False,
    lang: str | None = None,
    title: str | None = None,
    highlight: str | None = None,
    compact: bool = False,
    show_services: bool = True,
    taxonomy: Taxonomy | None = None,
    protected: Protected | None = None,
    threshold: float | None = None,
) -> Figure:
    """
    Draw a print-quality choropleth of a result: gap scores by area, with all the map furniture.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    column
        Without ``service_type``: a column of ``result.areas`` (default ``composite_gap``; also
        ``gap_score_<type>``, ``population``...). With ``service_type``: a metric of
        ``result.table`` (default ``gap_score``; also ``covered_share``, ``need``...).
    service_type
        Draw one service type's metric.
    scheme
        Classification scheme, one of :data:`socialmap.gaps.SCHEMES`.
    k
        Number of classes (fewer when there are fewer distinct values).
    labels
        Write the area names on the map (in ``lang`` where the areas have ``name_<lang>``).
    lang
        Language of every text on the map.
    title
        Title (default: the service type, or "composite gap score").
    highlight
        ``area_id`` of an area to outline (e.g. the municipality of a brief).
    compact
        For embedding (the brief): 4.2 inches wide, no title and no sources block, the legend
        under the map. The note about the boundaries stays.
    show_services
        Draw the services of ``service_type`` as dots (never those of a sensitive service type,
        whose addresses are confidential).
    taxonomy
        The result's taxonomy, for labels and sensitivity (default: reloaded from the provenance;
        without it labels are the keys and no services are drawn).
    protected
        A suppression from :func:`socialmap.privacy.protect`; used when the metric is a count of
        persons (hidden areas are hatched). Default: made here when needed.
    threshold
        Suppression threshold, when ``protected`` is not given.

    Returns
    -------
    figure
        A :class:`matplotlib.figure.Figure` (no pyplot state); save it with :func:`save_figure`.

    Raises
    ------
    SocialMapError
        For an unknown column, service type, ``highlight`` or ``scheme``.
    CRSError
        If the areas' CRS is missing or not in metres.
    """
    from matplotlib.figure import Figure

    from socialmap.gaps import honest_classes
    from socialmap.i18n import check_language, format_date, format_number, t
    from socialmap.privacy import resolve_taxonomy

    lang = check_language(lang)
    tax = taxonomy
    if tax is None:
        try:
            tax = resolve_taxonomy(result)
        except SocialMapError:
            tax = None
    data, column, service_type, protected = _map_data(result, column, service_type, protected, tax, threshold)
    data = _metric_frame(data)
    if highlight is not None and not (data["area_id"].astype(str) == str(highlight)).any():
        raise SocialMapError(f"`highlight` {highlight!r} is not an area_id of the result.")
    from socialmap.gaps import SCHEMES

    if scheme not in SCHEMES:  # checked here too: values in one narrow class never reach classify
        raise SocialMapError(f"Unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}.")
    values = pd.to_numeric(data[column], errors="coerce").astype(float)
    hidden = (data["suppression"].astype(str) != "").to_numpy()
    classes, bins, narrow = honest_classes(values.where(~hidden), scheme=scheme, k=k)

    # Extent (with room for the scale bar under the shapes), then the layout in inches.
    minx, miny, maxx, maxy = data.total_bounds
    span = max(maxx - minx, maxy - miny, 1.0)
    pad = 0.04 * span
    xlim, ylim = (minx - pad, maxx + pad), (miny - 2.4 * pad, maxy + pad)
    aspect = (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])
    prov = result.provenance
    boundaries = str(prov.get("demo_boundaries") or prov.get("boundaries") or "")
    withhold = service_type is not None and show_services and _is_sensitive(tax, service_type)
    notes = []
    if narrow is not None:
        factor, digits = _display_factor(column), 0 if column in _COUNT_COLUMNS else 1
        notes.append(
            t(
                "The values span only {span} ({low} – {high}): one colour, not five.",
                lang,
                span=format_number((narrow[1] - narrow[0]) * factor, lang, decimals=digits),
                low=format_number(narrow[0] * factor, lang, decimals=digits),
                high=format_number(narrow[1] * factor, lang, decimals=digits),
            )
        )
    if withhold:
        label = _label_of(tax, str(service_type), lang)
        notes.append(t("Locations of {service} are not shown (confidential).", lang, service=label))
    draw_services = service_type is not None and show_services and not withhold
    points = (
        protected.result.services[protected.result.services["service_type"] == service_type]
        if draw_services
        else None
    )
    handles = _legend_handles(data, values, classes, bins, column, hidden, protected, highlight, lang)
    if points is not None and len(points):
        from matplotlib.lines import Line2D

        dot = Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=4.5,
            markerfacecolor="#08306b",
            markeredgecolor="white",
        )
        dot.set_label(t("services ({n})", lang, n=len(points)))
        handles.insert(len(bins), dot)

    if compact:
        width, margin, map_w = 4.2, 0.1, 4.0
        map_h = min(map_w * aspect, 4.6)
        map_w = map_h / aspect
        legend_h = 0.3 + 0.17 * math.ceil(len(handles) / 2)
        small = [t(b, lang) for b in (boundaries,) if b] + notes
        note_text = "\n".join(textwrap.fill(x, 78) for x in small)
        note_h = 0.05 + 0.125 * (note_text.count("\n") + 1 if note_text else 0)
        height = margin + map_h + legend_h + note_h + margin
        map_box = ((width - map_w) / 2, note_h + legend_h + margin, map_w, map_h)
    else:
        width, margin, map_w = FIGURE_WIDTH_IN, 0.15, 4.9
        map_h = min(map_w * aspect, 6.4)
        map_w = map_h / aspect
        if title is None:
            title = t("Social-service gaps: composite gap score", lang) if service_type is None else ""
            title = title or _label_of(tax, service_type or "", lang)
            if service_type is None and column != "composite_gap":
                title = _column_title(column, lang)
        title_text = "\n".join(textwrap.wrap(title, 60))
        sub = method_line(result, lang, service_type=service_type)
        if service_type is not None:
            sub = _column_title(column, lang) + " · " + sub
        sub_text = "\n".join(textwrap.wrap(sub, 100))
        header_h = margin + 0.3 * (title_text.count("\n") + 1) + 0.17 * (sub_text.count("\n") + 1) + 0.15
        demo_note = demonstration_note(result, lang)
        footer = [
            *([demo_note] if demo_note else []),
            *notes,
            *sources_lines(result, lang),
            t("Made with socialmap on {date}", lang, date=format_date(None, lang)),
        ]
        footer_text = "\n".join(textwrap.fill(x, 128, subsequent_indent="  ") for x in footer)
        footer_h = 0.2 + 0.135 * (footer_text.count("\n") + 1) + margin
        height = header_h + map_h + footer_h
        map_box = (margin, footer_h, map_w, map_h)

    fig = Figure(figsize=(width, height), dpi=PNG_WIDTH_PX / width)
    fig.set_facecolor("white")
    ax = fig.add_axes((map_box[0] / width, map_box[1] / height, map_box[2] / width, map_box[3] / height))
    ax.set_axis_off()
    _draw_areas(ax, data, classes, bins, column, hidden, highlight)
    if points is not None and len(points):
        _draw_points(ax, points.to_crs(data.crs))
    if labels:
        _draw_labels(ax, data, lang)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    _draw_scale_bar(ax, lang)
    _draw_north_arrow(
        fig, ax, data, (map_box[0] + map_box[2]) / width, (map_box[1] + map_box[3]) / height, lang
    )

    legend_title = _column_title(column, lang)
    font: dict[str, Any] = {"family": _FONT}
    if compact:
        legend = fig.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.03, (note_h + legend_h) / height),
            ncols=2,
            title=legend_title,
            title_fontsize=8,
            frameon=False,
            alignment="left",
            prop={"family": _FONT, "size": 7.5},
            handlelength=1.6,
            columnspacing=1.2,
        )
        if note_text:
            fig.text(
                0.03, 0.05 / height, note_text, fontsize=7, color="#333333", va="bottom", ha="left", **font
            )
    else:
        legend = fig.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=((map_box[0] + map_box[2] + 0.35) / width, (map_box[1] + map_box[3]) / height),
            title="\n".join(textwrap.wrap(legend_title, 24)),
            title_fontsize=9,
            frameon=False,
            alignment="left",
            prop={"family": _FONT, "size": 8.5},
        )
        top = 1 - margin / height
        fig.text(margin / width, top, title_text, fontsize=14, fontweight="bold", va="top", ha="left", **font)
        sub_y = top - 0.3 * (title_text.count("\n") + 1) / height - 0.05 / height
        fig.text(margin / width, sub_y, sub_text, fontsize=8.5, va="top", ha="left", color="#333333", **font)
        fig.text(
            margin / width,
            (footer_h - 0.12) / height,
            footer_text,
            fontsize=7,
            va="top",
            ha="left",
            color="#333333",
            linespacing=1.35,
            **font,
        )
    legend.get_title().set_fontfamily(_FONT)
    if demonstration_note(result, lang):
        ax.text(
            0.01,
            0.99,
            t("DEMONSTRATION DATA", lang),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=9 if compact else 11,
            fontweight="bold",
            color="#b30000",
            bbox={"boxstyle": "square,pad=0.3", "facecolor": "white", "edgecolor": "#b30000", "lw": 1.2},
            zorder=9,
            **font,
        )
    if "schematic" in boundaries.lower():
        ax.text(
            0.99,
            0.01,
            t("schematic boundaries – not official", lang),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7.5,
            style="italic",
            color="#7f0000",
            zorder=8,
            **font,
        )
    return fig


def _is_sensitive(tax: Taxonomy | None, service_type: str) -> bool:
    """Whether a service type's locations must be withheld (unknown taxonomy: assume so)."""
    from socialmap.privacy import sensitive_service_types

    return tax is None or service_type in sensitive_service_types(tax)


def _legend_handles(
    data: gpd.GeoDataFrame,
    values: pd.Series,
    classes: pd.Series,
    bins: list[float],
    column: str,
    hidden: np.ndarray,
    protected: Protected | None,
    highlight: str | None,
    lang: str,
) -> list[Any]:
    from matplotlib.patches import Patch

    from socialmap.i18n import t

    ok = classes.notna().to_numpy()
    colours = _colours(column, len(bins))
    decimals = 0 if column in _COUNT_COLUMNS else 1
    labels = _class_labels(values[ok], bins, _display_factor(column), lang, decimals)
    handles: list[Any] = [
        Patch(facecolor=c, edgecolor="#999999", label=lab) for c, lab in zip(colours, labels, strict=True)
    ]
    if (~ok & ~hidden).any():
        handles.append(
            Patch(facecolor=_NO_DATA, edgecolor="#999999", label=t("no data (need unknown)", lang))
        )
    if hidden.any() and protected is not None:
        limit = protected.marker("primary", lang)[1:]
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#7f7f7f",
                hatch="////",
                label=t("hidden: small count (fewer than {n} persons, or protecting one)", lang, n=limit),
            )
        )
    if highlight is not None:
        chosen = data[data["area_id"].astype(str) == str(highlight)]
        handles.append(
            Patch(
                facecolor="none",
                edgecolor="black",
                linewidth=2.0,
                label=str(_area_names(chosen, lang).iloc[0]),
            )
        )
    return handles


_COUNT_COLUMNS = ("need", "reachable_places", "unmet_need", "supply", "services", "population", "rank")


def _colours(column: str, n: int) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    is_gap = column in _GAP_COLUMNS or column.startswith("gap_score")
    cmap = colormaps["YlOrRd" if is_gap else "Blues"]
    return [to_hex(cmap(0.15 + 0.8 * i / max(n - 1, 1))) for i in range(n)]


def _draw_areas(
    ax: Any,
    data: gpd.GeoDataFrame,
    classes: pd.Series,
    bins: list[float],
    column: str,
    hidden: np.ndarray,
    highlight: str | None,
) -> None:
    colours = _colours(column, len(bins))
    ok = classes.notna().to_numpy()
    fill = np.array([_NO_DATA] * len(data), dtype=object)
    fill[ok] = [colours[int(c)] for c in classes[ok]]
    data.plot(ax=ax, color=list(fill), edgecolor=_EDGE, linewidth=0.6)
    if hidden.any():
        data[hidden].plot(ax=ax, facecolor="white", edgecolor="#7f7f7f", hatch="////", linewidth=0.4)
    if len(data):
        data.dissolve().boundary.plot(ax=ax, color="#404040", linewidth=0.9)
    if highlight is not None:
        data[data["area_id"].astype(str) == str(highlight)].boundary.plot(ax=ax, color="black", linewidth=2.2)


def _draw_points(ax: Any, points: gpd.GeoDataFrame) -> None:
    ax.scatter(
        points.geometry.x, points.geometry.y, s=10, c="#08306b", edgecolors="white", linewidths=0.5, zorder=5
    )


def _draw_labels(ax: Any, data: gpd.GeoDataFrame, lang: str) -> None:
    from matplotlib import patheffects

    names = _area_names(data, lang)
    size = 6.0 if len(data) > 20 else 7.5
    halo = [patheffects.withStroke(linewidth=1.6, foreground="white")]
    for geom, name in zip(data.geometry, names, strict=True):
        if geom is None or geom.is_empty:
            continue
        pt = geom.representative_point()
        ax.text(
            pt.x,
            pt.y,
            str(name),
            ha="center",
            va="center",
            fontsize=size,
            color="#1a1a1a",
            path_effects=halo,
            zorder=6,
            family=_FONT,
        )


def _draw_scale_bar(ax: Any, lang: str) -> Any:
    """
    Add a scale bar of a round length (metres of the map's CRS) in the map's lower-left corner.

    Drawn by matplotlib-scalebar (``ScaleBar`` with ``dx=1``: one data unit is one metre); its length is
    :func:`_nice_length` of the map's width, fixed so that the bar is 1, 2 or 5 × 10^n, and its label is
    the length in the language (``20 km``, ``2,5 km`` / ``500 m``). Returns the artist.
    """
    from matplotlib_scalebar.scalebar import ScaleBar

    x0, x1 = ax.get_xlim()
    length = _nice_length(x1 - x0)
    value, units = (length / 1000, "km") if length >= 1000 else (length, "m")
    bar = ScaleBar(
        1.0,
        units="m",
        fixed_value=value,
        fixed_units=units,
        location="lower left",
        scale_loc="top",
        width_fraction=0.012,
        sep=2,
        pad=0.2,
        border_pad=0.8,
        frameon=False,
        color="black",
        font_properties={"family": _FONT, "size": 7},
        scale_formatter=lambda v, _unit: _scale_label(v, units, lang),
    )
    bar.set_zorder(7)
    ax.add_artist(bar)
    return bar


def _scale_label(value: float, units: str, lang: str) -> str:
    """Write the scale bar's label: ``value`` (of ``units``, km or m) for the language."""
    from socialmap.i18n import format_number, t

    if units == "km":
        return t("{n} km", lang, n=format_number(value, lang, decimals=0 if value >= 1 else 1))
    return t("{n} m", lang, n=format_number(value, lang, decimals=0))


def _draw_north_arrow(fig: Any, ax: Any, data: gpd.GeoDataFrame, right: float, top: float, lang: str) -> None:
    """Draw an arrow to true north at the map's centre, in the map's top-right corner."""
    from socialmap.i18n import t

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    angle = math.radians(_north_angle_deg(data, (x0 + x1) / 2, (y0 + y1) / 2))
    w_in, h_in = 0.42, 0.55
    fw, fh = fig.get_figwidth(), fig.get_figheight()
    nax = fig.add_axes((right - w_in / fw, top - h_in / fh, w_in / fw, h_in / fh))
    nax.set_axis_off()
    nax.set_xlim(-1, 1)
    nax.set_ylim(-1, 1.6)
    nax.set_aspect("equal", adjustable="box")
    dx, dy = math.sin(angle), math.cos(angle)
    nax.annotate(
        "",
        xy=(0.7 * dx, 0.7 * dy),
        xytext=(-0.7 * dx, -0.7 * dy),
        arrowprops={"arrowstyle": "-|>,head_width=0.3,head_length=0.6", "color": "black", "linewidth": 1.3},
    )
    nax.text(
        0.95 * dx,
        0.95 * dy,
        t("N", lang),
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        family=_FONT,
    )


def save_figure(fig: Figure, path: str | os.PathLike[str], *, width_px: int = PNG_WIDTH_PX) -> Path:
    """
    Save a figure as PNG, SVG or PDF (chosen by the suffix), atomically.

    PNG is rendered ``width_px`` pixels wide; SVG keeps its text as text (searchable, and the
    boundary note can be found in the file); PDF embeds TrueType fonts (its text can be copied). The
    SVG's and PDF's dates are :func:`socialmap.i18n.output_datetime` (not the time of saving), so
    the same map gives the same bytes.

    Parameters
    ----------
    fig
        A figure from :func:`gap_map`.
    path
        ``.png``, ``.svg`` or ``.pdf`` file.
    width_px
        Width of a PNG in pixels.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    SocialMapError
        For another suffix.
    """
    import matplotlib

    from socialmap.io import write_atomic

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise SocialMapError(f"Cannot save a map as {target.name!r}: use one of {', '.join(FIGURE_FORMATS)}.")
    fmt = suffix[1:]
    dpi = width_px / fig.get_figwidth()
    rc: Any = {"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "socialmap"}
    metadata: dict[str, Any] = (
        {"Creator": "socialmap"} if fmt in ("pdf", "svg") else {"Software": "socialmap"}
    )
    when = output_datetime()  # the outputs' date, not the time of saving (same map, same bytes)
    if fmt == "pdf":
        metadata.update(CreationDate=when, ModDate=when)
    elif fmt == "svg":
        metadata["Date"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def writer(p: Path) -> None:
        with matplotlib.rc_context(rc):
            fig.savefig(p, format=fmt, dpi=dpi, facecolor="white", metadata=metadata)

    return write_atomic(target, writer)


def cells_map(
    result: Result,
    service_type: str,
    *,
    column: str = "unmet",
    lang: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> Figure:
    """
    Draw the demand cells of one service type: unmet need (or the distance to the nearest service).

    This is the residual-population map (AccessMod's): where the people whose need is not met live,
    cell by cell, over the municipal boundaries. Sensitive service types are refused: a cell holds a
    handful of people, so its count could single someone out (their cells are not exported either,
    see :func:`socialmap.export.cells_table`).

    Parameters
    ----------
    result
        An analysis.
    service_type
        A service type with known need (for ``"unmet"``), not sensitive.
    column
        ``"unmet"`` (persons whose need is not met, per cell) or ``"nearest_m"`` (metres to the
        nearest service).
    lang
        Language of the title and legend.
    taxonomy
        For labels and sensitivity (default: the result's).

    Returns
    -------
    figure
        A matplotlib figure (save it with :func:`save_figure`).
    """
    from matplotlib.figure import Figure

    from socialmap.i18n import check_language, t
    from socialmap.privacy import resolve_taxonomy

    lang = check_language(lang)
    if column not in ("unmet", "nearest_m"):
        raise SocialMapError(f"`column` must be 'unmet' or 'nearest_m'; got {column!r}.")
    tax = taxonomy if taxonomy is not None else resolve_taxonomy(result)
    if _is_sensitive(tax, service_type):
        raise SocialMapError(
            t(
                "Cells of {service} are not drawn (confidential).",
                lang,
                service=_label_of(tax, service_type, lang),
            )
        )
    cells = result.demand[result.demand["service_type"] == service_type]
    values = pd.to_numeric(cells.get(column), errors="coerce") if len(cells) else pd.Series(dtype=float)
    if cells.empty or values.isna().all():
        raise SocialMapError(
            t(
                "No figures per cell for {service} (need unknown).",
                lang,
                service=_label_of(tax, service_type, lang),
            )
        )
    if column == "nearest_m":
        values = values / 1000.0
    fig = Figure(figsize=(FIGURE_WIDTH_IN, FIGURE_WIDTH_IN * 1.05))
    ax = fig.add_axes((0.02, 0.08, 0.96, 0.84))
    result.areas.plot(ax=ax, facecolor="#f7f7f7", edgecolor=_EDGE, linewidth=0.5)
    shown = values.fillna(0.0).to_numpy()
    scatter = ax.scatter(
        cells.geometry.x, cells.geometry.y, c=shown, s=4, marker="s", cmap="OrRd", linewidths=0, zorder=4
    )
    ax.set_axis_off()
    ax.set_aspect("equal")
    bar = fig.colorbar(scatter, ax=ax, orientation="horizontal", fraction=0.04, pad=0.02)
    bar.set_label(
        t("Unmet need (persons per cell)", lang) if column == "unmet" else t("Nearest service (km)", lang)
    )
    fig.suptitle(_label_of(tax, service_type, lang), fontsize=10)
    prov = result.provenance
    where = [str(prov.get("demo_boundaries") or prov.get("boundaries") or "")]
    note = " ".join(x for x in [method_line(result, lang, service_type=service_type) + ".", *where] if x)
    fig.text(0.02, 0.01, textwrap.fill(note, 150), fontsize=5.5, color="#333333")
    return fig
