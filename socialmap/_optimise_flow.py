"""
The capacitated maximal covering problem on arrays: places served as a flow, exact, greedy and bound.

A service serves at most its capacity: the model (:class:`_FlowModel`), its LP relaxation (:func:`_flow_lp`),
the exact MILP (:func:`_capacitated_exact`, through :func:`socialmap._optimise_mclp._milp`), the greedy
placement and its Lagrangian bound. Called by :func:`socialmap.optimise.maximal_covering`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from socialmap._optimise_mclp import _merge_rows, _milp, _projected, _top_k_sum
from socialmap.errors import SocialMapError


@dataclass(frozen=True)
class _FlowModel:
    cand: sparse.csr_array  # groups × candidates coverage
    exist: sparse.csr_array  # groups × existing (known capacity > 0) coverage
    w: NDArray[np.float64]  # need per group
    c_cand: NDArray[np.float64]
    c_exist: NDArray[np.float64]
    group: NDArray[np.intp]  # group of each kept demand row
    keep: NDArray[np.intp]  # demand rows kept


def _flow_model(
    cand: sparse.csr_array,
    exist: sparse.csr_array,
    w: NDArray[np.float64],
    c_cand: NDArray[np.float64],
    c_exist: NDArray[np.float64],
) -> _FlowModel:
    useful = c_exist > 0
    exist = sparse.csr_array(exist[:, np.flatnonzero(useful)])
    c_exist = c_exist[useful]
    reach = np.diff(cand.indptr) + np.diff(exist.indptr)
    keep = np.flatnonzero((w > 0) & (reach > 0))
    sc, se = cand[keep], exist[keep]
    group, first = _merge_rows(sc, se)
    wg = np.bincount(group, weights=w[keep], minlength=len(first)).astype(np.float64)
    return _FlowModel(sc[first], se[first], wg, c_cand, c_exist, group, keep)


def _flow_lp(
    model: _FlowModel, open_capacity: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """
    Solve the flow LP with HiGHS: the most need the sites can serve, candidates open with ``open_capacity``.

    Returns (served need, served need per group, flow through each candidate).
    """
    from scipy.optimize import linprog

    cand, exist = model.cand.tocoo(), model.exist.tocoo()
    g_count, m, e = len(model.w), model.cand.shape[1], model.exist.shape[1]
    if g_count == 0:
        return 0.0, np.zeros(0), np.zeros(m)
    # Only the open candidates' flows: a closed one's (capacity 0) are 0, and carrying them (most of the
    # grid's) made the LP many times larger.
    opened = np.flatnonzero(open_capacity > 0)
    column = np.full(m, -1, dtype=np.int64)
    column[opened] = np.arange(len(opened))
    sel = column[cand.col] >= 0
    c_row, c_col = cand.row[sel], cand.col[sel]
    pc, pe, mo = len(c_row), exist.nnz, len(opened)
    nvar = pc + pe
    ones_c, ones_e = np.ones(pc), np.ones(pe)
    rows = [
        # each group: its flows <= its need
        (c_row, np.arange(pc), ones_c),
        (exist.row, pc + np.arange(pe), ones_e),
        # each open candidate: its flows <= its capacity
        (g_count + column[c_col], np.arange(pc), ones_c),
        # each existing service: its flows <= its capacity
        (g_count + mo + exist.col, pc + np.arange(pe), ones_e),
    ]
    r, c, v = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    a_ub = sparse.csr_array((v, (r, c)), shape=(g_count + mo + e, nvar))
    b_ub = np.r_[model.w, open_capacity[opened], model.c_exist]
    if nvar == 0:
        return 0.0, np.zeros(g_count), np.zeros(m)
    res = linprog(-np.ones(nvar), A_ub=a_ub, b_ub=b_ub, method="highs")
    if res.status != 0:  # pragma: no cover - the model is always feasible and bounded
        raise SocialMapError(f"The capacity model could not be solved ({res.message}).")
    f = np.asarray(res.x, dtype=np.float64)
    served = np.bincount(c_row, weights=f[:pc], minlength=g_count) + np.bincount(
        exist.row, weights=f[pc : pc + pe], minlength=g_count
    )
    through = np.bincount(c_col, weights=f[:pc], minlength=m)
    return float(-res.fun), served.astype(np.float64), through.astype(np.float64)


def _capacitated_exact(model: _FlowModel, k: int, time_limit_s: float) -> NDArray[np.intp]:
    """
    Solve the capacity model exactly (:func:`_milp`) and return the chosen candidates.

    Variables ``[x_1..x_m, f (one per group–candidate pair), e (one per group–existing pair)]``, all
    rows built from the sparse coverage matrices: per group ``sum f + sum e <= w_g``; per candidate
    ``sum_g f_gj - c_j x_j <= 0``; per existing service ``sum_g e_ge <= c_e``; and ``sum_j x_j = k``.
    """
    cand, exist = model.cand.tocoo(), model.exist.tocoo()
    g_count, m, n_exist = len(model.w), model.cand.shape[1], model.exist.shape[1]
    pc, pe = cand.nnz, exist.nnz
    flow_c, flow_e = m + np.arange(pc), m + pc + np.arange(pe)
    parts = [
        (cand.row, flow_c, np.ones(pc)),  # each group: its flows <= its need
        (exist.row, flow_e, np.ones(pe)),
        (g_count + cand.col, flow_c, np.ones(pc)),  # each candidate: its flows <= c_j x_j
        (g_count + np.arange(m), np.arange(m), -model.c_cand),
        (g_count + m + exist.col, flow_e, np.ones(pe)),  # each existing service: flows <= c_e
        (np.full(m, g_count + m + n_exist), np.arange(m), np.ones(m)),  # sum x = k
    ]
    r, c, v = (np.concatenate(p) for p in zip(*parts, strict=True))
    nvar, nrow = m + pc + pe, g_count + m + n_exist + 1
    x = _milp(
        np.r_[np.zeros(m), -np.ones(pc + pe)],  # milp minimises
        integer=np.r_[np.ones(m), np.zeros(pc + pe)],
        upper=np.r_[np.ones(m), np.full(pc + pe, np.inf)],
        rows=sparse.csr_array((v.astype(np.float64), (r, c)), shape=(nrow, nvar)),
        row_low=np.r_[np.full(g_count + m + n_exist, -np.inf), float(k)],
        row_up=np.r_[model.w, np.zeros(m), model.c_exist, float(k)],
        time_limit_s=time_limit_s,
    )
    return np.flatnonzero(x[:m] > 0.5)


def _knapsack_fill(
    csc: sparse.csc_array, value: NDArray[np.float64], need: NDArray[np.float64], cap: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """
    Fill every site's capacity with the demand it reaches, most valuable first (a fractional knapsack).

    Returns each site's value ``max sum_g value_g f_g`` (``0 <= f_g <= need_g``, ``sum_g f_g <= cap``) and
    the amount ``f`` of every entry of ``csc`` (same order as ``csc.indices``).
    """
    cols = np.repeat(np.arange(csc.shape[1]), np.diff(csc.indptr))
    rows = csc.indices
    v = np.maximum(value[rows], 0.0)
    order = np.lexsort((-v, cols))
    w_sorted = np.where(v[order] > 0, need[rows[order]], 0.0)
    cum = np.cumsum(w_sorted)
    start = np.r_[0.0, cum][csc.indptr[:-1]][cols[order]]  # cumulative need before each column
    before = cum - w_sorted - start
    take = np.clip(np.minimum(w_sorted, cap[cols[order]] - before), 0.0, None)
    amount = np.empty_like(take)
    amount[order] = take
    site_value = np.bincount(cols, weights=amount * v, minlength=csc.shape[1]).astype(np.float64)
    return site_value, amount


def _capacitated_lagrangian_bound(model: _FlowModel, k: int, lower: float, iterations: int) -> float:
    """
    Lagrangian upper bound on the most need existing + ``k`` new sites can serve.

    Relaxing each demand group's ``sum_j f_gj <= w_g`` with a multiplier ``0 <= mu_g <= 1`` (and keeping
    ``f_gj <= w_g x_j``) leaves every site to fill its capacity with the demand it reaches, largest
    ``1 - mu_g`` first::

        L(mu) = sum_g mu_g w_g + sum_e V_e(mu) + (the k largest V_j(mu)),
        V_j(mu) = max sum_g (1 - mu_g) f_gj  over 0 <= f_gj <= w_g, sum_g f_gj <= c_j

    an upper bound for every ``mu``, whose minimum is the LP relaxation of the model with the
    ``f_gj <= w_g x_j`` constraints; Polyak subgradient steps towards ``lower``.
    """
    g_count = len(model.w)
    if g_count == 0:
        return 0.0
    cand, exist = model.cand.tocsc(), model.exist.tocsc()
    cand_rows = cand.indices
    cand_cols = np.repeat(np.arange(cand.shape[1]), np.diff(cand.indptr))

    def evaluate(mu: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        gain = 1.0 - mu
        vc, fc = _knapsack_fill(cand, gain, model.w, model.c_cand)
        ve, fe = _knapsack_fill(exist, gain, model.w, model.c_exist)
        total, top = _top_k_sum(vc, k) if len(vc) else (0.0, np.zeros(0, dtype=np.intp))
        value = float(mu @ model.w) + float(ve.sum()) + total
        opened = np.zeros(cand.shape[1], dtype=bool)
        opened[top] = True
        served = np.bincount(cand_rows, weights=fc * opened[cand_cols], minlength=g_count)
        served += np.bincount(exist.indices, weights=fe, minlength=g_count)
        return value, model.w - served  # dL/dmu

    mu = np.zeros(g_count)
    best, theta, stall = math.inf, 2.0, 0
    for _ in range(max(iterations, 1)):
        value, sub = evaluate(mu)
        if value < best:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        step = _projected(sub, mu, 0.0, 1.0)
        norm = float(step @ step)
        if norm == 0 or theta < 1e-6 or best - lower <= 1e-9 * max(1.0, abs(lower)):
            break
        mu = np.clip(mu - theta * (value - lower) / norm * step, 0.0, 1.0)
    return best


def _capacitated_greedy(model: _FlowModel, residual: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """
    Greedy heuristic: open the site with the largest min(capacity, unserved need within reach).

    Ties (e.g. every site full) go to the site reaching the most unserved need.
    """
    csc = model.cand.tocsc()
    r = residual.copy()
    available = np.ones(model.cand.shape[1], dtype=bool)
    chosen = []
    for _ in range(k):
        reach = np.asarray(model.cand.T @ r, dtype=np.float64)
        gains = np.where(available, np.minimum(model.c_cand, reach), -np.inf)
        j = int(np.lexsort((-reach, -gains))[0])
        chosen.append(j)
        available[j] = False
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if reach[j] > 0:
            r[rows] *= 1.0 - min(1.0, gains[j] / reach[j])
    return np.asarray(chosen, dtype=np.intp)
