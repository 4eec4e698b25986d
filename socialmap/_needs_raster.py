"""
Demand points from a population raster: one point per populated cell of a WorldPop-style GeoTIFF.

:func:`points_from_raster` reads the raster in blocks of about :data:`RASTER_CHUNK_CELLS` cells, keeps the
populated cells (inside the areas when they are given) and says how much population fell outside. Import it
from :mod:`socialmap.needs`, which re-exports it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
from pyproj import CRS

from socialmap._needs_checks import _area_problems, _fmt, _locate, _outside_message, _raise, _require_frame
from socialmap.crs import require_crs
from socialmap.errors import CRSError, DataSourceError, Problem, SocialMapError

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

# The logger of socialmap.needs, as before this module was cut from it.
logger = logging.getLogger("socialmap.needs")


#: Cells read per block by :func:`points_from_raster` when ``chunk_rows`` is ``None``.
RASTER_CHUNK_CELLS: int = 1 << 20


def points_from_raster(
    path_or_array: str | os.PathLike[str] | np.ndarray | DatasetReader,
    *,
    band: int = 1,
    areas: gpd.GeoDataFrame | None = None,
    transform: Any = None,
    crs: str | CRS | None = None,
    nodata: float | None = None,
    chunk_rows: int | None = None,
) -> gpd.GeoDataFrame:
    """
    Turn a population raster (count per cell, WorldPop-style) into demand points.

    One point per cell **with people**, at the cell centre: cells with a value of 0, below 0,
    nodata or NaN are skipped. The raster is read in blocks of rows, so only one block of it is
    in memory at a time besides the points kept.

    Parameters
    ----------
    path_or_array
        A GeoTIFF (or any raster rasterio reads): a path, or an open rasterio dataset (left
        open). Or a 2-D numpy array of counts, with ``transform`` and ``crs``.
    band
        Band to read (1-based), for a file.
    areas
        Optional polygons with a unique ``area_id``, in the raster's CRS: each point gets the
        ``area_id`` of the area its cell centre falls in (a centre on a shared boundary goes
        to the first area). Cells whose centre lies in no area are dropped with a
        ``UserWarning`` giving how many and their population.
    transform
        Affine transform of an array (ignored for a file, which carries its own).
    crs
        CRS of an array; for a file, the CRS to use when the file has none (if it has one,
        it must agree).
    nodata
        Value marking cells without data; ``None`` uses the file's own nodata value. NaN is
        always treated as no data.
    chunk_rows
        Rows read per block; ``None`` reads about :data:`RASTER_CHUNK_CELLS` cells per block.

    Returns
    -------
    gdf
        Points in the raster's CRS, in row-major cell order (fresh index), with columns
        ``population`` (float64, the cell's count), ``area_id`` (if ``areas`` was given) and
        ``geometry``. Population is extensive: sum it, never average it.

    Raises
    ------
    DataSourceError
        The file cannot be opened or read.
    CRSError
        The raster has no CRS and none was given, the given one disagrees with the file's, or
        ``areas`` is in another CRS.
    ValidationError
        The raster holds infinite values, or ``areas`` is unusable.
    SocialMapError
        A bad argument: ``band`` out of range, an array not 2-D, an array without transform.

    Warns
    -----
    UserWarning
        Cells with negative values that are not nodata (often an undeclared nodata value) were
        skipped; cells outside every area were dropped.
    """
    if areas is not None:
        _require_frame(areas, "areas")
        require_crs(areas, names=("areas",))
        _raise(_area_problems(areas, "areas"))  # before reading a large raster
    if chunk_rows is not None and (not isinstance(chunk_rows, int | np.integer) or chunk_rows < 1):
        raise SocialMapError(f"`chunk_rows` should be a positive integer, got {chunk_rows!r}.")

    if isinstance(path_or_array, np.ndarray):
        arr = path_or_array
        if arr.ndim != 2:
            raise SocialMapError(
                f"`path_or_array` should be a 2-D array (rows, columns), got shape {arr.shape}."
            )
        if transform is None:
            raise SocialMapError("`transform` is required with an array: the affine transform of its grid.")
        if crs is None:
            raise CRSError("`crs` is required with an array: the CRS its transform is in.")
        raster_crs = CRS.from_user_input(crs)
        block = (_array_blocks(arr, chunk_rows or max(1, RASTER_CHUNK_CELLS // max(arr.shape[1], 1))),)
        x, y, pop, neg = _points_from_blocks(block[0], transform, nodata)
        source_label = "the array"
    else:
        x, y, pop, neg, raster_crs, source_label = _read_raster(path_or_array, band, crs, nodata, chunk_rows)

    if neg[0]:
        warnings.warn(
            f"{neg[0]} cell(s) of {source_label} hold negative values that are not nodata "
            f"(total {_fmt(neg[1])}); they were skipped. If they mark missing data, pass "
            f"`nodata=` with that value.",
            UserWarning,
            stacklevel=2,
        )

    data: dict[str, Any] = {"population": pop}
    if areas is not None:
        if not areas.crs.equals(raster_crs):
            raise CRSError(
                f"`areas` is in {areas.crs.to_string()} but the raster is in {raster_crs.to_string()}. "
                f"Reproject the areas with `areas.to_crs(...)` to the raster's CRS, and the points "
                f"afterwards if you need another."
            )
        where = _locate(x, y, areas.geometry.to_numpy())
        outside = where < 0
        if outside.any():
            warnings.warn(
                _outside_message(
                    "areas",
                    f"populated cells of {source_label}",
                    int(outside.sum()),
                    len(pop),
                    float(pop[outside].sum()),
                    "people",
                ),
                UserWarning,
                stacklevel=2,
            )
            inside = ~outside
            x, y, pop, where = x[inside], y[inside], pop[inside], where[inside]
        data = {"population": pop, "area_id": areas["area_id"].to_numpy()[where]}
    out = gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(x, y, crs=raster_crs), crs=raster_crs)
    logger.info("points_from_raster: %d populated cells kept from %s", len(out), source_label)
    return out


def _array_blocks(arr: np.ndarray, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    for r0 in range(0, arr.shape[0], rows):
        yield r0, arr[r0 : r0 + rows]  # a view, not a copy


def _read_raster(
    source: Any, band: int, crs: str | CRS | None, nodata: float | None, chunk_rows: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, float], CRS, str]:
    """Open ``source`` (path or dataset), check it, and collect its populated cells block by block."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if isinstance(source, rasterio.io.DatasetReaderBase):
        return _read_dataset(source, band, crs, nodata, chunk_rows, f"raster {source.name}")
    if not isinstance(source, str | os.PathLike):
        raise SocialMapError(
            f"`path_or_array` should be a path, an open rasterio dataset or a numpy array, got "
            f"{type(source).__name__}."
        )
    label = f"raster {os.fspath(source)}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # reported below as a CRSError
            src = rasterio.open(source)
    except RasterioIOError as exc:
        raise DataSourceError(f"Cannot open the {label}: {exc}") from exc
    with src:
        return _read_dataset(src, band, crs, nodata, chunk_rows, label)


def _read_dataset(
    src: Any, band: int, crs: str | CRS | None, nodata: float | None, chunk_rows: int | None, label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, float], CRS, str]:
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    if not isinstance(band, int | np.integer) or not 1 <= band <= src.count:
        raise SocialMapError(f"`band` should be between 1 and {src.count} for the {label}, got {band!r}.")
    if src.crs is None and crs is None:
        raise CRSError(
            f"The {label} has no CRS. Pass the one its coordinates are in, e.g. `crs='EPSG:4326'` "
            f"(WorldPop grids are in longitude/latitude)."
        )
    if src.crs is not None:
        raster_crs = CRS.from_user_input(src.crs.to_wkt())
        if crs is not None and not CRS.from_user_input(crs).equals(raster_crs):
            raise CRSError(
                f"`crs`={crs!r} disagrees with the {label}'s own CRS {raster_crs.to_string()}. "
                f"Leave `crs` out to use the file's."
            )
    else:
        raster_crs = CRS.from_user_input(crs)
    if src.transform.is_identity:
        raise CRSError(f"The {label} has no georeferencing (no transform): cell positions are unknown.")
    fill = src.nodatavals[band - 1] if nodata is None else nodata
    rows = chunk_rows
    if rows is None:
        rows = max(1, RASTER_CHUNK_CELLS // max(src.width, 1))
        block_h = src.block_shapes[band - 1][0]
        if block_h < rows:
            rows -= rows % block_h  # whole blocks per read

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        for r0 in range(0, src.height, rows):
            window = Window(0, r0, src.width, min(rows, src.height - r0))
            try:
                yield r0, src.read(band, window=window)
            except RasterioIOError as exc:
                raise DataSourceError(f"Cannot read rows {r0}- of the {label}: {exc}") from exc

    x, y, pop, neg = _points_from_blocks(blocks(), src.transform, fill)
    return x, y, pop, neg, raster_crs, f"the {label}"


def _points_from_blocks(
    blocks: Iterable[tuple[int, np.ndarray]], transform: Any, nodata: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, float]]:
    """Cell centres and counts of the populated cells; also (count, total) of stray negatives."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    n_neg, neg_total, n_inf = 0, 0.0, 0
    check_nodata = nodata is not None and not np.isnan(nodata)
    for r0, block in blocks:
        data = np.isfinite(block) if block.dtype.kind == "f" else np.ones(block.shape, dtype=bool)
        if block.dtype.kind == "f":
            n_inf += int(np.isinf(block).sum())
        if check_nodata:
            data &= block != nodata
        people = data & (block > 0)
        stray = data & (block < 0)
        if stray.any():
            n_neg += int(stray.sum())
            neg_total += float(block[stray].sum(dtype="float64"))
        rows, cols = np.nonzero(people)
        if len(rows) == 0:
            continue
        col_c = cols + 0.5  # cell centres, in (column, row) units
        row_c = rows + (r0 + 0.5)
        xs.append(transform.a * col_c + transform.b * row_c + transform.c)
        ys.append(transform.d * col_c + transform.e * row_c + transform.f)
        vals.append(block[people].astype("float64"))
    if n_inf:
        _raise(
            [
                Problem(
                    "raster",
                    None,
                    None,
                    f"The raster holds {n_inf} infinite value(s).",
                    "Replace them with a count, or with the nodata value.",
                )
            ]
        )
    empty = np.empty(0, dtype="float64")
    return (
        np.concatenate(xs) if xs else empty,
        np.concatenate(ys) if ys else empty,
        np.concatenate(vals) if vals else empty,
        (n_neg, neg_total),
    )
