"""XLSX templates: headers and service types in the chosen language, drop-downs, instructions; filled in,
they go back in with no mapping."""

from __future__ import annotations

import io
import warnings

import openpyxl
import pandas as pd
import pytest
from worlds import square_areas

from socialmap import load_demo
from socialmap.i18n import t
from socialmap.io import read_population, read_services
from socialmap.templates import population_template, services_template


@pytest.fixture(scope="module")
def demo():
    return load_demo("kosovo")


@pytest.mark.parametrize("lang", ["en", "sq", "sr"])
def test_services_template_filled_in_goes_in_with_no_mapping(lang, demo, tmp_path):
    data = services_template(demo.taxonomy, lang=lang)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet, types, instructions = book.worksheets
    headers = [c.value for c in sheet[1]]
    assert headers == [
        t(h, lang)
        for h in ("Service code", "Name of the service", "Service type", "Capacity", "Latitude", "Longitude")
    ]
    if lang == "sq":
        assert headers[2:4] == ["Lloji i shërbimit", "Kapaciteti"]
    # The drop-down lists the taxonomy's types by their names in this language.
    listed = [types.cell(row=i, column=1).value for i in range(2, 2 + len(demo.taxonomy.service_type_keys))]
    assert listed == [demo.taxonomy.label(k, lang) for k in demo.taxonomy.service_type_keys]
    rules = {str(r.sqref): r for r in sheet.data_validations.dataValidation}
    assert rules["C2:C1001"].type == "list" and rules["C2:C1001"].formula1.endswith("!$A$2:$A$8")
    assert rules["D2:D1001"].type == "whole" and rules["E2:E1001"].type == "decimal"
    assert instructions.cell(row=1, column=1).value == t("How to fill in the list of services", lang)
    # Filled in as a person does: names picked from the drop-down, one capacity unknown, no code.
    rows = [
        (None, "QPS Gjakovë", listed[0], 12, 42.38, 20.43),
        (None, "Qendra ditore", listed[1], 25, 42.39, 20.44),
        ("own-7", "Kujdesi në shtëpi", listed[2], None, 42.66, 21.16),
    ]
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / "filled.xlsx"
    book.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        services = read_services(path, taxonomy=demo.taxonomy, areas=demo.areas)
    assert services["service_type"].tolist() == list(demo.taxonomy.service_type_keys[:3])
    assert services["capacity"].tolist()[:2] == [12.0, 25.0] and pd.isna(services["capacity"].iloc[2])
    assert services["service_id"].iloc[2] == "own-7" and services["service_id"].iloc[0].startswith("svc-")
    assert services.geometry.x.tolist() == pytest.approx([20.43, 20.44, 21.16])
    assert len(caught) == 1  # a warning (what was read as what), never an error


@pytest.mark.parametrize("lang", ["en", "sq", "sr"])
def test_population_template_lists_the_areas_and_goes_back_in(lang, demo, tmp_path):
    data = population_template(demo.areas, lang=lang, year=2024)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == [
        t(h, lang) for h in ("Municipality code", "Municipality", "Population", "Year", "Source")
    ]
    codes = [sheet.cell(row=i, column=1).value for i in range(2, 40)]
    names = [sheet.cell(row=i, column=2).value for i in range(2, 40)]
    assert codes == demo.areas["area_id"].tolist()
    gjakova = names[codes.index("02")]
    assert gjakova == {"en": "Gjakova", "sq": "Gjakovë", "sr": "Đakovica"}[lang]
    assert all(sheet.cell(row=i, column=3).value is None for i in range(2, 40))
    # Filled in, Kaçanik and Shtime left blank.
    for i in range(2, 40):
        if codes[i - 2] not in {"07", "22"}:  # Kaçanik, Shtime
            sheet.cell(row=i, column=3, value=1000 + i)
    path = tmp_path / "pop.xlsx"
    book.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        pop = read_population(path, areas=demo.areas)
    assert pop["area_id"].tolist() == codes and pop["population"].isna().sum() == 2
    assert pop["year"].eq(2024).all()
    assert "Kaçanik" in str(caught[0].message) and "Shtime" in str(caught[0].message)


def test_templates_are_the_same_bytes_each_time_and_text_is_never_a_formula(tmp_path):
    areas = square_areas().assign(name=['=HYPERLINK("x")', "B", "C", "D"])
    one = population_template(areas, lang="en", path=tmp_path / "p.xlsx")
    assert one == population_template(areas, lang="en") == (tmp_path / "p.xlsx").read_bytes()
    cell = openpyxl.load_workbook(tmp_path / "p.xlsx").worksheets[0]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("'=")
    assert services_template(lang="sr") == services_template(lang="sr")


def test_cli_writes_the_templates(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SOCIALMAP_LANG": "en"}

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "socialmap.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    done = run("template", "services", "--out", str(tmp_path / "s.xlsx"), "--lang", "sr")
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx").worksheets[0]
    assert [c.value for c in sheet[1]][1:3] == ["Naziv usluge", "Vrsta usluge"]
    done = run("template", "population", "--demo", "kosovo", "--out", str(tmp_path / "p.xlsx"))
    assert done.returncode == 0 and openpyxl.load_workbook(tmp_path / "p.xlsx").worksheets[0].max_row == 39
    done = run("template", "population", "--out", str(tmp_path / "p.xlsx"))
    assert done.returncode == 2 and "--areas FILE or --demo kosovo" in done.stderr
