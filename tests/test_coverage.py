import numpy as np
import pandas as pd
import pytest

from socialmap.coverage import COVERAGE_COLUMNS, area_coverage
from socialmap.errors import SocialMapError


def _demand():
    # Area a: two points. Area b: one point with need 20, out of reach. Area c: nobody.
    return pd.DataFrame(
        {
            "area_id": ["a", "a", "b"],
            "need": [100.0, 300.0, 20.0],
            "access": [0.5, 1.5, 0.0],
            "covered": [True, True, False],
        }
    )


def _services():
    return pd.DataFrame({"area_id": ["a", "a", "c", None], "capacity": [150.0, np.nan, 40.0, 99.0]})


def test_hand_worked_2sfca_area_table():
    t = area_coverage(_demand(), _services(), ["a", "b", "c"]).set_index("area_id")
    assert list(t.reset_index().columns) == list(COVERAGE_COLUMNS)
    # a: need 400; reachable = 100*min(.5,1) + 300*min(1.5,1) = 50 + 300 = 350; unmet 50; gap 12.5
    assert t.loc["a", "need"] == 400
    assert t.loc["a", "reachable_places"] == pytest.approx(350)
    assert t.loc["a", "unmet_need"] == pytest.approx(50)
    assert t.loc["a", "gap_score"] == pytest.approx(12.5)
    # access = (100*.5 + 300*1.5)/400 = 1.25 ; covered share 1
    assert t.loc["a", "access"] == pytest.approx(1.25)
    assert t.loc["a", "covered_share"] == 1.0
    # two sites in a, one of unknown capacity: supply is the known 150, flagged
    assert t.loc["a", "services"] == 2 and t.loc["a", "capacity_unknown"] == 1
    assert t.loc["a", "supply"] == 150
    assert t.loc["a", "supply_per_10k"] == pytest.approx(10_000 * 150 / 400)
    # b: nobody reached -> gap 100
    assert t.loc["b", "gap_score"] == 100 and t.loc["b", "unmet_need"] == 20
    assert t.loc["b", "services"] == 0 and t.loc["b", "supply"] == 0


def test_zero_need_area_has_undefined_ratios_but_counts_its_supply():
    t = area_coverage(_demand(), _services(), ["a", "b", "c"]).set_index("area_id")
    assert t.loc["c", "need"] == 0 and t.loc["c", "supply"] == 40 and t.loc["c", "services"] == 1
    for col in ("supply_per_10k", "covered_share", "access", "gap_score"):
        assert np.isnan(t.loc["c", col]), col


def test_distance_coverage_method_counts_everyone_in_reach():
    d = _demand().assign(covered=[True, False, False])
    t = area_coverage(d.drop(columns="access"), _services(), ["a", "b"], method="coverage").set_index(
        "area_id"
    )
    assert t.loc["a", "covered_share"] == pytest.approx(0.25)
    assert t.loc["a", "reachable_places"] == 100 and t.loc["a", "gap_score"] == pytest.approx(75)
    assert t["access"].isna().all()


def test_unmet_never_exceeds_need_and_totals_tie_out():
    rng = np.random.default_rng(3)
    n = 500
    d = pd.DataFrame(
        {
            "area_id": rng.choice(list("abcdefg"), n),
            "need": rng.uniform(0, 50, n),
            "access": rng.exponential(0.7, n),
            "covered": rng.random(n) < 0.8,
        }
    )
    t = area_coverage(d, _services().iloc[:0], list("abcdefgh"))
    assert (t["unmet_need"] <= t["need"] + 1e-9).all()
    assert (t["unmet_need"] >= 0).all()
    assert t["need"].sum() == pytest.approx(d["need"].sum(), rel=1e-12)
    ok = t["need"] > 0
    assert ((t.loc[ok, "gap_score"] >= 0) & (t.loc[ok, "gap_score"] <= 100)).all()


def test_input_errors_are_clear():
    with pytest.raises(SocialMapError, match=r"missing column\(s\) \['covered'\]"):
        area_coverage(_demand().drop(columns="covered"), _services(), ["a"])
    with pytest.raises(SocialMapError, match="≥ 0"):
        area_coverage(_demand().assign(need=[-1.0, 1.0, 1.0]), _services(), ["a"])
    with pytest.raises(SocialMapError, match="not one of"):
        area_coverage(_demand(), _services(), ["a"], method="3sfca")
    with pytest.raises(SocialMapError, match="duplicates"):
        area_coverage(_demand(), _services(), ["a", "a"])


def _reference(demand, services, ids, method):
    """The area table written the plain way: one pandas groupby per figure, reindexed to the areas."""
    d = demand.assign(
        reach=np.minimum(demand["access"], 1.0) if method != "coverage" else demand["covered"].astype(float)
    )
    g = d.groupby("area_id")
    need = g["need"].sum().reindex(ids, fill_value=0.0)
    reach = (d["need"] * d["reach"]).groupby(d["area_id"]).sum().reindex(ids, fill_value=0.0)
    need_access = (d["need"] * d["access"]).groupby(d["area_id"]).sum().reindex(ids, fill_value=0.0)
    covered = (d["need"] * d["covered"]).groupby(d["area_id"]).sum().reindex(ids, fill_value=0.0)
    s = services.dropna(subset=["area_id"])
    count = s.groupby("area_id").size().reindex(ids, fill_value=0)
    unknown = s["capacity"].isna().groupby(s["area_id"]).sum().reindex(ids, fill_value=0)
    supply = s.groupby("area_id")["capacity"].sum().reindex(ids, fill_value=0.0)
    safe = need.where(need > 0)
    unmet = (need - reach).clip(lower=0.0)
    national = need_access.sum() / need.sum()
    return pd.DataFrame(
        {
            "services": count.to_numpy(),
            "capacity_unknown": unknown.to_numpy(),
            "supply": supply.to_numpy(),
            "need": need.to_numpy(),
            "reachable_places": reach.to_numpy(),
            "unmet_need": unmet.to_numpy(),
            "gap_score": (100 * unmet / safe).clip(upper=100).to_numpy(),
            "covered_share": (covered / safe).to_numpy(),
            "supply_per_10k": (1e4 * supply / safe).to_numpy(),
            "access": (need_access / safe).to_numpy() if method != "coverage" else np.nan,
            "spar": (need_access / safe / national).to_numpy() if method != "coverage" else np.nan,
        }
    )


@pytest.mark.parametrize("method", ["2sfca", "coverage"])
@pytest.mark.parametrize("seed", range(6))
def test_area_table_equals_a_plain_groupby(method, seed):
    # random points in a few areas (one area without points, one site outside every area, unknown
    # capacities), against the figures written one groupby at a time
    rng = np.random.default_rng(seed)
    ids = ["a", "b", "c", "d", "e"]
    n = 200
    demand = pd.DataFrame(
        {
            "area_id": rng.choice(ids[:4], n),
            "need": rng.exponential(3, n) * (rng.random(n) > 0.2),
            "access": rng.exponential(0.05, n) * (rng.random(n) > 0.3),
            "covered": rng.random(n) > 0.4,
        }
    )
    cap = rng.integers(0, 50, 12).astype(float)
    cap[[1, 5]] = np.nan
    services = pd.DataFrame({"area_id": list(rng.choice(ids, 11)) + [None], "capacity": cap})
    got = area_coverage(demand, services, ids, method=method).set_index("area_id")
    want = _reference(demand, services, ids, method).set_index(pd.Index(ids, name="area_id"))
    for col in ("services", "capacity_unknown"):
        assert got[col].tolist() == want[col].tolist()
    for col in want.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12)
