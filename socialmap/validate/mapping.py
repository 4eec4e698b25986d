"""The file's columns onto the column contract, and the start and finish every validator shares.

Columns are mapped from ``columns=``, a known boundaries layout (geoBoundaries' ``shapeID`` /
``shapeName``) or the guess of :mod:`socialmap.columns`; a required column that is missing is an
error that names the closest columns the file has.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap import schema
from socialmap.errors import (
    Message,
    Problem,
)
from socialmap.i18n import N_, Nn_
from socialmap.sources.base import _CONTROL, _LINE_CONTROL
from socialmap.validate.base import (
    KNOWN_AREA_COLUMNS,
    LATITUDE_NAMES,
    LONGITUDE_NAMES,
    _close,
    _Collector,
    _Ints,
    _list,
    _with_hint,
)

logger = logging.getLogger("socialmap.validate")


def _geometry_name(frame: pd.DataFrame) -> str | None:
    """Name of the active geometry column of a GeoDataFrame, or ``None``."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return None
    try:
        name = frame.geometry.name
    except AttributeError:
        return None
    return str(name) if name in frame.columns else None


def _norm(name: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def _contract(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    required = {
        "areas": schema.AREA_REQUIRED,
        "services": schema.SERVICE_REQUIRED,
        "population": schema.POPULATION_REQUIRED,
    }[kind]
    optional = {
        "areas": schema.AREA_OPTIONAL,
        "services": schema.SERVICE_OPTIONAL,
        "population": schema.POPULATION_OPTIONAL,
    }[kind]
    return tuple(n for n in required if n != "geometry"), tuple(optional)


def _map_columns(
    frame: pd.DataFrame,
    columns: dict[str, str] | None,
    known: Iterable[str],
    c: _Collector,
    *,
    kind: str | None = None,
) -> pd.DataFrame:
    """
    Apply the caller's ``columns`` mapping, match contract names ignoring case and spaces, then guess.

    A column that ``columns`` maps to ``""`` is kept under its own name and never guessed. With
    ``kind``, each contract column still missing is looked for under its usual names
    (:func:`socialmap.columns.guess_columns`), with a warning naming what was read as what.
    """
    frame = _clean_headers(frame, c)
    geometry = _geometry_name(frame)
    found = [str(col) for col in frame.columns if col != geometry]
    rename: dict[Any, str] = {}
    kept: set[Any] = set()
    for theirs, ours in (columns or {}).items():
        if theirs in frame.columns:
            hit: list[Any] = [theirs]
        else:
            hit = [col for col in frame.columns if _norm(col) == _norm(theirs)]
        if len(hit) == 1 and not ours:
            kept.add(hit[0])
        elif len(hit) == 1:
            rename[hit[0]] = ours
        elif ours:
            c.add(
                _with_hint(
                    Message(
                        N_(
                            "`columns` maps '{theirs}' to '{ours}', but the file has no column '{theirs}'; "
                            "found {found}."
                        ),
                        theirs=theirs,
                        ours=ours,
                        found=_list(found),
                    ),
                    _close(str(theirs), found),
                ),
                N_("Use the column name exactly as it is in the file's header in `columns=`."),
                column=str(theirs),
            )
    if geometry is not None and geometry in rename:
        rename.pop(geometry)
    frame = frame.rename(columns=rename)
    c.renamed.update({ours: str(theirs) for theirs, ours in rename.items() if str(theirs) != ours})
    taken = {str(col) for col in frame.columns}
    auto: dict[Any, str] = {}
    for name in known:
        if name in taken:
            continue
        loose = [
            col
            for col in frame.columns
            if col not in rename.values() and col not in kept and _norm(col) == name
        ]
        if len(loose) == 1 and loose[0] != geometry:
            auto[loose[0]] = name
            taken.add(name)
    if auto:
        logger.info("%s: matched columns %s", c.file, auto)
        frame = frame.rename(columns=auto)
    if kind is not None:
        frame = _guess_columns(frame, kind, kept, c)
    duplicated = sorted({str(col) for col in frame.columns[frame.columns.duplicated()]})
    for col in duplicated:
        c.renamed.pop(col, None)  # the problem is the contract's name itself
        c.add(
            Message(N_("Two or more columns are named '{col}' (after applying `columns=`)."), col=col),
            Message(N_("Keep one column '{col}': rename or drop the others, or change `columns=`."), col=col),
            column=col,
        )
    if duplicated:
        frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame


def _guess_columns(frame: pd.DataFrame, kind: str, kept: set[Any], c: _Collector) -> pd.DataFrame:
    """Read columns under their usual names as the contract columns still missing (with a warning)."""
    from socialmap.columns import describe, guess_columns

    geometry = _geometry_name(frame)
    present = {str(col) for col in frame.columns}
    has_coords = bool(_coordinate_candidates(frame, LATITUDE_NAMES)) and bool(
        _coordinate_candidates(frame, LONGITUDE_NAMES)
    )
    free = [
        col
        for col in frame.columns
        if col != geometry and col not in kept and str(col) not in _contract_set(kind)
    ]
    guess = guess_columns([str(col) for col in free], kind, geometry=geometry is not None)
    rename: dict[Any, str] = {}
    for theirs, ours in guess.mapping.items():
        if ours in present or theirs == ours:
            continue
        if ours in ("lat", "lon") and (has_coords or geometry is not None):
            continue
        rename[next(col for col in free if str(col) == theirs)] = ours
    for ours, candidates in guess.ambiguous.items():
        if ours not in present and ours not in rename.values():
            c.ambiguous[ours] = candidates
    if not rename:
        return frame
    pairs = {str(k): v for k, v in rename.items()}
    c.renamed.update({ours: theirs for theirs, ours in pairs.items()})
    c.add(
        Message(N_("Read the columns by their names: {mapping}."), mapping=describe(pairs)),
        N_(
            "Nothing to do; if a column was read wrongly, map it yourself with `columns=` "
            "(command line: --columns 'their=ours')."
        ),
        severity="warning",
    )
    logger.info("%s: guessed columns %s", c.file, pairs)
    return frame.rename(columns=rename)


def _contract_set(kind: str) -> set[str]:
    required, optional = _contract(kind)
    return {*required, *optional, *LATITUDE_NAMES, *LONGITUDE_NAMES}


def _clean_headers(frame: pd.DataFrame, c: _Collector) -> pd.DataFrame:
    """Remove control characters from column names (tabs and line breaks become spaces), with a warning."""
    geometry = _geometry_name(frame)
    rename: dict[Any, str] = {}
    for col in frame.columns:
        if col == geometry or not isinstance(col, str):
            continue
        if _CONTROL.search(col) or _LINE_CONTROL.search(col):
            rename[col] = _CONTROL.sub("", _LINE_CONTROL.sub(" ", col)).strip() or "Unnamed"
    if not rename:
        return frame
    c.add(
        Message(
            *Nn_(
                "Removed control characters (invisible characters such as NUL, or tabs and line breaks) from "
                "{n} column name: {names}.",
                "Removed control characters (invisible characters such as NUL, or tabs and line breaks) from "
                "{n} column names: {names}.",
            ),
            len(rename),
            n=len(rename),
            names=_list(rename.values()),
        ),
        N_("Nothing to do (repaired); check the header row of the file."),
        severity="warning",
    )
    return frame.rename(columns=rename)


def _known_layout(frame: pd.DataFrame, columns: dict[str, str] | None, c: _Collector) -> pd.DataFrame:
    """Map the columns of a well-known boundaries layout (geoBoundaries), with a warning."""
    if columns is not None:
        return frame
    for publisher, mapping in KNOWN_AREA_COLUMNS.items():
        if set(mapping) <= set(frame.columns) and not set(mapping.values()) & set(frame.columns):
            c.add(
                Message(
                    N_("Read the {publisher} columns as {mapping}."),
                    publisher=publisher,
                    mapping=", ".join(f"{k} -> {v}" for k, v in mapping.items()),
                ),
                Message(
                    N_("Nothing to do; pass `columns={mapping}` to say so and silence this warning."),
                    mapping=str(mapping),
                ),
                severity="warning",
            )
            return frame.rename(columns=mapping)
    return frame


def _require(frame: pd.DataFrame, kind: str, names: Sequence[str], c: _Collector) -> list[str]:
    """Report each missing required column; return the missing ones."""
    geometry = _geometry_name(frame)
    found = [str(col) for col in frame.columns if col != geometry]
    missing = [n for n in names if n not in frame.columns]
    for name in missing:
        c.add(
            _with_hint(
                Message(_MISSING_COLUMN[kind], name=name, found=_list(found)), _missing_hint(name, found, c)
            ),
            Message(
                N_("Add a column '{name}', or map yours onto it with `columns={{'your column': '{name}'}}`."),
                name=name,
            ),
            column=name,
        )
    return missing


def _missing_hint(name: str, found: Sequence[str], c: _Collector) -> Message | None:
    """Why a required column may seem missing: two candidates, a header not found, or a close name."""
    from socialmap.columns import ambiguity_hint

    if name in c.ambiguous:
        return ambiguity_hint(name, c.ambiguous[name])
    unnamed = sum(str(f).startswith("Unnamed: ") for f in found)
    if found and 2 * unnamed >= len(found):
        return Message(
            N_(
                "The header row was not found: the row read as the header ({header}) has mostly empty "
                "cells. Put the column names in the first row (delete any title rows above them)."
            ),
            header=_list(found, limit=5),
        )
    return _close(name, found)


#: A required column is missing, per kind (one sentence each: the kinds take different grammar).
_MISSING_COLUMN = {
    "areas": N_("Required column '{name}' is missing from the areas; found {found}."),
    "services": N_("Required column '{name}' is missing from the services; found {found}."),
    "population": N_("Required column '{name}' is missing from the population; found {found}."),
}


def _order(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    required, optional = _contract(kind)
    head = [n for n in (*required, *optional) if n in frame.columns]
    geometry = [g for g in [_geometry_name(frame)] if g is not None]
    rest = [col for col in frame.columns if col not in head and col not in geometry]
    return frame[[*head, *rest, *geometry]]


def _head(
    frame: pd.DataFrame, kind: str, *, file: str, rows: _Ints | None, columns: dict[str, str] | None
) -> tuple[pd.DataFrame, _Collector, tuple[str, ...]]:
    """
    Begin the checks of a file of ``kind``: its rows numbered, its columns mapped to the contract.

    Returns the mapped frame, the collector of its problems and the contract's required columns. The
    areas' columns of a well-known boundaries layout (geoBoundaries) are read as such.
    """
    frame, c = _start(frame, file, rows)
    required, optional = _contract(kind)
    frame = _map_columns(frame, columns, (*required, *optional), c, kind=kind)
    if kind == "areas":
        frame = _known_layout(frame, columns, c)
    return frame, c, required


def _start(frame: pd.DataFrame, file: str, rows: _Ints | None) -> tuple[pd.DataFrame, _Collector]:
    frame = _geometry_as_geometry(frame.reset_index(drop=True))
    return frame, _Collector(file, np.arange(1, len(frame) + 1) if rows is None else rows)


def _geometry_as_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    """Name the active geometry column ``geometry`` before any column is matched to the contract.

    A GeoParquet or GeoPackage file may call its geometry column anything, even ``area_id``; left under
    that name it would be taken for the ids. Another column already called ``geometry`` (WKT text, say)
    is kept beside it as ``geometry_2``.
    """
    name = _geometry_name(frame)
    if name is None or name == "geometry":
        return frame
    assert isinstance(frame, gpd.GeoDataFrame)
    if "geometry" in frame.columns:
        taken = {str(col) for col in frame.columns}
        spare = next(f"geometry_{i}" for i in range(2, len(taken) + 3) if f"geometry_{i}" not in taken)
        frame = frame.rename(columns={"geometry": spare})
    return frame.rename_geometry("geometry")


def _empty(frame: pd.DataFrame, c: _Collector) -> bool:
    if len(frame):
        return False
    c.add(
        N_("The file has no data rows."),
        N_("Check that this is the right file (and layer or sheet), and that it has data below the header."),
    )
    return True


def _finish(frame: pd.DataFrame, kind: str, c: _Collector) -> tuple[pd.DataFrame, list[Problem]]:
    clean = _order(frame[~c.bad[: len(frame)]], kind) if len(frame) else frame
    return clean, _their_columns(c)


def _their_columns(c: _Collector) -> list[Problem]:
    """Name in each problem the column as the file names it (``Kapaciteti``), not the contract's name."""
    if not c.renamed:
        return c.problems
    renamed = c.renamed

    def theirs(value: str) -> str:  # a value that is exactly a renamed contract column's name
        return renamed.get(value, value)

    out = []
    for p in c.problems:
        if p.column in renamed:
            p = dataclasses.replace(p.map_text(theirs), column=renamed[p.column])
        out.append(p)
    return out


def _coordinate_candidates(frame: pd.DataFrame, names: Sequence[str]) -> list[Any]:
    """Columns named like a coordinate; the full names (lat, lon...) win over ``x``/``y``."""
    hits = [col for col in frame.columns if _norm(col) in names]
    strong = [col for col in hits if _norm(col) not in ("x", "y")]
    return strong or hits
