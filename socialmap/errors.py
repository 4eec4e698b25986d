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

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

# The translatable message (Message, Number, Localised), its rendering (render, message, map_text)
# and the base error SocialMapError live in socialmap.i18n with the catalogs they are written
# through (t raises a SocialMapError for an unknown language, and a SocialMapError renders with
# t: one module, no import circle); their names stay importable from here.
from socialmap.i18n import (  # noqa: F401 - re-exported
    N_,
    Localised,
    Message,
    Nn_,
    Number,
    SocialMapError,
    _restore,
    map_text,
    message,
    render,
)

# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


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
