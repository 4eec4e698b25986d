"""Exceptions raised by socialmap, and messages that can be shown in English, Albanian or Serbian.

Every error the library raises on bad input is a :class:`SocialMapError`, so a caller
(the app, the CLI, a notebook) can catch one type and show its message to a person.

Translatable messages
---------------------
A message that has values in it is a :class:`Message`: a ``str`` holding the English text, which
also keeps the English template (marked with :func:`N_` so that ``scripts/update_translations.py``
extracts it) and the values, so it can be written again in another language with
:meth:`Message.render`. Since it *is* the English string, code that compares, searches or prints
it keeps working. Errors and :class:`Problem` objects carry their texts that way:

* ``DataSourceError(N_("{file} does not exist."), file=path)``: ``str()`` is the English text;
  :func:`message` (``message(exc, "sq")``) gives it in Albanian. Any exception works with
  :func:`message`: one without a template is shown as ``str(exc)`` (looked up in the catalogs, so a
  fixed message marked with :func:`N_` is translated too).
* ``Problem(file, row, column, Message(N_("'{col}' is empty."), col=col), N_("Fill it in."))``:
  ``message`` and ``fix`` stay the English texts; :meth:`Problem.translated`,
  :meth:`Problem.as_dict` (``lang=``) and :meth:`Problem.format` give them in a language.

Values are written into the translated text as follows: a :class:`Message` in the same language; a
:class:`Number` with the language's separators (``12.345,6`` in Albanian and Serbian); a
:class:`Localised` value (such as names of areas) in that language's own words; an exception
as :func:`message` gives it; anything else as it is (names of files and columns, values from the
data), so a fixed phrase used as a value is written ``Message(N_("an Excel workbook"))``. Write whole
sentences (a sentence per variant rather than words glued together); a placeholder may not be called
``lang``.

Languages: ``lang=None`` means the default language (:func:`socialmap.i18n.default_language`), as
for :func:`socialmap.i18n.t`, in every function here that writes text for a person; ``str()`` is
always English. Functions that return data (:meth:`Problem.as_dict`) leave the texts untranslated
when no language is given.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


def N_(message: str) -> str:
    """
    Mark a message for extraction without translating it (the same as :func:`socialmap.i18n.N_`).

    Defined here too because :mod:`socialmap.i18n` imports this module.
    """
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - gettext's marker style
    """Mark a singular/plural pair for extraction (the same as :func:`socialmap.i18n.Nn_`)."""
    return singular, plural


# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------


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
        from socialmap.i18n import localise_number

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
            from socialmap.i18n import default_language

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

    A count is written in the plural form of the language (:func:`socialmap.i18n.nt`): the singular,
    the plural and the count come first.

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
        from socialmap.i18n import check_language, nt, t

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
    from socialmap.i18n import t

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


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


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


class CRSError(SocialMapError):
    """A coordinate reference system is missing, mismatched or unsuitable (e.g. geographic)."""


class DataSourceError(SocialMapError):
    """A file or download cannot be read: missing, unreachable, empty, or not the expected format."""


class TaxonomyError(SocialMapError):
    """A taxonomy (service types, target groups and rates) is malformed."""


class OutputError(SocialMapError, OSError):
    """
    A file cannot be written: the disk is full, the folder is read-only, the path is a folder...

    Also an :class:`OSError`, so code that catches those keeps working; ``__cause__`` is the original.
    """


# --------------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------------

#: Severities of a problem (data codes) → the words shown for them.
SEVERITY_LABELS: dict[str, str] = {"error": N_("error"), "warning": N_("warning")}

#: Fields of :meth:`Problem.as_dict` → titles of the columns of a table shown to a person.
PROBLEM_COLUMNS: dict[str, str] = {
    "severity": N_("Severity"),
    "file": N_("File"),
    "row": N_("Row"),
    "column": N_("Column"),
    "problem": N_("Problem"),
    "fix": N_("How to fix it"),
}


def severity_label(severity: str, lang: str | None = None) -> str:
    """Return the word for a severity code (``"error"``, ``"warning"``) in ``lang``; others as they are."""
    return render(SEVERITY_LABELS[severity], lang) if severity in SEVERITY_LABELS else severity


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Attributes
    ----------
    file
        The file (or dataset label) the problem is in.
    row
        1-based data row number as a person sees it in the file, or ``None`` when the
        problem concerns the whole file or a whole column.
    column
        The column concerned, or ``None``.
    message
        What is wrong, in English (a :class:`Message` when it can be translated).
    fix
        How to fix it, in English (a :class:`Message`, or a fixed text marked with :func:`N_`).
    severity
        ``"error"`` (the input cannot be used) or ``"warning"`` (repaired or worth a look): a data
        code, never translated; :func:`severity_label` gives the word to show.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    fix: str
    severity: str = "error"

    def __str__(self) -> str:
        return self.format("en")

    def format(self, lang: str | None = None) -> str:
        """
        Return the problem on one line in ``lang`` (``None`` → the default language).

        ``ERROR: file, row 3, column 'capacity': 'ten' in 'capacity' is not a number. Fix: ...``
        """
        where: str = self.file
        if self.row is not None and self.column is not None:
            where = Message(
                N_("{file}, row {row}, column '{column}'"), file=self.file, row=self.row, column=self.column
            )
        elif self.row is not None:
            where = Message(N_("{file}, row {row}"), file=self.file, row=self.row)
        elif self.column is not None:
            where = Message(N_("{file}, column '{column}'"), file=self.file, column=self.column)
        line = Message(
            N_("{severity}: {where}: {problem} Fix: {fix}"),
            severity=severity_label(self.severity, lang).upper(),
            where=where,
            problem=render(self.message, lang),  # a fixed message is a plain text: look it up
            fix=render(self.fix, lang),
        )
        return render(line, lang)

    @classmethod
    def from_error(
        cls, exc: BaseException, file: str, *, fix: str = N_("Check the file: it could not be read.")
    ) -> Problem:
        """
        Return an error as one problem (severity ``"error"``), keeping its texts translatable.

        Parameters
        ----------
        exc
            The error. Its ``message`` and ``fix`` attributes are used when it has them (the loaders'
            errors do), else its message (a :class:`Message` when it was made with a template).
        file
            What to name in the problem's ``file``.
        fix
            How to fix it, when the error does not say.
        """
        text = getattr(exc, "message", None)
        if not isinstance(text, str) or not text:
            text = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Message) else str(exc)
        own_fix = getattr(exc, "fix", None)
        return cls(file, None, None, text, own_fix if isinstance(own_fix, str) and own_fix else fix)

    def translated(self, lang: str | None = None) -> Problem:
        """
        Return a copy whose ``message`` and ``fix`` are written in ``lang`` (plain strings).

        Parameters
        ----------
        lang
            ``en``, ``sq`` or ``sr``; ``None`` → the default language.
        """
        return replace(self, message=render(self.message, lang), fix=render(self.fix, lang))

    def map_text(self, func: Callable[[str], str]) -> Problem:
        """
        Return a copy with ``func`` applied to the texts of ``message`` and ``fix``; they still translate.

        ``func`` sees the values of a :class:`Message` (file names, values from the data), not its
        English sentence: e.g. ``p.map_text(lambda s: s.replace(temp_path, filename))``.
        """
        return replace(self, message=map_text(self.message, func), fix=map_text(self.fix, func))

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """
        Return the problem as a plain dict (for tables).

        Parameters
        ----------
        lang
            ``None`` (default): ``problem`` and ``fix`` as stored (English). A language: written in
            it. The keys and the ``severity`` code are the same either way.
        """
        shown = self if lang is None else self.translated(lang)
        return {
            "severity": self.severity,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "problem": shown.message,
            "fix": shown.fix,
        }


@dataclass
class ValidationError(SocialMapError):
    """An input has one or more errors; ``problems`` lists them all (errors and warnings)."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``"error"``."""
        return [p for p in self.problems if p.severity == "error"]

    def __str__(self) -> str:
        return self.render("en")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))

    def render(self, lang: str | None = None) -> str:
        """
        Return the problems (the errors, or every problem when none is an error) in ``lang``.

        At most ``socialmap.settings.max_problems_shown`` are written out, then how many more there are
        (``problems`` keeps them all).
        """
        from socialmap import settings

        errs = self.errors
        if errs:
            n = len(errs)
            found = Nn_("{n} problem found:", "{n} problems found:")
            head = render(Message(*found, n, n=Number(n, ",")), lang)
        else:
            head = render(N_("Problems found:"), lang)
        shown = errs or self.problems
        limit = max(int(settings.max_problems_shown), 1)
        lines = [head, *(f"  - {p.format(lang)}" for p in shown[:limit])]
        if len(shown) > limit:
            lines.append("  " + more_problems(len(shown) - limit, lang))
        return "\n".join(lines)


def more_problems(n: int, lang: str | None = None) -> str:
    """Return the line that ends a list of problems cut at ``settings.max_problems_shown``."""
    return render(
        Message(
            *Nn_(
                "... and {n} more problem, not shown (`socialmap.settings.max_problems_shown`).",
                "... and {n} more problems, not shown (`socialmap.settings.max_problems_shown`).",
            ),
            n,
            n=Number(n, ","),
        ),
        lang,
    )
