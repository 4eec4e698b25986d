"""Guess how a file's columns map onto the column contract, from the names people give them.

A Centre for Social Work's list of services does not say ``service_id``, ``service_type`` and
``capacity``: it says ``Emri``, ``Lloji i shërbimit``, ``Kapaciteti``, ``Gjerësia`` and ``Gjatësia``
(or ``Naziv``, ``Vrsta usluge``, ``Kapacitet``, ``Širina``, ``Dužina``). This module knows the usual
names of every contract column in English, Albanian and Serbian (:data:`SYNONYMS`, plus the headers of
the templates of :mod:`socialmap.templates` in every language), and:

* :func:`guess_columns` proposes a mapping ``{"their column": "our column"}`` for a list of
  headers. A header that names no contract column is left as it is; when two headers could be the
  same contract column (``Emri`` and ``Naziv``), neither is taken and both are listed in
  :attr:`Guess.ambiguous`: a guess is never made between equals.
* :func:`header_row` finds the header of a table read without one, even below a title row.
* :func:`socialmap.preview.preview_file` reads a file's header and first rows, and the guess, for a
  person to check (the app shows it as one select per contract column, pre-filled).
* :func:`parse_columns` reads the command line's ``--columns "their=ours,..."``.

The loaders (:mod:`socialmap.io`, through :mod:`socialmap.validate`) apply the guess for every
contract column that a file lacks and that ``columns=`` does not map, and say so in a warning,
so ``socialmap validate clerk.csv`` reads such a file with no options. A mapping is a plain
``dict`` of text (``Guess.mapping``), so it can be kept and saved with a workspace.

Headers are compared after :func:`normalise_header`: case, diacritics (``ë``, ``ç``, ``š``, ``đ``…),
punctuation and repeated spaces do not matter, and a part in parentheses (a unit, ``Kapaciteti
(persona)``) may be left out.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from socialmap import schema
from socialmap.errors import N_, Message, SocialMapError

logger = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "SYNONYMS",
    "TEMPLATE_HEADERS",
    "Guess",
    "contract_columns",
    "guess_columns",
    "guess_kind",
    "header_row",
    "normalise_header",
    "parse_columns",
    "required_columns",
]

#: The kinds of input.
KINDS = ("areas", "services", "population")

#: Names of the coordinate columns a mapping may point at (the loaders build points from them).
COORDINATES = ("lat", "lon")

#: Usual names of each contract column, by kind (English, Albanian, Serbian Latin; compared after
#: :func:`normalise_header`, so written here without diacritics or case).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "services": {
        "service_id": (
            "service id", "id", "code", "service code", "identifier",
            "id e sherbimit", "kodi", "kodi i sherbimit", "shifra", "shifra e sherbimit",
            "sifra", "sifra usluge", "id usluge", "kod", "kod usluge",
        ),
        "name": (
            "name", "service name", "facility", "facility name", "institution", "institution name",
            "emri", "emertimi", "emri i sherbimit", "emri i institucionit", "institucioni",
            "emri i qendres", "emri i ofruesit",
            "naziv", "ime", "naziv usluge", "naziv ustanove", "ustanova", "naziv institucije",
        ),
        "service_type": (
            "type", "service type", "category", "type of service", "kind of service",
            "lloji", "lloji i sherbimit", "tipi", "tipi i sherbimit", "kategoria", "kategoria e sherbimit",
            "vrsta", "vrsta usluge", "tip", "tip usluge", "kategorija", "kategorija usluge",
        ),
        "capacity": (
            "capacity", "places", "number of places", "beds", "number of beds", "capacity persons",
            "kapaciteti", "kapacitet", "numri i vendeve", "vende", "vendet", "shtreter", "numri i shtreterve",
            "broj mesta", "mesta", "broj kreveta", "kreveti", "broj korisnika",
        ),
        "provider": (
            "provider", "operator", "provider type", "ownership",
            "ofruesi", "ofruesi i sherbimit", "pronesia", "lloji i ofruesit",
            "pruzalac", "pruzalac usluge", "vlasnistvo", "vrsta pruzaoca",
        ),
        "target_groups": (
            "target group", "target groups", "grupi i synuar", "grupet e synuara", "ciljna grupa",
            "ciljne grupe",
        ),
        "lat": (
            "lat", "latitude", "y", "gjeresia", "gjeresia gjeografike", "sirina", "geografska sirina",
        ),
        "lon": (
            "lon", "lng", "long", "longitude", "x", "gjatesia", "gjatesia gjeografike", "duzina",
            "geografska duzina",
        ),
    },
    "population": {
        "area_id": (
            "area id", "code", "municipality code", "kas code", "area code",
            "kodi", "kodi i komunes", "shifra e komunes", "sifra", "sifra opstine", "kod opstine",
        ),
        "name": (
            "name", "municipality", "area", "area name", "municipality name", "district", "region",
            "province", "county",
            "komuna", "emri", "emri i komunes", "komunat", "zona",
            "opstina", "naziv", "ime", "naziv opstine", "opstine", "podrucje",
        ),
        "population": (
            "population", "residents", "inhabitants", "total population", "number of residents",
            "popullsia", "popullsia gjithsej", "numri i banoreve", "banore", "banoret",
            "stanovnistvo", "broj stanovnika", "stanovnici", "ukupno stanovnistvo", "ukupan broj stanovnika",
        ),
        "year": ("year", "census year", "viti", "godina"),
        "population_source": ("source", "population source", "burimi", "izvor"),
    },
    "areas": {
        "area_id": (
            "area id", "id", "code", "municipality code", "area code",
            "kodi", "kodi i komunes", "shifra e komunes", "sifra", "sifra opstine", "kod opstine",
        ),
        "name": (
            "name", "municipality", "area name", "municipality name", "district", "region", "province",
            "county",
            "komuna", "emri", "emri i komunes", "opstina", "naziv", "ime", "naziv opstine",
        ),
        "name_sq": (
            "name sq", "albanian name", "name albanian", "name in albanian",
            "emri sq", "emri shqip", "emri ne shqip", "naziv albanski", "albanski naziv",
        ),
        "name_sr": (
            "name sr", "serbian name", "name serbian", "name in serbian",
            "emri sr", "emri serbisht", "emri ne serbisht", "naziv srpski", "srpski naziv",
            "naziv na srpskom",
        ),
        "name_en": (
            "name en", "english name", "name english", "name in english",
            "emri en", "emri anglisht", "emri ne anglisht", "naziv engleski", "engleski naziv",
            "naziv na engleskom",
        ),
    },
}  # fmt: skip

#: Headers of the templates (:mod:`socialmap.templates`), in English; each is translated, and every
#: translation is in :data:`SYNONYMS` too (a test checks it), so a filled template is read with no mapping.
TEMPLATE_HEADERS: dict[str, dict[str, str]] = {
    "services": {
        "service_id": N_("Service code"),
        "name": N_("Name of the service"),
        "service_type": N_("Service type"),
        "capacity": N_("Capacity"),
        "provider": N_("Provider"),
        "lat": N_("Latitude"),
        "lon": N_("Longitude"),
    },
    "population": {
        "area_id": N_("Municipality code"),
        "name": N_("Municipality"),
        "population": N_("Population"),
        "year": N_("Year"),
        "population_source": N_("Source"),
    },
}

#: Rows of a table (read without a header) searched for its header.
HEADER_SEARCH_ROWS = 30

_PARENTHESIS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_NON_ALNUM = re.compile(r"[\W_]+")
_FOLD = str.maketrans({"đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "ı": "i"})


def normalise_header(name: Any) -> str:
    """
    Return the comparison form of a column name.

    Lower case; diacritics folded (``ë`` → ``e``, ``š`` → ``s``, ``đ`` → ``d``); punctuation,
    underscores and repeated spaces turned into one space.

    Parameters
    ----------
    name
        A column name (any value; numbers become text).

    Returns
    -------
    key
        The normalised name.

    Examples
    --------
    >>> normalise_header("Lloji i shërbimit"), normalise_header("Dužina"), normalise_header("service_id")
    ('lloji i sherbimit', 'duzina', 'service id')
    """
    text = unicodedata.normalize("NFKD", str(name).casefold().translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", _NON_ALNUM.sub(" ", text)).strip()


def _forms(name: Any) -> tuple[str, ...]:
    """Return the header's normalised form, and the same without a part in parentheses (a unit)."""
    whole = normalise_header(name)
    bare = normalise_header(_PARENTHESIS.sub(" ", str(name)))
    return (whole,) if not bare or bare == whole else (whole, bare)


def contract_columns(kind: str) -> tuple[str, ...]:
    """
    Return the contract columns a mapping may point at for ``kind`` (required first, then optional).

    For services these include ``lat`` and ``lon`` (coordinates, from which the loaders make points).
    """
    _check_kind(kind)
    required, optional = {
        "areas": (schema.AREA_REQUIRED, schema.AREA_OPTIONAL),
        "services": (schema.SERVICE_REQUIRED, schema.SERVICE_OPTIONAL),
        "population": (schema.POPULATION_REQUIRED, schema.POPULATION_OPTIONAL),
    }[kind]
    names = [n for n in (*required, *optional) if n != "geometry"]
    if kind == "services":
        names[names.index("capacity") + 1 : names.index("capacity") + 1] = list(COORDINATES)
    return tuple(names)


def required_columns(kind: str, *, geometry: bool = False) -> tuple[str, ...]:
    """
    Return the contract columns a person maps a file's columns onto (the app shows one select each).

    Parameters
    ----------
    kind
        ``"areas"``, ``"services"`` or ``"population"``.
    geometry
        Whether the file has a geometry (then services need no coordinate columns).

    Returns
    -------
    columns
        Services: ``service_id`` (optional: ids are made from each row when it is missing),
        ``name``, ``service_type``, ``capacity``, and ``lat``/``lon`` without a geometry.
        Population: ``area_id`` (or ``name`` to join by name) and ``population``; ``name`` is listed
        too. Areas: ``area_id`` and ``name``.
    """
    _check_kind(kind)
    if kind == "services":
        base = ("service_id", "name", "service_type", "capacity")
        return base if geometry else (*base, *COORDINATES)
    if kind == "population":
        return ("area_id", "name", "population")
    return ("area_id", "name")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise SocialMapError(f"`kind` should be one of {KINDS}; got {kind!r}.")


@functools.cache
def _synonyms(kind: str) -> dict[str, frozenset[str]]:
    """
    Contract column → every normalised name it goes by (its own, the synonyms, the template's).

    The templates' headers in Albanian and Serbian are among :data:`SYNONYMS` (a test checks every
    translation in the catalogs), so guessing reads no catalog: parsing them took longer than the
    rest of reading a small file.
    """
    out: dict[str, set[str]] = {}
    for column in contract_columns(kind):
        names = {normalise_header(column), *SYNONYMS[kind].get(column, ())}
        header = TEMPLATE_HEADERS.get(kind, {}).get(column)
        if header is not None:
            names.add(header)
        out[column] = {normalise_header(n) for n in names}
    return {k: frozenset(v) for k, v in out.items()}


@functools.cache
def _all_known() -> frozenset[str]:
    """Every normalised name of any contract column of any kind."""
    return frozenset(n for kind in KINDS for names in _synonyms(kind).values() for n in names)


@dataclass(frozen=True)
class Guess:
    """
    A proposed mapping of a file's columns onto the contract.

    Attributes
    ----------
    kind
        ``"areas"``, ``"services"`` or ``"population"``.
    mapping
        ``{"their column": "our column"}`` for every column recognised (a column already named as
        the contract names it maps onto itself). Plain text, ready for ``columns=``.
    ambiguous
        Contract column → the file's columns that could each be it (none of them is taken).
    missing
        Columns of :func:`required_columns` that no file column was recognised as (ambiguous
        ones included).
    """

    kind: str
    mapping: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def renames(self) -> dict[str, str]:
        """Return the part of :attr:`mapping` that changes a name (their column → another contract column)."""
        return {k: v for k, v in self.mapping.items() if k != v}

    def column_for(self, ours: str) -> str | None:
        """Return the file's column guessed as contract column ``ours``, or ``None``."""
        return next((k for k, v in self.mapping.items() if v == ours), None)


def guess_columns(columns: Iterable[Any], kind: str, *, geometry: bool = False) -> Guess:
    """
    Guess which of a file's columns are which contract columns, from their names.

    Parameters
    ----------
    columns
        The file's column names (e.g. ``frame.columns``), in order.
    kind
        ``"areas"``, ``"services"`` or ``"population"``.
    geometry
        Whether the file has a geometry (only for :attr:`Guess.missing`: services then need no
        coordinate columns).

    Returns
    -------
    guess
        A :class:`Guess`. A contract column that two or more file columns could be is left out and
        listed in ``ambiguous``, never guessed.

    Examples
    --------
    >>> g = guess_columns(["Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia", "Gjatësia"], "services")
    >>> g.mapping["Lloji i shërbimit"], g.mapping["Gjatësia"], g.missing
    ('service_type', 'lon', ())
    >>> guess_columns(["Emri", "Naziv", "Popullsia"], "population").ambiguous
    {'name': ('Emri', 'Naziv')}
    """
    synonyms = _synonyms(kind)
    order = list(contract_columns(kind))
    given = [str(c) for c in columns]
    claims: dict[str, list[tuple[int, str]]] = {}  # ours -> [(strength, theirs)]
    for theirs in given:
        forms = _forms(theirs)
        for strength, form in enumerate(forms):
            hits = [ours for ours in order if form in synonyms[ours]]
            if hits:
                # Synonyms of one kind are disjoint, so a form names at most one contract column.
                ours = hits[0]
                # An exact contract name is stronger than a synonym; a name in full than without
                # its parenthesis.
                rank = 0 if form == normalise_header(ours) and strength == 0 else 1 + strength
                claims.setdefault(ours, []).append((rank, theirs))
                break
    mapping: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for ours in order:
        found = sorted(claims.get(ours, []))
        if not found:
            continue
        best = [theirs for rank, theirs in found if rank == found[0][0]]
        if len(best) == 1:
            mapping[best[0]] = ours
        else:
            ambiguous[ours] = tuple(best)
    mapping = {theirs: mapping[theirs] for theirs in given if theirs in mapping}
    have = set(mapping.values())
    if kind == "population":
        missing = (() if have & {"area_id", "name"} else ("area_id",)) + (
            () if "population" in have else ("population",)
        )
    else:
        need = required_columns(kind, geometry=geometry)
        # service_id may be missing: the loaders make ids from each row's content.
        missing = tuple(n for n in need if n not in have and n != "service_id")
    return Guess(kind, mapping, ambiguous, missing)


def guess_kind(columns: Iterable[Any]) -> str | None:
    """
    Tell from a table's column names whether it holds services or population (``None`` if unsure).

    Services: coordinate columns, or a service type or capacity column. Population: a population
    column and none of those.
    """
    cols = list(columns)
    services = guess_columns(cols, "services").mapping.values()
    population = guess_columns(cols, "population").mapping.values()
    if "population" in population and not {"service_type", "capacity"} & set(services):
        return "population"
    if {"lat", "lon"} <= set(services) or {"service_type", "capacity"} & set(services):
        return "services"
    return None


def header_score(values: Sequence[Any]) -> int:
    """Return how many cells of a row are a known column name (of any kind)."""
    known = _all_known()
    return sum(any(f in known for f in _forms(v)) for v in values if isinstance(v, str) and v.strip())


def header_row(rows: Sequence[Sequence[Any]]) -> int:
    """
    Find the header among the first rows of a table read without one.

    The header is the row with the most cells that are known column names (:data:`SYNONYMS` and
    the contract's own names), when it has at least two and more than the first row; otherwise the
    first row, after any title rows above it (rows with a single filled cell where the rows below
    have several).

    Parameters
    ----------
    rows
        The table's first non-blank rows (at most :data:`HEADER_SEARCH_ROWS` are looked at), each a
        list of cell values (``None``/NaN for an empty cell).

    Returns
    -------
    position
        The position in ``rows`` of the header (0 for the first row).
    """
    rows = list(rows)[:HEADER_SEARCH_ROWS]
    if not rows:
        return 0
    filled = [sum(not _blank(v) for v in r) for r in rows]
    widest = max(filled)
    known = _all_known()
    if filled[0] == widest and all(
        isinstance(v, str) and any(f in known for f in _forms(v)) for v in rows[0] if not _blank(v)
    ):
        # Every cell of the first row is a known name and no row is wider: no row can score more
        # than the first, so it is the header (the usual case: the rows below are not scored).
        return 0
    scores = [header_score(r) for r in rows]
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    if scores[best] >= 2 and scores[best] > scores[0]:
        return best
    position = 0
    while position < len(rows) - 1 and filled[position] == 1 and widest > 1:
        position += 1
    return position


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def parse_columns(text: str | None) -> dict[str, str]:
    """
    Read a column mapping written ``"their=ours,their2=ours2"`` (the command line's ``--columns``).

    Spaces around names are dropped; a name that holds a comma or ``=`` can be quoted with ``"``.

    Raises
    ------
    SocialMapError
        When a pair has no ``=`` or an empty side (the message says which and how to write it).

    Examples
    --------
    >>> parse_columns("Emri=name, Lloji i shërbimit=service_type")
    {'Emri': 'name', 'Lloji i shërbimit': 'service_type'}
    """
    import csv

    if not text or not text.strip():
        return {}
    out: dict[str, str] = {}
    for pair in next(csv.reader([text], skipinitialspace=True)):
        theirs, sep, ours = pair.rpartition("=")
        theirs, ours = theirs.strip().strip('"'), ours.strip().strip('"')
        if not sep or not theirs or not ours:
            raise SocialMapError(
                N_(
                    "--columns: '{pair}' is not written their=ours "
                    "(e.g. --columns 'Emri=name,Kapaciteti=capacity')."
                ),
                pair=pair,
            )
        out[theirs] = ours
    return out


def describe(mapping: Mapping[str, str]) -> str:
    """Return a mapping as ``'Emri' → name, 'Kapaciteti' → capacity`` (for messages)."""
    return ", ".join(f"'{k}' → {v}" for k, v in mapping.items())


def ambiguity_hint(ours: str, candidates: Sequence[str]) -> Message:
    """Return the sentence said when several columns could be one contract column."""
    return Message(
        N_("Columns {candidates} could each be '{ours}', so none was taken."),
        candidates=", ".join(f"'{c}'" for c in candidates),
        ours=ours,
    )


def apply_choices(
    mapping: Mapping[str, str], choices: Mapping[str, str | None], columns: Iterable[Any]
) -> dict[str, str]:
    """
    Combine a guessed mapping with a person's choices, one file column (or none) per contract column.

    Parameters
    ----------
    mapping
        The guess (:attr:`Guess.mapping`), ``{"their column": "our column"}``.
    choices
        Contract column → the file column chosen for it, or ``None``/``""`` for none (e.g. the
        selects of the app, one per column of :func:`required_columns`).
    columns
        The file's columns.

    Returns
    -------
    mapping
        ``{"their column": "our column"}`` for ``columns=``: the choices, the guesses for contract
        columns not chosen, and ``""`` for a guessed column that was not chosen (so it is not guessed
        again). A plain dict of text, to keep with the session and the workspace.

    Examples
    --------
    >>> apply_choices({"Emri": "name", "Naziv": "provider"}, {"name": "Naziv"}, ["Emri", "Naziv"])
    {'Emri': '', 'Naziv': 'name'}
    """
    names = [str(c) for c in columns]
    chosen = {ours: str(theirs) for ours, theirs in choices.items() if theirs}
    taken = set(chosen.values())
    out: dict[str, str] = {}
    for theirs in names:
        if theirs in taken:
            out[theirs] = next(ours for ours, col in chosen.items() if col == theirs)
        elif theirs in mapping and mapping[theirs] not in chosen and mapping[theirs] not in choices:
            out[theirs] = mapping[theirs]
        elif theirs in mapping:
            out[theirs] = ""  # guessed as a column the person chose otherwise (or none): keep it out
    return out
