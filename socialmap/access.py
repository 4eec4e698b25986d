"""
Accessibility: demand–service pairs within a catchment, distance-weight functions and the 2SFCA family.

Two-step floating catchment area (2SFCA, Luo & Wang 2003) and its enhanced, distance-weighted form (E2SFCA,
Luo & Qi 2009), for demand points with an extensive ``need`` (persons) and service points with an
extensive ``capacity`` (places). With ``d_ij`` the euclidean distance in metres, ``d0`` the catchment and
``w`` the weight (``w = 1`` for plain 2SFCA)::

    R_j = c_j / sum_{i: d_ij <= d0} w(d_ij) n_i      # places per person in need around service j
    A_i = sum_{j: d_ij <= d0} w(d_ij) R_j            # places per person in need reachable from point i

``A_i`` is intensive (a rate): never sum it, average it weighted by need. The threshold is inclusive
(``<=``), as in PySAL ``access`` (``max_cost`` and ``weights.step_fn`` both use ``<=``), and the weight is
applied in both steps, as in ``access``'s ``enhanced_two_stage_fca``; results equal ``access`` on the same
pairs (see ``tests/test_access.py``) apart from the documented edge cases of :func:`fca_arrays`.

The core never materialises the list of pairs. Demand points are sorted into horizontal strips and, inside a
strip, by ``x``; consecutive runs of them form chunks, and the services that can be within the catchment of a
chunk are those of a contiguous slice of the strip's services sorted by ``x`` that are within the catchment of
the chunk's bounding box, nearest first (so that an inner radius' rows lead). Each chunk is one dense numpy
block of squared distances (``scipy.spatial.distance.cdist``; numpy for small problems, with the same bits),
masked by the catchment and reduced with matrix–vector products. Step weights that fall with distance are a
sum of such masks, one per step, so their weights are never built; other weights are built block by block.
Memory stays bounded by the block size; the masks (one bit an entry) or weights are kept for the second step
while they fit in a budget and recomputed otherwise. Strips can run on threads (``workers``): the distances,
masks and products release the GIL, and every demand point belongs to one block, so the answer does not
depend on the threads; the 2SFCA family runs on one by default, which measured faster on two cores (see
``_FCA_THREADS``).
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from socialmap import settings
from socialmap.crs import require_metric_crs
from socialmap.errors import Problem, SocialMapError, ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "FCAResult",
    "GaussianWeights",
    "GravityWeights",
    "StepWeights",
    "WeightFunction",
    "distance_coverage",
    "fca_arrays",
    "fca_from_pairs",
    "gaussian_weights",
    "gravity_weights",
    "nearest_distance",
    "pairs_within",
    "step_weights",
    "two_step_fca",
]

#: A distance-weight function: distances (metres, a numpy array) -> weights (same shape, finite, >= 0).
WeightFunction = Callable[[NDArray[np.float64]], ArrayLike]

# Largest dense block (demand rows x candidate services) computed at once: 2**19 entries = 4 MiB per float64
# temporary. Keeps memory bounded whatever the input size.
_MAX_BLOCK = 2**19
# Blocks of weights kept from the first step for the second one while their total stays below this; beyond
# it the remaining blocks are recomputed (about doubling the distance work, never the memory).
_CACHE_BYTES = 256 * 2**20
# Cost model used to choose the strip height: rough seconds per block entry (both steps) and per chunk
# (Python overhead), from timings on the development machine; only their ratio matters.
_COST_PER_ENTRY = 6e-9
_COST_PER_CHUNK = 4e-5
# Below this many block entries a pass runs on one thread: starting threads would cost more than they save.
_THREADS_MIN_ENTRIES = 4_000_000
# Threads of the 2SFCA family when neither `workers` nor settings.workers says: one. Measured with
# benchmarks/bench_scale.py at 1M x 5k on the 2-core development machine, two threads were 0.76-0.87x the
# speed of one at load 1.2-1.4 (and 1.01x / 0.83x quiet, before the blocks kept only the rows in reach):
# a block is about 15 numpy calls of tens of microseconds each, and every one hands the GIL over.
_FCA_THREADS = 1
# Up to this many entries (block entries, or points x services for the nearest service), distances are
# computed with numpy while scipy.spatial is not imported yet: importing it takes longer (~0.15 s) than
# numpy's slower distances then cost. Both give the same bits (tests/test_access.py).
_NUMPY_DISTANCES_MAX = 20_000_000


# ----------------------------------------------------------------------------------------------------
# Weight functions (factories that return callables, as in PySAL access's `weights` module)
# ----------------------------------------------------------------------------------------------------


class StepWeights:
    """
    Step weights: the weight of the smallest distance bound that is >= the distance, 0 beyond the last bound.

    Made by :func:`step_weights`. Calling it on an array of distances (metres) returns an array of weights.
    """

    def __init__(self, steps: Mapping[float, float]) -> None:
        items = sorted((float(k), float(v)) for k, v in steps.items())
        self.bounds_m: NDArray[np.float64] = np.array([k for k, _ in items], dtype=np.float64)
        self.values: NDArray[np.float64] = np.array([v for _, v in items], dtype=np.float64)

    def __call__(self, distance_m: ArrayLike) -> Any:
        """Return the weight of each distance (metres)."""
        d = np.asarray(distance_m, dtype=np.float64)
        # side="left": index of the first bound >= d, so a distance equal to a bound gets that bound's weight.
        idx = np.searchsorted(self.bounds_m, d, side="left")
        return np.append(self.values, 0.0)[idx]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k:g}: {v:g}" for k, v in zip(self.bounds_m, self.values, strict=True))
        return f"step_weights({{{inner}}})"


class GaussianWeights:
    """
    Gaussian weights ``exp(-d**2 / (2 sigma**2))``, 1 at distance 0, as ``access.weights.gaussian``.

    Made by :func:`gaussian_weights`.
    """

    def __init__(self, sigma_m: float) -> None:
        self.sigma_m = float(sigma_m)

    def __call__(self, distance_m: ArrayLike) -> Any:
        """Return the weight of each distance (metres)."""
        d = np.asarray(distance_m, dtype=np.float64)
        # Same operations in the same order as access.weights.gaussian, so the values are bit-identical.
        return np.exp(-d * d / (2 * self.sigma_m**2))

    def _into(self, d: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
        """Write the weights of ``d`` into ``out`` (not ``d``): the same operations as ``__call__``."""
        np.negative(d, out=out)
        np.multiply(out, d, out=out)
        np.divide(out, 2 * self.sigma_m**2, out=out)
        return np.exp(out, out=out)

    def __repr__(self) -> str:
        return f"gaussian_weights({self.sigma_m:g})"


class GravityWeights:
    """
    Gravity weights ``(max(d, min_dist_m) / scale_m) ** alpha``, as ``access.weights.gravity``.

    Made by :func:`gravity_weights`. ``alpha`` is not implicitly negative: pass e.g. ``alpha=-1`` for a decay.
    """

    def __init__(self, scale_m: float, alpha: float, min_dist_m: float = 0.0) -> None:
        self.scale_m = float(scale_m)
        self.alpha = float(alpha)
        self.min_dist_m = float(min_dist_m)

    def __call__(self, distance_m: ArrayLike) -> Any:
        """Return the weight of each distance (metres)."""
        d = np.asarray(distance_m, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.power(np.maximum(d, self.min_dist_m) / self.scale_m, self.alpha)

    def _into(self, d: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
        """Write the weights of ``d`` into ``out`` (may be ``d``): the same operations as ``__call__``."""
        np.maximum(d, self.min_dist_m, out=out)
        np.divide(out, self.scale_m, out=out)
        with np.errstate(divide="ignore"):
            return np.power(out, self.alpha, out=out)

    def __repr__(self) -> str:
        return f"gravity_weights({self.scale_m:g}, {self.alpha:g}, min_dist_m={self.min_dist_m:g})"


def _require_number(value: object, name: str, func: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SocialMapError(f"`{name}` of {func}() must be a finite number; got {value!r}.")
    if positive and float(value) <= 0:
        raise SocialMapError(f"`{name}` of {func}() must be > 0; got {value!r}.")
    return float(value)


def step_weights(steps: Mapping[float, float]) -> StepWeights:
    """
    Make a step weight function from distance bounds (metres) to weights, like ``access.weights.step_fn``.

    A distance gets the weight of the smallest bound that is >= it (bounds are inclusive); distances beyond
    the largest bound get weight 0.

    Parameters
    ----------
    steps
        Mapping of distance upper bound in metres -> weight, e.g. ``{5000: 1, 10000: 0.68, 15000: 0.22}``.
        Bounds must be finite and >= 0; weights finite and >= 0.

    Returns
    -------
    weight
        A callable taking an array of distances in metres and returning the weights.

    Examples
    --------
    >>> w = step_weights({5000: 1, 10000: 0.68, 15000: 0.22})
    >>> w([0, 5000, 5001, 15000, 15001]).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    if not isinstance(steps, Mapping) or len(steps) == 0:
        raise SocialMapError(
            f"`steps` of step_weights() must be a non-empty mapping of distance bound (m) -> weight, "
            f"e.g. {{5000: 1, 10000: 0.68}}; got {steps!r}."
        )
    for bound, value in steps.items():
        b = _require_number(bound, "steps (a bound)", "step_weights")
        v = _require_number(value, "steps (a weight)", "step_weights")
        if b < 0 or v < 0:
            raise SocialMapError(
                f"step_weights() needs bounds and weights >= 0; got {bound!r}: {value!r}. Fix the step table."
            )
    return StepWeights(steps)


def gaussian_weights(sigma_m: float) -> GaussianWeights:
    """
    Make a gaussian weight function ``exp(-d**2 / (2 sigma_m**2))``, like ``access.weights.gaussian``.

    Parameters
    ----------
    sigma_m
        Width in metres (> 0). The weight is 1 at distance 0 and about 0.61 at ``sigma_m``.

    Returns
    -------
    weight
        A callable taking an array of distances in metres and returning the weights.

    Examples
    --------
    >>> round(float(gaussian_weights(5000)(5000)), 4)
    0.6065
    """
    return GaussianWeights(_require_number(sigma_m, "sigma_m", "gaussian_weights", positive=True))


def gravity_weights(scale_m: float, alpha: float, min_dist_m: float = 0.0) -> GravityWeights:
    """
    Make a gravity weight function ``(max(d, min_dist_m) / scale_m) ** alpha``, like ``weights.gravity``.

    Parameters
    ----------
    scale_m
        Distance in metres at which the weight is 1 (> 0).
    alpha
        Exponent; negative for a decay with distance (e.g. -1 or -2).
    min_dist_m
        Distances below this are raised to it (>= 0). With a negative ``alpha``, give a positive value: at
        distance 0 the weight is otherwise infinite, and :func:`fca_arrays` raises if a pair is that close.

    Returns
    -------
    weight
        A callable taking an array of distances in metres and returning the weights.

    Examples
    --------
    >>> gravity_weights(1000, -1, min_dist_m=500)([0, 1000, 2000]).tolist()
    [2.0, 1.0, 0.5]
    """
    scale = _require_number(scale_m, "scale_m", "gravity_weights", positive=True)
    a = _require_number(alpha, "alpha", "gravity_weights")
    low = _require_number(min_dist_m, "min_dist_m", "gravity_weights")
    if low < 0:
        raise SocialMapError(f"`min_dist_m` of gravity_weights() must be >= 0; got {min_dist_m!r}.")
    return GravityWeights(scale, a, low)


# ----------------------------------------------------------------------------------------------------
# The tiled engine
# ----------------------------------------------------------------------------------------------------


def _sq_threshold(r: float) -> float:
    """Largest float ``x`` with ``sqrt(x) <= r``: then ``d2 <= x`` exactly when ``sqrt(d2) <= r``."""
    if math.isinf(r):
        return math.inf
    x = r * r
    while x > 0 and math.sqrt(x) > r:
        x = math.nextafter(x, -math.inf)
    while math.sqrt(math.nextafter(x, math.inf)) <= r:
        x = math.nextafter(x, math.inf)
    return x


@dataclass(frozen=True)
class _Kernel:
    """
    How a block of squared distances (services x demand) turns into the two steps' sums.

    ``plain`` (2SFCA) and ``bands`` (step weights that do not grow with distance) never build the weights:
    a step function ``w = sum_b c_b [d <= t_b]`` (``c_b`` the fall of the weight at bound ``t_b``, >= 0) is a
    sum of masks, and each mask's products are matrix-vector products on it, the inner bounds' ones on the
    rows (services, sorted by x) that can be within them. ``step`` (other step tables) and ``func`` build
    the weights of the block.
    """

    t2: float  # squared catchment threshold (see _sq_threshold)
    kind: Literal["plain", "bands", "step", "func"]
    step_t2: NDArray[np.float64] | None = None  # ascending squared bounds, the last one is t2
    step_values: NDArray[np.float64] | None = None  # weight per bound, then 0 beyond t2
    func: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None
    check: bool = False  # verify func's weights are finite and >= 0
    # func writing its weights into a given array (socialmap's own weight classes): no temporaries per block
    into: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]] | None = None
    outer: float = 1.0  # bands: weight in the last band (the fall at the catchment)
    inner_t2: tuple[float, ...] = ()  # bands: squared inner bounds where the weight falls, ascending
    inner_fall: tuple[float, ...] = ()  # bands: the fall of the weight at each (> 0)
    inner_m: tuple[float, ...] = ()  # bands: the inner bounds in metres (for the plan's row ranges)

    def kept_bytes(self, entries: int, inner_entries: int) -> int:
        """Size of what :meth:`need` keeps of a block for step 2 (masks: a bit an entry; weights: 8 bytes)."""
        if self.kind == "plain":
            return -(-entries // 8)
        if self.kind == "bands":
            return -(-entries // 8) + -(-inner_entries // 8) + 8 * len(self.inner_t2)
        return 8 * entries

    def need(
        self,
        d2: NDArray[np.float64],
        need: NDArray[np.float64] | None,
        bufs: _Buffers,
        inner: NDArray[np.intp] | None,
        keep: bool,
    ) -> tuple[NDArray[np.float64] | None, NDArray[Any], Any]:
        """
        Step 1 on a block: weighted need per service row, services in reach per demand column, what is kept.

        The weighted need is None without ``need``; what step 2 needs of the block is kept if ``keep``
        (else None). ``inner`` holds, for ``bands``, the number of leading rows that can be within each inner
        bound (the block's rows come nearest first, see :func:`_rows`).
        """
        shape = d2.shape
        if self.kind in ("plain", "bands"):
            mask = np.less_equal(d2, self.t2, out=bufs.view("mask", shape, np.bool_))
            f = bufs.view("f", shape, np.float64)
            np.copyto(f, mask)
            count = bufs.ones(shape[0]) @ f
            if need is None:
                return None, count, None
            wn = f @ need
            # Masks are kept packed, 8 to a byte: fresh memory costs page faults, which threads cannot share.
            kept: Any = [np.packbits(mask, axis=None)] if keep else None
            if self.kind == "bands":
                if self.outer != 1.0:
                    wn *= self.outer
                for b, (t2, fall) in enumerate(zip(self.inner_t2, self.inner_fall, strict=True)):
                    assert inner is not None
                    hi = int(inner[b])
                    if hi <= 0:
                        if kept is not None:
                            kept.append(None)
                        continue
                    sub = (hi, shape[1])
                    m = np.less_equal(d2[:hi], t2, out=bufs.view("mask", sub, np.bool_))
                    fb = bufs.view("f", sub, np.float64)
                    np.copyto(fb, m)
                    wn[:hi] += fall * (fb @ need)
                    if kept is not None:
                        kept.append(np.packbits(m, axis=None))
            return wn, count, kept
        w, count = self.weights(d2, bufs)
        if need is None:
            return None, count, None
        return w @ need, count, (w.copy() if keep else None)

    def access(
        self,
        d2: NDArray[np.float64] | None,
        kept: Any,
        r: NDArray[np.float64],
        bufs: _Buffers,
        inner: NDArray[np.intp] | None,
        ncols: int,
    ) -> tuple[NDArray[np.float64], NDArray[Any] | None]:
        """
        Step 2 on a block: ``sum_j w_ij r_j`` per demand column, from what step 1 kept or from ``d2``.

        Also returns, when computed from ``d2``, the services in reach per demand column (else None).
        """
        count = None
        if self.kind in ("plain", "bands"):
            shape = d2.shape if d2 is not None else (len(r), ncols)
            f = bufs.view("f", shape, np.float64)
            if kept is not None:
                np.copyto(f.reshape(-1), np.unpackbits(kept[0], count=f.size))
            else:
                assert d2 is not None
                mask = np.less_equal(d2, self.t2, out=bufs.view("mask", shape, np.bool_))
                np.copyto(f, mask)
                count = bufs.ones(shape[0]) @ f
            out = r @ f
            if self.kind == "bands":
                if self.outer != 1.0:
                    out *= self.outer
                for b, (t2, fall) in enumerate(zip(self.inner_t2, self.inner_fall, strict=True)):
                    assert inner is not None
                    hi = int(inner[b])
                    if hi <= 0:
                        continue
                    sub = (hi, shape[1])
                    fb = bufs.view("f", sub, np.float64)
                    if kept is not None:
                        np.copyto(fb.reshape(-1), np.unpackbits(kept[b + 1], count=fb.size))
                    else:
                        assert d2 is not None
                        np.copyto(fb, np.less_equal(d2[:hi], t2, out=bufs.view("mask", sub, np.bool_)))
                    out += fall * (r[:hi] @ fb)
            return out, count
        if kept is not None:
            return r @ kept, None
        assert d2 is not None
        w, count = self.weights(d2, bufs)
        return r @ w, count

    def weights(
        self, d2: NDArray[np.float64], buffers: _Buffers | None = None
    ) -> tuple[NDArray[np.float64], NDArray[Any]]:
        """
        Return (weights, number of services within the catchment per demand point, i.e. per column).

        With ``buffers``, the weights (and the temporaries of the plain and step kernels) are written into
        reused work arrays: the weights are then only valid until the next call with the same buffers.
        """
        bufs = buffers if buffers is not None else _Buffers(d2.size)
        shape = d2.shape
        if self.kind == "plain":
            mask = np.less_equal(d2, self.t2, out=bufs.view("mask", shape, np.bool_))
            w = bufs.view("w", shape, np.float64)
            np.copyto(w, mask)
            return w, np.ones(len(w)) @ w
        if self.kind in ("step", "bands"):
            assert self.step_t2 is not None and self.step_values is not None
            small = len(self.step_t2) < 255  # step index per entry, counted in uint8 when it fits (faster)
            acc = bufs.view("idx", shape, np.uint8 if small else np.intp)
            acc.fill(0)
            beyond = bufs.view("mask", shape, np.bool_)
            for t in self.step_t2[:-1]:
                acc += np.greater(d2, t, out=beyond)
            acc += np.greater(d2, self.step_t2[-1], out=beyond)
            # mode="clip" (indices are always in range) lets take() write into `out` without a temporary.
            w = self.step_values.take(acc, out=bufs.view("w", shape, np.float64), mode="clip")
            return w, len(d2) - beyond.sum(axis=0)
        assert self.func is not None
        mask = np.less_equal(d2, self.t2, out=bufs.view("mask", shape, np.bool_))
        dist = np.sqrt(d2, out=bufs.view("w", shape, np.float64))
        with np.errstate(all="ignore"):
            if self.into is not None:
                w = self.into(dist, bufs.view("w2", shape, np.float64))
                np.copyto(w, 0.0, where=np.logical_not(mask, out=bufs.view("mask2", shape, np.bool_)))
            else:
                w = np.where(mask, self.func(dist), 0.0)
        if self.check and not (np.isfinite(w).all() and (w >= 0).all()):
            r, c = np.nonzero(mask & ~(np.isfinite(w) & (w >= 0)))
            raise SocialMapError(
                f"The weight function returned {float(w[r[0], c[0]])!r} at distance "
                f"{math.sqrt(float(d2[r[0], c[0]]))!r} m; weights must be finite and >= 0 within the "
                f"catchment. For gravity_weights with a negative alpha, give a min_dist_m > 0."
            )
        return w, mask.sum(axis=0)


class _Buffers:
    """
    Work arrays reused by every block of a pass, so that blocks do not allocate afresh.

    Fresh multi-megabyte arrays are cheap while glibc's malloc reuses freed memory, but cost page faults on
    every block where its dynamic mmap threshold is off: Dask's nannies set ``MALLOC_TRIM_THRESHOLD_``
    for their workers, which made a tile about 4 times slower there before blocks reused these buffers.
    Each thread of a pass has its own.
    """

    def __init__(self, size: int, scipy: bool = True) -> None:
        self.size = int(size)
        self.scipy = scipy  # distances with scipy's cdist, else with numpy (the same bits)
        self._arrays: dict[tuple[str, Any], NDArray[Any]] = {}
        self._ones = np.ones(0)

    def view(self, name: str, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
        """Return a C-contiguous array of ``shape`` over the work array ``name`` of ``dtype``."""
        key = (name, np.dtype(dtype))
        arr = self._arrays.get(key)
        if arr is None:
            arr = self._arrays[key] = np.empty(self.size, dtype=dtype)
        return arr[: math.prod(shape)].reshape(shape)

    def ones(self, n: int) -> NDArray[np.float64]:
        """``n`` ones (a reused array: do not write into it)."""
        if len(self._ones) < n:
            self._ones = np.ones(max(n, 2 * len(self._ones)))
        return self._ones[:n]

    def distances(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        """Squared distances, rows of ``a`` x rows of ``b``, into the work array ``d2``."""
        out = self.view("d2", (len(a), len(b)), np.float64)
        if self.scipy:
            from scipy.spatial.distance import cdist

            return cdist(a, b, "sqeuclidean", out=out)
        return _numpy_distances(a, b, out, self.view("d2y", out.shape, np.float64))


def _numpy_distances(
    a: NDArray[np.float64], b: NDArray[np.float64], out: NDArray[np.float64], tmp: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``cdist(a, b, "sqeuclidean")`` for 2-D points, with numpy: dx * dx + dy * dy, as cdist adds them."""
    np.subtract.outer(a[:, 0], b[:, 0], out=out)
    np.multiply(out, out, out=out)
    np.subtract.outer(a[:, 1], b[:, 1], out=tmp)
    np.multiply(tmp, tmp, out=tmp)
    return np.add(out, tmp, out=out)


def _scipy_worth_it(entries: int) -> bool:
    """Whether to compute ``entries`` distances with scipy.spatial (imported already, or a large problem)."""
    return "scipy.spatial" in sys.modules or entries > _NUMPY_DISTANCES_MAX


def _nearest(dxy: NDArray[np.float64], sxy: NDArray[np.float64], workers: int = 1) -> NDArray[np.float64]:
    """Distance from each point of ``dxy`` to the nearest of ``sxy`` (both non-empty)."""
    if _scipy_worth_it(len(dxy) * len(sxy)):
        from scipy.spatial import cKDTree

        return np.asarray(cKDTree(sxy).query(dxy, k=1, workers=workers)[0], dtype=np.float64)
    rows = max(1, 2**20 // len(sxy))
    bufs = _Buffers(min(rows, len(dxy)) * len(sxy), scipy=False)
    out = np.empty(len(dxy))
    for r0 in range(0, len(dxy), rows):
        d2 = bufs.distances(dxy[r0 : r0 + rows], sxy)
        np.sqrt(d2.min(axis=1), out=out[r0 : r0 + rows])
    return out


def _block_size(plan: _Plan) -> int:
    """Largest block (services x demand entries) of ``plan``; at least 1."""
    return max([1, *((r1 - r0) * (k1 - k0) for strip in plan.strips for r0, r1, k0, k1 in strip.chunks)])


def _entries(plan: _Plan) -> int:
    """Entries (services x demand) of all the blocks of ``plan``."""
    return sum((r1 - r0) * (k1 - k0) for strip in plan.strips for r0, r1, k0, k1 in strip.chunks)


def _vectorised(func: Callable[..., Any]) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Return ``func`` if it maps an array to an array of the same shape, else an element-wise wrapper."""
    probe = np.array([[0.0, 1.0], [2.0, 3.0]])
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(func(probe), dtype=np.float64)
        if out.shape == probe.shape:
            return lambda d: np.asarray(func(d), dtype=np.float64)
    except (TypeError, ValueError):
        pass
    # A scalar-only function such as access.weights.step_fn: correct, but called once per pair (slow).
    vec = np.vectorize(func, otypes=[np.float64])
    return lambda d: vec(d)


def _make_kernel(catchment_m: float, weight: WeightFunction | None) -> _Kernel:
    t2 = _sq_threshold(catchment_m)
    if weight is None:
        return _Kernel(t2=t2, kind="plain")
    if isinstance(weight, StepWeights):
        inside = weight.bounds_m < catchment_m
        bounds = [*weight.bounds_m[inside].tolist(), catchment_m]
        values = [*weight.values[inside].tolist(), float(weight(catchment_m)), 0.0]
        sq = np.array([_sq_threshold(b) for b in bounds])
        falls = [values[i] - values[i + 1] for i in range(len(bounds) - 1)]
        if all(f >= 0 for f in falls):  # the weight never grows with distance: a sum of masks
            keep = [i for i, f in enumerate(falls) if f > 0]
            return _Kernel(
                t2=t2,
                kind="bands",
                step_t2=sq,
                step_values=np.array(values),
                outer=values[-2],
                inner_t2=tuple(float(sq[i]) for i in keep),
                inner_fall=tuple(falls[i] for i in keep),
                inner_m=tuple(bounds[i] for i in keep),
            )
        return _Kernel(t2=t2, kind="step", step_t2=sq, step_values=np.array(values))
    safe = isinstance(weight, GaussianWeights) or (
        isinstance(weight, GravityWeights) and (weight.alpha >= 0 or weight.min_dist_m > 0)
    )
    into = weight._into if isinstance(weight, GaussianWeights | GravityWeights) else None
    return _Kernel(t2=t2, kind="func", func=_vectorised(weight), check=not safe, into=into)


@dataclass(frozen=True)
class _Strip:
    sup_idx: NDArray[np.intp]  # services that may be in reach of the strip's demand, sorted by x
    sup_xy: NDArray[np.float64]  # their coordinates (C-contiguous)
    chunks: list[tuple[int, int, int, int]]  # (demand lo, demand hi, service lo, service hi)
    boxes: NDArray[np.float64]  # per chunk, the bounding box of its demand: (xmin, xmax, ymin, ymax)


@dataclass(frozen=True)
class _Plan:
    order: NDArray[np.intp]  # demand sort order (strip, then x)
    dxy: NDArray[np.float64]  # demand coordinates in that order (C-contiguous)
    strips: list[_Strip]
    # Squared window half-widths of the inner radii (ascending), then of the catchment
    pads2: tuple[float, ...]


@dataclass(frozen=True)
class _Rows:
    """
    The services of each chunk of a strip, as the rows of its block: only those that can be in reach.

    Chunk ``c`` has the rows ``start[c]:ends[c, -1]`` of ``sel`` (positions into the strip's services) and
    ``xy`` (their coordinates), nearest first: the services that can be within the ``b``-th inner radius
    of the plan are the rows ``start[c]:ends[c, b]``.
    """

    sel: NDArray[np.intp]
    xy: NDArray[np.float64]  # C-contiguous
    start: NDArray[np.intp]
    ends: NDArray[np.intp]  # (chunks, radii): inner radii, then the catchment

    def nbytes(self) -> int:
        return int(self.sel.nbytes + self.xy.nbytes + self.start.nbytes + self.ends.nbytes)


def _rows(plan: _Plan, strip: _Strip) -> _Rows:
    """
    Choose and order the rows (services) of each block of ``strip``, from a chunk's slice of services by x.

    A service is kept when its distance to the chunk's bounding box is within the catchment (widened as the
    windows are): about a fifth of the slice is not, at the corners. The kept ones are grouped by the
    smallest radius of the plan they can be within, nearest group first (a stable sort: by x inside a
    group), so that each inner radius' masks are on leading rows only.
    """
    ch = np.asarray(strip.chunks, dtype=np.intp).reshape(-1, 4)
    nc, radii = len(ch), len(plan.pads2)
    lens = ch[:, 3] - ch[:, 2]
    cid = np.repeat(np.arange(nc, dtype=np.intp), lens)
    pos = np.arange(len(cid), dtype=np.intp)
    pos += np.repeat(ch[:, 2] - (np.cumsum(lens) - lens), lens)
    box = strip.boxes
    lb2 = np.zeros(len(pos))
    for axis in (0, 1):
        c = strip.sup_xy[:, axis].take(pos)
        gap = np.subtract(box[:, 2 * axis].take(cid), c)
        np.maximum(gap, c - box[:, 2 * axis + 1].take(cid), out=gap)
        np.maximum(gap, 0.0, out=gap)
        lb2 += gap * gap
    key = cid * (radii + 1)
    for p2 in plan.pads2:
        key += lb2 > p2
    # (chunk, group) keys: a radix sort when they fit 16 bits
    order = np.argsort(key.astype(np.uint16) if nc * (radii + 1) <= 2**16 else key, kind="stable")
    counts = np.bincount(key, minlength=nc * (radii + 1)).reshape(nc, radii + 1)
    sel = pos.take(order)[(key.take(order) % (radii + 1)) < radii]
    within = np.cumsum(counts[:, :radii], axis=1)
    start = np.cumsum(within[:, -1]) - within[:, -1]
    ends = within + start[:, None]
    return _Rows(sel, strip.sup_xy.take(sel, axis=0), start, ends)


def _extent(x: NDArray[np.float64]) -> tuple[float, float]:
    return float(x.min()), float(x.max())


def _strip_height(dxy: NDArray[np.float64], sxy: NDArray[np.float64], d0: float) -> float:
    """
    Choose the strip height (and chunk width) minimising a simple model of work + Python overhead.

    A chunk of side ``h`` reaches the services within ``d0`` of its square: an area ``h**2 + 4 h d0 +
    pi d0**2`` (see :func:`_rows`), at most its windows' ``(h + 2 d0)**2``.
    """
    (dx0, dx1), (dy0, dy1) = _extent(dxy[:, 0]), _extent(dxy[:, 1])
    (sx0, sx1), (sy0, sy1) = _extent(sxy[:, 0]), _extent(sxy[:, 1])
    lx, ly = max(dx1, sx1) - min(dx0, sx0), max(dy1, sy1) - min(dy0, sy0)
    span = max(lx, ly, 1.0)
    lx, ly = max(lx, span * 1e-3), max(ly, span * 1e-3)
    n, m = len(dxy), len(sxy)
    best_h, best_cost = span, math.inf
    for h in (span * 0.5**k for k in range(24)):
        window = min(1.0, (h + 2 * d0) / ly) * min(1.0, (h + 2 * d0) / lx)
        entries = n * m * min(window, (h * h + 4 * h * d0 + math.pi * d0 * d0) / (lx * ly))
        chunks = min(n, max(1.0, lx * ly / (h * h))) + entries / _MAX_BLOCK
        cost = entries * _COST_PER_ENTRY + chunks * _COST_PER_CHUNK
        if cost < best_cost:
            best_h, best_cost = h, cost
    return best_h


def _pad(d: float, scale: float) -> float:
    """Window half-width for radius ``d``, widened a little so that rounding never drops a pair."""
    return d + 1e-9 * (scale + d) if math.isfinite(d) else math.inf


def _plan(
    dxy: NDArray[np.float64], sxy: NDArray[np.float64], d0: float, inner_m: tuple[float, ...] = ()
) -> _Plan:
    """
    Sort demand into strips and chunks and find each chunk's contiguous slice of candidate services.

    ``inner_m`` (radii smaller than ``d0``, ascending) are the radii by which :func:`_rows` groups the
    services of a block.
    """
    n = len(dxy)
    h = _strip_height(dxy, sxy, d0)
    x, y = dxy[:, 0], dxy[:, 1]
    (x0, x1), (y0, _) = _extent(x), _extent(y)
    scale = max(abs(x0), abs(x1), float(np.abs(dxy[:, 1]).max()), float(np.abs(sxy).max()))
    # Windows are widened a little so that rounding never drops a pair; the exact test is on d2 later.
    pad = _pad(d0, scale)
    strip_id = np.floor((y - y0) / h)
    # One sort by (strip, x). The key's rounding may misorder x by a few nanometres: harmless, because chunk
    # extents below are true minima / maxima, not the first / last values.
    order = np.argsort(strip_id * (2.0 * (x1 - x0) + 1.0) + (x - x0))
    dxy_s = dxy.take(order, axis=0)  # C-contiguous; several times faster than dxy[order] for rows
    sid = strip_id[order]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    ends = np.r_[starts[1:], n]
    ys = dxy_s[:, 1]
    ymin = np.minimum.reduceat(ys, starts)
    ymax = np.maximum.reduceat(ys, starts)
    s_by_y = np.argsort(sxy[:, 1], kind="stable")
    sy = sxy[s_by_y, 1]
    xs = np.ascontiguousarray(dxy_s[:, 0])
    ys_pad = np.append(ys, 0.0)  # reduceat below takes an index one past the end
    xs_pad = np.append(xs, 0.0)
    strips = []
    for lo, hi, ya, yb in zip(starts.tolist(), ends.tolist(), ymin.tolist(), ymax.tolist(), strict=True):
        a = int(np.searchsorted(sy, ya - pad, side="left"))
        b = int(np.searchsorted(sy, yb + pad, side="right"))
        if b <= a:
            continue
        idx = s_by_y[a:b]
        idx = idx[np.argsort(sxy[idx, 0])]
        sup_xy = sxy.take(idx, axis=0)
        sx = np.ascontiguousarray(sup_xy[:, 0])
        q = max(1, math.ceil((hi - lo) * h / max(float(xs[hi - 1] - xs[lo]), h)))
        c_lo = np.arange(lo, hi, q)
        c_hi = np.minimum(c_lo + q, hi)
        s_lo = np.searchsorted(sx, np.minimum.reduceat(xs[lo:hi], c_lo - lo) - pad, side="left")
        s_hi = np.searchsorted(sx, np.maximum.reduceat(xs[lo:hi], c_lo - lo) + pad, side="right")
        chunks: list[tuple[int, int, int, int]] = []
        for r0, r1, k0, k1 in zip(c_lo.tolist(), c_hi.tolist(), s_lo.tolist(), s_hi.tolist(), strict=True):
            if k1 > k0:
                _split(chunks, r0, r1, k0, k1, xs, sx, pad)
        if not chunks:
            continue
        # Per chunk, the extremes of demand rows lo0:hi0, lo1:hi1, ... (hi may be the strip's end: padded)
        bounds = np.array(chunks, dtype=np.intp)[:, :2].reshape(-1) - lo
        xa, ya_ = xs_pad[lo : hi + 1], ys_pad[lo : hi + 1]
        boxes = np.column_stack(
            [
                np.minimum.reduceat(xa, bounds)[::2],
                np.maximum.reduceat(xa, bounds)[::2],
                np.minimum.reduceat(ya_, bounds)[::2],
                np.maximum.reduceat(ya_, bounds)[::2],
            ]
        )
        strips.append(_Strip(idx, sup_xy, chunks, boxes))
    pads2 = tuple(_pad(r, scale) ** 2 for r in (*inner_m, d0))
    return _Plan(order, dxy_s, strips, pads2)


def _split(
    out: list[tuple[int, int, int, int]],
    r0: int,
    r1: int,
    k0: int,
    k1: int,
    xs: NDArray[np.float64],
    sx: NDArray[np.float64],
    pad: float,
) -> None:
    """Append the chunk, halved (demand rows) until its block fits ``_MAX_BLOCK`` or is one row."""
    if (r1 - r0) * (k1 - k0) <= _MAX_BLOCK or r1 - r0 == 1:
        out.append((r0, r1, k0, k1))
        return
    mid = (r0 + r1) // 2
    for a, b in ((r0, mid), (mid, r1)):
        ka = int(np.searchsorted(sx, xs[a:b].min() - pad, side="left"))
        kb = int(np.searchsorted(sx, xs[a:b].max() + pad, side="right"))
        if kb > ka:
            _split(out, a, b, ka, kb, xs, sx, pad)


@dataclass(frozen=True)
class FCAResult:
    """
    Result of :func:`fca_arrays` / :func:`fca_from_pairs`, as plain arrays in input order.

    Attributes
    ----------
    access
        ``A_i`` per demand point (places per person in need; intensive). 0 where no service is in reach.
    covered
        Per demand point: True if at least one service is within the catchment (distance coverage).
    n_services
        Per demand point: number of services within the catchment.
    nearest
        Per demand point: distance to the nearest service (metres for :func:`fca_arrays`, cost units for
        :func:`fca_from_pairs`, where it is ``inf`` when no pair is within ``max_cost``); ``inf`` when there
        are no services.
    ratio
        ``R_j`` per service: capacity per weighted person in need in its catchment; NaN where that weighted
        need is 0 (nobody in need within reach): such a service adds nothing to anyone's ``access``.
    weighted_need
        ``sum_i w(d_ij) n_i`` per service (extensive).
    """

    access: NDArray[np.float64]
    covered: NDArray[np.bool_]
    n_services: NDArray[np.int64]
    nearest: NDArray[np.float64]
    ratio: NDArray[np.float64]
    weighted_need: NDArray[np.float64]


def _ratio(capacity: NDArray[np.float64], weighted_need: NDArray[np.float64]) -> NDArray[np.float64]:
    ratio = np.full(len(capacity), np.nan)
    ok = weighted_need > 0
    with np.errstate(over="ignore"):
        ratio[ok] = capacity[ok] / weighted_need[ok]
    # A weighted need so small (weights underflowing to ~1e-308) that the ratio overflows counts as none:
    # an infinite R_j would make access inf where it is reached and NaN (0 * inf) where it is not.
    ratio[np.isinf(ratio)] = np.nan
    return ratio


def _cores() -> int:
    """Processors this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _resolve_workers(workers: int | None, func: str, default: int | None = None) -> int:
    """Threads asked for (``None``: ``settings.workers``, then ``default``, else every core we may use)."""
    if workers is None:
        workers = settings.workers
    if workers is None:
        return _cores() if default is None else default
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise SocialMapError(f"`workers` of {func}() must be a whole number >= 1 or None; got {workers!r}.")
    return int(workers)


def _threads_for(plan: _Plan, workers: int) -> int:
    """Threads worth starting: one below ``_THREADS_MIN_ENTRIES`` entries, at most one per strip."""
    if workers <= 1 or len(plan.strips) < 2 or _entries(plan) < _THREADS_MIN_ENTRIES:
        return 1
    return min(workers, len(plan.strips))


def _map_strips(plan: _Plan, func: Callable[[int, _Strip, _Buffers], Any], workers: int) -> list[Any]:
    """
    Return ``[func(si, strip, buffers) for each strip]``, run on up to ``workers`` threads.

    Strips run in any order, results come in strip order. The distances, masks and matrix products
    release the GIL, so the threads run at once.
    """
    size = _block_size(plan)
    threads = _threads_for(plan, workers)
    scipy = _scipy_worth_it(_entries(plan))
    if threads == 1:
        bufs = _Buffers(size, scipy)
        return [func(si, strip, bufs) for si, strip in enumerate(plan.strips)]
    local = threading.local()

    def run(si: int) -> Any:
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = _Buffers(size, scipy)
        return func(si, plan.strips[si], bufs)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="socialmap-fca") as pool:
        return list(pool.map(run, range(len(plan.strips))))


def _kept_blocks(plan: _Plan, kernel: _Kernel, budget: int) -> set[tuple[int, int]]:
    """
    Choose the blocks whose step-1 masks (or weights) are kept for step 2: the first ones that fit.

    Sizes are counted on the chunks' slices of services (more than the rows :func:`_rows` keeps), with the
    strip's rows (kept with its first kept block) and every inner radius' masks on every row.
    """
    kept: set[tuple[int, int]] = set()
    used = 0
    radii = len(kernel.inner_t2)
    for si, strip in enumerate(plan.strips):
        used += 24 * sum(k1 - k0 for _, _, k0, k1 in strip.chunks)  # the strip's _Rows
        for ci, (r0, r1, k0, k1) in enumerate(strip.chunks):
            entries = (r1 - r0) * (k1 - k0)
            size = kernel.kept_bytes(entries, radii * entries)
            if used + size > budget:
                return kept
            kept.add((si, ci))
            used += size
    return kept


def _need_pass(
    plan: _Plan,
    kernel: _Kernel,
    need_s: NDArray[np.float64] | None,
    m: int,
    cache_bytes: int,
    workers: int = 1,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], dict[Any, Any]]:
    """
    Step 1 over every block of ``plan``: weighted need per service (``m``, input order of the services).

    Also returns, per demand point in plan order, the number of services in reach and the squared distance
    to the nearest candidate, and what step 2 needs of the blocks kept (while they fit ``cache_bytes``): the
    masks (or weights) under ``(strip, chunk)``, a strip's :class:`_Rows` under ``strip``.
    Blocks are services x demand, so the reductions run over axis 0 (fast). Every demand point is in one
    block, so threads write disjoint slices; the weighted need is added up strip by strip in strip order,
    so the result does not depend on the number of threads.
    """
    n = len(plan.order)
    cache: dict[Any, Any] = {}
    count_s = np.zeros(n)
    near2_s = np.full(n, np.inf)
    keep = _kept_blocks(plan, kernel, cache_bytes) if need_s is not None and cache_bytes > 0 else set()

    def strip_need(si: int, strip: _Strip, bufs: _Buffers) -> NDArray[np.float64] | None:
        rows = _rows(plan, strip)
        w_rows = np.zeros(len(rows.sel)) if need_s is not None else None
        for ci, (r0, r1, _, _) in enumerate(strip.chunks):
            k0, k1 = int(rows.start[ci]), int(rows.ends[ci, -1])
            if k1 <= k0:
                continue
            d2 = bufs.distances(rows.xy[k0:k1], plan.dxy[r0:r1])
            np.minimum(near2_s[r0:r1], d2.min(axis=0), out=near2_s[r0:r1])
            wn, cnt, kept = kernel.need(
                d2, None if need_s is None else need_s[r0:r1], bufs, rows.ends[ci, :-1] - k0, (si, ci) in keep
            )
            count_s[r0:r1] += cnt
            if w_rows is not None and wn is not None:
                w_rows[k0:k1] = wn
            if kept is not None:
                cache[si, ci] = kept
                cache[si] = rows
        if w_rows is None:
            return None
        return np.bincount(rows.sel, w_rows, minlength=len(strip.sup_idx)).astype(np.float64, copy=False)

    parts = _map_strips(plan, strip_need, workers)
    wneed = np.zeros(m)
    for strip, w_strip in zip(plan.strips, parts, strict=True):
        if w_strip is not None:
            wneed[strip.sup_idx] += w_strip
    return wneed, count_s, near2_s, cache


def _access_pass(
    plan: _Plan,
    kernel: _Kernel,
    r_use: NDArray[np.float64],
    cache: Mapping[Any, Any],
    *,
    coverage: bool = False,
    workers: int = 1,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """
    Step 2 over every block of ``plan``: access per demand point in plan order (``r_use``: 0 for NaN ratios).

    Blocks missing from ``cache`` are recomputed. With ``coverage`` (and an empty ``cache``, so that every
    block is recomputed), also returns the count of services in reach and the squared distance to the
    nearest candidate per demand point, as :func:`_need_pass` does.
    """
    assert not (coverage and cache), "coverage needs every block recomputed: pass an empty cache"
    n = len(plan.order)
    access_s = np.zeros(n)
    count_s = np.zeros(n) if coverage else None
    near2_s = np.full(n, np.inf) if coverage else None

    def strip_access(si: int, strip: _Strip, bufs: _Buffers) -> None:
        rows = cache.get(si)
        if rows is None:
            rows = _rows(plan, strip)
        r_rows = r_use.take(strip.sup_idx.take(rows.sel))
        for ci, (r0, r1, _, _) in enumerate(strip.chunks):
            k0, k1 = int(rows.start[ci]), int(rows.ends[ci, -1])
            if k1 <= k0:
                continue
            kept = cache.get((si, ci))
            d2 = None
            if kept is None:
                d2 = bufs.distances(rows.xy[k0:k1], plan.dxy[r0:r1])
                if near2_s is not None:
                    np.minimum(near2_s[r0:r1], d2.min(axis=0), out=near2_s[r0:r1])
            part, cnt = kernel.access(d2, kept, r_rows[k0:k1], bufs, rows.ends[ci, :-1] - k0, r1 - r0)
            access_s[r0:r1] += part
            if count_s is not None and cnt is not None:
                count_s[r0:r1] += cnt

    _map_strips(plan, strip_access, workers)
    return access_s, count_s, near2_s


def _coverage(
    plan: _Plan,
    count_s: NDArray[np.float64],
    near2_s: NDArray[np.float64],
    dxy: NDArray[np.float64],
    all_sxy: NDArray[np.float64],
    workers: int = 1,
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
    """
    Turn per-point counts and squared distances (plan order) into input order: count, covered, nearest.

    ``nearest`` is exact for covered points (the nearest service is a candidate of their block); for the
    others it is looked up with a KD-tree over ``all_sxy``, every service (not only a tile's halo).
    """
    n = len(dxy)
    count = np.zeros(n, dtype=np.int64)
    count[plan.order] = count_s
    near2 = np.empty(n)
    near2[plan.order] = near2_s
    covered = count > 0
    nearest = np.where(covered, np.sqrt(near2), np.inf)
    if not covered.all() and len(all_sxy):
        far = np.flatnonzero(~covered)
        nearest[far] = _nearest(dxy[far], all_sxy, workers)
    return count, covered, nearest


def _fca_core(
    dxy: NDArray[np.float64],
    need: NDArray[np.float64] | None,
    sxy: NDArray[np.float64],
    capacity: NDArray[np.float64] | None,
    d0: float,
    weight: WeightFunction | None,
    workers: int = 1,
) -> FCAResult:
    """Run both steps on checked arrays (``need``/``capacity`` None: distance coverage only)."""
    n, m = len(dxy), len(sxy)
    if n == 0 or m == 0:
        count = np.zeros(n, dtype=np.int64)
        return FCAResult(np.zeros(n), count > 0, count, np.full(n, np.inf), np.full(m, np.nan), np.zeros(m))
    kernel = _make_kernel(d0, weight)
    plan = _plan(dxy, sxy, d0, kernel.inner_m)
    need_s = need[plan.order] if need is not None else None
    wneed, count_s, near2_s, cache = _need_pass(plan, kernel, need_s, m, _CACHE_BYTES, workers)
    count, covered, nearest = _coverage(plan, count_s, near2_s, dxy, sxy, _threads_for(plan, workers))
    if need_s is None or capacity is None:
        return FCAResult(np.zeros(n), covered, count, nearest, np.full(m, np.nan), wneed)
    ratio = _ratio(capacity, wneed)
    r_use = np.where(np.isnan(ratio), 0.0, ratio)
    access_s, _, _ = _access_pass(plan, kernel, r_use, cache, workers=workers)
    access = np.empty(n)
    access[plan.order] = access_s
    return FCAResult(access, covered, count, nearest, ratio, wneed)


# ----------------------------------------------------------------------------------------------------
# One tile of a partitioned run (used by socialmap.cluster; plain numpy, so any worker can run it)
# ----------------------------------------------------------------------------------------------------


def _halo(dxy: NDArray[np.float64], sxy: NDArray[np.float64], d0: float) -> NDArray[np.intp]:
    """
    Positions of the services within the bounding box of ``dxy`` widened by the catchment ``d0``.

    A superset of the services within ``d0`` of any point of ``dxy`` (widened a little further so that
    rounding never drops one); the extra ones get weight 0 from the exact test on squared distances.
    """
    if len(dxy) == 0 or len(sxy) == 0:
        return np.zeros(0, dtype=np.intp)
    if not math.isfinite(d0):
        return np.arange(len(sxy))
    scale = max(float(np.abs(dxy).max()), float(np.abs(sxy).max()))
    pad = d0 + 1e-9 * (scale + d0)
    lo = dxy.min(axis=0) - pad
    hi = dxy.max(axis=0) + pad
    inside = (sxy[:, 0] >= lo[0]) & (sxy[:, 0] <= hi[0]) & (sxy[:, 1] >= lo[1]) & (sxy[:, 1] <= hi[1])
    return np.flatnonzero(inside)


def _tile_weighted_need(
    dxy: NDArray[np.float64],
    need: NDArray[np.float64],
    sxy: NDArray[np.float64],
    d0: float,
    weight: WeightFunction | None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """
    Step 1 for one tile of demand: its share of the weighted need of the services in its halo.

    Returns the positions (into ``sxy``) of the halo services and, for each, ``sum_i w(d_ij) n_i`` over the
    tile's demand points only. Summed over tiles that partition the demand, these give the weighted need.
    """
    sel = _halo(dxy, sxy, d0)
    if len(sel) == 0:
        return sel, np.zeros(0)
    kernel = _make_kernel(d0, weight)
    plan = _plan(dxy, sxy[sel], d0, kernel.inner_m)
    wneed, _, _, _ = _need_pass(plan, kernel, need[plan.order], len(sel), 0)
    return sel, wneed


def _tile_access(
    dxy: NDArray[np.float64],
    sxy: NDArray[np.float64],
    r_use: NDArray[np.float64],
    d0: float,
    weight: WeightFunction | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """
    Step 2 and distance coverage for one tile of demand, given the ratios ``r_use`` of every service.

    Returns ``access``, ``n_services`` and ``nearest`` (metres) for the tile's demand points, in their order.
    """
    n = len(dxy)
    sel = _halo(dxy, sxy, d0)
    if len(sel) == 0:
        _, _, nearest = _coverage_none(dxy, sxy)
        return np.zeros(n), np.zeros(n, dtype=np.int64), nearest
    kernel = _make_kernel(d0, weight)
    plan = _plan(dxy, sxy[sel], d0, kernel.inner_m)
    access_s, count_s, near2_s = _access_pass(plan, kernel, r_use[sel], {}, coverage=True)
    assert count_s is not None and near2_s is not None
    count, _, nearest = _coverage(plan, count_s, near2_s, dxy, sxy)
    access = np.empty(n)
    access[plan.order] = access_s
    return access, count, nearest


def _coverage_none(
    dxy: NDArray[np.float64], sxy: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
    """Coverage of points with no service in their halo: none in reach; nearest from every service."""
    n = len(dxy)
    count = np.zeros(n, dtype=np.int64)
    nearest = np.full(n, np.inf)
    if n and len(sxy):
        nearest = _nearest(dxy, sxy)
    return count, count > 0, nearest


# ----------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------------


def fca_arrays(
    demand_xy: ArrayLike,
    need: ArrayLike,
    supply_xy: ArrayLike,
    capacity: ArrayLike,
    *,
    catchment_m: float | None = None,
    weight: WeightFunction | None = None,
    workers: int | None = None,
) -> FCAResult:
    """
    Compute 2SFCA (``weight=None``) or E2SFCA access scores on plain arrays with euclidean distances.

    The catchment is inclusive (``d_ij <= catchment_m``) and ``weight`` is applied in both steps::

        R_j = c_j / sum_{i: d_ij <= d0} w(d_ij) n_i ;  A_i = sum_{j: d_ij <= d0} w(d_ij) R_j

    Edge cases, and why:

    - **Demand with no service in reach**: ``access`` 0 and ``covered`` False. No supply is within reach, so
      the supply per person is zero, a real value: NaN (what PySAL ``access`` returns) would drop exactly the
      worst-off people from need-weighted means and from unmet-need totals. ``covered`` tells "no service in
      reach" apart from "services in reach with no free capacity".
    - **Zero-need demand points** are allowed: they add nothing to any service's weighted need, and get the
      ``access`` a person there would have (as in ``access``).
    - **A service with no weighted need in reach** (nobody within the catchment, only zero-need points, or
      only points where the weight is 0, or so close to 0 that ``c_j`` / weighted need overflows):
      ``R_j`` is undefined (``c_j / 0``). Its ``ratio`` is NaN and it
      adds 0 to everyone's ``access``: nobody who needs it can reach it, so its capacity serves no one
      (``sum_i n_i A_i`` then equals the capacity of the services that have need in reach). PySAL ``access``
      instead gives ``inf`` (or NaN) to the zero-need points near such a service.
    - **Missing capacity or need** (NaN), negative or infinite values raise: missing capacity is unknown,
      never silently 1 or 0. :func:`two_step_fca` can drop such services with a warning instead.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand point coordinates in a metric CRS (metres).
    need
        ``n`` persons in need at each demand point (extensive, >= 0).
    supply_xy
        ``(m, 2)`` service coordinates in the same CRS.
    capacity
        ``m`` places at each service (extensive, >= 0).
    catchment_m
        Catchment radius in metres (> 0; ``math.inf`` for unlimited). ``None`` reads
        ``settings.default_catchment_m``.
    weight
        Distance-weight function (:func:`step_weights`, :func:`gaussian_weights`, :func:`gravity_weights`,
        or any callable mapping an array of distances in metres to weights >= 0), or ``None`` for plain
        2SFCA. A callable that only accepts scalars (e.g. ``access.weights.step_fn``) works but is called once
        per pair. A service within the catchment where the weight is 0 (e.g. beyond the last step) still
        counts in ``covered`` and ``n_services``, which are about distance only.
    workers
        Threads to run on (``None``: ``settings.workers``, by default one: on two cores, threads measured
        slower than one, see ``benchmarks/bench_scale.py``). The answer is the same whatever the number;
        problems under a few million candidate pairs run on one thread.

    Returns
    -------
    result
        :class:`FCAResult`: ``access``, ``covered``, ``n_services``, ``nearest`` (metres) per demand point and
        ``ratio``, ``weighted_need`` per service.

    Examples
    --------
    Three demand points and two services on a line (see ``tests/test_access.py`` for the hand calculation):

    >>> res = fca_arrays([[0, 0], [1000, 0], [2000, 0]], [10, 20, 30], [[500, 0], [2500, 0]], [6, 3],
    ...                  catchment_m=1500)
    >>> res.access.round(4).tolist(), res.ratio.round(4).tolist()
    ([0.1, 0.16, 0.16], [0.1, 0.06])
    """
    d0 = _check_catchment(catchment_m, "fca_arrays")
    weight = _check_weight(weight, "fca_arrays")
    threads = _resolve_workers(workers, "fca_arrays", _FCA_THREADS)
    dxy, n_arr, sxy, c_arr = _check_arrays(demand_xy, need, supply_xy, capacity)
    return _fca_core(dxy, n_arr, sxy, c_arr, d0, weight, threads)


def fca_from_pairs(
    origin: ArrayLike,
    dest: ArrayLike,
    cost: ArrayLike,
    need: ArrayLike,
    capacity: ArrayLike,
    *,
    max_cost: float,
    weight: WeightFunction | None = None,
) -> FCAResult:
    """
    Compute 2SFCA / E2SFCA from precomputed cost pairs (e.g. network travel times), with the same edge cases.

    Pairs with ``cost <= max_cost`` are used; ``weight`` is applied to the cost in both steps. Every
    (origin, dest) pair must appear at most once. Use :func:`fca_arrays` for euclidean distances: it never
    holds all pairs at once.

    Parameters
    ----------
    origin
        Demand point position (0..n-1) of each pair.
    dest
        Service position (0..m-1) of each pair.
    cost
        Cost of each pair (metres, minutes...; the same unit as ``max_cost`` and the weight function).
    need
        ``n`` persons in need per demand point (extensive, >= 0).
    capacity
        ``m`` places per service (extensive, >= 0).
    max_cost
        Catchment in cost units (> 0, inclusive).
    weight
        Weight function of the cost, or ``None`` for plain 2SFCA.

    Returns
    -------
    result
        :class:`FCAResult`; ``nearest`` is the smallest cost within ``max_cost`` (``inf`` if none).
    """
    d0 = _check_catchment(max_cost, "fca_from_pairs")
    weight = _check_weight(weight, "fca_from_pairs")
    problems: list[Problem] = []
    n_arr = _as_float_array(need, "need", problems, 1)
    c_arr = _as_float_array(capacity, "capacity", problems, 1)
    _check_values(n_arr, "need", None, problems)
    _check_values(c_arr, "capacity", None, problems)
    o = np.asarray(origin, dtype=np.intp)
    j = np.asarray(dest, dtype=np.intp)
    c = np.asarray(cost, dtype=np.float64)
    if not (o.shape == j.shape == c.shape and o.ndim == 1):
        problems.append(
            Problem("pairs", None, None, "origin, dest and cost differ in shape.", "Pass 1-D arrays.")
        )
    elif len(o) and (o.min() < 0 or o.max() >= len(n_arr) or j.min() < 0 or j.max() >= len(c_arr)):
        problems.append(
            Problem("pairs", None, None, "origin/dest out of range.", "Use positions into need/capacity.")
        )
    elif np.isnan(c).any() or (c < 0).any():
        problems.append(
            Problem("pairs", None, "cost", "has NaN or negative costs.", "Fix or drop those pairs.")
        )
    if problems:
        raise ValidationError(problems)
    keep = c <= d0
    if not keep.all():  # (pairs_within's pairs are all in)
        o, j, c = o[keep], j[keep], c[keep]
    n, m = len(n_arr), len(c_arr)
    w: NDArray[np.float64] | None = None
    if weight is not None:
        w = np.asarray(_vectorised(weight)(c), dtype=np.float64)
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise SocialMapError("The weight function returned a value that is not finite and >= 0.")
    need_o = n_arr.take(o)
    wneed = np.bincount(j, weights=need_o if w is None else np.multiply(w, need_o, out=need_o), minlength=m)
    del need_o
    ratio = _ratio(c_arr, wneed.astype(np.float64))
    r_use = np.where(np.isnan(ratio), 0.0, ratio)
    r_j = r_use.take(j)
    access = np.bincount(o, weights=r_j if w is None else np.multiply(w, r_j, out=r_j), minlength=n)
    del r_j
    count = np.bincount(o, minlength=n).astype(np.int64)
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, o, c)
    return FCAResult(access.astype(np.float64), count > 0, count, nearest, ratio, wneed.astype(np.float64))


def pairs_within(
    demand_xy: ArrayLike,
    supply_xy: ArrayLike,
    *,
    catchment_m: float | None = None,
    workers: int | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """
    List the demand–service pairs within the catchment (``distance <= catchment_m``), with their distances.

    This materialises every pair (about 24 bytes each); for the 2SFCA family use :func:`fca_arrays`, which
    never holds all pairs at once.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    supply_xy
        ``(m, 2)`` service coordinates in the same CRS.
    catchment_m
        Inclusive radius in metres; ``None`` reads ``settings.default_catchment_m``.
    workers
        Threads to run on (``None``: ``settings.workers``, by default every core this process may use:
        its blocks are fewer, larger numpy calls than the 2SFCA's, and two threads measured faster).

    Returns
    -------
    pairs
        ``(demand position, service position, distance in metres)`` arrays, sorted by demand then service.

    Notes
    -----
    Two passes over the blocks of :func:`fca_arrays`: the first counts each demand point's pairs, which
    places them in the output (all of a point's pairs come from its one block); the second writes them
    there, each block's services taken in the order of their positions, so that no sort is needed.

    Examples
    --------
    >>> i, j, d = pairs_within([[0, 0], [3000, 4000]], [[0, 0]], catchment_m=5000)
    >>> i.tolist(), j.tolist(), d.tolist()
    ([0, 1], [0, 0], [0.0, 5000.0])
    """
    d0 = _check_catchment(catchment_m, "pairs_within")
    threads = _resolve_workers(workers, "pairs_within")
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    n = len(dxy)
    if n == 0 or len(sxy) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    t2 = _sq_threshold(d0)
    plan = _plan(dxy, sxy, d0)
    count_s = np.zeros(n, dtype=np.intp)  # pairs per demand point, plan order

    def block(strip: _Strip, rows: _Rows, ci: int, bufs: _Buffers, by_position: bool) -> Any:
        r0, r1 = strip.chunks[ci][:2]
        k0, k1 = int(rows.start[ci]), int(rows.ends[ci, -1])
        sup_idx, sup_xy = strip.sup_idx.take(rows.sel[k0:k1]), rows.xy[k0:k1]
        if by_position:
            perm = np.argsort(sup_idx)
            sup_idx, sup_xy = sup_idx[perm], sup_xy[perm]
        d2 = bufs.distances(plan.dxy[r0:r1], sup_xy)  # demand x services: pairs come out demand by demand
        return sup_idx, d2, np.less_equal(d2, t2, out=bufs.view("mask", d2.shape, np.bool_))

    def count(si: int, strip: _Strip, bufs: _Buffers) -> None:
        rows = _rows(plan, strip)
        for ci, chunk in enumerate(strip.chunks):
            if rows.ends[ci, -1] > rows.start[ci]:
                _, _, mask = block(strip, rows, ci, bufs, False)
                count_s[chunk[0] : chunk[1]] = np.count_nonzero(mask, axis=1)

    _map_strips(plan, count, threads)
    per_point = np.zeros(n, dtype=np.intp)
    per_point[plan.order] = count_s
    first = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(per_point, out=first[1:])
    first_s = first[:-1][plan.order]  # where each demand point's pairs start in the output, plan order
    j_out = np.empty(int(first[-1]), dtype=np.intp)
    d_out = np.empty(int(first[-1]))

    def write(si: int, strip: _Strip, bufs: _Buffers) -> None:
        rows = _rows(plan, strip)
        for ci, chunk in enumerate(strip.chunks):
            r0, r1 = chunk[0], chunk[1]
            if rows.ends[ci, -1] <= rows.start[ci]:
                continue
            sup_idx, d2, mask = block(strip, rows, ci, bufs, True)
            flat = np.flatnonzero(mask)  # row by row: demand point by demand point, services by position
            cnt = count_s[r0:r1]
            width = d2.shape[1]
            cols = flat - np.repeat(np.arange(0, len(cnt) * width, width), cnt)
            at = np.repeat(first_s[r0:r1] - (np.cumsum(cnt) - cnt), cnt)
            at += np.arange(len(flat))
            j_out[at] = sup_idx.take(cols)
            d_out[at] = np.sqrt(d2.take(flat))

    _map_strips(plan, write, threads)
    return np.repeat(np.arange(n, dtype=np.intp), per_point), j_out, d_out


def nearest_distance(demand_xy: ArrayLike, supply_xy: ArrayLike) -> NDArray[np.float64]:
    """
    Return the euclidean distance from each demand point to its nearest service (``inf`` if there is none).

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    supply_xy
        ``(m, 2)`` service coordinates in the same CRS.

    Returns
    -------
    distance_m
        ``n`` distances in metres.

    Examples
    --------
    >>> nearest_distance([[0, 0], [10, 0]], [[3, 4], [10, 1]]).tolist()
    [5.0, 1.0]
    """
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    if len(sxy) == 0:
        return np.full(len(dxy), np.inf)
    if len(dxy) == 0:
        return np.zeros(0)
    return _nearest(dxy, sxy)


def _frames_to_arrays(
    demand: object,
    supply: object,
    func: str,
    *,
    need: bool,
    capacity: bool,
    missing_capacity: str = "raise",
) -> tuple[
    gpd.GeoDataFrame,
    NDArray[np.float64],
    NDArray[np.float64] | None,
    NDArray[np.float64],
    NDArray[np.float64] | None,
]:
    dem = _check_frame(demand, "demand", func)
    sup = _check_frame(supply, "supply", func)
    require_metric_crs(dem, sup, names=("demand", "supply"))
    problems: list[Problem] = []
    n_arr = c_arr = None
    if need and _require_columns(dem, "demand", ("need",), problems):
        n_arr = _numeric_column(dem, "demand", "need", problems)
    if capacity and _require_columns(sup, "supply", ("capacity",), problems):
        c_arr = _numeric_column(sup, "supply", "capacity", problems, nan_ok=missing_capacity == "drop")
    dxy = _point_xy(dem, "demand", problems)
    sxy = _point_xy(sup, "supply", problems)
    if problems:
        raise ValidationError(problems)
    if c_arr is not None and np.isnan(c_arr).any():
        drop = np.isnan(c_arr)
        warnings.warn(
            f"`supply` has {int(drop.sum())} service(s) with missing capacity, at index labels "
            f"{_labels(sup.index, np.flatnonzero(drop))}; they are left out as if absent (not counted as in "
            f"reach). Fill `capacity` to include them.",
            UserWarning,
            stacklevel=3,
        )
        c_arr, sxy = c_arr[~drop], sxy[~drop]
    return dem, dxy, n_arr, sxy, c_arr


def two_step_fca(
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    *,
    catchment_m: float | None = None,
    weight: WeightFunction | None = None,
    missing_capacity: Literal["raise", "drop"] = "raise",
) -> pd.DataFrame:
    """
    Compute 2SFCA (``weight=None``) or E2SFCA access per demand point, with euclidean distances.

    Equals PySAL ``access``'s ``two_stage_fca`` / ``enhanced_two_stage_fca`` (same weight, inclusive
    ``max_cost``) except where ``access`` returns NaN or ``inf``; see :func:`fca_arrays` for those edge cases
    and the formulas.

    Parameters
    ----------
    demand
        Demand points with an extensive ``need`` column (persons in need, >= 0), in a metric CRS.
    supply
        Service points with an extensive ``capacity`` column (places, >= 0), in the same CRS.
    catchment_m
        Inclusive catchment radius in metres (> 0; ``math.inf`` for unlimited). ``None`` reads
        ``settings.default_catchment_m``.
    weight
        Distance-weight function (e.g. ``step_weights({5000: 1, 10000: 0.68, 15000: 0.22})``) applied in both
        steps, or ``None`` for plain 2SFCA.
    missing_capacity
        ``"raise"`` (default): a missing (NaN) capacity is an error. ``"drop"``: such services are left out
        as if absent, with a ``UserWarning``.

    Returns
    -------
    frame
        DataFrame indexed like ``demand`` with columns ``access`` (``A_i``, places per person in need;
        intensive; 0 where no service is in reach), ``covered`` (bool: a service within the catchment),
        ``n_services`` (services within the catchment) and ``nearest_m`` (distance to the nearest service,
        ``inf`` if there is none). ``frame.attrs`` records the method, catchment and weight.

    Raises
    ------
    CRSError
        If a CRS is missing, the two differ, or they are not metric.
    ValidationError
        Listing every problem found in the data: missing columns, NaN/negative need or capacity, geometries
        that are not points.
    SocialMapError
        For an invalid ``catchment_m``, ``weight`` or ``missing_capacity``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> demand = gpd.GeoDataFrame({"need": [10, 20, 30]},
    ...     geometry=gpd.points_from_xy([0, 1000, 2000], [0, 0, 0]), crs="EPSG:3857")
    >>> supply = gpd.GeoDataFrame({"capacity": [6, 3]},
    ...     geometry=gpd.points_from_xy([500, 2500], [0, 0]), crs="EPSG:3857")
    >>> two_step_fca(demand, supply, catchment_m=1500).round(4)
       access  covered  n_services  nearest_m
    0    0.10     True           1      500.0
    1    0.16     True           2      500.0
    2    0.16     True           2      500.0
    """
    d0 = _check_catchment(catchment_m, "two_step_fca")
    weight = _check_weight(weight, "two_step_fca")
    if missing_capacity not in ("raise", "drop"):
        raise SocialMapError(f"`missing_capacity` must be 'raise' or 'drop'; got {missing_capacity!r}.")
    dem, dxy, n_arr, sxy, c_arr = _frames_to_arrays(
        demand, supply, "two_step_fca", need=True, capacity=True, missing_capacity=missing_capacity
    )
    method = "2SFCA" if weight is None else "E2SFCA"
    logger.info("%s: %d demand points, %d services, catchment %g m", method, len(dxy), len(sxy), d0)
    res = _fca_core(dxy, n_arr, sxy, c_arr, d0, weight, _resolve_workers(None, "two_step_fca", _FCA_THREADS))
    frame = pd.DataFrame(
        {
            "access": res.access,
            "covered": res.covered,
            "n_services": res.n_services,
            "nearest_m": res.nearest,
        },
        index=dem.index.copy(),
    )
    frame.attrs.update({"method": method, "catchment_m": d0, "weight": repr(weight), "distance": "euclidean"})
    return frame


def distance_coverage(
    demand: gpd.GeoDataFrame, supply: gpd.GeoDataFrame, *, catchment_m: float | None = None
) -> pd.DataFrame:
    """
    Say for each demand point whether a service is within the catchment, how many, and how far the nearest is.

    Capacity is not used: this is plain distance coverage (``covered_share`` in DESIGN.md is the need-weighted
    share of ``covered``), except that a service whose ``capacity`` is known to be 0 (no places) covers no
    one and is left out; a service of unknown capacity (NaN, or no ``capacity`` column) is a site that
    covers.

    Parameters
    ----------
    demand
        Demand points in a metric CRS (no column is required).
    supply
        Service points in the same CRS; an optional ``capacity`` column (services with 0 are left out).
    catchment_m
        Inclusive radius in metres; ``None`` reads ``settings.default_catchment_m``.

    Returns
    -------
    frame
        DataFrame indexed like ``demand`` with ``covered`` (bool), ``n_services`` and ``nearest_m`` (``inf``
        if there is no service with places at all).

    Examples
    --------
    >>> import geopandas as gpd
    >>> demand = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 5000], [0, 0]), crs="EPSG:3857")
    >>> supply = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1000], [0]), crs="EPSG:3857")
    >>> distance_coverage(demand, supply, catchment_m=3000)
       covered  n_services  nearest_m
    0     True           1     1000.0
    1    False           0     4000.0
    """
    d0 = _check_catchment(catchment_m, "distance_coverage")
    dem, dxy, _, sxy, _ = _frames_to_arrays(demand, supply, "distance_coverage", need=False, capacity=False)
    if isinstance(supply, pd.DataFrame) and "capacity" in supply.columns:
        places = pd.to_numeric(supply["capacity"], errors="coerce").to_numpy(dtype=float)
        sxy = sxy[~(places == 0)]  # no places: covers no one (NaN, unknown, still covers)
    res = _fca_core(dxy, None, sxy, None, d0, None, _resolve_workers(None, "distance_coverage", _FCA_THREADS))
    frame = pd.DataFrame(
        {"covered": res.covered, "n_services": res.n_services, "nearest_m": res.nearest},
        index=dem.index.copy(),
    )
    frame.attrs.update({"method": "distance coverage", "catchment_m": d0, "distance": "euclidean"})
    return frame
