"""Checks and safe repairs of population tables: areas by id or by name (a demo's aliases), counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from socialmap import schema
from socialmap.errors import (
    Localised,
    Message,
    Problem,
)
from socialmap.i18n import N_, Nn_
from socialmap.sources.base import _is_missing
from socialmap.validate.base import _CHECK_METHODS, _close, _Collector, _Ints, _list, _with_hint
from socialmap.validate.mapping import (
    _MISSING_COLUMN,
    _empty,
    _finish,
    _geometry_name,
    _head,
    _require,
)
from socialmap.validate.values import _clean_text, _id_text, _ids, _numbers


def _validate_population(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: _Ints | None = None,
    columns: dict[str, str] | None = None,
    areas: pd.DataFrame | None = None,
    aliases: Any = None,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    frame, c, required = _head(frame, "population", file=file, rows=rows, columns=columns)
    if _empty(frame, c):
        return frame, c.problems
    geometry = _geometry_name(frame)
    if geometry is not None:
        c.add(
            N_("The geometry of the population file is ignored: population is read as a table per area."),
            N_("Nothing to do; join it to the areas by 'area_id'."),
            column="geometry",
            severity="warning",
        )
        frame = pd.DataFrame(frame.drop(columns=geometry))
    frame = _clean_text(frame.copy(), c)
    area_ids = _area_ids(areas)
    joined = False
    if "area_id" not in frame.columns and "name" in frame.columns and areas is not None:
        frame = _join_by_name(frame, areas, aliases, c)
        joined = True
    elif "area_id" not in frame.columns:
        found = list(frame.columns)
        fix = (
            N_(
                "Add a column 'area_id' (map yours with `columns={'your column': 'area_id'}`), "
                "or pass `areas=` to join by a 'name' column."
            )
            if areas is None
            else N_(
                "Add a column 'area_id' (map yours with `columns={'your column': 'area_id'}`), "
                "or add a 'name' column to join by name."
            )
        )
        c.add(
            _with_hint(
                Message(_MISSING_COLUMN["population"], name="area_id", found=_list(found)),
                _close("area_id", [str(f) for f in found]),
            ),
            fix,
            column="area_id",
        )
    missing = _require(frame, "population", ["population"], c)
    if "area_id" in frame.columns:
        frame = _ids(frame, "area_id", c, report_empty=not joined)
        if area_ids is not None and not joined and areas is not None:
            frame = _demo_codes(frame, areas, area_ids, c)
        if area_ids is not None and not joined:
            values = frame["area_id"].tolist()
            unknown = [i for i, v in enumerate(values) if v is not None and v not in area_ids]
            c.per_row(
                unknown,
                "area_id",
                lambda i: _with_hint(
                    Message(N_("area_id '{value}' is not one of the areas."), value=values[i]),
                    _close(str(values[i]), area_ids),
                ),
                N_("Use the areas' ids (or fix the areas file), or remove the row."),
            )
        if area_ids is not None:
            have = set(frame["area_id"].dropna())
            absent = [a for a in area_ids if a not in have]
            if absent:
                c.add(
                    Message(
                        *Nn_(
                            "{n} area has no population row: {ids}.",
                            "{n} areas have no population row: {ids}.",
                        ),
                        len(absent),
                        n=len(absent),
                        ids=area_labels(areas, absent) if areas is not None else _list(absent),
                    ),
                    N_("Add a row for each of them (leave 'population' empty if unknown)."),
                    column="area_id",
                    severity="warning",
                )
    if "population" not in missing:
        frame = _numbers(
            frame,
            "population",
            c,
            missing_message=Nn_(
                "'population' is empty in {n} row: taken as unknown, so need cannot be computed for "
                "that area ({rows}: {areas}); every other area is scored.",
                "'population' is empty in {n} rows: taken as unknown, so need cannot be computed for "
                "those areas ({rows}: {areas}); every other area is scored.",
            ),
            missing_values=lambda positions: {"areas": _row_areas(frame, positions, areas)},
            decimal=decimal,
            missing_fix=N_("Fill in the population where a figure (or an openly marked estimate) exists."),
            counts=True,
        )
    return _finish(frame, "population", c)


def _names_by_id(areas: pd.DataFrame, ids: Sequence[str], lang: str = "en") -> dict[str, str]:
    """Return the names of areas by their id, in ``lang`` (recognised municipalities: the demo's names)."""
    from socialmap.i18n import area_names

    frame = pd.DataFrame(areas[[c for c in areas.columns if c == "area_id" or str(c).startswith("name")]])
    frame["area_id"] = [_id_text(v) for v in frame["area_id"]]
    own = f"name_{lang}"
    if own not in frame.columns or frame[own].isna().all():
        from socialmap.areasets import recognise_areas

        known = recognise_areas(frame)
        if known is not None and own in known.names.columns:
            frame[own] = frame["area_id"].map(known.names.set_index("area_id")[own])
    named = pd.Series(area_names(frame, lang).astype(str).to_numpy(), index=frame["area_id"])
    named = named[~named.index.duplicated()]
    return {i: str(named.get(i, i)) for i in ids}


def area_labels(areas: pd.DataFrame, ids: Sequence[str], limit: int = 30) -> Localised:
    """
    Return the names of some areas for a message, written in each language (not their ids).

    Parameters
    ----------
    areas
        The areas (``area_id``, ``name``, optional ``name_sq``/``name_sr``/``name_en``). Areas
        recognised as a demo's municipalities (:func:`socialmap.areasets.recognise_areas`) are named
        with the demo's names in each language where they have none of their own.
    ids
        The ids of the areas to name, in order.
    limit
        At most this many are listed, then ``...``.

    Returns
    -------
    names
        A :class:`~socialmap.errors.Localised`: ``"Kaçanik, Shtime"``, in Serbian ``"Kačanik, Štimlje"``.
    """
    ids = [str(i) for i in ids]
    more = ", ..." if len(ids) > limit else ""
    texts = {}
    for lang in schema.LANGUAGES:
        named = _names_by_id(areas, ids[:limit], lang)
        texts[lang] = ", ".join(named[i] for i in ids[:limit]) + more
    return Localised(texts)


def _row_areas(frame: pd.DataFrame, positions: Sequence[int], areas: pd.DataFrame | None) -> Localised | str:
    """Name the areas of some rows of a population table: by the areas' names, else the row's name or id."""
    ids = frame["area_id"].tolist() if "area_id" in frame.columns else [None] * len(frame)
    given = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
    if areas is not None and "area_id" in areas.columns and all(ids[p] is not None for p in positions):
        return area_labels(areas, [str(ids[p]) for p in positions])
    return ", ".join(str(given[p]) if not _is_missing(given[p]) else str(ids[p]) for p in positions[:30]) + (
        ", ..." if len(positions) > 30 else ""
    )


def _demo_codes(frame: pd.DataFrame, areas: pd.DataFrame, area_ids: list[str], c: _Collector) -> pd.DataFrame:
    """
    Read a table keyed by a demo's codes (Kosovo's KAS codes 01-38) against other boundaries of it.

    Only when the areas are recognised as the demo's municipalities
    (:func:`socialmap.areasets.recognise_areas`), every id of the table is one of the demo's codes and
    none is one of the areas' own ids; said in a warning.
    """
    values = [v for v in frame["area_id"].tolist() if v is not None]
    own = set(area_ids)
    if not values or any(v in own for v in values):
        return frame
    from socialmap.areasets import recognise_areas

    reference = pd.DataFrame(areas[["area_id", "name"]]) if "name" in areas.columns else None
    known = recognise_areas(reference) if reference is not None else None
    if known is None:
        return frame
    to_own = dict(zip(known.names["demo_area_id"], known.names["area_id"], strict=True))
    if not all(v in to_own for v in values):
        return frame
    frame = frame.copy()
    frame["area_id"] = [None if v is None else to_own[v] for v in frame["area_id"].tolist()]
    c.add(
        Message(
            N_("Read the codes in 'area_id' as the {demo} demo's municipality codes ('{code}' is {name})."),
            demo=known.demo.capitalize(),
            code=values[0],
            name=area_labels(areas, [to_own[values[0]]]),
        ),
        N_("Nothing to do; use the boundaries' own ids in 'area_id' to make the join certain."),
        column="area_id",
        severity="warning",
    )
    return frame


def _area_ids(areas: pd.DataFrame | None) -> list[str] | None:
    if areas is None or "area_id" not in areas.columns:
        return None
    return [t for t in (_id_text(v) for v in areas["area_id"].tolist()) if t is not None]


def _join_by_name(frame: pd.DataFrame, areas: pd.DataFrame, aliases: Any, c: _Collector) -> pd.DataFrame:
    """Give each row the ``area_id`` of the area its ``name`` matches (via ``socialmap.names.match``)."""
    from socialmap import names  # lazy: keeps `import socialmap.validate` light
    from socialmap.errors import ValidationError

    if "area_id" not in areas.columns:
        c.add(
            N_("Cannot join the population to the areas by name: the areas have no 'area_id'."),
            N_("Validate the areas first (they need 'area_id' and 'name')."),
            column="name",
        )
        return frame
    name_cols = [col for col in areas.columns if col == "name" or str(col).startswith("name_")]
    reference = pd.DataFrame(areas[["area_id", *name_cols]]).copy()
    reference["area_id"] = [_id_text(v) for v in reference["area_id"]]
    if aliases is None:
        # Boundaries recognised as a demo's municipalities (any file: geoBoundaries', your own) get
        # the demo's aliases and its names in every language (Serbian names such as Đakovica).
        from socialmap.areasets import recognise_areas

        known = recognise_areas(reference)
        if known is not None:
            aliases = known.aliases
            extra = known.names.drop(columns="demo_area_id").add_prefix("known_")
            reference = reference.merge(extra, left_on="area_id", right_on="known_area_id", how="left")
            reference = reference.drop(columns="known_area_id")
            name_cols = [*name_cols, *(c for c in reference.columns if str(c).startswith("known_name_"))]
    given = [None if _is_missing(v) else str(v) for v in frame["name"].tolist()]
    try:
        result = names.match(given, reference, aliases=aliases, key="area_id", name_columns=name_cols)
    except ValidationError as exc:
        c.problems.extend(exc.problems)
        c.bad[:] = True
        return frame
    keys = [_id_text(k) for k in result["key"].tolist()]
    methods = ["" if _is_missing(m) else str(m) for m in result["method"].tolist()]
    notes = ["" if _is_missing(n) else str(n) for n in result["note"].tolist()]
    statuses = result["status"].tolist()
    candidates = result["candidates"].tolist()
    unmatched = [i for i, k in enumerate(keys) if k is None]
    second_look = [i for i, k in enumerate(keys) if k is not None and methods[i] in _CHECK_METHODS]

    def unmatched_message(i: int) -> str:
        if given[i] is None:
            return N_("'name' is empty, so the row cannot be joined to an area.")
        cands = [str(x) for x in candidates[i]] if isinstance(candidates[i], list | tuple) else []
        if notes[i]:
            text = Message(
                N_("Name '{name}' matches no area ({status}: {note})."),
                name=given[i],
                status=statuses[i],
                note=notes[i],
            )
        else:
            text = Message(N_("Name '{name}' matches no area."), name=given[i])
        closest = Message(N_("Closest: {names}."), names=", ".join(cands[:5])) if cands else None
        return _with_hint(text, closest)

    c.per_row(
        unmatched,
        "name",
        unmatched_message,
        N_("Correct the name, add an 'area_id' column, or pass `aliases=` with this spelling."),
    )
    if second_look:
        shown = _names_by_id(areas, [str(keys[i]) for i in second_look])
        pairs = [
            f"'{given[i]}' -> {shown.get(str(keys[i]), keys[i])} ({notes[i] or methods[i]})"
            for i in second_look
        ]
        c.summary(
            second_look,
            "name",
            Nn_(
                "Joined {n} name to an area by similar spelling: {pairs} ({rows}).",
                "Joined {n} names to areas by similar spelling: {pairs} ({rows}).",
            ),
            N_("Check these pairs; add an 'area_id' column (or pass `aliases=`) to make the join certain."),
            n=len(pairs),
            pairs="; ".join(pairs[:10]) + ("; ..." if len(pairs) > 10 else ""),
        )
    out = frame.copy()
    out.insert(0, "area_id", pd.Series(keys, index=frame.index, dtype=object))
    return out
