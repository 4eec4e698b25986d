"""Translations (gettext catalogs read with Babel) and locale-aware number and date formatting.

Visible strings are written in English in the code and wrapped in :func:`t`; the Albanian and
Serbian (Latin) catalogs live in ``socialmap/locales/<lang>/LC_MESSAGES/socialmap.po``. There is no
global "current language": every call names its language (or falls back to the default), so two
users of the app in different languages never affect each other.

Strings kept in tables (e.g. column titles) are marked with :func:`N_` where they are written, so
that ``scripts/update_translations.py`` extracts them, and translated with :func:`t` where they
are shown. See ``socialmap/locales/README.md`` for the workflow and the glossary.

The translatable message (:class:`Message`, with :class:`Number` and :class:`Localised` values),
its rendering (:func:`render`, :func:`message`) and the base error :class:`SocialMapError` are
defined here, beside the catalogs they are written through (:func:`t` raises a SocialMapError for
an unknown language, and a SocialMapError is rendered with :func:`t`); :mod:`socialmap.errors`
re-exports them and describes how to use them. :func:`output_datetime` is the outputs' date that
:func:`format_date` and the file writers stamp.

Counts are written with :func:`nt` (gettext's ``ngettext``): the catalog's own plural forms choose
the words (Albanian has two, 1 and the rest; Serbian three: 1, 21, 31… / 2–4, 22–24… / the rest),
never a faked "row(s)". Pairs kept in tables are marked with :func:`Nn_`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from socialmap import settings

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
    """Format a date (default: the outputs' date, today unless set, see :func:`output_datetime`)."""
    from babel.dates import format_date as _format

    day = value or output_datetime().date()
    return _format(day, format="medium", locale=LANGUAGES[check_language(lang)][0])


@dataclass(frozen=True)
class Number:
    """
    A number in a message, written with the decimal and thousands separators of each language.

    Attributes
    ----------
    value
        The number.
    spec
        Its format in English (a :func:`format` spec): ``","`` → ``12,345``, ``".1f"`` → ``12.3``,
        ``"g"`` → ``42.66``. Other languages get the same digits with their own separators
        (:func:`socialmap.i18n.localise_number`).

    Examples
    --------
    >>> str(Number(12345.6, ",.1f")), Number(12345.6, ",.1f").localise("sq")
    ('12,345.6', '12.345,6')
    """

    value: float
    spec: str = ","

    def __str__(self) -> str:
        return format(self.value, self.spec)

    def localise(self, lang: str | None = None) -> str:
        """Return the number written for ``lang`` (``None`` → the default language)."""
        return localise_number(str(self), lang)


@dataclass(frozen=True)
class Localised:
    """
    A value written differently in each language, such as the names of areas in a message.

    Attributes
    ----------
    texts
        The text by language code (``en``, ``sq``, ``sr``). A language missing here is written with
        ``fallback``'s text, else the first one given.
    fallback
        The language whose text stands in for a missing one (default ``en``).

    Examples
    --------
    >>> names = Localised({"en": "Shtime", "sq": "Shtime", "sr": "Štimlje"})
    >>> str(names), names.localise("sr")
    ('Shtime', 'Štimlje')
    """

    texts: Mapping[str, str]
    fallback: str = "en"

    def __str__(self) -> str:
        return self.localise("en")

    def localise(self, lang: str | None = None) -> str:
        """Return the text for ``lang`` (``None`` → the default language)."""
        if lang is None:
            lang = default_language()
        if lang in self.texts:
            return str(self.texts[lang])
        if self.fallback in self.texts:
            return str(self.texts[self.fallback])
        return next((str(v) for v in self.texts.values()), "")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _fill(template: str, values: Mapping[str, Any]) -> str:
    """Fill in the placeholders as :func:`socialmap.i18n.t` does: only when there are values."""
    return template.format(**values) if values else template


class Message(str):
    """
    English text that can be written again in another language.

    A ``str`` (the English text, so ``==``, ``in`` and printing work as for any string) that keeps
    the English template and the values it was made from.

    Parameters
    ----------
    template
        The English text with ``{name}`` placeholders, marked with :func:`N_` where it is written
        (``Message(N_("{n} rows"), n=3)``) so that it is extracted into the catalogs. As with
        :func:`socialmap.i18n.t`, placeholders are filled only when there are values, so write
        literal braces as ``{{ }}`` only in a template that has values.
    **values
        The values of the placeholders: text, :class:`Number`, nested :class:`Message` objects,
        exceptions (see the module's documentation for how each is written).

    Raises
    ------
    ValueError
        If a placeholder is called ``lang`` or has no value.

    Examples
    --------
    >>> text = Message(N_("'{col}' is empty in row {row}."), col="name", row=4)
    >>> text
    "'name' is empty in row 4."
    >>> text.template
    "'{col}' is empty in row {row}."

    A count is written in the plural form of the language (:func:`nt`): the singular, the plural and
    the count come first.

    >>> Message(*Nn_("{n} row has it.", "{n} rows have it."), 3, n=3)
    '3 rows have it.'
    """

    template: str
    values: Mapping[str, Any]
    #: The English plural template and the count (``quantity``) that chooses the form (``None`` for a message
    #: without plural forms): ``Message(*Nn_("{n} row", "{n} rows"), 3, n=Number(3))``.
    plural: str | None = None
    quantity: float | None = None

    def __new__(  # noqa: D102 - see the class
        cls, template: str, plural: str | None = None, count: float | None = None, /, **values: Any
    ) -> Message:
        template = str(template)
        if "lang" in values:
            raise ValueError("A message's placeholder may not be called 'lang' (it is t()'s language).")
        if (plural is None) != (count is None):
            raise ValueError("A plural message needs both its plural template and its count.")
        if values:
            missing = sorted(_fields(template if plural is None else plural) - set(values))
            if missing:
                raise ValueError(f"No value for the placeholder(s) {missing} of the message {template!r}.")
        english_template = template if plural is None or count == 1 else plural
        english = _fill(english_template, {k: _english(v) for k, v in values.items()})
        obj = super().__new__(cls, english)
        obj.template = template
        obj.values = dict(values)
        obj.plural = None if plural is None else str(plural)
        obj.quantity = count
        return obj

    def render(self, lang: str | None = None) -> str:
        """
        Return the message in ``lang``: the template's translation with the values filled in.

        Parameters
        ----------
        lang
            ``en``, ``sq`` or ``sr``; ``None`` → the default language. A template missing from the
            catalog is written in English.
        """
        code = check_language(lang)
        if code == "en":
            return str(self)
        values = {k: _written(v, code) for k, v in self.values.items()}
        if self.plural is not None and self.quantity is not None:
            return nt(self.template, self.plural, self.quantity, code, **values)
        return t(self.template, code, **values)

    def map_values(self, func: Callable[[str], str]) -> Message:
        """
        Return the message with ``func`` applied to every text value (also inside nested messages).

        The template is kept, so the result still translates. For example the app replaces the
        path of a temporary file by the name of the file the user uploaded.
        """
        values = {k: _map_value(v, func) for k, v in self.values.items()}
        if self.plural is not None:
            return Message(self.template, self.plural, self.quantity, **values)
        return Message(self.template, **values)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (str(self), self.template, dict(self.values), self.plural, self.quantity))


def _restore(
    english: str,
    template: str,
    values: dict[str, Any],
    plural: str | None = None,
    count: float | None = None,
) -> Message:
    """Unpickle a :class:`Message` (without filling in the template again)."""
    obj = str.__new__(Message, english)
    obj.template = template
    obj.values = values
    obj.plural = plural
    obj.quantity = count
    return obj


def _english(value: Any) -> Any:
    if isinstance(value, str | Number | Localised | BaseException):
        return str(value)
    return value


def _written(value: Any, lang: str) -> Any:
    """Return a value of a message as written in ``lang``."""
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, Number | Localised):
        return value.localise(lang)
    if isinstance(value, BaseException):
        return message(value, lang)
    return value


def _map_value(value: Any, func: Callable[[str], str]) -> Any:
    if isinstance(value, Message):
        return value.map_values(func)
    if isinstance(value, str):
        return func(value)
    return value


def render(text: str, lang: str | None = None) -> str:
    """
    Return a text in ``lang``: a :class:`Message` is rendered; any other text is looked up in the catalogs.

    Parameters
    ----------
    text
        A :class:`Message`, or a plain string (e.g. a fixed message marked with :func:`N_`); a
        string missing from the catalogs is returned as it is.
    lang
        ``en``, ``sq`` or ``sr``; ``None`` → the default language.
    """
    if isinstance(text, Message):
        return text.render(lang)
    return t(str(text), lang)


def map_text(text: str, func: Callable[[str], str]) -> str:
    """Apply ``func`` to a text: to the values of a :class:`Message` (which stays one), else to the text."""
    return text.map_values(func) if isinstance(text, Message) else func(text)


def message(exc: BaseException, lang: str | None = None) -> str:
    """
    Return an exception's message in ``lang``.

    Parameters
    ----------
    exc
        Any exception. A :class:`SocialMapError` is written by its :meth:`~SocialMapError.render`;
        another exception whose one argument is a :class:`Message` is rendered; any other is
        ``str(exc)``.
    lang
        ``en``, ``sq`` or ``sr``; ``None`` → the default language.

    Examples
    --------
    >>> message(DataSourceError(N_("{file} does not exist."), file="x.csv"), "en")
    'x.csv does not exist.'
    """
    if isinstance(exc, SocialMapError):
        return exc.render(lang)
    if len(exc.args) == 1 and isinstance(exc.args[0], Message):
        return exc.args[0].render(lang)
    return str(exc)


class SocialMapError(Exception):
    """
    Base class of every error socialmap raises on bad input or bad data.

    Parameters
    ----------
    *args
        As for any exception; the first is the message.
    **values
        When given, the first argument is an English template (marked with :func:`N_`) and becomes
        a :class:`Message` filled with these values: ``str(err)`` is English and
        ``err.render("sq")`` (or :func:`message`) writes it in Albanian.

    Examples
    --------
    >>> err = SocialMapError(N_("Level {level} is not one of {levels}."), level="'ADM9'", levels="ADM0, ADM1")
    >>> str(err)
    "Level 'ADM9' is not one of ADM0, ADM1."
    """

    def __init__(self, *args: Any, **values: Any) -> None:
        if values:
            if not args:
                raise TypeError("values were given without a message template")
            args = (Message(args[0], **values), *args[1:])
        super().__init__(*args)

    def render(self, lang: str | None = None) -> str:
        """
        Return the message in ``lang`` (``None`` → the default language).

        A :class:`Message` is rendered; a plain message is looked up in the catalogs (so a fixed
        message marked with :func:`N_` is translated) and otherwise shown as it is.
        """
        if len(self.args) == 1 and isinstance(self.args[0], str):
            return render(self.args[0], lang)
        return str(self)


def output_datetime() -> _dt.datetime:
    """
    Return the timestamp written into outputs (timezone-aware, UTC).

    ``SOURCE_DATE_EPOCH`` when set; else ``settings.output_date`` at 00:00 UTC; else today at 00:00 UTC. A
    timestamp that changes once a day, not once a run, so that the same inputs give byte-identical XLSX,
    GeoPackage, PDF, SVG and HTML files on the same day, and always with ``SOURCE_DATE_EPOCH`` or
    ``output_date`` set (without ``SOURCE_DATE_EPOCH`` the time recorded is always 00:00 UTC).

    Raises
    ------
    SocialMapError
        If ``SOURCE_DATE_EPOCH`` or ``output_date`` is not a valid value.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise SocialMapError(
                N_(
                    "SOURCE_DATE_EPOCH={value} is not a number of seconds since 1970-01-01. Fix: set it to "
                    "a whole number (e.g. the output of `date +%s`), or unset it."
                ),
                value=repr(epoch),
            ) from None
    if settings.output_date is not None:
        try:
            day = _dt.date.fromisoformat(str(settings.output_date))
        except ValueError:
            raise SocialMapError(
                N_("`socialmap.settings.output_date` = {value} is not a date. Fix: write it as YYYY-MM-DD."),
                value=repr(settings.output_date),
            ) from None
    else:
        day = _dt.date.today()
    return _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC)
