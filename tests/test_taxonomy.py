"""Tests of socialmap.taxonomy: the shipped Kosovo taxonomy, need arithmetic and every error path."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from socialmap import settings
from socialmap import taxonomy as taxonomy_module
from socialmap.errors import SocialMapError, TaxonomyError, ValidationError
from socialmap.taxonomy import Taxonomy, available_taxonomies, load_taxonomy

SERVICE_TYPES = (
    "csw",
    "day_care_disability",
    "home_care_elderly",
    "residential_elderly",
    "shelter_dv",
    "community_housing",
    "counselling_family",
)

# Figures from ../shared/data/kosovo/facts_kosovo_wide.md.
CENSUS_2011 = 1_739_825  # 2011 census, excl. the 4 northern municipalities
CENSUS_2024_PRELIM = 1_586_659  # 2024 census, preliminary (KAS, 12 Jul 2024)
DISABILITY_2011_LOW, DISABILITY_2011_HIGH = 90_000, 93_000  # HANDIKOS via kosovapress.com
CHILDREN_WITH_DISABILITIES = 43_000  # KOMF estimate
SOCIAL_ASSISTANCE_PERSONS_FEB_2023 = 88_453  # KAS via lajmi.net
# The YAML stores rates to 7 decimals, so they match the arithmetic to about 1e-6 relative.
REL = 1e-5


@pytest.fixture(scope="module")
def kosovo() -> Taxonomy:
    return load_taxonomy()


# --------------------------------------------------------------------------------------------
# The shipped default
# --------------------------------------------------------------------------------------------


def test_default_loads_by_none_and_by_name(kosovo: Taxonomy) -> None:
    assert "kosovo" in available_taxonomies()
    assert kosovo.name == "kosovo"
    assert kosovo.origin == "socialmap:taxonomies/kosovo.yaml"
    assert load_taxonomy("kosovo") == kosovo


def test_default_loaded_as_a_user_path_gives_the_same_taxonomy(kosovo: Taxonomy, tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[1] / "socialmap" / "taxonomies" / "kosovo.yaml"
    copy_path = tmp_path / "my_kosovo.yaml"
    copy_path.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    mine = load_taxonomy(copy_path)
    assert mine.origin == str(copy_path)
    assert mine.service_types == kosovo.service_types
    assert mine.target_groups == kosovo.target_groups
    assert load_taxonomy(str(copy_path)).target_groups == kosovo.target_groups


def test_all_seven_service_types_with_three_labels(kosovo: Taxonomy) -> None:
    assert kosovo.service_type_keys == SERVICE_TYPES
    for key in SERVICE_TYPES:
        labels = kosovo.service_types[key].labels
        assert set(labels) == {"en", "sq", "sr"}
        assert all(text.strip() for text in labels.values())
    for group in kosovo.target_groups.values():
        assert set(group.labels) == {"en", "sq", "sr"}


def test_labels_in_each_language(kosovo: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    assert kosovo.label("csw", "en") == "Centre for Social Work"
    assert kosovo.label("csw", "sq") == "Qendra për Punë Sociale"
    assert kosovo.label("csw", "sr") == "Centar za socijalni rad"
    assert kosovo.label("older_people_65plus", "sr") == "Starije osobe (65+)"
    monkeypatch.setattr(settings, "default_language", "sq")
    assert kosovo.label("csw") == "Qendra për Punë Sociale"


def test_label_errors_name_the_key_and_the_fix(kosovo: Taxonomy) -> None:
    with pytest.raises(TaxonomyError, match=r"'cws'.*did you mean 'csw'"):
        kosovo.label("cws", "en")
    with pytest.raises(TaxonomyError, match=r"`lang` must be one of \['en', 'sq', 'sr'\]; got 'de'"):
        kosovo.label("csw", "de")
    with pytest.raises(TaxonomyError, match="Unknown service type 'nope'"):
        kosovo.need_rates("nope")


def test_every_rate_has_a_source_with_a_citation(kosovo: Taxonomy) -> None:
    for group in kosovo.target_groups.values():
        if group.rate is None:
            assert group.sources == ()
            continue
        assert group.sources, group.key
        for key in group.sources:
            assert kosovo.sources[key].citation.strip()
        if group.estimate:
            assert group.derivation, group.key


def test_rates_equal_the_arithmetic_from_the_facts(kosovo: Taxonomy) -> None:
    rates = {k: g.rate for k, g in kosovo.target_groups.items()}
    # By definition.
    assert rates["total_population"] == 1.0
    # Midpoint of 90,000-93,000 persons with disabilities (2011 census) / 2011 census population.
    midpoint = (DISABILITY_2011_LOW + DISABILITY_2011_HIGH) / 2
    assert midpoint == 91_500
    assert rates["persons_with_disabilities"] == pytest.approx(91_500 / 1_739_825, rel=REL)
    assert rates["persons_with_disabilities"] == pytest.approx(0.0526, abs=5e-5)  # "≈ 5.2-5.3 %"
    # ~43,000 children with disabilities (KOMF) / 2024 census (preliminary).
    assert rates["children_with_disabilities"] == pytest.approx(43_000 / 1_586_659, rel=REL)
    # 65+: "double-digit for the first time" → 10 % as a lower bound.
    assert rates["older_people_65plus"] == 0.10
    assert kosovo.target_groups["older_people_65plus"].estimate
    assert "lower bound" in (kosovo.target_groups["older_people_65plus"].derivation or "").lower()
    # 88,453 persons in families on social assistance (Feb 2023) / 2024 census (preliminary).
    assert rates["social_assistance_persons"] == pytest.approx(88_453 / 1_586_659, rel=REL)
    # No figure in the facts: unknown, not zero.
    assert rates["victims_of_violence"] is None
    assert rates["children_without_parental_care"] is None


def test_derivations_quote_the_figures_they_use(kosovo: Taxonomy) -> None:
    groups = kosovo.target_groups
    assert "91,500" in groups["persons_with_disabilities"].derivation  # type: ignore[operator]
    assert "1,739,825" in groups["persons_with_disabilities"].derivation  # type: ignore[operator]
    assert "43,000" in groups["children_with_disabilities"].derivation  # type: ignore[operator]
    assert "88,453" in groups["social_assistance_persons"].derivation  # type: ignore[operator]
    assert "1,586,659" in groups["social_assistance_persons"].derivation  # type: ignore[operator]


def test_census_denominator_matches_the_municipal_table(shared_kosovo: Path) -> None:
    table = pd.read_csv(shared_kosovo / "municipalities.csv", dtype={"kas_code": str})
    assert table["pop_2011_census"].sum() == CENSUS_2011


def test_blank_costs_and_catchments_are_none_and_only_sourced_standards(kosovo: Taxonomy) -> None:
    for st in kosovo.service_types.values():
        assert st.catchment_m is None
        assert st.unit_cost_eur_per_place_year is None
        assert st.weight is None
        assert st.catchment_source == st.unit_cost_source == ()
    # The two international benchmarks (OECD 2021 LTC facility beds; Council of Europe 2008 shelters).
    standards = {k: st.places_per_1000 for k, st in kosovo.service_types.items() if st.places_per_1000}
    assert standards == {"residential_elderly": 42.0, "shelter_dv": 0.1}
    assert kosovo.service_type("shelter_dv").places_per_1000_of == "total_population"
    assert kosovo.service_type("residential_elderly").places_per_1000_source == ("oecd_hag_2023_ltc_beds",)
    for key in ("oecd_hag_2023_ltc_beds", "coe_2008_minimum_standards", "oecd_hag_2021_ltc_recipients"):
        assert "not a Kosovo standard" in (kosovo.sources[key].note or "")


def test_catchment_falls_back_to_settings_at_call_time(
    kosovo: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kosovo.catchment_for("csw") == settings.default_catchment_m
    monkeypatch.setattr(settings, "default_catchment_m", 2_500.0)
    assert kosovo.catchment_for("day_care_disability") == 2_500.0


def test_composite_weights_default_to_one(kosovo: Taxonomy) -> None:
    assert kosovo.composite_weights() == dict.fromkeys(SERVICE_TYPES, 1.0)


def test_sensitive_service_types(kosovo: Taxonomy) -> None:
    assert kosovo.sensitive_service_types == ("shelter_dv", "community_housing")
    assert kosovo.target_groups["victims_of_violence"].sensitive
    assert kosovo.target_groups["children_without_parental_care"].sensitive


def test_need_rates_and_unknown_need(kosovo: Taxonomy) -> None:
    assert kosovo.need_rates("csw") == {"total_population": 1.0}
    assert kosovo.need_rates("home_care_elderly") == {"older_people_65plus": 0.10}
    assert kosovo.need_rates("shelter_dv") == {"victims_of_violence": None}
    assert kosovo.need_is_known("csw")
    # Victims' number is unknown, but the shelter standard is per 1,000 of the whole population.
    assert kosovo.need_basis("shelter_dv") == "standard"
    assert kosovo.need_is_known("shelter_dv")
    assert kosovo.need_basis("day_care_disability") == "unknown"
    assert not kosovo.need_is_known("day_care_disability")
    assert not kosovo.need_is_known("community_housing")


def test_service_types_do_not_count_a_group_twice(kosovo: Taxonomy) -> None:
    # children_with_disabilities is part of persons_with_disabilities: never both in one service type.
    for st in kosovo.service_types.values():
        assert not {"persons_with_disabilities", "children_with_disabilities"} <= set(st.target_groups)


# --------------------------------------------------------------------------------------------
# Need from a population table
# --------------------------------------------------------------------------------------------


def test_need_is_target_group_times_need_rate(kosovo: Taxonomy) -> None:
    pop = pd.DataFrame({"area_id": ["a", "b"], "population": [10_000, 30_000]}, index=[5, 7])
    size = kosovo.target_size("day_care_disability", pop)
    assert size.name == "day_care_disability"
    assert list(size.index) == [5, 7]
    rate = kosovo.target_groups["persons_with_disabilities"].rate
    assert size.tolist() == pytest.approx([10_000 * rate, 30_000 * rate])  # type: ignore[operator]
    # No source gives the share of persons with disabilities who need day care: unknown, not all of them.
    assert kosovo.need("day_care_disability", pop).isna().all()
    assert kosovo.need("csw", pop).tolist() == [10_000.0, 30_000.0]
    # 65+ = 10 % of residents (lower bound); 6.5 % of them need home care, 4.2 % residential care.
    assert kosovo.need("home_care_elderly", pop).tolist() == pytest.approx([65.0, 195.0])
    assert kosovo.need("residential_elderly", pop).tolist() == pytest.approx([42.0, 126.0])
    # Need is extensive: the need of the summed population equals the sum of the needs.
    total = pd.DataFrame({"population": [40_000]})
    assert kosovo.need("home_care_elderly", total).iloc[0] == pytest.approx(
        kosovo.need("home_care_elderly", pop).sum()
    )


def test_unknown_rate_gives_unknown_need_not_zero(kosovo: Taxonomy) -> None:
    pop = pd.DataFrame({"population": [10_000, 30_000]})
    assert kosovo.target_size("shelter_dv", pop).isna().all()
    assert kosovo.need("community_housing", pop).isna().all()
    assert kosovo.need("counselling_family", pop).isna().all()


def test_shelter_need_comes_from_the_council_of_europe_standard(kosovo: Taxonomy) -> None:
    # One family place per 10,000 of the population: 1 and 3 places.
    pop = pd.DataFrame({"population": [10_000, 30_000]})
    assert kosovo.need("shelter_dv", pop).tolist() == pytest.approx([1.0, 3.0])
    assert kosovo.standard_places("shelter_dv", pop).tolist() == pytest.approx([1.0, 3.0])
    assert kosovo.standard_places("csw", pop).isna().all()


def test_count_column_takes_precedence_over_the_rate(kosovo: Taxonomy) -> None:
    pop = pd.DataFrame({"population": [10_000, 30_000], "pop_65plus": [1_700, None]})
    # Row 0 from its column; row 1 has no count, so population × the 10 % lower bound.
    assert kosovo.target_size("home_care_elderly", pop).tolist() == [1_700.0, 3_000.0]
    assert kosovo.need("home_care_elderly", pop).tolist() == pytest.approx([1_700 * 0.065, 3_000 * 0.065])


def test_count_column_makes_an_unknown_group_known(kosovo: Taxonomy) -> None:
    pop = pd.DataFrame({"population": [10_000, 30_000], "pop_victims_violence": [12, None]})
    size = kosovo.target_size("shelter_dv", pop)
    assert size.iloc[0] == 12.0
    assert math.isnan(size.iloc[1])


def test_need_does_not_mutate_the_table(kosovo: Taxonomy) -> None:
    pop = pd.DataFrame({"population": [10_000], "pop_65plus": [None]})
    before = pop.copy()
    kosovo.need("home_care_elderly", pop)
    pd.testing.assert_frame_equal(pop, before)


def test_need_without_population_column_names_the_fix(kosovo: Taxonomy) -> None:
    with pytest.raises(ValidationError, match="no 'population' column.*add a 'population' column"):
        kosovo.need("csw", pd.DataFrame({"people": [1]}))


def test_need_with_non_numeric_count_column(kosovo: Taxonomy) -> None:
    pop = pd.DataFrame({"population": [10_000], "pop_65plus": ["1.700 persons"]})
    with pytest.raises(ValidationError, match="'pop_65plus' holds non-numbers"):
        kosovo.need("home_care_elderly", pop)


# --------------------------------------------------------------------------------------------
# Display table
# --------------------------------------------------------------------------------------------


def test_to_frame_lists_every_pair_and_every_rate_with_its_source(kosovo: Taxonomy) -> None:
    frame = kosovo.to_frame()
    pairs = sum(len(st.target_groups) for st in kosovo.service_types.values())
    served = {g for st in kosovo.service_types.values() for g in st.target_groups}
    assert len(frame) == pairs + len(set(kosovo.target_groups) - served)
    assert set(frame["target_group"]) == set(kosovo.target_groups)
    assert set(frame["service_type"].dropna()) == set(SERVICE_TYPES)
    known = frame[frame["rate"].notna()]
    assert known["rate_citation"].notna().all()
    assert known["rate_sources"].notna().all()
    row = frame[(frame["service_type"] == "csw")].iloc[0]
    assert row["service_label_sq"] == "Qendra për Punë Sociale"
    assert row["rate"] == 1.0
    assert frame.loc[frame["target_group"] == "victims_of_violence", "rate"].isna().all()
    # The unserved group is listed once, without a service type.
    unserved = frame[frame["target_group"] == "children_with_disabilities"]
    assert len(unserved) == 1 and pd.isna(unserved["service_type"].iloc[0])


# --------------------------------------------------------------------------------------------
# Error paths of a user's YAML
# --------------------------------------------------------------------------------------------


def _minimal() -> dict[str, Any]:
    """A small valid taxonomy (as YAML data) that tests break one piece at a time."""
    return {
        "schema_version": 1,
        "name": "test",
        "sources": {"census": {"citation": "A census"}},
        "target_groups": {
            "everyone": {
                "label": {"en": "Everyone", "sq": "Të gjithë", "sr": "Svi"},
                "rate": 1.0,
                "source": "census",
            },
            "victims": {
                "label": {"en": "Victims", "sq": "Viktimat", "sr": "Žrtve"},
                "rate": None,
                "sensitive": True,
            },
        },
        "service_types": {
            "csw": {
                "label": {"en": "CSW", "sq": "QPS", "sr": "CSR"},
                "target_groups": ["everyone"],
            },
            "shelter_dv": {
                "label": {"en": "Shelter", "sq": "Strehimore", "sr": "Sklonište"},
                "target_groups": ["victims"],
                "sensitive": True,
            },
        },
    }


def _write(tmp_path: Path, data: Any, name: str = "tax.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert str(path) in message
    assert "Fix:" in message
    return message


def test_minimal_user_taxonomy_loads(tmp_path: Path) -> None:
    tax = load_taxonomy(_write(tmp_path, _minimal()))
    assert tax.name == "test"
    assert tax.service_type_keys == ("csw", "shelter_dv")
    assert tax.need_rates("shelter_dv") == {"victims": None}
    assert isinstance(TaxonomyError("x"), SocialMapError)


def test_unknown_target_group_referenced(tmp_path: Path) -> None:
    data = _minimal()
    data["service_types"]["shelter_dv"]["target_groups"] = ["victim"]
    message = _error(_write(tmp_path, data))
    where = r"service_types\.shelter_dv\.target_groups\[0\] \(line \d+\)"
    assert re.search(where + r": unknown target group 'victim'", message)
    assert "did you mean 'victims'?" in message
    assert "define 'victim' there with its rate and source" in message


@pytest.mark.parametrize("rate", [1.5, 52, -0.1])
def test_rate_outside_zero_one(tmp_path: Path, rate: float) -> None:
    data = _minimal()
    data["target_groups"]["everyone"]["rate"] = rate
    message = _error(_write(tmp_path, data))
    assert "target_groups.everyone.rate (line" in message
    assert "out of range: must be a share of the whole population between 0 and 1" in message
    assert ("not a percentage" in message) if rate > 1 else ("cannot be negative" in message)


@pytest.mark.parametrize(
    ("section", "key", "value", "path"),
    [
        ("target_groups", "rate", "5%", "target_groups.everyone.rate"),
        ("target_groups", "rate", "0.05", "target_groups.everyone.rate"),
        (
            "service_types",
            "unit_cost_eur_per_place_year",
            "€3,000",
            "service_types.csw.unit_cost_eur_per_place_year",
        ),
        ("service_types", "catchment_m", "5 km", "service_types.csw.catchment_m"),
        ("service_types", "places_per_1000", True, "service_types.csw.places_per_1000"),
        ("service_types", "weight", "high", "service_types.csw.weight"),
    ],
)
def test_non_numeric_values(tmp_path: Path, section: str, key: str, value: Any, path: str) -> None:
    data = _minimal()
    entry = "everyone" if section == "target_groups" else "csw"
    data[section][entry][key] = value
    data["service_types"]["csw"]["catchment_source"] = "census"
    data["service_types"]["csw"]["places_per_1000_source"] = "census"
    data["service_types"]["csw"]["unit_cost_source"] = "census"
    message = _error(_write(tmp_path, data))
    assert f"{path} (line" in message
    assert "must be a number" in message
    assert "write a plain number" in message or "as a decimal without %" in message


@pytest.mark.parametrize(
    ("key", "value", "source_key"),
    [
        ("catchment_m", -500, "catchment_source"),
        ("catchment_m", 0, "catchment_source"),
        ("places_per_1000", -2, "places_per_1000_source"),
        ("unit_cost_eur_per_place_year", -1_000, "unit_cost_source"),
        ("weight", -1, None),
    ],
)
def test_negative_numbers(tmp_path: Path, key: str, value: float, source_key: str | None) -> None:
    data = _minimal()
    data["service_types"]["csw"][key] = value
    if source_key:
        data["service_types"]["csw"][source_key] = "census"
    message = _error(_write(tmp_path, data))
    assert f"service_types.csw.{key} (line" in message
    assert "out of range" in message
    assert "cannot be negative" in message or "greater than 0" in message


def test_non_finite_number(tmp_path: Path) -> None:
    path = tmp_path / "nan.yaml"
    text = yaml.safe_dump(_minimal(), allow_unicode=True, sort_keys=False).replace("rate: 1.0", "rate: .nan")
    path.write_text(text, encoding="utf-8")
    message = _error(path)
    assert "target_groups.everyone.rate (line" in message and "finite" in message


def test_missing_labels(tmp_path: Path) -> None:
    data = _minimal()
    del data["service_types"]["csw"]["label"]["sr"]
    del data["target_groups"]["victims"]["label"]
    message = _error(_write(tmp_path, data))
    where = r"service_types\.csw\.label\.sr \(in the block at line \d+\)"
    assert re.search(where + r": label in 'sr' is missing", message)
    assert "add `sr: <name>` under service_types.csw.label" in message
    assert "target_groups.victims.label" in message and "labels are missing" in message
    assert "add `label:` with one line per language (en, sq, sr)" in message


def test_empty_label_text(tmp_path: Path) -> None:
    data = _minimal()
    data["service_types"]["csw"]["label"]["sq"] = "  "
    message = _error(_write(tmp_path, data))
    assert "service_types.csw.label.sq (line" in message


def test_rate_without_a_source(tmp_path: Path) -> None:
    data = _minimal()
    del data["target_groups"]["everyone"]["source"]
    message = _error(_write(tmp_path, data))
    assert "target_groups.everyone.source" in message
    assert "the rate has no source" in message
    assert "add `source: <key>` naming an entry under `sources:`" in message


def test_value_without_a_source(tmp_path: Path) -> None:
    data = _minimal()
    data["service_types"]["csw"]["unit_cost_eur_per_place_year"] = 3_000
    message = _error(_write(tmp_path, data))
    assert "service_types.csw.unit_cost_source" in message
    assert "add `unit_cost_source: <key>`" in message


def test_unknown_source_key(tmp_path: Path) -> None:
    data = _minimal()
    data["target_groups"]["everyone"]["source"] = ["censsu"]
    message = _error(_write(tmp_path, data))
    assert "target_groups.everyone.source[0] (line" in message
    assert "unknown source 'censsu'" in message and "did you mean 'census'?" in message


def test_source_without_citation(tmp_path: Path) -> None:
    data = _minimal()
    data["sources"]["census"] = {"url": "https://example.org"}
    message = _error(_write(tmp_path, data))
    assert "sources.census.citation" in message and "is missing" in message


def test_estimate_without_derivation(tmp_path: Path) -> None:
    data = _minimal()
    data["target_groups"]["everyone"]["estimate"] = True
    message = _error(_write(tmp_path, data))
    assert "target_groups.everyone.derivation" in message
    assert "add `derivation:` with the arithmetic" in message


def test_missing_rate_key(tmp_path: Path) -> None:
    data = _minimal()
    del data["target_groups"]["victims"]["rate"]
    message = _error(_write(tmp_path, data))
    assert "target_groups.victims.rate" in message and "`rate: null`" in message


def test_unknown_keys_are_caught_with_a_suggestion(tmp_path: Path) -> None:
    data = _minimal()
    data["service_types"]["csw"]["catchmnet_m"] = 5_000
    data["target_groups"]["everyone"]["rates"] = 1
    data["servce_types"] = {}
    message = _error(_write(tmp_path, data))
    assert "service_types.csw.catchmnet_m (line" in message
    assert "unknown key 'catchmnet_m'" in message and "did you mean 'catchment_m'?" in message
    assert "target_groups.everyone.rates" in message and "did you mean 'rate'?" in message
    assert "servce_types (line" in message and "did you mean 'service_types'?" in message


def test_missing_section_and_empty_target_groups_list(tmp_path: Path) -> None:
    data = _minimal()
    del data["sources"]
    data["service_types"]["csw"]["target_groups"] = []
    data["target_groups"]["everyone"]["source"] = None
    message = _error(_write(tmp_path, data))
    assert "sources: required section 'sources' is missing" in message
    assert "service_types.csw.target_groups (line" in message and "no target group is listed" in message


def test_group_listed_twice_and_sensitive_mismatch(tmp_path: Path) -> None:
    data = _minimal()
    data["service_types"]["csw"]["target_groups"] = ["everyone", "everyone", "victims"]
    message = _error(_write(tmp_path, data))
    assert "service_types.csw.target_groups[1] (line" in message and "listed twice" in message
    assert "service_types.csw.sensitive" in message and "write `sensitive: true`" in message


def test_bad_key_names_and_booleans(tmp_path: Path) -> None:
    data = _minimal()
    data["service_types"]["Day Care"] = data["service_types"]["csw"]
    data["target_groups"]["victims"]["sensitive"] = "yes please"
    message = _error(_write(tmp_path, data))
    assert "service_types.Day Care" in message and "not a lower-case identifier" in message
    assert "target_groups.victims.sensitive (line" in message and "true or false" in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    data = _minimal()
    data["target_groups"]["everyone"]["rate"] = 2
    data["service_types"]["csw"]["catchmnet_m"] = 5_000
    data["service_types"]["shelter_dv"]["target_groups"] = ["victim"]
    message = _error(_write(tmp_path, data))
    assert "has 3 problems" in message
    assert message.count("\n  - ") == 3


def test_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    text = yaml.safe_dump(_minimal(), allow_unicode=True, sort_keys=False)
    text = text.replace("  everyone:\n", "  everyone:\n    rate: 0.5\n", 1)
    path.write_text(text, encoding="utf-8")
    message = _error(path)
    where = r"target_groups\.everyone\.rate \(line \d+\)"
    assert re.search(where + r": key written twice \(lines \d+ and \d+\)", message)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("sources:\n  census:\n    citation: [A census\ntarget_groups: {}\n", encoding="utf-8")
    message = _error(path)
    assert "is not valid YAML" in message
    assert re.search(r"line \d+, column \d+", message)
    path.write_text("sources:\n  a: 1\n b: 2\n", encoding="utf-8")
    message = _error(path)
    assert "line 3" in message


def test_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "tabs.yaml"
    path.write_text("sources:\n\tcensus: x\n", encoding="utf-8")
    message = _error(path)
    assert "line 2" in message and "spaces, not tabs" in message


@pytest.mark.parametrize("text", ["", "   \n\n", "# just a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    message = _error(path)
    assert "is empty" in message
    assert "write the keys sources, target_groups and service_types" in message


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, ["csw", "shelter_dv"]))
    assert "(top level): must be a mapping" in message


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    message = _error(missing)
    assert "not found" in message and "shipped names ['kosovo']" in message
    with pytest.raises(TaxonomyError, match="'kosova' not found"):
        load_taxonomy("kosova")


def test_folder_and_non_utf8(tmp_path: Path) -> None:
    assert "is a folder" in _error(tmp_path)
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Ferizaj\ndescription: Për\n".encode("latin-1"))
    assert "not UTF-8" in _error(path)


def test_unsupported_schema_version(tmp_path: Path) -> None:
    data = copy.deepcopy(_minimal())
    data["schema_version"] = 2
    message = _error(_write(tmp_path, data))
    assert "schema_version (line" in message and "write `schema_version: 1`" in message


# --------------------------------------------------------------------------------------------
# The schema README stays in step with the code and the shipped file
# --------------------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "socialmap" / "taxonomies" / "README.md"


def test_readme_skeleton_loads(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    path = tmp_path / "skeleton.yaml"
    path.write_text(re.sub(r"(?m)^   ", "", block.group(1)), encoding="utf-8")
    tax = load_taxonomy(path)
    assert tax.need_rates("home_care_elderly") == {"older_people_65plus": 0.12}


def test_readme_lists_every_kosovo_rate(kosovo: Taxonomy) -> None:
    text = README.read_text(encoding="utf-8")
    for key, group in kosovo.target_groups.items():
        assert f"`{key}`" in text
        if group.rate is not None and group.rate not in (1.0, 0.10):
            assert f"{group.rate:.7f}" in text, key


def test_label_without_a_language_follows_the_environment_like_everything_else(monkeypatch):
    from socialmap.taxonomy import load_taxonomy

    tax = load_taxonomy("kosovo")
    monkeypatch.setenv("SOCIALMAP_LANG", "sr")
    assert tax.label("csw") == "Centar za socijalni rad" == tax.label("csw", "sr")
    monkeypatch.setenv("SOCIALMAP_LANG", "sq")
    assert tax.label("csw") == "Qendra për Punë Sociale"


@pytest.mark.parametrize("name", taxonomy_module.available_taxonomies())
def test_libyaml_and_python_loaders_read_the_shipped_taxonomies_alike(name):
    from importlib import resources

    from socialmap.taxonomy import _line_index

    text = resources.files("socialmap").joinpath("taxonomies", f"{name}.yaml").read_text(encoding="utf-8")
    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert yaml.load(text, Loader=c_loader) == yaml.safe_load(text)
    python_nodes = yaml.compose(text, Loader=yaml.SafeLoader)
    assert _line_index(yaml.compose(text, Loader=c_loader)) == _line_index(python_nodes)


def test_entry_fields_are_checked_by_the_pydantic_models(tmp_path: Path) -> None:
    # The entries' own fields are pydantic v2 models (extra="forbid", strict, bounded numbers); each
    # error comes back at its key and line, in the taxonomy's own words.
    from socialmap import _taxonomy_schema as schema

    assert schema.GroupFields.model_config["extra"] == "forbid" and schema.GroupFields.model_config["strict"]
    data = _minimal()
    data["sources"]["census"]["url"] = 5
    data["sources"]["census"]["publisher"] = "KAS"
    data["service_types"]["csw"]["need_rate"] = {"everyone": 1.5}
    data["service_types"]["csw"]["need_rate_source"] = "census"
    data["service_types"]["csw"]["need_rate_estimate"] = "yes"
    data["target_groups"]["everyone"]["weight"] = float("inf")
    message = _error(_write(tmp_path, data))
    assert "has 5 problems" in message
    assert "sources.census.url (line" in message and "url must be non-empty text; found int 5" in message
    assert "sources.census.publisher (line" in message and "unknown key 'publisher'" in message
    assert "allowed keys here: citation, url, accessed, note." in message
    assert "service_types.csw.need_rate.everyone (line" in message
    assert "1.5 is out of range: must be a share of the target group between 0 and 1" in message
    assert "not a percentage" in message
    assert "service_types.csw.need_rate_estimate (line" in message and "true or false" in message
    assert "target_groups.everyone.weight (line" in message and "must be a finite number" in message


def test_the_models_know_every_key_of_the_schema_readme() -> None:
    from socialmap import _taxonomy_schema as schema

    readme_path = Path(__file__).parents[1] / "socialmap" / "taxonomies" / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    for model in (schema.SourceFields, schema.GroupFields, schema.ServiceFields):
        for key in model.model_fields:
            assert f"`{key}`" in readme or f"{key}:" in readme, (model.__name__, key)
