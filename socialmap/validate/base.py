"""What every validator shares: the kinds and limits, the :class:`Report`, and the collector of problems.

A validator records problems in a :class:`_Collector` (file, row numbers of the file, severity,
column, fix) while it repairs what is safe to repair; :class:`Report` is what a person reads.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from socialmap.errors import (
    PROBLEM_COLUMNS,
    Message,
    Problem,
    render,
    severity_label,
)
from socialmap.i18n import N_, Nn_

#: The kinds of input the validators know.
KINDS = ("areas", "services", "population")


#: Column names recognised as latitude / longitude (compared case-insensitively).
LATITUDE_NAMES = ("lat", "latitude", "y")


LONGITUDE_NAMES = ("lon", "lng", "long", "longitude", "x")


#: Column layouts of well-known boundary files, mapped when the areas have no ``area_id``/``name``
#: and no ``columns=`` was given (with a warning).
KNOWN_AREA_COLUMNS: dict[str, dict[str, str]] = {
    "geoBoundaries": {"shapeID": "area_id", "shapeName": "name"},
}


#: The kinds as named in a report's verdict (``"services.csv (services, 12 rows): OK"``).
_KIND_LABELS = {
    "areas": Message(N_("areas")),
    "services": Message(N_("services")),
    "population": Message(N_("population")),
}


#: Per check, at most this many rows get a problem of their own; the rest are counted in one more.
_MAX_ROWS_LISTED = 50


#: Largest count of persons (capacity, population) taken as a number: more than the world's people.
_MAX_COUNT = 1e10


#: Largest coordinate in a projected CRS: beyond the Earth in metres, and in feet.
_MAX_PROJECTED = 1e9


#: Methods of ``names.match`` whose matches are listed in a warning for a second look.
_CHECK_METHODS = frozenset({"fuzzy"})


_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


_GROUPS_SPACE = re.compile(r"[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?")


_GROUPS_COMMA = re.compile(r"[+-]?\d{1,3}(,\d{3})+")


_GROUPS_DOT = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")


#: One separator followed by exactly three digits, the first group not a lone 0: a grouped thousand.
_GROUPED_THOUSAND = re.compile(r"[+-]?[1-9]\d{0,2}([.,])\d{3}")


#: Row numbers or positions: a list or an integer array.
_Ints = Sequence[int] | np.ndarray


@dataclass
class Report:
    """
    Everything found in one file.

    Attributes
    ----------
    file
        The file as named by the caller.
    kind
        ``"areas"``, ``"services"`` or ``"population"``; ``None`` when it could not be told.
    problems
        Every problem found, errors and warnings.
    rows
        Number of data rows read, or ``None`` when the file could not be read.
    frame
        The clean frame (see the ``validate_*`` functions), or ``None`` when the file could not be read.
    """

    file: str
    kind: str | None
    problems: list[Problem] = field(default_factory=list)
    rows: int | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``"error"``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity ``"warning"``."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """``True`` when there is no error (warnings are allowed)."""
        return not self.errors

    def to_frame(self, lang: str | None = None) -> pd.DataFrame:
        """
        Return the problems as a table.

        Parameters
        ----------
        lang
            ``None`` (default): the data as stored: columns ``severity``, ``file``, ``row``, ``column``,
            ``problem``, ``fix``, the severity as its code (``"error"``/``"warning"``) and the texts in
            English. ``en``, ``sq`` or ``sr``: the table to show a person in that language: the columns'
            titles (*Severity*, *File*, *Row*, *Column*, *Problem*, *How to fix it*), the severity's word
            and the texts written in it.

        Returns
        -------
        df
            One row per problem, in the order found; ``row`` as ``Int64`` (blank for whole-file problems).
        """
        columns = list(PROBLEM_COLUMNS)
        df = pd.DataFrame([p.as_dict(lang) for p in self.problems], columns=columns)
        df["row"] = df["row"].astype("Int64")
        if lang is None:
            return df
        df["severity"] = [severity_label(s, lang) for s in df["severity"]]
        return df.rename(columns={k: render(v, lang) for k, v in PROBLEM_COLUMNS.items()})

    def verdict(self) -> Message:
        """
        Return the one-line verdict as a :class:`~socialmap.errors.Message`: English, renders in any language.

        E.g. ``"services.csv (services, 12 rows): 2 errors, 1 warning"``.
        """
        what = _KIND_LABELS.get(self.kind or "", Message(N_("kind unknown")))
        if self.rows is not None:
            what = Message(*Nn_("{kind}, {n} row", "{kind}, {n} rows"), self.rows, kind=what, n=self.rows)
        n_err, n_warn = len(self.errors), len(self.warnings)
        if not self.problems:
            verdict = Message(N_("OK"))
        elif not n_err:
            verdict = Message(*Nn_("OK with {n} warning", "OK with {n} warnings"), n_warn, n=n_warn)
        else:
            errors = Message(*Nn_("{n} error", "{n} errors"), n_err, n=n_err)
            warnings = Message(*Nn_("{n} warning", "{n} warnings"), n_warn, n=n_warn)
            verdict = Message(N_("{errors}, {warnings}"), errors=errors, warnings=warnings)
        return Message(N_("{file} ({what}): {verdict}"), file=self.file, what=what, verdict=verdict)

    def summary(self, lang: str | None = None) -> str:
        """
        Return the one-line verdict in ``lang``: ``"services.csv (services, 12 rows): 2 errors, 1 warning"``.

        Parameters
        ----------
        lang
            ``en``, ``sq`` or ``sr``; ``None`` → :func:`socialmap.i18n.default_language`.
        """
        return self.verdict().render(lang)

    def format(self, lang: str | None = None) -> str:
        """
        Return the report as text in ``lang``: the verdict, then a table of the problems with their fixes.

        Errors come first, then warnings, each by row; at most ``settings.max_problems_shown`` are
        written out, then how many more there are. ``str(report)`` is ``report.format("en")``.

        Parameters
        ----------
        lang
            ``en``, ``sq`` or ``sr``; ``None`` → the default language.
        """
        from socialmap import settings
        from socialmap.errors import more_problems

        lines = [self.summary(lang)]
        if not self.problems:
            return lines[0]
        limit = max(int(settings.max_problems_shown), 1)
        ordered = sorted(self.problems, key=_problem_order)
        rows = [
            (
                severity_label(p.severity, lang),
                "" if p.row is None else str(p.row),
                p.column or "",
                render(p.message, lang),
                render(p.fix, lang),
            )
            for p in ordered[:limit]
        ]
        head = [render(N_("severity"), lang), render(N_("row"), lang), render(N_("column"), lang)]
        w_sev = max(len(head[0]), *(len(r[0]) for r in rows))
        w_row = max(len(head[1]), *(len(r[1]) for r in rows))
        w_col = max(len(head[2]), *(len(r[2]) for r in rows))
        indent = " " * (2 + w_sev + 2 + w_row + 2 + w_col + 2)
        problem_fix = render(N_("problem / fix"), lang)
        lines.append(f"  {head[0]:<{w_sev}}  {head[1]:>{w_row}}  {head[2]:<{w_col}}  {problem_fix}")
        for sev, row, col, message, fix in rows:
            lines.append(f"  {sev:<{w_sev}}  {row:>{w_row}}  {col:<{w_col}}  {message}")
            lines.append(indent + render(Message(N_("fix: {fix}"), fix=fix), lang))
        if len(ordered) > limit:
            lines.append("  " + more_problems(len(ordered) - limit, lang))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format("en")


def _problem_order(p: Problem) -> tuple[int, int, str]:
    return (0 if p.severity == "error" else 1, -1 if p.row is None else p.row, p.column or "")


class _Collector:
    """Problems of one frame, with the file's row number of every position and the rows to drop."""

    def __init__(self, file: str, rows: _Ints) -> None:
        self.file = file
        self.rows = np.asarray(rows, dtype=int)
        self.bad = np.zeros(len(self.rows), dtype=bool)
        self.problems: list[Problem] = []
        self.renamed: dict[str, str] = {}  # contract column -> the file's own name for it
        self.ambiguous: dict[str, tuple[str, ...]] = {}  # contract column -> file columns that could be it

    def add(
        self,
        message: str,
        fix: str,
        *,
        column: str | None = None,
        row: int | None = None,
        severity: str = "error",
    ) -> None:
        self.problems.append(Problem(self.file, row, column, message, fix, severity))

    def per_row(
        self,
        positions: Iterable[int],
        column: str | None,
        message: Callable[[int], str],
        fix: str | Callable[[int], str],
        *,
        severity: str = "error",
    ) -> None:
        """One problem per row (at most ``_MAX_ROWS_LISTED``, then one counting the rest)."""
        positions = [int(p) for p in positions]
        if not positions:
            return
        if severity == "error":
            self.bad[positions] = True
        for pos in positions[:_MAX_ROWS_LISTED]:
            text = fix(pos) if callable(fix) else fix
            self.add(message(pos), text, column=column, row=int(self.rows[pos]), severity=severity)
        rest = positions[_MAX_ROWS_LISTED:]
        if rest:
            self.add(
                Message(
                    *Nn_(
                        "{n} more row has the same problem ({rows}).",
                        "{n} more rows have the same problem ({rows}).",
                    ),
                    len(rest),
                    n=len(rest),
                    rows=_rows_text(self.rows[rest]),
                ),
                N_("See the rows above for what to fix."),
                column=column,
                severity=severity,
            )

    def summary(
        self, positions: _Ints, column: str | None, message: str | tuple[str, str], fix: str, **values: Any
    ) -> None:
        """
        One warning for several rows (``message``: a template ending in ``({rows}).``, with ``values``).

        A singular/plural pair (marked with :func:`~socialmap.i18n.Nn_`) is written in the plural form
        of the count ``values["n"]`` (else the number of rows).
        """
        positions = [int(p) for p in positions]
        if not positions:
            return
        row = int(self.rows[positions[0]]) if len(positions) == 1 else None
        if isinstance(message, tuple):
            count = int(values.get("n", len(positions)))
            text = Message(*message, count, rows=_rows_text(self.rows[positions]), **values)
        else:
            text = Message(message, rows=_rows_text(self.rows[positions]), **values)
        self.add(
            text,
            fix,
            column=column,
            row=row,
            severity="warning",
        )


def _rows_text(rows: _Ints, limit: int = 10) -> Message:
    """Return ``"rows 2, 3, 4"`` (at most ``limit`` listed, then ``"and 5 more"``)."""
    rows = [int(r) for r in rows]
    head = ", ".join(str(r) for r in rows[:limit])
    if len(rows) == 1:
        return Message(N_("row {row}"), row=head)
    if len(rows) > limit:
        return Message(N_("rows {rows} and {n} more"), rows=head, n=len(rows) - limit)
    return Message(N_("rows {rows}"), rows=head)


def _list(values: Iterable[Any], limit: int = 30) -> str:
    values = [str(v) for v in values]
    text = ", ".join(repr(v) for v in values[:limit])
    return f"[{text}{', ...' if len(values) > limit else ''}]"


def _close(value: str, options: Iterable[str]) -> Message | None:
    """Return ``"Did you mean 'x'?"`` for a close option, or ``None``."""
    options = [str(o) for o in options]
    lowered = {o.casefold(): o for o in options}
    hits = difflib.get_close_matches(value.casefold(), list(lowered), n=1, cutoff=0.6)
    return Message(N_("Did you mean '{option}'?"), option=lowered[hits[0]]) if hits else None


def _with_hint(message: Message, hint: Message | None) -> Message:
    """Return ``message`` followed by a second sentence (such as :func:`_close`'s), if any."""
    if hint is None:
        return message
    # TRANSLATORS: a sentence followed by a second one, e.g. "Did you mean 'name'?". Keep it as it is.
    return Message(N_("{message} {hint}"), message=message, hint=hint)
