"""The ``socialmap`` command line: a thin face over the library.

Every command catches the library's own errors and prints their message (never a traceback);
exit codes: 0 success, 1 the input has errors (``validate``), 2 the command could not run.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from socialmap.errors import SocialMapError

app = typer.Typer(
    name="socialmap",
    help="Social-service mapping and needs analysis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress (INFO) to stderr.")] = False,
) -> None:
    """Social-service mapping and needs analysis."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Files to check (areas, services or population).")],
    kind: Annotated[
        str | None, typer.Option(help="areas, services or population; guessed from the file when omitted.")
    ] = None,
    taxonomy: Annotated[
        str | None, typer.Option(help="Taxonomy YAML (default: the Kosovo taxonomy) for service types.")
    ] = None,
) -> None:
    """Check input files and print every problem found, with row, column and how to fix it."""
    from socialmap.taxonomy import load_taxonomy
    from socialmap.validate import validate_file

    if kind is not None and kind not in ("areas", "services", "population"):
        raise SocialMapError(f"--kind {kind!r} is not one of: areas, services, population.")
    tax = load_taxonomy(taxonomy)
    failed = 0
    for path in files:
        report = validate_file(path, kind=kind, taxonomy=tax)
        typer.echo(str(report))
        failed += not report.ok
    if failed:
        typer.echo(f"{failed} of {len(files)} file(s) have errors.", err=True)
        raise typer.Exit(1)


@app.command("fetch-boundaries")
def fetch_boundaries(
    iso: Annotated[str, typer.Argument(help="ISO 3166-1 alpha-3 country code, e.g. XKX for Kosovo.")] = "XKX",
    level: Annotated[str, typer.Option(help="Administrative level, ADM0 to ADM5.")] = "ADM2",
    file: Annotated[
        Path | None, typer.Option(help="Use a file you downloaded by hand instead of downloading.")
    ] = None,
    refresh: Annotated[bool, typer.Option(help="Download again even if cached.")] = False,
) -> None:
    """Download official boundaries from geoBoundaries, check them and cache them."""
    from socialmap import datasets

    def progress(done: int, total: int | None) -> None:
        shown = f"{done / 1024:,.0f} KB" + (f" of {total / 1024:,.0f} KB" if total else "")
        sys.stderr.write(f"\rdownloading {shown}")
        sys.stderr.flush()

    path = datasets.fetch_boundaries(iso, level=level, file=file, refresh=refresh, progress=progress)
    sys.stderr.write("\n")
    typer.echo(f"Boundaries cached at {path}")
    typer.echo(f"Attribution: {datasets.GEOBOUNDARIES_ATTRIBUTION}")
    if iso.upper() == "XKX":
        typer.echo(f"Use them with the Kosovo demo's population and services: --demo kosovo --areas {path}")


_Demo = Annotated[str | None, typer.Option(help="Embedded demo supplying inputs not given, e.g. kosovo.")]
_Areas = Annotated[Path | None, typer.Option(help="Areas file (replaces the demo's).")]
_Services = Annotated[Path | None, typer.Option(help="Services file (replaces the demo's).")]
_Population = Annotated[Path | None, typer.Option(help="Population file (replaces the demo's).")]
_Taxonomy = Annotated[str | None, typer.Option(help="Taxonomy YAML (default: the demo's or Kosovo's).")]
_Method = Annotated[str, typer.Option(help="2sfca, e2sfca or coverage.")]
_Catchment = Annotated[
    float | None, typer.Option(help="Catchment in metres for every service type (default: the taxonomy's).")
]
_Spreading = Annotated[str, typer.Option(help="grid (cells of --cell-size-m) or representative (a point per area).")]
_CellSize = Annotated[float, typer.Option(help="Grid cell size in metres (spreading=grid).")]
_Lang = Annotated[
    str | None, typer.Option(help="Language: en, sq or sr (default: SOCIALMAP_LANG / the locale).")
]
_Threshold = Annotated[
    float | None, typer.Option(help="Hide counts of sensitive groups below this (default: settings, 5).")
]


def _analysis(
    demo: str | None,
    areas: Path | None,
    services: Path | None,
    population: Path | None,
    taxonomy: str | None,
    *,
    method: str = "2sfca",
    catchment_m: float | None = None,
    spreading: str = "grid",
    cell_size_m: float = 1000.0,
    service_types: tuple[str, ...] | None = None,
) -> Any:
    """Run ``analyze`` for a command, with a progress bar on stderr and the run's notes after it."""
    from socialmap.pipeline import AnalysisConfig
    from socialmap.pipeline import analyze as run

    if demo is None and (areas is None or services is None or population is None):
        raise SocialMapError("Give --demo kosovo, or all three of --areas, --services and --population.")
    config = AnalysisConfig(
        method=method,  # type: ignore[arg-type]
        catchment_m=catchment_m,
        spreading=spreading,  # type: ignore[arg-type]
        cell_size_m=cell_size_m,
        service_types=service_types,
    )
    with typer.progressbar(length=1, label="analysing", file=sys.stderr) as bar:

        def progress(done: int, total: int, message: str) -> None:
            bar.length = total
            bar.label = f"analysing {message}"
            bar.update(done - bar.pos)

        result = run(
            areas, services, population, demo=demo, taxonomy=taxonomy, config=config, progress=progress
        )
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    return result


@app.command()
def analyze(
    out: Annotated[Path, typer.Option(help="Folder to write areas.gpkg, areas.csv and map.html into.")],
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    spreading: _Spreading = "grid",
    cell_size_m: _CellSize = 1000.0,
    service_type: Annotated[
        list[str] | None, typer.Option("--service-type", help="Analyse only these types (repeatable).")
    ] = None,
    map_column: Annotated[str, typer.Option(help="Column shown on map.html.")] = "composite_gap",
) -> None:
    """Run the analysis and write the per-area tables and a gap map."""
    from socialmap.export import write_result

    result = _analysis(
        demo,
        areas,
        services,
        population,
        taxonomy,
        method=method,
        catchment_m=catchment_m,
        spreading=spreading,
        cell_size_m=cell_size_m,
        service_types=tuple(service_type) if service_type else None,
    )
    for kind, path in write_result(result, out, map_column=map_column).items():
        typer.echo(f"wrote {kind}: {path}")


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option(help="File to write: .png (1080 px wide), .svg or .pdf.")],
    service_type: Annotated[
        str | None, typer.Option("--service-type", help="Map this service type (default: the composite gap).")
    ] = None,
    column: Annotated[
        str | None, typer.Option(help="Metric to map (default gap_score; e.g. covered_share, need).")
    ] = None,
    scheme: Annotated[
        str, typer.Option(help="quantiles, natural_breaks, fisher_jenks or equal_interval.")
    ] = ("quantiles"),
    k: Annotated[int, typer.Option(help="Number of classes.")] = 5,
    labels: Annotated[bool, typer.Option(help="Write the municipality names on the map.")] = False,
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
) -> None:
    """Draw a print-quality gap map (PNG, SVG or PDF) with legend, scale bar, north arrow and sources."""
    from socialmap.static import FIGURE_FORMATS, gap_map, save_figure

    if out.suffix.lower() not in FIGURE_FORMATS:
        raise SocialMapError(f"--out must end in one of {', '.join(FIGURE_FORMATS)}; got {out.name!r}.")
    result = _analysis(
        demo,
        areas,
        services,
        population,
        taxonomy,
        method=method,
        catchment_m=catchment_m,
        service_types=(service_type,) if service_type else None,
    )
    fig = gap_map(
        result,
        column=column,
        service_type=service_type,
        scheme=scheme,
        k=k,
        labels=labels,
        lang=lang,
        threshold=threshold,
    )
    typer.echo(f"wrote map: {save_figure(fig, out)}")


@app.command("brief")
def brief_command(
    out: Annotated[Path, typer.Option(help="PDF file to write (one A4 page).")],
    area: Annotated[
        str | None, typer.Option(help="Municipality (code or any of its names); omit for the national brief.")
    ] = None,
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
) -> None:
    """Write a one-page PDF brief for a municipality (or the whole country), with sources."""
    from socialmap.report import brief

    if out.suffix.lower() != ".pdf":
        raise SocialMapError(f"--out must be a .pdf file; got {out.name!r}.")
    result = _analysis(demo, areas, services, population, taxonomy, method=method, catchment_m=catchment_m)
    typer.echo(f"wrote brief: {brief(result, area=area, path=out, lang=lang, threshold=threshold)}")


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="File to write: .csv, .xlsx, .gpkg or .geojson.")],
    table: Annotated[
        str, typer.Option(help="For CSV/GeoJSON: by_service_type, areas, services or totals (CSV only).")
    ] = "by_service_type",
    sep: Annotated[str, typer.Option(help="CSV delimiter: ',' or ';' (for a decimal comma).")] = ",",
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
) -> None:
    """Export the results as tables safe to publish (small counts hidden, no spreadsheet formulas)."""
    from socialmap.export import export_table

    result = _analysis(demo, areas, services, population, taxonomy, method=method, catchment_m=catchment_m)
    path = export_table(result, out, table=table, sep=sep, lang=lang, threshold=threshold)  # type: ignore[arg-type]
    typer.echo(f"wrote table: {path}")


@app.command()
def optimise(
    service_type: Annotated[
        str, typer.Option("--service-type", help="Service type to place, e.g. day_care_disability.")
    ],
    k: Annotated[int, typer.Option("--k", help="Number of new sites.")] = 1,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    candidates: Annotated[
        str,
        typer.Option(
            help="Where new sites may go: 'areas' (a point in each area), 'grid', or a GeoJSON/GPKG."
        ),
    ] = "grid",
    cell_size_m: Annotated[
        float, typer.Option(help="Grid cell in metres, for demand and grid candidates.")
    ] = 2000.0,
    catchment_m: _Catchment = None,
    capacity: Annotated[
        float | None,
        typer.Option(help="Places per new site: limit coverage by capacity (default: coverage)."),
    ] = None,
    solver: Annotated[str, typer.Option(help="cbc (optimal), greedy (fast, with a bound) or auto.")] = "auto",
    out: Annotated[
        Path | None, typer.Option(help="Folder to write chosen_sites.csv and .geojson into.")
    ] = None,
) -> None:
    """Choose where K new services of one type would reach the most need that no service reaches yet."""
    from socialmap.export import write_csv
    from socialmap.io import write_atomic
    from socialmap.optimise import place_services

    result = _analysis(
        demo,
        areas,
        services,
        population,
        taxonomy,
        catchment_m=catchment_m,
        spreading="grid",
        cell_size_m=cell_size_m,
        service_types=(service_type,),
    )
    cand: Any = candidates
    if candidates not in ("areas", "grid"):
        cand = _read_points(Path(candidates))
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
    typer.echo(
        f"{service_type}: {s['k']} new site(s), radius {s['radius_m'] / 1000:g} km, method {s['method']}"
        + (" (capacity-limited)" if s["capacitated"] else "")
    )
    typer.echo(
        f"need reached: {s['existing_need']:,.0f} by existing services, +{s['objective']:,.0f} by the new "
        f"sites = {s['covered_need']:,.0f} of {s['total_need']:,.0f} ({100 * s['covered_share']:.1f} %)"
    )
    if s["method"] == "greedy":
        typer.echo(
            f"greedy: at most {100 * s['gap_to_optimum']:.2f} % below the optimum ({s['bound_method']})"
        )
    chosen = placement.chosen.to_crs("EPSG:4326")
    chosen["lon"], chosen["lat"] = chosen.geometry.x.round(5), chosen.geometry.y.round(5)
    cols = ["order", "candidate_id", "area_id", "area_name", "lon", "lat", "added_need", "served_need"]
    shown = chosen[[c for c in cols if c in chosen.columns]].copy()
    for col in ("added_need", "served_need"):
        if col in shown.columns:
            shown[col] = shown[col].round(1)
    typer.echo(shown.to_string(index=False))
    for note in placement.notes:
        typer.echo(f"note: {note}", err=True)
    if out is not None:
        csv = write_csv(chosen.drop(columns="geometry"), out / "chosen_sites.csv")
        geo = write_atomic(out / "chosen_sites.geojson", lambda p: chosen.to_file(p, driver="GeoJSON"))
        typer.echo(f"wrote {csv}\nwrote {geo}")


def _read_points(path: Path) -> Any:
    """Read candidate sites (points) from a vector file, with the library's clear errors."""
    import geopandas as gpd

    from socialmap.errors import DataSourceError

    if not path.is_file():
        raise DataSourceError(
            f"{path}: no such file. Give 'areas', 'grid' or a GeoJSON/GPKG of candidate points."
        )
    try:
        points = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
        raise DataSourceError(f"{path}: cannot be read as a vector file of points ({exc}).") from exc
    if points.crs is None:
        raise SocialMapError(f"{path} has no CRS; save it with one (GeoJSON is always longitude/latitude).")
    return points


@app.command()
def scenario(
    edits: Annotated[
        list[Path],
        typer.Option(
            "--edits",
            help="CSV/XLSX of edits (action, service_id, service_type, capacity, lon, lat); "
            "one scenario per file, repeatable.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder to write the comparisons into.")],
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    service_type: Annotated[
        list[str] | None, typer.Option("--service-type", help="Analyse only these types (repeatable).")
    ] = None,
) -> None:
    """Run what-if scenarios (services added, removed, moved, resized) and compare them with today."""
    from socialmap.export import write_csv
    from socialmap.pipeline import AnalysisConfig
    from socialmap.scenario import compare_many, read_scenario, run_scenarios

    if demo is None and (areas is None or services is None or population is None):
        raise SocialMapError("Give --demo kosovo, or all three of --areas, --services and --population.")
    config = AnalysisConfig(
        method=method,  # type: ignore[arg-type]
        catchment_m=catchment_m,
        service_types=tuple(service_type) if service_type else None,
    )
    scenarios = [read_scenario(path) for path in edits]
    base = {
        "demo": demo,
        "areas": areas,
        "services": services,
        "population": population,
        "taxonomy": taxonomy,
    }
    runs = run_scenarios({k: v for k, v in base.items() if v is not None}, scenarios, config)
    first = next(iter(runs.values()))
    results = {"today": first.base, **{name: r.result for name, r in runs.items()}}
    totals = compare_many(results, base="today", level="total", metrics=("unmet_need", "gap_score"))
    typer.echo(totals.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    written = [
        write_csv(compare_many(results, base="today"), out / "scenarios_by_area.csv"),
        write_csv(totals, out / "scenarios_total.csv"),
    ]
    for name, r in runs.items():
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        written.append(r.comparison.write(out / f"scenario_{safe}.xlsx"))
        for note in r.comparison.notes:
            typer.echo(f"note ({name}): {note}", err=True)
    for path in written:
        typer.echo(f"wrote {path}")


def main() -> None:
    """Run the command line, turning the library's errors into messages and exit code 2."""
    try:
        app()
    except SocialMapError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
