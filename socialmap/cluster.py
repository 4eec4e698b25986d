"""
2SFCA / E2SFCA on a Dask cluster: demand cut into spatial tiles, services taken with a halo of one catchment.

The same computation as :func:`socialmap.access.fca_arrays`, spread over the workers of a ``dask.distributed``
cluster (a ``LocalCluster`` on one machine, or a scheduler at ``tcp://host:8786`` fed by many machines).
Results equal ``fca_arrays`` up to the order of floating-point additions (relative differences ~1e-15).

How it is split. The demand points are cut into rectangular tiles holding about equally many points (columns
at quantiles of ``x``, then rows at quantiles of ``y`` inside each column, so a clustered population still
gives balanced tasks). Each tile is sent to one worker once. Its **halo** is every service within the tile's
bounding box widened by the catchment: a superset of the services any of its demand points can reach. The
two steps of 2SFCA are two rounds of tasks:

1. per tile: its share ``sum_{i in tile} w(d_ij) n_i`` of the weighted need of each halo service. The shares
   of all tiles are summed per service on the client (``m`` numbers per tile at most), giving exactly the
   weighted need ``sum_i w(d_ij) n_i`` of step 1, since the tiles partition the demand; then
   ``R_j = c_j / weighted need``, broadcast to the workers.
2. per tile: ``A_i = sum_j w(d_ij) R_j`` over its halo services, with the distance coverage (services in
   reach, nearest service) of its points.

Demand is never duplicated across tiles (step 1 needs every demand point near a service, but gets them by
summing the tiles' shares), only the services are, and those are broadcast to every worker once. Each task
runs the strip-and-block engine of :mod:`socialmap.access` on its tile, so a worker's memory is bounded by
its tile, never by the number of pairs.

Travel times on a road network (:func:`fca_network_dask`) are split the other way round: the graph and the
snapping of every point are sent to each worker once, and each task runs the bounded searches from a batch
of services. Since a service's ratio ``R_j`` depends on its own catchment only, a task finishes both steps for
its services and returns their weighted need and its partial access vector; the client sums the partial
vectors in task order. The result equals :func:`socialmap.network.fca` up to the order of additions.

Needs the ``scale`` extra: ``pip install "socialmap[scale]"`` (``dask[distributed]``); the workers need
socialmap installed too.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from socialmap.access.blocks import FCAResult, _ratio
from socialmap.access.checks import _check_arrays, _check_catchment, _check_weight
from socialmap.access.tiles import _tile_access, _tile_weighted_need
from socialmap.access.weights import WeightFunction
from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

__all__ = ["fca_dask", "fca_network_dask", "tile_demand"]

#: Default largest number of demand points per tile (about 100 MB of worker memory per running task).
TILE_POINTS = 500_000
#: Default number of tiles per worker thread, at least: several, so that a slow tile does not idle the rest.
TILES_PER_THREAD = 4


def tile_demand(demand_xy: ArrayLike, n_tiles: int) -> list[NDArray[np.intp]]:
    """
    Partition demand points into about ``n_tiles`` spatial tiles with about equally many points.

    Columns are cut at quantiles of ``x``, then each column into rows at quantiles of ``y``; each tile is the
    set of points of one cell. Points with equal coordinates may fall in different tiles, which is harmless:
    the tiles only need to partition the points.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    n_tiles
        Wanted number of tiles (>= 1). Fewer are returned when there are fewer points, never empty ones.

    Returns
    -------
    tiles
        List of arrays of demand positions (into ``demand_xy``), one per tile, together holding every
        position once; tiles are ordered column by column.

    Examples
    --------
    >>> tiles = tile_demand([[0, 0], [0, 1], [5, 0], [5, 1]], 4)
    >>> sorted(t.tolist() for t in tiles)
    [[0], [1], [2], [3]]
    """
    xy = np.asarray(demand_xy, dtype=np.float64)
    if isinstance(n_tiles, bool) or not isinstance(n_tiles, numbers.Integral) or n_tiles < 1:
        raise SocialMapError(f"`n_tiles` must be a positive integer; got {n_tiles!r}.")
    n = len(xy)
    if n == 0:
        return []
    k = min(int(n_tiles), n)
    nx = max(1, round(math.sqrt(k)))
    ny = math.ceil(k / nx)
    by_x = np.argsort(xy[:, 0], kind="stable")
    tiles = []
    for col in np.array_split(by_x, nx):
        if len(col) == 0:
            continue
        col = col[np.argsort(xy[col, 1], kind="stable")]
        tiles.extend(t for t in np.array_split(col, ny) if len(t))
    return tiles


def _resolve_client(client: Client | str | None) -> tuple[Client, bool]:
    """Return (client, whether we opened it and must close it)."""
    try:
        import dask
        from distributed import Client, default_client
    except ImportError as exc:  # pragma: no cover - the scale extra is installed in dev
        raise SocialMapError(
            'fca_dask() needs dask.distributed: install it with `pip install "socialmap[scale]"`.'
        ) from exc
    if isinstance(client, str):
        return Client(client), True
    if client is not None:
        if not isinstance(client, Client):
            raise SocialMapError(
                f"`client` of fca_dask() must be a distributed.Client, a scheduler address such as "
                f"'tcp://scheduler:8786', or None; got {type(client).__name__}."
            )
        return client, False
    try:
        return default_client(), False
    except ValueError:
        pass
    address = dask.config.get("scheduler-address", None)
    if address:
        return Client(address), True
    raise SocialMapError(
        "fca_dask() found no Dask cluster: pass `client=Client('tcp://scheduler:8786')` (or the address as a "
        "string), create a Client first, or set the environment variable DASK_SCHEDULER_ADDRESS. On one "
        "machine, socialmap.access.fca_arrays() needs no cluster."
    )


def _need_task(
    tile: tuple[NDArray[np.float64], NDArray[np.float64]],
    sxy: NDArray[np.float64],
    d0: float,
    weight: WeightFunction | None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    dxy, need = tile
    return _tile_weighted_need(dxy, need, sxy, d0, weight)


def _access_task(
    tile: tuple[NDArray[np.float64], NDArray[np.float64]],
    sxy: NDArray[np.float64],
    r_use: NDArray[np.float64],
    d0: float,
    weight: WeightFunction | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    dxy, _ = tile
    return _tile_access(dxy, sxy, r_use, d0, weight)


def fca_dask(
    demand_xy: ArrayLike,
    need: ArrayLike,
    supply_xy: ArrayLike,
    capacity: ArrayLike,
    *,
    catchment_m: float | None = None,
    weight: WeightFunction | None = None,
    client: Client | str | None = None,
    n_tiles: int | None = None,
) -> FCAResult:
    """
    Compute 2SFCA / E2SFCA like :func:`socialmap.access.fca_arrays`, on the workers of a Dask cluster.

    The demand is cut into spatial tiles with about equally many points; each worker gets whole tiles and
    every service (broadcast once). See the module docstring for how the two steps are split. The result
    equals ``fca_arrays(...)`` on the same arguments, with the same edge cases, up to the order in which
    floating-point numbers are added (relative differences of order 1e-15).

    Parameters
    ----------
    demand_xy, need, supply_xy, capacity
        The demand points (metres) and their persons in need, the services and their places, as for
        :func:`socialmap.access.fca_arrays`.
    catchment_m
        Inclusive catchment radius in metres (> 0; ``math.inf`` for unlimited, which makes every service
        part of every tile's halo). ``None`` reads ``settings.default_catchment_m``.
    weight
        Distance-weight function, as for ``fca_arrays``, or ``None`` for plain 2SFCA. It is pickled to the
        workers: the factories of :mod:`socialmap.access` are; a lambda is, by cloudpickle.
    client
        A ``distributed.Client``, or a scheduler address (``"tcp://scheduler:8786"``) to connect to for this
        call. ``None``: the current default client if one exists (the last ``Client`` created), else the
        address in Dask's ``scheduler-address`` setting (environment variable ``DASK_SCHEDULER_ADDRESS``).
    n_tiles
        Number of demand tiles (tasks per step). ``None``: at least :data:`TILES_PER_THREAD` per worker
        thread and at most :data:`TILE_POINTS` demand points per tile. More tiles balance load better and
        use less worker memory each; fewer cost less scheduling overhead.

    Returns
    -------
    result
        :class:`socialmap.access.FCAResult`, in input order, as from ``fca_arrays``.

    Raises
    ------
    ValidationError
        Listing every problem of the arrays (shapes, NaN or negative need or capacity, missing coordinates).
    SocialMapError
        For an invalid ``catchment_m``, ``weight``, ``n_tiles`` or ``client``, or when no cluster is found.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         res = fca_dask([[0, 0], [1000, 0], [2000, 0]], [10, 20, 30], [[500, 0], [2500, 0]], [6, 3],
    ...                        catchment_m=1500, client=client)
    >>> res.access.round(4).tolist()
    [0.1, 0.16, 0.16]
    """
    d0 = _check_catchment(catchment_m, "fca_dask")
    weight = _check_weight(weight, "fca_dask")
    if n_tiles is not None and (
        isinstance(n_tiles, bool) or not isinstance(n_tiles, numbers.Integral) or n_tiles < 1
    ):
        raise SocialMapError(f"`n_tiles` of fca_dask() must be a positive integer or None; got {n_tiles!r}.")
    dxy, n_arr, sxy, c_arr = _check_arrays(demand_xy, need, supply_xy, capacity)
    assert n_arr is not None and c_arr is not None
    n, m = len(dxy), len(sxy)
    if n == 0 or m == 0:
        count = np.zeros(n, dtype=np.int64)
        return FCAResult(np.zeros(n), count > 0, count, np.full(n, np.inf), np.full(m, np.nan), np.zeros(m))

    with ExitStack() as stack:
        cl, owned = _resolve_client(client)
        if owned:
            stack.callback(cl.close)
        if n_tiles is None:
            threads = max(1, sum(cl.nthreads().values()))
            n_tiles = max(TILES_PER_THREAD * threads, math.ceil(n / TILE_POINTS))
        tiles = tile_demand(dxy, n_tiles)
        logger.info(
            "fca_dask: %d demand points in %d tiles, %d services, catchment %g m, on %s",
            n,
            len(tiles),
            m,
            d0,
            cl.scheduler.address if cl.scheduler is not None else "?",
        )
        sxy_f = cl.scatter(sxy, broadcast=True, hash=False)
        tile_fs = cl.scatter([(dxy[t], n_arr[t]) for t in tiles], hash=False)
        need_fs = [cl.submit(_need_task, tf, sxy_f, d0, weight, pure=False) for tf in tile_fs]
        wneed = np.zeros(m)
        # Summed in tile order, not completion order, so that repeated runs give identical results; one
        # tile's share at a time on the client (the others wait on the workers).
        for need_f in need_fs:
            sel, part = need_f.result()
            wneed[sel] += part
            need_f.release()
        del need_fs
        ratio = _ratio(c_arr, wneed)
        r_f = cl.scatter(np.where(np.isnan(ratio), 0.0, ratio), broadcast=True, hash=False)
        access_fs = [cl.submit(_access_task, tf, sxy_f, r_f, d0, weight, pure=False) for tf in tile_fs]
        access = np.empty(n)
        count = np.empty(n, dtype=np.int64)
        nearest = np.empty(n)
        for t, access_f in zip(tiles, access_fs, strict=True):
            access[t], count[t], nearest[t] = access_f.result()
            access_f.release()
        del access_fs, tile_fs, sxy_f, r_f
    return FCAResult(access, count > 0, count, nearest, ratio, wneed)


def _network_task(graph: Any, prep: Any, weight: WeightFunction | None, k0: int, k1: int) -> Any:
    from socialmap.network import _partial

    return _partial(graph, prep, weight, k0, k1)


def fca_network_dask(
    graph: Any,
    demand_xy: ArrayLike,
    need: ArrayLike,
    supply_xy: ArrayLike,
    capacity: ArrayLike,
    *,
    catchment_min: float | None = None,
    weight: WeightFunction | None = None,
    max_snap_m: float | None = None,
    crs: Any = None,
    client: Client | str | None = None,
    n_tasks: int | None = None,
) -> FCAResult:
    """
    Compute 2SFCA / E2SFCA with travel times on a road network, like :func:`socialmap.network.fca`, on Dask.

    The graph and the snapped points are sent to every worker once; each task searches from a batch of
    distinct service nodes and returns its services' weighted need and a partial access vector, summed on
    the client in task order (see the module docstring). Equal to ``socialmap.network.fca(...)`` up to the
    order of floating-point additions (relative differences of order 1e-15).

    Parameters
    ----------
    graph
        A :class:`socialmap.network.RoadGraph`.
    demand_xy, need, supply_xy, capacity, catchment_min, weight, max_snap_m, crs
        As for :func:`socialmap.network.fca`.
    client
        As for :func:`fca_dask`.
    n_tasks
        Number of tasks (batches of services). ``None``: :data:`TILES_PER_THREAD` per worker thread.

    Returns
    -------
    result
        :class:`socialmap.network.NetworkFCAResult`, as from ``socialmap.network.fca``.
    """
    from socialmap import network as nw

    graph = nw._check_graph(graph, "fca_network_dask")
    t0 = nw._check_catchment_min(catchment_min, "fca_network_dask")
    limit = nw._check_snap(max_snap_m, "fca_network_dask")
    weight = _check_weight(weight, "fca_network_dask")
    if n_tasks is not None and (
        isinstance(n_tasks, bool) or not isinstance(n_tasks, numbers.Integral) or n_tasks < 1
    ):
        raise SocialMapError(
            f"`n_tasks` of fca_network_dask() must be a positive integer or None; got {n_tasks!r}."
        )
    dxy, n_arr, sxy, c_arr = _check_arrays(demand_xy, need, supply_xy, capacity)

    with ExitStack() as stack:
        cl, owned = _resolve_client(client)
        if owned:
            stack.callback(cl.close)

        def partial(g: Any, prep: Any, w: WeightFunction | None) -> Iterator[Any]:
            k = prep.n_sources
            tasks = n_tasks if n_tasks is not None else TILES_PER_THREAD * max(1, sum(cl.nthreads().values()))
            bounds = np.unique(np.linspace(0, k, min(tasks, max(k, 1)) + 1).round().astype(int))
            logger.info("fca_network_dask: %d service nodes in %d tasks", k, max(len(bounds) - 1, 0))
            g_f = cl.scatter(g, broadcast=True, hash=False)
            p_f = cl.scatter(prep, broadcast=True, hash=False)
            futures = [
                cl.submit(_network_task, g_f, p_f, w, int(a), int(b), pure=False)
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            for f in futures:  # in task order, so that repeated runs give identical sums
                yield f.result()
                f.release()

        return nw._run(graph, dxy, n_arr, sxy, c_arr, t0, weight, limit, crs, nw._BATCH, partial=partial)
