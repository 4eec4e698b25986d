"""privacy: small counts of sensitive groups hidden, and not recoverable from the published totals."""

from __future__ import annotations

import dataclasses
import itertools
import math
import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from socialmap import analyze, load_taxonomy, settings
from socialmap.errors import SocialMapError
from socialmap.privacy import (
    LINKED,
    PRIMARY,
    SECONDARY,
    SUPPRESSED_COLUMNS,
    _acceptable,
    _suppress_one_total,
    is_safe,
    protect,
    resolve_taxonomy,
    sensitive_counts,
    sensitive_service_types,
    shown,
)

CRS = "EPSG:32634"
TAXONOMY = """
schema_version: 1
name: privtest
sources:
  def: {citation: "by definition"}
  made_up: {citation: "test figure, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  disabled:
    label: {en: Disabled, sq: Me aftësi të kufizuara, sr: Invalidi}
    rate: 0.05
    source: made_up
    estimate: true
    derivation: made up for the test
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: null
    column: pop_victims
    sensitive: true
  kids:
    label: {en: Children without care, sq: Fëmijë pa kujdes, sr: Deca bez staranja}
    rate: null
    column: pop_kids
    sensitive: true
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  care:
    label: {en: Disability care, sq: Kujdes, sr: Nega}
    target_groups: [disabled]
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    sensitive: true
  housing:
    label: {en: Housing, sq: Strehim, sr: Stanovanje}
    target_groups: [disabled, kids]
    sensitive: true
"""

#: Persons in the sensitive groups per area (a..i): small counts among larger ones.
VICTIMS = [2.0, 40.0, 9.0, 0.0, 12.0, 30.0, 7.0, 15.0, 22.0]
KIDS = [3.0, 11.0, 0.0, 6.0, 1.0, 25.0, 8.0, 14.0, 9.0]


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Outputs made without ``lang`` are in the default language: English here, whatever the machine's."""
    monkeypatch.setenv("SOCIALMAP_LANG", "en")


def make_result(tmp_path, victims=VICTIMS):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(textwrap.dedent(TAXONOMY), encoding="utf-8")
    tax = load_taxonomy(path)
    ids = list("abcdefghi")
    cells = [box(x * 1e4, y * 1e4, (x + 1) * 1e4, (y + 1) * 1e4) for y in range(3) for x in range(3)]
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "name": [f"Area {i.upper()}" for i in ids]}, geometry=cells, crs=CRS
    )
    population = pd.DataFrame(
        {
            "area_id": ids,
            "population": [1000.0, 3000.0, 500.0, 2000.0, 800.0, 4000.0, 1500.0, 2500.0, 1200.0],
            "pop_victims": list(victims),
            "pop_kids": KIDS,
            "year": 2024,
        }
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2", "s3", "s4"],
            "name": ["One", "Two", "Three", "Four"],
            "service_type": ["day", "care", "shelter", "housing"],
            "capacity": [100.0, 20.0, 10.0, 8.0],
        },
        geometry=[Point(5000, 5000), Point(15000, 15000), Point(25000, 5000), Point(5000, 25000)],
        crs=CRS,
    )
    return analyze(
        areas, services, population, taxonomy=tax, spreading="representative", catchment_m=15_000
    ), tax


@pytest.fixture
def result(tmp_path):
    return make_result(tmp_path)


def test_sensitive_types_come_from_the_flags_of_types_and_groups(result):
    _, tax = result
    assert sensitive_service_types(tax) == ("shelter", "housing")
    assert sensitive_service_types(tax, sensitive_groups=["disabled"]) == ("care", "shelter", "housing")
    with pytest.raises(SocialMapError, match="unknown target group"):
        sensitive_service_types(tax, sensitive_groups=["nobody"])


def test_mixed_type_is_tested_on_its_sensitive_part(result):
    res, tax = result
    counts = sensitive_counts(res.table, tax, sensitive_types=("shelter", "housing"), population=res.areas)
    t = res.table.assign(count=counts).set_index(["service_type", "area_id"])["count"]
    assert t.loc["shelter"].tolist() == VICTIMS
    # housing need = 5 % of population + children without care; "care" publishes the 5 % part,
    # so the housing count that matters is the children's.
    assert t.loc["housing"].tolist() == pytest.approx(KIDS)
    assert t.loc["day"].isna().all()


def test_small_counts_are_hidden_in_every_person_column(result):
    res, tax = result
    prot = protect(res, taxonomy=tax)
    table = prot.table.set_index(["service_type", "area_id"])
    for st, counts in (("shelter", VICTIMS), ("housing", KIDS)):
        part = table.loc[st]
        for area, c in zip("abcdefghi", counts, strict=True):
            if 0 < c < 5:
                assert part.loc[area, "suppression"] == PRIMARY
                assert part.loc[area, list(SUPPRESSED_COLUMNS)].isna().all()
            elif c == 0:
                assert part.loc[area, "suppression"] == ""  # a true zero is published
    # default-deny: in a hidden row every column off the safe list is hidden; services and supply stay
    original = res.table.set_index(["service_type", "area_id"])
    shelter = table.loc["shelter"]
    metrics = [c for c in shelter.columns if not is_safe(c) and c != "geometry"]
    assert {"need", "covered_share", "gap_score", "access", "unmet_need"} <= set(metrics)
    for area, row in shelter.iterrows():
        if row["suppression"] in (PRIMARY, SECONDARY):
            assert row[metrics].isna().all(), area
        elif row["suppression"] == LINKED:  # shares a service with a hidden area
            assert row[["need", "covered_share"]].notna().all()
            assert row[["access", "reachable_places", "unmet_need", "gap_score"]].isna().all()
        else:
            # a published row keeps its own figures; the national ones it repeats (and spar, relative
            # to the national access) are national figures other than need: hidden for this type
            own = [c for c in metrics if c != "spar" and not c.endswith("_national")]
            pd.testing.assert_series_equal(
                row[own].astype(float),
                original.loc[("shelter", area), own].astype(float),
                check_names=False,
            )
            assert row[["spar", "places_per_1000_national"]].isna().all()
    for col in ("services", "supply"):
        pd.testing.assert_series_equal(table.loc["shelter", col], original.loc["shelter", col])
    # other service types untouched
    assert (table.loc["day", "suppression"] == "").all()
    assert table.loc["day", "need"].tolist() == res.for_service_type("day")["need"].tolist()


def test_markers_are_below_threshold_and_c(result):
    res, tax = result
    prot = protect(res, taxonomy=tax)
    text = shown(prot.table, prot, lang="en")
    shelter = text[text["service_type"] == "shelter"].set_index("area_id")
    assert shelter.loc["a", "need"] == "<5"
    assert shelter.loc["a", "unmet_need"] == "<5"
    assert set(shelter["suppression"]) <= {"", "<5", "[c]"}
    assert (shelter["suppression"] == "[c]").sum() >= 1


def _feasible_values(published, hidden_status, total, threshold):
    """Every integer value a hidden primary cell can take, given the published cells and the total."""
    rest = total - sum(published)
    n = len(hidden_status)
    ranges = [range(1, threshold) if s == PRIMARY else range(threshold, int(rest) + 1) for s in hidden_status]
    feasible = [set() for _ in range(n)]
    for combo in itertools.product(*ranges):
        if sum(combo) == rest:
            for i, v in enumerate(combo):
                feasible[i].add(v)
    return feasible


def test_suppression_cannot_be_undone_from_the_published_total(result):
    res, tax = result
    prot = protect(res, taxonomy=tax)
    for st, true in (("shelter", VICTIMS),):
        part = prot.table[prot.table["service_type"] == st].set_index("area_id")
        total = prot.totals.set_index("service_type").loc[st, "need"]
        assert total == pytest.approx(sum(true))  # the national total is published
        published = part["need"].dropna()
        hidden = part[part["suppression"].isin([PRIMARY, SECONDARY])]
        assert len(hidden) >= 2
        # The attack: total minus the other published cells.
        difference = total - published.sum()
        for area in hidden.index[hidden["suppression"] == PRIMARY]:
            assert difference != pytest.approx(true["abcdefghi".index(area)])
        # Stronger: every value "<5" allows is still possible for every primary cell.
        feasible = _feasible_values(
            published.tolist(),
            hidden["suppression"].tolist(),
            int(round(total)),
            int(settings.suppression_threshold),
        )
        for status, values in zip(hidden["suppression"], feasible, strict=True):
            if status == PRIMARY:
                assert values == {1, 2, 3, 4}


@pytest.mark.parametrize(
    "counts",
    [
        [2.0, 40.0, 9.0, 0.0],
        [4.0, 4.0, 100.0, 50.0],  # two primaries summing to 8: each would be exactly 4 without a secondary
        [1.0, 1.0, 30.0, 6.0],  # two primaries summing to 2: exactly 1 each without more
        [3.0, 5.0, 5.0, 6.0, 80.0],
        [1.0, 2.0, 3.0],  # total below the threshold: the total itself is hidden
        [0.0, 0.0, 7.0],
    ],
)
def test_rule_leaves_every_primary_free(counts):
    counts = np.array(counts)
    status, total_status = _suppress_one_total(counts, 5)
    if counts.sum() < 5 and counts.sum() > 0:
        assert total_status == PRIMARY
        return
    assert total_status in ("", SECONDARY)
    if total_status:
        return
    assert _acceptable(counts, status, 5)
    hidden = status != ""
    if hidden.any():
        feasible = _feasible_values(counts[~hidden].tolist(), list(status[hidden]), int(counts.sum()), 5)
        for s, values in zip(status[hidden], feasible, strict=True):
            if s == PRIMARY:
                assert values == {1, 2, 3, 4}
    # never a zero as a secondary cell
    assert not ((counts == 0) & (status == SECONDARY)).any()


def test_threshold_is_an_argument_and_a_setting(result, monkeypatch):
    res, tax = result
    high = protect(res, taxonomy=tax, threshold=13)
    shelter = high.table[high.table["service_type"] == "shelter"].set_index("area_id")
    assert shelter.loc["e", "suppression"] == PRIMARY  # 12 < 13
    monkeypatch.setattr(settings, "suppression_threshold", 3)
    low = protect(res, taxonomy=tax)
    shelter = low.table[low.table["service_type"] == "shelter"].set_index("area_id")
    assert shelter.loc["a", "suppression"] == PRIMARY  # 2 < 3
    assert low.threshold == 3
    with pytest.raises(SocialMapError, match="threshold"):
        protect(res, taxonomy=tax, threshold=-1)


def test_sensitive_types_as_argument(result):
    res, tax = result
    prot = protect(res, taxonomy=tax, sensitive_types=["shelter"])
    assert prot.sensitive_types == ("shelter",)
    assert (prot.table.loc[prot.table["service_type"] == "housing", "suppression"] == "").all()
    with pytest.raises(SocialMapError, match="unknown service type"):
        protect(res, taxonomy=tax, sensitive_types=["spa"])


def test_national_totals_are_sums_and_need_weighted_means(result):
    res, tax = result
    totals = protect(res, taxonomy=tax).totals.set_index("service_type")
    day = res.for_service_type("day")
    assert totals.loc["day", "need"] == pytest.approx(day["need"].sum())
    assert totals.loc["day", "gap_score"] == pytest.approx(100 * day["unmet_need"].sum() / day["need"].sum())
    weighted = (day["covered_share"] * day["need"]).sum() / day["need"].sum()
    assert totals.loc["day", "covered_share"] == pytest.approx(weighted)


def test_taxonomy_is_found_from_the_result_or_its_provenance(result, tmp_path):
    res, tax = result
    assert resolve_taxonomy(res) is res.taxonomy
    from dataclasses import replace

    without = replace(res, taxonomy=None)
    assert resolve_taxonomy(without).name == "privtest"
    lost = res.provenance | {"taxonomy": "mystery (<memory>)"}
    with pytest.raises(SocialMapError, match="taxonomy="):
        resolve_taxonomy(replace(without, provenance=lost))


def test_input_is_not_changed(result):
    res, tax = result
    before = res.table.copy()
    protect(res, taxonomy=tax)
    pd.testing.assert_frame_equal(pd.DataFrame(res.table), pd.DataFrame(before))
    assert not math.isnan(res.table["need"].iloc[0])


def test_placement_of_shelters_does_not_follow_the_hidden_counts(tmp_path):
    from socialmap.optimise import place_services
    from socialmap.privacy import public_demand

    # two small counts (2 and 3 victims in a and g, which no shelter covers) that protect each
    # other; the twin swaps them
    first = [2.0, 40.0, 9.0, 0.0, 12.0, 30.0, 3.0, 15.0, 22.0]
    twin = [3.0, *first[1:6], 2.0, *first[7:]]
    runs = []
    for victims in (first, twin):
        folder = tmp_path / f"a{victims[0]:g}"
        folder.mkdir()
        res, tax = make_result(folder, victims)
        prot = protect(res, taxonomy=tax)
        shelter = prot.table[prot.table["service_type"] == "shelter"].set_index("area_id")["suppression"]
        assert shelter[["a", "g"]].tolist() == [PRIMARY, PRIMARY]
        assert shelter.drop(["a", "g"]).isin(["", LINKED]).all()  # no secondary: they protect each other
        # the need an outsider can know: the hidden 5 shared equally
        demand = public_demand(res, "shelter", prot).set_index("area_id")["need"]
        assert demand[["a", "g"]].tolist() == [2.5, 2.5]
        points = res.areas.set_index("area_id").representative_point()
        sites = gpd.GeoDataFrame(
            # (the result's CRS: this world lies 500 km west of its UTM zone's meridian, so the analysis
            # runs in the zone it is in, #14)
            {"candidate_id": ["at a", "at g"]},
            geometry=[points["a"], points["g"]],
            crs=res.areas.crs,
        )
        placed = place_services(res, "shelter", k=1, candidates=sites, radius_m=1.0)
        runs.append(placed)
        # on the true need the site would go where the 3 victims are
        # a site's need reached is hidden where it reaches a hidden area's demand (else it is the
        # need of published areas only, 0 here); the national figures are hidden
        assert math.isnan(placed.objective)
    assert runs[0].chosen["candidate_id"].tolist() == runs[1].chosen["candidate_id"].tolist()
    first_need, twin_need = (r.chosen["added_need"].fillna(-1.0).tolist() for r in runs)
    assert first_need == twin_need and set(first_need) <= {-1.0, 0.0}
    assert runs[0].total_need == runs[1].total_need == sum(first)


def test_on_any_cost_but_straight_lines_every_neighbour_is_linked(result):
    # Reach on a road network cannot be retraced from straight-line distances: default-deny.
    from dataclasses import replace

    res, tax = result
    by_road = replace(res, provenance={**res.provenance, "cost": "drive"})
    straight = protect(res, taxonomy=tax).table
    road = protect(by_road, taxonomy=tax).table
    for table in (straight, road):
        assert table.loc[table["service_type"] == "day", "suppression"].eq("").all()
    shelter = road[road["service_type"] == "shelter"]
    assert set(shelter.loc[~shelter["suppression"].isin([PRIMARY, SECONDARY]), "suppression"]) == {LINKED}
    assert (straight["suppression"] == LINKED).sum() <= (road["suppression"] == LINKED).sum()


def test_the_published_result_carries_no_count_of_a_sensitive_group(result):
    """The composite's make-up and the population table go out with the published result too."""
    res, tax = result
    prot = protect(res, taxonomy=tax)
    published = prot.result
    hidden = prot.table[prot.table["suppression"] != ""]
    cells = set(zip(hidden["area_id"].astype(str), hidden["service_type"].astype(str), strict=True))
    if res.makeup is not None:
        rows = published.makeup
        keys = list(zip(rows["area_id"].astype(str), rows["service_type"].astype(str), strict=True))
        at = np.array([k in cells for k in keys], dtype=bool)
        assert at.any()
        assert rows.loc[at, ["need", "unmet"]].isna().all().all() and not rows.loc[at, "need_known"].any()
        # published cells keep their figures, as the table publishes them
        assert rows.loc[~at, "need_known"].any()
    if res.population is not None:
        sensitive_columns = {
            tax.target_groups[g].column
            for st in prot.sensitive_types
            for g in tax.service_type(st).target_groups
            if tax.target_groups[g].column
        }
        assert not sensitive_columns & set(published.population.columns)
        assert "population" in published.population.columns


def test_catchment_in_minutes_is_an_option_published_in_hidden_rows(result):
    """With roads the table carries ``catchment_min`` (pipeline.py): the chosen option, not a count."""
    res, tax = result
    assert is_safe("catchment_min")
    table = res.table.copy()
    table.insert(5, "catchment_min", 30.0)  # as pipeline.py inserts it for a road run
    prot = protect(dataclasses.replace(res, table=table), taxonomy=tax)
    hidden = prot.table[prot.table["suppression"].isin([PRIMARY, SECONDARY])]
    assert len(hidden) >= 2  # the small counts of the fixture are hidden …
    assert hidden["need"].isna().all()
    assert (hidden["catchment_min"] == 30.0).all()  # … and the catchment they were measured with is not


def test_an_uploads_preview_hides_the_counts_of_sensitive_groups():
    """A population file's first rows shown in the app hide the victims' counts (by name or by mapping)."""
    from socialmap.privacy import preview_rows
    from socialmap.taxonomy import load_taxonomy

    tax = load_taxonomy()
    sensitive = sorted(g.column for g in tax.target_groups.values() if g.sensitive and g.column)
    assert "pop_victims_violence" in sensitive
    rows = pd.DataFrame({"Komuna": ["Deçan", "Gjakovë"], "Popullsia": [27775, 78699], "Viktimat": [2, 3]})
    shown = preview_rows(
        rows, tax, {"Komuna": "name", "Popullsia": "population", "Viktimat": "pop_victims_violence"}
    )
    assert list(shown["Popullsia"]) == [27775, 78699]  # not sensitive: unchanged
    assert list(shown["Komuna"]) == ["Deçan", "Gjakovë"]
    assert not set(shown["Viktimat"].astype(str)) & {"2", "3"}
    by_name = preview_rows(rows.rename(columns={"Viktimat": "pop_victims_violence"}), tax)
    assert not set(by_name["pop_victims_violence"].astype(str)) & {"2", "3"}
