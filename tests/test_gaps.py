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


# ---- classify equals mapclassify (the library it replaces, kept in the dev extra for this test) ----


def _value_sets():
    rng = np.random.default_rng(21)
    sets = {
        "ties": rng.integers(0, 6, 40).astype(float),
        "skewed": np.round(rng.exponential(10.0, 38), 1),
        "clusters": np.concatenate([rng.normal(c, 0.4, 9) for c in (1.0, 6.0, 20.0, 55.0)]),
        "normal": rng.normal(50.0, 20.0, 57),
        "two": np.array([3.0, 7.0, 3.0, 7.0, 7.0]),
        "steps": np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]),
    }
    for n in (3, 17, 120):
        sets[f"uniform{n}"] = rng.uniform(0.0, 100.0, n)
    return sets


_MAPCLASSIFY = {"quantiles": "Quantiles", "equal_interval": "EqualInterval", "fisher_jenks": "FisherJenks"}


@pytest.mark.parametrize("name", sorted(_value_sets()))
@pytest.mark.parametrize("scheme", sorted(_MAPCLASSIFY))
@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_classify_equals_mapclassify(name, scheme, k):
    import warnings

    import mapclassify

    values = _value_sets()[name]
    kk = min(k, len(np.unique(values)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not enough unique values", "numba not installed"
        ref = getattr(mapclassify, _MAPCLASSIFY[scheme])(values, k=kk)
    classes, bins = classify(pd.Series(values), scheme=scheme, k=k)
    assert bins == [float(b) for b in ref.bins]  # exactly, not approximately
    assert classes.to_numpy(dtype="int64").tolist() == ref.yb.tolist()


def _within_class_ss(values, bins):
    codes = np.searchsorted(np.asarray(bins), values)
    return sum(float(((values[codes == c] - values[codes == c].mean()) ** 2).sum()) for c in np.unique(codes))


@pytest.mark.parametrize("name", sorted(_value_sets()))
@pytest.mark.parametrize("k", [2, 3, 5])
def test_natural_breaks_is_the_best_partition_mapclassify_looks_for(name, k):
    """mapclassify's NaturalBreaks runs k-means from random starts: ours is the partition with the least
    within-class sum of squares, so never worse; where the optimum is unique and theirs finds it, the same."""
    import warnings

    import mapclassify

    values = _value_sets()[name]
    kk = min(k, len(np.unique(values)))
    classes, bins = classify(pd.Series(values), scheme="natural_breaks", k=k)
    ours = _within_class_ss(values, bins)
    for seed in range(3):
        np.random.seed(seed)  # scikit-learn's KMeans draws its starts from numpy's global generator
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = mapclassify.NaturalBreaks(values, k=kk)
        theirs = _within_class_ss(values, ref.bins)
        assert ours <= theirs * (1 + 1e-12) + 1e-12
        if name == "clusters" and k <= 4:  # four well-separated clusters: one best partition, found by both
            assert bins == [float(b) for b in ref.bins]
            assert classes.to_numpy(dtype="int64").tolist() == ref.yb.tolist()


def test_classify_does_not_import_mapclassify():
    import subprocess
    import sys

    code = (
        "import sys, pandas as pd; from socialmap.gaps import classify; "
        "classify(pd.Series([1.0, 5.0, 2.0, 9.0, 7.0]), scheme='fisher_jenks', k=3); "
        "print(sorted(m for m in ('mapclassify', 'sklearn', 'scipy.stats', 'matplotlib') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
