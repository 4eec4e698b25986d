"""The need model: need rates, no person counted twice in a composite or a budget, supply by reach."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import analyze
from socialmap.costing import places_and_budget
from socialmap.errors import SocialMapError, TaxonomyError

TAXONOMY = """
schema_version: 1
name: need-model test
sources:
  def: {citation: "by definition"}
  made_up: {citation: "test figure, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
    column: population
  older:
    label: {en: Older, sq: Të moshuar, sr: Stariji}
    rate: 0.2
    source: made_up
  victims:
    label: {en: Victims, sq: Viktima, sr: Žrtve}
    rate: null
    sensitive: true
service_types:
  home:
    label: {en: Home care, sq: Kujdes në shtëpi, sr: Pomoć u kući}
    target_groups: [older]
    need_rate: 0.6
    need_rate_source: made_up
  resid:
    label: {en: Residential, sq: Rezidencial, sr: Domski}
    target_groups: [older]
    need_rate: 0.4
    need_rate_source: made_up
    places_per_1000: 400
    places_per_1000_source: made_up
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    need_rate: null
    places_per_1000: 1
    places_per_1000_source: made_up
    places_per_1000_of: everyone
    sensitive: true
"""


@pytest.fixture
def taxonomy(tmp_path):
    return taxonomy_from_text(tmp_path, TAXONOMY)


def _services(*rows):
    ids, types, caps, pts = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"service_id": ids, "name": ids, "service_type": types, "capacity": caps},
        geometry=[Point(p) for p in pts],
        crs=CRS,
    )


@pytest.fixture
def result(taxonomy):
    # Older people: 200, 600, 0, 400 in a, b, c, d. One residential home of 100 places at (6, 5) km in a,
    # reaching a and b (catchment 10.5 km); one home-care service of 50 in d.
    svc = _services(("r1", "resid", 100.0, (6000, 5000)), ("h1", "home", 50.0, (15000, 14000)))
    return analyze(
        square_areas(),
        svc,
        square_population(),
        taxonomy=taxonomy,
        spreading="representative",
        catchment_m=10_500,
        service_types=("home", "resid", "shelter"),
    )


def test_loader_refuses_need_rates_that_count_people_twice(tmp_path):
    text = TAXONOMY.replace("need_rate: 0.6", "need_rate: 0.7")
    with pytest.raises(TaxonomyError, match=r"older.*add up to 1\.1 > 1"):
        taxonomy_from_text(tmp_path, text)
    nested = TAXONOMY.replace(
        "  victims:\n",
        "  older_women:\n    label: {en: W, sq: W, sr: W}\n    rate: 0.1\n    source: made_up\n"
        "    part_of: older\n  victims:\n",
    ).replace(
        "target_groups: [older]\n    need_rate: 0.6",
        "target_groups: [older, older_women]\n    need_rate: 0.6",
    )
    with pytest.raises(TaxonomyError, match="which contains it: those people would be counted twice"):
        taxonomy_from_text(tmp_path, nested)


def test_need_is_group_times_need_rate_and_the_standard_gives_shelter_need(result):
    t = result.table.set_index(["service_type", "area_id"])
    assert t.loc["home", "need"].tolist() == pytest.approx([120, 360, 0, 240])  # 0.6 × older
    assert t.loc["resid", "need"].tolist() == pytest.approx([80, 240, 0, 160])  # 0.4 × older
    # Victims' number is unknown; the standard (1 per 1,000 residents) gives the places needed.
    assert t.loc["shelter", "need"].tolist() == pytest.approx([1, 3, 0, 2])
    assert set(t.loc["shelter", "need_basis"]) == {"standard"}


def test_no_person_is_counted_twice_in_the_composite(result):
    gaps = result.group_gaps().set_index(["area_id", "target_group"])
    # The older group's need over home and residential care is each older person once (0.6 + 0.4 = 1).
    assert gaps.loc[("b", "older"), "need"] == pytest.approx(600.0)
    assert gaps.loc[("a", "older"), "types"] == 2
    # Older people weigh as much as victims, however many types serve them: two groups, 1/2 each.
    assert gaps.loc[("a", "older"), "weight_share"] == pytest.approx(0.5)
    # a: home unmet 120 (no home care reaches a), residential A = 100 / (80 + 240) = 0.3125, unmet 55;
    # older gap = 100 × (120 + 55) / 200 = 87.5. Shelter: nothing, 100. Composite = (87.5 + 100) / 2.
    assert gaps.loc[("a", "older"), "gap"] == pytest.approx(87.5)
    comp = result.composite.set_index("area_id")
    assert comp.loc["a", "composite_gap"] == pytest.approx((87.5 + 100.0) / 2)
    assert comp.loc["a", "groups_scored"] == 2 and comp.loc["a", "groups_unknown"] == 0


def test_unknown_need_is_shown_as_unknown_in_the_composite(tmp_path):
    text = TAXONOMY.replace(
        "    places_per_1000: 1\n    places_per_1000_source: made_up\n    places_per_1000_of: everyone\n", ""
    )
    tax = taxonomy_from_text(tmp_path, text)
    res = analyze(
        square_areas(),
        _services(("r1", "resid", 100.0, (6000, 5000))),
        square_population(),
        taxonomy=tax,
        spreading="representative",
        catchment_m=10_500,
    )
    comp = res.composite.set_index("area_id")
    assert comp.loc["a", "groups_unknown"] == 1 and comp.loc["a", "weight_unknown"] == pytest.approx(0.5)
    gaps = res.group_gaps("a").set_index("target_group")
    assert gaps.loc["victims", "status"] == "unknown"


def test_budget_uses_supply_by_reach_and_never_counts_a_group_twice(result, taxonomy):
    c = places_and_budget(result, taxonomy=taxonomy, unit_costs={"resid": 1000.0})
    r = c.table[c.table["service_type"] == "resid"].set_index("area_id")
    # Reachable places: 80 × 0.3125 = 25 (a), 240 × 0.3125 = 75 (b); inside: 100 in a, 0 in b.
    assert r.loc[["a", "b", "d"], "supply"].tolist() == pytest.approx([25, 75, 0])
    assert r.loc[["a", "b", "d"], "supply_inside"].tolist() == [100, 0, 0]
    # Standard 400 per 1,000 older people: 80, 240, 160 places; needed 55, 165, 160.
    assert r.loc[["a", "b", "d"], "places_target"].tolist() == pytest.approx([80, 240, 160])
    assert r.loc[["a", "b", "d"], "places_needed"].tolist() == pytest.approx([55, 165, 160])
    # Shelter: the standard is per 1,000 residents, not per victim.
    s = c.table[c.table["service_type"] == "shelter"].set_index("area_id")
    assert s.loc[["a", "b", "d"], "places_target"].tolist() == pytest.approx([1, 3, 2])
    # Standards for the same older people adding up to more than 1,000 per 1,000 are refused.
    with pytest.raises(SocialMapError, match="count some people twice"):
        places_and_budget(result, taxonomy=taxonomy, standards={"home": 700.0})
    ok = places_and_budget(result, taxonomy=taxonomy, standards={"home": 600.0})
    older = ok.national.set_index("service_type").loc[["home", "resid"], "places_target"].sum()
    assert older == pytest.approx(1200.0)  # every older person at most once


def test_export_has_the_per_cell_layer_and_equity_without_sensitive_types(tmp_path):
    import pyogrio

    from socialmap.export import write_result

    res = analyze(demo="kosovo", service_types=("home_care_elderly", "shelter_dv"), cell_size_m=4000)
    paths = write_result(res, tmp_path / "out")
    layers = [name for name, _ in pyogrio.list_layers(paths["gpkg"])]
    assert "demand_cells" in layers
    cells = pyogrio.read_dataframe(paths["gpkg"], layer="demand_cells")
    # Shelters are sensitive: no cell of theirs is published (counts in a cell could single someone out).
    assert set(cells["service_type"]) == {"home_care_elderly"}
    home = res.demand[res.demand["service_type"] == "home_care_elderly"]
    assert len(cells) == len(home)
    assert cells["unmet"].sum() == pytest.approx(home["unmet"].sum())
    assert (cells["unmet"] <= cells["need"] + 1e-9).all() and (cells["nearest_m"] >= 0).all()
    # The cells' unmet need adds up to the areas' unmet need.
    t = res.for_service_type("home_care_elderly")
    assert cells["unmet"].sum() == pytest.approx(t["unmet_need"].sum())
    import pandas as pd

    equity = pd.read_csv(paths["equity"], encoding="utf-8-sig")
    assert set(equity["service_type"]) == {"home_care_elderly"}


def test_map_of_near_identical_values_says_so_and_uses_one_colour():
    from socialmap.gaps import honest_classes
    from socialmap.maps import choropleth_map

    areas = square_areas().assign(gap_score=[97.6, 98.4, 99.3, 100.0])
    classes, bins, narrow = honest_classes(areas["gap_score"])
    assert set(classes) == {0} and narrow == (97.6, 100.0)
    html = choropleth_map(areas, "gap_score", lang="en", tiles=None).get_root().render()
    assert "The values span only 2.4 (97.6 – 100.0): one colour, not five." in html
    # Values that differ keep their classes, and the legend starts at the smallest value.
    spread = square_areas().assign(gap_score=[12.0, 40.0, 65.0, 99.0])
    html = choropleth_map(spread, "gap_score", lang="en", tiles=None, k=4).get_root().render()
    assert "span only" not in html and "12.0 – " in html


def test_demo_scores_tell_municipalities_apart():
    # Issue #18, "done when": with the benchmarks, every capacity-scored type with a known need spans at
    # least 20 points across municipalities, and the composite's rank correlation with any type is < 0.9.
    from scipy.stats import spearmanr

    res = analyze(demo="kosovo", cell_size_m=2000)
    comp = res.composite.set_index("area_id")["composite_gap"]
    scored = res.table[(res.table["method"] == "2sfca") & res.table["gap_score"].notna()]
    assert set(scored["service_type"]) >= {"home_care_elderly", "residential_elderly", "shelter_dv"}
    for st, rows in scored.groupby("service_type"):
        assert rows["gap_score"].max() - rows["gap_score"].min() >= 20, st
    for st, rows in res.table.groupby("service_type"):
        gap = rows.set_index("area_id")["gap_score"].reindex(comp.index)
        if gap.notna().sum() >= 3:
            assert abs(spearmanr(comp, gap, nan_policy="omit")[0]) < 0.9, st


def test_profile_make_up_and_the_new_measures_in_the_views(tmp_path):
    from socialmap import views

    res = analyze(demo="kosovo", cell_size_m=4000)
    tax = res.taxonomy
    table = views.composite_makeup_table(res, "01", tax, lang="en")
    gaps = res.group_gaps("01").set_index("target_group")
    older = table.set_index("Target group").loc[tax.label("older_people_65plus", "en")]
    assert older["Gap score (%)"] == pytest.approx(gaps.loc["older_people_65plus", "gap"])
    assert older["Status"] == "scored"
    assert tax.label("home_care_elderly", "en") in older["Service type"]
    # Victims are scored by the shelter standard; persons with disabilities' need is unknown (listed).
    status = table.set_index("Target group")["Status"]
    assert status[tax.label("persons_with_disabilities", "en")] == "need unknown"
    assert table["Share of the composite (%)"].sum() == pytest.approx(100.0)
    assert {"spar", "places_per_1000", "supply_reach"} <= set(views.METRICS)
    assert set(views.METRIC_HELP) >= {"spar", "places_per_1000", "gap_score", "composite_gap"}


def test_static_map_of_unmet_need_per_cell(tmp_path):
    from socialmap.static import cells_map, save_figure

    res = analyze(demo="kosovo", service_types=("home_care_elderly", "shelter_dv"), cell_size_m=4000)
    fig = cells_map(res, "home_care_elderly", lang="en")
    path = save_figure(fig, tmp_path / "unmet.png")
    assert path.stat().st_size > 10_000
    (tmp_path / "art").mkdir()
    nearest = cells_map(res, "home_care_elderly", column="nearest_m", lang="sq")
    assert save_figure(nearest, tmp_path / "art" / "n.png").stat().st_size > 10_000
    with pytest.raises(SocialMapError, match="confidential"):
        cells_map(res, "shelter_dv", lang="en")
