"""The ``socialmap`` command line: a thin face over the library.

Every command catches the library's own errors and prints their message (never a traceback);
exit codes: 0 success, 1 the input has errors (``validate``), 2 the command could not run.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

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


@app.command()
def analyze(
    out: Annotated[Path, typer.Option(help="Folder to write areas.gpkg, areas.csv and map.html into.")],
    demo: Annotated[
        str | None, typer.Option(help="Embedded demo supplying inputs not given, e.g. kosovo.")
    ] = None,
    areas: Annotated[Path | None, typer.Option(help="Areas file (replaces the demo's).")] = None,
    services: Annotated[Path | None, typer.Option(help="Services file (replaces the demo's).")] = None,
    population: Annotated[Path | None, typer.Option(help="Population file (replaces the demo's).")] = None,
    taxonomy: Annotated[
        str | None, typer.Option(help="Taxonomy YAML (default: the demo's or Kosovo's).")
    ] = None,
    method: Annotated[str, typer.Option(help="2sfca, e2sfca or coverage.")] = "2sfca",
    catchment_m: Annotated[
        float | None,
        typer.Option(help="Catchment in metres for every service type (default: the taxonomy's)."),
    ] = None,
    spreading: Annotated[str, typer.Option(help="representative or grid.")] = "representative",
    cell_size_m: Annotated[float, typer.Option(help="Grid cell size in metres (spreading=grid).")] = 1000.0,
    service_type: Annotated[
        list[str] | None, typer.Option("--service-type", help="Analyse only these types (repeatable).")
    ] = None,
    map_column: Annotated[str, typer.Option(help="Column shown on map.html.")] = "composite_gap",
) -> None:
    """Run the analysis and write the per-area tables and a gap map."""
    from socialmap.export import write_result
    from socialmap.pipeline import AnalysisConfig
    from socialmap.pipeline import analyze as run

    config = AnalysisConfig(
        method=method,  # type: ignore[arg-type]
        catchment_m=catchment_m,
        spreading=spreading,  # type: ignore[arg-type]
        cell_size_m=cell_size_m,
        service_types=tuple(service_type) if service_type else None,
    )
    if demo is None and (areas is None or services is None or population is None):
        raise SocialMapError("Give --demo kosovo, or all three of --areas, --services and --population.")
    with typer.progressbar(length=1, label="analysing", file=sys.stderr) as bar:

        def progress(done: int, total: int, message: str) -> None:
            bar.length = total
            bar.label = f"analysing {message}"
            bar.update(done - bar.pos)

        result = run(
            areas, services, population, demo=demo, taxonomy=taxonomy, config=config, progress=progress
        )
    paths = write_result(result, out, map_column=map_column)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    for kind, path in paths.items():
        typer.echo(f"wrote {kind}: {path}")


def main() -> None:
    """Run the command line, turning the library's errors into messages and exit code 2."""
    try:
        app()
    except SocialMapError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
