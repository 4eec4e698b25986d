"""Translations (gettext catalogs read with Babel) and locale-aware number and date formatting.

Visible strings are written in English in the code and wrapped in :func:`t`; the Albanian and
Serbian (Latin) catalogs live in ``socialmap/locales/<lang>/LC_MESSAGES/socialmap.po``. There is no
global "current language": every call names its language (or falls back to the default), so two
users of the app in different languages never affect each other.

Strings kept in tables (e.g. column titles) are marked with :func:`N_` where they are written, so
that ``scripts/update_translations.py`` extracts them, and translated with :func:`t` where they
are shown. See ``socialmap/locales/README.md`` for the workflow and the glossary.

Counts are written with :func:`nt` (gettext's ``ngettext``): the catalog's own plural forms choose
the words (Albanian has two, 1 and the rest; Serbian three: 1, 21, 31… / 2–4, 22–24… / the rest),
never a faked "row(s)". Pairs kept in tables are marked with :func:`Nn_`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
from importlib import resources
from typing import Any

from socialmap import settings
from socialmap.errors import SocialMapError

#: Supported languages: code → (Babel locale, name in that language).
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("en", "English"),
    "sq": ("sq", "Shqip"),
    "sr": ("sr_Latn", "Srpski"),
}

DOMAIN = "socialmap"

#: Thousands separators that differ from Babel's (CLDR's) default for the locale. CLDR groups
#: Albanian digits with a no-break space; the project's planners asked for the ``12.345,6`` form
#: used in Kosovo's official publications, which Serbian already has.
_GROUP_OVERRIDE = {"sq": "."}


def N_(message: str) -> str:
    """
    Mark a message for extraction without translating it (gettext's ``gettext_noop``).

    Use it where an English string is stored (a table of labels, a constant) and translate it with
    :func:`t` where it is shown: ``LABELS = {"need": N_("Need (persons)")}`` … ``t(LABELS[key], lang)``.
    """
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - gettext's marker style
    """
    Mark a singular/plural pair for extraction without translating it (gettext's ``ngettext_noop``).

    Returns the pair, to be shown with :func:`nt` (``nt(*PAIR, n, lang)``) or kept in a
    :class:`socialmap.errors.Message` (``Message(*Nn_("{n} row", "{n} rows"), n, n=Number(n))``).
    """
    return singular, plural


#: Titles (with units) of the result's columns, for legends, tooltips and table headers.
COLUMN_TITLES: dict[str, str] = {
    "name": N_("Municipality"),
    "composite_gap": N_("Composite gap score (0–100)"),
    "gap_score": N_("Gap score: % of need without a reachable place"),
    "covered_share": N_("Share of need within the catchment (%)"),
    "need": N_("Need (persons)"),
    "reachable_places": N_("Persons in need who can reach a place"),
    "unmet_need": N_("Persons in need who cannot reach a place"),
    "supply": N_("Places (known capacity)"),
    "supply_per_10k": N_("Places per 10,000 persons in need"),
    "access": N_("Places per person in need (2SFCA)"),
    "services": N_("Number of services"),
    "population": N_("Population (persons)"),
    "rank": N_("Rank by composite gap (1 = largest gap)"),
    "types_scored": N_("Service types scored"),
    "capacity": N_("Capacity (persons at once)"),
    "provider": N_("Provider"),
}


#: Words a services file may use for its provider (``public``, ``ngo``, ``private``), shown translated.
PROVIDER_LABELS: dict[str, str] = {
    "public": N_("public"),
    "ngo": N_("NGO (licensed)"),
    "private": N_("private"),
}


def provider_label(value: Any, lang: str | None = None) -> str:
    """
    Return a service's provider in ``lang``: the known words translated, anything else as given.

    Examples
    --------
    >>> provider_label("ngo", "sq"), provider_label("Caritas", "sq")
    ('OJQ (e licencuar)', 'Caritas')
    """
    text = str(value).strip()
    key = text.casefold()
    return t(PROVIDER_LABELS[key], lang) if key in PROVIDER_LABELS else text


def column_title(column: str, lang: str | None = None) -> str:
    """
    Return the title of a result column in ``lang`` (``gap_score_<type>`` → the gap score's title).

    Columns without a title are returned unchanged.

    Examples
    --------
    >>> column_title("need", "sq")
    'Nevoja (persona)'
    """
    base = "gap_score" if column.startswith("gap_score") else column
    return t(COLUMN_TITLES[base], lang) if base in COLUMN_TITLES else column


def area_names(areas: Any, lang: str | None = None) -> Any:
    """
    Return the areas' names in ``lang``: ``name_<lang>`` where present and filled, else ``name``.

    Parameters
    ----------
    areas
        A frame with ``name`` (or at least ``area_id``) and optionally ``name_sq``/``name_sr``/``name_en``.
    lang
        ``en``, ``sq`` or ``sr``; ``None`` → :func:`default_language`.

    Returns
    -------
    names
        A Series of names (object dtype) aligned with ``areas``.
    """
    own = f"name_{check_language(lang)}"
    fallback = "name" if "name" in areas.columns else "area_id"
    name = areas[fallback].astype(object)
    if own in areas.columns:
        filled = areas[own].notna() & (areas[own].astype(str).str.strip() != "")
        return areas[own].astype(object).where(filled, name)
    return name


def default_language() -> str:
    """
    Return the language to use when none is given.

    ``SOCIALMAP_LANG`` if set, else the first supported language in ``LC_ALL``/``LC_MESSAGES``/``LANG``
    (e.g. ``sq_AL.UTF-8`` → ``sq``), else ``settings.default_language``.
    """
    for var in ("SOCIALMAP_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        code = value.split(".")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return settings.default_language


def check_language(lang: str | None) -> str:
    """Return ``lang`` if supported (``None`` → :func:`default_language`), else raise a clear error."""
    if lang is None:
        return default_language()
    code = str(lang).lower()
    if code not in LANGUAGES:
        raise SocialMapError(f"Language {lang!r} is not supported; use one of {', '.join(LANGUAGES)}.")
    return code


@functools.cache
def _catalog(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    po = resources.files("socialmap").joinpath("locales", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    if not po.is_file():
        return {}
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[lang][0])
    return {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string and not m.fuzzy
    }


def t(message: str, lang: str | None = None, /, **values: Any) -> str:
    """
    Translate an English message, then fill in ``{name}`` placeholders.

    Parameters
    ----------
    message
        The English text (the gettext message id).
    lang
        ``en``, ``sq`` or ``sr``; ``None`` → :func:`default_language`. May also be given as
        ``lang=`` (so no placeholder may be called ``lang``).
    **values
        Values for the placeholders; numbers are not formatted here (use :func:`format_number`).
        A placeholder may be called ``message``.

    Examples
    --------
    >>> t("{n} municipalities", "en", n=38)
    '38 municipalities'
    """
    if "lang" in values:
        lang = values.pop("lang")
    text = _catalog(check_language(lang)).get(message, message)
    return text.format(**values) if values else text


@functools.cache
def _translations(lang: str) -> Any:
    """Return the language's catalog as gettext translations (Babel), for :func:`nt`'s plural forms."""
    import gettext
    import io

    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    po = resources.files("socialmap").joinpath("locales", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[lang][0])
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # fuzzy entries stay English, as in t()
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def nt(singular: str, plural: str, n: float, lang: str | None = None, /, **values: Any) -> str:
    """
    Translate a message about ``n`` things in the plural form the language uses for ``n``.

    gettext's ``ngettext`` over the language's catalog, whose ``Plural-Forms`` header chooses the
    form: English and Albanian have two (1, and every other number), Serbian three (``n % 10 == 1``
    but not 11: 1, 21, 101…; 2–4 but not 12–14: 2, 22…; the rest: 5, 11–14, 20…).

    Parameters
    ----------
    singular, plural
        The English texts for one and for several (the msgid and msgid_plural).
    n
        The count that chooses the form (a whole number; a fraction takes the form of its integer
        part, as gettext does).
    lang
        ``en``, ``sq`` or ``sr``; ``None`` → :func:`default_language`.
    **values
        Values for the placeholders; ``n`` defaults to the count written for the language
        (``1.234`` in sq/sr).

    Examples
    --------
    >>> nt("{n} row", "{n} rows", 1, "en"), nt("{n} row", "{n} rows", 1234, "en")
    ('1 row', '1,234 rows')
    """
    if "lang" in values:
        lang = values.pop("lang")
    code = check_language(lang)
    values.setdefault("n", format_number(n, code, decimals=0))
    text = _translations(code).ngettext(singular, plural, int(n))
    return str(text).format(**values)


def format_number(
    value: float | int | None, lang: str | None = None, *, decimals: int = 1, grouping: bool = True
) -> str:
    """
    Format a number for a language: ``12,345.6`` in English, ``12.345,6`` in Albanian and Serbian.

    ``None`` and NaN give ``"–"``; ``grouping=False`` leaves out the thousands separator.

    Examples
    --------
    >>> format_number(12345.6, "en"), format_number(12345.6, "sq")
    ('12,345.6', '12.345,6')
    """
    from babel.numbers import format_decimal, get_group_symbol

    if value is None or value != value:  # NaN
        return "–"
    code = check_language(lang)
    locale = LANGUAGES[code][0]
    pattern = ("#,##0" if grouping else "0") + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(value, format=pattern, locale=locale)
    if code in _GROUP_OVERRIDE:
        text = text.replace(get_group_symbol(locale), _GROUP_OVERRIDE[code])
    return text


def localise_number(text: str, lang: str | None = None) -> str:
    """
    Give a number written the English way (``"12,345.6"``, as ``f"{x:,.1f}"``) the separators of ``lang``.

    Only ``,`` and ``.`` are changed, so pass the number alone, not a sentence around it.

    Examples
    --------
    >>> localise_number("12,345.6", "sq"), localise_number("12,345.6", "en")
    ('12.345,6', '12,345.6')
    """
    from babel.numbers import get_decimal_symbol, get_group_symbol

    code = check_language(lang)
    locale = LANGUAGES[code][0]
    group = _GROUP_OVERRIDE.get(code, get_group_symbol(locale))
    decimal = get_decimal_symbol(locale)
    if (group, decimal) == (",", "."):
        return text
    return text.translate({ord(","): group, ord("."): decimal})


def format_date(value: _dt.date | None = None, lang: str | None = None) -> str:
    """Format a date (default: the outputs' date, today unless set, see ``settings.output_datetime``)."""
    from babel.dates import format_date as _format

    day = value or settings.output_datetime().date()
    return _format(day, format="medium", locale=LANGUAGES[check_language(lang)][0])
