"""The what-if commands of planning.

``optimise`` (where K new services would reach the most unmet need), ``scenario`` (edits of the
services compared with today).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from socialmap.cli.base import app
from socialmap.cli.options import (
    Columns,
    Inputs,
    Lang,
    Method,
    Reach,
    SaveWorkspace,
    ServiceTypes,
    Workspace,
    grouped,
)
from socialmap.cli.running import (
    _analysis,
    _given,
    _missing_inputs,
    _open_workspace,
    _road_graph,
    _save_workspace,
    _type_labels,
)
from socialmap.errors import SocialMapError
from socialmap.i18n import N_, check_language, format_number, localise_number, nt, t

#: Headers of the table of chosen sites the ``optimise`` command prints (the CSV keeps the keys).
_SITE_HEADERS = {
    "order": N_("order"),
    "candidate_id": N_("candidate"),
    "area_id": N_("area code"),
    "area_name": N_("area"),
    "lon": N_("longitude"),
    "lat": N_("latitude"),
    "added_need": N_("need added"),
    "served_need": N_("need served"),
}


@app.command(
    help=t("Choose where K new services of one type would reach the most need that no service reaches yet.")
)
@grouped
def optimise(
    *,
    service_type: Annotated[
        str, typer.Option("--service-type", help=t("Service type to place, e.g. day_care_disability."))
    ],
    k: Annotated[int, typer.Option("--k", help=t("Number of new sites."))] = 1,
    inputs: Inputs,
    candidates: Annotated[
        str,
        typer.Option(
            help=t("Where new sites may go: 'areas' (a point in each area), 'grid', or a GeoJSON/GPKG.")
        ),
    ] = "grid",
    cell_size_m: Annotated[
        float, typer.Option(help=t("Grid cell in metres, for demand and grid candidates."))
    ] = 2000.0,
    reach: Reach,
    capacity: Annotated[
        float | None,
        typer.Option(help=t("Places per new site: limit coverage by capacity (default: coverage).")),
    ] = None,
    solver: Annotated[
        str, typer.Option(help=t("exact (optimal), greedy (fast, with a bound) or auto."))
    ] = "auto",
    out: Annotated[
        Path | None, typer.Option(help=t("Folder to write chosen_sites.csv and .geojson into."))
    ] = None,
    columns: Columns = None,
    lang: Lang = None,
) -> None:
    """Choose where K new services of one type would reach the most need that no service reaches yet."""
    from socialmap.atomic import write_atomic
    from socialmap.optimise import place_services
    from socialmap.privacy import marked
    from socialmap.writers import write_csv

    lang = check_language(lang)
    result = _analysis(
        inputs,
        reach,
        spreading="grid",
        cell_size_m=cell_size_m,
        service_types=(service_type,),
        lang=lang,
        columns=columns,
    )
    cand: Any = candidates
    if candidates not in ("areas", "grid"):
        cand = _read_points(Path(candidates), lang)
    placement = place_services(
        result,
        service_type,
        k=k,
        candidates=cand,
        cell_size_m=cell_size_m,
        capacity=capacity,
        solver=solver,  # type: ignore[arg-type]
    )
    s = placement.summary()
    label = _type_labels(inputs.taxonomy, lang).get(service_type, service_type)
    line = nt(
        "{service}: {k} new site, radius {km} km, method {method}",
        "{service}: {k} new sites, radius {km} km, method {method}",
        s["k"],
        lang,
        service=label,
        k=s["k"],
        km=localise_number(f"{s['radius_m'] / 1000:g}", lang),
        method=s["method"],
    )
    if s["capacitated"]:
        line += " " + t("(capacity-limited)", lang)
    typer.echo(line)

    def whole(value: float) -> str:
        return format_number(value, lang, decimals=0)

    if math.isnan(s["objective"]):  # hidden: a sensitive group's small counts (socialmap.privacy)
        typer.echo(
            t(
                "need reached: hidden ([c]) so that small counts of a sensitive group cannot be worked "
                "out; total need {total}",
                lang,
                total=whole(s["total_need"]),
            )
        )
    else:
        typer.echo(
            t(
                "need reached: {existing} by existing services, +{added} by the new sites = {covered} of "
                "{total} ({share} %)",
                lang,
                existing=whole(s["existing_need"]),
                added=whole(s["objective"]),
                covered=whole(s["covered_need"]),
                total=whole(s["total_need"]),
                share=format_number(100 * s["covered_share"], lang, decimals=1),
            )
        )
    if s["method"] == "greedy" and not math.isnan(s["gap_to_optimum"]):
        typer.echo(
            t(
                "greedy: at most {gap} % below the optimum ({bound})",
                lang,
                gap=format_number(100 * s["gap_to_optimum"], lang, decimals=2),
                bound=s["bound_method"],
            )
        )
    chosen = placement.chosen.to_crs("EPSG:4326")
    chosen["lon"], chosen["lat"] = chosen.geometry.x.round(5), chosen.geometry.y.round(5)
    cols = ["order", "candidate_id", "area_id", "area_name", "lon", "lat", "added_need", "served_need"]
    chosen = marked(chosen)
    shown = chosen[[c for c in cols if c in chosen.columns]].copy()
    formats = {"lon": 5, "lat": 5, "added_need": 1, "served_need": 1}
    for col, decimals in formats.items():
        if col in shown.columns:
            grouping = col not in ("lon", "lat")
            shown[col] = [
                format_number(v, lang, decimals=decimals, grouping=grouping)
                if isinstance(v, float)
                else str(v)
                for v in shown[col]
            ]
    shown.columns = [t(_SITE_HEADERS[c], lang) for c in shown.columns]
    typer.echo(shown.to_string(index=False))
    for note in placement.notes:
        typer.echo(t("note: {note}", lang, note=note), err=True)
    if out is not None:
        csv = write_csv(chosen.drop(columns="geometry"), out / "chosen_sites.csv")
        geo = write_atomic(out / "chosen_sites.geojson", lambda p: chosen.to_file(p, driver="GeoJSON"))
        typer.echo(t("wrote {path}", lang, path=csv))
        typer.echo(t("wrote {path}", lang, path=geo))


def _read_points(path: Path, lang: str = "en") -> Any:
    """Read candidate sites (points) from a vector file or a CSV/XLSX with coordinates, with clear errors."""
    import geopandas as gpd

    from socialmap import io as sm_io
    from socialmap import validate as sm_validate
    from socialmap.errors import DataSourceError, ValidationError

    source = sm_io._read_source(path)  # the loaders' guards: missing, folder, format, size, cost
    if source.frame is None:
        sm_io._outcome(str(path), "candidate sites", source.problems)
        raise AssertionError("unreachable: an unread source always carries an error")
    points = source.frame
    if not isinstance(points, gpd.GeoDataFrame):
        collector = sm_validate._Collector(str(path), source.rows)
        found = sm_validate._coordinate_columns(points, collector)
        if not isinstance(found, tuple):
            raise DataSourceError(
                t(
                    "{path} holds no points: give 'areas', 'grid', a GeoJSON/GPKG of candidate points, or a "
                    "CSV/XLSX with lon and lat columns.",
                    lang,
                    path=path,
                )
            )
        lat, lon = found
        points, _ = sm_validate._points_from_columns(points, lat, lon, None, collector)
        if collector.problems:
            raise ValidationError(collector.problems)
    if points.crs is None:
        raise SocialMapError(
            t("{path} has no CRS; save it with one (GeoJSON is always longitude/latitude).", lang, path=path)
        )
    return points


@app.command(
    help=t("Run what-if scenarios (services added, removed, moved, resized) and compare them with today.")
)
@grouped
def scenario(
    *,
    out: Annotated[Path, typer.Option(help=t("Folder to write the comparisons into."))],
    edits: Annotated[
        list[Path] | None,
        typer.Option(
            "--edits",
            help=t(
                "CSV/XLSX of edits (action, service_id, service_type, capacity, lon, lat); "
                "one scenario per file, repeatable (with --workspace: added to its scenarios)."
            ),
        ),
    ] = None,
    inputs: Inputs,
    method: Method = "2sfca",
    reach: Reach,
    service_type: ServiceTypes = None,
    workspace: Workspace = None,
    save_workspace: SaveWorkspace = None,
    lang: Lang = None,
) -> None:
    """Run what-if scenarios (services added, removed, moved, resized) and compare them with today."""
    from socialmap.pipeline import AnalysisConfig
    from socialmap.privacy import marked, protect, protect_many
    from socialmap.scenario import compare_many, read_scenario, run_scenarios
    from socialmap.writers import write_csv

    lang = check_language(lang)
    scenarios = [read_scenario(path) for path in edits or []]
    taxonomy = inputs.taxonomy  # the terminal's labels: the option's taxonomy (not a workspace's)
    if workspace is not None:
        opened = _open_workspace(workspace, _given(inputs, method, reach, service_type=service_type), lang)
        config = opened.config()
        scenarios = [*opened.scenarios, *scenarios]
        inputs = Inputs(**{name: getattr(opened, name) for name in inputs.files()})
    else:
        opened = None
    if inputs.incomplete():
        raise _missing_inputs(lang)
    if opened is None:
        config = AnalysisConfig(
            method=method,  # type: ignore[arg-type]
            catchment_m=reach.catchment_m,
            service_types=tuple(service_type) if service_type else None,
            catchment_min=reach.catchment_min,
        )
    base = inputs.files()
    if not scenarios:
        raise SocialMapError(
            t("No scenario to run: give --edits FILE, or a --workspace that holds scenarios.", lang)
        )
    if save_workspace is not None:
        _save_workspace(
            save_workspace,
            lang,
            opened,
            scenarios=scenarios,
            **({} if opened is not None else {**base, "options": config}),
        )
    base["network"] = _road_graph(reach.roads, reach.mode, lang)
    runs = run_scenarios({k: v for k, v in base.items() if v is not None}, scenarios, config)
    first = next(iter(runs.values()))
    results = {"today": first.base, **{name: r.result for name, r in runs.items()}}
    # Everything printed or written hides small counts of sensitive groups (socialmap.privacy).
    hidden = {name: protect(res) for name, res in results.items()}
    totals = protect_many(
        compare_many(results, base="today", level="total", metrics=("unmet_need", "gap_score")),
        hidden,
        base="today",
        lang=lang,
    )
    by_area = protect_many(compare_many(results, base="today"), hidden, base="today", lang=lang)
    typer.echo(_scenario_table(marked(totals), taxonomy, lang).to_string(index=False))
    written = [
        write_csv(marked(by_area), out / "scenarios_by_area.csv"),
        write_csv(marked(totals), out / "scenarios_total.csv"),
    ]
    for name, r in runs.items():
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        written.append(r.comparison.write(out / f"scenario_{safe}.xlsx"))
        for note in r.comparison.notes:
            typer.echo(t("note ({scenario}): {note}", lang, scenario=name, note=note), err=True)
    for path in written:
        typer.echo(t("wrote {path}", lang, path=path))


#: Short headers of the scenario comparison the ``scenario`` command prints (the CSVs keep the keys).
_SCENARIO_HEADERS = {
    "service_type": N_("service type"),
    "unmet_need": N_("unmet need"),
    "gap_score": N_("gap score"),
    "suppression": N_("hidden"),
}


def _scenario_table(totals: Any, taxonomy: str | None, lang: str) -> Any:
    """Return the totals table for the terminal: labels, headers and numbers in ``lang``."""
    import re

    import pandas as pd

    shown = totals.copy()
    if "service_type" in shown.columns:
        labels = _type_labels(taxonomy, lang)
        shown["service_type"] = shown["service_type"].map(lambda k: labels.get(str(k), k))
    for col in shown.columns:
        if col in ("service_type", "suppression"):
            continue
        values = shown[col]
        if pd.api.types.is_float_dtype(values) or values.dtype == object:
            shown[col] = [
                format_number(v, lang, decimals=1) if isinstance(v, int | float) else str(v) for v in values
            ]

    def header(col: str) -> str:
        found = re.fullmatch(r"(\w+)( Δ)? \[(.*)\]", str(col))
        if found is None:
            return t(_SCENARIO_HEADERS[col], lang) if col in _SCENARIO_HEADERS else str(col)
        metric, delta, name = found.groups()
        metric = t(_SCENARIO_HEADERS[metric], lang) if metric in _SCENARIO_HEADERS else metric
        name = t("today", lang) if name == "today" else name
        return f"{metric}{delta or ''} [{name}]"

    shown.columns = [header(c) for c in shown.columns]
    return shown
