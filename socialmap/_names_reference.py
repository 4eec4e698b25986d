"""
The reference areas and the alias tables that names are matched against.

The entities of a reference table (their keys and every name column), alias tables (:func:`read_aliases`,
:func:`kosovo_aliases`) grouped by the name they stand for. Import them from :mod:`socialmap.names`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from socialmap._names_normal import _parse, _Parsed
from socialmap.errors import Problem, ValidationError


@dataclass
class _Entity:
    key: Hashable
    label: str
    names: list[str]
    parsed: list[_Parsed] = field(default_factory=list)
    alias_forms: list[str] = field(default_factory=list)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _problem(arg: str, message: str, fix: str, column: str | None = None) -> Problem:
    return Problem(file=f"`{arg}`", row=None, column=column, message=message, fix=fix)


def _default_name_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if isinstance(c, str) and (c == "name" or c.startswith("name_"))]


def _entities_from_reference(
    reference: Any, key: str | None, name_columns: Sequence[str] | None
) -> list[_Entity]:
    """Turn the accepted reference shapes into a list of entities; raise on bad input."""
    problems: list[Problem] = []
    raw: list[tuple[Hashable, list[Any]]] = []
    if isinstance(reference, pd.DataFrame):
        cols = list(name_columns) if name_columns is not None else _default_name_columns(reference)
        missing = [c for c in cols if c not in reference.columns]
        if not cols or missing:
            raise ValidationError(
                [
                    _problem(
                        "reference",
                        f"name column(s) {missing or cols} not found; found {list(reference.columns)}.",
                        "Pass `name_columns=[...]` naming the columns that hold names.",
                    )
                ]
            )
        if key is None:
            keys = reference["area_id"] if "area_id" in reference.columns else reference.index.to_series()
        elif key in reference.columns:
            keys = reference[key]
        else:
            raise ValidationError(
                [
                    _problem(
                        "reference",
                        f"key column '{key}' not found; found {list(reference.columns)}.",
                        "Pass `key=` the column holding each area's id, or leave it out to use "
                        "`area_id` (or the index).",
                    )
                ]
            )
        for k, (_, row) in zip(keys, reference[cols].iterrows(), strict=True):
            raw.append((k, list(row)))
    elif isinstance(reference, pd.Series):
        raw = [(k, [v]) for k, v in reference.items()]
    elif isinstance(reference, Mapping):
        for k, v in reference.items():
            raw.append((k, [v] if isinstance(v, str) or not isinstance(v, Iterable) else list(v)))
    elif isinstance(reference, str) or not isinstance(reference, Iterable):
        raise ValidationError(
            [
                _problem(
                    "reference",
                    f"expected a list of names, a Series, a mapping key -> name(s) or a DataFrame; "
                    f"got {type(reference).__name__}.",
                    "Pass e.g. `areas[['area_id', 'name_sq', 'name_sr', 'name_en']]` or a list of names.",
                )
            ]
        )
    else:
        raw = [(v, [v]) for v in reference]

    entities: list[_Entity] = []
    seen: dict[Hashable, int] = {}
    for position, (k, values) in enumerate(raw, start=1):
        if _is_missing(k):
            problems.append(
                _problem("reference", f"entry {position} has no key.", "Give every reference area an id.")
            )
            continue
        bad = [v for v in values if not _is_missing(v) and not isinstance(v, str)]
        names = [v for v in values if isinstance(v, str) and _parse(v).forms]
        if bad:
            problems.append(
                _problem(
                    "reference",
                    f"entry {k!r} has names that are not text: {bad!r}.",
                    "Give reference names as text.",
                )
            )
        elif not names:
            problems.append(
                _problem(
                    "reference",
                    f"entry {k!r} has no usable name (found {values!r}).",
                    "Give every reference area at least one name.",
                )
            )
        if k in seen:
            problems.append(
                _problem(
                    "reference",
                    f"key {k!r} appears more than once.",
                    "Give every reference area a unique key (remove duplicate names from a list).",
                )
            )
        seen[k] = position
        if names and not bad:
            entities.append(_Entity(key=k, label=names[0], names=names, parsed=[_parse(n) for n in names]))
    if problems:
        raise ValidationError(problems)
    return entities


def _alias_groups(aliases: Any) -> dict[str, list[str]]:
    """Return {group name: [group name, alias, ...]} from a DataFrame or mapping alias -> name."""
    if aliases is None:
        return {}
    if isinstance(aliases, pd.DataFrame):
        missing = [c for c in ("alias", "name") if c not in aliases.columns]
        if missing:
            raise ValidationError(
                [
                    _problem(
                        "aliases",
                        f"missing column(s) {missing}; found {list(aliases.columns)}.",
                        "Give a table with columns `alias` (the other name) and `name` (a name of "
                        "the reference area), e.g. from `read_aliases(path)`.",
                    )
                ]
            )
        pairs = list(zip(aliases["alias"], aliases["name"], strict=True))
    elif isinstance(aliases, Mapping):
        pairs = list(aliases.items())
    else:
        raise ValidationError(
            [
                _problem(
                    "aliases",
                    "expected a DataFrame (alias, name) or a mapping alias -> name; "
                    f"got {type(aliases).__name__}.",
                    "Use `read_aliases(path)` or `kosovo_aliases()`, or pass a dict.",
                )
            ]
        )
    problems = []
    groups: dict[str, list[str]] = {}
    for position, (alias, name) in enumerate(pairs, start=1):
        if not isinstance(alias, str) or not isinstance(name, str) or not alias.strip() or not name.strip():
            problems.append(
                _problem(
                    "aliases",
                    f"row {position} is not a pair of names: {alias!r} -> {name!r}.",
                    "Fill in both `alias` and `name` as text.",
                )
            )
            continue
        group = groups.setdefault(name, [name])
        if alias not in group:
            group.append(alias)
    if problems:
        raise ValidationError(problems)
    return groups


def _read_alias_text(text: str, label: str) -> pd.DataFrame:
    body = "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))
    frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    missing = [c for c in ("alias", "name") if c not in frame.columns]
    if missing:
        raise ValidationError(
            [
                Problem(
                    file=label,
                    row=None,
                    column=None,
                    message=f"missing column(s) {missing}; found {list(frame.columns)}.",
                    fix="The first non-comment line must be a header with at least `alias,name`.",
                )
            ]
        )
    return frame


def read_aliases(path: str | Path) -> pd.DataFrame:
    """
    Read an alias table from a CSV file.

    The file has a header with at least the columns ``alias`` (another name of an area) and
    ``name`` (a name the reference uses for that area, in any of its languages); other columns,
    such as ``source``, are kept. Lines starting with ``#`` are comments.

    Parameters
    ----------
    path
        The CSV file (UTF-8).

    Returns
    -------
    aliases
        One row per alias, every column as text.
    """
    path = Path(path)
    return _read_alias_text(path.read_text(encoding="utf-8"), str(path))


def kosovo_aliases() -> pd.DataFrame:
    """
    Return the alias table shipped for Kosovo's 38 municipalities.

    Serbian Latin and English names, former names (Gllogoc, Glogovac for Drenas) and known
    misspellings (Zveqan), each mapped to the official Albanian name, with a ``source`` column.

    Returns
    -------
    aliases
        Columns ``alias``, ``name``, ``source``.

    Examples
    --------
    >>> aliases = kosovo_aliases()
    >>> aliases.loc[aliases["alias"] == "Glogovac", "name"].item()
    'Drenas'
    """
    resource = resources.files("socialmap").joinpath("data/aliases_kosovo.csv")
    return _read_alias_text(resource.read_text(encoding="utf-8"), "socialmap/data/aliases_kosovo.csv")
