"""
How a block of squared distances (services x demand) turns into the two steps' sums.

The kernels of plain 2SFCA, of step weights (a sum of masks, or built) and of any other weight function,
with the work arrays the blocks reuse and the distances themselves (scipy's cdist, or numpy with the same
bits).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from socialmap.access.weights import GaussianWeights, GravityWeights, StepWeights, WeightFunction
from socialmap.errors import SocialMapError


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
        inner: Sequence[int] | None,
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
            f, count = self._masks(d2, bufs, inner)
            if need is None:
                return None, count, None
            # One product for every mask of the block: the catchment's rows, then each inner radius' rows.
            both = f @ need
            wn = both[: shape[0]]
            if self.kind == "bands":
                if self.outer != 1.0:
                    wn *= self.outer
                at = shape[0]
                assert inner is not None
                for fall, hi in zip(self.inner_fall, inner, strict=True):
                    if hi > 0:
                        wn[:hi] += fall * both[at : at + hi]
                        at += hi
            # Masks are kept packed, 8 to a byte: fresh memory costs page faults, which threads cannot share.
            mask = bufs.view("mask", f.shape, np.bool_)
            return wn, count, (np.packbits(mask, axis=None) if keep else None)
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
        inner: Sequence[int] | None,
        ncols: int,
    ) -> tuple[NDArray[np.float64], NDArray[Any] | None]:
        """
        Step 2 on a block: ``sum_j w_ij r_j`` per demand column, from what step 1 kept or from ``d2``.

        Also returns, when computed from ``d2``, the services in reach per demand column (else None).
        """
        count = None
        if self.kind in ("plain", "bands"):
            rows = len(r) + (
                sum(h for h in inner if h > 0) if self.kind == "bands" and inner is not None else 0
            )
            if kept is not None:
                f = bufs.view("f", (rows, ncols), np.float64)
                np.copyto(f.reshape(-1), np.unpackbits(kept, count=f.size))
            else:
                assert d2 is not None
                f, count = self._masks(d2, bufs, inner)
            if self.kind == "plain":
                return r @ f, count
            # One product for every mask: r weighted by the catchment's weight, then by each inner fall.
            v = bufs.view("v", (rows,), np.float64)
            np.multiply(r, self.outer, out=v[: len(r)])
            at = len(r)
            assert inner is not None
            for fall, hi in zip(self.inner_fall, inner, strict=True):
                if hi > 0:
                    np.multiply(r[:hi], fall, out=v[at : at + hi])
                    at += hi
            return v @ f, count
        if kept is not None:
            return r @ kept, None
        assert d2 is not None
        w, count = self.weights(d2, bufs)
        return r @ w, count

    def _masks(
        self, d2: NDArray[np.float64], bufs: _Buffers, inner: Sequence[int] | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """
        Return the block's masks as 0/1 floats, stacked, and the services in reach per demand column.

        The catchment's mask (every row) comes first, then, for ``bands``, each inner radius' (its leading
        rows): one product then serves them all.
        """
        shape = d2.shape
        his = [h for h in inner if h > 0] if self.kind == "bands" and inner is not None else []
        rows = shape[0] + sum(his)
        mask = bufs.view("mask", (rows, shape[1]), np.bool_)
        np.less_equal(d2, self.t2, out=mask[: shape[0]])
        at = shape[0]
        if his:
            assert inner is not None
            for t2, hi in zip(self.inner_t2, inner, strict=True):
                if hi > 0:
                    np.less_equal(d2[:hi], t2, out=mask[at : at + hi])
                    at += hi
        f = bufs.view("f", (rows, shape[1]), np.float64)
        np.copyto(f, mask)
        return f, bufs.ones(shape[0]) @ f[: shape[0]]

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
        size = math.prod(shape)
        if arr is None or len(arr) < size:  # a block's stacked masks may need more than one block
            arr = self._arrays[key] = np.empty(max(self.size, size), dtype=dtype)
        return arr[:size].reshape(shape)

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
