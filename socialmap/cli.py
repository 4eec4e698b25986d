"""The ``socialmap`` command line: a thin face over the library.

Every command catches the library's own errors and prints their message (never a traceback);
exit codes: 0 success, 1 the input has errors (``validate``), 2 the command could not run.

Every command takes ``--lang en|sq|sr`` for its messages and outputs (default: ``SOCIALMAP_LANG``,
else the locale, see :func:`socialmap.i18n.default_language`). The help texts are in the default
language, since they are written before the options are read.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from socialmap import errors
from socialmap.errors import SocialMapError
from socialmap.i18n import N_, check_language, format_number, localise_number, nt, t

app = typer.Typer(
    name="socialmap",
    help=t("Social-service mapping and needs analysis."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help=t("Log progress (INFO) to stderr."))
    ] = False,
) -> None:
    """Social-service mapping and needs analysis."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


_Lang = Annotated[
    str | None, typer.Option(help=t("Language: en, sq or sr (default: SOCIALMAP_LANG / the locale)."))
]
_Columns = Annotated[
    str | None,
    typer.Option(
        help=t(
            "Your column names: 'their=ours,...' (e.g. 'Emri=name,Kapaciteti=capacity'); each pair is used "
            "for the file that has that column. Without it, columns are recognised by their usual names."
        )
    ),
]


_GroupWeights = Annotated[
    str | None,
    typer.Option(
        "--group-weights",
        help=t(
            "Weights of the target groups' people in the composite gap: 'group=number,...' (e.g. "
            "older_people_65plus=2,persons_with_disabilities=1). Groups not named keep the taxonomy's "
            "weight; 0 leaves a group out."
        ),
    ),
]


def _columns_for(paths: list[Path], text: str | None) -> dict[Path, dict[str, str]]:
    """
    Split ``--columns`` between the files: each pair goes to the files whose header has its column.

    Raises
    ------
    SocialMapError
        When a pair is badly written, or names a column no file has.
    """
    from socialmap.columns import normalise_header, parse_columns
    from socialmap.errors import DataSourceError
    from socialmap.preview import preview_file

    pairs = parse_columns(text)
    if not pairs:
        return {}
    out: dict[Path, dict[str, str]] = {}
    used: set[str] = set()
    for path in paths:
        try:
            header = {normalise_header(c) for c in preview_file(path, n=0).columns}
        except DataSourceError:
            continue  # reported when the file is read
        mine = {k: v for k, v in pairs.items() if normalise_header(k) in header}
        if mine:
            out[path] = mine
            used.update(mine)
    unused = [k for k in pairs if k not in used]
    if unused:
        raise SocialMapError(
            N_("--columns names {columns}, but no file given has such a column."),
            columns=", ".join(f"'{k}'" for k in unused),
        )
    return out


@app.command(help=t("Check input files and print every problem found, with row, column and how to fix it."))
def validate(
    files: Annotated[list[Path], typer.Argument(help=t("Files to check (areas, services or population)."))],
    kind: Annotated[
        str | None,
        typer.Option(help=t("areas, services or population; guessed from the file when omitted.")),
    ] = None,
    taxonomy: Annotated[
        str | None, typer.Option(help=t("Taxonomy YAML (default: the Kosovo taxonomy) for service types."))
    ] = None,
    columns: _Columns = None,
    lang: _Lang = None,
) -> None:
    """Check input files and print every problem found, with row, column and how to fix it."""
    from socialmap.taxonomy import load_taxonomy
    from socialmap.validate import validate_file

    lang = check_language(lang)
    if kind is not None and kind not in ("areas", "services", "population"):
        raise SocialMapError(
            t("--kind {kind} is not one of: areas, services, population.", lang, kind=repr(kind))
        )
    tax = load_taxonomy(taxonomy)
    mappings = _columns_for(list(files), columns)
    failed = 0
    for path in files:
        report = validate_file(path, kind=kind, taxonomy=tax, columns=mappings.get(path))
        typer.echo(report.format(lang))
        failed += not report.ok
    if failed:
        message = nt(
            "{failed} of {total} file has errors.",
            "{failed} of {total} files have errors.",
            len(files),
            lang,
            failed=failed,
            total=len(files),
        )
        typer.echo(message, err=True)
        raise typer.Exit(1)


@app.command(
    "fetch-boundaries", help=t("Download official boundaries from geoBoundaries, check them and cache them.")
)
def fetch_boundaries(
    iso: Annotated[
        str, typer.Argument(help=t("ISO 3166-1 alpha-3 country code, e.g. XKX for Kosovo."))
    ] = "XKX",
    level: Annotated[str, typer.Option(help=t("Administrative level, ADM0 to ADM5."))] = "ADM2",
    file: Annotated[
        Path | None, typer.Option(help=t("Use a file you downloaded by hand instead of downloading."))
    ] = None,
    refresh: Annotated[bool, typer.Option(help=t("Download again even if cached."))] = False,
    lang: _Lang = None,
) -> None:
    """Download official boundaries from geoBoundaries, check them and cache them."""
    from socialmap import datasets

    lang = check_language(lang)

    def progress(done: int, total: int | None) -> None:
        size = format_number(done / 1024, lang, decimals=0)
        if total:
            whole = format_number(total / 1024, lang, decimals=0)
            shown = t("{done} KB of {total} KB", lang, done=size, total=whole)
        else:
            shown = t("{done} KB", lang, done=size)
        sys.stderr.write("\r" + t("downloading {size}", lang, size=shown))
        sys.stderr.flush()

    path = datasets.fetch_boundaries(iso, level=level, file=file, refresh=refresh, progress=progress)
    sys.stderr.write("\n")
    typer.echo(t("Boundaries cached at {path}", lang, path=path))
    typer.echo(t("Attribution: {text}", lang, text=t(datasets.GEOBOUNDARIES_ATTRIBUTION, lang)))
    if iso.upper() == "XKX":
        typer.echo(
            t(
                "Use them with the Kosovo demo's population and services: --demo kosovo --areas {path}",
                lang,
                path=path,
            )
        )


_Demo = Annotated[str | None, typer.Option(help=t("Embedded demo supplying inputs not given, e.g. kosovo."))]
_Areas = Annotated[Path | None, typer.Option(help=t("Areas file (replaces the demo's)."))]
_Services = Annotated[Path | None, typer.Option(help=t("Services file (replaces the demo's)."))]
_Population = Annotated[Path | None, typer.Option(help=t("Population file (replaces the demo's)."))]
_Taxonomy = Annotated[str | None, typer.Option(help=t("Taxonomy YAML (default: the demo's or Kosovo's)."))]
_Method = Annotated[str, typer.Option(help=t("2sfca, e2sfca or coverage."))]
_Catchment = Annotated[
    float | None,
    typer.Option(help=t("Catchment in metres for every service type (default: the taxonomy's).")),
]
_Roads = Annotated[
    Path | None,
    typer.Option(
        help=t(
            "Road network: an OpenStreetMap extract (.osm.pbf) or a graph saved by 'socialmap roads' (.npz); "
            "catchments are then travel times in minutes."
        )
    ),
]
_Mode = Annotated[str, typer.Option(help=t("With --roads: drive or walk."))]
_CatchmentMin = Annotated[
    float | None,
    typer.Option(
        help=t(
            "With --roads: catchment in minutes of travel for every service type "
            "(default: the taxonomy's, else 30)."
        )
    ),
]
_Spreading = Annotated[
    str, typer.Option(help=t("grid (cells of --cell-size-m) or representative (a point per area)."))
]
_CellSize = Annotated[float, typer.Option(help=t("Grid cell size in metres (spreading=grid)."))]
_Threshold = Annotated[
    float | None, typer.Option(help=t("Hide counts of sensitive groups below this (default: settings, 5)."))
]
_Standards = Annotated[
    list[str] | None,
    typer.Option(
        "--standard",
        help=t("Planning standard TYPE=PLACES per 1,000 of the target group, e.g. csw=0.5 (repeatable)."),
    ),
]
_UnitCosts = Annotated[
    list[str] | None,
    typer.Option(
        "--unit-cost",
        help=t("Unit cost TYPE=EUR per place per year, e.g. day_care_disability=4200 (repeatable)."),
    ),
]
_ServiceTypes = Annotated[
    list[str] | None, typer.Option("--service-type", help=t("Analyse only these types (repeatable)."))
]
_Workspace = Annotated[
    Path | None,
    typer.Option(
        help=t(
            "Workspace (.gpkg saved by the app or --save-workspace): its inputs, taxonomy, analysis options "
            "(and scenarios) replace the input and analysis options."
        )
    ),
]
_SaveWorkspace = Annotated[
    Path | None,
    typer.Option(
        help=t(
            "Also save the inputs, options (and scenarios) as a workspace (.gpkg). It holds raw counts: "
            "never publish it."
        )
    ),
]


def _type_labels(taxonomy: Any, lang: str) -> dict[str, str]:
    """Labels of the service types in ``lang`` (empty if the taxonomy cannot be read here)."""
    from socialmap.taxonomy import load_taxonomy

    try:
        tax = taxonomy if hasattr(taxonomy, "service_type_keys") else load_taxonomy(taxonomy)
    except SocialMapError:
        return {}
    return {key: tax.label(key, lang) for key in tax.service_type_keys}


def _user_figures(values: list[str] | None, option: str, lang: str) -> dict[str, float] | None:
    """Parse repeated ``TYPE=NUMBER`` options (``--standard``, ``--unit-cost``); ``None`` when none."""
    if not values:
        return None
    out: dict[str, float] = {}
    for value in values:
        from socialmap.validate import parse_number

        key, sep, number = value.partition("=")
        figure, ok = parse_number(number) if sep else (float("nan"), False)
        if not key.strip() or not ok or not figure >= 0:  # NaN (missing or not a number) fails too
            raise SocialMapError(
                t(
                    "{option} {value}: write TYPE=NUMBER, a service type and a number of 0 or more "
                    "(e.g. {option} csw=0.5).",
                    lang,
                    option=option,
                    value=repr(value),
                )
            )
        out[key.strip()] = figure
    return out


def _costing(result: Any, standards: list[str] | None, unit_costs: list[str] | None, lang: str) -> Any:
    """Cost with the user's standards and unit costs; ``None`` (the taxonomy's) when none are given."""
    std = _user_figures(standards, "--standard", lang)
    cost = _user_figures(unit_costs, "--unit-cost", lang)
    if std is None and cost is None:
        return None
    from socialmap.costing import places_and_budget

    return places_and_budget(result, standards=std, unit_costs=cost)


def _group_weights(text: str | None, taxonomy: Any, lang: str) -> dict[str, float] | None:
    """
    Parse ``--group-weights`` into the composite's weight of every target group; ``None`` when not given.

    ``group=number`` pairs separated by commas (or semicolons; ``older=0,5`` has a decimal comma); a
    group not named keeps the taxonomy's weight. A group the taxonomy does not have, a number that
    is not finite and ≥ 0, a group named twice, or every weight 0 is an error naming the pair and
    the groups there are.
    """
    if text is None:
        return None
    from socialmap.taxonomy import load_taxonomy
    from socialmap.validate import parse_number

    tax = taxonomy if hasattr(taxonomy, "target_group_keys") else load_taxonomy(taxonomy)
    groups = ", ".join(f"{k} ({tax.label(k, lang)})" for k in tax.target_group_keys)
    weights = dict(tax.group_weights())
    named: set[str] = set()
    # a comma before the next GROUP= separates pairs; any other is a decimal comma (older=0,5)
    pairs = [p.strip() for p in re.split(r";|,(?=[^,;=]*=)", text)]
    for pair in pairs:
        key, sep, number = (part.strip() for part in pair.partition("="))
        figure, ok = parse_number(number) if sep else (float("nan"), False)
        if not key or not ok or not (math.isfinite(figure) and figure >= 0):
            raise SocialMapError(
                t(
                    "--group-weights {value}: write GROUP=NUMBER pairs separated by commas, each weight a "
                    "number of 0 or more (e.g. --group-weights older_people_65plus=2,"
                    "persons_with_disabilities=1). Target groups: {groups}.",
                    lang,
                    value=repr(pair),
                    groups=groups,
                )
            )
        if key not in weights:
            raise SocialMapError(
                t(
                    "--group-weights: {group} is not a target group of the taxonomy. "
                    "Target groups: {groups}.",
                    lang,
                    group=repr(key),
                    groups=groups,
                )
            )
        if key in named:
            raise SocialMapError(
                t("--group-weights names {group} twice; give each group once.", lang, group=repr(key))
            )
        named.add(key)
        weights[key] = float(figure)
    if not any(w > 0 for w in weights.values()):
        raise SocialMapError(
            t(
                "--group-weights leaves every target group at weight 0: give at least one a weight above 0.",
                lang,
            )
        )
    return weights


def _missing_inputs(lang: str) -> SocialMapError:
    return SocialMapError(
        t("Give --demo kosovo, or all three of --areas, --services and --population.", lang)
    )


def _mappings(
    areas: Path | None, services: Path | None, population: Path | None, columns: str | None
) -> dict[str, dict[str, str]]:
    """Split ``--columns`` between the input files: ``{"services": {"their": "ours"}, ...}``."""
    given = {k: p for k, p in (("areas", areas), ("services", services), ("population", population)) if p}
    by_path = _columns_for(list(given.values()), columns)
    return {k: by_path[p] for k, p in given.items() if p in by_path}


def _open_workspace(path: Path, given: dict[str, Any], lang: str) -> Any:
    """Load ``--workspace``, refusing input or analysis options given beside it (they would be ignored)."""
    from socialmap import workspace

    clash = [f"--{name.replace('_', '-')}" for name, value in given.items() if value]
    if clash:
        raise SocialMapError(
            t(
                "--workspace brings its own inputs and analysis options; leave out {options}, or save a new "
                "workspace with them.",
                lang,
                options=", ".join(clash),
            )
        )
    return workspace.load(path)


def _save_workspace(path: Path, lang: str, opened: Any = None, **fields: Any) -> None:
    from socialmap import workspace

    written = workspace.save(path, opened, **{k: v for k, v in fields.items() if v is not None})
    typer.echo(t("wrote workspace: {path} (it holds raw counts: never publish it)", lang, path=written))


def _road_graph(roads: Path | None, mode: str, lang: str) -> Any:
    """Read the road network of ``--roads`` (``None`` without it), checking ``--mode``."""
    if mode not in ("drive", "walk"):
        raise SocialMapError(t("--mode must be drive or walk; got {value}.", lang, value=repr(mode)))
    if roads is None:
        return None
    from socialmap.network import read

    return read(roads, mode=mode)  # type: ignore[arg-type]


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
    lang: str = "en",
    roads: Path | None = None,
    mode: str = "drive",
    catchment_min: float | None = None,
    columns: str | None = None,
    workspace: Any = None,
    group_weights: str | None = None,
) -> Any:
    """
    Run ``analyze`` for a command, with a progress bar on stderr and the run's notes after it.

    With ``workspace`` (a loaded :class:`socialmap.workspace.Workspace`), its inputs and options are used.
    ``group_weights`` is the text of ``--group-weights`` (see :func:`_group_weights`).
    """
    from socialmap.pipeline import AnalysisConfig
    from socialmap.pipeline import analyze as run
    from socialmap.report import run_notes

    inputs: tuple[Any, ...] = (areas, services, population)
    if workspace is not None:
        demo, taxonomy, config = workspace.demo, workspace.taxonomy, workspace.config()
        inputs = (workspace.areas, workspace.services, workspace.population)
        if demo is None and any(i is None for i in inputs):
            raise _missing_inputs(lang)
    else:
        if demo is None and (areas is None or services is None or population is None):
            raise _missing_inputs(lang)
        config = AnalysisConfig(
            method=method,  # type: ignore[arg-type]
            catchment_m=catchment_m,
            spreading=spreading,  # type: ignore[arg-type]
            cell_size_m=cell_size_m,
            service_types=service_types,
            catchment_min=catchment_min,
            weights=_group_weights(group_weights, taxonomy, lang),
        )
    graph = _road_graph(roads, mode, lang)
    mappings = _mappings(areas, services, population, columns)
    labels = {**_type_labels(taxonomy, lang), "done": t("done", lang)}
    with typer.progressbar(length=1, label=t("analysing", lang), file=sys.stderr) as bar:

        def progress(done: int, total: int, message: str) -> None:
            bar.length = total
            bar.label = t("analysing {what}", lang, what=labels.get(message, message))
            bar.update(done - bar.pos)

        result = run(
            *inputs,
            demo=demo,
            taxonomy=taxonomy,
            config=config,
            progress=progress,
            network=graph,
            columns=mappings,
        )
    for note in run_notes(result, lang):
        typer.echo(t("note: {note}", lang, note=note), err=True)
    return result


@app.command(help=t("Run the analysis and write the per-area tables and a gap map."))
def analyze(
    out: Annotated[Path, typer.Option(help=t("Folder to write areas.gpkg, areas.csv and map.html into."))],
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
    spreading: _Spreading = "grid",
    cell_size_m: _CellSize = 1000.0,
    service_type: _ServiceTypes = None,
    map_column: Annotated[str, typer.Option(help=t("Column shown on map.html."))] = "composite_gap",
    group_weights: _GroupWeights = None,
    columns: _Columns = None,
    workspace: _Workspace = None,
    save_workspace: _SaveWorkspace = None,
    lang: _Lang = None,
) -> None:
    """Run the analysis and write the per-area tables and a gap map."""
    from socialmap.export import write_result

    lang = check_language(lang)
    given = {
        "demo": demo,
        "areas": areas,
        "services": services,
        "population": population,
        "taxonomy": taxonomy,
        "method": method != "2sfca",
        "catchment_m": catchment_m,
        "catchment_min": catchment_min,
        "spreading": spreading != "grid",
        "cell_size_m": cell_size_m != 1000.0,
        "service_type": service_type,
        "columns": columns,
        "group_weights": group_weights,
    }
    opened = _open_workspace(workspace, given, lang) if workspace is not None else None
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
        lang=lang,
        roads=roads,
        mode=mode,
        catchment_min=catchment_min,
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
                else {
                    "demo": demo,
                    "areas": areas,
                    "services": services,
                    "population": population,
                    "taxonomy": taxonomy,
                    "mappings": _mappings(areas, services, population, columns),
                    "options": result.config,
                }
            ),
        )
    kinds = {
        "gpkg": t("GeoPackage", lang),
        "csv": t("table (CSV)", lang),
        "map": t("map", lang),
        "provenance": t("provenance", lang),
    }
    for kind, path in write_result(result, out, map_column=map_column, lang=lang).items():
        typer.echo(t("wrote {kind}: {path}", lang, kind=kinds.get(kind, kind), path=path))


@app.command(
    "map",
    help=t("Draw a print-quality gap map (PNG, SVG or PDF) with legend, scale bar, north arrow and sources."),
)
def map_command(
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
    columns: _Columns = None,
    group_weights: _GroupWeights = None,
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
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
        demo,
        areas,
        services,
        population,
        taxonomy,
        method=method,
        catchment_m=catchment_m,
        service_types=(service_type,) if service_type else None,
        lang=lang,
        roads=roads,
        mode=mode,
        catchment_min=catchment_min,
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
def brief_command(
    out: Annotated[Path, typer.Option(help=t("PDF file to write (one A4 page)."))],
    area: Annotated[
        str | None,
        typer.Option(help=t("Municipality (code or any of its names); omit for the national brief.")),
    ] = None,
    columns: _Columns = None,
    group_weights: _GroupWeights = None,
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
    standard: _Standards = None,
    unit_cost: _UnitCosts = None,
) -> None:
    """Write a one-page PDF brief for a municipality (or the whole country), with sources."""
    from socialmap.report import brief

    lang = check_language(lang)
    if out.suffix.lower() != ".pdf":
        raise SocialMapError(t("--out must be a .pdf file; got {name}.", lang, name=repr(out.name)))
    result = _analysis(
        demo,
        areas,
        services,
        population,
        taxonomy,
        method=method,
        catchment_m=catchment_m,
        lang=lang,
        roads=roads,
        mode=mode,
        catchment_min=catchment_min,
        columns=columns,
        group_weights=group_weights,
    )
    costing = _costing(result, standard, unit_cost, lang)
    path = brief(result, area=area, path=out, lang=lang, threshold=threshold, costing=costing)
    typer.echo(t("wrote brief: {path}", lang, path=path))


@app.command(
    "action-plan",
    help=t(
        "Write a draft municipal action plan (Word .docx): situation analysis, priorities, targets by year "
        "with places and budget, and the monitoring table."
    ),
)
def action_plan_command(
    out: Annotated[Path, typer.Option(help=t("Word file to write (.docx)."))],
    area: Annotated[str, typer.Option(help=t("Municipality (code or any of its names)."))],
    targets: Annotated[
        Path, typer.Option(help=t("Targets file (.xlsx or .csv, as written by socialmap.plan or the app)."))
    ],
    columns: _Columns = None,
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
    standard: _Standards = None,
    unit_cost: _UnitCosts = None,
) -> None:
    """Write a draft municipal action plan (Word .docx) for one municipality."""
    from socialmap.actionplan import action_plan
    from socialmap.plan import read_targets

    lang = check_language(lang)
    if out.suffix.lower() != ".docx":
        raise SocialMapError(t("--out must be a .docx file; got {name}.", lang, name=repr(out.name)))
    plan = read_targets(targets)  # before the analysis: a bad targets file fails at once
    result = _analysis(
        demo,
        areas,
        services,
        population,
        taxonomy,
        method=method,
        catchment_m=catchment_m,
        lang=lang,
        roads=roads,
        mode=mode,
        catchment_min=catchment_min,
        columns=columns,
    )
    costing = _costing(result, standard, unit_cost, lang)
    path = action_plan(result, plan, area=area, path=out, lang=lang, threshold=threshold, costing=costing)
    typer.echo(t("wrote action plan: {path}", lang, path=path))


def _year_files(values: list[str] | None, lang: str) -> dict[int, Path]:
    """Parse repeated ``YEAR=FILE`` options (``--population-year``)."""
    out: dict[int, Path] = {}
    for value in values or []:
        year, sep, name = value.partition("=")
        if not sep or not year.strip().isdigit() or not name.strip():
            raise SocialMapError(
                t(
                    "--population-year {value}: write YEAR=FILE, e.g. --population-year "
                    "2011=population_2011.csv.",
                    lang,
                    value=repr(value),
                )
            )
        out[int(year)] = Path(name.strip())
    return out


@app.command(
    "monitor",
    help=t(
        "Write the indicator series of several years (need, places, places per 1,000, share within reach, "
        "gap), the progress against targets and each indicator's definition (.xlsx)."
    ),
)
def monitor_command(
    out: Annotated[Path, typer.Option(help=t("Excel file to write (.xlsx)."))],
    demo: _Demo = None,
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
    areas: _Areas = None,
    services: _Services = None,
    taxonomy: _Taxonomy = None,
    targets: Annotated[
        Path | None, typer.Option(help=t("Targets file (.xlsx or .csv) to measure the progress against."))
    ] = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    lang: _Lang = None,
    threshold: _Threshold = None,
) -> None:
    """Write the indicator series of several years and the progress against targets (.xlsx)."""
    from socialmap.io import read_areas, read_population, read_services
    from socialmap.monitor import analyze_years, demo_years, indicators
    from socialmap.pipeline import AnalysisConfig
    from socialmap.plan import read_targets

    lang = check_language(lang)
    if out.suffix.lower() != ".xlsx":
        raise SocialMapError(t("--out must be a .xlsx file; got {name}.", lang, name=repr(out.name)))
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
def export_command(
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
    columns: _Columns = None,
    group_weights: _GroupWeights = None,
    lang: _Lang = None,
    threshold: _Threshold = None,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
    standard: _Standards = None,
    unit_cost: _UnitCosts = None,
) -> None:
    """Export the results as tables safe to publish (small counts hidden, no spreadsheet formulas)."""
    from socialmap.export import export_table

    lang = check_language(lang)
    result = _analysis(
        demo,
        areas,
        services,
        population,
        taxonomy,
        method=method,
        catchment_m=catchment_m,
        lang=lang,
        roads=roads,
        mode=mode,
        catchment_min=catchment_min,
        columns=columns,
        group_weights=group_weights,
    )
    costing = _costing(result, standard, unit_cost, lang)
    path = export_table(result, out, table=table, sep=sep, lang=lang, threshold=threshold, costing=costing)  # type: ignore[arg-type]
    typer.echo(t("wrote table: {path}", lang, path=path))


@app.command(
    help=t(
        "Write an Excel template to fill in: services (headers and service types in your language, a "
        "drop-down of the types) or population (every municipality listed)."
    )
)
def template(
    kind: Annotated[str, typer.Argument(help=t("services or population."))],
    out: Annotated[Path, typer.Option(help=t("The .xlsx file to write."))],
    demo: _Demo = None,
    areas: Annotated[
        Path | None, typer.Option(help=t("Areas file whose municipalities the population lists."))
    ] = None,
    taxonomy: _Taxonomy = None,
    lang: _Lang = None,
) -> None:
    """Write an Excel template to fill in (services or population)."""
    from socialmap.taxonomy import load_taxonomy
    from socialmap.templates import population_template, services_template

    lang = check_language(lang)
    if kind not in ("services", "population"):
        raise SocialMapError(t("KIND must be services or population; got {kind}.", lang, kind=repr(kind)))
    if out.suffix.lower() != ".xlsx":
        raise SocialMapError(t("--out must end in .xlsx; got {name}.", lang, name=repr(out.name)))
    if kind == "services":
        services_template(load_taxonomy(taxonomy) if taxonomy else None, lang=lang, path=out)
    else:
        if areas is not None:
            from socialmap.io import read_areas

            frame = read_areas(areas)
        elif demo is not None:
            from socialmap.datasets import load_demo

            frame = load_demo(demo).areas
        else:
            raise SocialMapError(t("Name the municipalities: --areas FILE or --demo kosovo.", lang))
        population_template(frame, lang=lang, path=out)
    typer.echo(t("wrote {kind}: {path}", lang, kind=t("template", lang), path=out))


@app.command(help=t("Read an OpenStreetMap extract into a road graph once and save it (.npz) for --roads."))
def roads(
    osm: Annotated[Path, typer.Argument(help=t("OpenStreetMap extract (.osm.pbf or .osm)."))],
    out: Annotated[Path, typer.Option(help=t("File to write (.npz)."))],
    mode: _Mode = "drive",
    lang: _Lang = None,
) -> None:
    """Read an OpenStreetMap extract into a road graph once and save it (.npz) for --roads."""
    from socialmap.network import read_osm, save

    lang = check_language(lang)
    if mode not in ("drive", "walk"):
        raise SocialMapError(t("--mode must be drive or walk; got {value}.", lang, value=repr(mode)))
    graph = read_osm(osm, mode=mode)  # type: ignore[arg-type]
    path = save(graph, out)
    dropped = int(graph.provenance.get("nodes_dropped_outside_largest_component", 0))
    typer.echo(
        t(
            "wrote road graph: {path} ({nodes} junctions, {edges} road links; {dropped} junctions cut off "
            "from the rest left out)",
            lang,
            path=path,
            nodes=format_number(graph.n_nodes, lang, decimals=0),
            edges=format_number(graph.n_edges, lang, decimals=0),
            dropped=format_number(dropped, lang, decimals=0),
        )
    )


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
def optimise(
    service_type: Annotated[
        str, typer.Option("--service-type", help=t("Service type to place, e.g. day_care_disability."))
    ],
    k: Annotated[int, typer.Option("--k", help=t("Number of new sites."))] = 1,
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    candidates: Annotated[
        str,
        typer.Option(
            help=t("Where new sites may go: 'areas' (a point in each area), 'grid', or a GeoJSON/GPKG.")
        ),
    ] = "grid",
    cell_size_m: Annotated[
        float, typer.Option(help=t("Grid cell in metres, for demand and grid candidates."))
    ] = 2000.0,
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
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
    columns: _Columns = None,
    lang: _Lang = None,
) -> None:
    """Choose where K new services of one type would reach the most need that no service reaches yet."""
    from socialmap.atomic import write_atomic
    from socialmap.optimise import place_services
    from socialmap.privacy import marked
    from socialmap.writers import write_csv

    lang = check_language(lang)
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
        lang=lang,
        roads=roads,
        mode=mode,
        catchment_min=catchment_min,
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
    label = _type_labels(taxonomy, lang).get(service_type, service_type)
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
def scenario(
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
    demo: _Demo = None,
    areas: _Areas = None,
    services: _Services = None,
    population: _Population = None,
    taxonomy: _Taxonomy = None,
    method: _Method = "2sfca",
    catchment_m: _Catchment = None,
    roads: _Roads = None,
    mode: _Mode = "drive",
    catchment_min: _CatchmentMin = None,
    service_type: _ServiceTypes = None,
    workspace: _Workspace = None,
    save_workspace: _SaveWorkspace = None,
    lang: _Lang = None,
) -> None:
    """Run what-if scenarios (services added, removed, moved, resized) and compare them with today."""
    from socialmap.pipeline import AnalysisConfig
    from socialmap.privacy import marked, protect, protect_many
    from socialmap.scenario import compare_many, read_scenario, run_scenarios
    from socialmap.writers import write_csv

    lang = check_language(lang)
    scenarios = [read_scenario(path) for path in edits or []]
    if workspace is not None:
        given = {
            "demo": demo,
            "areas": areas,
            "services": services,
            "population": population,
            "taxonomy": taxonomy,
            "method": method != "2sfca",
            "catchment_m": catchment_m,
            "catchment_min": catchment_min,
            "service_type": service_type,
        }
        opened = _open_workspace(workspace, given, lang)
        config = opened.config()
        scenarios = [*opened.scenarios, *scenarios]
        base = {
            "demo": opened.demo,
            "areas": opened.areas,
            "services": opened.services,
            "population": opened.population,
            "taxonomy": opened.taxonomy,
        }
        if opened.demo is None and any(base[k] is None for k in ("areas", "services", "population")):
            raise _missing_inputs(lang)
    else:
        opened = None
        if demo is None and (areas is None or services is None or population is None):
            raise _missing_inputs(lang)
        config = AnalysisConfig(
            method=method,  # type: ignore[arg-type]
            catchment_m=catchment_m,
            service_types=tuple(service_type) if service_type else None,
            catchment_min=catchment_min,
        )
        base = {
            "demo": demo,
            "areas": areas,
            "services": services,
            "population": population,
            "taxonomy": taxonomy,
        }
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
    base["network"] = _road_graph(roads, mode, lang)
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


def _argv_language(argv: list[str]) -> str | None:
    """Return the ``--lang`` given on the command line if supported (for messages outside a command)."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--lang=") else None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None:
            try:
                return check_language(value)
            except SocialMapError:
                return None
    return None


def main() -> None:
    """
    Run the command line, turning the library's errors into messages (in ``--lang``) and exit code 2.

    Failures of the system (a file that cannot be read or written, memory running out) are messages
    with exit code 2 too, never a traceback; their traceback is logged with ``-v``.
    """
    try:
        app()
    except SocialMapError as exc:
        lang = _argv_language(sys.argv[1:])
        typer.echo(t("error: {message}", lang, message=errors.message(exc, lang)), err=True)
        sys.exit(2)
    except OSError as exc:
        lang = _argv_language(sys.argv[1:])
        logging.getLogger(__name__).info("the command failed", exc_info=True)
        where = exc.filename if exc.filename is not None else t("a file", lang)
        reason = exc.strerror or str(exc) or type(exc).__name__
        typer.echo(
            t(
                "error: {file} cannot be read or written: {error}. Check the path, the folder's permissions "
                "and the free space.",
                lang,
                file=where,
                error=reason,
            ),
            err=True,
        )
        sys.exit(2)
    except MemoryError:
        lang = _argv_language(sys.argv[1:])
        typer.echo(
            t(
                "error: the computer ran out of memory. Use smaller inputs or a coarser grid "
                "(--cell-size-m).",
                lang,
            ),
            err=True,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
