"""
A draft Municipal Action Plan for the provision of social services, as an editable Word document (DOCX).

:func:`action_plan` writes, for one municipality and in Albanian, Serbian or English, the draft a planning
office starts from and edits in Word or LibreOffice:

1. *Situation analysis*: the municipality's gap map (:func:`socialmap.static.gap_map`, the municipality
   outlined), its table of need, services, places, reach and gaps per service type (the brief's key
   figures, :func:`socialmap.report.key_figures`), with the method and the sources;
2. *Priorities*: the service types where the municipality stands worst beside the others (the largest
   gaps), and the places and budget needed to reach the planning standards where they are sourced;
3. *Targets by year*: the places (baseline → target), the places added, the share of need within reach
   and the yearly budget of the places added, from :class:`socialmap.plan.Targets`, with the budget per
   year and its total over the plan's years (unknown, never 0, where a type adding places has no unit
   cost: the costed part is given beside it);
4. *Monitoring*: one row per targeted indicator (places; share of need within reach): baseline, target,
   source and frequency, as in :mod:`socialmap.monitor`.

Every figure is read from the published result (:func:`socialmap.privacy.protect`): small counts of
sensitive groups are hidden here as in every output, and a share within reach of a hidden row is shown
as its marker (``<5``, ``[c]``) in the targets and the monitoring table too, whatever the targets file
says. The file is written atomically (:func:`socialmap.io.write_atomic`), with its dates set to the
outputs' timestamp, so the same plan gives the same bytes.
"""

from __future__ import annotations

import io
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from socialmap.errors import SocialMapError
from socialmap.i18n import N_

if TYPE_CHECKING:
    from socialmap.costing import Costing
    from socialmap.pipeline import Result
    from socialmap.plan import Targets
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

__all__ = ["action_plan"]

#: Word's language tags of the document's text (for its spelling checker).
_WORD_LANGUAGE = {"en": "en-GB", "sq": "sq-AL", "sr": "sr-Latn-RS"}

_NO_TARGETS = N_(
    "The targets hold no row for {name} (code {code}). Make the targets for this municipality, or choose "
    "the municipality they were made for."
)


def _fmt(value: Any, lang: str, decimals: int = 0) -> str:
    from socialmap.i18n import format_number

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return format_number(None, lang)
    return format_number(float(value), lang, decimals=decimals)


def _share(value: Any, lang: str) -> str:
    text = _fmt(None if value is None or pd.isna(value) else 100 * float(value), lang, 1)
    return text if text == "–" else f"{text} %"


def _set_language(doc: Any, lang: str) -> None:
    """Mark the document's text as being in ``lang`` (Word's and LibreOffice's spelling checkers)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tag = _WORD_LANGUAGE.get(lang, lang)
    doc.core_properties.language = tag
    rpr = doc.styles["Normal"].element.get_or_add_rPr()
    for old in rpr.findall(qn("w:lang")):
        rpr.remove(old)
    element = OxmlElement("w:lang")
    element.set(qn("w:val"), tag)
    rpr.append(element)


def _table(
    doc: Any, head: list[str], rows: list[list[str]], widths_cm: list[float], *, bold_last: bool = False
) -> Any:
    """Add a table: a bold header row, then ``rows``, the columns ``widths_cm`` wide."""
    from docx.shared import Cm, Pt

    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)  # the grid LibreOffice lays the table out by
    for i, values in enumerate([head, *rows]):
        cells = table.rows[0].cells if i == 0 else table.add_row().cells
        for cell, text, width in zip(cells, values, widths_cm, strict=True):
            cell.width = Cm(width)
            cell.text = ""
            run = cell.paragraphs[0].add_run(text)
            run.font.size = Pt(8.5)
            run.bold = i == 0 or (bold_last and i == len(rows))
    return table


def _map_png(result: Result, area_id: str, tax: Taxonomy, protected: Protected, lang: str) -> io.BytesIO:
    from socialmap.static import gap_map

    fig = gap_map(result, lang=lang, highlight=area_id, compact=True, taxonomy=tax, protected=protected)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=160, facecolor="white")
    buffer.seek(0)
    return buffer


def _label(tax: Taxonomy, key: str, lang: str) -> str:
    return tax.label(key, lang) if key in tax.service_types else key


def action_plan(
    result: Result,
    targets: Targets,
    *,
    area: str,
    path: str | os.PathLike[str],
    lang: str | None = None,
    taxonomy: Taxonomy | None = None,
    protected: Protected | None = None,
    threshold: float | None = None,
    costing: Costing | None = None,
) -> Path:
    """
    Write the draft action plan of one municipality as a DOCX file.

    Parameters
    ----------
    result
        The baseline analysis (what :func:`socialmap.analyze` returned; the targets' baseline).
    targets
        The plan's targets (:func:`socialmap.plan.targets_from_scenario` or
        :func:`socialmap.plan.read_targets`).
    area
        The municipality, by ``area_id`` or any of its names (see :func:`socialmap.report.find_area`).
    path
        The ``.docx`` file to write (atomically).
    lang
        Language of the document (``en``, ``sq``, ``sr``).
    taxonomy, protected, threshold
        The result's taxonomy and its suppression, as for :func:`socialmap.report.brief`.
    costing
        Places and budget needed at the standards (:func:`socialmap.costing.places_and_budget`);
        default: the taxonomy's standards and costs.

    Returns
    -------
    path
        The written DOCX file.

    Raises
    ------
    SocialMapError
        If ``area`` matches no area, the targets hold no row for it, or ``path`` is not a ``.docx`` file.
    """
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    import socialmap
    from socialmap._report_content import (
        KEY_FIGURE_COLUMNS,
        _largest_gaps,
        _method_note,
        area_name,
        find_area,
        key_figures,
        places_and_budget,
        run_notes,
    )
    from socialmap.credits import demonstration_note, sources_lines
    from socialmap.i18n import check_language, format_date, output_datetime, t
    from socialmap.io import write_atomic
    from socialmap.monitor import _FREQUENCY
    from socialmap.privacy import protect, resolve_taxonomy

    lang = check_language(lang)
    target = Path(path)
    if target.suffix.lower() != ".docx":
        raise SocialMapError(N_("Write the action plan as a .docx file; got {name}."), name=repr(target.name))
    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    area_id = find_area(result, area)
    raw, published = result, protected.result
    name = area_name(published, area_id, lang)
    mine = targets.for_area(area_id)
    if mine.empty:
        raise SocialMapError(_NO_TARGETS, name=name, code=area_id)
    status = {st: s for (a, st), s in protected.row_status().items() if a == area_id and s}
    today = format_date(None, lang)
    years = sorted(int(y) for y in mine["year"].dropna().unique())
    base_year = targets.baseline_year

    doc = Document()
    _set_language(doc, lang)
    section = doc.sections[0]
    section.left_margin = section.right_margin = Cm(2)
    section.top_margin = section.bottom_margin = Cm(2)
    doc.styles["Normal"].font.size = Pt(10)
    doc.styles["Normal"].font.name = "Calibri"
    title = t("Draft municipal action plan for social services: {name}", lang, name=name)
    props = doc.core_properties
    props.title, props.author, props.subject = title, "socialmap", t("Social-service needs and gaps", lang)
    props.created = props.modified = output_datetime().replace(tzinfo=None)
    props.revision = 1
    doc.add_heading(title, level=0)
    period = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0]) if years else "–"
    doc.add_paragraph(
        " · ".join(
            [
                t("code {code}", lang, code=area_id),
                t("Plan: {plan}", lang, plan=targets.name or "–"),
                t("Years {period}", lang, period=period),
                today,
            ]
        )
    )
    note = demonstration_note(raw, lang)  # counts of services are published
    if note:
        run = doc.add_paragraph().add_run(note)
        run.bold = True
        run.font.color.rgb = RGBColor(0xB3, 0x00, 0x00)
    doc.add_paragraph(
        t(
            "This is a draft made from the analysis: check every figure against your own records, and "
            "complete it with the municipality's own knowledge before it is adopted.",
            lang,
        )
    )

    # 1. Situation analysis.
    doc.add_heading(t("1. Situation analysis", lang), level=1)
    row = published.areas[published.areas["area_id"].astype(str) == area_id].iloc[0]
    ranked = int(published.areas["composite_gap"].notna().sum())
    doc.add_paragraph(t("Population: {n}", lang, n=_fmt(row.get("population"), lang, 0)))
    doc.add_paragraph(
        t(
            "Composite gap: {gap} (rank {rank} of {n}; 1 = largest gap)",
            lang,
            gap=_fmt(row.get("composite_gap"), lang, 1),
            rank=_fmt(row.get("rank"), lang, 0),
            n=ranked,
        )
    )
    doc.add_heading(t("Need, services, places, reach and gaps", lang), level=2)
    figures = key_figures(published, area=area_id, lang=lang, protected=protected, taxonomy=tax)
    head = [
        t("Service type", lang),
        t("Need (persons)", lang),
        t("Services", lang),
        t("Places", lang),
        t("Places per 1,000 of the target group", lang),
        t("Covered share", lang),
        t("Gap score (0–100)", lang),
    ]
    columns = ["service", "need", "services", "places", "places_per_1000", "covered_share", "gap_score"]
    assert set(columns) <= set(KEY_FIGURE_COLUMNS)
    _table(
        doc,
        head,
        [[str(r[c]) for c in columns] for _, r in figures.iterrows()],
        [4.5, 2, 1.8, 2, 2.6, 2, 2.1],
    )
    legend = t("–: unknown (no sourced rate, or no need there).", lang)
    if status:
        legend += " " + t(
            "{primary}: fewer than {n} persons, hidden; {secondary}: hidden so that totals or "
            "neighbouring areas cannot reveal a hidden count.",
            lang,
            primary=protected.marker("primary", lang),
            n=protected.marker("primary", lang)[1:],
            secondary=protected.marker("secondary", lang),
        )
    doc.add_paragraph(legend).runs[0].font.size = Pt(8)
    doc.add_picture(_map_png(published, area_id, tax, protected, lang), width=Cm(10))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(t("The method and the sources of these figures are in the annex.", lang))

    # 2. Priorities.
    doc.add_heading(t("2. Priorities", lang), level=1)
    doc.add_paragraph(t("Largest gaps beside the other areas", lang))
    for line in _largest_gaps(published, area_id, tax, lang):
        doc.add_paragraph(line, style="List Number")
    doc.add_heading(t("Places and budget needed", lang), level=2)
    for line in places_and_budget(
        raw, area=area_id, lang=lang, protected=protected, taxonomy=tax, costing=costing
    ):
        doc.add_paragraph(line, style="List Bullet")

    # 3. Targets by year.
    doc.add_heading(t("3. Targets by year", lang), level=1)
    changes = targets.changes(area_id)
    if changes.empty:
        doc.add_paragraph(t("The plan changes no places and no reach here: the baseline is kept.", lang))
    else:
        baseline = (
            t("baseline {year}", lang, year=base_year) if base_year is not None else t("baseline", lang)
        )
        head = [
            t("Year", lang),
            t("Service type", lang),
            t("Places ({baseline} → target)", lang, baseline=baseline),
            t("Places added", lang),
            t("Share of need within reach ({baseline} → target)", lang, baseline=baseline),
            t("Budget (EUR a year)", lang),
        ]
        rows = []
        for _, r in changes.sort_values(["year", "service_type"]).iterrows():
            key = str(r["service_type"])
            hidden = status.get(key, "")
            if hidden:
                shares = protected.marker(hidden, lang)
            else:
                before, after = r["baseline_share_within_reach"], r["share_within_reach"]
                shares = f"{_share(before, lang)} → {_share(after, lang)}"
            rows.append(
                [
                    str(int(r["year"])),
                    _label(tax, key, lang),
                    f"{_fmt(r['baseline_places'], lang)} → {_fmt(r['places'], lang)}",
                    _fmt(r["places_added"], lang),
                    shares,
                    _fmt(r["budget_eur"], lang),
                ]
            )
        _table(doc, head, rows, [1.7, 4.1, 2.8, 2, 3.4, 3])
    doc.add_heading(t("Budget by year", lang), level=2)
    by_year = targets.budget_by_year(area_id)
    rows = [
        [str(int(r["year"])), _fmt(r["places_added"], lang), _fmt(r["budget_eur"], lang)]
        for _, r in by_year.iterrows()
    ]
    complete = bool(by_year["budget_complete"].all())
    total = float(by_year["budget_eur"].sum()) if complete else math.nan
    rows.append([t("Total", lang), "", _fmt(total, lang)])
    head = [t("Year", lang), t("Places added", lang), t("Budget (EUR a year)", lang)]
    _table(doc, head, rows, [3, 3, 4], bold_last=True)
    doc.add_paragraph(
        t(
            "Budget: the yearly running cost of the places added by that year (places added × unit cost per "
            "place per year); the total adds up the plan's years.",
            lang,
        )
    )
    if not complete:
        missing = sorted({s.strip() for v in by_year["not_costed"] for s in str(v).split(",") if s.strip()})
        doc.add_paragraph(
            t(
                "The total is unknown: no unit cost is sourced or given for {services}. The costed part is "
                "{eur} EUR.",
                lang,
                services=", ".join(_label(tax, m, lang) for m in missing),
                eur=_fmt(float(by_year["budget_eur_costed"].sum()), lang),
            )
        )

    # 4. Monitoring.
    doc.add_heading(t("4. Monitoring", lang), level=1)
    last = mine[mine["year"] == max(years)] if years else mine.iloc[0:0]
    changed = set(changes["service_type"].astype(str)) if not changes.empty else set()
    source = t("socialmap analysis (see Sources)", lang)
    frequency = t(_FREQUENCY, lang)
    rows = []
    for _, r in last.sort_values("service_type").iterrows():
        key = str(r["service_type"])
        if changed and key not in changed:
            continue
        label = _label(tax, key, lang)
        rows.append(
            [
                f"{t('Places', lang)}: {label}",
                _fmt(r["baseline_places"], lang),
                _fmt(r["places"], lang),
                source,
                frequency,
            ]
        )
        hidden = status.get(key, "")
        rows.append(
            [
                f"{t('Share of need within reach', lang)}: {label}",
                protected.marker(hidden, lang) if hidden else _share(r["baseline_share_within_reach"], lang),
                protected.marker(hidden, lang) if hidden else _share(r["share_within_reach"], lang),
                source,
                frequency,
            ]
        )
    head = [
        t("Indicator", lang),
        t("Baseline ({year})", lang, year=base_year if base_year is not None else "–"),
        t("Target ({year})", lang, year=max(years) if years else "–"),
        t("Source", lang),
        t("Frequency", lang),
    ]
    _table(doc, head, rows, [4.5, 2, 2, 4.5, 4])
    doc.add_paragraph(
        t(
            "Each indicator's definition, computation and limitations are in the indicators sheet of "
            "`socialmap monitor`'s workbook.",
            lang,
        )
    )
    # Annex: method and sources.
    doc.add_heading(t("Annex: method and sources", lang), level=1)
    method, citations = _method_note(published, tax, protected, lang)
    doc.add_heading(t("Method", lang), level=2)
    doc.add_paragraph(method)
    notes = run_notes(raw, lang, taxonomy=tax)
    if notes:
        doc.add_paragraph(t("Notes: {notes}", lang, notes=" ".join(notes)))
    doc.add_heading(t("Sources", lang), level=2)
    for line in sources_lines(published, lang):
        doc.add_paragraph(line, style="List Bullet")
    for i, citation in enumerate(citations, start=1):
        doc.add_paragraph(f"[{i}] {citation}")
    doc.add_paragraph(
        t("Made with socialmap {version} on {date}", lang, version=socialmap.__version__, date=today)
    ).runs[0].font.size = Pt(8)

    buffer = io.BytesIO()
    doc.save(buffer)
    data = buffer.getvalue()
    return write_atomic(target, lambda p: p.write_bytes(data))
