"""Spreadsheets as people send them: CSV (encoding, delimiter, header row) and XLSX (scanned first).

The text encoding and the delimiter are found from the file; the header row is found below title
rows (:func:`socialmap.columns.header_row`). An XLSX workbook's sheets are scanned part by part
(their size, rows and columns) before openpyxl reads them.
"""

from __future__ import annotations

import codecs
import csv
import io as _stdio
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from socialmap import settings
from socialmap.errors import Message, Number, Problem
from socialmap.i18n import N_, Nn_
from socialmap.sources.base import (
    _check_cells,
    _check_columns,
    _check_count,
    _decoded_too_large,
    _empty_rows,
    _is_missing,
    _Limits,
    _plain,
    _reading,
    _Source,
    _SourceError,
)
from socialmap.sources.vector import (
    _zip_directory,
)

logger = logging.getLogger("socialmap.io")


#: Encoding tried when a CSV file is not valid UTF-8 (with a warning).
FALLBACK_ENCODING = "cp1250"


_DELIMITERS = (",", ";", "\t", "|")


_SNIFF_LINES = 50


#: Characters of CSV text the delimiter is sniffed from (the first lines; never the whole file).
_SNIFF_CHARS = 64 * 1024


#: Bytes of a ZIP member decompressed at a time while scanning an XLSX part.
_SCAN_CHUNK = 256 * 1024


_LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*(?:\r\n|\n|\r))+")


_NEWLINE = re.compile(r"\r\n|\n|\r")


#: Invisible characters stripped from the ends of column names (byte-order marks, zero-width spaces).
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"


def _decode(data: bytes, label: str, encoding: str | None) -> tuple[str, list[Problem]]:
    if encoding is not None:
        try:
            return data.decode(encoding), []
        except (UnicodeDecodeError, LookupError) as exc:
            raise _SourceError(
                Message(
                    N_("{file} cannot be read with encoding='{encoding}': {error}."),
                    file=label,
                    encoding=encoding,
                    error=str(exc),
                ),
                N_("Save the file as 'CSV UTF-8', or pass the encoding it was saved in."),
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), []
        except UnicodeDecodeError as exc:
            raise _SourceError(
                Message(
                    N_("{file} starts with a UTF-8 marker but is not valid UTF-8 ({error})."),
                    file=label,
                    error=str(exc),
                ),
                N_("Save the file again as 'CSV UTF-8'."),
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise _SourceError(
                Message(
                    N_(
                        "{file} starts with a UTF-16 marker but is not valid UTF-16 ({error}); "
                        "it may be cut short."
                    ),
                    file=label,
                    error=str(exc),
                ),
                N_("Save the file again as 'CSV UTF-8' (Excel: Save As > CSV UTF-8)."),
            ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        problem = Problem(
            label,
            None,
            None,
            Message(
                N_("The file has no byte-order mark but looks like {encoding}; it was read as such."),
                encoding=utf16.upper(),
            ),
            N_("Check the text in the result; save the file as 'CSV UTF-8' to avoid this warning."),
            "warning",
        )
        return data.decode(utf16), [problem]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as exc:
        raise _SourceError(
            Message(
                N_("{file} is not UTF-8 text, nor {encoding} ({error})."),
                file=label,
                encoding=FALLBACK_ENCODING,
                error=str(exc),
            ),
            N_(
                "Save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8), or pass `encoding=`, "
                "e.g. encoding='latin-1'."
            ),
        ) from None
    problem = Problem(
        label,
        None,
        None,
        Message(
            N_("The file is not UTF-8; it was read as {encoding} (Windows Central European)."),
            encoding=FALLBACK_ENCODING,
        ),
        N_(
            "Check letters such as ë, ç, č, ć, š, ž, đ in the result. Save the file as 'CSV UTF-8' to avoid "
            "this, or pass `encoding=` if it was saved in another encoding (e.g. encoding='cp1252')."
        ),
        "warning",
    )
    return text, [problem]


def _utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when the bytes look like UTF-16 text without a BOM, else ``None``.

    Text of Latin letters in UTF-16 has a NUL in every other byte; UTF-8 text has none.
    """
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2 or b"\x00" not in sample:
        return None
    half = len(sample) // 2
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    for name, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= 0.9 * half and others == 0:
            try:
                data.decode(name)
            except UnicodeDecodeError:
                return None
            return name
    return None


def _sniff_delimiter(text: str, suffix: str) -> str:
    """Pick the delimiter that splits the header into most columns, consistently over the first lines."""
    lines = [line for line in text[:_SNIFF_CHARS].splitlines()[:_SNIFF_LINES] if line.strip()]
    best, best_key = ("\t" if suffix == ".tsv" else ","), (-1.0, 0)
    for delimiter in _DELIMITERS:
        try:
            counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:  # e.g. a field larger than the csv module's limit: not this delimiter
            continue
        while len(counts) > 1 and counts[0] == 1:  # a title line above the header: judge the rest
            counts = counts[1:]
        if not counts or counts[0] < 2:
            continue
        key = (sum(n == counts[0] for n in counts) / len(counts), counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _width_below_title(text: str, delimiter: str) -> int | None:
    """Return the width of the first line with several fields, when lines of one field (a title) lead."""
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    try:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return None
    if not counts or counts[0] != 1:
        return None
    return next((n for n in counts if n > 1), None)


def _header(values: list[Any]) -> list[str]:
    """Column names from a header row: stripped; an empty cell is named ``Unnamed: <position>``."""
    names = []
    for position, value in enumerate(values):
        name = "" if _is_missing(value) else str(value).strip().strip(_INVISIBLE).strip()
        names.append(name or f"Unnamed: {position}")
    return names


def _split_header(
    raw: pd.DataFrame, label: str, *, first_line: int, limits: _Limits | None = None
) -> tuple[pd.DataFrame, np.ndarray, int, list[Problem]]:
    """
    Find the header of a table read without one, and take it as the column names.

    The header is the first non-blank row, unless a lower one among the first rows reads as a header
    (column names that :mod:`socialmap.columns` knows) or the rows above it are a title (one filled
    cell each): then the rows above it are skipped, with a warning. Reading the header ourselves
    keeps repeated names as they are (pandas would rename the second ``name`` to ``name.1``, hiding
    the mistake) and blank rows above it do not shift the columns. Returns the non-blank data rows,
    their row numbers in the file (``first_line`` is the number of ``raw``'s first row), the header's
    row number and the warnings.
    """
    from socialmap.columns import HEADER_SEARCH_ROWS, header_row

    blank = raw.isna().all(axis=1).to_numpy()
    filled = np.flatnonzero(~blank)
    if len(filled) == 0:
        return pd.DataFrame(), np.zeros(0, dtype=int), first_line, []
    candidates = filled[:HEADER_SEARCH_ROWS]
    head = int(candidates[header_row([raw.iloc[int(i)].tolist() for i in candidates])])
    problems: list[Problem] = []
    if head != filled[0]:
        skipped = [str(v).strip() for i in filled[filled < head] for v in raw.iloc[int(i)].tolist()]
        title = "; ".join(v for v in skipped if v and v.lower() != "nan")
        problems.append(
            Problem(
                label,
                first_line + head,
                None,
                Message(
                    N_("Read row {row} as the header; the row(s) above it were skipped as a title: {title}"),
                    row=first_line + head,
                    title=repr(title[:120]),
                ),
                N_("Nothing to do; if the column names are in another row, delete the rows above them."),
                "warning",
            )
        )
    _check_columns(label, raw.shape[1])
    frame = raw.iloc[head + 1 :].reset_index(drop=True)
    frame.columns = _header(raw.iloc[head].tolist())
    _check_count(label, len(frame), limits)
    keep = ~blank[head + 1 :]
    rows = np.flatnonzero(keep) + first_line + head + 1
    return frame[keep].reset_index(drop=True), rows, first_line + head, problems


def _read_csv(file: Path, label: str, encoding: str | None, limits: _Limits) -> _Source:
    text, problems = _decode(file.read_bytes(), label, encoding)
    text = text.removeprefix("\ufeff")  # a second byte-order mark (a file saved twice with one)
    nuls = text.count("\x00")
    if nuls:  # pandas' parser drops them silently: say so
        text = text.replace("\x00", "")
        problems.append(
            Problem(
                label,
                None,
                None,
                Message(
                    *Nn_(
                        "Removed {n} NUL character (invisible, byte 0) from the file.",
                        "Removed {n} NUL characters (invisible, byte 0) from the file.",
                    ),
                    nuls,
                    n=Number(nuls, ","),
                ),
                N_("Nothing to do (repaired); check that the file was saved as text (CSV UTF-8)."),
                "warning",
            )
        )
    if not text.strip():
        source = _empty_rows(label, "CSV")
        source.problems = [*problems, *source.problems]
        return source
    # Blank lines before the header: skipped here (pandas cannot take them), counted in row numbers.
    lead = _LEADING_BLANK_LINES.match(text)
    skipped = len(_NEWLINE.findall(lead.group(0))) if lead else 0
    text = text[lead.end() :] if lead else text
    delimiter = _sniff_delimiter(text, file.suffix.lower())
    first = _NEWLINE.split(text[:_SNIFF_CHARS], 1)[0]
    width = _width_below_title(text, delimiter)
    columns = max(first.count(delimiter) + 1, width or 0)  # an upper bound: quoted delimiters count too
    _check_columns(label, columns)
    # Upper bounds before pandas parses anything (a line break inside quotes counts as a row too).
    lines = max(text.count("\n"), text.count("\r")) + (not text.endswith(("\n", "\r")))
    _check_count(label, lines - 1, limits)
    _check_cells(label, lines - 1, columns)
    fix = N_('Check that line for a missing or extra delimiter or an unclosed quote (").')
    what = Message(N_("CSV with the delimiter {delimiter}"), delimiter=repr(delimiter))
    with _reading(label, what, fix, notes=problems):
        raw = pd.read_csv(
            _stdio.StringIO(text),
            sep=delimiter,
            header=None,  # the header is taken below: pandas would rename repeated names ('a.1')
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            nrows=limits.rows + 2,
            # A title line above the header has fewer fields: give pandas the header's width.
            names=None if width is None else list(range(width)),
        )
    frame, rows, header, found = _split_header(raw, label, first_line=1 + skipped, limits=limits)
    problems.extend(found)
    if len(frame) == 0:
        source = _empty_rows(label, "CSV")
        source.problems = [*problems, *source.problems]
        return source
    decimal = {";": ",", ",": "."}.get(delimiter)
    logger.info("read %d rows from %s (CSV, delimiter %r)", len(frame), label, delimiter)
    return _Source(label, "CSV", frame, rows, problems, decimal, header)


def _read_excel(file: Path, label: str, sheet: str | int | None, limits: _Limits) -> _Source:
    problems: list[Problem] = []
    fix = N_("Check that the file is a complete .xlsx workbook (open it in Excel and save it again).")
    workbook = Message(N_("an Excel workbook"))
    if zipfile.is_zipfile(file):  # else openpyxl says what it is not
        infos = _zip_directory(file, label, workbook, fix, unpacked_to_disk=False, limits=limits)
        with _reading(label, workbook, fix):
            _scan_workbook(file, infos, label, sheet, limits)
    with _reading(label, workbook, fix, notes=problems):
        with pd.ExcelFile(file, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
            if not names:
                raise _SourceError(Message(N_("{file} has no sheet."), file=label), fix)
            if sheet is None:
                sheet = names[0]
                if len(names) > 1:
                    problems.append(
                        Problem(
                            label,
                            None,
                            None,
                            Message(
                                N_("Read the first sheet '{sheet}'; the workbook also has: {others}."),
                                sheet=names[0],
                                others=", ".join(names[1:]),
                            ),
                            N_("Pass `sheet=` to read another sheet."),
                            "warning",
                        )
                    )
            elif not isinstance(sheet, int) and str(sheet) not in names:
                raise _SourceError(
                    Message(
                        N_("{file} has no sheet '{sheet}'; its sheets are: {sheets}."),
                        file=label,
                        sheet=sheet,
                        sheets=", ".join(names),
                    ),
                    N_("Use one of these names in `sheet=`."),
                )
            frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object, nrows=limits.rows + 2)
    frame, rows, header, found = _split_header(frame, label, first_line=1, limits=limits)
    problems.extend(found)
    if len(frame) == 0:
        source = _empty_rows(label, "XLSX")
        source.problems = [*problems, *source.problems]
        return source
    logger.info("read %d rows from %s (XLSX, sheet %r)", len(frame), label, sheet)
    return _Source(label, "XLSX", frame, rows, problems, header_row=header)


class _XMLScan:
    """Streaming checks of one XML part of a workbook (expat, in chunks: nothing is built in memory)."""

    def __init__(self, label: str, part: str) -> None:
        import xml.parsers.expat

        self.label, self.part = label, part
        self.parser = xml.parsers.expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype

    def _doctype(self, *args: Any) -> None:
        raise _SourceError(
            Message(
                N_(
                    "{file}: the part '{part}' declares a document type or entities, which Excel never "
                    "writes (a way to make a reader expand text without end); it was refused."
                ),
                file=self.label,
                part=_plain(self.part),
            ),
            N_("Open the file in Excel or LibreOffice and save it again as .xlsx."),
        )

    def feed(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        with archive.open(info) as stream:
            while chunk := stream.read(_SCAN_CHUNK):
                self.parser.Parse(chunk, False)
        self.parser.Parse(b"", True)


def _column_number(ref: str) -> int:
    """Return the 1-based column of a cell reference such as ``"XFD12"`` (0 if it has no letters)."""
    number = 0
    for ch in ref:
        if not ch.isalpha():
            break
        number = number * 26 + (ord(ch.upper()) - 64)
    return number


def _row_number(ref: str) -> int:
    digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else 0


class _SheetScan(_XMLScan):
    """
    Count a worksheet's extent and the text its shared-string cells expand to.

    The extent is as pandas will build it: the largest row and column used, whatever the
    ``<dimension>`` element says. The scan stops at the first limit passed.
    """

    def __init__(self, label: str, part: str, limits: _Limits, shared: list[int]) -> None:
        super().__init__(label, part)
        self.limits, self.shared = limits, shared
        self.rows = self.columns = self.column = 0
        self.text = 0
        self.in_value = self.shared_cell = False
        self.value: list[str] = []
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._data

    def _extent(self, rows: int, columns: int) -> None:
        if columns > self.columns:
            self.columns = columns
            _check_columns(self.label, columns, partial=True)
        if rows > self.rows:
            self.rows = rows
            _check_count(self.label, rows - 1, self.limits, partial=True)
        _check_cells(self.label, self.rows, self.columns, partial=True)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rsplit(":", 1)[-1]
        if tag == "row":
            row = attrs.get("r", "")
            self.row = int(row) if row.isdigit() else self.rows + 1
            self.column = 0
            self._extent(self.row, self.columns)
        elif tag == "c":
            ref = attrs.get("r", "")
            self.column = _column_number(ref) or self.column + 1
            self._extent(max(self.rows, _row_number(ref)), self.column)
            self.shared_cell = attrs.get("t") == "s"
        elif tag == "v" and self.shared_cell:
            self.in_value, self.value = True, []

    def _data(self, data: str) -> None:
        if self.in_value:
            self.value.append(data)

    def _end(self, name: str) -> None:
        if self.in_value and name.rsplit(":", 1)[-1] == "v":
            self.in_value = False
            index = "".join(self.value).strip()
            if index.isdigit() and int(index) < len(self.shared):
                self.text += self.shared[int(index)]
                if self.text > self.limits.size:
                    raise _decoded_too_large(self.label, self.text, Message(N_("text")), self.limits)


class _SharedStrings(_XMLScan):
    """The length of every shared string (``xl/sharedStrings.xml``), counted as they stream by."""

    def __init__(self, label: str, part: str) -> None:
        super().__init__(label, part)
        self.lengths: list[int] = []
        self.parser.StartElementHandler = self._start
        self.parser.CharacterDataHandler = self._data

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if name.rsplit(":", 1)[-1] == "si":
            self.lengths.append(0)
            if len(self.lengths) > settings.max_cells:
                _check_cells(self.label, len(self.lengths), 1, partial=True)

    def _data(self, data: str) -> None:
        if self.lengths:
            self.lengths[-1] += len(data)


def _workbook_sheets(archive: zipfile.ZipFile, names: set[str]) -> list[tuple[str, str]]:
    """Return the sheets' names and parts in the workbook's order (``[]`` if the workbook does not say)."""
    import xml.etree.ElementTree as ET

    def root(part: str) -> Any:
        return ET.fromstring(archive.read(part)) if part in names else None

    workbook, rels = root("xl/workbook.xml"), root("xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return []
    targets = {r.get("Id"): str(r.get("Target", "")) for r in rels if r.tag.endswith("Relationship")}
    parts = []
    for element in workbook.iter():
        if element.tag.endswith("}sheet") or element.tag == "sheet":
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            parts.append((str(element.get("name", "")), part))
    return parts


def _scan_workbook(
    file: Path, infos: list[zipfile.ZipInfo], label: str, sheet: str | int | None, limits: _Limits
) -> None:
    """
    Check an XLSX workbook's XML before openpyxl parses it.

    Every XML part is streamed through expat (no document type or entity declarations: Excel writes
    none); the shared strings are measured; and the worksheet to be read (every worksheet, when the
    workbook's list of sheets cannot be followed) is scanned for its extent (rows, columns and cells as
    pandas would build them) and for the text its cells expand to, so a sheet of 16,384 columns or one
    string referenced a million times is refused in a second instead of after minutes of parsing.
    """
    names = {i.filename for i in infos}
    with zipfile.ZipFile(file) as archive:
        shared = _SharedStrings(label, "xl/sharedStrings.xml")
        worksheets = [i for i in infos if re.fullmatch(r"xl/worksheets/[^/]+\.xml", i.filename)]
        others = [
            i
            for i in infos
            if i.filename.lower().endswith((".xml", ".rels")) and i not in worksheets and not i.is_dir()
        ]
        for info in others:
            (shared if info.filename == "xl/sharedStrings.xml" else _XMLScan(label, info.filename)).feed(
                archive, info
            )
        order = _workbook_sheets(archive, names)
        wanted = [p for n, p in order if n == str(sheet)] if isinstance(sheet, str) else []
        if order and (sheet is None or isinstance(sheet, int)):
            position = 0 if sheet is None else sheet
            wanted = [order[position][1]] if -len(order) <= position < len(order) else []
        chosen = [i for i in worksheets if i.filename in wanted] or worksheets
        for info in chosen:
            _SheetScan(label, info.filename, limits, shared.lengths).feed(archive, info)
