"""socialmap.columns: guessing a file's columns from the names people give them, and finding its header."""

from __future__ import annotations

import pandas as pd
import pytest

from socialmap import columns
from socialmap.columns import guess_columns, header_row, parse_columns
from socialmap.errors import SocialMapError
from socialmap.preview import preview_file


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (  # Albanian, as a Centre for Social Work's clerk writes them
            ["Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia", "Gjatësia"],
            {
                "Emri": "name",
                "Lloji i shërbimit": "service_type",
                "Kapaciteti": "capacity",
                "Gjerësia": "lat",
                "Gjatësia": "lon",
            },
        ),
        (  # Serbian Latin
            ["Šifra", "Naziv", "Vrsta usluge", "Kapacitet", "Širina", "Dužina"],
            {
                "Šifra": "service_id",
                "Naziv": "name",
                "Vrsta usluge": "service_type",
                "Kapacitet": "capacity",
                "Širina": "lat",
                "Dužina": "lon",
            },
        ),
        (  # English, any case and punctuation; a unit in parentheses
            ["Service ID", "NAME", "service-type", "Capacity (persons)", "Latitude", "Longitude"],
            {
                "Service ID": "service_id",
                "NAME": "name",
                "service-type": "service_type",
                "Capacity (persons)": "capacity",
                "Latitude": "lat",
                "Longitude": "lon",
            },
        ),
        (  # typed without diacritics, with stray spaces
            ["  emri ", "Lloji i sherbimit", "KAPACITETI", "gjeresia", "gjatesia"],
            {
                "  emri ": "name",
                "Lloji i sherbimit": "service_type",
                "KAPACITETI": "capacity",
                "gjeresia": "lat",
                "gjatesia": "lon",
            },
        ),
    ],
)
def test_services_headers_in_three_languages(headers, expected):
    guess = guess_columns(headers, "services")
    assert guess.mapping == expected
    assert guess.missing == ()  # service_id may be missing: ids are made from the rows
    assert guess.ambiguous == {}


def test_population_and_areas_headers():
    assert guess_columns(["Opština", "Stanovništvo"], "population").mapping == {
        "Opština": "name",
        "Stanovništvo": "population",
    }
    g = guess_columns(["Komuna", "Popullsia", "Viti", "Burimi"], "population")
    assert g.mapping == {
        "Komuna": "name",
        "Popullsia": "population",
        "Viti": "year",
        "Burimi": "population_source",
    }
    assert g.missing == ()
    assert guess_columns(["Kodi i komunës", "Emri", "Emri serbisht"], "areas").mapping == {
        "Kodi i komunës": "area_id",
        "Emri": "name",
        "Emri serbisht": "name_sr",
    }


def test_what_is_not_recognised_is_left_alone_and_missing_is_said():
    g = guess_columns(["Nr.", "Emri", "Shënime"], "services")
    assert g.mapping == {"Emri": "name"}
    assert set(g.missing) == {"service_type", "capacity", "lat", "lon"}
    # With a geometry, services need no coordinate columns.
    assert set(guess_columns(["Emri"], "services", geometry=True).missing) == {"service_type", "capacity"}
    assert guess_columns(["Numri"], "population").missing == ("area_id", "population")


def test_two_candidates_for_one_column_are_not_guessed():
    g = guess_columns(["Emri", "Naziv", "Popullsia"], "population")
    assert g.ambiguous == {"name": ("Emri", "Naziv")}
    assert g.mapping == {"Popullsia": "population"}
    assert g.missing == ("area_id",)
    # The contract's own name wins over a synonym, and a name in full over one without its unit.
    assert guess_columns(["name", "Emri"], "services").mapping == {"name": "name"}
    assert guess_columns(["Kapaciteti (persona)", "Kapaciteti"], "services").mapping == {
        "Kapaciteti": "capacity"
    }


def test_template_headers_in_every_language_are_synonyms():
    from socialmap.i18n import t

    for kind, headers in columns.TEMPLATE_HEADERS.items():
        for lang in ("en", "sq", "sr"):
            written = {t(text, lang): ours for ours, text in headers.items()}
            assert guess_columns(list(written), kind).mapping == written, (kind, lang)
            for header, ours in written.items():
                # Guessing reads no catalog: a new translation of a template header goes into SYNONYMS.
                known = {columns.normalise_header(n) for n in (ours, *columns.SYNONYMS[kind].get(ours, ()))}
                assert lang == "en" or columns.normalise_header(header) in known, (
                    f"add {header!r} to columns.SYNONYMS[{kind!r}][{ours!r}]"
                )


def test_guessing_parses_no_catalog(monkeypatch):
    from socialmap import i18n

    parsed: list[str] = []
    monkeypatch.setattr(i18n, "_catalog", lambda lang: parsed.append(lang) or {})
    columns._synonyms.cache_clear()
    columns._all_known.cache_clear()
    try:
        assert header_row([["Emri", "Popullsia"], ["Gjakovë", "1"]]) == 0
        assert guess_columns(["Emri", "Kapaciteti", "shenim"], "services").mapping == {
            "Emri": "name",
            "Kapaciteti": "capacity",
        }
        assert parsed == []
    finally:
        columns._synonyms.cache_clear()
        columns._all_known.cache_clear()


def test_guess_kind_from_names():
    assert (
        columns.guess_kind(["Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia", "Gjatësia"]) == "services"
    )
    assert columns.guess_kind(["Opština", "Stanovništvo"]) == "population"
    assert columns.guess_kind(["a", "b"]) is None


def test_header_row_below_a_title():
    nan = float("nan")
    title = ["Lista e shërbimeve sociale – Gjakovë, 2024", nan, nan, nan]
    header = ["Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia"]
    data = ["QPS Gjakovë", "Qendra për Punë Sociale", "12", "42,38"]
    assert header_row([header, data]) == 0
    assert header_row([title, header, data]) == 1
    assert header_row([title, ["Burimi: QPS", nan, nan, nan], header, data]) == 2
    # Unknown column names below a title row: the title row (one filled cell) is skipped.
    assert header_row([title, ["a", "b", "c", "d"], ["1", "2", "3", "4"]]) == 1
    # A first row of unknown names is kept when no lower row reads better.
    assert header_row([["a", "b"], ["1", "2"]]) == 0
    # A one-column table is not a title.
    assert header_row([["only"], ["1"]]) == 0


def test_parse_columns():
    assert parse_columns("Emri=name, Lloji i shërbimit = service_type") == {
        "Emri": "name",
        "Lloji i shërbimit": "service_type",
    }
    assert parse_columns('"Kapaciteti, persona"=capacity') == {"Kapaciteti, persona": "capacity"}
    assert parse_columns("") == {} and parse_columns(None) == {}
    with pytest.raises(SocialMapError, match="'Emri' is not written their=ours"):
        parse_columns("Emri")
    with pytest.raises(SocialMapError, match="'=name' is not written"):
        parse_columns("=name")


def test_preview_of_a_file_with_a_title_row(tmp_path):
    path = tmp_path / "sherbimet.csv"
    path.write_text(
        "Lista e shërbimeve;;;;\n"
        "Emri;Lloji i shërbimit;Kapaciteti;Gjerësia;Gjatësia\n"
        "QPS Gjakovë;Qendra për Punë Sociale;;42,38;20,43\n"
        "Qendra ditore;Qendër ditore për personat me aftësi të kufizuara;25;42,39;20,44\n",
        encoding="utf-8",
    )
    p = preview_file(path)
    assert p.kind == "services" and p.header_row == 2
    assert p.columns == ("Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia", "Gjatësia")
    assert len(p.rows) == 2 and p.rows.loc[1, "Kapaciteti"] == "25"
    mapped = p.mapped()
    assert list(mapped.columns) == ["name", "service_type", "capacity", "lat", "lon"]
    assert mapped.loc[0, "name"] == "QPS Gjakovë"
    # Another mapping, e.g. chosen in the app; "" keeps a column out.
    other = p.mapped({"Emri": "name", "Kapaciteti": ""})
    assert list(other.columns) == ["name"]


def test_preview_of_a_vector_file_has_no_header_row(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "areas.geojson"
    gpd.GeoDataFrame({"Kodi": ["1"], "Emri": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(path)
    p = preview_file(path)
    assert p.kind == "areas" and p.header_row is None and p.geometry
    assert p.guess.mapping == {"Kodi": "area_id", "Emri": "name"}
    assert isinstance(p.rows, pd.DataFrame) and "geometry" not in p.rows.columns


def _header_row_scored(rows):
    """header_row as its docstring says, every row scored (a reference without the first-row shortcut)."""
    known = columns._all_known()

    def score(row):
        return sum(
            any(f in known for f in columns._forms(v)) for v in row if isinstance(v, str) and v.strip()
        )

    scores = [score(r) for r in rows]
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    if scores[best] >= 2 and scores[best] > scores[0]:
        return best
    filled = [sum(not columns._blank(v) for v in r) for r in rows]
    position = 0
    while position < len(rows) - 1 and filled[position] == 1 and max(filled) > 1:
        position += 1
    return position


def test_header_row_finds_the_row_every_row_scored_finds():
    nan = float("nan")
    contract = ["service_id", "name", "service_type", "capacity", "lon", "lat"]
    header = ["Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia"]
    data = ["QPS Gjakovë", "Qendra për Punë Sociale", "12", "42,38"]
    cases = [
        [contract, ["s1", "QPS", "csw", 12, 20.1, 42.3]],
        [contract, ["s1", "QPS", "csw", 12, 20.1, 42.3, "a wider row"]],
        [["name", nan, "capacity"], ["a", "b", "c"]],
        [["name"], ["x"]],
        [["name"], ["name", "capacity"]],
        [["Title", nan, nan, nan], header, data],
        [header, data],
        [["a", "b"], header, data],
        [[" ", "name", 3], ["name", "capacity", "lat"]],
        [["name", "population"], ["name", "population"], ["Gjakovë", 1]],
    ]
    for rows in cases:
        assert header_row(rows) == _header_row_scored(rows), rows
