"""The pieces the interactive maps share: limits and colours, escaping, number formats, palettes, legends.

Used by :mod:`socialmap.maps` (areas, choropleth and difference maps, saving) and
:mod:`socialmap._map_cells` (the demand cells layer); their names stay importable from
:mod:`socialmap.maps`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd

from socialmap.crs import require_crs
from socialmap.errors import SocialMapError
from socialmap.i18n import localise_number, t

#: Deepest zoom of the maps. Leaflet.markercluster needs a maximum zoom, which only a tile layer
#: would otherwise set: without it a plain (no tiles) map with clustered services draws no services.
MAX_ZOOM = 18


#: Colours of service markers, cycled over service types in sorted order.
SERVICE_COLOURS = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
)


#: Fill of areas whose value is missing (NaN or infinite); outside every sequential ColorBrewer palette.
NO_DATA_COLOUR = "#bdbdbd"


#: Text shown for a missing value in tooltips.
MISSING_TEXT = "–"


#: Decimal places kept in drawn coordinates (1e-6 degrees is about 0.1 m).
COORD_DECIMALS = 6


#: Above this many polygon vertices the areas are simplified for display (only for drawing).
MAX_DISPLAY_VERTICES = 200_000


#: Maps narrower than this (pixels) start with the legend closed (its title shows; a tap opens it).
NARROW_MAP_PX = 560


#: Where the map's own boxes sit, and how they shrink on a phone: the title between the zoom
#: buttons and the layer control, the note above the scale bar (bottom left), the legend bottom
#: right (on a narrow map only its title shows until it is opened), none covering another.
MAP_CSS = """
.socialmap-title{position:absolute;top:8px;left:50%;transform:translateX(-50%);z-index:9999;
  background:rgba(255,255,255,.85);padding:4px 10px;font:bold 15px sans-serif;border-radius:4px;
  max-width:calc(100% - 140px);text-align:center;}
.socialmap-note{position:absolute;bottom:30px;left:8px;z-index:9998;background:rgba(255,255,255,.85);
  padding:2px 6px;font:11px sans-serif;max-width:40%;}
.socialmap-legend{position:absolute;bottom:20px;right:10px;z-index:9999;background:rgba(255,255,255,.92);
  padding:6px 8px;font:12px sans-serif;border-radius:4px;box-shadow:0 0 4px rgba(0,0,0,.3);
  max-height:calc(100% - 110px);overflow-y:auto;max-width:45%;}
.socialmap-legend summary{font-weight:bold;cursor:pointer;margin-bottom:4px;}
.socialmap-legend .socialmap-swatch{display:inline-block;width:14px;height:14px;border:1px solid #666;
  vertical-align:middle;margin-right:6px;}
.socialmap-legend .socialmap-dot{border-radius:50%;width:10px;height:10px;margin:0 8px 0 2px;
  border:1px solid #fff;box-shadow:0 0 2px #000;}
@media (max-width:560px){
  .socialmap-title{left:48px;right:64px;transform:none;max-width:none;font-size:11px;padding:2px 6px;}
  .socialmap-note{font-size:9px;max-width:42%;bottom:26px;}
  .socialmap-legend{font-size:10px;max-width:50%;padding:4px 6px;bottom:16px;}
  .socialmap-legend .socialmap-swatch{width:10px;height:10px;}
}
"""


def _to_4326(gdf: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    require_crs(gdf, names=(label,))
    return gdf if gdf.crs.equals("EPSG:4326") else gdf.to_crs("EPSG:4326")


def _safe(value: object) -> str:
    """Escape text for HTML; also safe inside a JS template literal or a Jinja template (folium)."""
    text = html.escape(str(value))
    for char, entity in (("\\", "&#92;"), ("`", "&#96;"), ("$", "&#36;"), ("{", "&#123;"), ("}", "&#125;")):
        text = text.replace(char, entity)
    return text


def _escaped(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: html.escape(str(v)) if pd.notna(v) else "")
    return out


def _check_columns(gdf: pd.DataFrame, wanted: list[str], label: str, argument: str) -> None:
    missing = [c for c in wanted if c not in gdf.columns]
    if missing:
        geometry = gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) else None
        found = [c for c in gdf.columns if c != geometry]
        raise SocialMapError(
            f"`{argument}` names column(s) {missing} that `{label}` does not have; found {found}."
        )


def _number_formatter(value_format: str, lang: str = "en") -> Any:
    """
    Return a function formatting a number with ``value_format``, with the separators of ``lang``.

    Only the replacement field's output is localised; text around it is kept as written.
    """
    import string

    try:
        value_format.format(1234.5)
        parts = list(string.Formatter().parse(value_format))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise SocialMapError(
            f"`value_format` {value_format!r} cannot format a number ({exc}); use e.g. '{{:,.1f}}'."
        ) from None

    def fmt(value: float) -> str:
        out = []
        for literal, field, spec, conversion in parts:
            out.append(literal)
            if field is not None:
                field_format = "{" + field + (f"!{conversion}" if conversion else "") + f":{spec}}}"
                out.append(localise_number(field_format.format(value), lang))
        return "".join(out)

    return fmt


def _tooltip_texts(series: pd.Series, fmt: Any, lang: str = "en") -> list[str]:
    """Format one tooltip column as escaped text: numbers rounded, missing values as a dash."""
    is_int = pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series)
    is_num = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    out = []
    for value in series:
        if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
            out.append(MISSING_TEXT)
        elif is_int:
            out.append(_safe(localise_number(f"{int(value):,}", lang)))
        elif is_num:
            out.append(_safe(fmt(float(value))))
        else:
            out.append(_safe(value))
    return out


def _palette(name: str, n: int) -> list[str]:
    """``n`` colours of a ColorBrewer palette, light to dark (for n < 3, picked from the 3-class one)."""
    from branca.utilities import color_brewer

    try:
        three = color_brewer(name, 3)
        if n <= 0:
            return []
        if n == 1:
            return [three[1]]
        if n == 2:
            return [three[0], three[2]]
        return list(color_brewer(name, n))
    except ValueError as exc:
        raise SocialMapError(f"`colormap` {name!r} cannot give {n} colours: {exc}.") from None


def _narrow_note(narrow: tuple[float, float] | None, fmt: Callable[[float], str], lang: str) -> str:
    """Return the legend's note when the values span too little for five classes (``""`` otherwise)."""
    if narrow is None:
        return ""
    low, high = narrow
    return t(
        "The values span only {span} ({low} – {high}): one colour, not five.",
        lang,
        span=fmt(high - low),
        low=fmt(low),
        high=fmt(high),
    )


def _legend_entries(
    values: pd.Series, bins: list[float], palette: list[str], fmt: Any
) -> list[tuple[str, str]]:
    if not bins:
        return []
    lower = float(values.min())
    entries = []
    for colour, upper in zip(palette, bins, strict=True):
        entries.append((colour, f"{fmt(lower)} – {fmt(upper)}"))
        lower = upper
    return entries


def _legend_markup(
    title: str,
    entries: list[tuple[str, str]],
    note: str = "",
    services: tuple[str, list[tuple[str, str]]] | None = None,
) -> str:
    """
    Return the legend box: the classes, then (if given) the service markers' colours.

    ``services`` is a heading and ``(colour, label)`` rows. The box is a ``<details>`` element,
    open; the map's CSS (:data:`MAP_CSS`, carried in the box) places and sizes it.
    """
    rows = "".join(
        f'<div style="margin:2px 0;"><span class="socialmap-swatch" style="background:{colour};"></span>'
        f"{_safe(text)}</div>"
        for colour, text in entries
    )
    if services is not None and services[1]:
        heading, markers = services
        rows += f'<div style="font-weight:bold;margin:6px 0 2px;">{_safe(heading)}</div>' + "".join(
            f'<div style="margin:2px 0;"><span class="socialmap-swatch socialmap-dot" '
            f'style="background:{colour};"></span>{_safe(text)}</div>'
            for colour, text in markers
        )
    return (
        f'<div class="socialmap-legend"><style>{MAP_CSS}</style><details open>'
        f"<summary>{_safe(title)}</summary>{rows}"
        + (f'<div style="margin-top:4px;font-style:italic;">{_safe(note)}</div>' if note else "")
        + "</details></div>"
    )
