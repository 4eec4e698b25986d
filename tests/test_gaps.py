import numpy as np
import pandas as pd
import pytest

from socialmap.errors import SocialMapError
from socialmap.gaps import classify, composite_gap


def _table():
    return pd.DataFrame(
        {
            "area_id": ["a", "a", "b", "b", "c", "c"],
            "service_type": ["x", "y", "x", "y", "x", "y"],
            "gap_score": [10.0, 50.0, 80.0, np.nan, np.nan, np.nan],
        }
    )


def test_equal_weights_mean_skips_undefined_types():
    g = composite_gap(_table()).set_index("area_id")
    assert g.loc["a", "composite_gap"] == pytest.approx(30.0)  # (10 + 50) / 2
    assert g.loc["b", "composite_gap"] == pytest.approx(80.0)  # only x is defined
    assert np.isnan(g.loc["c", "composite_gap"])
    assert list(g["types_scored"]) == [2, 1, 0]
    assert g.loc["b", "rank"] == 1 and g.loc["a", "rank"] == 2 and np.isnan(g.loc["c", "rank"])


def test_weights_are_renormalised():
    g = composite_gap(_table(), weights={"x": 1.0, "y": 3.0}).set_index("area_id")
    assert g.loc["a", "composite_gap"] == pytest.approx((1 * 10 + 3 * 50) / 4)
    g0 = composite_gap(_table(), weights={"x": 1.0}).set_index("area_id")
    assert g0.loc["a", "composite_gap"] == pytest.approx(10.0)


def test_composite_is_a_mean_not_a_sum():
    t = _table().fillna(40.0)
    g = composite_gap(t)
    assert (g["composite_gap"] <= 100).all()


def test_bad_weights_and_columns():
    with pytest.raises(SocialMapError, match="≥ 0"):
        composite_gap(_table(), weights={"x": -1.0})
    with pytest.raises(SocialMapError, match="service_type"):
        composite_gap(_table().drop(columns="service_type"))


def test_quantile_classes_match_hand_worked_percentiles():
    values = pd.Series([float(v) for v in range(1, 11)], index=list("abcdefghij"))
    classes, bins = classify(values, scheme="quantiles", k=5)
    # 20/40/60/80/100th percentiles of 1..10 (linear): 2.8, 4.6, 6.4, 8.2, 10
    assert bins == pytest.approx([2.8, 4.6, 6.4, 8.2, 10.0])
    assert list(classes) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("scheme", ["natural_breaks", "fisher_jenks", "equal_interval"])
def test_other_schemes_separate_two_obvious_clusters(scheme):
    values = pd.Series([1.0, 1.1, 1.2, 9.0, 9.1, np.nan])
    classes, bins = classify(values, scheme=scheme, k=2)
    assert list(classes[:5]) == [0, 0, 0, 1, 1]
    assert classes.isna().iloc[5]
    assert bins[-1] == pytest.approx(9.1)


def test_degenerate_inputs():
    classes, bins = classify(pd.Series([5.0, 5.0, np.nan]), k=5)
    assert list(classes[:2]) == [0, 0] and bins == [5.0]
    classes, bins = classify(pd.Series([np.nan, np.nan]))
    assert classes.isna().all() and bins == []
    with pytest.raises(SocialMapError, match="not one of"):
        classify(pd.Series([1.0, 2.0]), scheme="jenks")
