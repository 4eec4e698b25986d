"""What the app keeps between reruns to answer faster (issue #21), and that it never answers stale.

Each cache here is checked two ways: the same question is computed once (the work is counted), and a
question that differs in anything the answer depends on is computed again and gives its own answer.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import re

import pandas as pd
import pytest

import socialmap
from socialmap import AnalysisConfig, privacy, settings, views
from socialmap.app import costs, runner
from socialmap.scenario import compare


@pytest.fixture(scope="module")
def demo() -> socialmap.Demo:
    return socialmap.load_demo("kosovo")


@pytest.fixture(scope="module")
def result(demo):
    analysis = views.analyze_inputs(views.read_inputs(demo=demo), AnalysisConfig(), demo=demo)
    assert analysis.problems == ()
    return analysis.result


@pytest.fixture
def protect_calls(monkeypatch):
    """The results socialmap.privacy.protect was called on, in order."""
    calls: list[object] = []
    real = privacy.protect

    def counted(result, **kwargs):
        calls.append(result)
        return real(result, **kwargs)

    monkeypatch.setattr(privacy, "protect", counted)
    return calls


def test_protect_is_computed_once_per_result_whichever_equal_taxonomy_asks(result, protect_calls):
    fresh = dataclasses.replace(result)  # a result object no view has protected yet
    tax = fresh.taxonomy
    first = runner._protected(fresh, tax)
    # The app hands its own taxonomy, an equal object that is not the result's.
    again = runner._protected(fresh, copy.deepcopy(tax))
    assert again is first
    assert views.published(fresh) is first.result
    assert [id(r) for r in protect_calls] == [id(fresh)]


def test_protect_is_computed_again_for_another_threshold_taxonomy_or_result(
    result, protect_calls, monkeypatch
):
    fresh = dataclasses.replace(result)
    tax = fresh.taxonomy
    first = runner._protected(fresh, tax)
    assert first.threshold == settings.suppression_threshold

    usual = settings.suppression_threshold
    monkeypatch.setattr(settings, "suppression_threshold", 100_000)
    higher = runner._protected(fresh, tax)
    assert higher is not first and higher.threshold == 100_000
    monkeypatch.setattr(settings, "suppression_threshold", usual)

    # A taxonomy that flags one more service type as sensitive: that type's small counts are hidden too.
    open_type = next(k for k, s in tax.service_types.items() if not s.sensitive)
    flagged = dataclasses.replace(
        tax,
        service_types={
            k: dataclasses.replace(s, sensitive=True) if k == open_type else s
            for k, s in tax.service_types.items()
        },
    )
    other = runner._protected(fresh, flagged)
    assert other is not first and open_type in other.sensitive_types
    assert open_type not in first.sensitive_types

    # Another result object (e.g. the same inputs analysed again): protected on its own.
    twin = dataclasses.replace(result)
    assert runner._protected(twin, tax) is not first
    assert [id(r) for r in protect_calls] == [id(fresh), id(fresh), id(fresh), id(twin)]
    assert runner._protected(fresh, tax) is first  # the first is still kept


def test_a_result_no_longer_used_leaves_the_cache(result):
    fresh = dataclasses.replace(result)
    runner._protected(fresh, fresh.taxonomy)
    key = id(fresh)
    assert key in runner._PROTECTED
    del fresh
    gc.collect()
    assert key not in runner._PROTECTED


def test_difference_map_hides_as_the_published_comparison(demo, result):
    # The difference map publishes the comparison with the protect() of each side that the other views
    # use: the same cells hidden as Comparison.published(), which protects both sides itself.
    inputs = views.read_inputs(demo=demo)
    edits = (views.PlanEdit("day_care_disability", 21.1655, 42.6629, 20.0),)
    after = views.run_plan(inputs, AnalysisConfig(), edits, demo=demo, base=result).result
    assert after is not None
    raw = compare(result, after)
    expected = raw.published()
    got = privacy.protect_comparison(
        raw, runner._protected(result, result.taxonomy), runner._protected(after, after.taxonomy)
    )
    pd.testing.assert_frame_equal(got.table, expected.table)
    pd.testing.assert_frame_equal(got.totals, expected.totals)
    pd.testing.assert_frame_equal(pd.DataFrame(got.areas), pd.DataFrame(expected.areas))


@pytest.fixture
def grid_calls(monkeypatch):
    """The cell sizes socialmap.needs.grid_from_areas was called with, in order (caches emptied)."""
    from socialmap import _optimise_candidates as optimise
    from socialmap import needs

    calls: list[float] = []
    real = needs.grid_from_areas

    def counted(areas, **kwargs):
        calls.append(kwargs["cell_size_m"])
        return real(areas, **kwargs)

    monkeypatch.setattr(needs, "grid_from_areas", counted)
    monkeypatch.setattr(optimise, "_GRID_CACHE", type(optimise._GRID_CACHE)())
    return calls


def test_candidate_grid_is_made_once_per_areas_and_cell_size(result, grid_calls):
    from shapely import affinity

    from socialmap.optimise import candidates_from_grid

    areas = result.areas[["area_id", "name", "geometry"]]
    first = candidates_from_grid(areas, cell_size_m=2000.0)
    first.loc[0, "area_id"] = "changed by the caller"  # what a caller does to its copy stays there
    again = candidates_from_grid(areas.copy(), cell_size_m=2000.0)  # equal areas, another frame
    assert grid_calls == [2000.0]
    assert again.loc[0, "area_id"] != "changed by the caller"

    # Another cell size, or one area moved 1 km east: a grid of its own.
    coarse = candidates_from_grid(areas, cell_size_m=5000.0)
    moved = areas.copy()
    moved.loc[0, "geometry"] = affinity.translate(moved.geometry.iloc[0], xoff=1000.0)
    shifted = candidates_from_grid(moved, cell_size_m=2000.0)
    assert grid_calls == [2000.0, 5000.0, 2000.0]
    assert len(coarse) < len(again)
    assert not shifted.geometry.geom_equals(again.geometry.reindex(shifted.index)).all()

    # The grid given back is the one made afresh.
    from socialmap import _optimise_candidates as optimise

    optimise._GRID_CACHE.clear()
    fresh = candidates_from_grid(areas, cell_size_m=2000.0)
    assert grid_calls == [2000.0, 5000.0, 2000.0, 2000.0]
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(fresh.drop(columns="geometry"))
    )
    assert again.geometry.geom_equals_exact(fresh.geometry, tolerance=0).all()


def test_suggested_sites_are_the_same_from_a_kept_grid(result, grid_calls):
    first = views.suggest_sites(result, "day_care_disability", k=3, capacity=20.0)
    again = views.suggest_sites(result, "day_care_disability", k=3, capacity=20.0)
    assert grid_calls == [2000.0]
    assert again == first and len(first[0]) == 3


def test_app_writes_nothing_through_magic_which_is_off():
    # .streamlit/config.toml turns Streamlit's magic off: a bare expression in app.py would show nothing.
    import ast
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    config = tomllib.loads((repo / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["magicEnabled"] is False
    tree = ast.parse((repo / "app.py").read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    bare = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and not isinstance(node.value, ast.Call | ast.Await)
        and id(node) not in docstrings
    ]
    assert bare == [], f"app.py lines {bare}: bare expressions, which magic (off) would have shown"


def test_costing_is_kept_per_result_and_figures_and_computed_again_when_they_change(result, monkeypatch):
    fresh = dataclasses.replace(result)
    tax = fresh.taxonomy
    calls: list[tuple[object, object, object]] = []
    real = costs._plan_costing

    def counted(res, service_type, taxonomy, **kwargs):
        calls.append((kwargs["standard"], kwargs["unit_cost"], kwargs["lang"]))
        return real(res, service_type, taxonomy, **kwargs)

    monkeypatch.setattr(costs, "_plan_costing", counted)

    def cost(res=fresh, taxonomy=tax, unit_cost=6000.0, lang="en"):
        return views.plan_costing(
            res, "day_care_disability", taxonomy, standard=2.0, unit_cost=unit_cost, lang=lang
        )

    first = cost()
    budget = "Budget (EUR per year)"
    first.national.loc[first.national.index[0], budget] = -1.0  # the caller's copy
    again = cost()
    assert calls == [(2.0, 6000.0, "en")]
    assert float(again.national[budget].iloc[0]) > 0
    dearer = cost(unit_cost=9000.0)
    assert calls[-1] == (2.0, 9000.0, "en")
    # 2 places per 1,000 at 9,000 EUR instead of 6,000: the budget is 1.5 times as large
    assert float(dearer.national[budget].iloc[0]) == pytest.approx(
        1.5 * float(again.national[budget].iloc[0])
    )
    # another language, taxonomy object or result: computed again
    cost(lang="sq")
    cost(taxonomy=copy.deepcopy(tax))
    cost(res=dataclasses.replace(result))
    assert len(calls) == 5


def test_difference_map_of_a_new_scenario_is_its_own(demo, result):
    inputs = views.read_inputs(demo=demo)
    # (day care's need is unknown in the demo: its places, which a new centre changes, are mapped)
    selection = views.Selection(service_type="day_care_disability", metric="supply", lang="en")
    maps = []
    for lon in (21.1655, 20.2887):
        edits = (views.PlanEdit("day_care_disability", lon, 42.6629, 20.0),)
        after = views.run_plan(inputs, AnalysisConfig(), edits, demo=demo, base=result).result
        assert after is not None
        # the comparison run_plan made and kept is the one compare() gives
        kept = runner._PLAN_MEMO.get((result, after), "compare", lambda: None)
        expected = compare(result, after)
        pd.testing.assert_frame_equal(kept.table, expected.table)
        maps.append(
            views.plan_difference_map(result, after, selection, result.taxonomy, metric="supply")
            .get_root()
            .render()
        )
        maps.append(
            views.plan_difference_map(result, after, selection, result.taxonomy, metric="supply")
            .get_root()
            .render()
        )
    strip = lambda html: re.sub(r"[0-9a-f]{32}", "", html)  # noqa: E731 - folium's random element ids
    assert strip(maps[0]) == strip(maps[1]) and strip(maps[2]) == strip(maps[3])
    assert strip(maps[0]) != strip(maps[2])
