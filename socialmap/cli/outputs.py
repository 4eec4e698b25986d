"""The commands that analyse and write the results.

``analyze``, ``map``, ``brief``, ``action-plan``, ``monitor``, ``export``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from socialmap.cli.base import app
from socialmap.cli.options import (
    Areas,
    Catchment,
    CellSize,
    Columns,
    Costs,
    Demo,
    GroupWeights,
    Inputs,
    Lang,
    Method,
    Reach,
    SaveWorkspace,
    Services,
    ServiceTypes,
    Spreading,
    Taxonomy,
    Threshold,
    Workspace,
    _mappings,
    _year_files,
    grouped,
)
from socialmap.cli.running import _analysis, _given, _open_workspace, _save_workspace
from socialmap.errors import SocialMapError
from socialmap.i18n import check_language, t


@app.command(help=t("Run the analysis and write the per-area tables and a gap map."))
@grouped
def analyze(
    *,
    out: Annotated[Path, typer.Option(help=t("Folder to write areas.gpkg, areas.csv and map.html into."))],
    inputs: Inputs,
    method: Method = "2sfca",
    reach: Reach,
    spreading: Spreading = "grid",
    cell_size_m: CellSize = 1000.0,
    service_type: ServiceTypes = None,
    map_column: Annotated[str, typer.Option(help=t("Column shown on map.html."))] = "composite_gap",
    group_weights: GroupWeights = None,
    columns: Columns = None,
    workspace: Workspace = None,
    save_workspace: SaveWorkspace = None,
    lang: Lang = None,
) -> None:
    """Run the analysis and write the per-area tables and a gap map."""
    from socialmap.export import map_worker, write_result

    worker = map_worker()  # imports folium in a child process while the analysis runs
    lang = check_language(lang)
    given = _given(
        inputs,
        method,
        reach,
        spreading=spreading != "grid",
        cell_size_m=cell_size_m != 1000.0,
        service_type=service_type,
        columns=columns,
        group_weights=group_weights,
    )
    opened = _open_workspace(workspace, given, lang) if workspace is not None else None
    result = _analysis(
        inputs,
        reach,
        method=method,
        spreading=spreading,
        cell_size_m=cell_size_m,
        service_types=tuple(service_type) if service_type else None,
        lang=lang,
        columns=columns,
        workspace=opened,
        group_weights=group_weights,
    )
    if save_workspace is not None:
        _save_workspace(
            save_workspace,
            lang,
            opened,
            **(
                {}
                if opened is not None
                else {**inputs.files(), "mappings": _mappings(inputs, columns), "options": result.config}
            ),
        )
    kinds = {
        "gpkg": t("GeoPackage", lang),
        "csv": t("table (CSV)", lang),
        "map": t("map", lang),
        "provenance": t("provenance", lang),
    }
    for kind, path in write_result(result, out, map_column=map_column, lang=lang, parallel=worker).items():
        typer.echo(t("wrote {kind}: {path}", lang, kind=kinds.get(kind, kind), path=path))


@app.command(
    "map",
    help=t("Draw a print-quality gap map (PNG, SVG or PDF) with legend, scale bar, north arrow and sources."),
)
@grouped
def map_command(
    *,
    out: Annotated[Path, typer.Option(help=t("File to write: .png (1080 px wide), .svg or .pdf."))],
    service_type: Annotated[
        str | None,
        typer.Option("--service-type", help=t("Map this service type (default: the composite gap).")),
    ] = None,
    column: Annotated[
        str | None, typer.Option(help=t("Metric to map (default gap_score; e.g. covered_share, need)."))
    ] = None,
    scheme: Annotated[
        str, typer.Option(help=t("quantiles, natural_breaks, fisher_jenks or equal_interval."))
    ] = ("quantiles"),
    k: Annotated[int, typer.Option(help=t("Number of classes."))] = 5,
    labels: Annotated[bool, typer.Option(help=t("Write the municipality names on the map."))] = False,
    columns: Columns = None,
    group_weights: GroupWeights = None,
    lang: Lang = None,
    threshold: Threshold = None,
    inputs: Inputs,
    method: Method = "2sfca",
    reach: Reach,
) -> None:
    """Draw a print-quality gap map (PNG, SVG or PDF) with legend, scale bar, north arrow and sources."""
    from socialmap.static import FIGURE_FORMATS, gap_map, save_figure

    lang = check_language(lang)
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise SocialMapError(
            t(
                "--out must end in one of {suffixes}; got {name}.",
                lang,
                suffixes=", ".join(FIGURE_FORMATS),
                name=repr(out.name),
            )
        )
    result = _analysis(
        inputs,
        reach,
        method=method,
        service_types=(service_type,) if service_type else None,
        lang=lang,
        columns=columns,
        group_weights=group_weights,
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
    typer.echo(t("wrote map: {path}", lang, path=save_figure(fig, out)))


@app.command(
    "brief", help=t("Write a one-page PDF brief for a municipality (or the whole country), with sources.")
)
@grouped
def brief_command(
    *,
    out: Annotated[Path, typer.Option(help=t("PDF file to write (one A4 page)."))],
    area: Annotated[
        str | None,
        typer.Option(help=t("Municipality (code or any of its names); omit for the national brief.")),
    ] = None,
    columns: Columns = None,
    group_weights: GroupWeights = None,
    lang: Lang = None,
    threshold: Threshold = None,
    inputs: Inputs,
    method: Method = "2sfca",
    reach: Reach,
    costs: Costs,
) -> None:
    """Write a one-page PDF brief for a municipality (or the whole country), with sources."""
    from socialmap.report import brief

    lang = _out_language(out, ".pdf", lang)
    result, costing = _costed_analysis(inputs, reach, costs, method, lang, columns, group_weights)
    path = brief(result, area=area, path=out, lang=lang, threshold=threshold, costing=costing)
    typer.echo(t("wrote brief: {path}", lang, path=path))


@app.command(
    "action-plan",
    help=t(
        "Write a draft municipal action plan (Word .docx): situation analysis, priorities, targets by year "
        "with places and budget, and the monitoring table."
    ),
)
@grouped
def action_plan_command(
    *,
    out: Annotated[Path, typer.Option(help=t("Word file to write (.docx)."))],
    area: Annotated[str, typer.Option(help=t("Municipality (code or any of its names)."))],
    targets: Annotated[
        Path, typer.Option(help=t("Targets file (.xlsx or .csv, as written by socialmap.plan or the app)."))
    ],
    columns: Columns = None,
    lang: Lang = None,
    threshold: Threshold = None,
    inputs: Inputs,
    method: Method = "2sfca",
    reach: Reach,
    costs: Costs,
) -> None:
    """Write a draft municipal action plan (Word .docx) for one municipality."""
    from socialmap.actionplan import action_plan
    from socialmap.plan import read_targets

    lang = _out_language(out, ".docx", lang)
    plan = read_targets(targets)  # before the analysis: a bad targets file fails at once
    result, costing = _costed_analysis(inputs, reach, costs, method, lang, columns)
    path = action_plan(result, plan, area=area, path=out, lang=lang, threshold=threshold, costing=costing)
    typer.echo(t("wrote action plan: {path}", lang, path=path))


@app.command(
    "monitor",
    help=t(
        "Write the indicator series of several years (need, places, places per 1,000, share within reach, "
        "gap), the progress against targets and each indicator's definition (.xlsx)."
    ),
)
def monitor_command(
    out: Annotated[Path, typer.Option(help=t("Excel file to write (.xlsx)."))],
    demo: Demo = None,
    years: Annotated[
        str, typer.Option(help=t("With --demo: the years of its population files, e.g. 2011,2024."))
    ] = "2011,2024",
    population_year: Annotated[
        list[str] | None,
        typer.Option(
            "--population-year",
            help=t("Population of a year, YEAR=FILE (repeatable; replaces the demo's years)."),
        ),
    ] = None,
    areas: Areas = None,
    services: Services = None,
    taxonomy: Taxonomy = None,
    targets: Annotated[
        Path | None, typer.Option(help=t("Targets file (.xlsx or .csv) to measure the progress against."))
    ] = None,
    method: Method = "2sfca",
    catchment_m: Catchment = None,
    lang: Lang = None,
    threshold: Threshold = None,
) -> None:
    """Write the indicator series of several years and the progress against targets (.xlsx)."""
    from socialmap.io import read_areas, read_population, read_services
    from socialmap.monitor import analyze_years, demo_years, indicators
    from socialmap.pipeline import AnalysisConfig
    from socialmap.plan import read_targets

    lang = _out_language(out, ".xlsx", lang)
    plan = read_targets(targets) if targets is not None else None
    config = AnalysisConfig(method=method, catchment_m=catchment_m)  # type: ignore[arg-type]
    files = _year_files(population_year, lang)
    if files:
        if demo is None and (areas is None or services is None):
            raise SocialMapError(
                t("Give --demo kosovo, or --areas and --services, with the --population-year files.", lang)
            )
        area_frame = read_areas(areas) if areas is not None else None
        if area_frame is None:
            from socialmap.datasets import load_demo

            area_frame = load_demo(str(demo)).areas
        pops = {year: read_population(path, areas=area_frame) for year, path in files.items()}
        results = analyze_years(
            pops,
            areas=area_frame,
            services=read_services(services) if services is not None else None,
            demo=demo,
            taxonomy=taxonomy,
            config=config,
        )
    elif demo is not None:
        wanted = [y.strip() for y in years.split(",") if y.strip()]
        if not wanted or not all(y.isdigit() for y in wanted):
            raise SocialMapError(
                t("--years {value}: write years separated by commas, e.g. 2011,2024.", lang, value=years)
            )
        results = demo_years(demo, tuple(int(y) for y in wanted), config=config)
    else:
        raise SocialMapError(t("Give --demo kosovo (its census years), or --population-year files.", lang))
    monitoring = indicators(results, targets=plan, threshold=threshold, lang=lang)
    for note in monitoring.notes:
        typer.echo(t("note: {note}", lang, note=note), err=True)
    path = monitoring.write(out, lang=lang)
    typer.echo(t("wrote indicators: {path}", lang, path=path))


@app.command(
    "export",
    help=t("Export the results as tables safe to publish (small counts hidden, no spreadsheet formulas)."),
)
@grouped
def export_command(
    *,
    out: Annotated[Path, typer.Option(help=t("File to write: .csv, .xlsx, .gpkg or .geojson."))],
    table: Annotated[
        str,
        typer.Option(
            help=t(
                "For CSV/GeoJSON: by_service_type, areas, services, costing, costing_by_area, or (CSV "
                "only) totals and costing_national. An XLSX file holds them all."
            )
        ),
    ] = "by_service_type",
    sep: Annotated[str, typer.Option(help=t("CSV delimiter: ',' or ';' (for a decimal comma)."))] = ",",
    columns: Columns = None,
    group_weights: GroupWeights = None,
    lang: Lang = None,
    threshold: Threshold = None,
    inputs: Inputs,
    method: Method = "2sfca",
    reach: Reach,
    costs: Costs,
) -> None:
    """Export the results as tables safe to publish (small counts hidden, no spreadsheet formulas)."""
    from socialmap.export import export_table

    lang = check_language(lang)
    result = _analysis(
        inputs,
        reach,
        method=method,
        lang=lang,
        columns=columns,
        group_weights=group_weights,
    )
    costing = costs.costing(result, lang)
    path = export_table(result, out, table=table, sep=sep, lang=lang, threshold=threshold, costing=costing)  # type: ignore[arg-type]
    typer.echo(t("wrote table: {path}", lang, path=path))


def _out_language(out: Path, suffix: str, lang: str | None) -> str:
    """Check ``--lang`` and that ``--out`` ends in ``suffix`` (e.g. ``.pdf``); return the language."""
    lang = check_language(lang)
    if out.suffix.lower() != suffix:
        raise SocialMapError(
            t("--out must be a {suffix} file; got {name}.", lang, suffix=suffix, name=repr(out.name))
        )
    return lang


def _costed_analysis(
    inputs: Inputs,
    reach: Reach,
    costs: Costs,
    method: str,
    lang: str,
    columns: str | None,
    group_weights: str | None = None,
) -> tuple[Any, Any]:
    """Run the analysis of a brief or an action plan; return it with its places and budget at the costs."""
    result = _analysis(inputs, reach, method=method, lang=lang, columns=columns, group_weights=group_weights)
    return result, costs.costing(result, lang)
