"""
Distance-weight functions for the 2SFCA family: step, gaussian and gravity weights.

Factories that return callables, as PySAL ``access``'s ``weights`` module does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from socialmap.errors import SocialMapError

__all__ = [
    "GaussianWeights",
    "GravityWeights",
    "StepWeights",
    "WeightFunction",
    "gaussian_weights",
    "gravity_weights",
    "step_weights",
]

#: A distance-weight function: distances (metres, a numpy array) -> weights (same shape, finite, >= 0).
WeightFunction = Callable[[NDArray[np.float64]], ArrayLike]


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
