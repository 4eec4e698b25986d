"""The attacker of issue 13, as a module the attack tests share (see ``test_privacy_attack.py``).

It builds worlds with planted small counts, publishes everything the project can publish for them
(:func:`publish_everything`), reads every published table back (:func:`read_tables`) and tries to
solve for the hidden counts (:class:`Attack`).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

import socialmap
from socialmap.privacy import COMPOSITE_COLUMNS, SAFE_COLUMNS, column_base

T = 5  # the threshold (socialmap.settings.suppression_threshold)
SENSITIVE = ("shelter_dv", "community_housing")
#: Columns of a row that the attacker can turn into an equation over the row's count.
ROW_RELATIONS = {
    "need",
    "target_group",
    "places_target",
    "places_needed",
    "budget_eur_per_year",
    "supply_per_10k",
    "unmet_need",
    "reachable_places",
    "gap_score",
    "covered_share",
}
#: User figures for the costing (so that it has places and budgets to publish).
STANDARDS = {"shelter_dv": 1000.0, "community_housing": 500.0}
UNIT_COSTS = {"shelter_dv": 20000.0, "community_housing": 15000.0}


@dataclass
class World:
    """Inputs for the command line: files, plus ``--demo`` or not."""

    name: str
    population: Path
    areas: Path | None = None
    services: Path | None = None
    demo: bool = False
    probe_lonlat: tuple[float, float] = (0.0, 0.0)
    brief_area: str = ""

    def args(self) -> list[str]:
        out = ["--population", str(self.population)]
        if self.demo:
            out = ["--demo", "kosovo", *out]
        else:
            out += ["--areas", str(self.areas), "--services", str(self.services)]
        return out

    def analyze(self, **kw: Any) -> Any:
        if self.demo:
            return socialmap.analyze(demo="kosovo", population=str(self.population), **kw)
        return socialmap.analyze(str(self.areas), str(self.services), str(self.population), **kw)


def _swap(values: np.ndarray, a: int, b: int) -> np.ndarray:
    out = values.copy()
    out[[a, b]] = out[[b, a]]
    return out


def demo_worlds(tmp: Path) -> tuple[World, World, dict[str, list[str]]]:
    """The demo with planted counts, and its twin whose hidden counts differ (same published totals)."""
    demo = socialmap.load_demo("kosovo")
    pop = pd.DataFrame(demo.population).copy()
    rng = np.random.default_rng(13)
    n = len(pop)
    victims = rng.integers(5, 60, n).astype(float)
    victims[[9, 25]] = 0.0
    planted_v = [0, 3, 7, 11, 20]
    victims[planted_v] = [2, 3, 1, 4, 2]
    kids = rng.integers(5, 30, n).astype(float)
    kids[[14]] = 0.0
    planted_k = [5, 16, 30]
    kids[planted_k] = [1, 4, 3]
    twin_v, twin_k = _swap(victims, 0, 3), _swap(kids, 5, 16)  # 2↔3 and 1↔4: same sums, same markers
    ids = pop["area_id"].astype(str).tolist()
    planted = {"shelter_dv": [ids[i] for i in planted_v], "community_housing": [ids[i] for i in planted_k]}
    first = demo.areas[demo.areas["area_id"].astype(str) == ids[0]].representative_point().iloc[0]
    worlds = []
    for name, v, k in (("demo", victims, kids), ("demo_twin", twin_v, twin_k)):
        path = tmp / name / "population.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pop.assign(pop_victims_violence=v, pop_children_no_parental_care=k).to_csv(path, index=False)
        worlds.append(World(name, path, demo=True, probe_lonlat=(first.x, first.y), brief_area=ids[0]))
    return worlds[0], worlds[1], planted


def random_worlds(tmp: Path, seed: int = 7) -> tuple[World, World, dict[str, list[str]]]:
    """A random world of 6 × 6 squares (metric CRS, random population and services), and its twin."""
    rng = np.random.default_rng(seed)
    side, size = 6, 9000.0
    cells = [
        box(x * size, y * size, (x + 1) * size, (y + 1) * size) for y in range(side) for x in range(side)
    ]
    ids = [f"R{i:02d}" for i in range(len(cells))]
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "name": [f"Area {i}" for i in ids]}, geometry=cells, crs="EPSG:32634"
    )
    n = len(ids)
    population = rng.integers(800, 25000, n).astype(float)

    def plant(k: int) -> tuple[np.ndarray, list[int]]:
        values = rng.integers(5, 45, n).astype(float)
        chosen = rng.choice(n, k + 4, replace=False)
        values[chosen[:4]] = 0.0
        small = sorted(chosen[4:].tolist())
        values[small] = rng.integers(1, T, k)
        while len(set(values[small])) < 2:
            values[small] = rng.integers(1, T, k)
        return values, small

    # Many small counts of victims (they protect each other against the total); two of children,
    # which the total alone would give away, so secondary rows ([c]) must be hidden too.
    victims, small_v = plant(8)
    kids, small_k = plant(2)

    def twin(values: np.ndarray, small: list[int]) -> np.ndarray:
        for a, b in itertools.combinations(small, 2):
            if values[a] != values[b]:
                return _swap(values, a, b)
        raise AssertionError("the seed planted no two different small counts")

    kinds = {
        "csw": (6, 50, 200),
        "day_care_disability": (6, 10, 60),
        "home_care_elderly": (4, 10, 60),
        "residential_elderly": (3, 20, 80),
        "shelter_dv": (5, 3, 25),
        "community_housing": (4, 3, 20),
        "counselling_family": (4, 10, 50),
    }
    rows, geoms = [], []
    for kind, (count, low, high) in kinds.items():
        for j in range(count):
            x, y = rng.uniform(0, side * size, 2)
            capacity = float(rng.integers(low, high + 1))
            rows.append(
                {
                    "service_id": f"{kind}-{j}",
                    "name": f"{kind} {j}",
                    "service_type": kind,
                    "capacity": capacity,
                }
            )
            geoms.append(Point(x, y))
    services = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:32634").to_crs("EPSG:4326")
    services["lon"], services["lat"] = services.geometry.x.round(7), services.geometry.y.round(7)
    base = tmp / "random_inputs"
    base.mkdir(parents=True, exist_ok=True)
    areas.to_crs("EPSG:4326").to_file(base / "areas.geojson", driver="GeoJSON")
    pd.DataFrame(services.drop(columns="geometry")).to_csv(base / "services.csv", index=False)
    probe = areas.to_crs("EPSG:4326").representative_point().iloc[small_v[0]]
    worlds = []
    for name, v, k in (
        ("random", victims, kids),
        ("random_twin", twin(victims, small_v), twin(kids, small_k)),
    ):
        path = tmp / name / "population.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {
                "area_id": ids,
                "population": population,
                "year": 2024,
                "pop_victims_violence": v,
                "pop_children_no_parental_care": k,
            }
        ).to_csv(path, index=False)
        worlds.append(
            World(
                name,
                path,
                areas=base / "areas.geojson",
                services=base / "services.csv",
                probe_lonlat=(probe.x, probe.y),
                brief_area=ids[small_v[0]],
            )
        )
    planted = {"shelter_dv": [ids[i] for i in small_v], "community_housing": [ids[i] for i in small_k]}
    return worlds[0], worlds[1], planted


# ----------------------------------------------------------------------------------------------------
# Publishing everything
# ----------------------------------------------------------------------------------------------------


def cli(*args: str) -> str:
    """Run a ``socialmap`` command in this process; return what it printed (stdout and stderr)."""
    from typer.testing import CliRunner

    from socialmap.cli import app

    done = CliRunner().invoke(app, list(args), env={"SOCIALMAP_LANG": "en"}, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


def _figures(kind: str) -> list[str]:
    out = []
    for key, value in (STANDARDS if kind == "standard" else UNIT_COSTS).items():
        out += [f"--{'standard' if kind == 'standard' else 'unit-cost'}", f"{key}={value:g}"]
    return out


def publish_everything(world: World, out: Path) -> dict[str, str]:
    """
    Produce every output of every path for a world; return what each printed (the files are in ``out``).

    Command line: ``analyze --out``, ``export`` (XLSX with the user's standards and unit costs, and
    the costing CSV), ``brief`` (national and one planted area), ``map`` (the shelter gap),
    ``scenario`` (shelters of capacity 1 and 1,000 put at a planted area), ``optimise`` (shelters on
    grid candidates with a 1 m catchment and a large k, and community housing with the default
    catchment). Library: CSV of every table, GeoPackage and GeoJSON exports, print maps of every
    metric of the sensitive types, the scenario's ``Comparison.write`` and ``Costing.write``, a costed
    brief of a planted area; the action plan (targets of the probe scenario written as XLSX, the DOCX
    from the library and from ``action-plan``) and ``monitor`` over two years with those targets.
    """
    from socialmap.actionplan import action_plan
    from socialmap.costing import places_and_budget
    from socialmap.export import TABLES, export_table
    from socialmap.plan import targets_from_scenario
    from socialmap.report import brief
    from socialmap.scenario import Inputs, Scenario, new_service, run_scenario
    from socialmap.static import gap_map, save_figure

    out.mkdir(parents=True, exist_ok=True)
    printed: dict[str, str] = {}
    args = world.args()
    printed["analyze"] = cli("analyze", *args, "--out", str(out / "analyze"))
    printed["export"] = cli(
        "export", *args, "--out", str(out / "export.xlsx"), *_figures("standard"), *_figures("cost")
    )
    printed["export_costing"] = cli(
        "export", *args, "--out", str(out / "costing_cli.csv"), "--table", "costing",
        *_figures("standard"), *_figures("cost"),
    )  # fmt: skip
    printed["brief"] = cli("brief", *args, "--area", world.brief_area, "--out", str(out / "brief_area.pdf"))
    printed["map"] = cli("map", *args, "--service-type", "shelter_dv", "--out", str(out / "map_cli.svg"))
    lon, lat = world.probe_lonlat
    plan = out / "plan.csv"
    probes = [("probe1", 1, lon), ("probe2", 1000, lon + 0.02)]
    pd.DataFrame(
        [
            {
                "action": "add",
                "service_id": i,
                "service_type": "shelter_dv",
                "capacity": c,
                "lon": x,
                "lat": lat,
            }
            for i, c, x in probes
        ]
    ).to_csv(plan, index=False)
    printed["scenario"] = cli("scenario", *args, "--edits", str(plan), "--out", str(out / "scenario"))
    printed["optimise_tiny"] = cli(
        "optimise", *args, "--service-type", "shelter_dv", "--k", "25", "--candidates", "grid",
        "--catchment-m", "1", "--out", str(out / "optimise_tiny"),
    )  # fmt: skip
    printed["optimise_housing"] = cli(
        "optimise", *args, "--service-type", "community_housing", "--k", "3", "--candidates", "areas",
        "--out", str(out / "optimise_housing"),
    )  # fmt: skip

    result = world.analyze()
    costing = places_and_budget(result, standards=STANDARDS, unit_costs=UNIT_COSTS)
    for table in TABLES:
        export_table(result, out / f"lib_{table}.csv", table=table, costing=costing)  # type: ignore[arg-type]
    export_table(result, out / "lib.gpkg", costing=costing)
    export_table(result, out / "lib_by_service_type.geojson")
    costing.write(out / "costing_write.xlsx")
    brief(result, path=out / "brief_national.pdf", costing=costing)
    brief(result, area=world.brief_area, path=out / "brief_area_costed.pdf", costing=costing)
    for metric in ("gap_score", "need", "covered_share", "access", "unmet_need", "supply_per_10k"):
        for st in SENSITIVE:
            fig = gap_map(result, service_type=st, column=metric)
            save_figure(fig, out / f"map_{st}_{metric}.svg")
    save_figure(gap_map(result), out / "map_composite.svg")
    inputs = Inputs.from_mapping(
        {"demo": "kosovo", "population": str(world.population)}
        if world.demo
        else {"areas": str(world.areas), "services": str(world.services), "population": str(world.population)}
    )
    probe = Scenario("probe").add(new_service("shelter_dv", (lon, lat), crs="EPSG:4326", capacity=1))
    run = run_scenario(inputs, probe, base=result)
    run.comparison.write(out / "comparison.csv")
    run.comparison.write(out / "comparison.xlsx")

    # Action plan and monitoring (#22): targets from the probe scenario, the draft plan (DOCX) of a
    # planted area from the library and the command line, and the indicator series of two years.
    targets = targets_from_scenario(inputs, probe, years=[2027, 2028], base=result, unit_costs=UNIT_COSTS)
    targets.write(out / "targets.xlsx")
    action_plan(result, targets, area=world.brief_area, path=out / "action_plan_lib.docx", costing=costing)
    printed["action_plan"] = cli(
        "action-plan", *args, "--area", world.brief_area, "--targets", str(out / "targets.xlsx"),
        "--out", str(out / "action_plan_cli.docx"),
    )  # fmt: skip
    sources = (
        ["--demo", "kosovo"]
        if world.demo
        else ["--areas", str(world.areas), "--services", str(world.services)]
    )
    years = [arg for year in (2023, 2024) for arg in ("--population-year", f"{year}={world.population}")]
    printed["monitor"] = cli(
        "monitor",
        *sources,
        *years,
        "--targets",
        str(out / "targets.xlsx"),
        "--out",
        str(out / "monitor.xlsx"),
    )
    return printed


# ----------------------------------------------------------------------------------------------------
# Reading back every published table and text
# ----------------------------------------------------------------------------------------------------

#: Numbers written with more than 10 significant digits: compared to 10, because floating-point
#: sums differ in their last bits with the order of the terms (swapping two areas' counts changes
#: the rounding of each area's need, not the need itself).
_LONG_NUMBER = re.compile(r"(?<![\w.])\d+\.\d{6,}(?![\w.])")
_RANDOM_IDS = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def published_texts(out: Path, printed: dict[str, str], replace: dict[Path, str]) -> dict[str, str]:
    """Return every published file's content as text (tables cell by cell), and what was printed.

    ``replace`` maps folders (the output and input folders, which differ between twins) to names;
    dates in SVG metadata and the random element ids of folium maps are taken out, and numbers
    written with many digits are compared to 10 significant digits (see :data:`_LONG_NUMBER`).
    """
    texts = {f"printed:{k}": v for k, v in printed.items()}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name == "plan.csv":
            continue
        key = str(path.relative_to(out))
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
            text = "\n".join(f"## {name}\n{frame.to_csv(index=False)}" for name, frame in sheets.items())
            text = re.sub(r"exported,[^\n]*", "exported,<date>", text)
        elif suffix == ".gpkg":
            import pyogrio

            parts = []
            for layer, _ in pyogrio.list_layers(path):
                frame = gpd.read_file(path, layer=layer)
                parts.append(
                    f"## {layer}\n{pd.DataFrame(frame.drop(columns='geometry')).to_csv(index=False)}"
                )
            text = "\n".join(parts)
        elif suffix == ".docx":
            text = docx_text(path)
        elif suffix == ".pdf":
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            ).stdout
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        texts[key] = text
    normalised = {}
    for key, text in texts.items():
        for path, name in sorted(replace.items(), key=lambda item: -len(str(item[0]))):
            text = text.replace(str(path), name)
        text = re.sub(r"<dc:date>[^<]*</dc:date>", "<dc:date/>", text)
        text = _LONG_NUMBER.sub(lambda m: f"{float(m.group(0)):.10g}", text)
        normalised[key] = _RANDOM_IDS.sub("<id>", text)
    return normalised


def docx_text(path: Path) -> str:
    """A Word file's paragraphs and table cells, in document order (python-docx)."""
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += ["\t".join(cell.text for cell in row.cells) for row in table.rows]
    return "\n".join(lines)


def docx_tables(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of a Word file as text cells, its first row as the header."""
    import docx

    tables = {}
    for i, table in enumerate(docx.Document(str(path)).tables):
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if len(rows) > 1:
            header = [f"{j}:{h}" for j, h in enumerate(rows[0])]  # merged cells repeat a heading
            tables[f"table{i}"] = pd.DataFrame(rows[1:], columns=header)
    return tables


def read_tables(out: Path) -> dict[str, pd.DataFrame]:
    """Read every published table (CSV, every XLSX sheet, every GeoPackage layer, GeoJSON) as text cells."""
    tables: dict[str, pd.DataFrame] = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name == "plan.csv":
            continue
        key = str(path.relative_to(out))
        suffix = path.suffix.lower()
        if suffix == ".csv":
            tables[key] = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        elif suffix == ".xlsx":
            for name, frame in pd.read_excel(path, sheet_name=None, dtype=str).items():
                tables[f"{key}#{name}"] = frame.fillna("")
        elif suffix == ".docx":
            for name, frame in docx_tables(path).items():
                tables[f"{key}#{name}"] = frame
        elif suffix == ".geojson":
            features = json.loads(path.read_text(encoding="utf-8"))["features"]
            frame = pd.DataFrame([f["properties"] for f in features])
            tables[key] = frame.astype(str).replace({"nan": "", "None": "", "<NA>": ""})
        elif suffix == ".gpkg":
            import pyogrio

            for layer, _ in pyogrio.list_layers(path):
                frame = gpd.read_file(path, layer=layer)
                tables[f"{key}#{layer}"] = (
                    pd.DataFrame(frame.drop(columns="geometry"))
                    .astype(str)
                    .replace({"nan": "", "None": "", "<NA>": ""})
                )
    return tables


def number(text: Any) -> float | None:
    """A published cell as a number (``None`` for markers, blanks and text)."""
    value = str(text).strip()
    if value.startswith("'"):
        value = value[1:]
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) else None


MARKERS = ("<5", "[c]")


# ----------------------------------------------------------------------------------------------------
# The attacker
# ----------------------------------------------------------------------------------------------------


def _side(column: str) -> tuple[str, str]:
    """``(metric, side)`` of a published column: side ``today``, a scenario's name, or ``delta:<name>``."""
    base = column_base(column)
    text = str(column)
    found = re.fullmatch(r".+?( Δ)? \[(.*)\]", text)
    if found:
        return base, ("delta:" if found.group(1) else "") + found.group(2)
    if text.endswith("_after"):
        return base, "after"
    if text.endswith("_delta"):
        return base, "delta:after"
    return base, "today"


@dataclass
class Facts:
    """Everything published about one sensitive service type."""

    rows: dict[tuple[str, str, str], set[float]] = field(default_factory=lambda: defaultdict(set))
    totals: dict[tuple[str, str], set[float]] = field(default_factory=lambda: defaultdict(set))
    area_budgets: dict[str, set[float]] = field(default_factory=lambda: defaultdict(set))
    markers: dict[str, str] = field(default_factory=dict)
    supply: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)


#: Columns of the action plan's targets (socialmap.plan) computed from the services' places alone: the
#: places located in the area at the baseline and each year, the places added, their yearly cost, the
#: years. (The twin comparison in test_privacy_attack checks that they do not change with the hidden
#: counts; the share within reach, which does, is not here.)
PLACES_ONLY = frozenset({"year", "baseline_year", "places", "baseline_places", "places_added", "budget_eur"})


def collect(tables: dict[str, pd.DataFrame], service_type: str) -> Facts:
    """Collect every published number about one sensitive type from the tables."""
    facts = Facts()
    for frame in tables.values():
        cols = set(frame.columns)
        if "service_type" in cols and "area_id" in cols:
            part = frame[frame["service_type"] == service_type]
            for _, row in part.iterrows():
                area = str(row["area_id"])
                for col in frame.columns:
                    if column_base(col) in COMPOSITE_COLUMNS:
                        continue  # the area's composite, copied into its rows: see composite_is_published
                    if str(col) in PLACES_ONLY and "budget_eur_per_year" not in cols:
                        continue
                    if str(col) in SAFE_COLUMNS or column_base(col) in SAFE_COLUMNS:
                        if (
                            column_base(col) == "supply"
                            and _side(col)[1] == "today"
                            and number(row[col]) is not None
                        ):
                            facts.supply[area] = float(number(row[col]))  # type: ignore[arg-type]
                        continue
                    metric, side = _side(col)
                    value = row[col]
                    if metric == "need" and side in ("today", "after") and str(value) in MARKERS:
                        facts.markers[area] = str(value)
                    v = number(value)
                    if v is not None:
                        facts.rows[(area, metric, side)].add(v)
        elif "service_type" in cols:
            part = frame[frame["service_type"] == service_type]
            for _, row in part.iterrows():
                for col in frame.columns:
                    if column_base(col) in SAFE_COLUMNS:
                        continue
                    metric, side = _side(col)
                    v = number(row[col])
                    if v is not None:
                        facts.totals[(metric, side)].add(v)
        elif "area_id" in cols and "budget_eur_per_year" in cols and "types_costed" in cols:
            for _, row in frame.iterrows():
                v = number(row["budget_eur_per_year"])
                if v is not None:
                    facts.area_budgets[str(row["area_id"])].add(v)
    return facts


def offsets(tables: dict[str, pd.DataFrame], service_type: str) -> dict[str, float]:
    """The published need of the non-sensitive part of a sensitive type's need (see :class:`Attack`)."""
    if service_type != "community_housing":
        return {}
    facts = collect(tables, "day_care_disability")  # serves exactly the persons with disabilities
    return {
        a: min(v) for (a, metric, side), v in facts.rows.items() if metric == "need" and side == "today" and v
    }


def composite_is_published(tables: dict[str, pd.DataFrame], weights: dict[str, float] | None) -> list[str]:
    """
    Check that every published composite gap is the weighted mean of the area's *published* gap scores.

    Then it is a function of published figures and gives the attacker no equation over a hidden
    score. Returns the areas (and tables) where it is not; also every table whose rows carry a
    composite that differs from the areas table's. ``weights=None``: the composite weighs target
    groups (people: the need model's composite, not a mean of the types' scores), so only the second
    check is made here; that it does not follow the hidden counts is what the twin worlds test.
    """
    problems = []
    areas = {
        k: v for k, v in tables.items() if "composite_gap" in v.columns and "service_type" not in v.columns
    }
    reference: dict[str, str] = {}
    for name, frame in areas.items():
        scores = [c for c in frame.columns if str(c).startswith("gap_score_")]
        for _, row in frame.iterrows():
            shown = {c[len("gap_score_") :]: number(row[c]) for c in scores}
            used = {k: v for k, v in shown.items() if v is not None and (weights or {}).get(k, 0) > 0}
            comp = number(row["composite_gap"])
            reference.setdefault(str(row["area_id"]), str(row["composite_gap"]))
            if weights is None:
                continue
            if not used:
                if comp is not None:
                    problems.append(f"{name} {row['area_id']}: composite {comp} without a published score")
                continue
            w = weights or {}
            mean = sum(w[k] * v for k, v in used.items()) / sum(w[k] for k in used)
            if comp is None or not math.isclose(comp, mean, rel_tol=1e-9, abs_tol=1e-9):
                problems.append(f"{name} {row['area_id']}: composite {comp} is not the mean {mean} of {used}")
    for name, frame in tables.items():
        if "composite_gap" in frame.columns and "service_type" in frame.columns:
            for _, row in frame.iterrows():
                want = reference.get(str(row["area_id"]))
                got, ref = number(row["composite_gap"]), number(want)
                # A CSV writes the composite rounded to 0.1 (export.CSV_DECIMALS): the same figure, rounded.
                if want is not None and not (
                    got == ref
                    or (
                        got is not None
                        and ref is not None
                        and (
                            math.isclose(got, ref, rel_tol=1e-12)
                            or math.isclose(got, round(ref, 1), rel_tol=0, abs_tol=1e-9)
                        )
                    )
                ):
                    problems.append(f"{name} {row['area_id']}: composite differs from the areas table")
    return problems


class Model:
    """A mixed-integer feasibility model (scipy.optimize.milp)."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, lo: float, hi: float, integer: bool = False) -> int:
        self.lb.append(lo)
        self.ub.append(hi)
        self.integer.append(1 if integer else 0)
        return len(self.lb) - 1

    def equal(self, coefs: dict[int, float], rhs: float, tol: float | None = None) -> None:
        tol = 1e-6 * max(1.0, abs(rhs)) if tol is None else tol
        self.rows.append((coefs, rhs - tol, rhs + tol))

    def between(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((coefs, lo, hi))

    def solve(self, fix: dict[int, float] | None = None, objective: dict[int, float] | None = None) -> Any:
        from scipy.optimize import Bounds, LinearConstraint, milp

        n = len(self.lb)
        lb, ub = np.array(self.lb), np.array(self.ub)
        for i, v in (fix or {}).items():
            lb[i] = ub[i] = v
        c = np.zeros(n)
        for i, w in (objective or {}).items():
            c[i] = w
        constraints = []
        if self.rows:
            a = np.zeros((len(self.rows), n))
            lo, hi = np.empty(len(self.rows)), np.empty(len(self.rows))
            for k, (coefs, low, high) in enumerate(self.rows):
                for i, w in coefs.items():
                    a[k, i] += w
                lo[k], hi[k] = low, high
            constraints.append(LinearConstraint(a, lo, hi))
        return milp(c, constraints=constraints, integrality=np.array(self.integer), bounds=Bounds(lb, ub))


@dataclass
class Attack:
    """
    The integer attack on one sensitive service type.

    Unknowns: the count ``c_i`` of every area whose need is shown ``"<5"`` (1–4) or ``"[c]"`` (≥ 5),
    and, per side (today, each scenario), the unmet need ``u_i ∈ [0, c_i]`` and covered need
    ``z_i = c_i × covered share ∈ [0, c_i]`` of every area whose figures are not all published.
    Every published figure of :class:`Facts` becomes a linear constraint (places needed and budgets
    through a one-hot encoding of the count).
    """

    facts: Facts
    areas: list[str]
    #: Published need of the non-sensitive groups a row's need also counts (community housing: the
    #: persons with disabilities, published as day care's need); the hidden count is need − offset.
    offset: dict[str, float] = field(default_factory=dict)
    model: Model = field(default_factory=Model)
    count: dict[str, int | float] = field(default_factory=dict)
    #: The column holding the hidden count: ``need``, or ``target_size`` where the need model makes
    #: the need from published figures (a standard per the whole population) or leaves it unknown.
    count_metric: str = "need"
    onehot: dict[str, dict[int, int]] = field(default_factory=dict)
    unknown_relations: list[str] = field(default_factory=list)

    def build(self, big: int = 400) -> Attack:
        f, m = self.facts, self.model
        key = self.count_metric
        known = {a: min(f.rows[(a, key, "today")]) for a in self.areas if f.rows.get((a, key, "today"))}
        totals = f.totals.get((key, "today"))
        published_sum = sum(known.values())
        remainder = (min(totals) - published_sum) if totals else None
        offsets = sum(self.offset.get(a, 0.0) for a in self.areas if a not in known and a in f.markers)
        for a in self.areas:
            if a in known:
                self.count[a] = known[a]
                continue
            mark = f.markers.get(a)
            if mark == "<5":
                lo, hi = 1, T - 1
            elif mark == "[c]":
                lo, hi = T, int(remainder - offsets) if remainder is not None else big
            else:
                continue  # need unknown (no rate): not a count the attacker can target
            self.count[a] = m.var(lo, max(lo, hi), integer=True)
        hidden = [a for a in self.areas if isinstance(self.count.get(a), int) and a not in known]
        if totals:
            m.equal({self.count[a]: 1.0 for a in hidden}, min(totals) - published_sum - offsets)
        sides = {s for (_a, _m, s) in f.rows if not s.startswith("delta")} | {
            s for (_m, s) in f.totals if not s.startswith("delta")
        }
        for side in sides if key == "need" else ():  # the model's figures are functions of the need
            self._side(side, hidden, known)
        for a in hidden:
            self._hidden_row(a)
        self._area_budgets(hidden)
        return self

    def _c(self, a: str) -> tuple[dict[int, float], float]:
        """The count of area ``a`` as (coefficients, constant)."""
        c = self.count[a]
        if isinstance(c, int) and a not in self._known():
            return {c: 1.0}, self.offset.get(a, 0.0)
        return {}, float(c)

    def _known(self) -> set[str]:
        return {a for a in self.areas if self.facts.rows.get((a, self.count_metric, "today"))}

    def _value(self, a: str, metric: str, side: str) -> float | None:
        vals = self.facts.rows.get((a, metric, side))
        if not vals and side != "today":
            delta = self.facts.rows.get((a, metric, f"delta:{side}"))
            base = self.facts.rows.get((a, metric, "today"))
            if delta and base:
                return min(base) + min(delta)
        return min(vals) if vals else None

    def _side(self, side: str, hidden: list[str], known: dict[str, float]) -> None:
        f, m = self.facts, self.model
        u: dict[str, tuple[dict[int, float], float]] = {}
        z: dict[str, tuple[dict[int, float], float]] = {}
        for a in [*known, *hidden]:
            coefs, const = self._c(a)
            count_hi = const if not coefs else m.ub[next(iter(coefs))] + const
            unmet = self._value(a, "unmet_need", side)
            reach = self._value(a, "reachable_places", side)
            gap = self._value(a, "gap_score", side)
            if unmet is not None:
                u[a] = ({}, unmet)
            else:
                var = m.var(0.0, count_hi)
                u[a] = ({var: 1.0}, 0.0)
                m.between({var: 1.0, **{k: -w for k, w in coefs.items()}}, -np.inf, const)  # u <= c
            if reach is not None:  # reachable + unmet = count
                row = dict(u[a][0])
                for k, w in coefs.items():
                    row[k] = row.get(k, 0.0) - w
                m.equal(row, const - reach - u[a][1])
            if gap is not None:  # 100 u = gap × c
                row = {k: 100.0 * w for k, w in u[a][0].items()}
                for k, w in coefs.items():
                    row[k] = row.get(k, 0.0) - gap * w
                m.equal(row, gap * const - 100.0 * u[a][1], tol=1e-6 * max(1.0, gap * max(const, 1)))
            cs = self._value(a, "covered_share", side)
            if cs is not None:
                z[a] = ({k: cs * w for k, w in coefs.items()}, cs * const)
            else:
                var = m.var(0.0, count_hi)
                z[a] = ({var: 1.0}, 0.0)
                m.between({var: 1.0, **{k: -w for k, w in coefs.items()}}, -np.inf, const)
        everyone = [*known, *hidden]

        def total(parts: dict[str, tuple[dict[int, float], float]]) -> tuple[dict[int, float], float]:
            coefs: dict[int, float] = defaultdict(float)
            const = 0.0
            for a in everyone:
                for k, w in parts[a][0].items():
                    coefs[k] += w
                const += parts[a][1]
            return dict(coefs), const

        need_all = total({a: self._c(a) for a in everyone})
        for metric, parts in (("unmet_need", u), ("covered_share", z)):
            for value in f.totals.get((metric, side), ()):
                coefs, const = total(parts)
                if metric == "covered_share":  # Σ c·cs = CS × Σ c
                    row = dict(coefs)
                    for k, w in need_all[0].items():
                        row[k] = row.get(k, 0.0) - value * w
                    m.equal(row, value * need_all[1] - const)
                else:
                    m.equal(coefs, value - const)
        for value in f.totals.get(("reachable_places", side), ()):
            coefs, const = total(u)
            row = {k: -w for k, w in coefs.items()}
            for k, w in need_all[0].items():
                row[k] = row.get(k, 0.0) + w
            m.equal(row, value - need_all[1] + const)
        for value in f.totals.get(("gap_score", side), ()):
            coefs, const = total(u)
            row = {k: 100.0 * w for k, w in coefs.items()}
            for k, w in need_all[0].items():
                row[k] = row.get(k, 0.0) - value * w
            m.equal(row, value * need_all[1] - 100.0 * const, tol=1e-4 * max(1.0, value * need_all[1]))
        for metric, scale in (("places_needed", 1.0), ("budget_eur_per_year", None)):
            for value in f.totals.get((metric, side), ()):
                self._sum_of_shortfalls(metric, value, hidden, known, scale)

    def _shortfall(self, a: str, count: float, metric: str) -> float:
        std = STANDARDS.get(self.service_type, math.nan)
        supply = self.facts.supply.get(a, 0.0)
        places = max(count * std / 1000.0 - supply, 0.0)
        return places if metric == "places_needed" else places * UNIT_COSTS.get(self.service_type, math.nan)

    service_type: str = ""

    def _one_hot(self, a: str) -> dict[int, int]:
        if a not in self.onehot:
            c = self.count[a]
            assert isinstance(c, int)
            lo, hi = int(self.model.lb[c]), int(self.model.ub[c])
            hi = min(hi, lo + 400)
            bits = {v: self.model.var(0, 1, integer=True) for v in range(lo, hi + 1)}
            self.model.equal(dict.fromkeys(bits.values(), 1.0), 1.0, tol=0.0)
            row = {b: float(v) for v, b in bits.items()}
            row[c] = -1.0
            self.model.equal(row, 0.0, tol=0.0)
            self.onehot[a] = bits
        return self.onehot[a]

    def _sum_of_shortfalls(
        self, metric: str, value: float, hidden: list[str], known: dict[str, float], _s: Any
    ) -> None:
        row: dict[int, float] = {}
        const = sum(self._shortfall(a, c, metric) for a, c in known.items())
        for a in hidden:
            for v, bit in self._one_hot(a).items():
                row[bit] = row.get(bit, 0.0) + self._shortfall(a, v + self.offset.get(a, 0.0), metric)
        self.model.equal(row, value - const, tol=1e-6 * max(1.0, value))

    def _hidden_row(self, a: str) -> None:
        """A number published in a hidden row: an equation, or a default-deny violation."""
        m, f = self.model, self.facts
        c = self.count[a]
        for (area, metric, side), values in f.rows.items():
            if area != a or not values:
                continue
            v = min(values)
            off = self.offset.get(a, 0.0)
            if metric == self.count_metric or (self.count_metric == "need" and metric == "target_group"):
                m.equal({c: 1.0}, v - off)
            elif metric == "places_per_1000" and v == STANDARDS.get(self.service_type):
                continue  # the costing's planning standard, a published parameter
            elif metric == "places_per_1000" and self.count_metric == "target_size":
                reach = self._value(a, "supply_reach", side)
                if reach is None:
                    self.unknown_relations.append(f"{a} {metric} [{side}] = {v} without its reach")
                else:  # places per 1,000 = 1,000 × reach / size
                    m.equal({c: v}, 1000.0 * reach - v * off)
            elif metric == "places_target":
                std = STANDARDS[self.service_type] / 1000.0
                m.equal({c: std}, v - std * off)
            elif metric == "supply_per_10k" and v > 0:
                m.equal({c: v}, 10_000.0 * f.supply.get(a, 0.0) - v * off)
            elif metric in ("places_needed", "budget_eur_per_year"):
                bits = self._one_hot(a)
                m.equal({b: self._shortfall(a, val + off, metric) for val, b in bits.items()}, v)
            elif metric in ROW_RELATIONS:
                continue  # unmet, reachable, gap, covered share: in _side
            else:
                self.unknown_relations.append(f"{a} {metric} [{side}] = {v}")
        if any(area == a and metric in ROW_RELATIONS and vals for (area, metric, _s), vals in f.rows.items()):
            shown = sorted({metric for (area, metric, _s), vals in f.rows.items() if area == a and vals})
            self.unknown_relations.append(f"{a}: hidden row publishes {shown}")

    def _area_budgets(self, hidden: list[str]) -> None:
        for a in hidden:
            for value in self.facts.area_budgets.get(a, ()):
                self.unknown_relations.append(f"{a}: area budget {value} published beside a hidden row")

    def solutions(self, area: str) -> set[int]:
        """Every value the hidden count of ``area`` can take given everything published."""
        c = self.count[area]
        assert isinstance(c, int)
        lo, hi = int(self.model.lb[c]), int(self.model.ub[c])
        if hi - lo > 40:  # a large secondary: its smallest and largest feasible values
            low = self.model.solve(objective={c: 1.0})
            high = self.model.solve(objective={c: -1.0})
            return {round(low.x[c]), round(high.x[c])} if low.status == 0 and high.status == 0 else set()
        return {v for v in range(lo, hi + 1) if self.model.solve(fix={c: v}).status == 0}

    def hidden(self) -> list[str]:
        return [a for a, c in self.count.items() if isinstance(c, int) and a not in self._known()]


def replay_attack(counts: dict[str, float], markers: dict[str, str], order: list[str]) -> dict[str, set[int]]:
    """
    The algorithm-aware attacker: every table of counts that fits the published total and for which
    the suppression rule itself hides the same rows; returns the values each primary can take.
    """
    from socialmap.privacy import PRIMARY, SECONDARY, _suppress_one_total

    hidden = [a for a in order if a in markers]
    published = {a: counts[a] for a in order if a not in markers}
    total = sum(counts[a] for a in order if a in counts)
    remainder = int(round(total - sum(published.values())))
    primaries = [a for a in hidden if markers[a] == "<5"]
    secondaries = [a for a in hidden if markers[a] == "[c]"]
    possible: dict[str, set[int]] = {a: set() for a in primaries}
    tried = 0
    for combo in itertools.product(range(1, T), repeat=len(primaries)):
        rest = remainder - sum(combo)
        if rest < T * len(secondaries):
            continue
        seconds: list[tuple[int, ...]]
        if not secondaries:
            seconds = [()] if rest == 0 else []
        elif len(secondaries) == 1:
            seconds = [(rest,)]
        else:
            seconds = [
                (*head, rest - sum(head))
                for head in itertools.product(range(T, rest + 1), repeat=len(secondaries) - 1)
                if rest - sum(head) >= T
            ]
        for second in seconds:
            tried += 1
            if tried > 300_000:
                raise AssertionError("too many tables to replay")
            trial = dict(published)
            trial.update(zip(primaries, combo, strict=True))
            trial.update(zip(secondaries, second, strict=True))
            status, _ = _suppress_one_total(np.array([trial[a] for a in order], dtype=float), T)
            got = {a: s for a, s in zip(order, status, strict=True) if s}
            want = {a: PRIMARY if markers[a] == "<5" else SECONDARY for a in hidden}
            if got == want:
                for a, v in zip(primaries, combo, strict=True):
                    possible[a].add(v)
    return possible


def old_outputs(result: Any, service_type: str, count: str = "need") -> dict[str, pd.DataFrame]:
    """
    What the issue found published: counts hidden, the figures derived from them kept, totals.

    ``count="need"``: the need hidden, its gap score and covered share kept; ``"target_size"`` (the
    need model's count of the group): the size hidden, its places per 1,000 and reach kept.
    """
    from socialmap.privacy import COUNT_HIDDEN, national_totals, protect

    prot = protect(result)
    raw = pd.DataFrame(result.table)
    rows = raw[raw["service_type"] == service_type].copy()
    status = prot.table.loc[rows.index, "suppression"]
    marks = status.map({"primary": "<5", "secondary": "[c]"}).fillna("")
    kept = ["covered_share", "gap_score"] if count == "need" else ["supply_reach", "places_per_1000"]
    table = rows[["area_id", "service_type", count, "services", "supply", *kept]].astype(str)
    hidden = status.isin(COUNT_HIDDEN).to_numpy()
    table.loc[hidden, count] = marks[hidden].to_numpy()
    if count != "need":
        table["need"] = table[count].where(hidden, "")  # the markers, where the attacker reads them
    totals = national_totals(raw)
    totals = totals[totals["service_type"] == service_type]
    if count == "need":
        totals = totals[["service_type", "need", "unmet_need", "covered_share"]]
    else:
        totals = pd.DataFrame({"service_type": [service_type], count: [float(rows[count].sum())]})
    return {"by_service_type.csv": table, "totals.csv": totals.astype(str)}
