"""
Normalising names of places so that spellings of one name meet: case, accents, affixes, the Albanian forms.

:func:`normalise_name` (folding, administrative words, parentheses), :func:`display_name`,
:func:`definite_form_key` and the parsing of a name into its words and qualifiers (North/South...), which
fuzzy matching never adds, drops or swaps. Import them from :mod:`socialmap.names`, which re-exports them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
