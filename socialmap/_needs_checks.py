"""
The checks shared by the spreading functions of :mod:`socialmap.needs`, and locating points in areas.

Frames and columns (present, numeric, finite, not negative), area ids and polygons, each problem a
:class:`~socialmap.errors.Problem` raised together (:func:`_raise`); :func:`_locate` finds the area of each
point (prepared polygons); the messages about what fell outside the areas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialmap.errors import Problem, SocialMapError, ValidationError

_POLYGONAL = ("Polygon", "MultiPolygon")


_SHOW = 5  # index labels quoted in a message before "and N more"


def _require_frame(obj: Any, label: str, *, geo: bool = True) -> None:
    """Raise if ``obj`` is not a (Geo)DataFrame."""
    wanted = gpd.GeoDataFrame if geo else pd.DataFrame
    if not isinstance(obj, wanted):
        raise SocialMapError(f"`{label}` should be a {wanted.__name__}, got {type(obj).__name__}.")


def _column_list(columns: str | Sequence[str], label: str, *, reserved: Iterable[str] = ()) -> list[str]:
    """Return ``columns`` as a list of names, refusing duplicates and reserved names."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    bad = [c for c in cols if not isinstance(c, str)]
    if bad:
        raise SocialMapError(f"`{label}` should hold column names (str), got {bad!r}.")
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise SocialMapError(f"`{label}` names column(s) {dupes} more than once.")
    clash = [c for c in cols if c in set(reserved)]
    if clash:
        raise SocialMapError(
            f"`{label}` may not include {clash}: the result uses those names itself. "
            f"Rename the column(s) first."
        )
    return cols


def _missing(df: pd.DataFrame, required: Sequence[str], label: str) -> list[Problem]:
    """List the columns of ``required`` absent from ``df`` (with those found) as a problem."""
    missing = [c for c in required if c not in df.columns]
    if not missing:
        return []
    found = [str(c) for c in df.columns]
    return [
        Problem(
            file=label,
            row=None,
            column=None,
            message=f"`{label}` is missing column(s) {missing}; found {found}.",
            fix="Pass the names the columns have in the data, or rename them "
            "(socialmap.io maps a file's columns onto the library's names).",
        )
    ]


def _where(mask: pd.Series) -> str:
    """Quote the first few index labels where ``mask`` is true."""
    labels = mask.index[mask.to_numpy()].tolist()
    shown = ", ".join(repr(x) for x in labels[:_SHOW])
    more = f" and {len(labels) - _SHOW} more" if len(labels) > _SHOW else ""
    return f"at index [{shown}]{more}"


def _value_problems(
    df: pd.DataFrame, columns: Sequence[str], label: str, *, extensive: bool
) -> tuple[list[Problem], dict[str, int]]:
    """
    Check numeric columns: numbers, finite, and (if extensive, i.e. counts) not negative.

    Returns the problems and, per column, the number of NaN values (the caller warns and fills).
    """
    problems: list[Problem] = []
    nans: dict[str, int] = {}
    for col in columns:
        if col not in df.columns:
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    f"`{label}` column '{col}' should hold numbers, found dtype {s.dtype}.",
                    "Convert it with pd.to_numeric(...) (and check the values that fail).",
                )
            )
            continue
        values = s.astype("float64")
        if np.isinf(values).any():
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    f"`{label}` column '{col}' has infinite value(s) {_where(np.isinf(values))}.",
                    "Replace them with real numbers (or NaN where unknown).",
                )
            )
        if extensive and (values < 0).any():
            neg = values < 0
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    f"`{label}` column '{col}' is a count but has {int(neg.sum())} negative value(s) "
                    f"{_where(neg)}.",
                    "Counts cannot be negative: correct the data (a negative number often marks "
                    "missing data; use NaN or 0 instead).",
                )
            )
        n_nan = int(values.isna().sum())
        if n_nan:
            nans[col] = n_nan
    return problems, nans


def _nan_message(label: str, nans: dict[str, int]) -> str:
    parts = ", ".join(f"'{c}' ({n})" for c, n in nans.items())
    return f"`{label}` has missing (NaN) values in {parts}; they were treated as 0."


def _id_problems(ids: pd.Series, label: str, by: str, unique_hint: str) -> list[Problem]:
    """Problems of an id column: missing ids, and ids on more than one row."""
    problems = []
    if ids.isna().any():
        problems.append(
            Problem(
                label,
                None,
                by,
                f"`{label}` has missing '{by}' {_where(ids.isna())}.",
                f"Give every area a '{by}'.",
            )
        )
    dup = ids.duplicated(keep=False) & ids.notna()
    if dup.any():
        problems.append(
            Problem(
                label,
                None,
                by,
                f"`{label}` has duplicated '{by}' values {sorted(map(str, ids[dup].unique()))}.",
                f"Make '{by}' unique ({unique_hint}).",
            )
        )
    return problems


def _area_problems(areas: gpd.GeoDataFrame, label: str, *, by: str = "area_id") -> list[Problem]:
    """Check the id column (present, unique, not missing) and the geometries (valid polygons)."""
    problems = _missing(areas, [by], label)
    if by in areas.columns:
        problems += _id_problems(areas[by], label, by, "one row per area; dissolve multi-part areas first")
    if isinstance(areas, gpd.GeoDataFrame):
        problems.extend(_polygon_problems(areas, label))
    return problems


def _polygon_problems(areas: gpd.GeoDataFrame, label: str) -> list[Problem]:
    geoms = areas.geometry
    problems: list[Problem] = []
    empty = geoms.isna() | geoms.is_empty
    if empty.any():
        problems.append(
            Problem(
                label,
                None,
                "geometry",
                f"`{label}` has missing or empty geometries {_where(empty)}.",
                "Drop those rows or supply their boundaries.",
            )
        )
    types = geoms.geom_type
    other = ~empty & ~types.isin(_POLYGONAL)
    if other.any():
        found = sorted(types[other].unique())
        problems.append(
            Problem(
                label,
                None,
                "geometry",
                f"`{label}` should hold polygons, found {found} {_where(other)}.",
                "Areas must be Polygon or MultiPolygon; for points, use points_from_user.",
            )
        )
    invalid = ~empty & ~other & ~geoms.is_valid
    if invalid.any():
        problems.append(
            Problem(
                label,
                None,
                "geometry",
                f"`{label}` has invalid polygons {_where(invalid)}.",
                "Repair them, e.g. `areas.geometry = areas.make_valid()`, and check the result.",
            )
        )
    return problems


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)


def _prepared(geoms: np.ndarray) -> np.ndarray:
    """Return prepared copies of ``geoms`` (preparing the caller's own objects would change them)."""
    copies = shapely.from_wkb(shapely.to_wkb(geoms))
    shapely.prepare(copies)
    return copies


def _locate(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """
    Position (in ``polygons``) of the polygon each point (x, y) lies in, or -1 if none.

    A point on a boundary counts as inside; a point in two polygons (a shared edge, an overlap)
    goes to the first of them.
    """
    n = len(x)
    found = np.full(n, len(polygons), dtype=np.int64)
    if n == 0 or len(polygons) == 0:
        return np.full(n, -1, dtype=np.int64)
    prepared = _prepared(polygons)
    tree = shapely.STRtree(prepared)
    pt_idx, poly_idx = tree.query(shapely.points(x, y))  # bounding boxes only
    hit = shapely.intersects_xy(prepared[poly_idx], x[pt_idx], y[pt_idx])
    np.minimum.at(found, pt_idx[hit], poly_idx[hit])
    found[found == len(polygons)] = -1
    return found


def _fmt(x: float) -> str:
    """Format a total for a message: grouped digits, no exponent for large numbers."""
    return f"{x:,.0f}" if abs(x) >= 1e6 else f"{x:,.6g}"


def _outside_message(label: str, what: str, n_out: int, n_all: int, lost: float, unit: str) -> str:
    return (
        f"{n_out} of {n_all} {what} lie outside every area in `{label}` and were dropped, "
        f"with {_fmt(lost)} {unit} in all. Check that the areas cover the data (and share its CRS)."
    )


def _positive_number(value: Any, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SocialMapError(f"`{label}` should be a positive number, got {value!r}.") from None
    if not np.isfinite(number) or number <= 0:
        raise SocialMapError(f"`{label}` should be a positive number, got {value!r}.")
    return number
