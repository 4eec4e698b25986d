"""Option types and option groups the commands share, and the parsers of the options' text.

Each option a command shares is declared once here: a single option as an ``Annotated`` alias
(``Lang``, ``Columns``...), a block of options several commands take together as an option group (a
dataclass of aliases: :class:`Inputs`, :class:`Reach`, :class:`Costs`) that a command takes as one
parameter, spliced into its options by :func:`grouped`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

from socialmap.errors import SocialMapError
from socialmap.i18n import N_, t

Lang = Annotated[
    str | None, typer.Option(help=t("Language: en, sq or sr (default: SOCIALMAP_LANG / the locale)."))
]
Columns = Annotated[
    str | None,
    typer.Option(
        help=t(
            "Your column names: 'their=ours,...' (e.g. 'Emri=name,Kapaciteti=capacity'); each pair is used "
            "for the file that has that column. Without it, columns are recognised by their usual names."
        )
    ),
]


GroupWeights = Annotated[
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

Demo = Annotated[str | None, typer.Option(help=t("Embedded demo supplying inputs not given, e.g. kosovo."))]
Areas = Annotated[Path | None, typer.Option(help=t("Areas file (replaces the demo's)."))]
Services = Annotated[Path | None, typer.Option(help=t("Services file (replaces the demo's)."))]
Population = Annotated[Path | None, typer.Option(help=t("Population file (replaces the demo's)."))]
Taxonomy = Annotated[str | None, typer.Option(help=t("Taxonomy YAML (default: the demo's or Kosovo's)."))]
Method = Annotated[str, typer.Option(help=t("2sfca, e2sfca or coverage."))]
Catchment = Annotated[
    float | None,
    typer.Option(help=t("Catchment in metres for every service type (default: the taxonomy's).")),
]
Roads = Annotated[
    Path | None,
    typer.Option(
        help=t(
            "Road network: an OpenStreetMap extract (.osm.pbf) or a graph saved by 'socialmap roads' (.npz); "
            "catchments are then travel times in minutes."
        )
    ),
]
Mode = Annotated[str, typer.Option(help=t("With --roads: drive or walk."))]
CatchmentMin = Annotated[
    float | None,
    typer.Option(
        help=t(
            "With --roads: catchment in minutes of travel for every service type "
            "(default: the taxonomy's, else 30)."
        )
    ),
]
Spreading = Annotated[
    str, typer.Option(help=t("grid (cells of --cell-size-m) or representative (a point per area)."))
]
CellSize = Annotated[float, typer.Option(help=t("Grid cell size in metres (spreading=grid)."))]
Threshold = Annotated[
    float | None, typer.Option(help=t("Hide counts of sensitive groups below this (default: settings, 5)."))
]
Standards = Annotated[
    list[str] | None,
    typer.Option(
        "--standard",
        help=t("Planning standard TYPE=PLACES per 1,000 of the target group, e.g. csw=0.5 (repeatable)."),
    ),
]
UnitCosts = Annotated[
    list[str] | None,
    typer.Option(
        "--unit-cost",
        help=t("Unit cost TYPE=EUR per place per year, e.g. day_care_disability=4200 (repeatable)."),
    ),
]
ServiceTypes = Annotated[
    list[str] | None, typer.Option("--service-type", help=t("Analyse only these types (repeatable)."))
]
Workspace = Annotated[
    Path | None,
    typer.Option(
        help=t(
            "Workspace (.gpkg saved by the app or --save-workspace): its inputs, taxonomy, analysis options "
            "(and scenarios) replace the input and analysis options."
        )
    ),
]
SaveWorkspace = Annotated[
    Path | None,
    typer.Option(
        help=t(
            "Also save the inputs, options (and scenarios) as a workspace (.gpkg). It holds raw counts: "
            "never publish it."
        )
    ),
]


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The input files: ``--demo``, ``--areas``, ``--services``, ``--population``, ``--taxonomy``."""

    demo: Demo = None
    areas: Areas = None
    services: Services = None
    population: Population = None
    taxonomy: Taxonomy = None

    def files(self) -> dict[str, Any]:
        """Return the inputs by name (``demo``, ``areas``...), in the order of the options."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def incomplete(self) -> bool:
        """Tell whether neither a demo nor all three files are given."""
        return self.demo is None and (self.areas is None or self.services is None or self.population is None)


@dataclasses.dataclass(frozen=True)
class Reach:
    """How far services reach: ``--catchment-m``, ``--roads``, ``--mode``, ``--catchment-min``."""

    catchment_m: Catchment = None
    roads: Roads = None
    mode: Mode = "drive"
    catchment_min: CatchmentMin = None


@dataclasses.dataclass(frozen=True)
class Costs:
    """The user's planning standards and unit costs: ``--standard``, ``--unit-cost`` (repeatable)."""

    standard: Standards = None
    unit_cost: UnitCosts = None

    def costing(self, result: Any, lang: str) -> Any:
        """Cost with these standards and unit costs; ``None`` (the taxonomy's) when none are given."""
        std = _user_figures(self.standard, "--standard", lang)
        cost = _user_figures(self.unit_cost, "--unit-cost", lang)
        if std is None and cost is None:
            return None
        from socialmap.costing import places_and_budget

        return places_and_budget(result, standards=std, unit_costs=cost)


_GROUPS = (Inputs, Reach, Costs)
_Command = TypeVar("_Command", bound=Callable[..., Any])


def grouped(command: _Command) -> _Command:
    """
    Let ``command`` take option groups, each as one parameter.

    Each parameter typed :class:`Inputs`, :class:`Reach` or :class:`Costs` becomes the group's
    options, in its place, for typer (and so in ``--help``); the command receives them as one object.
    Put ``@grouped`` below ``@app.command``; the command's parameters are keyword-only (``*``), so that
    a group may stand after options with defaults.
    """
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    groups: dict[str, tuple[type, list[str]]] = {}
    for parameter in signature.parameters.values():
        group = parameter.annotation
        if group not in _GROUPS:
            parameters.append(parameter)
            continue
        hints = get_type_hints(group, include_extras=True)
        names = [f.name for f in dataclasses.fields(group)]
        groups[parameter.name] = (group, names)
        parameters += [
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name]
            )
            for f in dataclasses.fields(group)
        ]

    @functools.wraps(command)
    def run(**options: Any) -> Any:
        for name, (group, names) in groups.items():
            options[name] = group(**{n: options.pop(n) for n in names})
        return command(**options)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run  # type: ignore[return-value]


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


def _mappings(inputs: Inputs, columns: str | None) -> dict[str, dict[str, str]]:
    """Split ``--columns`` between the input files: ``{"services": {"their": "ours"}, ...}``."""
    given = {k: p for k in ("areas", "services", "population") if (p := getattr(inputs, k))}
    by_path = _columns_for(list(given.values()), columns)
    return {k: by_path[p] for k, p in given.items() if p in by_path}


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
