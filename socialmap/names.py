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
import io
import logging
import math
import re
import unicodedata
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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

# Administrative words removed from the start or end of a normalised name (longest first).
# Multilingual and generic: English, Albanian, Serbian/Croatian/Bosnian, Macedonian, Slovenian.
_PREFIXES: tuple[str, ...] = (
    "municipality of",
    "municipality",
    "district of",
    "district",
    "komuna e",
    "komuna",
    "bashkia e",
    "bashkia",
    "opstina",
    "opshtina",
    "opcina",
    "obcina",
)
_SUFFIXES: tuple[str, ...] = (
    "municipality",
    "district",
    "komuna",
    "bashkia",
    "opstina",
    "opshtina",
    "opcina",
    "obcina",
)
# Albanian prefixes after which the name is in the genitive ("Komuna e Prishtinës").
_GENITIVE_PREFIXES: frozenset[str] = frozenset({"komuna e", "bashkia e"})
# Albanian genitive endings of the first word and what replaces them, tried in turn.
_GENITIVE_ENDINGS: tuple[tuple[str, str], ...] = (("es", "e"), ("se", ""), ("it", ""), ("ut", ""), ("t", ""))

# Words that tell two otherwise equal names apart (North/South Mitrovica, Gornji/Donji ...).
# A fuzzy match never adds, drops or swaps one, and a parenthesis holding only such words is part
# of the name, not another name for it. Normalised (folded) spellings.
_QUALIFIERS: frozenset[str] = frozenset(
    {
        # English
        "north", "northern", "south", "southern", "east", "eastern", "west", "western",
        "upper", "lower", "central", "new", "old", "greater", "little",
        # Albanian
        "veri", "veriu", "veriut", "verior", "veriore", "jug", "jugu", "jugut", "jugor", "jugore",
        "lindje", "lindjes", "lindor", "lindore", "perendim", "perendimit", "perendimor", "perendimore",
        "eperm", "eperme", "poshtem", "poshtme", "ri", "re", "vjeter",
        # Serbian / Croatian / Bosnian (Latin, folded)
        "severna", "severni", "severno", "sjeverna", "sjeverni", "sjeverno",
        "juzna", "juzni", "juzno", "istocna", "istocni", "istocno", "zapadna", "zapadni", "zapadno",
        "gornja", "gornji", "gornje", "donja", "donji", "donje", "srednja", "srednji", "srednje",
        "nova", "novi", "novo", "stara", "stari", "staro", "velika", "veliki", "veliko",
        "mala", "mali", "malo",
    }
)  # fmt: skip

# Letters that Unicode decomposition does not fold to ASCII, and Serbian Cyrillic (after casefold).
_FOLD = str.maketrans(
    {
        "đ": "dj", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "ı": "i", "þ": "th", "ð": "d",
        "ħ": "h", "ŀ": "l",
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "dj", "е": "e", "ж": "z", "з": "z",
        "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u", "ф": "f", "х": "h", "ц": "c",
        "ч": "c", "џ": "dz", "ш": "s",
    }
)  # fmt: skip
_APOSTROPHES = re.compile(r"['’ʼ`´‘]")
_NON_ALNUM = re.compile(r"[\W_]+")
_PARENTHESIS = re.compile(r"\(([^()]*)\)")
_SPACES = re.compile(r"\s+")


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Casefold, transliterate and strip diacritics and punctuation; no prefix handling."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("", text)
    return _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).strip()


def _strip_affixes(folded: str) -> tuple[str, bool]:
    """Remove one administrative prefix and one suffix; return the rest and whether it is genitive."""
    if folded in _PREFIXES or folded in _SUFFIXES:
        return "", False
    genitive = False
    for prefix in _PREFIXES:
        if folded.startswith(prefix + " ") and len(folded) > len(prefix) + 1:
            folded = folded[len(prefix) + 1 :]
            genitive = prefix in _GENITIVE_PREFIXES
            break
    for suffix in _SUFFIXES:
        if folded.endswith(" " + suffix) and len(folded) > len(suffix) + 1:
            folded = folded[: -len(suffix) - 1]
            break
    return folded, genitive


def normalise_name(name: str) -> str:
    """
    Return the comparison form of a place name.

    Lower case; diacritics folded (``ë`` to ``e``, ``ç``/``č``/``ć`` to ``c``, ``š`` to ``s``,
    ``đ`` to ``dj``); Serbian Cyrillic transliterated the same way; apostrophes removed; other
    punctuation and repeated spaces turned into one space; one administrative prefix ("Municipality
    of", "Komuna e", "Opština", "Općina"...) and one suffix ("... Municipality") removed.

    Parameters
    ----------
    name
        A place name.

    Returns
    -------
    key
        The normalised name; empty when nothing but punctuation or an administrative word is left.

    Examples
    --------
    >>> normalise_name("Municipality of Fushë Kosovë")
    'fushe kosove'
    >>> normalise_name("Opština Uroševac")
    'urosevac'
    >>> normalise_name("Đakovica") == normalise_name("Ђаковица")
    True
    """
    return _strip_affixes(_fold(name))[0]


def display_name(name: str) -> str:
    """
    Return a place name without its administrative prefix or suffix, spelled as given.

    For showing a name ("Municipality of Gjakova" on a map is "Gjakova"); the words removed are
    those :func:`normalise_name` removes ("Municipality of", "Komuna e", "Opština"...). A name that
    is nothing but such words is returned unchanged.

    Examples
    --------
    >>> display_name("Municipality of Gjakova"), display_name("Opština Uroševac"), display_name("Pejë")
    ('Gjakova', 'Uroševac', 'Pejë')
    >>> display_name("Prizren Municipality"), display_name("Municipality")
    ('Prizren', 'Municipality')
    """
    text = _SPACES.sub(" ", str(name)).strip()
    words = text.split(" ")
    folded = [_fold(w) for w in words]
    for prefix in _PREFIXES:
        parts = prefix.split(" ")
        if len(words) > len(parts) and folded[: len(parts)] == parts:
            words, folded = words[len(parts) :], folded[len(parts) :]
            break
    for suffix in _SUFFIXES:
        parts = suffix.split(" ")
        if len(words) > len(parts) and folded[-len(parts) :] == parts:
            words = words[: -len(parts)]
            break
    return " ".join(words) if words else text


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


def definite_form_key(normalised: str) -> str:
    """
    Return a key under which Albanian definite and indefinite forms of a name coincide.

    Each word of four letters or more loses a final ``a``, ``e`` (``ë`` once normalised) or ``i``,
    and a final ``u`` after ``g``, ``k`` or ``h``: "gjakova" and "gjakove" both give "gjakov",
    "hani i elezit" and "han i elezit" both give "han i elezit". The key is deliberately loose;
    :func:`match` uses it only when it points to a single reference entity.

    Parameters
    ----------
    normalised
        A name already passed through :func:`normalise_name`.

    Returns
    -------
    key
        The key.

    Examples
    --------
    >>> definite_form_key(normalise_name("Pejë")) == definite_form_key(normalise_name("Peja"))
    True
    >>> definite_form_key("mitrovice e veriut")
    'mitrovic e veriut'
    """
    words = []
    for word in normalised.split():
        if len(word) >= 4 and word[-1] in "aei":
            word = word[:-1]
        elif len(word) >= 5 and word[-1] == "u" and word[-2] in "gkh":
            word = word[:-1]
        words.append(word)
    return " ".join(words)


@dataclass(frozen=True)
class _Parsed:
    """An input or reference name as the matcher sees it."""

    exact: str  # NFC, outer and repeated spaces removed
    forms: tuple[str, ...]  # normalised alternatives ("Peja (Peć)" -> "peja", "pec")
    genitive: tuple[str, ...] = ()  # normalised candidate stems when the name was "Komuna e <genitive>"


def _is_qualifier_text(folded: str) -> bool:
    words = folded.split()
    return bool(words) and all(w in _QUALIFIERS for w in words)


def _parse(name: str) -> _Parsed:
    """Split a name into its alternatives ("A (B)", "A / B") and normalise each."""
    exact = _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip()
    alternatives = _PARENTHESIS.findall(exact)
    main = _PARENTHESIS.sub(" ", exact)
    parts = main.split("/")
    for alt in alternatives:
        if _is_qualifier_text(_fold(alt)):
            # "Mitrovica (North)" is one name, not "Mitrovica" or "North".
            parts = [p + " " + alt for p in parts]
        else:
            parts.extend(alt.split("/"))
    forms: list[str] = []
    stems: list[str] = []
    for part in parts:
        folded, genitive = _strip_affixes(_fold(part))
        if not folded:
            continue
        if folded not in forms:
            forms.append(folded)
        if genitive:
            first, _, rest = folded.partition(" ")
            for ending, replacement in _GENITIVE_ENDINGS:
                if first.endswith(ending) and len(first) - len(ending) >= 3:
                    stem = (first[: -len(ending)] + replacement + " " + rest).strip()
                    if stem not in stems:
                        stems.append(stem)
    return _Parsed(exact=exact, forms=tuple(forms), genitive=tuple(stems))


# --------------------------------------------------------------------------------------------
# Reference entities and alias tables
# --------------------------------------------------------------------------------------------


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
