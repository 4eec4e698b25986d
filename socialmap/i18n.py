"""Translations (gettext catalogs read with Babel) and locale-aware number and date formatting.

Visible strings are written in English in the code and wrapped in :func:`t`; the Albanian and
Serbian (Latin) catalogs live in ``socialmap/locales/<lang>/LC_MESSAGES/socialmap.po``. There is no
global "current language": every call names its language (or falls back to the default), so two
users of the app in different languages never affect each other.
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


def t(message: str, lang: str | None = None, **values: Any) -> str:
    """
    Translate an English message, then fill in ``{name}`` placeholders.

    Parameters
    ----------
    message
        The English text (the gettext message id).
    lang
        ``en``, ``sq`` or ``sr``; ``None`` → :func:`default_language`.
    **values
        Values for the placeholders; numbers are not formatted here (use :func:`format_number`).

    Examples
    --------
    >>> t("{n} municipalities", "en", n=38)
    '38 municipalities'
    """
    text = _catalog(check_language(lang)).get(message, message)
    return text.format(**values) if values else text


def format_number(value: float | int | None, lang: str | None = None, *, decimals: int = 1) -> str:
    """
    Format a number for a language: ``12,345.6`` in English, ``12.345,6`` in Albanian and Serbian.

    ``None`` and NaN give ``"–"``.

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
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(value, format=pattern, locale=locale)
    if code in _GROUP_OVERRIDE:
        text = text.replace(get_group_symbol(locale), _GROUP_OVERRIDE[code])
    return text


def format_date(value: _dt.date | None = None, lang: str | None = None) -> str:
    """Format a date (default: today) in the language's medium style."""
    from babel.dates import format_date as _format

    return _format(value or _dt.date.today(), format="medium", locale=LANGUAGES[check_language(lang)][0])
