"""The `socialmap` command: exit codes, messages (never a traceback) and written files."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from socialmap.datasets import demo_files

ADM2 = "geoBoundaries-XKX-ADM2_simplified.geojson"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command line; in English unless ``env`` (or ``--lang``) says otherwise."""
    import os

    full_env = {**os.environ, "SOCIALMAP_LANG": "en", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "socialmap.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


def test_validate_accepts_the_demo_files():
    files = demo_files("kosovo")
    done = run("validate", str(files["areas"]), str(files["services"]), str(files["population"]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_validate_accepts_the_real_adm2_file(shared_kosovo):
    done = run("validate", str(shared_kosovo / "geoboundaries" / ADM2))
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_rejects_a_broken_file_with_row_column_and_fix(tmp_path):
    bad = tmp_path / "services.csv"
    bad.write_text(
        "service_id,name,service_type,capacity,lat,lon\n"
        "1,Qendra A,csw,ten,42.66,21.17\n"
        "2,Qendra B,spa,5,42.38,20.43\n",
        encoding="utf-8",
    )
    done = run("validate", str(bad))
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    # header is row 1, so the first data row is row 2 (as a spreadsheet shows it)
    assert re.search(r"error\s+2\s+capacity\s+'ten'", out)
    assert re.search(r"error\s+3\s+service_type\s+Unknown service_type 'spa'; valid types are: csw", out)
    assert "fix:" in out


def test_missing_file_is_a_message_not_a_traceback(tmp_path):
    done = run("validate", str(tmp_path / "nope.geojson"))
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    assert "nope.geojson" in done.stdout + done.stderr


def test_analyze_demo_writes_tables_and_map_that_tie_out(tmp_path):
    out = tmp_path / "out"
    done = run("analyze", "--demo", "kosovo", "--out", str(out), "--method", "2sfca")
    assert done.returncode == 0, done.stderr
    areas = gpd.read_file(out / "areas.gpkg", layer="areas")
    by_type = gpd.read_file(out / "areas.gpkg", layer="areas_by_service_type")
    table = pd.read_csv(out / "areas.csv", encoding="utf-8-sig", dtype={"area_id": str})
    assert len(areas) == 38 and areas["area_id"].is_unique
    assert len(table) == len(by_type) == 38 * table["service_type"].nunique()
    # Need ties out: csw serves the whole population, so its need summed over areas = total population.
    pop = pd.read_csv(demo_files("kosovo")["population"], dtype={"area_id": str})
    csw = table[table["service_type"] == "csw"]
    assert pd.to_numeric(csw["need"]).sum() == pytest.approx(pop["population"].sum(), rel=1e-9)
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "schematic boundaries" in html
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert prov["method"] == "2sfca" and prov["population_year"]


def test_analyze_on_the_real_adm2_boundaries_ties_out(tmp_path, shared_kosovo):
    out = tmp_path / "out"
    done = run(
        "analyze",
        "--demo",
        "kosovo",
        "--areas",
        str(shared_kosovo / "geoboundaries" / ADM2),
        "--out",
        str(out),
        "--service-type",
        "csw",
        "--service-type",
        "day_care_disability",
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "areas.csv", encoding="utf-8-sig", dtype={"area_id": str})
    pop = pd.read_csv(demo_files("kosovo")["population"], dtype={"area_id": str})
    csw = table[table["service_type"] == "csw"]
    assert sorted(csw["area_id"]) == sorted(pop["area_id"])
    assert pd.to_numeric(csw["need"]).sum() == pytest.approx(pop["population"].sum(), rel=1e-9)
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "geoBoundaries (CC BY-SA 2.0)" in html


def test_analyze_without_inputs_says_what_to_give(tmp_path):
    done = run("analyze", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "--demo kosovo" in done.stderr and "Traceback" not in done.stderr


def test_fetch_boundaries_from_a_local_server(shared_kosovo, serve_dir, tmp_path):
    base = serve_dir(shared_kosovo / "geoboundaries")
    env = {
        "SOCIALMAP_GEOBOUNDARIES_URL": base + "/geoBoundaries-{iso}-{level}_simplified.geojson",
        "SOCIALMAP_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = run("fetch-boundaries", "XKX", "--level", "ADM2", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cache" / "geoboundaries" / ADM2).is_file()
    assert "--areas" in done.stdout


def test_fetch_boundaries_offline_explains_the_manual_route(tmp_path):
    env = {
        "SOCIALMAP_GEOBOUNDARIES_URL": "http://127.0.0.1:9/{iso}-{level}.geojson",
        "SOCIALMAP_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = run("fetch-boundaries", "XKX", env=env)
    assert done.returncode == 2
    assert "--file" in done.stderr and "Traceback" not in done.stderr


def test_analyze_map_never_shows_shelter_locations(tmp_path):
    out = tmp_path / "out"
    done = run("analyze", "--demo", "kosovo", "--out", str(out), "--method", "coverage")
    assert done.returncode == 0, done.stderr
    services = pd.read_csv(demo_files("kosovo")["services"])
    html = (out / "map.html").read_text(encoding="utf-8")
    # The services' texts are in the page's data as JSON (\u00eb for ë): read them as the browser does.
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    shelters = services.loc[services["service_type"] == "shelter_dv", "name"]
    assert len(shelters) and not any(name in html for name in shelters)
    day_care = services.loc[services["service_type"] == "day_care_disability", "name"]
    assert all(name in html for name in day_care)


def test_map_brief_and_export_commands(tmp_path):
    png, pdf, xlsx = tmp_path / "day.png", tmp_path / "gjakova.pdf", tmp_path / "t.xlsx"
    done = run("map", "--demo", "kosovo", "--service-type", "day_care_disability", "--out", str(png))
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = run("brief", "--demo", "kosovo", "--area", "Gjakova", "--out", str(pdf))
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Gjakova" in text and "78,699" in text  # the municipality and its 2024 population
    done = run("export", "--demo", "kosovo", "--out", str(xlsx))
    assert done.returncode == 0, done.stderr
    assert xlsx.stat().st_size > 0
    bad = run("map", "--demo", "kosovo", "--out", str(tmp_path / "map.bmp"))
    assert bad.returncode == 2 and ".png" in bad.stderr and "Traceback" not in bad.stderr
    bad = run("brief", "--demo", "kosovo", "--area", "Atlantis", "--out", str(pdf))
    assert bad.returncode == 2 and "Atlantis" in bad.stderr and "Traceback" not in bad.stderr


def test_optimise_and_scenario_commands(tmp_path):
    done = run(
        "optimise",
        "--demo",
        "kosovo",
        "--service-type",
        "home_care_elderly",
        "--k",
        "2",
        "--out",
        str(tmp_path / "opt"),
    )
    assert done.returncode == 0, done.stderr
    assert "2 new sites" in done.stdout
    chosen = pd.read_csv(tmp_path / "opt" / "chosen_sites.csv", encoding="utf-8-sig")
    assert len(chosen) == 2
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "action,service_id,service_type,capacity,lon,lat\nadd,new1,day_care_disability,40,20.65,42.40\n",
        encoding="utf-8",
    )
    done = run(
        "scenario",
        "--demo",
        "kosovo",
        "--edits",
        str(plan),
        "--out",
        str(tmp_path / "sc"),
        "--service-type",
        "day_care_disability",
    )
    assert done.returncode == 0, done.stderr
    totals = pd.read_csv(tmp_path / "sc" / "scenarios_total.csv", encoding="utf-8-sig")
    assert len(totals)


# --- languages --------------------------------------------------------------------------------------


def test_every_command_has_a_lang_option():
    import typer.main

    from socialmap.cli import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        options = {opt for param in command.params for opt in param.opts}
        assert "--lang" in options, name
    assert set(group.commands) >= {
        "validate",
        "fetch-boundaries",
        "analyze",
        "map",
        "brief",
        "export",
        "optimise",
        "scenario",
    }


def test_lang_sq_prints_albanian_messages(tmp_path):
    done = run("analyze", "--out", str(tmp_path), "--lang", "sq")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    expected = "gabim: Jepni --demo kosovo, ose të treja: --areas, --services dhe --population."
    assert done.stderr.startswith(expected)
    done = run("validate", "--kind", "nonsense", "--lang=sr", str(tmp_path / "x.csv"))
    assert done.returncode == 2
    assert "greška: --kind 'nonsense' nije nijedno od: areas, services, population." in done.stderr


def test_the_default_language_comes_from_the_environment(tmp_path):
    done = run("analyze", "--out", str(tmp_path), env={"SOCIALMAP_LANG": "", "LANG": "sr_RS.UTF-8"})
    assert done.stderr.startswith("greška: Navedite --demo kosovo")
    help_text = run("map", "--help", env={"SOCIALMAP_LANG": "sq"}).stdout
    assert "Vizato një hartë të mungesave" in help_text and "Numri i klasave." in help_text


def test_map_command_in_albanian_writes_an_albanian_map(tmp_path):
    svg = tmp_path / "composite.svg"
    done = run("map", "--demo", "kosovo", "--out", str(svg), "--lang", "sq")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("u shkrua harta: ")
    notes = [line for line in done.stderr.splitlines() if line.startswith(("note:", "shënim:"))]
    assert notes and all(line.startswith("shënim: ") for line in notes)
    assert "Qendra për Punë Sociale: kapaciteti i panjohur" in done.stderr
    text = svg.read_text(encoding="utf-8")
    assert "Mungesat në shërbimet sociale: shkalla e përbërë e mungesës" in text
    assert "Popullsia (2024)" in text and "Population" not in text and "Sources" not in text


def test_analyze_map_html_draws_offline_in_chromium(tmp_path):
    """map.html carries its own Leaflet (make assets) and draws polygons and clustered services offline."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "out"
    done = run("analyze", "--demo", "kosovo", "--out", str(out), "--method", "coverage", "--lang", "en")
    assert done.returncode == 0, done.stderr
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "map.html").as_uri())
        page.wait_for_selector("path.leaflet-interactive")
        page.wait_for_selector(".marker-cluster, .leaflet-marker-icon", timeout=10_000)
        polygons = page.locator("path.leaflet-interactive").count()
        clusters = page.locator(".marker-cluster, .leaflet-marker-icon").count()
        browser.close()
    assert errors == []
    assert polygons >= 38 and clusters > 0
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


def test_export_and_brief_with_the_users_standard_and_unit_cost(tmp_path):
    population = pd.read_csv(demo_files("kosovo")["population"])["population"].sum()
    out = tmp_path / "national.csv"
    done = run(
        "export", "--demo", "kosovo", "--out", str(out), "--table", "costing_national",
        "--standard", "csw=0.5", "--unit-cost", "csw=1.000,5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, encoding="utf-8-sig").set_index("service_type")
    # CSWs serve everyone and their capacities are unknown (no place counted): places needed =
    # population × 0.5 / 1,000; budget = places × 1,000.5 EUR ("1.000,5" read with a decimal comma).
    # (the CSV keeps places to 0.1 and euros whole)
    assert float(table.loc["csw", "places_needed"]) == pytest.approx(population * 0.5 / 1000, abs=0.05)
    assert float(table.loc["csw", "budget_eur_per_year"]) == pytest.approx(
        population * 0.5 / 1000 * 1000.5, abs=0.5
    )
    assert table.loc["csw", "standard_source"] == "user-supplied"
    assert pd.isna(table.loc["day_care_disability", "budget_eur_per_year"])  # none given, none sourced
    pdf = tmp_path / "brief.pdf"
    done = run(
        "brief", "--demo", "kosovo", "--out", str(pdf), "--standard", "csw=0.5", "--unit-cost", "csw=1000"
    )
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "(standard given by the user)" in " ".join(text.split())
    for bad in ("csw", "csw=-1", "csw=many", "=3"):
        done = run("export", "--demo", "kosovo", "--out", str(out), "--standard", bad)
        assert done.returncode == 2 and "--standard" in done.stderr and "Traceback" not in done.stderr
    done = run("export", "--demo", "kosovo", "--out", str(out), "--unit-cost", "no_such_type=5")
    assert done.returncode == 2 and "no_such_type" in done.stderr and "Traceback" not in done.stderr
