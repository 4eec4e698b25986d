"""One-page briefs (PDF) for advocates: one municipality, or the whole country.

A brief holds the gap map (from :mod:`socialmap.static`, with the municipality outlined), the key
figures per service type (need, services, places, covered share, gap score), the largest gaps,
the places and budget needed where the taxonomy has a sourced planning standard and unit cost
(else a line saying none is sourced), a short note on the method (method, catchment, spreading,
rates and their sources), the sources and the date.

This module lays the page out (ReportLab flowables, fonts, the map's picture, one page, the date);
what the brief says is written by :mod:`socialmap._report_content` (re-exported here:
:func:`key_figures`, :func:`places_and_budget`, :func:`run_notes`, :func:`find_area`…), from the
:class:`~socialmap.pipeline.Result` given (the same one the app shows), formatted with
:func:`socialmap.i18n.format_number`; :func:`key_figures` returns exactly the strings printed, so
other faces can show the same. Small counts of sensitive groups are hidden as in every export
(:mod:`socialmap.privacy`).

Text is set in DejaVu Sans (shipped with matplotlib), which has every Albanian and Serbian letter.
The content is fitted into one A4 page (shrunk if it would not fit); the brief is checked to be
exactly one page.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

# The brief's content (its figures, lines and notes, as the action plan and the app print them too) is
# in socialmap._report_content; its public names are importable from here, as they always were.
from socialmap._report_content import (  # noqa: F401 - re-exported
    DECIMALS,
    KEY_FIGURE_COLUMNS,
    _equity_lines,
    _fmt,
    _largest_gaps,
    _method_note,
    area_name,
    find_area,
    key_figures,
    places_and_budget,
    places_text,
    run_notes,
)
from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    from socialmap.costing import Costing
    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

_FONT, _FONT_BOLD = "SocialmapSans", "SocialmapSans-Bold"

#: Resolution of the map drawn into a brief (dots per inch).
_MAP_DPI = 220


@functools.lru_cache(maxsize=1)
def _register_fonts() -> None:
    import matplotlib
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(_FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    addMapping(_FONT, 0, 0, _FONT)
    addMapping(_FONT, 1, 0, _FONT_BOLD)
    addMapping(_FONT, 0, 1, _FONT)
    addMapping(_FONT, 1, 1, _FONT_BOLD)


def _paragraph(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text), style)


def _styles() -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=_FONT, fontSize=8.4, leading=10.4, textColor=colors.black)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=_FONT_BOLD, fontSize=15, leading=18),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#333333")
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=_FONT_BOLD, fontSize=9.5, leading=12, spaceBefore=4, spaceAfter=1
        ),
        "body": base,
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=8, bulletIndent=0),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=9.6),
        "cellhead": ParagraphStyle("cellhead", parent=base, fontName=_FONT_BOLD, fontSize=7.8, leading=9.4),
        "small": ParagraphStyle(
            "small", parent=base, fontSize=6.6, leading=8.1, textColor=colors.HexColor("#333333")
        ),
        "demo": ParagraphStyle(
            "demo",
            parent=base,
            fontName=_FONT_BOLD,
            fontSize=8.6,
            leading=10.6,
            textColor=colors.HexColor("#b30000"),
        ),
    }


def _map_image(
    result: Result, area_id: str | None, tax: Taxonomy, protected: Protected, lang: str, width_pt: float
) -> Any:
    from PIL import Image as Picture
    from PIL import TiffImagePlugin  # noqa: F401  (TIFF registered: Pillow need not load every format)
    from reportlab.platypus import Image

    from socialmap.static import gap_map

    fig = gap_map(result, lang=lang, highlight=area_id, compact=True, taxonomy=tax, protected=protected)
    w, h = fig.get_figwidth(), fig.get_figheight()
    # The pixels go to ReportLab as an uncompressed TIFF, not a PNG it would decode again: the same
    # pixels, so the same PDF, without compressing them twice (ReportLab compresses them itself).
    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=_MAP_DPI, facecolor="white")
    pixels = raw.getvalue()
    width = int(w * _MAP_DPI)  # as matplotlib's Agg canvas sizes it
    height = len(pixels) // (4 * width)
    buffer = io.BytesIO()
    if width * height * 4 == len(pixels):
        Picture.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1).save(buffer, format="TIFF")
    else:  # not the size expected: let matplotlib write the PNG
        fig.savefig(buffer, format="png", dpi=_MAP_DPI, facecolor="white")
    buffer.seek(0)
    return Image(buffer, width=width_pt, height=width_pt * h / w)


def brief(
    result: Result,
    *,
    area: str | None = None,
    path: str | os.PathLike[str],
    lang: str | None = None,
    taxonomy: Taxonomy | None = None,
    protected: Protected | None = None,
    threshold: float | None = None,
    costing: Costing | None = None,
) -> Path:
    """
    Write a one-page PDF brief for one municipality, or the national brief.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    area
        The municipality, by ``area_id`` or any of its names (see :func:`find_area`); ``None``
        for the national brief.
    path
        The ``.pdf`` file to write (atomically).
    lang
        Language of the brief (``en``, ``sq``, ``sr``).
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    protected
        A suppression from :func:`socialmap.privacy.protect` (reuse the one used for the tables).
    threshold
        Suppression threshold when ``protected`` is not given.
    costing
        Places and budget from :func:`socialmap.costing.places_and_budget` (e.g. with standards the
        user gave); default: the taxonomy's standards and costs.

    Returns
    -------
    path
        The written PDF (exactly one A4 page).

    Raises
    ------
    SocialMapError
        If ``area`` matches no area, or the content cannot be fitted onto one page.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepInFrame, SimpleDocTemplate, Spacer, Table, TableStyle

    import socialmap
    from socialmap.credits import demonstration_note, sources_lines
    from socialmap.i18n import check_language, format_date, t
    from socialmap.io import write_atomic
    from socialmap.privacy import protect, resolve_taxonomy

    lang = check_language(lang)
    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    area_id = find_area(result, area) if area is not None else None
    # Everything printed comes from the published result; the costing and the notes on services
    # (counts of services only) from the raw one.
    raw, result = result, protected.result
    _register_fonts()
    styles = _styles()
    page_w, page_h = A4
    margin = 13 * mm
    frame_w, frame_h = page_w - 2 * margin, page_h - 2 * margin
    today = format_date(None, lang)

    story: list[Any] = []
    if area_id is None:
        title = t("National brief: social services, needs and gaps", lang)
        subtitle = t("{n} areas · {date}", lang, n=len(result.areas), date=today)
    else:
        name = area_name(result, area_id, lang)
        title = t("{name}: social services, needs and gaps", lang, name=name)
        others = []
        row = result.areas[result.areas["area_id"].astype(str) == area_id].iloc[0]
        for col in ("name", "name_sq", "name_sr", "name_en"):
            value = row.get(col)
            if isinstance(value, str) and value not in others and value not in name:
                others.append(value)
        subtitle = " · ".join([*others, t("code {code}", lang, code=area_id), today])
    story.append(_paragraph(title, styles["title"]))
    story.append(_paragraph(subtitle, styles["subtitle"]))
    demo_note = demonstration_note(raw, lang)  # counts of services are published
    if demo_note:  # on the page itself, not a footnote: these figures must not be published
        banner = Table([[_paragraph(demo_note, styles["demo"])]], colWidths=[frame_w])
        banner.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor("#b30000")),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdecea")),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        story.append(Spacer(1, 1 * mm))
        story.append(banner)
    story.append(Spacer(1, 3 * mm))

    # Map beside the headline facts, the largest gaps and places and budget.
    map_w = 86 * mm
    side: list[Any] = []
    if area_id is not None:
        row = result.areas[result.areas["area_id"].astype(str) == area_id].iloc[0]
        ranked = int(result.areas["composite_gap"].notna().sum())
        side.append(
            _paragraph(t("Population: {n}", lang, n=_fmt(row.get("population"), lang, 0)), styles["body"])
        )
        side.append(
            _paragraph(
                t(
                    "Composite gap: {gap} (rank {rank} of {n}; 1 = largest gap)",
                    lang,
                    gap=_fmt(row.get("composite_gap"), lang, DECIMALS["composite_gap"]),
                    rank=_fmt(row.get("rank"), lang, 0),
                    n=ranked,
                ),
                styles["body"],
            )
        )
    else:
        side.append(
            _paragraph(
                t("Population: {n}", lang, n=_fmt(result.areas["population"].sum(), lang, 0)), styles["body"]
            )
        )
    side.append(
        _paragraph(
            t("Largest gaps", lang) if area_id is None else t("Largest gaps beside the other areas", lang),
            styles["h2"],
        )
    )
    for line in _largest_gaps(result, area_id, tax, lang):
        side.append(_paragraph(line, styles["bullet"]))
    side.append(_paragraph(t("Places and budget needed", lang), styles["h2"]))
    for line in places_and_budget(
        raw, area=area_id, lang=lang, protected=protected, taxonomy=tax, costing=costing
    ):
        side.append(_paragraph(line, styles["body"]))
    image = _map_image(result, area_id, tax, protected, lang, map_w)
    top = Table([[image, side]], colWidths=[map_w + 4 * mm, frame_w - map_w - 4 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(top)
    story.append(Spacer(1, 2 * mm))

    # Key figures.
    figures = key_figures(result, area=area_id, lang=lang, protected=protected, taxonomy=tax)
    story.append(
        _paragraph(
            t("Key figures", lang) + (" – " + t("national totals", lang) if area_id is None else ""),
            styles["h2"],
        )
    )
    head = [
        t("Service type", lang),
        t("Relative access (1 = national)", lang),
        t("Places per 1,000 of the target group", lang),
        t("Need (persons)", lang),
        t("Services", lang),
        t("Places", lang),
        t("Covered share", lang),
        t("Gap score (0–100)", lang),
    ]
    data = [[_paragraph(h, styles["cellhead"]) for h in head]]
    for _, row in figures.iterrows():
        data.append(
            [_paragraph(row["service"], styles["cell"])]
            + [_paragraph(row[c], styles["cell"]) for c in KEY_FIGURE_COLUMNS[2:]]
        )
    widths = [46 * mm, 19 * mm, 24 * mm, 17 * mm, 15 * mm, 22 * mm, 17 * mm, 0]
    widths[-1] = frame_w - sum(widths)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.grey),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    story.append(table)
    legend = (
        t("–: unknown (no sourced rate, or no need there).", lang)
        + " "
        + t(
            "Relative access: the places within reach per person in need here, divided by the national "
            "figure (Wan et al. 2012's spatial access ratio): 0.5 = half the national level; it does not "
            "depend on the need rate. Places per 1,000: places within reach of the residents per 1,000 "
            "people of the target group (national figure in brackets). Covered share: need within the "
            "catchment of a service. Gap score: need left unmet (0–100), as sure as the need rate.",
            lang,
        )
    )
    marks = {str(s) for s in protected.table["suppression"]} | {
        str(s) for s in protected.totals["suppression"]
    }
    if marks - {""}:
        legend += " " + t(
            "{primary}: fewer than {n} persons, hidden; {secondary}: hidden so that totals or "
            "neighbouring areas cannot reveal a hidden count.",
            lang,
            primary=protected.marker("primary", lang),
            n=protected.marker("primary", lang)[1:],
            secondary=protected.marker("secondary", lang),
        )
    story.append(_paragraph(legend, styles["small"]))
    if area_id is None:
        equity = _equity_lines(result, protected, tax, lang)
        if equity:
            story.append(
                _paragraph(t("Equity of access (weighted by need, across demand cells)", lang), styles["h2"])
            )
            story.append(
                _paragraph(
                    t(
                        "Gini and Theil: 0 = everyone in need has the same access; the Theil share between "
                        "municipalities is the part of the inequality that lies between them rather than "
                        "within them. Palma: mean access of the best-off 10 % / of the worst-off 40 %.",
                        lang,
                    ),
                    styles["small"],
                )
            )
            for line in equity:
                story.append(_paragraph(line, styles["bullet"]))

    # Method and sources.
    note, citations = _method_note(result, tax, protected, lang)
    story.append(_paragraph(t("Method", lang), styles["h2"]))
    story.append(_paragraph(note, styles["small"]))
    notes = run_notes(raw, lang, taxonomy=tax)
    if notes:
        story.append(_paragraph(t("Notes: {notes}", lang, notes=" ".join(notes)), styles["small"]))
    story.append(_paragraph(t("Sources", lang), styles["h2"]))
    for line in sources_lines(result, lang):
        story.append(_paragraph(line, styles["small"]))
    for i, citation in enumerate(citations, start=1):
        story.append(_paragraph(f"[{i}] {citation}", styles["small"]))
    story.append(
        _paragraph(
            t("Made with socialmap {version} on {date}", lang, version=socialmap.__version__, date=today),
            styles["small"],
        )
    )

    pages: list[int] = []

    def count(canvas: Any, doc: Any) -> None:
        pages.append(canvas.getPageNumber())

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
        author="socialmap",
        subject=t("Social-service needs and gaps", lang),
        creator="socialmap",
        invariant=1,  # no time of saving, no random file id: the same brief gives the same bytes
    )
    doc.build(
        [KeepInFrame(frame_w, frame_h - 1, story, mode="shrink")], onFirstPage=count, onLaterPages=count
    )
    if len(pages) != 1:
        raise SocialMapError(
            f"The brief came out {len(pages)} pages long instead of one; please report this."
        )
    data_bytes = _dated_pdf(buffer.getvalue())
    return write_atomic(path, lambda p: p.write_bytes(data_bytes))


#: The creation and change dates ReportLab writes in invariant mode when ``SOURCE_DATE_EPOCH`` is unset.
_INVARIANT_DATE = b"D:20000101000000+00'00'"


def _dated_pdf(data: bytes) -> bytes:
    """
    Date a PDF ReportLab wrote in invariant mode with the outputs' date.

    Invariant mode takes ``SOURCE_DATE_EPOCH`` when it is set (so does
    :func:`socialmap.i18n.output_datetime`), else 2000-01-01; the latter is replaced by the outputs'
    timestamp, written in the same 23 characters so that no offset in the file moves.
    """
    from socialmap.i18n import output_datetime

    stamp = output_datetime().strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    return data.replace(_INVARIANT_DATE, stamp) if len(stamp) == len(_INVARIANT_DATE) else data
