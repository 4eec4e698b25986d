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
_Spreading = Annotated[str, typer.Option(help="representative or grid.")]
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
    spreading: str = "representative",
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
    spreading: _Spreading = "representative",
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


def main() -> None:
    """Run the command line, turning the library's errors into messages and exit code 2."""
    try:
        app()
    except SocialMapError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
