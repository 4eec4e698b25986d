"""
The checks of the placement's inputs: point frames, positive numbers, the need column, capacities.

Each turns a bad value into a :class:`~socialmap.errors.SocialMapError` naming it; used by
:mod:`socialmap.optimise`.
"""

from __future__ import annotations

import math
import numbers
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from socialmap.errors import SocialMapError


def _check_frame(frame: object, label: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SocialMapError(f"`{label}` must be a GeoDataFrame of points; got {type(frame).__name__}.")
    return frame


def _point_xy(frame: gpd.GeoDataFrame, label: str) -> NDArray[np.float64]:
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        where = list(frame.index[missing][:5])
        raise SocialMapError(
            f"`{label}` has {int(missing.sum())} row(s) without a location (index {where}). "
            "Drop them or give them a point."
        )
    kinds = shapely.get_type_id(geoms)
    bad = kinds != shapely.GeometryType.POINT
    if bad.any():
        found = sorted(set(frame.geom_type[bad]))
        raise SocialMapError(
            f"`{label}` must hold points; found {found} (index {list(frame.index[bad][:5])}). "
            "Use e.g. `gdf.set_geometry(gdf.representative_point())` to place a point inside each shape."
        )
    xy = shapely.get_coordinates(geoms)
    if not np.isfinite(xy).all():
        raise SocialMapError(f"`{label}` has points with non-finite coordinates.")
    return xy


def _positive(value: object, label: str, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SocialMapError(f"`{label}` must be a finite number; got {value!r}.")
    if integer:
        if not float(value).is_integer() or float(value) < 1:
            raise SocialMapError(f"`{label}` must be a whole number, at least 1; got {value!r}.")
    elif float(value) <= 0:
        raise SocialMapError(f"`{label}` must be > 0; got {value!r}.")
    return float(value)


def _need(demand: gpd.GeoDataFrame, weight: str) -> NDArray[np.float64]:
    if weight not in demand.columns:
        raise SocialMapError(
            f"`demand` has no column {weight!r} (the `weight`); found {list(demand.columns)}."
        )
    values = pd.to_numeric(demand[weight], errors="coerce")
    text = demand[weight].notna() & values.isna()
    if text.any():
        raise SocialMapError(
            f"`demand.{weight}` must hold numbers; found {demand[weight][text].iloc[0]!r} "
            f"(index {demand.index[text][0]!r})."
        )
    w = values.to_numpy(dtype=np.float64)
    if np.isinf(w).any() or (w < 0).any():
        raise SocialMapError(f"`demand.{weight}` must be finite and >= 0 (need is a count of persons).")
    nan = np.isnan(w)
    if nan.any():
        warnings.warn(
            f"`demand.{weight}` is empty in {int(nan.sum())} row(s); they count as 0 need.",
            UserWarning,
            stacklevel=3,
        )
        w = np.where(nan, 0.0, w)
    return w


def _capacities(
    frame: gpd.GeoDataFrame, capacity: str | float, label: str, *, allow_unknown: bool
) -> NDArray[np.float64]:
    if isinstance(capacity, str):
        if capacity not in frame.columns:
            if allow_unknown:
                return np.full(len(frame), np.nan)
            raise SocialMapError(
                f"`capacity` names column {capacity!r}, but `{label}` has no such column; found "
                f"{list(frame.columns)}. Give the column, or one number of places for every new site."
            )
        raw = frame[capacity]
        values = pd.to_numeric(raw, errors="coerce")
        if (raw.notna() & values.isna()).any():
            raise SocialMapError(f"`{label}.{capacity}` must hold numbers of places.")
        c = values.to_numpy(dtype=np.float64)
    else:
        c = np.full(len(frame), _positive(capacity, "capacity"))
    if np.isinf(c).any() or (c < 0).any():
        raise SocialMapError(f"`{label}` capacities must be finite and >= 0 (places); found {c[c < 0][:3]}.")
    if not allow_unknown and np.isnan(c).any():
        raise SocialMapError(
            f"`{label}.{capacity}` is empty in {int(np.isnan(c).sum())} row(s): a new site needs a "
            "capacity. Fill it in, or pass one number as `capacity`."
        )
    return c
