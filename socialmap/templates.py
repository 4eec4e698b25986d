"""XLSX templates for services and population, in the user's language, that go back in with no mapping.

:func:`services_template` writes a workbook whose first sheet has the columns of a services list
with headers in the chosen language (``Emri i shërbimit``, ``Lloji i shërbimit``, ``Kapaciteti``…),
a drop-down (Excel data validation) of the taxonomy's service types by their names in that
language, checks on the numbers (capacity a whole number ≥ 0, latitude and longitude in degrees),
and an instructions sheet. :func:`population_template` does the same for a population table, with
one row per area already filled in (code and name), the population left for the user.

The headers are those of :data:`socialmap.columns.TEMPLATE_HEADERS` translated, and every
translation is a name :func:`socialmap.columns.guess_columns` knows; the service types are written by
their labels, which the loaders read as the taxonomy's types. So a filled template is read by
``read_services`` / ``read_population`` (and the app) with no column mapping.

The workbook is written atomically; its text cells are stored as text, never as formulas (a name
starting with ``=`` stays a name: :func:`socialmap.export.neutralise_value`).
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from socialmap.columns import TEMPLATE_HEADERS
from socialmap.i18n import N_, check_language, t

logger = logging.getLogger(__name__)

__all__ = ["TEMPLATE_ROWS", "population_template", "services_template"]

#: Rows of the services sheet that carry the drop-down and the number checks.
TEMPLATE_ROWS = 1000

_SERVICE_COLUMNS = ("service_id", "name", "service_type", "capacity", "lat", "lon")
_POPULATION_COLUMNS = ("area_id", "name", "population", "year", "population_source")

#: What each column holds, for the instructions sheet.
_EXPLAIN = {
    "service_id": N_(
        "Optional. Your own code for the service; leave it empty and an id is made from the row."
    ),
    "name": N_("The name of the service or institution."),
    "service_type": N_("Choose from the list (the sheet 'Service types' lists them all)."),
    "capacity": N_(
        "How many persons it can serve at once (places, beds). Leave it empty if unknown: it is never "
        "taken as 1."
    ),
    "lat": N_("Latitude in decimal degrees (WGS84), e.g. 42.66 (a decimal comma is fine too)."),
    "lon": N_("Longitude in decimal degrees (WGS84), e.g. 21.16."),
    "area_id": N_("Filled in: the code of the municipality. Do not change it."),
    "population": N_(
        "The number of residents. Leave it empty where no figure is known: that municipality is then not "
        "scored, and every other one is."
    ),
    "year": N_("The year of the figure, e.g. 2024."),
    "population_source": N_("Where the figure comes from, e.g. 'KAS, Census 2024'. Mark estimates as such."),
}
_EXPLAIN_POPULATION_NAME = N_(
    "Filled in: the name of the municipality (for you to read; the code is what counts)."
)


def _headers(kind: str, columns: tuple[str, ...], lang: str) -> list[str]:
    return [t(TEMPLATE_HEADERS[kind][c], lang) for c in columns]


def _text(value: Any) -> Any:
    from socialmap.writers import _xlsx_value

    return _xlsx_value(value)


def _header_row(sheet: Any, headers: list[str], widths: list[int]) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    for j, (text, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = sheet.cell(row=1, column=j, value=_text(text))
        cell.data_type = "s"
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[get_column_letter(j)].width = max(width, len(text) + 2)
    sheet.freeze_panes = "A2"


def _instructions(book: Any, title: str, lines: list[str], rows: list[tuple[str, str]], lang: str) -> None:
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(t("Instructions", lang)[:31])
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 90
    sheet.cell(row=1, column=1, value=_text(title)).font = Font(bold=True, size=13)
    r = 3
    for line in lines:
        sheet.cell(row=r, column=1, value=_text(line))
        r += 1
    r += 1
    sheet.cell(row=r, column=1, value=_text(t("Column", lang))).font = Font(bold=True)
    sheet.cell(row=r, column=2, value=_text(t("What to write", lang))).font = Font(bold=True)
    for header, explain in rows:
        r += 1
        sheet.cell(row=r, column=1, value=_text(header))
        cell = sheet.cell(row=r, column=2, value=_text(explain))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"


def _save(book: Any, path: str | os.PathLike[str] | None) -> bytes:
    from socialmap.atomic import write_atomic

    # Fixed document dates: the same template is the same bytes.
    fixed = _dt.datetime(2000, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    book.properties.creator = "socialmap"
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    # write_atomic dates the ZIP's members and core.xml with the outputs' timestamp: the bytes returned are
    # those it writes (a workbook saved in memory carries the clock's time in its members).
    if path is not None:
        return write_atomic(path, lambda p: Path(p).write_bytes(data)).read_bytes()
    with tempfile.TemporaryDirectory(prefix="socialmap-template-") as folder:
        return write_atomic(Path(folder) / "template.xlsx", lambda p: Path(p).write_bytes(data)).read_bytes()


def services_template(
    taxonomy: Any = None, *, lang: str | None = None, path: str | os.PathLike[str] | None = None
) -> bytes:
    """
    Write an XLSX template for a list of services, in ``lang``.

    Parameters
    ----------
    taxonomy
        The taxonomy whose service types the drop-down offers (default: the Kosovo taxonomy).
    lang
        ``en``, ``sq`` or ``sr`` (``None``: the default language): the headers, the service types'
        names (in the taxonomy's first language where it has none in ``lang``) and the instructions.
    path
        Where to write the workbook (optional).

    Returns
    -------
    data
        The workbook's bytes (what was written to ``path``).

    Examples
    --------
    >>> from socialmap.io import read_services
    >>> data = services_template(lang="sq")
    >>> data[:2]
    b'PK'
    """
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    from socialmap.taxonomy import load_taxonomy

    lang = check_language(lang)
    tax = load_taxonomy() if taxonomy is None else taxonomy
    book = Workbook()
    sheet = book.active
    sheet.title = t("Services", lang)[:31]
    headers = _headers("services", _SERVICE_COLUMNS, lang)
    _header_row(sheet, headers, [16, 40, 45, 12, 12, 12])

    types = book.create_sheet(t("Service types", lang)[:31])
    labels = [tax.label(k, lang) for k in tax.service_type_keys]
    _header_row(types, [t("Service type", lang), t("Key", lang)], [max(len(x) for x in labels) + 2, 24])
    for i, (key, text) in enumerate(zip(tax.service_type_keys, labels, strict=True), start=2):
        types.cell(row=i, column=1, value=_text(text)).data_type = "s"
        types.cell(row=i, column=2, value=_text(key)).data_type = "s"
    last = len(labels) + 1
    title = types.title.replace("'", "''")
    column = {c: chr(ord("A") + j) for j, c in enumerate(_SERVICE_COLUMNS)}
    end = TEMPLATE_ROWS + 1

    def check(rule: DataValidation, col: str, message: str) -> None:
        rule.error = t(message, lang)
        rule.errorTitle = t("Check the value", lang)
        rule.showErrorMessage = True
        sheet.add_data_validation(rule)
        rule.add(f"{column[col]}2:{column[col]}{end}")

    check(
        DataValidation(type="list", formula1=f"='{title}'!$A$2:$A${last}", allow_blank=True),
        "service_type",
        N_("Choose a service type from the list."),
    )
    check(
        DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True),
        "capacity",
        N_("Write a whole number of persons (0 or more), or leave it empty if unknown."),
    )
    check(
        DataValidation(type="decimal", operator="between", formula1="-90", formula2="90", allow_blank=True),
        "lat",
        N_("Latitude is a number of degrees between -90 and 90."),
    )
    check(
        DataValidation(type="decimal", operator="between", formula1="-180", formula2="180", allow_blank=True),
        "lon",
        N_("Longitude is a number of degrees between -180 and 180."),
    )
    _instructions(
        book,
        t("How to fill in the list of services", lang),
        [
            t("One row per service site. Do not change the column names in the first row.", lang),
            t("Save the file as .xlsx and upload it under 'Your data' (or: socialmap validate FILE).", lang),
        ],
        [(h, t(_EXPLAIN[c], lang)) for h, c in zip(headers, _SERVICE_COLUMNS, strict=True)],
        lang,
    )
    if not tax.has_language(lang):
        logger.info("taxonomy %s has no labels in %s: its first language is used", tax.name, lang)
    return _save(book, path)


def population_template(
    areas: pd.DataFrame,
    *,
    lang: str | None = None,
    year: int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> bytes:
    """
    Write an XLSX template for a population table, one row per area already filled in, in ``lang``.

    Parameters
    ----------
    areas
        The areas (``area_id``, ``name``, optional ``name_sq``/``name_sr``/``name_en``): each gets a
        row with its code and its name in ``lang``; the population is left empty.
    lang
        ``en``, ``sq`` or ``sr`` (``None``: the default language).
    year
        A year to pre-fill in every row (optional).
    path
        Where to write the workbook (optional).

    Returns
    -------
    data
        The workbook's bytes.
    """
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    from socialmap.i18n import area_names

    lang = check_language(lang)
    for col in ("area_id", "name"):
        if col not in areas.columns:
            from socialmap.errors import SocialMapError

            raise SocialMapError(f"`areas` is missing column {col!r}; found {list(areas.columns)}.")
    book = Workbook()
    sheet = book.active
    sheet.title = t("Population", lang)[:31]
    headers = _headers("population", _POPULATION_COLUMNS, lang)
    names = area_names(pd.DataFrame(areas.drop(columns="geometry", errors="ignore")), lang).tolist()
    ids = [str(v) for v in areas["area_id"].tolist()]
    _header_row(sheet, headers, [18, max([len(str(n)) for n in names] + [20]) + 2, 14, 8, 40])
    for i, (code, name) in enumerate(zip(ids, names, strict=True), start=2):
        sheet.cell(row=i, column=1, value=_text(code)).data_type = "s"
        sheet.cell(row=i, column=2, value=_text(str(name))).data_type = "s"
        if year is not None:
            sheet.cell(row=i, column=4, value=int(year))
    last = len(ids) + 1
    rule = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
    rule.error = t("Write a whole number of persons (0 or more), or leave it empty if unknown.", lang)
    rule.errorTitle = t("Check the value", lang)
    rule.showErrorMessage = True
    sheet.add_data_validation(rule)
    rule.add(f"C2:C{last}")
    explain = {
        **{c: _EXPLAIN[c] for c in _POPULATION_COLUMNS if c != "name"},
        "name": _EXPLAIN_POPULATION_NAME,
    }
    _instructions(
        book,
        t("How to fill in the population", lang),
        [
            t(
                "One row per municipality, already listed. Fill in the population; do not change the codes.",
                lang,
            ),
            t("Save the file as .xlsx and upload it under 'Your data' (or: socialmap validate FILE).", lang),
        ],
        [(h, t(explain[c], lang)) for h, c in zip(headers, _POPULATION_COLUMNS, strict=True)],
        lang,
    )
    return _save(book, path)
