"""Checks and safe repairs of areas, services and population, collected into one report.

Every check of a frame runs, and every problem found is returned together (file, row, column, what is
wrong, how to fix it), so a person can fix a file in one pass. The validators never raise on bad data:
they return ``(clean_frame, problems)``. The loaders in :mod:`socialmap.io` call them, raise one
:class:`~socialmap.errors.ValidationError` when there are errors, and emit one ``UserWarning`` listing
the warnings otherwise.

Row numbers
-----------
``Problem.row`` is the row a person sees when opening the file:

* CSV and XLSX: the header is row 1, so the first data row is row 2 (the number a spreadsheet shows in
  its margin and a text editor shows as the line number). Blank lines are counted. A quoted value that
  spans several lines shifts a text editor's line numbers, not the spreadsheet's.
* Vector files (GeoJSON, GeoPackage, Shapefile, GeoParquet): the feature's position, first feature = 1.
* Frames passed directly to ``validate_*``: the position, first row = ``first_row`` (default 1).

``row`` is ``None`` for problems of the whole file or of a whole column.

Safe repairs
------------
Made with a problem of severity ``"warning"``, never silently: leading/trailing whitespace stripped from
text; control characters removed from text and from column names (tabs and line breaks become
spaces); invalid polygons repaired with ``shapely.make_valid`` keeping their polygonal parts; a
one-point MultiPoint turned into a Point; a service type differing from a taxonomy key only in letter
case set to the key; and, only when asked with ``centroids=True``, polygon services replaced by their
centroids. Text such as ``<script>`` in a name is kept as text: escaping is the job of whatever renders
it.

Languages
---------
Every text of a problem is English (``str()``, ``Problem.message``, ``Problem.fix`` as before) and
remembers its template and values (:class:`socialmap.errors.Message`), so the report is written in any
language when it is shown: ``report.format("sq")``, ``report.summary("sr")``, ``report.to_frame("sq")``
(titled columns, severity words), ``problem.translated("sr")``; ``str(report)`` is the English
report. Quantities are written with the language's separators (``-1,5`` in Albanian and Serbian);
``severity`` stays the code ``"error"``/``"warning"``.

Numbers that are not usable are errors, not repairs: infinity (``inf``, ``1e999``), a count of persons
above ten billion, and coordinates beyond the Earth (outside ±180/±90 in a geographic CRS, more than
10⁹ units from the origin in a projected one).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from socialmap import schema
from socialmap.errors import (
    PROBLEM_COLUMNS,
    DataSourceError,
    Localised,
    Message,
    Number,
    Problem,
    render,
    severity_label,
)
from socialmap.i18n import N_, Nn_

logger = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "KNOWN_AREA_COLUMNS",
    "LATITUDE_NAMES",
    "LONGITUDE_NAMES",
    "Report",
    "guess_kind",
    "parse_number",
    "validate_areas",
    "validate_file",
    "validate_population",
    "validate_services",
]

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

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\t\n\r]")
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_GROUPS_SPACE = re.compile(r"[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?")
_GROUPS_COMMA = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
_GROUPS_DOT = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")
#: One separator followed by exactly three digits, the first group not a lone 0: a grouped thousand.
_GROUPED_THOUSAND = re.compile(r"[+-]?[1-9]\d{0,2}([.,])\d{3}")


#: Row numbers or positions: a list or an integer array.
_Ints = Sequence[int] | np.ndarray

# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Collecting problems
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _id_text(value: Any) -> str | None:
    """Turn an id cell into text: ``7`` and ``7.0`` become ``"7"``; missing stays ``None``."""
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value)
    return text if text else None


def parse_number(value: Any, *, decimal: str | None = None, grouping: bool = True) -> tuple[float, bool]:
    """
    Read one cell as a number, the way people write numbers in CSV and spreadsheet files.

    Accepts numbers; text with a decimal point or a decimal comma (``"42,66"``); with ``grouping``,
    thousands separators (``"1.234,5"``, ``"1,234.5"``, ``"1 234"``, ``"1.234.567"``); and empty,
    ``NA``, ``n/a``, ``nan``, ``null``, ``none`` as missing. A single separator followed by exactly three
    digits (``"1,500"``, ``"1.500"``) is read with ``decimal``: ``","`` makes ``"1.500"`` 1500 and
    ``"1,500"`` 1.5; ``"."`` the reverse; ``None`` reads ``"1.500"`` as 1.5 and rejects ``"1,500"`` as
    ambiguous. Without ``grouping`` (coordinates) one separator is always the decimal mark.

    Parameters
    ----------
    value
        The cell.
    decimal
        The file's decimal mark, ``","`` or ``"."``, or ``None`` when unknown.
    grouping
        Whether thousands separators may occur (counts: yes; coordinates: no).

    Returns
    -------
    number, ok
        ``(nan, True)`` for a missing value, ``(x, True)`` for a number, ``(nan, False)`` when the cell
        is not a number (text, ``inf``, or ambiguous).
    """
    number, reason = _parse(value, decimal=decimal, grouping=grouping)
    return number, reason is None


def _parse(value: Any, *, decimal: str | None, grouping: bool) -> tuple[float, str | None]:
    """Parse a cell; return ``(number, None)`` or ``(nan, why)`` with ``why`` in ("text", "ambiguous")."""
    if _is_missing(value):
        return math.nan, None
    if isinstance(value, bool | np.bool_):
        return math.nan, "text"
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return (number, None) if math.isfinite(number) else (math.nan, "text")
    text = str(value).strip()
    if text.casefold() in _MISSING_TOKENS:
        return math.nan, None
    if grouping and _GROUPS_SPACE.fullmatch(text):
        text = re.sub(r"[ \u00a0\u202f]", "", text)
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        mark, other = (",", ".") if text.rfind(",") > text.rfind(".") else (".", ",")
        head = text[: text.rfind(mark)]
        if not grouping or text.count(mark) > 1 or not _groups(other).fullmatch(head):
            return math.nan, "text"
        text = text.replace(other, "").replace(mark, ".")
    elif commas or dots:
        sep = "," if commas else "."
        count = commas or dots
        if count > 1:
            if not (grouping and _groups(sep).fullmatch(text)):
                return math.nan, "text"
            text = text.replace(sep, "")
        elif grouping and _groups(sep).fullmatch(text):
            thousands = {",": sep == ".", ".": sep == ","}.get(decimal or "", None)
            if thousands is None:
                if sep == ",":
                    return math.nan, "ambiguous"
                thousands = False
            text = text.replace(sep, "") if thousands else text.replace(sep, ".")
        else:
            text = text.replace(sep, ".")
    if not _NUMBER.fullmatch(text):
        return math.nan, "text"
    number = float(text)  # "1e999" and 400 digits parse as infinity: not a usable number
    return (number, None) if math.isfinite(number) else (math.nan, "text")


def _groups(sep: str) -> re.Pattern[str]:
    return _GROUPS_COMMA if sep == "," else _GROUPS_DOT


def _grouped_counts(
    raw: list[Any], parsed: list[tuple[float, str | None]], col: str, c: _Collector, *, decimal: str | None
) -> list[tuple[float, str | None]]:
    """
    Read count values that look like grouped thousands (``27.775``, ``1,500``) as such, or refuse them.

    Returns the parsed values with those decisions made.

    Counts of persons and places are whole numbers, so one separator followed by exactly three digits
    (a first group of 1 to 3 digits, not ``0``) groups thousands, unless the column shows the separator
    used as a decimal mark elsewhere (``12.5``, ``0.750``, ``1,234.5``): then such a value is ambiguous
    (an error with a fix). Read as thousands against the file's decimal mark (``27.775`` in a
    ``,``-separated file, whose decimal mark is ``.``), or where the mark is unknown (XLSX text, vector
    files), the values are listed in one warning; where the file's convention already says so (``1.500``
    in a ``;``-separated file) nothing is said. Numbers stored as numbers (Excel, GeoJSON) with exactly
    three decimals (27.775: what 27.775 persons become when a file written with ``.`` grouping is opened
    by a program that takes ``.`` for the decimal point) are treated the same way, with numbers of other
    decimals (2.5) as the evidence of decimals.
    """
    out = list(parsed)
    grouped: dict[str, list[int]] = {".": [], ",": [], "number": []}
    decimals: dict[str, bool] = {".": False, ",": False, "number": False}
    for i, value in enumerate(raw):
        if isinstance(value, bool | np.bool_) or _is_missing(value):
            continue
        if isinstance(value, int | float | np.integer | np.floating):
            number = float(value)
            if not math.isfinite(number) or number == round(number):
                continue
            thousandths = number * 1000
            if 1 <= abs(number) < 1000 and abs(thousandths - round(thousandths)) < 1e-6 * abs(thousandths):
                if round(thousandths) % 10:
                    grouped["number"].append(i)
                    continue
            decimals["number"] = True
            continue
        text = str(value).strip()
        found = _GROUPED_THOUSAND.fullmatch(text)
        if found:
            grouped[found.group(1)].append(i)
            continue
        for sep in (",", "."):
            other = "." if sep == "," else ","
            if (
                text.count(sep) == 1
                and out[i][1] is None
                and (other not in text or text.rfind(sep) > text.rfind(other))
            ):
                decimals[sep] = True
    read: list[int] = []
    refused: list[int] = []
    for kind, positions in grouped.items():
        if not positions:
            continue
        if decimals[kind]:
            refused.extend(positions)
            continue
        for i in positions:
            if kind == "number":
                out[i] = (float(round(float(raw[i]) * 1000)), None)
            else:
                out[i] = (float(str(raw[i]).strip().replace(kind, "")), None)
        if kind == "number" or decimal is None or decimal == kind:
            read.extend(positions)
    if read:
        read.sort()
        first = read[0]
        c.summary(
            read,
            col,
            Nn_(
                "{n} value in '{col}' looks like thousands written with a separator, e.g. '{value}': "
                "counts are whole numbers, so it was read as thousands ('{value}' as {number}) "
                "({rows}).",
                "{n} values in '{col}' look like thousands written with a separator, e.g. '{value}': "
                "counts are whole numbers, so they were read as thousands ('{value}' as {number}) "
                "({rows}).",
            ),
            Message(
                N_(
                    "Check these numbers; write '{col}' without thousands separators (e.g. {plain}) to avoid "
                    "this warning."
                ),
                col=col,
                plain=f"{out[first][0]:.0f}",
            ),
            n=len(read),
            col=col,
            value=str(raw[first]).strip(),
            number=Number(int(out[first][0]), ","),
        )
    c.per_row(
        sorted(refused),
        col,
        lambda i: Message(
            N_(
                "'{value}' in '{col}' is ambiguous: it reads as a count in thousands ({number}), but other "
                "values in '{col}' have decimals, so it may be a decimal number."
            ),
            value=str(raw[i]).strip(),
            col=col,
            number=Number(_thousands(raw[i]), ","),
        ),
        Message(
            N_(
                "Write '{col}' as whole numbers without thousands separators (e.g. 27775), with the same "
                "decimal mark in every row."
            ),
            col=col,
        ),
    )
    for i in refused:
        out[i] = (math.nan, "refused")
    return out


def _thousands(value: Any) -> int:
    """Return the count a value that looks like grouped thousands stands for (``"27.775"`` → 27775)."""
    if isinstance(value, str):
        return int(value.strip().replace(".", "").replace(",", ""))
    return round(float(value) * 1000)


def _clean_text(frame: pd.DataFrame, c: _Collector) -> pd.DataFrame:
    """Strip whitespace and control characters from every text cell, with a warning per column."""
    geometry = _geometry_name(frame)
    for col in frame.columns:
        if col == geometry:
            continue
        values = frame[col].tolist()
        if not any(isinstance(v, str) for v in values):
            continue
        stripped: list[int] = []
        controls: list[int] = []
        out: list[Any] = []
        for pos, value in enumerate(values):
            if not isinstance(value, str):
                out.append(value)
                continue
            text = _CONTROL.sub("", _LINE_CONTROL.sub(" ", value))
            if text != value:
                controls.append(pos)
            trimmed = text.strip()
            if trimmed != text:
                stripped.append(pos)
            out.append(trimmed if trimmed else None)
        if stripped or controls or any(v == "" for v in values):
            frame[col] = pd.Series(
                out, index=frame.index, dtype=object if frame[col].dtype == object else None
            )
        c.summary(
            stripped,
            str(col),
            Nn_(
                "Removed spaces at the start or end of {n} value in '{col}' ({rows}).",
                "Removed spaces at the start or end of {n} values in '{col}' ({rows}).",
            ),
            N_("Nothing to do (repaired); clean the file to silence this warning."),
            n=len(stripped),
            col=col,
        )
        c.summary(
            controls,
            str(col),
            Nn_(
                "Removed control characters (invisible characters such as NUL, or tabs and line "
                "breaks, which became spaces) from {n} value in '{col}' ({rows}).",
                "Removed control characters (invisible characters such as NUL, or tabs and line "
                "breaks, which became spaces) from {n} values in '{col}' ({rows}).",
            ),
            N_("Nothing to do (repaired); check the text of those rows in the file."),
            n=len(controls),
            col=col,
        )
    return frame


def _numbers(
    frame: pd.DataFrame,
    col: str,
    c: _Collector,
    *,
    missing_message: str | tuple[str, str],
    missing_fix: str,
    decimal: str | None = None,
    nonnegative: bool = True,
    missing_values: Callable[[list[int]], dict[str, Any]] | None = None,
    counts: bool = False,
) -> pd.DataFrame:
    """Parse a number column in place; report text, negative and missing values.

    ``missing_message`` is a template with ``{n}``, ``{col}`` and ``{rows}``, marked with ``N_``, and
    the placeholders of ``missing_values(positions)``. With ``counts`` (persons, places: whole numbers),
    values that look like grouped thousands are read as such or refused as ambiguous (see
    :func:`_grouped_counts`).
    """
    raw = frame[col].tolist()
    parsed = [_parse(v, decimal=decimal, grouping=True) for v in raw]
    if counts:
        parsed = _grouped_counts(raw, parsed, col, c, decimal=decimal)
    values = np.array([p[0] for p in parsed], dtype=float)
    not_number = [i for i, (_, why) in enumerate(parsed) if why == "text"]
    c.per_row(
        not_number,
        col,
        lambda i: Message(N_("'{value}' in '{col}' is not a number."), value=raw[i], col=col),
        Message(
            N_(
                "Write '{col}' as a number (digits, with '.' or ',' as the decimal mark), "
                "or leave it empty if unknown."
            ),
            col=col,
        ),
    )
    ambiguous = [i for i, (_, why) in enumerate(parsed) if why == "ambiguous"]
    c.per_row(
        ambiguous,
        col,
        lambda i: Message(
            N_("'{value}' in '{col}' is ambiguous: a thousands separator or a decimal comma?"),
            value=raw[i],
            col=col,
        ),
        N_("Write the number without thousands separators (e.g. 1500 or 1.5)."),
    )
    huge = np.flatnonzero(np.abs(values) > _MAX_COUNT)
    c.per_row(
        huge,
        col,
        lambda i: Message(
            N_("'{value}' in '{col}' is too large to be a count of persons ({number})."),
            value=raw[i],
            col=col,
            number=Number(values[i], ".3g"),
        ),
        Message(
            N_("Check the value: write '{col}' as the number of persons, or leave it empty if unknown."),
            col=col,
        ),
    )
    values[huge] = np.nan
    if nonnegative:
        negative = np.flatnonzero(values < 0)
        c.per_row(
            negative,
            col,
            lambda i: Message(N_("'{col}' is negative ({number})."), col=col, number=Number(values[i], "g")),
            Message(N_("'{col}' counts persons: write 0 or more, or leave it empty if unknown."), col=col),
        )
    missing = [i for i, (v, why) in enumerate(parsed) if why is None and math.isnan(v)]
    extra = missing_values(missing) if missing_values is not None and missing else {}
    c.summary(missing, col, missing_message, missing_fix, n=len(missing), col=col, **extra)
    frame[col] = values
    return frame


def _ids(frame: pd.DataFrame, col: str, c: _Collector, *, report_empty: bool = True) -> pd.DataFrame:
    """Turn an id column into text; report empty and duplicate ids."""
    values = [_id_text(v) for v in frame[col].tolist()]
    empty = [i for i, v in enumerate(values) if v is None] if report_empty else []
    c.per_row(
        empty,
        col,
        lambda i: Message(N_("'{col}' is empty."), col=col),
        Message(N_("Give every row its own '{col}'."), col=col),
    )
    first: dict[str, int] = {}
    duplicates: list[int] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        if v in first:
            duplicates.append(i)
        else:
            first[v] = i
    c.per_row(
        duplicates,
        col,
        lambda i: Message(
            N_("Duplicate {col} '{value}' (first in row {first})."),
            col=col,
            value=values[i],
            first=int(c.rows[first[str(values[i])]]),
        ),
        Message(N_("Make every '{col}' unique, or remove the repeated row."), col=col),
    )
    frame[col] = pd.Series(
        values, index=frame.index, dtype=object if all(v is None for v in values) else None
    )
    return frame


# --------------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------------


def _geometry_name(frame: pd.DataFrame) -> str | None:
    """Name of the active geometry column of a GeoDataFrame, or ``None``."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return None
    try:
        name = frame.geometry.name
    except AttributeError:
        return None
    return str(name) if name in frame.columns else None


def _norm(name: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def _contract(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    required = {
        "areas": schema.AREA_REQUIRED,
        "services": schema.SERVICE_REQUIRED,
        "population": schema.POPULATION_REQUIRED,
    }[kind]
    optional = {
        "areas": schema.AREA_OPTIONAL,
        "services": schema.SERVICE_OPTIONAL,
        "population": schema.POPULATION_OPTIONAL,
    }[kind]
    return tuple(n for n in required if n != "geometry"), tuple(optional)


def _map_columns(
    frame: pd.DataFrame,
    columns: dict[str, str] | None,
    known: Iterable[str],
    c: _Collector,
    *,
    kind: str | None = None,
) -> pd.DataFrame:
    """
    Apply the caller's ``columns`` mapping, match contract names ignoring case and spaces, then guess.

    A column that ``columns`` maps to ``""`` is kept under its own name and never guessed. With
    ``kind``, each contract column still missing is looked for under its usual names
    (:func:`socialmap.columns.guess_columns`), with a warning naming what was read as what.
    """
    frame = _clean_headers(frame, c)
    geometry = _geometry_name(frame)
    found = [str(col) for col in frame.columns if col != geometry]
    rename: dict[Any, str] = {}
    kept: set[Any] = set()
    for theirs, ours in (columns or {}).items():
        if theirs in frame.columns:
            hit: list[Any] = [theirs]
        else:
            hit = [col for col in frame.columns if _norm(col) == _norm(theirs)]
        if len(hit) == 1 and not ours:
            kept.add(hit[0])
        elif len(hit) == 1:
            rename[hit[0]] = ours
        elif ours:
            c.add(
                _with_hint(
                    Message(
                        N_(
                            "`columns` maps '{theirs}' to '{ours}', but the file has no column '{theirs}'; "
                            "found {found}."
                        ),
                        theirs=theirs,
                        ours=ours,
                        found=_list(found),
                    ),
                    _close(str(theirs), found),
                ),
                N_("Use the column name exactly as it is in the file's header in `columns=`."),
                column=str(theirs),
            )
    if geometry is not None and geometry in rename:
        rename.pop(geometry)
    frame = frame.rename(columns=rename)
    c.renamed.update({ours: str(theirs) for theirs, ours in rename.items() if str(theirs) != ours})
    taken = {str(col) for col in frame.columns}
    auto: dict[Any, str] = {}
    for name in known:
        if name in taken:
            continue
        loose = [
            col
            for col in frame.columns
            if col not in rename.values() and col not in kept and _norm(col) == name
        ]
        if len(loose) == 1 and loose[0] != geometry:
            auto[loose[0]] = name
            taken.add(name)
    if auto:
        logger.info("%s: matched columns %s", c.file, auto)
        frame = frame.rename(columns=auto)
    if kind is not None:
        frame = _guess_columns(frame, kind, kept, c)
    duplicated = sorted({str(col) for col in frame.columns[frame.columns.duplicated()]})
    for col in duplicated:
        c.renamed.pop(col, None)  # the problem is the contract's name itself
        c.add(
            Message(N_("Two or more columns are named '{col}' (after applying `columns=`)."), col=col),
            Message(N_("Keep one column '{col}': rename or drop the others, or change `columns=`."), col=col),
            column=col,
        )
    if duplicated:
        frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame


def _guess_columns(frame: pd.DataFrame, kind: str, kept: set[Any], c: _Collector) -> pd.DataFrame:
    """Read columns under their usual names as the contract columns still missing (with a warning)."""
    from socialmap.columns import describe, guess_columns

    geometry = _geometry_name(frame)
    present = {str(col) for col in frame.columns}
    has_coords = bool(_coordinate_candidates(frame, LATITUDE_NAMES)) and bool(
        _coordinate_candidates(frame, LONGITUDE_NAMES)
    )
    free = [
        col
        for col in frame.columns
        if col != geometry and col not in kept and str(col) not in _contract_set(kind)
    ]
    guess = guess_columns([str(col) for col in free], kind, geometry=geometry is not None)
    rename: dict[Any, str] = {}
    for theirs, ours in guess.mapping.items():
        if ours in present or theirs == ours:
            continue
        if ours in ("lat", "lon") and (has_coords or geometry is not None):
            continue
        rename[next(col for col in free if str(col) == theirs)] = ours
    for ours, candidates in guess.ambiguous.items():
        if ours not in present and ours not in rename.values():
            c.ambiguous[ours] = candidates
    if not rename:
        return frame
    pairs = {str(k): v for k, v in rename.items()}
    c.renamed.update({ours: theirs for theirs, ours in pairs.items()})
    c.add(
        Message(N_("Read the columns by their names: {mapping}."), mapping=describe(pairs)),
        N_(
            "Nothing to do; if a column was read wrongly, map it yourself with `columns=` "
            "(command line: --columns 'their=ours')."
        ),
        severity="warning",
    )
    logger.info("%s: guessed columns %s", c.file, pairs)
    return frame.rename(columns=rename)


def _contract_set(kind: str) -> set[str]:
    required, optional = _contract(kind)
    return {*required, *optional, *LATITUDE_NAMES, *LONGITUDE_NAMES}


def _clean_headers(frame: pd.DataFrame, c: _Collector) -> pd.DataFrame:
    """Remove control characters from column names (tabs and line breaks become spaces), with a warning."""
    geometry = _geometry_name(frame)
    rename: dict[Any, str] = {}
    for col in frame.columns:
        if col == geometry or not isinstance(col, str):
            continue
        if _CONTROL.search(col) or _LINE_CONTROL.search(col):
            rename[col] = _CONTROL.sub("", _LINE_CONTROL.sub(" ", col)).strip() or "Unnamed"
    if not rename:
        return frame
    c.add(
        Message(
            *Nn_(
                "Removed control characters (invisible characters such as NUL, or tabs and line breaks) from "
                "{n} column name: {names}.",
                "Removed control characters (invisible characters such as NUL, or tabs and line breaks) from "
                "{n} column names: {names}.",
            ),
            len(rename),
            n=len(rename),
            names=_list(rename.values()),
        ),
        N_("Nothing to do (repaired); check the header row of the file."),
        severity="warning",
    )
    return frame.rename(columns=rename)


def _known_layout(frame: pd.DataFrame, columns: dict[str, str] | None, c: _Collector) -> pd.DataFrame:
    """Map the columns of a well-known boundaries layout (geoBoundaries), with a warning."""
    if columns is not None:
        return frame
    for publisher, mapping in KNOWN_AREA_COLUMNS.items():
        if set(mapping) <= set(frame.columns) and not set(mapping.values()) & set(frame.columns):
            c.add(
                Message(
                    N_("Read the {publisher} columns as {mapping}."),
                    publisher=publisher,
                    mapping=", ".join(f"{k} -> {v}" for k, v in mapping.items()),
                ),
                Message(
                    N_("Nothing to do; pass `columns={mapping}` to say so and silence this warning."),
                    mapping=str(mapping),
                ),
                severity="warning",
            )
            return frame.rename(columns=mapping)
    return frame


def _require(frame: pd.DataFrame, kind: str, names: Sequence[str], c: _Collector) -> list[str]:
    """Report each missing required column; return the missing ones."""
    geometry = _geometry_name(frame)
    found = [str(col) for col in frame.columns if col != geometry]
    missing = [n for n in names if n not in frame.columns]
    for name in missing:
        c.add(
            _with_hint(
                Message(_MISSING_COLUMN[kind], name=name, found=_list(found)), _missing_hint(name, found, c)
            ),
            Message(
                N_("Add a column '{name}', or map yours onto it with `columns={{'your column': '{name}'}}`."),
                name=name,
            ),
            column=name,
        )
    return missing


def _missing_hint(name: str, found: Sequence[str], c: _Collector) -> Message | None:
    """Why a required column may seem missing: two candidates, a header not found, or a close name."""
    from socialmap.columns import ambiguity_hint

    if name in c.ambiguous:
        return ambiguity_hint(name, c.ambiguous[name])
    unnamed = sum(str(f).startswith("Unnamed: ") for f in found)
    if found and 2 * unnamed >= len(found):
        return Message(
            N_(
                "The header row was not found: the row read as the header ({header}) has mostly empty "
                "cells. Put the column names in the first row (delete any title rows above them)."
            ),
            header=_list(found, limit=5),
        )
    return _close(name, found)


#: A required column is missing, per kind (one sentence each: the kinds take different grammar).
_MISSING_COLUMN = {
    "areas": N_("Required column '{name}' is missing from the areas; found {found}."),
    "services": N_("Required column '{name}' is missing from the services; found {found}."),
    "population": N_("Required column '{name}' is missing from the population; found {found}."),
}


def _order(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    required, optional = _contract(kind)
    head = [n for n in (*required, *optional) if n in frame.columns]
    geometry = [g for g in [_geometry_name(frame)] if g is not None]
    rest = [col for col in frame.columns if col not in head and col not in geometry]
    return frame[[*head, *rest, *geometry]]


# --------------------------------------------------------------------------------------------------
# Geometry and CRS
# --------------------------------------------------------------------------------------------------


def _crs_fix(kind: str) -> Message:
    return Message(
        N_(
            "Pass the CRS the coordinates are in, e.g. `read_{kind}(path, crs='EPSG:4326')` for "
            "longitude/latitude in degrees or crs='EPSG:32634' for UTM zone 34N metres (same `crs=` "
            "argument for `validate_{kind}`); for a Shapefile you can instead add its .prj file."
        ),
        kind=kind,
    )


def _geo_frame(frame: pd.DataFrame, kind: str, crs: Any, c: _Collector) -> gpd.GeoDataFrame | None:
    """Return the frame as a GeoDataFrame with a ``geometry`` column and the right CRS, or ``None``."""
    name = _geometry_name(frame)
    if name is None:
        return None
    assert isinstance(frame, gpd.GeoDataFrame)
    gdf = frame if name == "geometry" else frame.rename_geometry("geometry")
    if crs is not None:
        wanted = CRS.from_user_input(crs)
        if gdf.crs is None:
            gdf = gdf.set_crs(wanted)
        elif not gdf.crs.equals(wanted):
            c.add(
                Message(
                    N_("The file declares the CRS {declared}, but crs='{given}' was given."),
                    declared=gdf.crs.to_string(),
                    given=crs,
                ),
                N_("Drop the `crs=` argument (it is only for files without a CRS), or reproject the file."),
                column="geometry",
            )
    elif gdf.crs is None:
        c.add(
            N_("The file has no coordinate reference system (CRS), so its coordinates cannot be placed."),
            _crs_fix(kind),
            column="geometry",
        )
    return gdf


def _coordinate_candidates(frame: pd.DataFrame, names: Sequence[str]) -> list[Any]:
    """Columns named like a coordinate; the full names (lat, lon...) win over ``x``/``y``."""
    hits = [col for col in frame.columns if _norm(col) in names]
    strong = [col for col in hits if _norm(col) not in ("x", "y")]
    return strong or hits


def _coordinate_columns(frame: pd.DataFrame, c: _Collector) -> tuple[str, str] | None | bool:
    """Find the latitude and longitude columns; ``None`` if absent, ``False`` if ambiguous (reported)."""
    lat = _coordinate_candidates(frame, LATITUDE_NAMES)
    lon = _coordinate_candidates(frame, LONGITUDE_NAMES)
    if not lat and not lon:
        return None
    ok = True
    for what, hits, names in (("latitude", lat, LATITUDE_NAMES), ("longitude", lon, LONGITUDE_NAMES)):
        texts = _COORDINATE_TEXTS[what]
        if len(hits) > 1:
            c.add(
                Message(texts["several"], columns=_list(hits)),
                Message(texts["several_fix"], name=names[0]),
                column=str(hits[0]),
            )
            ok = False
        elif not hits:
            found = [str(col) for col in frame.columns]
            c.add(
                Message(texts["none"], names=_list(names), found=_list(found)),
                Message(texts["none_fix"], name=names[0]),
                column=names[0],
            )
            ok = False
    return (str(lat[0]), str(lon[0])) if ok else False


#: Problems of the coordinate columns, per coordinate (whole sentences: the words take different forms).
_COORDINATE_TEXTS = {
    "latitude": {
        "several": N_("Several columns could hold the latitude: {columns}."),
        "several_fix": N_(
            "Rename the ones that are not the latitude, or map one with `columns={{'...': '{name}'}}`."
        ),
        "none": N_("There is no latitude column (looked for {names}, any case); found {found}."),
        "none_fix": N_(
            "Name the latitude column '{name}', or map it with `columns={{'your column': '{name}'}}`."
        ),
    },
    "longitude": {
        "several": N_("Several columns could hold the longitude: {columns}."),
        "several_fix": N_(
            "Rename the ones that are not the longitude, or map one with `columns={{'...': '{name}'}}`."
        ),
        "none": N_("There is no longitude column (looked for {names}, any case); found {found}."),
        "none_fix": N_(
            "Name the longitude column '{name}', or map it with `columns={{'your column': '{name}'}}`."
        ),
    },
}


def _not_a_coordinate(raw: list[Any], col: str) -> Callable[[int], str]:
    return lambda i: Message(N_("Coordinate '{value}' in '{col}' is not a number."), value=raw[i], col=col)


def _points_from_columns(
    frame: pd.DataFrame, lat_col: str, lon_col: str, crs: Any, c: _Collector
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Build points from coordinate columns (EPSG:4326 unless ``crs``); report bad and empty values.

    Returns the frame and the mask of rows already reported.
    """
    coords = {}
    reported = np.zeros(len(frame), dtype=bool)
    for col in (lat_col, lon_col):
        raw = frame[col].tolist()
        parsed = [parse_number(v, grouping=False) for v in raw]
        bad = [i for i, (_, ok) in enumerate(parsed) if not ok]
        c.per_row(
            bad,
            col,
            _not_a_coordinate(raw, col),
            N_("Write coordinates as decimal numbers, e.g. 42.66 or 42,66 (not degrees-minutes-seconds)."),
        )
        reported[bad] = True
        coords[col] = np.array([p[0] for p in parsed], dtype=float)
    lat, lon = coords[lat_col], coords[lon_col]
    missing = np.flatnonzero((np.isnan(lat) | np.isnan(lon)) & ~reported)
    reported[missing] = True
    c.per_row(
        missing,
        f"{lat_col}/{lon_col}",
        lambda i: N_("The row has no coordinates (empty latitude or longitude), so it has no location."),
        N_("Fill in both coordinates, or remove the row."),
    )
    ok = ~np.isnan(lat) & ~np.isnan(lon)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    data = frame.drop(columns=[lat_col, lon_col])
    gdf = gpd.GeoDataFrame(data, geometry=geoms, crs=crs if crs is not None else "EPSG:4326")
    return gdf, reported


def _missing_geometry(gdf: gpd.GeoDataFrame, c: _Collector, skip: np.ndarray | None = None) -> np.ndarray:
    """Report rows without geometry (except those in ``skip``); return the mask of rows that have one."""
    geoms = gdf.geometry.array
    missing = np.asarray(gdf.geometry.isna()) | np.asarray(shapely.is_empty(np.asarray(geoms, dtype=object)))
    present = ~missing
    c.per_row(
        np.flatnonzero(missing if skip is None else missing & ~skip),
        "geometry",
        lambda i: N_("The row has no geometry (missing or empty)."),
        N_("Draw or fill in its location, or remove the row."),
    )
    return present


def _range_check(gdf: gpd.GeoDataFrame, present: np.ndarray, c: _Collector, *, points: bool) -> np.ndarray:
    """Report coordinates that are not finite or, in a geographic CRS, outside ±180/±90 (and swapped)."""
    ok = present.copy()
    bounds = np.full((len(gdf), 4), np.nan)
    if present.any():
        bounds[present] = shapely.bounds(np.asarray(gdf.geometry.array, dtype=object)[present])
    finite = np.isfinite(bounds).all(axis=1)
    minx, miny, maxx, maxy = bounds.T
    geographic = gdf.crs is not None and gdf.crs.is_geographic
    with np.errstate(invalid="ignore"):
        out = present & ~finite
        swapped = np.zeros(len(gdf), dtype=bool)
        if geographic:
            out |= present & finite & ((minx < -180) | (maxx > 180) | (miny < -90) | (maxy > 90))
            swapped = out & finite & ((miny < -90) | (maxy > 90)) & (minx >= -90) & (maxx <= 90)
        else:
            far = np.abs(bounds).max(axis=1, initial=0.0) > _MAX_PROJECTED
            out |= present & finite & far

    def message(i: int) -> str:
        if not finite[i]:
            return N_("The coordinates are not finite numbers (NaN or infinity).")
        if points:
            x, y = Number(bounds[i, 0], "g"), Number(bounds[i, 1], "g")
            if swapped[i]:
                return Message(
                    N_(
                        "Latitude {y} is outside -90..90 but longitude {x} would be a valid latitude: "
                        "latitude and longitude look swapped."
                    ),
                    x=x,
                    y=y,
                )
            return Message(N_("Coordinates (longitude {x}, latitude {y}) are out of range."), x=x, y=y)
        if swapped[i]:
            return N_("Latitudes are outside -90..90 but the longitudes are not: the axes look swapped.")
        return Message(
            N_("Coordinates are out of range (bounds {minx}, {miny}, {maxx}, {maxy})."),
            minx=Number(minx[i], "g"),
            miny=Number(miny[i], "g"),
            maxx=Number(maxx[i], "g"),
            maxy=Number(maxy[i], "g"),
        )

    def fix(i: int) -> str:
        if swapped[i]:
            return N_(
                "Swap the latitude and longitude values (or the columns' names, or the names in `columns=`)."
            )
        if not finite[i]:
            return N_("Give the row real coordinates, or remove it.")
        limit = Number(_MAX_PROJECTED, "g")
        if not geographic and gdf.crs is not None:
            return Message(
                N_(
                    "Check the coordinates: they lie beyond the Earth in {crs} (more than {limit} "
                    "units from the origin). If they are degrees, use crs='EPSG:4326'."
                ),
                crs=gdf.crs.to_string(),
                limit=limit,
            )
        if not geographic:
            return Message(
                N_(
                    "Check the coordinates: they lie beyond the Earth (more than {limit} "
                    "units from the origin). If they are degrees, use crs='EPSG:4326'."
                ),
                limit=limit,
            )
        return Message(
            N_(
                "Longitude must be within -180..180 and latitude within -90..90 in {crs}. "
                "If the coordinates are metres, pass the CRS they are in, e.g. crs='EPSG:32634'."
            ),
            crs=gdf.crs.to_string(),
        )

    c.per_row(np.flatnonzero(out), "geometry", message, fix)
    ok &= ~out
    return ok


def _polygonal(geom: Any) -> Any:
    """Keep only the polygonal parts of a geometry (``None`` when there are none)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if not merged.is_empty else None


def _as_area_frame(areas: pd.DataFrame, crs: CRS) -> gpd.GeoDataFrame | None:
    """Areas in ``crs`` with valid geometry, for comparisons; ``None`` if unusable."""
    if not isinstance(areas, gpd.GeoDataFrame) or areas.crs is None or areas.empty:
        return None
    geoms = areas.geometry
    keep = ~(geoms.isna() | geoms.is_empty)
    out = areas[keep]
    if out.empty:
        return None
    out = out.to_crs(crs) if not out.crs.equals(crs) else out
    with np.errstate(all="ignore"):
        fixed = shapely.make_valid(np.asarray(out.geometry.array, dtype=object))
    return out.set_geometry(fixed, crs=out.crs)


def _swap_check(
    gdf: gpd.GeoDataFrame, ok: np.ndarray, areas: gpd.GeoDataFrame | None, c: _Collector
) -> np.ndarray:
    """Report points that look swapped relative to the areas' extent or to the other points."""
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return ok
    geoms = np.asarray(gdf.geometry.array, dtype=object)[idx]
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    if areas is not None:
        minx, miny, maxx, maxy = areas.total_bounds
        pad = 0.05 * max(maxx - minx, maxy - miny)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        if minx <= maxy and miny <= maxx:  # the extent overlaps its mirror image: cannot tell
            return ok
        inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        inside_swapped = (y >= minx) & (y <= maxx) & (x >= miny) & (x <= maxy)
        flagged = ~inside & inside_swapped
        against = "areas"
    else:
        if len(idx) < 4:
            return ok
        mx, my = float(np.median(x)), float(np.median(y))
        far = math.hypot(mx - my, my - mx)
        if far == 0:
            return ok
        d_orig = np.hypot(x - mx, y - my)
        d_swap = np.hypot(y - mx, x - my)
        flagged = (d_swap < far / 4) & (d_orig > 3 * far / 4)
        if flagged.sum() * 2 >= len(idx):
            return ok
        against = "points"
    hits = idx[flagged]
    if len(hits) == 0:
        return ok
    if areas is not None and len(hits) == len(idx) and len(idx) > 1:
        c.bad[hits] = True
        c.add(
            Message(
                N_(
                    "All {n} points lie outside the areas' extent but inside it with latitude and longitude "
                    "(x and y) swapped: the coordinate columns look swapped."
                ),
                n=len(hits),
            ),
            N_("Swap the names of the latitude and longitude columns (or the names in `columns=`)."),
            column="geometry",
        )
    else:
        xs, ys = dict(zip(idx, x, strict=True)), dict(zip(idx, y, strict=True))
        axes = "xy" if gdf.crs is not None and not gdf.crs.is_geographic else "degrees"
        template, fix = _SWAPPED_POINT[(against, axes)]
        c.per_row(
            hits,
            "geometry",
            lambda i: Message(template, x=Number(xs[i], "g"), y=Number(ys[i], "g")),
            fix,
        )
    ok = ok.copy()
    ok[hits] = False
    return ok


# --------------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------------


#: A point that fits only with its coordinates swapped: (compared with, axes) → (message, fix).
_SWAPPED_POINT = {
    ("areas", "degrees"): (
        N_(
            "The point at longitude {x}, latitude {y} lies outside the areas' extent, but with the two "
            "swapped it lies inside: latitude and longitude look swapped."
        ),
        N_("Swap the latitude and longitude of this row."),
    ),
    ("areas", "xy"): (
        N_(
            "The point at x {x}, y {y} lies outside the areas' extent, but with the two "
            "swapped it lies inside: x and y look swapped."
        ),
        N_("Swap the x and y of this row."),
    ),
    ("points", "degrees"): (
        N_(
            "The point at longitude {x}, latitude {y} lies outside the other points, but with the two "
            "swapped it lies inside: latitude and longitude look swapped."
        ),
        N_("Swap the latitude and longitude of this row."),
    ),
    ("points", "xy"): (
        N_(
            "The point at x {x}, y {y} lies outside the other points, but with the two "
            "swapped it lies inside: x and y look swapped."
        ),
        N_("Swap the x and y of this row."),
    ),
}


def _start(frame: pd.DataFrame, file: str, rows: _Ints | None) -> tuple[pd.DataFrame, _Collector]:
    frame = _geometry_as_geometry(frame.reset_index(drop=True))
    return frame, _Collector(file, np.arange(1, len(frame) + 1) if rows is None else rows)


def _geometry_as_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    """Name the active geometry column ``geometry`` before any column is matched to the contract.

    A GeoParquet or GeoPackage file may call its geometry column anything, even ``area_id``; left under
    that name it would be taken for the ids. Another column already called ``geometry`` (WKT text, say)
    is kept beside it as ``geometry_2``.
    """
    name = _geometry_name(frame)
    if name is None or name == "geometry":
        return frame
    assert isinstance(frame, gpd.GeoDataFrame)
    if "geometry" in frame.columns:
        taken = {str(col) for col in frame.columns}
        spare = next(f"geometry_{i}" for i in range(2, len(taken) + 3) if f"geometry_{i}" not in taken)
        frame = frame.rename(columns={"geometry": spare})
    return frame.rename_geometry("geometry")


def _empty(frame: pd.DataFrame, c: _Collector) -> bool:
    if len(frame):
        return False
    c.add(
        N_("The file has no data rows."),
        N_("Check that this is the right file (and layer or sheet), and that it has data below the header."),
    )
    return True


def _finish(frame: pd.DataFrame, kind: str, c: _Collector) -> tuple[pd.DataFrame, list[Problem]]:
    clean = _order(frame[~c.bad[: len(frame)]], kind) if len(frame) else frame
    return clean, _their_columns(c)


def _their_columns(c: _Collector) -> list[Problem]:
    """Name in each problem the column as the file names it (``Kapaciteti``), not the contract's name."""
    if not c.renamed:
        return c.problems
    renamed = c.renamed

    def theirs(value: str) -> str:  # a value that is exactly a renamed contract column's name
        return renamed.get(value, value)

    out = []
    for p in c.problems:
        if p.column in renamed:
            p = dataclasses.replace(p.map_text(theirs), column=renamed[p.column])
        out.append(p)
    return out


def _validate_areas(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: _Ints | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    frame, c = _start(frame, file, rows)
    required, optional = _contract("areas")
    frame = _map_columns(frame, columns, (*required, *optional), c, kind="areas")
    frame = _known_layout(frame, columns, c)
    if _empty(frame, c):
        return frame, c.problems
    frame = _clean_text(frame.copy(), c)
    missing = _require(frame, "areas", required, c)
    if "area_id" not in missing:
        frame = _ids(frame, "area_id", c)
    if "name" not in missing:
        empty = np.flatnonzero(frame["name"].isna().to_numpy())
        c.per_row(empty, "name", lambda i: N_("'name' is empty."), N_("Give every area a name."))
    gdf = _geo_frame(frame, "areas", crs, c)
    if gdf is None:
        c.add(
            Message(
                N_("The areas have no geometry (polygons); found columns {found}."),
                found=_list(frame.columns),
            ),
            N_("Areas must be polygons: use a GeoJSON, GeoPackage, zipped Shapefile or GeoParquet file."),
            column="geometry",
        )
        return _finish(frame, "areas", c)
    present = _missing_geometry(gdf, c)
    geoms = np.asarray(gdf.geometry.array, dtype=object).copy()
    types = np.array([g.geom_type if g is not None else "" for g in geoms])
    wrong = present & ~np.isin(types, ["Polygon", "MultiPolygon", "GeometryCollection"])
    c.per_row(
        np.flatnonzero(wrong),
        "geometry",
        lambda i: Message(N_("The geometry is a {type}; areas must be polygons."), type=types[i]),
        N_("Use the polygon layer of the boundaries (not points or lines)."),
    )
    # Coordinates first: repairing a polygon that lies beyond the Earth is pointless, and overflows.
    candidates = _range_check(gdf, present & ~wrong, c, points=False)
    unusable = ~candidates
    valid = np.ones(len(geoms), dtype=bool)
    with np.errstate(all="ignore"):  # shapely on a file's coordinates: no stray numpy warnings
        valid[candidates] = shapely.is_valid(geoms[candidates])
    invalid = candidates & ~valid
    collections = candidates & (types == "GeometryCollection") & ~invalid
    repaired: list[int] = []
    reasons: list[str] = []
    for i in np.flatnonzero(invalid | collections):
        with np.errstate(all="ignore"):
            fixed = _polygonal(shapely.make_valid(geoms[i]) if invalid[i] else geoms[i])
        if fixed is None:
            c.per_row(
                [int(i)],
                "geometry",
                lambda _: N_("The geometry has no polygonal part left after repair."),
                N_("Redraw this area's polygon."),
            )
            unusable[i] = True
            continue
        if invalid[i]:
            reasons.append(shapely.is_valid_reason(geoms[i]))
        geoms[i] = fixed
        repaired.append(int(i))
    if repaired:
        fix = N_("Nothing to do (repaired); check the boundaries of those areas, or fix them in a GIS.")
        if reasons:
            c.summary(
                repaired,
                "geometry",
                Nn_(
                    "Repaired {n} invalid polygon with shapely.make_valid, keeping only polygonal "
                    "parts: {reasons} ({rows}).",
                    "Repaired {n} invalid polygons with shapely.make_valid, keeping only polygonal "
                    "parts: {reasons} ({rows}).",
                ),
                fix,
                n=len(repaired),
                reasons="; ".join(sorted(set(reasons))[:5]),
            )
        else:
            c.summary(
                repaired,
                "geometry",
                Nn_(
                    "Repaired {n} invalid polygon with shapely.make_valid, keeping only polygonal "
                    "parts ({rows}).",
                    "Repaired {n} invalid polygons with shapely.make_valid, keeping only polygonal "
                    "parts ({rows}).",
                ),
                fix,
                n=len(repaired),
            )
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return _finish(gdf, "areas", c)


def _service_type_keys(taxonomy: Any) -> list[str] | None:
    if taxonomy is None:
        return None
    keys = getattr(taxonomy, "service_type_keys", None)
    if keys is None:
        if isinstance(taxonomy, str) or not isinstance(taxonomy, Iterable):
            raise TypeError(
                f"`taxonomy` should be a taxonomy (an object with `.service_type_keys`) or a list of "
                f"service type keys, got {type(taxonomy)}."
            )
        keys = taxonomy
    if callable(keys):
        keys = keys()
    return [str(k) for k in keys]


def _validate_services(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: _Ints | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    taxonomy: Any = None,
    areas: pd.DataFrame | None = None,
    centroids: bool = False,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    frame, c = _start(frame, file, rows)
    keys = _service_type_keys(taxonomy)
    required, optional = _contract("services")
    frame = _map_columns(frame, columns, (*required, *optional), c, kind="services")
    if _empty(frame, c):
        return frame, c.problems
    frame = _clean_text(frame.copy(), c)
    # service_id may be missing: ids are then made from each row (see _made_ids).
    missing = _require(frame, "services", [n for n in required if n != "service_id"], c)
    make_ids = "service_id" not in frame.columns
    if not make_ids:  # rows left empty get an id made from the row (below)
        frame = _ids(frame, "service_id", c, report_empty=False)
    if "name" not in missing:
        empty = np.flatnonzero(frame["name"].isna().to_numpy())
        c.summary(
            empty,
            "name",
            Nn_(
                "'name' is empty in {n} row; that service will be shown by its id ({rows}).",
                "'name' is empty in {n} rows; those services will be shown by their id ({rows}).",
            ),
            N_("Give every service a name."),
            n=len(empty),
        )
    if "capacity" not in missing:
        frame = _numbers(
            frame,
            "capacity",
            c,
            missing_message=Nn_(
                "'capacity' is empty in {n} row: taken as unknown (not as 1) ({rows}).",
                "'capacity' is empty in {n} rows: taken as unknown (not as 1) ({rows}).",
            ),
            decimal=decimal,
            missing_fix=N_("Fill in the number of persons each service can serve at once, where known."),
            counts=True,
        )
    if "service_type" not in missing:
        frame = _service_types(frame, keys, c, _service_type_labels(taxonomy))

    gdf = _geo_frame(frame, "services", crs, c)
    if gdf is None:
        found = _coordinate_columns(frame, c)
        if found is None:
            c.add(
                Message(
                    N_("The services have no geometry and no coordinate columns; found {found}."),
                    found=_list(frame.columns),
                ),
                N_(
                    "Add latitude and longitude columns (named lat/latitude/y and lon/lng/long/longitude/x), "
                    "or map yours with `columns={'your lat': 'lat', 'your lon': 'lon'}`."
                ),
                column="geometry",
            )
            return _finish(frame, "services", c)
        if found is False:
            return _finish(frame, "services", c)
        assert isinstance(found, tuple)
        gdf, reported = _points_from_columns(frame, found[0], found[1], crs, c)
    else:
        reported = None
    present = _missing_geometry(gdf, c, skip=reported)
    gdf, ok = _service_points(gdf, present, centroids, c)
    ok = _range_check(gdf, ok, c, points=True)
    if gdf.crs is not None:
        area_frame = _as_area_frame(areas, gdf.crs) if areas is not None else None
        ok = _swap_check(gdf, ok, area_frame, c)
        if area_frame is not None and ok.any():
            _outside_areas(gdf, ok, area_frame, c)
    if make_ids or gdf["service_id"].isna().any():
        gdf = _made_ids(gdf, c)
    return _finish(gdf, "services", c)


def _made_ids(gdf: gpd.GeoDataFrame, c: _Collector) -> gpd.GeoDataFrame:
    """
    Give services without a ``service_id`` (no column, or an empty cell) ids made from each row.

    The id is ``svc-`` and the first ten hex digits of the SHA-1 of the row's name, service type
    and coordinates (to 6 decimals, in the file's CRS): the same row gives the same id in every run
    and in any order of rows; a repeated row gets ``-2``, ``-3``... in file order. Said in a warning.
    """
    import hashlib

    given = gdf["service_id"].tolist() if "service_id" in gdf.columns else [None] * len(gdf)
    given = [None if _is_missing(v) else v for v in given]
    todo = [i for i, v in enumerate(given) if v is None]
    names = gdf["name"].tolist() if "name" in gdf.columns else [None] * len(gdf)
    types = gdf["service_type"].tolist() if "service_type" in gdf.columns else [None] * len(gdf)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    ids = list(given)
    taken = {str(v) for v in given if v is not None}
    for i in todo:
        geom = geoms[i]
        if geom is None or geom.is_empty:
            where = ""
        elif geom.geom_type == "Point":
            where = f"{geom.x:.6f},{geom.y:.6f}"
        else:
            where = geom.wkb_hex
        name, kind = names[i], types[i]
        key = "|".join(
            ["" if _is_missing(name) else str(name), "" if _is_missing(kind) else str(kind), where]
        )
        made = "svc-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]  # noqa: S324 - an id, not security
        n, candidate = 1, made
        while candidate in taken:
            n += 1
            candidate = f"{made}-{n}"
        taken.add(candidate)
        ids[i] = candidate
    out = gdf.drop(columns="service_id", errors="ignore")
    out.insert(0, "service_id", pd.Series(ids, index=gdf.index, dtype=object))
    if todo and "service_id" not in gdf.columns:
        c.add(
            Message(
                N_(
                    "The file has no 'service_id' column: made an id for each of the {n} services from its "
                    "name, type and location (e.g. '{example}'); the same row always gets the same id."
                ),
                n=Number(len(todo), ","),
                example=ids[todo[0]],
            ),
            N_("Nothing to do; add a 'service_id' column to use ids of your own."),
            column="service_id",
            severity="warning",
        )
    elif todo:
        c.summary(
            todo,
            "service_id",
            Nn_(
                "'service_id' is empty in {n} row: made an id from its name, type and location (e.g. "
                "'{example}'); the same row always gets the same id ({rows}).",
                "'service_id' is empty in {n} rows: made an id for each from its name, type and "
                "location (e.g. '{example}'); the same row always gets the same id ({rows}).",
            ),
            N_("Nothing to do; fill in 'service_id' to use ids of your own."),
            n=len(todo),
            example=ids[todo[0]],
        )
    return out


def _service_type_labels(taxonomy: Any) -> dict[str, dict[str, str]]:
    """Return the labels of each service type by language, when ``taxonomy`` has them (else empty)."""
    types = getattr(taxonomy, "service_types", None)
    if not isinstance(types, dict):
        return {}
    return {str(k): dict(getattr(v, "labels", {}) or {}) for k, v in types.items()}


#: Similarity (difflib ratio of normalised texts) from which a service type written differently is read
#: as the taxonomy's, and by how much it must be ahead of the next type.
_TYPE_THRESHOLD = 0.85
_TYPE_MARGIN = 0.1


def _match_type(value: str, keys: list[str], forms: dict[str, set[str]]) -> tuple[str | None, str, list[str]]:
    """
    Match one written service type to a key: ``(key or None, how, candidate keys)``.

    ``how``: ``"key"``, ``"case"`` (the key in other letter case), ``"label"`` (a label of the
    taxonomy in any language, ignoring case, diacritics and punctuation), ``"similar"`` (a close
    spelling, clearly closer to one type than to any other), ``"ambiguous"`` (as close to two or more
    types: the candidates), ``"unknown"`` (the closest candidates).
    """
    from socialmap.names import normalise_name

    if value in keys:
        return value, "key", []
    by_case = {k.casefold(): k for k in keys}
    if value.casefold() in by_case:
        return by_case[value.casefold()], "case", []
    norm = normalise_name(value)
    same = [k for k in keys if norm and norm in forms[k]]
    if len(same) == 1:
        return same[0], "label", []
    if len(same) > 1:
        return None, "ambiguous", same
    scores = {
        k: max((difflib.SequenceMatcher(None, norm, f).ratio() for f in forms[k]), default=0.0) for k in keys
    }
    ranked = sorted(keys, key=lambda k: -scores[k])
    if ranked and scores[ranked[0]] >= _TYPE_THRESHOLD:
        close = [k for k in ranked if scores[ranked[0]] - scores[k] < _TYPE_MARGIN]
        if len(close) == 1:
            return ranked[0], "similar", []
        return None, "ambiguous", close
    return None, "unknown", [k for k in ranked[:3] if scores[k] >= 0.6]


def _type_names(keys: Sequence[str], labels: dict[str, dict[str, str]]) -> Localised | str:
    """Return the types listed for a person, each by its label in the language shown and its key."""
    langs = sorted({lang for k in keys for lang in labels.get(k, {})})
    if not langs:
        return ", ".join(keys)
    return Localised(
        {
            lang: "; ".join(f"'{labels[k][lang]}' ({k})" if lang in labels.get(k, {}) else k for k in keys)
            for lang in langs
        },
        fallback="en" if "en" in langs else langs[0],
    )


def _service_types(
    frame: pd.DataFrame,
    keys: list[str] | None,
    c: _Collector,
    labels: dict[str, dict[str, str]] | None = None,
) -> pd.DataFrame:
    from socialmap.names import normalise_name

    values = [None if _is_missing(v) else str(v) for v in frame["service_type"].tolist()]
    empty = [i for i, v in enumerate(values) if v is None]
    c.per_row(
        empty,
        "service_type",
        lambda i: N_("'service_type' is empty."),
        (
            Message(N_("Give every service its type (one of: {types})."), types=", ".join(keys))
            if keys
            else N_("Give every service its type (a key of the taxonomy).")
        ),
    )
    if keys:
        labels = labels or {}
        forms = {
            k: {normalise_name(k.replace("_", " "))} | {normalise_name(t) for t in labels.get(k, {}).values()}
            for k in keys
        }
        matches: dict[str, tuple[str | None, str, list[str]]] = {}
        for v in values:
            if v is not None and v not in matches:
                matches[v] = _match_type(v, keys, forms)
        found: dict[str, list[int]] = {"case": [], "label": [], "similar": []}
        pairs: dict[str, dict[str, str]] = {"label": {}, "similar": {}}
        unknown: list[int] = []
        ambiguous: list[int] = []
        written = list(values)
        for i, v in enumerate(values):
            if v is None:
                continue
            key, how, _ = matches[v]
            if how in found:
                found[how].append(i)
                if how in pairs:
                    pairs[how][v] = str(key)
            if key is not None:
                values[i] = key
            elif how == "ambiguous":
                ambiguous.append(i)
            else:
                unknown.append(i)
        c.summary(
            found["case"],
            "service_type",
            Nn_(
                "Changed the letter case of {n} service type to match the taxonomy ({rows}).",
                "Changed the letter case of {n} service types to match the taxonomy ({rows}).",
            ),
            N_(
                "Nothing to do (repaired); write the keys exactly as in the taxonomy to silence this warning."
            ),
            n=len(found["case"]),
        )
        c.summary(
            found["label"],
            "service_type",
            Nn_(
                "Read {n} service type by its name in the taxonomy: {pairs} ({rows}).",
                "Read {n} service types by their names in the taxonomy: {pairs} ({rows}).",
            ),
            N_("Nothing to do: these are the taxonomy's own names of the types."),
            n=len(found["label"]),
            pairs="; ".join(f"'{v}' as {k}" for v, k in pairs["label"].items()),
        )
        c.summary(
            found["similar"],
            "service_type",
            Nn_(
                "Read {n} service type written differently from the taxonomy as the closest type: "
                "{pairs} ({rows}).",
                "Read {n} service types written differently from the taxonomy as the closest type: "
                "{pairs} ({rows}).",
            ),
            N_("Check these pairs; write the type's name or key as in the taxonomy to make them certain."),
            n=len(found["similar"]),
            pairs="; ".join(f"'{v}' as {k}" for v, k in pairs["similar"].items()),
        )
        c.per_row(
            ambiguous,
            "service_type",
            lambda i: Message(
                N_("Service type '{value}' is as close to several types of the taxonomy: {types}."),
                value=written[i],
                types=_type_names(matches[str(written[i])][2], labels),
            ),
            N_("Write the type's full name or its key, as in the taxonomy."),
        )
        c.per_row(
            unknown,
            "service_type",
            lambda i: _with_hint(
                Message(
                    N_("Unknown service_type '{value}'; valid types are: {types}."),
                    value=written[i],
                    types=", ".join(keys),
                ),
                (
                    Message(N_("Closest: {types}."), types=_type_names(matches[str(written[i])][2], labels))
                    if matches[str(written[i])][2]
                    else None
                ),
            ),
            N_(
                "Use one of the valid service types (its key or its name in the taxonomy), or add this "
                "type to the taxonomy."
            ),
        )
    frame["service_type"] = pd.Series(
        values, index=frame.index, dtype=object if all(v is None for v in values) else None
    )
    return frame


def _service_points(
    gdf: gpd.GeoDataFrame, present: np.ndarray, centroids: bool, c: _Collector
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Report non-point services; make the safe repairs (one-point MultiPoint, centroids if asked).

    Returns the frame and the mask of rows that now hold a point.
    """
    geoms = np.asarray(gdf.geometry.array, dtype=object).copy()
    types = np.array([g.geom_type if g is not None else "" for g in geoms])
    single = present & (types == "MultiPoint") & (shapely.get_num_geometries(geoms) == 1)
    polygons = present & np.isin(types, ["Polygon", "MultiPolygon"])
    wrong = present & (types != "Point") & ~single & ~(polygons & centroids)
    counts = shapely.get_num_geometries(geoms)

    def message(i: int) -> str:
        if types[i] == "MultiPoint":
            return Message(
                N_("The geometry is a MultiPoint of {n} points; a service must be one point."),
                n=int(counts[i]),
            )
        return Message(N_("The geometry is a {type}; services must be points."), type=types[i])

    def fix(i: int) -> str:
        if types[i] in ("Polygon", "MultiPolygon"):
            return N_(
                "Convert the polygons to points in your GIS, or pass `centroids=True` to use each "
                "polygon's centroid (done with a warning)."
            )
        if types[i] == "MultiPoint":
            return N_("Split the sites into one row each.")
        return N_("Give each service one point location.")

    c.per_row(np.flatnonzero(wrong), "geometry", message, fix)
    if single.any():
        geoms[single] = shapely.get_geometry(geoms[single], 0)
        c.summary(
            np.flatnonzero(single),
            "geometry",
            Nn_(
                "Turned {n} one-point MultiPoint into a Point ({rows}).",
                "Turned {n} one-point MultiPoints into Points ({rows}).",
            ),
            N_("Nothing to do (repaired)."),
            n=int(single.sum()),
        )
    if centroids and polygons.any():
        with np.errstate(all="ignore"):  # huge coordinates are reported by the range check after this
            geoms[polygons] = shapely.centroid(geoms[polygons])
        c.summary(
            np.flatnonzero(polygons),
            "geometry",
            Nn_(
                "Replaced {n} polygon by its centroid, as asked with centroids=True ({rows}).",
                "Replaced {n} polygons by their centroids, as asked with centroids=True ({rows}).",
            ),
            N_("Nothing to do (repaired); check that each centroid is where the service is."),
            n=int(polygons.sum()),
        )
    if single.any() or (centroids and polygons.any()):
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf, present & ~wrong


def _outside_areas(gdf: gpd.GeoDataFrame, ok: np.ndarray, areas: gpd.GeoDataFrame, c: _Collector) -> None:
    idx = np.flatnonzero(ok)
    points = np.asarray(gdf.geometry.array, dtype=object)[idx]
    tree = shapely.STRtree(np.asarray(areas.geometry.array, dtype=object))
    hit = np.unique(tree.query(points, predicate="intersects")[0])
    outside = np.setdiff1d(np.arange(len(idx)), hit)
    ids = gdf["service_id"].tolist() if "service_id" in gdf.columns else [None] * len(gdf)
    every = np.asarray(gdf.geometry.array, dtype=object)

    def message(i: int) -> str:
        x, y = Number(every[i].x, "g"), Number(every[i].y, "g")
        if _is_missing(ids[i]):
            return Message(N_("The service at ({x}, {y}) is outside every area."), x=x, y=y)
        return Message(N_("Service '{id}' at ({x}, {y}) is outside every area."), id=ids[i], x=x, y=y)

    c.per_row(
        idx[outside],
        "geometry",
        message,
        N_(
            "Check its coordinates. If they are right, the service lies beyond the areas given: it counts "
            "for no area (though it may still serve people nearby)."
        ),
        severity="warning",
    )


def _validate_population(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: _Ints | None = None,
    columns: dict[str, str] | None = None,
    areas: pd.DataFrame | None = None,
    aliases: Any = None,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    frame, c = _start(frame, file, rows)
    required, optional = _contract("population")
    frame = _map_columns(frame, columns, (*required, *optional), c, kind="population")
    if _empty(frame, c):
        return frame, c.problems
    geometry = _geometry_name(frame)
    if geometry is not None:
        c.add(
            N_("The geometry of the population file is ignored: population is read as a table per area."),
            N_("Nothing to do; join it to the areas by 'area_id'."),
            column="geometry",
            severity="warning",
        )
        frame = pd.DataFrame(frame.drop(columns=geometry))
    frame = _clean_text(frame.copy(), c)
    area_ids = _area_ids(areas)
    joined = False
    if "area_id" not in frame.columns and "name" in frame.columns and areas is not None:
        frame = _join_by_name(frame, areas, aliases, c)
        joined = True
    elif "area_id" not in frame.columns:
        found = list(frame.columns)
        fix = (
            N_(
                "Add a column 'area_id' (map yours with `columns={'your column': 'area_id'}`), "
                "or pass `areas=` to join by a 'name' column."
            )
            if areas is None
            else N_(
                "Add a column 'area_id' (map yours with `columns={'your column': 'area_id'}`), "
                "or add a 'name' column to join by name."
            )
        )
        c.add(
            _with_hint(
                Message(_MISSING_COLUMN["population"], name="area_id", found=_list(found)),
                _close("area_id", [str(f) for f in found]),
            ),
            fix,
            column="area_id",
        )
    missing = _require(frame, "population", ["population"], c)
    if "area_id" in frame.columns:
        frame = _ids(frame, "area_id", c, report_empty=not joined)
        if area_ids is not None and not joined and areas is not None:
            frame = _demo_codes(frame, areas, area_ids, c)
        if area_ids is not None and not joined:
            values = frame["area_id"].tolist()
            unknown = [i for i, v in enumerate(values) if v is not None and v not in area_ids]
            c.per_row(
                unknown,
                "area_id",
                lambda i: _with_hint(
                    Message(N_("area_id '{value}' is not one of the areas."), value=values[i]),
                    _close(str(values[i]), area_ids),
                ),
                N_("Use the areas' ids (or fix the areas file), or remove the row."),
            )
        if area_ids is not None:
            have = set(frame["area_id"].dropna())
            absent = [a for a in area_ids if a not in have]
            if absent:
                c.add(
                    Message(
                        *Nn_(
                            "{n} area has no population row: {ids}.",
                            "{n} areas have no population row: {ids}.",
                        ),
                        len(absent),
                        n=len(absent),
                        ids=area_labels(areas, absent) if areas is not None else _list(absent),
                    ),
                    N_("Add a row for each of them (leave 'population' empty if unknown)."),
                    column="area_id",
                    severity="warning",
                )
    if "population" not in missing:
        frame = _numbers(
            frame,
            "population",
            c,
            missing_message=Nn_(
                "'population' is empty in {n} row: taken as unknown, so need cannot be computed for "
                "that area ({rows}: {areas}); every other area is scored.",
                "'population' is empty in {n} rows: taken as unknown, so need cannot be computed for "
                "those areas ({rows}: {areas}); every other area is scored.",
            ),
            missing_values=lambda positions: {"areas": _row_areas(frame, positions, areas)},
            decimal=decimal,
            missing_fix=N_("Fill in the population where a figure (or an openly marked estimate) exists."),
            counts=True,
        )
    return _finish(frame, "population", c)


def _names_by_id(areas: pd.DataFrame, ids: Sequence[str], lang: str = "en") -> dict[str, str]:
    """Return the names of areas by their id, in ``lang`` (recognised municipalities: the demo's names)."""
    from socialmap.i18n import area_names

    frame = pd.DataFrame(areas[[c for c in areas.columns if c == "area_id" or str(c).startswith("name")]])
    frame["area_id"] = [_id_text(v) for v in frame["area_id"]]
    own = f"name_{lang}"
    if own not in frame.columns or frame[own].isna().all():
        from socialmap.datasets import recognise_areas

        known = recognise_areas(frame)
        if known is not None and own in known.names.columns:
            frame[own] = frame["area_id"].map(known.names.set_index("area_id")[own])
    named = pd.Series(area_names(frame, lang).astype(str).to_numpy(), index=frame["area_id"])
    named = named[~named.index.duplicated()]
    return {i: str(named.get(i, i)) for i in ids}


def area_labels(areas: pd.DataFrame, ids: Sequence[str], limit: int = 30) -> Localised:
    """
    Return the names of some areas for a message, written in each language (not their ids).

    Parameters
    ----------
    areas
        The areas (``area_id``, ``name``, optional ``name_sq``/``name_sr``/``name_en``). Areas
        recognised as a demo's municipalities (:func:`socialmap.datasets.recognise_areas`) are named
        with the demo's names in each language where they have none of their own.
    ids
        The ids of the areas to name, in order.
    limit
        At most this many are listed, then ``...``.

    Returns
    -------
    names
        A :class:`~socialmap.errors.Localised`: ``"Kaçanik, Shtime"``, in Serbian ``"Kačanik, Štimlje"``.
    """
    ids = [str(i) for i in ids]
    more = ", ..." if len(ids) > limit else ""
    texts = {}
    for lang in schema.LANGUAGES:
        named = _names_by_id(areas, ids[:limit], lang)
        texts[lang] = ", ".join(named[i] for i in ids[:limit]) + more
    return Localised(texts)


def _row_areas(frame: pd.DataFrame, positions: Sequence[int], areas: pd.DataFrame | None) -> Localised | str:
    """Name the areas of some rows of a population table: by the areas' names, else the row's name or id."""
    ids = frame["area_id"].tolist() if "area_id" in frame.columns else [None] * len(frame)
    given = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
    if areas is not None and "area_id" in areas.columns and all(ids[p] is not None for p in positions):
        return area_labels(areas, [str(ids[p]) for p in positions])
    return ", ".join(str(given[p]) if not _is_missing(given[p]) else str(ids[p]) for p in positions[:30]) + (
        ", ..." if len(positions) > 30 else ""
    )


def _demo_codes(frame: pd.DataFrame, areas: pd.DataFrame, area_ids: list[str], c: _Collector) -> pd.DataFrame:
    """
    Read a table keyed by a demo's codes (Kosovo's KAS codes 01-38) against other boundaries of it.

    Only when the areas are recognised as the demo's municipalities
    (:func:`socialmap.datasets.recognise_areas`), every id of the table is one of the demo's codes and
    none is one of the areas' own ids; said in a warning.
    """
    values = [v for v in frame["area_id"].tolist() if v is not None]
    own = set(area_ids)
    if not values or any(v in own for v in values):
        return frame
    from socialmap.datasets import recognise_areas

    reference = pd.DataFrame(areas[["area_id", "name"]]) if "name" in areas.columns else None
    known = recognise_areas(reference) if reference is not None else None
    if known is None:
        return frame
    to_own = dict(zip(known.names["demo_area_id"], known.names["area_id"], strict=True))
    if not all(v in to_own for v in values):
        return frame
    frame = frame.copy()
    frame["area_id"] = [None if v is None else to_own[v] for v in frame["area_id"].tolist()]
    c.add(
        Message(
            N_("Read the codes in 'area_id' as the {demo} demo's municipality codes ('{code}' is {name})."),
            demo=known.demo.capitalize(),
            code=values[0],
            name=area_labels(areas, [to_own[values[0]]]),
        ),
        N_("Nothing to do; use the boundaries' own ids in 'area_id' to make the join certain."),
        column="area_id",
        severity="warning",
    )
    return frame


def _area_ids(areas: pd.DataFrame | None) -> list[str] | None:
    if areas is None or "area_id" not in areas.columns:
        return None
    return [t for t in (_id_text(v) for v in areas["area_id"].tolist()) if t is not None]


def _join_by_name(frame: pd.DataFrame, areas: pd.DataFrame, aliases: Any, c: _Collector) -> pd.DataFrame:
    """Give each row the ``area_id`` of the area its ``name`` matches (via ``socialmap.names.match``)."""
    from socialmap import names  # lazy: keeps `import socialmap.validate` light
    from socialmap.errors import ValidationError

    if "area_id" not in areas.columns:
        c.add(
            N_("Cannot join the population to the areas by name: the areas have no 'area_id'."),
            N_("Validate the areas first (they need 'area_id' and 'name')."),
            column="name",
        )
        return frame
    name_cols = [col for col in areas.columns if col == "name" or str(col).startswith("name_")]
    reference = pd.DataFrame(areas[["area_id", *name_cols]]).copy()
    reference["area_id"] = [_id_text(v) for v in reference["area_id"]]
    if aliases is None:
        # Boundaries recognised as a demo's municipalities (any file: geoBoundaries', your own) get
        # the demo's aliases and its names in every language (Serbian names such as Đakovica).
        from socialmap.datasets import recognise_areas

        known = recognise_areas(reference)
        if known is not None:
            aliases = known.aliases
            extra = known.names.drop(columns="demo_area_id").add_prefix("known_")
            reference = reference.merge(extra, left_on="area_id", right_on="known_area_id", how="left")
            reference = reference.drop(columns="known_area_id")
            name_cols = [*name_cols, *(c for c in reference.columns if str(c).startswith("known_name_"))]
    given = [None if _is_missing(v) else str(v) for v in frame["name"].tolist()]
    try:
        result = names.match(given, reference, aliases=aliases, key="area_id", name_columns=name_cols)
    except ValidationError as exc:
        c.problems.extend(exc.problems)
        c.bad[:] = True
        return frame
    keys = [_id_text(k) for k in result["key"].tolist()]
    methods = ["" if _is_missing(m) else str(m) for m in result["method"].tolist()]
    notes = ["" if _is_missing(n) else str(n) for n in result["note"].tolist()]
    statuses = result["status"].tolist()
    candidates = result["candidates"].tolist()
    unmatched = [i for i, k in enumerate(keys) if k is None]
    second_look = [i for i, k in enumerate(keys) if k is not None and methods[i] in _CHECK_METHODS]

    def unmatched_message(i: int) -> str:
        if given[i] is None:
            return N_("'name' is empty, so the row cannot be joined to an area.")
        cands = [str(x) for x in candidates[i]] if isinstance(candidates[i], list | tuple) else []
        if notes[i]:
            text = Message(
                N_("Name '{name}' matches no area ({status}: {note})."),
                name=given[i],
                status=statuses[i],
                note=notes[i],
            )
        else:
            text = Message(N_("Name '{name}' matches no area."), name=given[i])
        closest = Message(N_("Closest: {names}."), names=", ".join(cands[:5])) if cands else None
        return _with_hint(text, closest)

    c.per_row(
        unmatched,
        "name",
        unmatched_message,
        N_("Correct the name, add an 'area_id' column, or pass `aliases=` with this spelling."),
    )
    if second_look:
        shown = _names_by_id(areas, [str(keys[i]) for i in second_look])
        pairs = [
            f"'{given[i]}' -> {shown.get(str(keys[i]), keys[i])} ({notes[i] or methods[i]})"
            for i in second_look
        ]
        c.summary(
            second_look,
            "name",
            Nn_(
                "Joined {n} name to an area by similar spelling: {pairs} ({rows}).",
                "Joined {n} names to areas by similar spelling: {pairs} ({rows}).",
            ),
            N_("Check these pairs; add an 'area_id' column (or pass `aliases=`) to make the join certain."),
            n=len(pairs),
            pairs="; ".join(pairs[:10]) + ("; ..." if len(pairs) > 10 else ""),
        )
    out = frame.copy()
    out.insert(0, "area_id", pd.Series(keys, index=frame.index, dtype=object))
    return out


# --------------------------------------------------------------------------------------------------
# Public validators
# --------------------------------------------------------------------------------------------------


def _public(
    fn: Callable[..., tuple[pd.DataFrame, list[Problem]]], frame: pd.DataFrame, first_row: int, **kwargs: Any
) -> tuple[pd.DataFrame, list[Problem]]:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a (Geo)DataFrame, got {type(frame)}")
    clean, problems = fn(frame, rows=np.arange(first_row, first_row + len(frame)), **kwargs)
    if len(clean):
        clean = clean.copy()
        clean.index = frame.index[np.asarray(clean.index, dtype=int)]
    return clean, problems


def validate_areas(
    gdf: pd.DataFrame,
    *,
    file: str = "areas",
    columns: dict[str, str] | None = None,
    crs: Any = None,
    first_row: int = 1,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """
    Check areas (polygons) and make the safe repairs.

    Checks: the file has rows; the columns ``area_id`` and ``name`` exist; ids are present and unique;
    names are present; there is a geometry, and a CRS; every geometry is present and polygonal;
    coordinates are in range for a geographic CRS. Repairs (with a warning): whitespace and control
    characters in text, invalid polygons (``shapely.make_valid``, polygonal parts kept).

    Parameters
    ----------
    gdf
        The areas, in the caller's column names. Not modified.
    file
        Name of the file (or dataset) used in the problems.
    columns
        Mapping ``{"their name": "our name"}`` applied first; contract names are also matched
        ignoring case, spaces and hyphens (``"Area ID"`` -> ``area_id``).
    crs
        CRS of the coordinates when ``gdf`` has none. A different CRS than ``gdf``'s is an error.
    first_row
        Row number shown for the first row of ``gdf`` (the loaders pass the file's own numbers).

    Returns
    -------
    clean, problems
        ``clean``: a repaired copy in the column contract (``area_id`` as text, ``name``, optional name
        columns, other columns, ``geometry`` last), in the input's CRS and with the input's index,
        without the rows that have errors. Use it only when ``problems`` holds no error.
        ``problems``: every problem found (errors and warnings); no exception and no warning is raised.
    """
    return _public(_validate_areas, gdf, first_row, file=file, columns=columns, crs=crs)


def validate_services(
    gdf: pd.DataFrame,
    *,
    file: str = "services",
    taxonomy: Any = None,
    areas: pd.DataFrame | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    centroids: bool = False,
    first_row: int = 1,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """
    Check services (points) and make the safe repairs.

    Checks: the file has rows; the columns ``service_id``, ``name``, ``service_type``, ``capacity``
    exist; ids are present and unique; ``capacity`` is a number and not negative (empty = unknown, a
    warning, never taken as 1); ``service_type`` is a key of ``taxonomy`` (skipped without one); there
    is a location (geometry, or latitude/longitude columns), and a CRS; every location is one point
    with coordinates in range; points that look as if latitude and longitude were swapped (latitude
    beyond ±90, or outside the areas' extent but inside it when swapped, or far from the other points
    but near them when swapped); points outside every area (a warning; only with ``areas``).

    Parameters
    ----------
    gdf
        Services as a GeoDataFrame, or a DataFrame with latitude/longitude columns (named
        ``lat``/``latitude``/``y`` and ``lon``/``lng``/``long``/``longitude``/``x``, any case).
    file
        Name of the file (or dataset) used in the problems.
    taxonomy
        A taxonomy, or any object with ``.service_type_keys``, or a list of keys. ``None`` skips the
        service-type check.
    areas
        Areas (GeoDataFrame with a CRS) to check the locations against. ``None`` skips those checks.
    columns
        Mapping ``{"their name": "our name"}`` applied first (see :func:`validate_areas`).
    crs
        CRS of coordinate columns (default EPSG:4326, longitude/latitude in degrees), or of a
        GeoDataFrame that has none.
    centroids
        Replace polygon services by their centroids (with a warning) instead of reporting them.
    first_row
        Row number shown for the first row of ``gdf``.

    Returns
    -------
    clean, problems
        ``clean``: a repaired GeoDataFrame of points in the column contract (``service_id`` as text,
        ``capacity`` as float with NaN for unknown; coordinate columns replaced by ``geometry``),
        without the rows that have errors. ``problems``: every problem found; nothing is raised.
    """
    return _public(
        _validate_services,
        gdf,
        first_row,
        file=file,
        columns=columns,
        crs=crs,
        taxonomy=taxonomy,
        areas=areas,
        centroids=centroids,
    )


def validate_population(
    df: pd.DataFrame,
    *,
    file: str = "population",
    areas: pd.DataFrame | None = None,
    columns: dict[str, str] | None = None,
    aliases: Any = None,
    first_row: int = 1,
) -> tuple[pd.DataFrame, list[Problem]]:
    """
    Check a population table (one row per area).

    Checks: the file has rows; ``area_id`` and ``population`` exist; ids are present, unique and (with
    ``areas``) ids of the areas; ``population`` is a number and not negative (empty = unknown, a
    warning); with ``areas``, areas lacking a row (a warning). When there is no ``area_id`` but a
    ``name`` column and ``areas`` are given, rows are joined to areas by name with
    ``socialmap.names.match`` (names that match no area are errors; non-exact matches are listed in a
    warning).

    Parameters
    ----------
    df
        The table. A geometry column, if any, is dropped (with a warning).
    file
        Name of the file (or dataset) used in the problems.
    areas
        The areas the table refers to (``area_id``, ``name``, optional ``name_sq``/``name_sr``/``name_en``).
    columns
        Mapping ``{"their name": "our name"}`` applied first (see :func:`validate_areas`).
    aliases
        Passed to ``socialmap.names.match`` when joining by name.
    first_row
        Row number shown for the first row of ``df``.

    Returns
    -------
    clean, problems
        ``clean``: a DataFrame with ``area_id`` (text) and ``population`` (float, extensive; NaN for
        unknown) first, then the other columns, without the rows that have errors. ``problems``: every
        problem found; nothing is raised.
    """
    return _public(
        _validate_population, df, first_row, file=file, columns=columns, areas=areas, aliases=aliases
    )


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def guess_kind(frame: pd.DataFrame) -> str | None:
    """
    Guess whether a frame holds areas, services or population.

    Polygons are areas and points are services; without geometry, a ``population`` column (and no
    ``service_type``) means population, and coordinate columns or a ``service_type`` column mean services.

    Parameters
    ----------
    frame
        The frame as read (after any column mapping).

    Returns
    -------
    kind
        ``"areas"``, ``"services"``, ``"population"``, or ``None`` when it cannot be told.
    """
    names = {_norm(col) for col in frame.columns}
    if _geometry_name(frame) is not None:
        assert isinstance(frame, gpd.GeoDataFrame)
        types = frame.geometry.dropna().geom_type.value_counts()
        if len(types):
            polygonal = types.reindex(["Polygon", "MultiPolygon"]).fillna(0).sum()
            pointlike = types.reindex(["Point", "MultiPoint"]).fillna(0).sum()
            if polygonal or pointlike:
                if "population" in names and "service_type" not in names and not polygonal:
                    return "population"
                return "areas" if polygonal >= pointlike else "services"
    if "population" in names and "service_type" not in names:
        return "population"
    has_coords = names & set(LATITUDE_NAMES) and names & set(LONGITUDE_NAMES)
    if has_coords or "service_type" in names:
        return "services"
    return None


def validate_file(
    path: str | PathLike[str],
    kind: str | None = None,
    *,
    taxonomy: Any = None,
    areas: pd.DataFrame | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    centroids: bool = False,
) -> Report:
    """
    Read one file and report every problem in it, without raising.

    Parameters
    ----------
    path
        A file in any format :mod:`socialmap.io` reads.
    kind
        ``"areas"``, ``"services"`` or ``"population"``; ``None`` guesses it (polygons -> areas,
        points or coordinate columns -> services, no geometry and a ``population`` column -> population).
    taxonomy
        For services: the taxonomy (or any object with ``.service_type_keys``); ``None`` skips the
        service-type check.
    areas
        Areas to check services or population against.
    columns, crs, layer, sheet, encoding, centroids
        As for the ``read_*`` functions of :mod:`socialmap.io`.

    Returns
    -------
    report
        The :class:`Report`: ``.ok``, ``.problems``, ``.to_frame()``, and a readable ``str()``. A file that
        cannot be read at all (missing, too large, unknown format) gives a report with one error.
    """
    from socialmap import io as sm_io  # io imports this module

    label = str(path)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"`kind` should be one of {KINDS}, got {kind!r}.")
    try:
        source = sm_io._read_source(
            path, layer=layer, sheet=sheet, encoding=encoding, limits=sm_io._Limits.for_kind(kind)
        )
        if kind is None and source.frame is not None:
            guessed = guess_kind(_map_columns(source.frame, columns, (), _Collector(label, source.rows)))
            sm_io._check_count(label, len(source.frame), sm_io._Limits.for_kind(guessed))
    except DataSourceError as exc:
        return Report(label, kind, [_source_problem(label, exc)])
    if source.frame is None:
        return Report(label, kind, list(source.problems), rows=0)
    if kind is None:
        mapped = _map_columns(source.frame, columns, (), _Collector(label, source.rows))
        kind = guess_kind(mapped)
        if kind is None:
            from socialmap.columns import guess_kind as guess_from_names

            kind = guess_from_names(col for col in mapped.columns if col != _geometry_name(mapped))
        if kind is None:
            found = [str(col) for col in source.frame.columns]
            problem = Problem(
                label,
                None,
                None,
                Message(
                    N_(
                        "Cannot tell whether the file holds areas, services or population; "
                        "found columns {found}."
                    ),
                    found=_list(found),
                ),
                N_("Name the kind: kind='areas', 'services' or 'population' (CLI: --kind)."),
            )
            return Report(label, None, [*source.problems, problem], rows=len(source.frame))
    common: dict[str, Any] = {"file": label, "rows": source.rows, "columns": columns}
    numbers: dict[str, Any] = {"decimal": source.decimal}
    if kind == "areas":
        clean, problems = _validate_areas(source.frame, crs=crs, **common)
    elif kind == "services":
        clean, problems = _validate_services(
            source.frame, crs=crs, taxonomy=taxonomy, areas=areas, centroids=centroids, **common, **numbers
        )
    else:
        clean, problems = _validate_population(source.frame, areas=areas, **common, **numbers)
    clean = clean.reset_index(drop=True)
    return Report(label, kind, [*source.problems, *problems], rows=len(source.frame), frame=clean)


def _source_problem(label: str, exc: DataSourceError) -> Problem:
    return Problem.from_error(exc, label)
