"""Name normalisation and matching: join a table to areas by name when they share no id.

:func:`match` finds, for each input name, the reference entity (an area) it names, and says how:

``"exact"``
    The text equals a reference name (ignoring surrounding and repeated spaces).
``"normalised"``
    Equal after :func:`normalise_name`: case, diacritics (``ë``/``e``, ``ç``/``c``, ``č``/``c``,
    ``đ``/``dj``), Serbian Cyrillic, punctuation and administrative prefixes or suffixes such as
    "Municipality of", "District", "Komuna e", "Opština", "Općina".
``"alias"``
    Equal to a name in the alias table passed as ``aliases`` (Serbian or English names, former
    names, known misspellings), possibly in its other Albanian definite/indefinite form.
``"definite-form"``
    Equal after the generic Albanian article rule: a final ``-a``/``-ë``/``-e`` (feminine, e.g.
    Gjakova/Gjakovë) or ``-i`` (masculine, e.g. Hani/Han) and ``-u`` after g/k/h is dropped from
    each word of four letters or more.
``"genitive"``
    Only after the prefix "Komuna e" (which takes the genitive in Albanian): "Komuna e Prishtinës"
    is tried as "Prishtinë", "Komuna e Prizrenit" as "Prizren".
``"fuzzy"``
    Similar spelling (:class:`difflib.SequenceMatcher`), accepted only when the best reference is
    above ``threshold``, ahead of every other one by ``margin``, has the same number of words and
    the same qualifier words (north, south, e Veriut...).

A wrong silent match is worse than none: a name that matches several reference entities equally
is left unmatched (``status="ambiguous"``), and so, by default, are names that match the same
entity as another input name (``status="conflict"``). :func:`require_all_matched` turns every
row that is not matched into one :class:`~socialmap.errors.ValidationError`.

Nothing here is specific to a country. Country aliases are data: :func:`kosovo_aliases` returns
the table shipped for Kosovo, :func:`read_aliases` reads your own.
"""

from __future__ import annotations

import difflib
import heapq
import logging
import math
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Normalising a name lives in socialmap._names_normal, reading the reference and the alias tables in
# socialmap._names_reference; this module matches. Their public names are importable from here.
from socialmap._names_normal import (  # noqa: F401 - re-exported
    _QUALIFIERS,
    _parse,
    _Parsed,
    definite_form_key,
    display_name,
    normalise_name,
)
from socialmap._names_reference import (  # noqa: F401 - re-exported
    _alias_groups,
    _entities_from_reference,
    _Entity,
    _is_missing,
    _problem,
    kosovo_aliases,
    read_aliases,
)
from socialmap.errors import N_, Message, Problem, ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FUZZY_MARGIN",
    "DEFAULT_FUZZY_THRESHOLD",
    "METHODS",
    "RESULT_COLUMNS",
    "STATUSES",
    "definite_form_key",
    "display_name",
    "kosovo_aliases",
    "localised_names",
    "match",
    "normalise_name",
    "read_aliases",
    "require_all_matched",
]

#: Smallest similarity (0-1, :meth:`difflib.SequenceMatcher.ratio` of normalised names) for a fuzzy match.
DEFAULT_FUZZY_THRESHOLD: float = 0.85

#: How far the best fuzzy candidate must be ahead of the second best reference entity.
DEFAULT_FUZZY_MARGIN: float = 0.1

#: How a matched name matched, strongest first.
METHODS: tuple[str, ...] = ("exact", "normalised", "alias", "definite-form", "genitive", "fuzzy")

#: Row statuses of a :func:`match` result.
STATUSES: tuple[str, ...] = ("matched", "unmatched", "ambiguous", "conflict", "invalid")

#: Columns of a :func:`match` result, in order.
RESULT_COLUMNS: tuple[str, ...] = ("name", "match", "key", "method", "score", "status", "candidates", "note")


# --------------------------------------------------------------------------------------------
# Index and matching
# --------------------------------------------------------------------------------------------

_Index = dict[str, dict[int, str]]  # key -> {entity position: description of the name that gave the key}


def _add(index: _Index, key: str, entity: int, source: str) -> None:
    index.setdefault(key, {}).setdefault(entity, source)


@dataclass
class _Matcher:
    entities: list[_Entity]
    exact: _Index = field(default_factory=dict)
    ref_norm: _Index = field(default_factory=dict)
    alias_norm: _Index = field(default_factory=dict)
    ref_def: _Index = field(default_factory=dict)
    alias_def: _Index = field(default_factory=dict)

    @classmethod
    def build(cls, entities: list[_Entity], groups: dict[str, list[str]]) -> _Matcher:
        m = cls(entities)
        for i, ent in enumerate(entities):
            for name, parsed in zip(ent.names, ent.parsed, strict=True):
                _add(m.exact, parsed.exact, i, f"reference name '{name}'")
                for form in parsed.forms:
                    _add(m.ref_norm, form, i, f"reference name '{name}'")
                    _add(m.ref_def, definite_form_key(form), i, f"reference name '{name}'")
        unlinked_ambiguous = []
        for group_name, members in groups.items():
            parsed_members = [(member, _parse(member)) for member in members]
            linked = m._hits([f for _, p in parsed_members for f in p.forms], m.ref_norm)
            if not linked:
                linked = m._hits(
                    [definite_form_key(f) for _, p in parsed_members for f in p.forms], m.ref_def
                )
            if len(linked) > 1:
                unlinked_ambiguous.append((group_name, sorted(entities[i].label for i in linked)))
                continue
            for i in linked:
                for member, parsed in parsed_members:
                    source = f"alias '{member}' of '{group_name}'"
                    for form in parsed.forms:
                        _add(m.alias_norm, form, i, source)
                        _add(m.alias_def, definite_form_key(form), i, source)
                        if form not in entities[i].alias_forms:
                            entities[i].alias_forms.append(form)
        if unlinked_ambiguous:
            detail = "; ".join(f"'{g}' -> {labels}" for g, labels in unlinked_ambiguous)
            warnings.warn(
                f"`aliases`: {len(unlinked_ambiguous)} alias group(s) name more than one reference area "
                f"and were ignored: {detail}. Fix the alias table or the reference names.",
                UserWarning,
                stacklevel=3,
            )
        return m

    @staticmethod
    def _hits(keys: Iterable[str], index: _Index) -> dict[int, str]:
        hits: dict[int, str] = {}
        for key in keys:
            for entity, source in index.get(key, {}).items():
                hits.setdefault(entity, source)
        return hits

    def deterministic(self, parsed: _Parsed) -> tuple[str, dict[int, str]] | None:
        """Return (method, hits) of the strongest rule that finds anything, per form; None if none."""
        hits = self._hits([parsed.exact], self.exact)
        if hits:
            return "exact", hits
        levels: list[tuple[str, _Index, bool]] = [
            ("normalised", self.ref_norm, False),
            ("alias", self.alias_norm, False),
            ("definite-form", self.ref_def, True),
            ("alias", self.alias_def, True),
        ]
        best_method: str | None = None
        found: dict[int, str] = {}
        for form in parsed.forms:  # each alternative ("A (B)") at its own strongest rule
            for method, index, use_def in levels:
                form_hits = self._hits([definite_form_key(form) if use_def else form], index)
                if form_hits:
                    for entity, source in form_hits.items():
                        found.setdefault(entity, source)
                    if best_method is None or METHODS.index(method) < METHODS.index(best_method):
                        best_method = method
                    break
        if best_method is not None:
            return best_method, found
        if parsed.genitive:
            stems = list(parsed.genitive)
            hits = self._hits(stems, self.ref_norm) or self._hits(stems, self.alias_norm)
            if not hits:
                def_stems = [definite_form_key(s) for s in stems]
                hits = self._hits(def_stems, self.ref_def) or self._hits(def_stems, self.alias_def)
            if hits:
                return "genitive", hits
        return None

    def scores(self, parsed: _Parsed, threshold: float, keep: int) -> list[tuple[float, float, int]]:
        """Return (best similarity, best fit similarity, entity) for every entity, most similar first.

        A fit pair of names is at least ``threshold`` similar and :func:`_fuzzy_compatible`; the fit
        similarity is 0 when no pair fits. Only the ``keep`` most similar entities are scored
        exactly: pairs whose upper bound cannot reach them, nor the threshold, are skipped.
        """
        matchers = []
        for form in parsed.forms:
            matcher = difflib.SequenceMatcher(None, autojunk=False)
            matcher.set_seq2(form)  # SequenceMatcher caches facts about the second sequence
            matchers.append((form, matcher))
        top: list[float] = []  # min-heap of the `keep` best similarities so far
        out = []
        for i, ent in enumerate(self.entities):
            keys = [f for p in ent.parsed for f in p.forms] + ent.alias_forms
            best, best_fit = 0.0, 0.0
            for form, matcher in matchers:
                for key in keys:
                    matcher.set_seq1(key)
                    floor = max(best, top[0] if len(top) >= keep else 0.0)
                    if matcher.real_quick_ratio() < threshold and matcher.quick_ratio() <= floor:
                        continue
                    ratio = matcher.ratio()
                    best = max(best, ratio)
                    if ratio >= threshold and ratio > best_fit and _fuzzy_compatible(form, key):
                        best_fit = ratio
            out.append((best, best_fit, i))
            if len(top) < keep:
                heapq.heappush(top, best)
            elif best > top[0]:
                heapq.heapreplace(top, best)
        out.sort(key=lambda t: (-t[0], t[2]))
        return out


def _fuzzy_compatible(a: str, b: str) -> bool:
    """Whether two normalised names may be fuzzy-matched at all (same words count and qualifiers)."""
    wa, wb = a.split(), b.split()
    if len(wa) != len(wb):
        return False
    if sorted(w for w in wa if w in _QUALIFIERS) != sorted(w for w in wb if w in _QUALIFIERS):
        return False
    return all(difflib.SequenceMatcher(None, x, y).ratio() >= 0.6 for x, y in zip(wa, wb, strict=True))


def _describe(value: Any) -> str:
    if _is_missing(value):
        return "missing name (empty cell)"
    if not isinstance(value, str):
        return f"not text: {value!r} ({type(value).__name__})"
    return (
        "empty name"
        if not value.strip()
        else f"no name left in {value!r} once punctuation and administrative words are removed"
    )


def match(
    names: Sequence[Any] | pd.Series,
    reference: Sequence[str] | pd.Series | pd.DataFrame | Mapping[Hashable, str | Sequence[str]],
    *,
    aliases: pd.DataFrame | Mapping[str, str] | None = None,
    key: str | None = None,
    name_columns: Sequence[str] | None = None,
    one_to_one: bool = True,
    threshold: float | None = None,
    margin: float | None = None,
    n_candidates: int = 3,
) -> pd.DataFrame:
    """
    Match place names to reference entities (areas), safely.

    Each name is tried against every name of every reference entity with the rules listed in the
    module docstring, strongest first (``exact``, ``normalised``, ``alias``, ``definite-form``,
    ``genitive``, ``fuzzy``). A name written "A (B)" or "A / B" is tried as A and as B; all its
    matches must agree. A name is left unmatched rather than guessed: when rules point to more
    than one entity (``ambiguous``), when a fuzzy match is weak or close to a runner-up, or, with
    ``one_to_one``, when another input name matches the same entity (``conflict``).

    Parameters
    ----------
    names
        The names to match (e.g. a population table's name column). Missing values, numbers and
        empty strings give ``status="invalid"`` rows, not an error. A Series keeps its index.
    reference
        The entities to match against, one of:

        - a list of names: each name is an entity, and its own key;
        - a Series: values are names, the index holds the keys;
        - a mapping key -> name or list of names;
        - a DataFrame with one row per entity: the key is column ``key`` (default ``area_id`` if
          present, else the index) and its names are in ``name_columns`` (default ``name`` and every
          ``name_*`` column, e.g. ``name_sq``, ``name_sr``, ``name_en``). Missing names are skipped.
          A name matching any of the row's names returns the row's key.
    aliases
        Other names of reference entities: a DataFrame with columns ``alias`` and ``name`` (e.g.
        :func:`kosovo_aliases` or :func:`read_aliases`), or a mapping alias -> name. ``name`` may be
        any name of the entity in any language; an alias row whose names fit no reference entity is
        ignored, one whose names fit several is ignored with a warning.
    key
        DataFrame ``reference`` only: the column holding the entity key.
    name_columns
        DataFrame ``reference`` only: the columns holding names; the first non-missing one gives the
        ``match`` label.
    one_to_one
        If true (for a table with one row per area), input names that match the same entity are
        all left unmatched with ``status="conflict"``. Set false when several rows may name the same
        area (e.g. services located by municipality name).
    threshold
        Smallest similarity (0-1) for a fuzzy match; ``None`` reads :data:`DEFAULT_FUZZY_THRESHOLD`.
        Set above 1 to switch fuzzy matching off.
    margin
        How far (in similarity) the best fuzzy candidate must be ahead of the second-best entity;
        ``None`` reads :data:`DEFAULT_FUZZY_MARGIN`.
    n_candidates
        How many closest reference names to list for a row that is not matched.

    Returns
    -------
    result
        One row per input name, in input order, with columns:

        - ``name``: the input value, as given;
        - ``match``: the matched entity's label (its first name), or ``None``;
        - ``key``: the matched entity's key (e.g. its ``area_id``), or ``None``;
        - ``method``: one of :data:`METHODS`, or ``None`` when not matched;
        - ``score``: 1.0 for rule matches, the similarity for fuzzy ones, NaN when not matched;
        - ``status``: ``"matched"``, ``"unmatched"``, ``"ambiguous"``, ``"conflict"`` or ``"invalid"``;
        - ``candidates``: list of the closest reference labels for a row not matched (the tied
          entities for ``ambiguous``, the contested one for ``conflict``), else an empty list;
        - ``note``: what matched, or why nothing did, in words.

    Raises
    ------
    ValidationError
        If ``names`` is a single string, ``reference`` or ``aliases`` is malformed (missing
        columns, duplicate keys, names that are not text).

    See Also
    --------
    require_all_matched : raise one error listing every row not matched.

    Examples
    --------
    >>> areas = pd.DataFrame(
    ...     {
    ...         "area_id": ["11", "38", "02"],
    ...         "name_sq": ["Mitrovicë", "Mitrovicë e Veriut", "Gjakovë"],
    ...         "name_sr": ["Kosovska Mitrovica", "Severna Kosovska Mitrovica", "Đakovica"],
    ...     }
    ... )
    >>> result = match(["Municipality of Gjakova", "North Mitrovica", "Mitrovica"], areas)
    >>> result["key"].tolist()
    ['02', None, '11']
    >>> result["method"].tolist()
    ['definite-form', None, 'definite-form']
    >>> result["candidates"][1]
    ['Mitrovicë', 'Mitrovicë e Veriut', 'Gjakovë']
    >>> match(["North Mitrovica"], areas, aliases=kosovo_aliases())["key"].tolist()
    ['38']
    """
    threshold = DEFAULT_FUZZY_THRESHOLD if threshold is None else threshold
    margin = DEFAULT_FUZZY_MARGIN if margin is None else margin
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValidationError(
            [
                _problem(
                    "names",
                    f"expected a list or Series of names; got {type(names).__name__} {names!r}.",
                    "Wrap a single name in a list: `match([name], reference)`.",
                )
            ]
        )
    index = names.index if isinstance(names, pd.Series) else None
    values = list(names)
    matcher = _Matcher.build(_entities_from_reference(reference, key, name_columns), _alias_groups(aliases))
    entities = matcher.entities

    rows: list[dict[str, Any]] = []
    for value in values:
        row: dict[str, Any] = {
            "name": value,
            "match": None,
            "key": None,
            "method": None,
            "score": math.nan,
            "status": "unmatched",
            "candidates": [],
            "note": "",
        }
        rows.append(row)
        parsed = _parse(value) if isinstance(value, str) else None
        if parsed is None or not parsed.forms:
            row["status"], row["note"] = "invalid", _describe(value)
            continue
        found = matcher.deterministic(parsed)
        if found is not None:
            method, hits = found
            if len(hits) == 1:
                (i, source), *_ = hits.items()
                row.update(
                    match=entities[i].label, key=entities[i].key, method=method, score=1.0, status="matched"
                )
                row["note"] = f"{method}: {source}"
            else:
                labels = [entities[i].label for i in sorted(hits)]
                row.update(status="ambiguous", candidates=labels)
                row["note"] = f"{method} rule fits {len(hits)} reference areas: " + ", ".join(
                    f"{entities[i].label!r} ({source})" for i, source in sorted(hits.items())
                )
            continue
        scores = matcher.scores(parsed, threshold, keep=max(n_candidates, 2) + 1)
        if scores:
            fits = sorted(((fit, i) for _, fit, i in scores if fit > 0), key=lambda t: (-t[0], t[1]))
            if fits:
                best_score, best = fits[0]
                runner_up = max((s for s, _, i in scores if i != best), default=0.0)
                if best_score - runner_up >= margin:
                    row.update(
                        match=entities[best].label,
                        key=entities[best].key,
                        method="fuzzy",
                        score=round(best_score, 4),
                        status="matched",
                        note=f"fuzzy: similarity {best_score:.2f} to {entities[best].label!r}, "
                        f"next best {runner_up:.2f}",
                    )
                    continue
                tied = [i for s, _, i in scores if best_score - s < margin]
                row.update(
                    status="ambiguous",
                    candidates=[entities[i].label for i in tied[: max(n_candidates, 2)]],
                    note=f"spelling is about as close to {len(tied)} reference areas "
                    f"(similarity {best_score:.2f} and {runner_up:.2f})",
                )
                continue
            top = [(s, i) for s, _, i in scores[:n_candidates] if s > 0]
            row["candidates"] = [entities[i].label for _, i in top]
            row["note"] = (
                "no reference name fits; closest: "
                + ", ".join(f"{entities[i].label!r} ({s:.2f})" for s, i in top)
                if top
                else "no reference name fits"
            )
        else:
            row["note"] = "the reference is empty"

    if one_to_one:
        claims: dict[Hashable, list[int]] = {}
        for position, row in enumerate(rows):
            if row["status"] == "matched":
                claims.setdefault(row["key"], []).append(position)
        for claimed_key, positions in claims.items():
            if len(positions) < 2:
                continue
            label = rows[positions[0]]["match"]
            given = ", ".join(repr(rows[p]["name"]) for p in positions)
            for p in positions:
                rows[p].update(
                    match=None,
                    key=None,
                    method=None,
                    score=math.nan,
                    status="conflict",
                    candidates=[label],
                    note=f"{given} all match {label!r} (key {claimed_key!r})",
                )

    frame_index = index if index is not None else pd.RangeIndex(len(rows))
    result = pd.DataFrame(
        {
            col: pd.Series(
                [r[col] for r in rows], index=frame_index, dtype=float if col == "score" else object
            )
            for col in RESULT_COLUMNS
        },
        index=frame_index,
    )
    if logger.isEnabledFor(logging.INFO):
        counts = result["status"].value_counts().to_dict()
        logger.info("Matched names against %d reference areas: %s", len(entities), counts)
    return result


def require_all_matched(
    result: pd.DataFrame, *, file: str = "names", column: str | None = "name", first_row: int = 1
) -> pd.DataFrame:
    """
    Raise one error listing every name of a :func:`match` result that is not matched.

    Parameters
    ----------
    result
        A :func:`match` result.
    file
        The file (or dataset label) the names come from, for the message.
    column
        The column the names come from, for the message.
    first_row
        Row number to report for the first name (1 = first data row).

    Returns
    -------
    result
        ``result`` unchanged, when every row is matched.

    Raises
    ------
    ValidationError
        One problem per row whose status is not ``"matched"``, with the closest reference names.

    Examples
    --------
    >>> ok = require_all_matched(match(["Peja"], ["Pejë", "Prizren"]))
    >>> ok["match"].tolist()
    ['Pejë']
    """
    missing = [c for c in ("name", "status", "candidates", "note") if c not in result.columns]
    if missing:
        raise ValidationError(
            [
                _problem(
                    "result",
                    f"missing column(s) {missing}; found {list(result.columns)}.",
                    "Pass the DataFrame returned by `socialmap.names.match`.",
                )
            ]
        )
    conflict_rows: dict[str, list[int]] = {}
    for position, (status, note) in enumerate(zip(result["status"], result["note"], strict=True)):
        if status == "conflict":
            conflict_rows.setdefault(note, []).append(position + first_row)
    problems = []
    for position, (name, status, candidates, note) in enumerate(
        zip(result["name"], result["status"], result["candidates"], result["note"], strict=True)
    ):
        if status == "matched":
            continue
        closest = ", ".join(repr(c) for c in candidates)
        # Messages keep their English template and values, so the app can show them in any language.
        message: str
        fix: str
        if status == "invalid":
            message = f"{note}."
            fix = N_("Write the area's name as text, or give an area id column instead.")
        elif status == "conflict":
            others = [r for r in conflict_rows.get(note, []) if r != position + first_row]
            message = Message(
                N_("{name} matches the same area as row(s) {rows}: {note}."),
                name=repr(name),
                rows=", ".join(map(str, others)),
                note=note,
            )
            fix = N_("Keep one row per area, or correct the name that is wrong.")
        elif status == "ambiguous":
            message = Message(
                N_("{name} fits more than one area ({closest}): {note}."),
                name=repr(name),
                closest=closest,
                note=note,
            )
            fix = N_("Write the name as the reference does, add an alias row, or give an area id column.")
        else:
            message = (
                Message(
                    N_("{name} matches no area name; closest: {closest}."), name=repr(name), closest=closest
                )
                if closest
                else Message(N_("{name} matches no area name."), name=repr(name))
            )
            fix = N_(
                "Correct the spelling, add a row to the alias table mapping it to the area's name, "
                "or give an area id column."
            )
        problems.append(Problem(file=file, row=position + first_row, column=column, message=message, fix=fix))
    if problems:
        raise ValidationError(problems)
    return result


def localised_names(
    areas: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    aliases: pd.DataFrame | Mapping[str, str] | None = None,
    languages: Sequence[str] = ("sq", "sr", "en"),
) -> pd.DataFrame:
    """
    Give areas their names in each language: the reference's, when every area matches one.

    Boundaries from elsewhere (geoBoundaries: "Municipality of Gjakova") carry one name. When
    every area's ``name`` matches a distinct reference area (:func:`match`, with ``aliases``),
    the empty ``name_<lang>`` columns are filled with the reference's names; otherwise (areas of
    another country, or only some matching: a partial match could mislabel) nothing is taken from
    the reference. Either way ``name`` loses its administrative prefix (:func:`display_name`).

    Parameters
    ----------
    areas
        Areas with a ``name`` column.
    reference
        Reference areas with ``name`` and ``name_<lang>`` columns (e.g. the Kosovo demo's).
    aliases
        Other names of the reference areas (e.g. :func:`kosovo_aliases`).
    languages
        The languages whose names are filled.

    Returns
    -------
    areas
        A copy with ``name`` shown plainly and ``name_<lang>`` filled where it was missing.
    """
    out = areas.copy()
    if "name" not in out.columns or out.empty:
        return out
    raw = out["name"]
    present = raw.notna() & (raw.astype(str).str.strip() != "")
    out["name"] = [display_name(v) if ok else v for v, ok in zip(raw, present, strict=True)]
    columns = [c for c in ("name", *(f"name_{lang}" for lang in languages)) if c in reference.columns]
    if not columns or not present.all():
        return out
    ref = pd.DataFrame(reference[columns]).reset_index(drop=True)
    found = match(raw.astype(str).reset_index(drop=True), ref, aliases=aliases, name_columns=columns)
    if not (found["status"] == "matched").all():
        return out
    rows = [int(k) for k in found["key"]]
    for lang in languages:
        col = f"name_{lang}"
        if col not in ref.columns:
            continue
        theirs = ref[col].iloc[rows].to_numpy()
        if col in out.columns:
            own = out[col]
            missing = (own.isna() | (own.astype(str).str.strip() == "")).to_numpy()
            out[col] = np.where(missing, theirs, own.to_numpy())
        else:
            out[col] = theirs
    return out
