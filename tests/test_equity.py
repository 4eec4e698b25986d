"""Equity indicators: Gini and Theil against PySAL inequality; Palma and concentration index by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from inequality.gini import Gini
from inequality.theil import Theil, TheilD

from socialmap import analyze
from socialmap.equity import EQUITY_COLUMNS, concentration_index, equity_table, gini, palma, theil
from socialmap.errors import SocialMapError

RNG = np.random.default_rng(18)
X = RNG.uniform(0.0, 5.0, 40)
X[[3, 17]] = 0.0  # cells without access
GROUPS = np.repeat(list("abcde"), 8)
W = RNG.integers(1, 6, 40)


def test_gini_equals_pysal_unweighted_and_with_integer_weights_as_repeats():
    assert gini(X) == pytest.approx(Gini(X).g, rel=1e-12)
    assert gini(X, W) == pytest.approx(Gini(np.repeat(X, W)).g, rel=1e-12)


def test_theil_and_its_split_equal_pysal():
    t, between, within = theil(X, groups=GROUPS)
    ref = TheilD(X, GROUPS)
    assert t == pytest.approx(Theil(X).T, rel=1e-9)
    assert between == pytest.approx(float(np.ravel(ref.bg)[0]), rel=1e-9)
    assert within == pytest.approx(float(np.ravel(ref.wg)[0]), rel=1e-9)
    assert between + within == pytest.approx(t, rel=1e-12)
    # Need weights are the same as repeating each cell's value once per person in need.
    tw, bw, ww = theil(X, W, GROUPS)
    rep = TheilD(np.repeat(X, W), np.repeat(GROUPS, W))
    assert tw == pytest.approx(Theil(np.repeat(X, W)).T, rel=1e-9)
    assert bw == pytest.approx(float(np.ravel(rep.bg)[0]), rel=1e-9)
    assert ww == pytest.approx(float(np.ravel(rep.wg)[0]), rel=1e-9)


def test_equal_access_is_perfect_equality():
    assert gini([2.0, 2.0, 2.0]) == 0.0
    assert theil([2.0, 2.0, 2.0])[0] == 0.0
    assert palma([2.0, 2.0, 2.0], [1, 2, 3]) == 1.0


def test_palma_by_hand():
    # Need 4, 3, 2, 1 (W = 10): the worst-off 40 % are the 4 people with access 1, the best-off 10 %
    # the one person with 10: 10 / 1.
    assert palma([1.0, 2.0, 3.0, 10.0], [4, 3, 2, 1]) == pytest.approx(10.0)
    # A cell straddling the marks is split: 5 + 5 people; bottom 4 have 1, the top 1 has 5.
    assert palma([1.0, 5.0], [5, 5]) == pytest.approx(5.0)
    # Ranked by a socio-economic variable (low = poor), not by access: ranks 1, 2, 3 have access 1, 2, 4
    # and need 4, 5, 1: the poorest 40 % have 1, the richest 10 % have 4.
    assert palma([4.0, 1.0, 2.0], [1, 4, 5], rank_by=[3, 1, 2]) == pytest.approx(4.0)
    with pytest.raises(SocialMapError):
        palma([1.0], top=0.7, bottom=0.4)


def test_concentration_index_by_hand():
    # x = 2, 4 with need 1, 3; poorer first. Fractional ranks 0.5/4 = 0.125 and (1 + 1.5)/4 = 0.625,
    # mean 3.5; cov = (1·(−1.5)(−0.375) + 3·0.5·0.125) / 4 = 0.1875; C = 2 · 0.1875 / 3.5.
    assert concentration_index([2.0, 4.0], [1, 3], rank_by=[0, 1]) == pytest.approx(0.375 / 3.5)
    # Access concentrated among the poor gives the opposite sign.
    assert concentration_index([4.0, 2.0], [1, 3], rank_by=[0, 1]) < 0
    # A rank variable that is the same everywhere ranks no one.
    assert np.isnan(concentration_index([1.0, 2.0], rank_by=[0.05, 0.05]))


def test_equity_table_on_the_demo_and_with_a_social_assistance_column():
    res = analyze(demo="kosovo", service_types=("residential_elderly", "csw"))
    eq = equity_table(res)
    assert list(eq.columns) == list(EQUITY_COLUMNS)
    cells = eq[(eq["service_type"] == "residential_elderly") & (eq["level"] == "cells")].iloc[0]
    pts = res.demand[res.demand["service_type"] == "residential_elderly"]
    assert cells["gini"] == pytest.approx(gini(pts["access"], pts["need"]))
    assert cells["theil_between"] + cells["theil_within"] == pytest.approx(cells["theil"])
    # The demo has no municipal social-assistance counts (one national share): no concentration index.
    assert eq["concentration_index"].isna().all()
    assert "social-assistance" in cells["note"]
    assert eq.loc[eq["service_type"] == "csw", "measure"].unique().tolist() == ["covered_share"]
    # With a (made-up, for the test) deprivation ranking the index is computed from the areas' values.
    areas = res.for_service_type("residential_elderly")
    dep = pd.Series(np.linspace(0.01, 0.2, len(areas)), index=areas["area_id"].astype(str))
    eq2 = equity_table(res, deprivation=dep)
    row = eq2[(eq2["service_type"] == "residential_elderly") & (eq2["level"] == "areas")].iloc[0]
    ok = areas["need"] > 0
    expected = concentration_index(
        areas.loc[ok, "access"],
        areas.loc[ok, "need"],
        rank_by=-dep.reindex(areas.loc[ok, "area_id"]).to_numpy(),
    )
    assert row["concentration_index"] == pytest.approx(expected)
