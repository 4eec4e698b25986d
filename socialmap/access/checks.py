"""
Checks of the 2SFCA family's inputs: catchment, weight function, arrays and frames.

Every problem of an input is collected into one :class:`socialmap.errors.ValidationError`.
"""

from __future__ import annotations

import math
import numbers

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from socialmap import settings
from socialmap.access.weights import WeightFunction
from socialmap.errors import Problem, SocialMapError, ValidationError


def _check_catchment(catchment_m: float | None, func: str) -> float:
    value = settings.default_catchment_m if catchment_m is None else catchment_m
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise SocialMapError(
            f"`catchment_m` of {func}() must be a number of metres; got {value!r}. "
            f"Pass e.g. catchment_m=10_000."
        )
    if float(value) <= 0:
        raise SocialMapError(
            f"`catchment_m` of {func}() must be > 0 metres; got {value!r}. Pass e.g. catchment_m=10_000 "
            f"(or math.inf for an unlimited catchment)."
        )
    return float(value)


def _check_weight(weight: WeightFunction | None, func: str) -> WeightFunction | None:
    if weight is not None and not callable(weight):
        raise SocialMapError(
            f"`weight` of {func}() must be None (plain 2SFCA) or a weight function such as "
            f"step_weights({{5000: 1, 10000: 0.68, 15000: 0.22}}); got {weight!r}."
        )
    return weight


def _labels(index: pd.Index | None, positions: NDArray[np.intp], limit: int = 5) -> str:
    shown = positions[:limit]
    labels = index[shown].tolist() if index is not None else shown.tolist()
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return f"{labels}{more}"


def _check_values(
    values: NDArray[np.float64],
    label: str,
    column: str | None,
    problems: list[Problem],
    index: pd.Index | None = None,
    *,
    nan_ok: bool = False,
) -> None:
    where = "index labels" if index is not None else "positions"
    nan = np.isnan(values)
    if nan.any() and not nan_ok:
        problems.append(
            Problem(
                label,
                None,
                column,
                f"{int(nan.sum())} value(s) are missing (NaN), at {where} "
                f"{_labels(index, np.flatnonzero(nan))}.",
                "Fill them (a missing value is unknown, not 0), or drop those rows if you accept leaving "
                "them out.",
            )
        )
    bad = ~nan & ((values < 0) | np.isinf(values))
    if bad.any():
        problems.append(
            Problem(
                label,
                None,
                column,
                f"{int(bad.sum())} value(s) are negative or infinite, at {where} "
                f"{_labels(index, np.flatnonzero(bad))}.",
                "Use finite counts >= 0.",
            )
        )


def _as_float_array(values: ArrayLike, label: str, problems: list[Problem], ndim: int) -> NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(label, None, None, "does not hold numbers.", "Pass numbers (float)."))
        return np.zeros((0,) * ndim)
    shape_ok = arr.ndim == ndim and (ndim == 1 or arr.shape[1] == 2)
    if not shape_ok:
        want = "(n, 2) array of x, y in metres" if ndim == 2 else "1-D array"
        problems.append(Problem(label, None, None, f"has shape {arr.shape}.", f"Pass a {want}."))
        return np.zeros((0,) * ndim if ndim == 1 else (0, 2))
    return arr


def _check_arrays(
    demand_xy: ArrayLike,
    need: ArrayLike | None,
    supply_xy: ArrayLike,
    capacity: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64], NDArray[np.float64] | None]:
    problems: list[Problem] = []
    dxy = _as_float_array(demand_xy, "demand_xy", problems, 2)
    sxy = _as_float_array(supply_xy, "supply_xy", problems, 2)
    out: list[NDArray[np.float64] | None] = []
    for values, label, xy in ((need, "need", dxy), (capacity, "capacity", sxy)):
        if values is None:
            out.append(None)
            continue
        arr = _as_float_array(values, label, problems, 1)
        if not problems and len(arr) != len(xy):
            other = "demand_xy" if label == "need" else "supply_xy"
            problems.append(
                Problem(
                    label, None, None, f"has {len(arr)} values for {len(xy)} points.", f"Match `{other}`."
                )
            )
        _check_values(arr, label, None, problems)
        out.append(arr)
    for arr, label in ((dxy, "demand_xy"), (sxy, "supply_xy")):
        bad = ~np.isfinite(arr).all(axis=1) if arr.size else np.zeros(0, dtype=bool)
        if bad.any():
            problems.append(
                Problem(
                    label,
                    None,
                    None,
                    f"{int(bad.sum())} coordinate pair(s) are missing or infinite, at positions "
                    f"{_labels(None, np.flatnonzero(bad))}.",
                    "Drop or fix those points.",
                )
            )
    if problems:
        raise ValidationError(problems)
    return dxy, out[0], sxy, out[1]


def _check_frame(frame: object, label: str, func: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SocialMapError(
            f"`{label}` of {func}() should be a GeoDataFrame of points, got {type(frame).__name__}."
        )
    return frame


def _point_xy(frame: gpd.GeoDataFrame, label: str, problems: list[Problem]) -> NDArray[np.float64]:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    type_id = shapely.get_type_id(geoms)
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)  # NaN for missing, empty and non-point geometries
    col = frame.geometry.name
    point = type_id == 0
    if not point.all():
        missing = type_id < 0
        if missing.any():
            bad = np.flatnonzero(missing)
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    f"{len(bad)} row(s) have no geometry, at index labels {_labels(frame.index, bad)}.",
                    "Drop those rows or give them a location.",
                )
            )
        other = ~point & ~missing
        if other.any():
            bad = np.flatnonzero(other)
            names = sorted({g.geom_type for g in geoms[bad[:1000]]})
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    f"needs Point geometries, but {len(bad)} row(s) are {names}, at index labels "
                    f"{_labels(frame.index, bad)}.",
                    f"Use one point per row, e.g. `{label}.assign(geometry={label}.representative_point())`.",
                )
            )
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite[point].all():
        bad = np.flatnonzero(point & ~finite)
        problems.append(
            Problem(
                label,
                None,
                col,
                f"{len(bad)} point(s) are empty or have infinite coordinates, at index labels "
                f"{_labels(frame.index, bad)}.",
                "Drop those rows or give them a location.",
            )
        )
    return np.column_stack([x, y])


def _numeric_column(
    frame: gpd.GeoDataFrame, label: str, column: str, problems: list[Problem], *, nan_ok: bool = False
) -> NDArray[np.float64]:
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        problems.append(
            Problem(
                label,
                None,
                column,
                f"must hold numbers; found dtype {series.dtype}.",
                f"Convert it, e.g. `{label}['{column}'] = pd.to_numeric({label}['{column}'])`.",
            )
        )
        return np.zeros(len(frame))
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_values(values, label, column, problems, frame.index, nan_ok=nan_ok)
    return values


def _require_columns(
    frame: gpd.GeoDataFrame, label: str, columns: tuple[str, ...], problems: list[Problem]
) -> bool:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        problems.append(
            Problem(
                label,
                None,
                None,
                f"`{label}` is missing column(s) {missing}; found {list(map(str, frame.columns))}.",
                "Rename your column to the library's name (see socialmap.schema), e.g. "
                f"`{label}.rename(columns={{'your_column': '{missing[0]}'}})`.",
            )
        )
    return not missing
