"""Tests of socialmap.names: normalisation, safe matching, alias tables, the error helper.

Expected values are written by hand from ../shared/data/kosovo/name_matching.md and municipalities.csv.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socialmap.errors import ValidationError
from socialmap.names import (
    RESULT_COLUMNS,
    definite_form_key,
    display_name,
    kosovo_aliases,
    localised_names,
    match,
    normalise_name,
    read_aliases,
    require_all_matched,
)

GB_ADM2 = "geoboundaries/geoBoundaries-XKX-ADM2_simplified.geojson"


# ----------------------------------------------------------------------------- real data helpers


@pytest.fixture(scope="module")
def municipalities(shared_kosovo: Path) -> pd.DataFrame:
    return pd.read_csv(shared_kosovo / "municipalities.csv", dtype=str)


@pytest.fixture(scope="module")
def gb_names(shared_kosovo: Path) -> list[str]:
    """The 38 shapeNames of the real geoBoundaries ADM2 file (names only, no geometry)."""
    with open(shared_kosovo / GB_ADM2, encoding="utf-8") as f:
        return [feature["properties"]["shapeName"] for feature in json.load(f)["features"]]


# Hand-picked subset of the geoBoundaries names, for tests that need no data folder.
GB_SAMPLE = [
    "Municipality of Drenas",
    "Municipality of Gjakova",
    "Municipality of Mitrovica",
    "Municipality of North Mitrovica",
    "Municipality of Peja",
    "Municipality of Pristina",
    "Municipality of Prizren",
    "Municipality of Skenderaj",
    "Municipality of Zveçan",
    "Municipality of Gracanica",
    "Municipality of Han i Elezit",
    "Municipality of Ferizaj",
    "Municipality of Istog",
    "Municipality of Viti",
]


# ----------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Municipality of Fushë Kosovë", "fushe kosove"),
        ("Komuna e Graçanicës", "gracanices"),
        ("Opština Uroševac", "urosevac"),
        ("Općina Peć", "pec"),
        ("Komuna Gjilan", "gjilan"),
        ("Prizren Municipality", "prizren"),
        ("Đakovica", "djakovica"),
        ("Ђаковица", "djakovica"),
        ("Приштина", "pristina"),
        ("  Hani  i   Elezit ", "hani i elezit"),
        ("Zveçan", "zvecan"),
        ("Štrpce", "strpce"),
        ("Mitrovicë e Veriut", "mitrovice e veriut"),
        ("Suva-Reka", "suva reka"),
        ("Municipality of", ""),
        ("Municipality", ""),
        ("", ""),
    ],
)
def test_normalise_name(raw, expected):
    assert normalise_name(raw) == expected


def test_normalised_prefix_keeps_names_that_only_start_like_one():
    # Prefixes are whole words: "Komunaville" does not start with "Komuna".
    assert normalise_name("Komunaville") == "komunaville"


@pytest.mark.parametrize(
    ("a", "b"),
    [("Gjakova", "Gjakovë"), ("Peja", "Pejë"), ("Gracanica", "Graçanicë"), ("Han i Elezit", "Hani i Elezit")],
)
def test_definite_form_key_joins_albanian_forms(a, b):
    assert definite_form_key(normalise_name(a)) == definite_form_key(normalise_name(b))


def test_definite_form_key_keeps_north_and_south_mitrovica_apart():
    assert definite_form_key(normalise_name("Mitrovica")) == "mitrovic"
    assert definite_form_key(normalise_name("Mitrovicë e Veriut")) == "mitrovic e veriut"
    assert definite_form_key(normalise_name("North Mitrovica")) == "north mitrovic"


def test_definite_form_keys_of_the_38_albanian_names_are_distinct(municipalities):
    keys = {definite_form_key(normalise_name(n)) for n in municipalities["name_sq"]}
    assert len(keys) == 38


# ----------------------------------------------------------------------------- real data: 38/38


@pytest.mark.parametrize("column", ["name_sq", "name_sr_latn", "name_en"])
def test_real_names_match_geoboundaries_38_of_38(municipalities, gb_names, column):
    result = match(municipalities[column], gb_names, aliases=kosovo_aliases())
    assert len(result) == 38
    assert (result["status"] == "matched").all(), result.loc[result["status"] != "matched", "note"].tolist()
    assert result["key"].tolist() == municipalities["gb_adm2_shapeName"].tolist()
    assert result["match"].tolist() == municipalities["gb_adm2_shapeName"].tolist()


def test_albanian_names_without_aliases_make_no_wrong_match(municipalities, gb_names):
    result = match(municipalities["name_sq"], gb_names)
    truth = municipalities["gb_adm2_shapeName"]
    matched = result["status"] == "matched"
    assert (result.loc[matched, "key"] == truth[matched]).all()
    # name_matching.md: 25 names are equal once "Municipality of " is removed; of the 13 that need an
    # alias, 11 are Albanian definite forms (or ASCII-folded + definite) the generic rule finds, and
    # "Pristina" (English exonym) and "North Mitrovica" (English) need the alias table.
    assert (result["method"] == "normalised").sum() == 25
    assert (result["method"] == "definite-form").sum() == 11
    assert result.loc[~matched, "name"].tolist() == ["Prishtinë", "Mitrovicë e Veriut"]
    assert result.loc[~matched, "status"].tolist() == ["unmatched", "unmatched"]
    prishtine = result.loc[result["name"] == "Prishtinë", "candidates"].item()
    assert prishtine[0] == "Municipality of Pristina"


def test_definite_forms_from_name_matching_md(gb_names):
    inputs = ["Gjakovë", "Klinë", "Kamenicë", "Mitrovicë", "Pejë", "Podujevë", "Suharekë"]
    inputs += ["Malishevë", "Hani i Elezit", "Mamushë", "Graçanicë"]
    result = match(inputs, gb_names)
    assert result["method"].tolist() == ["definite-form"] * 11
    assert result["key"].tolist() == [
        "Municipality of Gjakova",
        "Municipality of Klina",
        "Municipality of Kamenica",
        "Municipality of Mitrovica",
        "Municipality of Peja",
        "Municipality of Podujeva",
        "Municipality of Suhareka",
        "Municipality of Malisheva",
        "Municipality of Han i Elezit",
        "Municipality of Mamusha",
        "Municipality of Gracanica",
    ]


def test_geoboundaries_names_match_a_multilingual_reference_by_kas_code(shared_kosovo, municipalities):
    truth = pd.read_csv(shared_kosovo / "name_matching.csv", dtype=str)
    reference = municipalities[["kas_code", "name_sq", "name_sr_latn", "name_en"]]
    result = match(truth["gb_shapeName"], reference, key="kas_code")
    assert (result["status"] == "matched").all()
    assert result["key"].tolist() == truth["kas_code"].tolist()
    # The label is the first name column.
    assert result.loc[result["name"] == "Municipality of Pristina", "match"].item() == "Prishtinë"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Municipality of Gjakova", "Gjakova"),
        ("Municipality of North Mitrovica", "North Mitrovica"),
        ("Komuna e Prizrenit", "Prizrenit"),
        ("Opština Uroševac", "Uroševac"),
        ("Ferizaj Municipality", "Ferizaj"),
        ("  Pejë ", "Pejë"),
        ("Municipality", "Municipality"),
        ("Municipal Hall", "Municipal Hall"),
    ],
)
def test_display_name_drops_the_administrative_words_only(raw, shown):
    assert display_name(raw) == shown


def test_geoboundaries_areas_take_the_reference_names_in_every_language(shared_kosovo, municipalities):
    import socialmap

    truth = pd.read_csv(shared_kosovo / "name_matching.csv", dtype=str)
    areas = pd.DataFrame({"area_id": [f"GB{i}" for i in range(len(truth))], "name": truth["gb_shapeName"]})
    demo = socialmap.load_demo("kosovo")
    out = localised_names(areas, demo.areas, aliases=kosovo_aliases())
    assert out["name_sq"].tolist() == truth["name_sq"].tolist()  # the hand-made table's Albanian names
    serbian = municipalities.set_index("kas_code")["name_sr_latn"]
    assert out["name_sr"].tolist() == serbian.loc[truth["kas_code"]].tolist()
    assert not out["name"].str.contains("Municipality").any()
    assert out["area_id"].tolist() == areas["area_id"].tolist()  # ids are theirs


def test_areas_that_do_not_all_match_take_no_reference_names():
    import socialmap

    demo = socialmap.load_demo("kosovo")
    areas = pd.DataFrame(
        {"area_id": ["a", "b"], "name": ["Municipality of Gjakova", "Municipality of Tirana"]}
    )
    out = localised_names(areas, demo.areas, aliases=kosovo_aliases())
    assert out["name"].tolist() == ["Gjakova", "Tirana"] and "name_sq" not in out.columns


def test_each_language_finds_the_same_reference_row(municipalities):
    reference = municipalities[["kas_code", "name_sq", "name_sr_latn", "name_en"]].rename(
        columns={"kas_code": "area_id"}
    )
    inputs = ["Uroševac", "Ferizaj", "Peć", "Peja", "Pejë", "Kosovska Mitrovica", "North Mitrovica"]
    result = match(inputs, reference, one_to_one=False)
    assert result["key"].tolist() == ["25", "25", "17", "17", "17", "11", "38"]


def test_kosovo_alias_table_is_well_formed(municipalities):
    aliases = kosovo_aliases()
    assert list(aliases.columns) == ["alias", "name", "source"]
    assert set(aliases["name"]) <= set(municipalities["name_sq"])
    assert aliases["alias"].is_unique
    assert (aliases["source"].str.len() > 10).all()


# ----------------------------------------------------------------------------- variants


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("Gllogoc", "Municipality of Drenas"),
        ("Gllogovc", "Municipality of Drenas"),
        ("Glogovac", "Municipality of Drenas"),
        ("Gllogovci", "Municipality of Drenas"),
        ("Zveqan", "Municipality of Zveçan"),
        ("Uroševac", "Municipality of Ferizaj"),
        ("Opština Uroševac", "Municipality of Ferizaj"),
        ("Peć", "Municipality of Peja"),
        ("Pristina", "Municipality of Pristina"),
        ("Prishtina", "Municipality of Pristina"),
        ("Приштина", "Municipality of Pristina"),
        ("Đakovica", "Municipality of Gjakova"),
        ("Kosovska Mitrovica", "Municipality of Mitrovica"),
        ("Elez Han", "Municipality of Han i Elezit"),
    ],
)
def test_variants_match_with_kosovo_aliases(variant, expected):
    result = match([variant], GB_SAMPLE, aliases=kosovo_aliases())
    assert result["key"].tolist() == [expected]
    assert result["status"].tolist() == ["matched"]


def test_renamed_municipality_needs_the_alias_table():
    result = match(["Gllogoc", "Glogovac"], GB_SAMPLE)
    assert result["status"].tolist() == ["unmatched", "unmatched"]
    assert result["key"].isna().all()


def test_skenderaj_with_diaeresis_is_a_normalised_match():
    result = match(["Skënderaj"], GB_SAMPLE)
    assert result[["key", "method"]].values.tolist() == [["Municipality of Skenderaj", "normalised"]]


def test_exact_match_reports_exact():
    result = match(["Municipality of Zveçan"], GB_SAMPLE)
    assert result["method"].tolist() == ["exact"]
    assert result["score"].tolist() == [1.0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Komuna e Prizrenit", "Municipality of Prizren"),
        ("Komuna e Ferizajt", "Municipality of Ferizaj"),
        ("Komuna e Istogut", "Municipality of Istog"),
        ("Komuna e Vitisë", "Municipality of Viti"),
        ("Komuna e Pejës", "Municipality of Peja"),
    ],
)
def test_albanian_genitive_after_komuna_e(name, expected):
    result = match([name], GB_SAMPLE)
    assert result[["key", "method"]].values.tolist() == [[expected, "genitive"]]


def test_komuna_e_prishtines_needs_the_alias_for_pristina():
    # Genitive of Prishtinë: the English "Pristina" (no 'h') is only known through the alias table.
    assert match(["Komuna e Prishtinës"], GB_SAMPLE)["status"].tolist() == ["unmatched"]
    with_aliases = match(["Komuna e Prishtinës"], GB_SAMPLE, aliases=kosovo_aliases())
    assert with_aliases[["key", "method"]].values.tolist() == [["Municipality of Pristina", "genitive"]]


def test_genitive_is_only_tried_after_komuna_e():
    # Without the prefix that calls for the genitive, "Prizrenit" is not stripped to "Prizren"; the
    # spelling is close enough for a fuzzy match, which says so.
    result = match(["Prizrenit"], GB_SAMPLE)
    assert result["method"].tolist() == ["fuzzy"]


def test_parenthesised_alternative_names():
    reference = ["Deçan", "Fushë Kosovë", "Hani i Elezit", "Mitrovicë", "Mitrovicë e Veriut"]
    inputs = ["Deçan (Dečani)", "Fushë Kosova (Kosovo Polje)", "Elez Han (Đeneral Janković)"]
    result = match(inputs, reference, aliases=kosovo_aliases())
    assert result["key"].tolist() == ["Deçan", "Fushë Kosovë", "Hani i Elezit"]
    slash = match(["Pejë/Peć", "Peć / Peja"], ["Pejë", "Prizren"], one_to_one=False)
    assert slash["key"].tolist() == ["Pejë", "Pejë"]


# ----------------------------------------------------------------------------- Mitrovica


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mitrovica", "Municipality of Mitrovica"),
        ("Mitrovicë", "Municipality of Mitrovica"),
        ("Mitrovicë e Jugut", "Municipality of Mitrovica"),
        ("South Mitrovica", "Municipality of Mitrovica"),
        ("Kosovska Mitrovica", "Municipality of Mitrovica"),
        ("Komuna e Mitrovicës", "Municipality of Mitrovica"),
        ("North Mitrovica", "Municipality of North Mitrovica"),
        ("Mitrovicë e Veriut", "Municipality of North Mitrovica"),
        ("Mitrovica e Veriut", "Municipality of North Mitrovica"),
        ("Mitrovica Veriore", "Municipality of North Mitrovica"),
        ("Severna Kosovska Mitrovica", "Municipality of North Mitrovica"),
        # not in any table: left unmatched rather than guessed
        ("Mitrovica (North)", None),
        ("Mitrovica North", None),
        ("Mitrovica (South)", None),
    ],
)
def test_mitrovica_south_and_north_are_never_confused(name, expected):
    result = match([name], GB_SAMPLE, aliases=kosovo_aliases())
    assert result["key"].tolist() == [expected]


@pytest.mark.parametrize("aliases", [None, "kosovo"])
@pytest.mark.parametrize(
    "name",
    [
        "North Mitrovica",
        "Mitrovicë e Veriut",
        "Mitrovica e Veriut",
        "Mitrovica Veriore",
        "Severna Kosovska Mitrovica",
        "Mitrovica (North)",
        "Mitrovica North",
        "Komuna e Mitrovicës së Veriut",
    ],
)
def test_a_northern_name_never_falls_back_to_south_mitrovica(name, aliases):
    table = kosovo_aliases() if aliases else None
    result = match([name], ["Municipality of Mitrovica", "Municipality of Prizren"], aliases=table)
    assert result["key"].tolist() == [None]
    assert result["status"].tolist() == ["unmatched"]


@pytest.mark.parametrize("aliases", [None, "kosovo"])
@pytest.mark.parametrize(
    "name",
    ["Mitrovica", "Mitrovicë", "South Mitrovica", "Mitrovicë e Jugut", "Kosovska Mitrovica", "Mitrovic"],
)
def test_a_southern_name_never_falls_back_to_north_mitrovica(name, aliases):
    table = kosovo_aliases() if aliases else None
    result = match([name], ["Municipality of North Mitrovica", "Municipality of Prizren"], aliases=table)
    assert result["key"].tolist() == [None]


# ----------------------------------------------------------------------------- fuzzy, ambiguity


def test_clear_fuzzy_match_is_accepted_and_scored():
    result = match(["Prizrenn"], GB_SAMPLE)
    row = result.iloc[0]
    assert (row["key"], row["method"], row["status"]) == ("Municipality of Prizren", "fuzzy", "matched")
    # "prizrenn" vs "prizren": 2 * 7 / 15
    assert row["score"] == pytest.approx(14 / 15, abs=1e-4)


def test_fuzzy_can_be_switched_off():
    result = match(["Prizrenn"], GB_SAMPLE, threshold=1.01)
    assert result["status"].tolist() == ["unmatched"]
    assert result["candidates"][0][0] == "Municipality of Prizren"


def test_ambiguous_fuzzy_match_comes_back_unmatched():
    # "lipovic" is 6/7 similar to both.
    result = match(["Lipovic"], ["Lipovac", "Lipovec"])
    assert result["status"].tolist() == ["ambiguous"]
    assert result["key"].tolist() == [None]
    assert sorted(result["candidates"][0]) == ["Lipovac", "Lipovec"]


def test_fuzzy_needs_a_margin_over_the_runner_up():
    # "prizrenn" vs "prizren": 14/15 = 0.933; vs "prizrem": 12/15 = 0.8; a lead of 0.133.
    assert match(["Prizrenn"], ["Prizren", "Prizrem"])["key"].tolist() == ["Prizren"]
    result = match(["Prizrenn"], ["Prizren", "Prizrem"], margin=0.2)
    assert result["status"].tolist() == ["ambiguous"]


def test_same_name_for_two_reference_areas_is_ambiguous():
    reference = pd.DataFrame({"area_id": ["A", "B", "C"], "name": ["Novo Selo", "Novo Selo", "Prizren"]})
    result = match(["Novo Selo", "Prizren"], reference)
    assert result["status"].tolist() == ["ambiguous", "matched"]
    assert result["candidates"][0] == ["Novo Selo", "Novo Selo"]


def test_unmatched_names_come_back_with_candidates():
    result = match(["Xyzzy", "Gjakovo"], GB_SAMPLE, threshold=0.95)
    assert result["status"].tolist() == ["unmatched", "unmatched"]
    assert len(result["candidates"][0]) == 3
    assert result["candidates"][1][0] == "Municipality of Gjakova"
    assert "closest" in result["note"][1]


def test_n_candidates():
    result = match(["Xyzzy"], GB_SAMPLE, n_candidates=2)
    assert len(result["candidates"][0]) == 2


# ----------------------------------------------------------------------------- conflicts


def test_two_names_for_one_area_are_a_conflict():
    result = match(["Peja", "Pejë", "Prizren"], GB_SAMPLE)
    assert result["status"].tolist() == ["conflict", "conflict", "matched"]
    assert result["key"].tolist() == [None, None, "Municipality of Prizren"]
    assert result["candidates"][0] == ["Municipality of Peja"]
    assert result["note"][0] == "'Peja', 'Pejë' all match 'Municipality of Peja' (key 'Municipality of Peja')"


def test_repeated_name_is_a_conflict():
    result = match(["Prizren", "Prizren"], GB_SAMPLE)
    assert result["status"].tolist() == ["conflict", "conflict"]


def test_many_to_one_allowed_when_asked():
    result = match(["Peja", "Pejë"], GB_SAMPLE, one_to_one=False)
    assert result["key"].tolist() == ["Municipality of Peja", "Municipality of Peja"]


# ----------------------------------------------------------------------------- input shapes


def test_empty_input():
    result = match([], GB_SAMPLE)
    assert result.empty
    assert list(result.columns) == list(RESULT_COLUMNS)


def test_empty_reference_leaves_everything_unmatched():
    result = match(["Prizren"], [])
    assert result["status"].tolist() == ["unmatched"]
    assert result["candidates"][0] == []


def test_non_string_inputs_are_invalid_rows():
    inputs = [np.nan, None, 12, 3.5, "", "   ", "Municipality of", "Prizren"]
    result = match(inputs, GB_SAMPLE)
    assert result["status"].tolist() == ["invalid"] * 7 + ["matched"]
    assert result["note"][0] == "missing name (empty cell)"
    assert result["note"][2] == "not text: 12 (int)"
    assert result["note"][4] == "empty name"
    assert result["note"][6] == (
        "no name left in 'Municipality of' once punctuation and administrative words are removed"
    )


def test_series_input_keeps_index_and_order():
    names = pd.Series(["Prizren", "Peja", "Istog"], index=[10, 5, 7])
    result = match(names, GB_SAMPLE)
    assert result.index.tolist() == [10, 5, 7]
    assert result["name"].tolist() == ["Prizren", "Peja", "Istog"]
    assert list(result.columns) == list(RESULT_COLUMNS)


def test_a_single_string_is_refused():
    with pytest.raises(ValidationError, match="Wrap a single name in a list"):
        match("Prizren", GB_SAMPLE)


def test_reference_as_mapping_and_series():
    mapping = {"20": "Prizren", "17": ["Pejë", "Peć", "Peja"]}
    assert match(["Peć", "Prizren"], mapping)["key"].tolist() == ["17", "20"]
    series = pd.Series(["Prizren", "Pejë"], index=["20", "17"])
    assert match(["Peja"], series)["key"].tolist() == ["17"]


def test_dataframe_reference_uses_area_id_and_skips_missing_names():
    reference = pd.DataFrame(
        {
            "area_id": ["17", "20"],
            "name": ["Pejë", "Prizren"],
            "name_sr": ["Peć", None],
            "population": [1, 2],
        }
    )
    assert match(["Peć", "Prizren"], reference)["key"].tolist() == ["17", "20"]


def test_reference_problems_are_reported_together():
    with pytest.raises(ValidationError) as info:
        match(["x"], ["Prizren", "Prizren", 5])
    messages = [p.message for p in info.value.problems]
    assert any("more than once" in m for m in messages)
    assert any("not text" in m for m in messages)


def test_reference_dataframe_errors():
    frame = pd.DataFrame({"id": ["1"], "label": ["Prizren"]})
    with pytest.raises(ValidationError, match="name_columns"):
        match(["Prizren"], frame)
    with pytest.raises(ValidationError, match="key column 'code'"):
        match(["Prizren"], frame, key="code", name_columns=["label"])
    assert match(["Prizren"], frame, key="id", name_columns=["label"])["key"].tolist() == ["1"]


def test_alias_table_errors():
    with pytest.raises(ValidationError, match="missing column"):
        match(["x"], GB_SAMPLE, aliases=pd.DataFrame({"other": ["a"]}))
    with pytest.raises(ValidationError, match="not a pair of names"):
        match(["x"], GB_SAMPLE, aliases={"Gllogoc": None})


def test_alias_mapping_any_language():
    result = match(["Gllogoc"], ["Drenas", "Prizren"], aliases={"Gllogoc": "Drenas"})
    assert result[["key", "method"]].values.tolist() == [["Drenas", "alias"]]


def test_alias_group_that_fits_two_areas_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="more than one reference area"):
        result = match(["Xanadu"], ["Peja", "Prizren"], aliases={"Xanadu": "Peja", "Peja": "Prizren"})
    # alias group "Prizren" = {Prizren, Peja} fits two areas and is dropped; "Xanadu" -> "Peja" stays.
    assert result["key"].tolist() == ["Peja"]


def test_read_aliases(tmp_path):
    path = tmp_path / "aliases.csv"
    path.write_text("# comment line\nalias,name,source\nGllogoc,Drenas,KAS\n", encoding="utf-8")
    table = read_aliases(path)
    assert table.to_dict("records") == [{"alias": "Gllogoc", "name": "Drenas", "source": "KAS"}]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="alias"):
        read_aliases(bad)


# ----------------------------------------------------------------------------- require_all_matched


def test_require_all_matched_passes_through():
    result = match(["Prizren", "Peja"], GB_SAMPLE)
    assert require_all_matched(result) is result


def test_require_all_matched_lists_every_problem():
    result = match(
        ["Prizren", "Xyzzy", np.nan, "Lipovic", "Peja", "Pejë"], GB_SAMPLE + ["Lipovac", "Lipovec"]
    )
    with pytest.raises(ValidationError) as info:
        require_all_matched(result, file="population.csv", column="municipality", first_row=2)
    problems = info.value.problems
    assert [p.row for p in problems] == [3, 4, 5, 6, 7]
    assert {p.file for p in problems} == {"population.csv"}
    assert {p.column for p in problems} == {"municipality"}
    assert "'Xyzzy' matches no area name; closest:" in problems[0].message
    assert "missing name" in problems[1].message
    assert "'Lipovac'" in problems[2].message and "'Lipovec'" in problems[2].message
    assert problems[3].message.startswith("'Peja' matches the same area as row(s) 7: ")
    assert problems[4].message.startswith("'Pejë' matches the same area as row(s) 6: ")
    text = str(info.value)
    assert text.startswith("5 problems found:")


def test_require_all_matched_refuses_other_frames():
    with pytest.raises(ValidationError, match="socialmap.names.match"):
        require_all_matched(pd.DataFrame({"name": ["x"]}))


def test_result_scores_are_float_and_nan_when_unmatched():
    result = match(["Prizren", "Xyzzy"], GB_SAMPLE)
    assert result["score"].dtype == float
    assert result["score"][0] == 1.0
    assert math.isnan(result["score"][1])
