"""Values in the cells: numbers as people write them (decimal commas, thousands), text and ids.

:func:`parse_number` reads ``27.775``, ``27,775``, ``1 234,5`` by the file's convention; counts
(population, capacity) are whole numbers, and a thousands separator that could be a decimal mark is
refused as ambiguous. Control characters are removed from text, with a warning.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from socialmap.errors import (
    Message,
    Number,
)
from socialmap.i18n import N_, Nn_
from socialmap.sources.base import _CONTROL, _LINE_CONTROL, _is_missing
from socialmap.validate.base import (
    _GROUPED_THOUSAND,
    _GROUPS_COMMA,
    _GROUPS_DOT,
    _GROUPS_SPACE,
    _MAX_COUNT,
    _MISSING_TOKENS,
    _NUMBER,
    _Collector,
)
from socialmap.validate.mapping import _geometry_name


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
