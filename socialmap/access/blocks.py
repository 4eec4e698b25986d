"""
The blocked engine of the 2SFCA family: plan, rows of each block, the two passes, coverage.

Demand is sorted into strips and chunks (a plan); each chunk's block has the services in reach as its
rows; the two passes run over the blocks in one process, or strip by strip on forked processes
(:mod:`socialmap.access.forked`; threads for :func:`~socialmap.access.pairs_within`). See
:mod:`socialmap.access` for the method. Every demand point belongs to one block, so workers write disjoint
slices, and the services' sums are added in strip order: the answer does not depend on their number.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from socialmap import settings
from socialmap.access.kernels import _Buffers, _Kernel, _make_kernel
from socialmap.access.weights import WeightFunction
from socialmap.errors import SocialMapError

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
# Workers of the 2SFCA family when neither `workers` nor settings.workers says: every core (None), as
# forked processes above _PROCESSES_MIN_ENTRIES (see access.forked), else one. Threads are not used for it:
# measured with benchmarks/bench_scale.py at 1M x 5k on the 2-core development machine, two threads were
# 0.76-1.01x the speed of one (a block is about 15 numpy calls, and between them the GIL is held).
_FCA_WORKERS: int | None = None
# Below this many block entries the 2SFCA family runs in one process: forking and the pipes would cost
# more than they save (measured with benchmarks/bench_scale.py --threshold).
_PROCESSES_MIN_ENTRIES = 20_000_000
# Up to this many entries (block entries, or points x services for the nearest service), distances are
# computed with numpy while scipy.spatial is not imported yet: importing it takes longer (~0.15 s) than
# numpy's slower distances then cost. Both give the same bits (tests/test_access.py).
_NUMPY_DISTANCES_MAX = 20_000_000


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

    def spans(self) -> list[tuple[int, int, list[int]]]:
        """Per chunk: first row, the row after the last, and the rows that can be within each inner radius."""
        inner = (self.ends[:, :-1] - self.start[:, None]).tolist()
        return list(zip(self.start.tolist(), self.ends[:, -1].tolist(), inner, strict=True))

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
    lens = ch[:, 3] - ch[:, 2]  # >= 1 (see _plan)
    first = np.cumsum(lens) - lens
    # the chunk of each candidate (np.repeat makes one small copy per element: slower)
    cid = np.zeros(int(lens.sum()), dtype=np.intp)
    cid[first[1:]] = 1
    np.cumsum(cid, out=cid)
    pos = np.arange(len(cid), dtype=np.intp)
    pos += (ch[:, 2] - first).take(cid)
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


def _strip_height(
    dxy: NDArray[np.float64],
    sxy: NDArray[np.float64],
    d0: float,
    extents: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> float:
    """
    Choose the strip height (and chunk width) minimising a simple model of work + Python overhead.

    A chunk of side ``h`` reaches the services within ``d0`` of its square: an area ``h**2 + 4 h d0 +
    pi d0**2`` (see :func:`_rows`), at most its windows' ``(h + 2 d0)**2``. ``extents``: those of ``dxy``'s
    x and y, if known.
    """
    (dx0, dx1), (dy0, dy1) = extents or (_extent(dxy[:, 0]), _extent(dxy[:, 1]))
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
    x, y = dxy[:, 0], dxy[:, 1]
    (x0, x1), (y0, y1) = _extent(x), _extent(y)
    h = _strip_height(dxy, sxy, d0, ((x0, x1), (y0, y1)))
    scale = max(abs(x0), abs(x1), abs(y0), abs(y1), float(np.abs(sxy).max()))
    # Windows are widened a little so that rounding never drops a pair; the exact test is on d2 later.
    pad = _pad(d0, scale)
    strip_id = np.floor((y - y0) / h)
    # One sort by (strip, x). The key's rounding may misorder x by a few nanometres: harmless, because chunk
    # extents below are true minima / maxima, not the first / last values.
    order = np.argsort(strip_id * (2.0 * (x1 - x0) + 1.0) + (x - x0))
    dxy_s = dxy.take(order, axis=0)  # C-contiguous; several times faster than dxy[order] for rows
    # x and y in that order, contiguous, with one more element: reduceat below takes an index one past the end
    xs_pad, ys_pad = np.empty(n + 1), np.empty(n + 1)
    xs_pad[:n], ys_pad[:n] = dxy_s[:, 0], dxy_s[:, 1]
    xs_pad[n] = ys_pad[n] = 0.0
    xs, ys = xs_pad[:n], ys_pad[:n]
    sid = np.floor((ys - y0) / h)  # strip_id[order], without the gather
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    ends = np.r_[starts[1:], n]
    ymin = np.minimum.reduceat(ys, starts)
    ymax = np.maximum.reduceat(ys, starts)
    s_by_y = np.argsort(sxy[:, 1], kind="stable")
    sy = sxy[s_by_y, 1]
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
    release the GIL, so the threads run at once, but not the Python between them: the 2SFCA family runs
    on processes instead (:func:`_fca_forked`); :func:`~socialmap.access.pairs_within` uses this.
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
    strip_need = _need_strip(plan, kernel, need_s, keep, count_s, near2_s, cache)
    parts = _map_strips(plan, strip_need, workers)
    return _sum_parts(plan, parts, m), count_s, near2_s, cache


def _need_strip(
    plan: _Plan,
    kernel: _Kernel,
    need_s: NDArray[np.float64] | None,
    keep: set[tuple[int, int]],
    count_s: NDArray[np.float64],
    near2_s: NDArray[np.float64],
    cache: dict[Any, Any],
) -> Callable[[int, _Strip, _Buffers], NDArray[np.float64] | None]:
    """
    Return step 1 on one strip (``func(si, strip, buffers)``), for :func:`_map_strips` or processes.

    It writes its points' counts and squared nearest distances, keeps the blocks of ``keep`` in ``cache``
    and returns the weighted need of the strip's services (None without ``need_s``).
    """

    def strip_need(si: int, strip: _Strip, bufs: _Buffers) -> NDArray[np.float64] | None:
        rows = _rows(plan, strip)
        w_rows = np.zeros(len(rows.sel)) if need_s is not None else None
        for ci, ((r0, r1, _, _), (k0, k1, inner)) in enumerate(zip(strip.chunks, rows.spans(), strict=True)):
            if k1 <= k0:
                continue
            d2 = bufs.distances(rows.xy[k0:k1], plan.dxy[r0:r1])
            np.minimum(near2_s[r0:r1], d2.min(axis=0), out=near2_s[r0:r1])
            wn, cnt, kept = kernel.need(
                d2, None if need_s is None else need_s[r0:r1], bufs, inner, (si, ci) in keep
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

    return strip_need


def _sum_parts(plan: _Plan, parts: Sequence[NDArray[np.float64] | None], m: int) -> NDArray[np.float64]:
    """Add up the strips' parts of the weighted need of the ``m`` services, in strip order."""
    wneed = np.zeros(m)
    for strip, w_strip in zip(plan.strips, parts, strict=True):
        if w_strip is not None:
            wneed[strip.sup_idx] += w_strip
    return wneed


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
    _map_strips(plan, _access_strip(plan, kernel, r_use, cache, access_s, count_s, near2_s), workers)
    return access_s, count_s, near2_s


def _access_strip(
    plan: _Plan,
    kernel: _Kernel,
    r_use: NDArray[np.float64],
    cache: Mapping[Any, Any],
    access_s: NDArray[np.float64],
    count_s: NDArray[np.float64] | None,
    near2_s: NDArray[np.float64] | None,
) -> Callable[[int, _Strip, _Buffers], None]:
    """Return step 2 on one strip: it adds its points' access into ``access_s`` (and coverage, if asked)."""

    def strip_access(si: int, strip: _Strip, bufs: _Buffers) -> None:
        rows = cache.get(si)
        if rows is None:
            rows = _rows(plan, strip)
        r_rows = r_use.take(strip.sup_idx.take(rows.sel))
        for ci, ((r0, r1, _, _), (k0, k1, inner)) in enumerate(zip(strip.chunks, rows.spans(), strict=True)):
            if k1 <= k0:
                continue
            kept = cache.get((si, ci))
            d2 = None
            if kept is None:
                d2 = bufs.distances(rows.xy[k0:k1], plan.dxy[r0:r1])
                if near2_s is not None:
                    np.minimum(near2_s[r0:r1], d2.min(axis=0), out=near2_s[r0:r1])
            part, cnt = kernel.access(d2, kept, r_rows[k0:k1], bufs, inner, r1 - r0)
            access_s[r0:r1] += part
            if count_s is not None and cnt is not None:
                count_s[r0:r1] += cnt

    return strip_access


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


def _processes_for(plan: _Plan, workers: int, asked: bool) -> int:
    """
    Return the processes worth forking for the 2SFCA family, at most one per strip.

    One below ``_PROCESSES_MIN_ENTRIES`` entries, where fork is not available, or (unless ``asked`` for)
    while other threads run.
    """
    from socialmap.access import forked

    if workers <= 1 or len(plan.strips) < 2 or _entries(plan) < _PROCESSES_MIN_ENTRIES:
        return 1
    if not forked.fork_available() or not (asked or forked.only_thread()):
        return 1
    return min(workers, len(plan.strips))


def _fca_core(
    dxy: NDArray[np.float64],
    need: NDArray[np.float64] | None,
    sxy: NDArray[np.float64],
    capacity: NDArray[np.float64] | None,
    d0: float,
    weight: WeightFunction | None,
    workers: int = 1,
    asked: bool = True,
) -> FCAResult:
    """
    Run both steps on checked arrays (``need``/``capacity`` None: distance coverage only).

    On up to ``workers`` processes (see :func:`_processes_for`; ``asked``: the caller asked for them); the
    answer is the same, to the bit, on any number.
    """
    n, m = len(dxy), len(sxy)
    if n == 0 or m == 0:
        count = np.zeros(n, dtype=np.int64)
        return FCAResult(np.zeros(n), count > 0, count, np.full(n, np.inf), np.full(m, np.nan), np.zeros(m))
    kernel = _make_kernel(d0, weight)
    plan = _plan(dxy, sxy, d0, kernel.inner_m)
    procs = _processes_for(plan, workers, asked)
    if procs > 1:
        return _fca_forked(plan, kernel, dxy, need, sxy, capacity, procs)
    with contextlib.ExitStack() as stack:
        if _entries(plan) >= _THREADS_MIN_ENTRIES and sys.platform.startswith("linux"):
            from socialmap.access import forked

            stack.enter_context(forked.one_blas_thread())  # one core: as on processes, the same products
        need_s = need[plan.order] if need is not None else None
        wneed, count_s, near2_s, cache = _need_pass(plan, kernel, need_s, m, _CACHE_BYTES)
        count, covered, nearest = _coverage(plan, count_s, near2_s, dxy, sxy)
        if need_s is None or capacity is None:
            return FCAResult(np.zeros(n), covered, count, nearest, np.full(m, np.nan), wneed)
        ratio = _ratio(capacity, wneed)
        r_use = np.where(np.isnan(ratio), 0.0, ratio)
        access_s, _, _ = _access_pass(plan, kernel, r_use, cache)
    access = np.empty(n)
    access[plan.order] = access_s
    return FCAResult(access, covered, count, nearest, ratio, wneed)


def _fca_forked(
    plan: _Plan,
    kernel: _Kernel,
    dxy: NDArray[np.float64],
    need: NDArray[np.float64] | None,
    sxy: NDArray[np.float64],
    capacity: NDArray[np.float64] | None,
    processes: int,
) -> FCAResult:
    """
    :func:`_fca_core` on ``processes`` forked processes (see :mod:`socialmap.access.forked`).

    The same strips, blocks and sums as :func:`_need_pass`, :func:`_coverage` and :func:`_access_pass` on
    one: the per-point outputs go to shared memory in input order, written strip by strip by the process
    that computed the strip (each point by its one block); the strips' weighted needs are added in strip
    order by the parent.
    """
    from socialmap.access import forked

    n, m = len(dxy), len(sxy)
    count_s = np.zeros(n)  # plan order, each process its own strips' (private pages after the fork)
    near2_s = np.full(n, np.inf)
    access_s = np.zeros(n)
    need_s = np.empty(n) if need is not None else None  # gathered strip by strip by its process
    count = forked.shared_array(n, np.int64)  # input order, shared
    nearest = forked.shared_array(n, fill=np.inf)
    access = forked.shared_array(n)
    cache: dict[Any, Any] = {}  # each process keeps its own strips' blocks
    keep = _kept_blocks(plan, kernel, _CACHE_BYTES) if need is not None and _CACHE_BYTES > 0 else set()
    strip_need = _need_strip(plan, kernel, need_s, keep, count_s, near2_s, cache)
    size, use_scipy = _block_size(plan), _scipy_worth_it(_entries(plan))
    if use_scipy:
        import scipy.spatial.distance  # noqa: F401  (once, before the fork, not in every child)
    spans = [(strip.chunks[0][0], strip.chunks[-1][1]) for strip in plan.strips]  # its points (plan order)

    def first(si: int, bufs: _Buffers) -> NDArray[np.float64] | None:
        lo, hi = spans[si]
        at = plan.order[lo:hi]
        if need is not None and need_s is not None:
            need.take(at, out=need_s[lo:hi])
        part = strip_need(si, plan.strips[si], bufs)
        cnt = count_s[lo:hi]
        count[at] = cnt
        nearest[at] = np.where(cnt > 0, np.sqrt(near2_s[lo:hi]), np.inf)  # (uncovered: looked up below)
        return part

    result: dict[str, Any] = {}

    def between(parts: dict[int, Any]) -> NDArray[np.float64] | None:
        wneed = result["wneed"] = _sum_parts(plan, [parts[si] for si in range(len(plan.strips))], m)
        covered = result["covered"] = count > 0
        if not covered.all():
            far = np.flatnonzero(~covered)
            nearest[far] = _nearest(dxy[far], sxy, processes)
        if need is None or capacity is None:
            return None
        ratio = result["ratio"] = _ratio(capacity, wneed)
        return np.where(np.isnan(ratio), 0.0, ratio)

    def make_second(r_use: NDArray[np.float64]) -> Callable[[int, _Buffers], None]:
        strip_access = _access_strip(plan, kernel, r_use, cache, access_s, None, None)

        def second(si: int, bufs: _Buffers) -> None:
            strip_access(si, plan.strips[si], bufs)
            lo, hi = spans[si]
            access[plan.order[lo:hi]] = access_s[lo:hi]

        return second

    cost = [sum((r1 - r0) * (k1 - k0) for r0, r1, k0, k1 in strip.chunks) for strip in plan.strips]
    forked.run_two_passes(
        sorted(range(len(plan.strips)), key=lambda si: -cost[si]),  # largest first: they balance better
        processes,
        first,
        make_second,
        between,
        lambda: _Buffers(size, use_scipy),
    )
    if "ratio" not in result:
        return FCAResult(np.zeros(n), result["covered"], count, nearest, np.full(m, np.nan), result["wneed"])
    return FCAResult(access, result["covered"], count, nearest, result["ratio"], result["wneed"])
