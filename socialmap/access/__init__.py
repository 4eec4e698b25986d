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
while they fit in a budget and recomputed otherwise. Large problems run on every core as forked processes
(``workers``; :mod:`~socialmap.access.forked`): strips are shared out, every demand point belongs to one
block and the services' sums are added in strip order, so the answer does not depend on the number of
processes, to the bit. Threads were tried and measured no faster on two cores: between the numpy calls of a
block the GIL is held.

The package's modules, one job each: :mod:`~socialmap.access.weights` (the distance-weight functions),
:mod:`~socialmap.access.kernels` (a block of distances into the two steps' sums),
:mod:`~socialmap.access.blocks` (strips, chunks, the rows of each block, the passes),
:mod:`~socialmap.access.forked` (the passes on forked processes),
:mod:`~socialmap.access.tiles` (one tile of a Dask run), :mod:`~socialmap.access.checks` (the inputs'
checks), :mod:`~socialmap.access.fca` (the public 2SFCA family) and :mod:`~socialmap.access.pairs` (the
pairs within a catchment, the nearest service). Import the public names from ``socialmap.access``.
"""

from __future__ import annotations

from socialmap.access.blocks import FCAResult
from socialmap.access.blocks import _ratio as _ratio
from socialmap.access.checks import _check_arrays as _check_arrays
from socialmap.access.fca import distance_coverage, fca_arrays, fca_from_pairs, two_step_fca
from socialmap.access.kernels import _vectorised as _vectorised
from socialmap.access.pairs import nearest_distance, pairs_within
from socialmap.access.weights import (
    GaussianWeights,
    GravityWeights,
    StepWeights,
    WeightFunction,
    gaussian_weights,
    gravity_weights,
    step_weights,
)

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
# _check_arrays, _ratio and _vectorised are shared with socialmap.network (its euclidean twin's checks).
