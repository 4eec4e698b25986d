"""
What a brief says: its key figures, largest gaps, places and budget, equity, method and notes.

:mod:`socialmap.report` sets these into the one-page PDF; :mod:`socialmap.actionplan` writes the same
figures and lines into its Word draft, and the app shows them (e.g. :func:`places_text`). Every figure
comes from the :class:`~socialmap.pipeline.Result` given and is formatted for the language with
:func:`socialmap.i18n.format_number`; :func:`key_figures` returns exactly the strings printed. Small
counts of sensitive groups are hidden as in every export (:mod:`socialmap.privacy`); :func:`run_notes`
writes the run's notes (from its provenance) in the user's language.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    from socialmap.costing import Costing
    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

#: Decimals of each key figure (the same everywhere the figures are shown).
DECIMALS = {"need": 0, "services": 0, "supply": 0, "covered_share": 1, "gap_score": 1, "composite_gap": 1}

#: Columns of :func:`key_figures`: the relative measures first, as they tell areas apart when the need
#: is uncertain (relative access; places within reach per 1,000 of the target group, national figure
#: in brackets), then the absolute ones.
KEY_FIGURE_COLUMNS = (
    "service_type",
    "service",
    "spar",
    "places_per_1000",
    "need",
    "services",
    "places",
    "covered_share",
    "gap_score",
)


def find_area(result: Result, area: str) -> str:
    """
    Return the ``area_id`` of an area given by its id or any of its names.

    Names are matched with :func:`socialmap.names.match` (diacritics, Albanian definite forms,
    Serbian forms, "Municipality of ..."), against ``name`` and every ``name_*`` column.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    area
        An ``area_id`` or a name, e.g. ``"Gjakovë"``, ``"Gjakova"`` or ``"Đakovica"``.

    Returns
    -------
    area_id
        The area's id.

    Raises
    ------
    SocialMapError
        If no area (or more than one) matches; the message lists the closest names.
    """
    from socialmap.names import match

    ids = result.areas["area_id"].astype(str)
    if str(area) in set(ids):
        return str(area)
    columns = ["area_id", *[c for c in result.areas.columns if c == "name" or c.startswith("name_")]]
    found = match([str(area)], pd.DataFrame(result.areas[columns]), one_to_one=False)
    row = found.iloc[0]
    if row["status"] == "matched":
        return str(row["key"])
    closest = ", ".join(str(c) for c in row["candidates"]) or "none"
    raise SocialMapError(
        f"`area` {area!r} matches no area of the result ({row['status']}); closest: {closest}. "
        "Give an area_id or one of the names."
    )


def area_name(result: Result, area_id: str, lang: str | None = None) -> str:
    """Return an area's name in ``lang`` (its ``name_<lang>`` if present, else ``name``)."""
    from socialmap.i18n import check_language

    row = result.areas[result.areas["area_id"].astype(str) == str(area_id)].iloc[0]
    own = f"name_{check_language(lang)}"
    for col in (own, "name", "area_id"):
        if col in row.index and isinstance(row[col], str) and row[col].strip():
            return str(row[col])
    return str(area_id)


def _fmt(value: Any, lang: str, decimals: int) -> str:
    from socialmap.i18n import format_number

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return format_number(None, lang)
    return format_number(float(value), lang, decimals=decimals)


def _fmt_share(value: Any, lang: str) -> str:
    text = _fmt(None if value is None else 100 * float(value), lang, DECIMALS["covered_share"])
    return text if text == "–" else f"{text} %"


def places_text(row: pd.Series, lang: str | None = None) -> str:
    """
    Write the places of a row of ``result.table`` as briefs and the app show them.

    "unknown" when every service there has an unknown capacity (never 0); "12 + 2 unknown"
    when some have; else the number. A hidden count (text such as ``"<5"``) is shown as given.
    """
    from socialmap.i18n import check_language, t

    lang = check_language(lang)

    services = float(row.get("services", 0) or 0)
    unknown = float(row.get("capacity_unknown", 0) or 0)
    if services > 0 and unknown >= services:
        return t("unknown", lang)
    supply = row.get("supply")
    if isinstance(supply, str):
        return supply
    text = _fmt(supply, lang, DECIMALS["supply"])
    if unknown > 0:
        text = t("{places} + {n} unknown", lang, places=text, n=_fmt(unknown, lang, 0))
    return text


def key_figures(
    result: Result,
    *,
    area: str | None = None,
    lang: str | None = None,
    protected: Protected | None = None,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """
    Return the key figures of a brief, per service type, as the exact strings printed.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    area
        An area (id or name); ``None`` for the national figures (sums of need, services and
        places; need-weighted covered share; gap = 100 × Σ unmet need / Σ need).
    lang
        Language of the labels and the number format.
    protected
        The suppression to apply (default: :func:`socialmap.privacy.protect` of ``result``).
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).

    Returns
    -------
    figures
        One row per service type (:data:`KEY_FIGURE_COLUMNS`): ``service_type``, ``service`` (label),
        ``spar`` (relative access: 1 = the national level; nationally 1 by definition),
        ``places_per_1000`` (places within reach per 1,000 of the target group, the national figure
        in brackets), ``need``, ``services``, ``places``, ``covered_share``, ``gap_score`` (text;
        ``"–"`` = unknown, ``"<5"`` / ``"[c]"`` = hidden).
    """
    from socialmap.i18n import check_language
    from socialmap.privacy import cell_marks, protect, resolve_taxonomy

    lang = check_language(lang)
    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, taxonomy=tax)
    if area is None:
        rows, hidden = protected.totals, protected.hidden_totals
    else:
        area_id = find_area(result, area)
        rows = protected.table[protected.table["area_id"].astype(str) == area_id]
        hidden = protected.hidden
    marks = cell_marks(rows, hidden, protected, lang)
    relative: dict[str, dict[str, Any]] = {}
    for key, part in protected.table.groupby("service_type", sort=False):
        nat = part["places_per_1000_national"] if "places_per_1000_national" in part else pd.Series(math.nan)
        spar = part["spar"] if "spar" in part else pd.Series(math.nan)
        relative[str(key)] = {
            "national": float(nat.dropna().iloc[0]) if nat.notna().any() else math.nan,
            "spar_defined": 1.0 if spar.notna().any() else math.nan,
        }
    out = []
    for i, row in rows.iterrows():
        key = str(row["service_type"])
        rel = relative.get(key, {})
        if area is not None:
            spar, per_1000 = row.get("spar"), row.get("places_per_1000")
        else:
            spar, per_1000 = (1.0 if pd.notna(rel.get("spar_defined")) else math.nan), rel.get("national")
        national = rel.get("national")
        per_text = _fmt(per_1000, lang, 1)
        if area is not None and per_text != "–" and pd.notna(national):
            per_text += " (" + _fmt(national, lang, 1) + ")"

        def cell(col: str, text: str, i: Any = i) -> str:
            return str(marks.at[i, col]) if col in marks.columns and marks.at[i, col] else text

        out.append(
            {
                "service_type": key,
                "service": tax.label(key, lang) if key in tax.service_types else key,
                "spar": cell("spar", _fmt(spar, lang, 2)),
                "places_per_1000": cell("places_per_1000", per_text),
                "need": cell("need", _fmt(row["need"], lang, DECIMALS["need"])),
                "services": _fmt(row["services"], lang, DECIMALS["services"]),
                "places": places_text(row, lang),
                "covered_share": cell("covered_share", _fmt_share(row["covered_share"], lang)),
                "gap_score": cell("gap_score", _fmt(row["gap_score"], lang, DECIMALS["gap_score"])),
            }
        )
    return pd.DataFrame(out, columns=list(KEY_FIGURE_COLUMNS))


def _largest_gaps(result: Result, area_id: str | None, tax: Taxonomy, lang: str) -> list[str]:
    from socialmap.i18n import t

    table = result.table
    if area_id is None:
        areas = result.areas.dropna(subset=["composite_gap"]).sort_values(["rank", "area_id"]).head(5)
        lines = []
        for _, row in areas.iterrows():
            lines.append(
                t(
                    "{rank}. {name}: composite gap {gap}",
                    lang,
                    rank=_fmt(row["rank"], lang, 0),
                    name=area_name(result, str(row["area_id"]), lang),
                    gap=_fmt(row["composite_gap"], lang, DECIMALS["composite_gap"]),
                )
            )
        return lines
    # Ranked as the composite gap is (1 = largest gap among the areas), so that the three service
    # types listed are those where this area stands worst beside the others.
    from socialmap.gaps import rank_areas

    scored = table.dropna(subset=["gap_score"]).copy()
    scored["type_rank"] = scored.groupby("service_type")["gap_score"].transform(rank_areas)
    rows = scored[scored["area_id"].astype(str) == area_id]
    rows = rows.sort_values(["type_rank", "gap_score", "service_type"], ascending=[True, False, True]).head(3)
    lines = []
    for _, row in rows.iterrows():
        st = str(row["service_type"])
        same = scored[scored["service_type"] == st]
        rank = int(row["type_rank"])
        lines.append(
            t(
                "{service}: gap {gap} (rank {rank} of {n})",
                lang,
                service=tax.label(st, lang) if st in tax.service_types else st,
                gap=_fmt(row["gap_score"], lang, DECIMALS["gap_score"]),
                rank=rank,
                n=len(same),
            )
        )
    return lines or [t("No service type could be scored here (need unknown).", lang)]


def places_and_budget(
    result: Result,
    *,
    area: str | None = None,
    lang: str | None = None,
    protected: Protected | None = None,
    taxonomy: Taxonomy | None = None,
    costing: Costing | None = None,
) -> list[str]:
    """
    Return the brief's lines on the places and budget needed to reach the planning standards.

    The figures are :func:`socialmap.costing.places_and_budget`'s: places needed = max(need ×
    places per 1,000 / 1,000 − known places, 0) per area (summed over areas for the country), and
    budget = places needed × unit cost per place per year. Only service types with a standard
    (and, for the budget, a unit cost) get a figure; otherwise a line says that none is sourced.
    Nothing is invented.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    area
        An area (id or name), or ``None`` for the whole country.
    lang
        Language.
    protected
        The suppression to apply: the places of a hidden need are hidden too.
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    costing
        A costing already made (e.g. with user-supplied standards); default: the taxonomy's.

    Returns
    -------
    lines
        One line per service type with a standard, and one about those without.
    """
    from socialmap.costing import USER_SUPPLIED
    from socialmap.costing import places_and_budget as cost_of
    from socialmap.i18n import check_language, t
    from socialmap.privacy import COUNT_HIDDEN, is_published, protect, resolve_taxonomy

    lang = check_language(lang)
    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, taxonomy=tax)
    if costing is None:
        if is_published(result):
            raise SocialMapError("Give the costing of the raw result (`costing=`) with a published result.")
        costing = cost_of(result, taxonomy=tax)
    # The figures are read from the published costing tables (costing.costing_tables: the same cells
    # hidden as in the costing export, including the supply by reach of rows linked to a hidden one),
    # so that a line never shows a figure the tables hide.
    from socialmap.costing import costing_tables

    published = costing_tables(result, costing, protected=protected, taxonomy=tax, lang=lang, markers=False)
    if area is None:
        # A national shortfall is a sum over areas of max(…, 0): beside published area rows it gives
        # back a hidden one, so a type with any hidden area row has its national figures hidden too.
        rows = published["costing_national"]
        status = protected.total_status()
    else:
        area_id = find_area(result, area)
        rows = published["costing"][published["costing"]["area_id"].astype(str) == area_id]
        mine = protected.table[protected.table["area_id"].astype(str) == area_id]
        status = {
            str(k): str(s)
            for k, s in zip(mine["service_type"], mine["suppression"], strict=True)
            if s in COUNT_HIDDEN
        }
    # Rows with any cell hidden in the published table (a secondary suppression) are hidden whole here.
    for key, mark in zip(rows["service_type"], rows["suppression"], strict=True):
        if isinstance(mark, str) and mark and str(key) not in status:
            status[str(key)] = mark
    lines, without = [], []
    for _, row in rows.iterrows():
        key = str(row["service_type"])
        label = tax.label(key, lang) if key in tax.service_types else key
        if pd.isna(row["places_per_1000"]):
            without.append(label)
            continue
        hidden = status.get(key, "")
        if hidden or pd.isna(row["places_needed"]):
            shown = protected.marker(hidden, lang) if hidden else "–"
            lines.append(
                t(
                    "{service}: places needed {places} (need unknown or hidden).",
                    lang,
                    service=label,
                    places=shown,
                )
            )
            continue
        line = t(
            "{service}: {target} places at the standard of {standard} per 1,000; {needed} more needed.",
            lang,
            service=label,
            target=_fmt(row["places_target"], lang, 0),
            standard=_fmt(row["places_per_1000"], lang, 1),
            needed=_fmt(row["places_needed"], lang, 1),
        )
        if row.get("standard_source") == USER_SUPPLIED:
            line += " " + t("(standard given by the user)", lang)
        if pd.isna(row["unit_cost_eur_per_place_year"]):
            line += " " + t("No sourced unit cost, so no budget.", lang)
        else:
            line += " " + t(
                "Budget: about {eur} EUR a year ({cost} EUR per place).",
                lang,
                eur=_fmt(row["budget_eur_per_year"], lang, 0),
                cost=_fmt(row["unit_cost_eur_per_place_year"], lang, 0),
            )
        lines.append(line)
    if without and not lines:
        lines.append(
            t(
                "No sourced planning standard (places per 1,000) or unit cost in the taxonomy: "
                "places and budget needed are not computed.",
                lang,
            )
        )
    elif without:
        lines.append(t("No sourced standard or cost for: {services}.", lang, services=", ".join(without)))
    return lines


def _rates(result: Result, tax: Taxonomy, lang: str) -> tuple[list[str], list[str]]:
    """Return the rate lines ("label: 5.3 % [1]") and the numbered citations they refer to."""
    from socialmap.i18n import t

    citations: list[str] = []
    lines = []
    for group, info in (result.provenance.get("rates") or {}).items():
        label = tax.label(group, lang) if group in tax.target_groups else group
        rate = info.get("rate")
        if rate is None:
            lines.append(t("{group}: no sourced rate (need unknown)", lang, group=label))
            continue
        refs = []
        for source in [s.strip() for s in str(info.get("sources", "")).split(" | ") if s.strip()]:
            if source not in citations:
                citations.append(source)
            refs.append(str(citations.index(source) + 1))
        text = f"{label}: {_fmt(100 * float(rate), lang, 2)} %"
        if info.get("estimate"):
            text += " " + t("(estimate)", lang)
        if refs:
            text += " [" + ", ".join(refs) + "]"
        lines.append(text)
    return lines, citations


def _benchmark(tax: Taxonomy, keys: tuple[str, ...]) -> bool:
    """Tell whether a figure rests on an international benchmark (its source's note says so)."""
    return any("benchmark" in (tax.sources[k].note or "").lower() for k in keys if k in tax.sources)


def _cite(tax: Taxonomy, keys: tuple[str, ...], citations: list[str]) -> str:
    refs = []
    for k in keys:
        if k in tax.sources:
            text = tax.sources[k].citation
            if text not in citations:
                citations.append(text)
            refs.append(str(citations.index(text) + 1))
    return " [" + ", ".join(refs) + "]" if refs else ""


def _need_rates(result: Result, tax: Taxonomy, lang: str, citations: list[str]) -> list[str]:
    """Lines "Home care: 6.5 % of older people (estimate; international benchmark) [2]" and standards."""
    from socialmap.i18n import t

    lines = []
    types = [str(k) for k in result.table["service_type"].drop_duplicates()]
    for key in types:
        if key not in tax.service_types:
            continue
        st = tax.service_type(key)
        label = tax.label(key, lang)
        if st.need_rate is not None:
            for g, share in st.need_rate.items():
                group = tax.label(g, lang)
                if share is None:
                    lines.append(t("{service}: share of {group} unknown", lang, service=label, group=group))
                    continue
                text = t(
                    "{service}: {share} % of {group}",
                    lang,
                    service=label,
                    share=_fmt(100 * share, lang, 1),
                    group=group,
                )
                if st.need_rate_estimate:
                    text += " " + t("(estimate)", lang)
                if _benchmark(tax, st.need_rate_source):
                    text += " " + t("(international benchmark, not a national standard)", lang)
                lines.append(text + _cite(tax, st.need_rate_source, citations))
        if st.places_per_1000 is not None:
            groups = ", ".join(tax.label(g, lang) for g in tax.standard_groups(key))
            text = t(
                "{service}: standard {n} places per 1,000 of {group}",
                lang,
                service=label,
                n=_fmt(st.places_per_1000, lang, 1),
                group=groups,
            )
            if _benchmark(tax, st.places_per_1000_source):
                text += " " + t("(international benchmark, not a national standard)", lang)
            lines.append(text + _cite(tax, st.places_per_1000_source, citations))
    return lines


def _equity_lines(result: Result, protected: Protected, tax: Taxonomy, lang: str) -> list[str]:
    """Return the national brief's equity lines (need-weighted, across cells), sensitive types left out."""
    from dataclasses import replace

    from socialmap.equity import equity_table
    from socialmap.i18n import t

    sensitive = set(protected.sensitive_types)
    # the published result has no demand cells of sensitive types: measure the others only
    public = replace(result, table=result.table[~result.table["service_type"].isin(sensitive)])
    table = equity_table(public)
    table = table[(table["level"] == "cells") & ~table["service_type"].isin(sensitive)]
    lines = []
    for _, row in table.iterrows():
        if pd.isna(row["gini"]):
            continue
        share = row["theil_between"] / row["theil"] if row["theil"] > 0 else math.nan
        line = t(
            "{service}: Gini {gini}; Theil {theil} ({between} % between municipalities); Palma {palma}",
            lang,
            service=tax.label(str(row["service_type"]), lang),
            gini=_fmt(row["gini"], lang, 2),
            theil=_fmt(row["theil"], lang, 2),
            between=_fmt(100 * share, lang, 0),
            palma=_fmt(row["palma"], lang, 1),
        )
        if pd.notna(row["concentration_index"]):
            line += "; " + t(
                "concentration index against the social-assistance rate {ci}",
                lang,
                ci=_fmt(row["concentration_index"], lang, 2),
            )
        lines.append(line + ".")
    if lines and table["concentration_index"].isna().all():
        lines.append(
            t(
                "No concentration index: the data have no social-assistance rate per municipality (a "
                "national share ranks no one).",
                lang,
            )
        )
    return lines


def _method_note(result: Result, tax: Taxonomy, protected: Protected, lang: str) -> tuple[str, list[str]]:
    from socialmap import settings
    from socialmap.credits import method_line
    from socialmap.i18n import t

    prov = result.provenance
    parts = [method_line(result, lang) + "."]
    spreading = str(prov.get("spreading", ""))
    kinds = {
        "representative": t("one demand point per area, inside it", lang),
        "points": t("the given demand points or population raster", lang),
    }
    if spreading.startswith("grid"):
        cell_m = getattr(getattr(result, "config", None), "cell_size_m", None)
        if cell_m is None:
            cell_m = (prov.get("config") or {}).get("cell_size_m")
        if cell_m is None:
            where = t("a regular grid", lang)
        else:
            where = t("a regular grid of {size} m cells", lang, size=_fmt(cell_m, lang, 0))
    else:
        where = kinds.get(spreading, spreading)
    parts.append(t("Need is placed on {where}.", lang, where=where))
    defaults = [
        k
        for k, v in (prov.get("catchment_m") or {}).items()
        if k in tax.service_types
        and tax.service_types[k].catchment_m is None
        and float(v) == float(settings.default_catchment_m)
    ]
    defaults += [
        k
        for k, v in (prov.get("catchment_min") or {}).items()
        if k in tax.service_types
        and tax.service_types[k].catchment_min is None
        and float(v) == float(settings.default_catchment_min)
    ]
    if defaults:
        parts.append(t("The catchment is a modelling default, not a sourced figure.", lang))
    roads = prov.get("network") or {}
    if prov.get("cost") in ("drive", "walk"):
        parts.append(
            t(
                "Travel times on the roads of {source}, with speeds from {speeds}; the walk to and from the "
                "nearest road at {walk} km/h.",
                lang,
                source=str(roads.get("source", "")),
                speeds=str(roads.get("speed_source", "")),
                walk=_fmt(float(roads.get("walk_speed_kmh", 0.0)), lang, 1),
            )
        )
    parts.append(
        t(
            "Gap score = 100 × need that cannot reach a place / need (0: everyone can, 100: no one).",
            lang,
        )
    )
    rate_lines, citations = _rates(result, tax, lang)
    if rate_lines:
        parts.append(
            t("Need = population × rate of each target group: {rates}.", lang, rates="; ".join(rate_lines))
        )
    need_lines = _need_rates(result, tax, lang, citations)
    if need_lines:
        parts.append(
            t(
                "Share of the target group that needs each service (need rate) and planning standards: "
                "{rates}.",
                lang,
                rates="; ".join(need_lines),
            )
        )
    hidden = (
        protected.table["suppression"].astype(str).ne("").any()
        or protected.totals["suppression"].astype(str).ne("").any()
    )
    if hidden:
        parts.append(protected.rule(lang))
    return " ".join(parts), citations


def run_notes(result: Result, lang: str | None = None, *, taxonomy: Taxonomy | None = None) -> list[str]:
    """
    Return the notes of an analysis run (``result.notes``) in ``lang``.

    The pipeline writes its notes in English; the two kinds it writes (a service type not scored
    because its need is unknown, and distance coverage used because some capacities are unknown)
    are rebuilt here from the result in the chosen language, with the service types' labels. Any
    other note is passed through as written.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    lang
        ``en``, ``sq`` or ``sr`` (``None``: the default language).
    taxonomy
        For the service types' labels (default: the result's own; without one, the keys).

    Returns
    -------
    notes
        One sentence per note.
    """
    from socialmap.i18n import N_, check_language, t

    lang = check_language(lang)
    tax = taxonomy if taxonomy is not None else getattr(result, "taxonomy", None)
    prov = result.provenance
    used = {str(k): str(v) for k, v in dict(prov.get("methods_used") or {}).items()}
    configured = str(prov.get("method", ""))
    method_names = {"2sfca": "2SFCA", "e2sfca": "E2SFCA"}

    def label(key: str) -> str:
        if tax is not None and key in getattr(tax, "service_types", {}):
            return str(tax.label(key, lang))
        return key

    notes = [
        t(
            "{service}: need unknown (a target group has no rate and no count column); not scored.",
            lang,
            service=label(key),
        )
        for key, method in used.items()
        if method == "none"
    ]
    blank = [str(a) for a in prov.get("population_unknown_areas") or ()]
    if blank:
        from socialmap.validate import area_labels

        total = len(result.areas)
        notes.insert(
            0,
            t(
                "Population unknown in {n} of {total} areas ({areas}): their need and gaps are not computed; "
                "the other {scored} areas are scored. Services near them are shared only among the areas "
                "whose population is known.",
                lang,
                n=_fmt(len(blank), lang, 0),
                total=_fmt(total, lang, 0),
                areas=area_labels(result.areas, blank).localise(lang),
                scored=_fmt(total - len(blank), lang, 0),
            ),
        )
    services = result.services
    for key, method in used.items():
        if method != "coverage" or configured == "coverage" or "service_type" not in services.columns:
            continue
        sites = services[services["service_type"].astype(str) == key]
        capacity = pd.to_numeric(sites["capacity"], errors="coerce") if "capacity" in sites else None
        unknown = len(sites) if capacity is None else int(capacity.isna().sum())
        notes.append(
            t(
                "{service}: capacity unknown for {unknown} of {total} services, so distance coverage is "
                "used instead of {method}. Fill in every capacity to use {method}.",
                lang,
                service=label(key),
                unknown=_fmt(unknown, lang, 0),
                total=_fmt(len(sites), lang, 0),
                method=method_names.get(configured, configured),
            )
        )
    basis = {str(k): str(v) for k, v in dict(prov.get("need_basis") or {}).items()}
    for key, kind in basis.items():
        if kind == "relative":
            notes.append(
                t(
                    "{service}: need unknown (no sourced need rate or planning standard); scored on "
                    "relative measures only (relative access, places per 1,000 of the target group, "
                    "share within reach).",
                    lang,
                    service=label(key),
                )
            )
        elif kind == "standard":
            notes.append(
                t(
                    "{service}: need = the places the planning standard asks for (no need rate is known).",
                    lang,
                    service=label(key),
                )
            )
        elif kind == "whole_group":
            notes.append(
                t(
                    "{service}: no need rate given, so the whole target group is counted as need (an upper "
                    "bound).",
                    lang,
                    service=label(key),
                )
            )
    for key, (unknown, total) in dict(prov.get("capacity_unknown") or {}).items():
        if used.get(str(key)) in ("2sfca", "e2sfca") and 0 < unknown < total:
            notes.append(
                t(
                    "{service}: capacity unknown for {unknown} of {total} services: {method} uses the "
                    "{known} known (supply and access are then lower bounds, the gap an upper bound); "
                    "distance coverage counts every service.",
                    lang,
                    service=label(str(key)),
                    unknown=_fmt(unknown, lang, 0),
                    total=_fmt(total, lang, 0),
                    known=_fmt(total - unknown, lang, 0),
                    method=method_names.get(used[str(key)], used[str(key)]),
                )
            )
    snap_m = float((prov.get("network") or {}).get("max_snap_m", 0.0))

    def note(key: str, template: str, **fields: Any) -> None:  # an off-network note (the same fields)
        notes.append(t(template, lang, service=label(key), distance=_fmt(snap_m, lang, 0), **fields))

    for key, off in dict(prov.get("off_network") or {}).items():
        points = off.get("demand_points")
        if points and off.get("need") is None:  # a sensitive type: no count of persons
            note(
                key,
                N_(
                    "{service}: off the road network: {points} demand points are farther than {distance} m "
                    "from any road and count as out of reach."
                ),
                points=_fmt(points, lang, 0),
            )
        elif points:
            note(
                key,
                N_(
                    "{service}: off the road network: {points} demand points with {need} persons in need are "
                    "farther than {distance} m from any road and count as out of reach."
                ),
                points=_fmt(points, lang, 0),
                need=_fmt(off["need"], lang, 1),
            )
        ids = list(off.get("service_ids") or [])
        if off.get("services") and not ids:
            note(
                key,
                N_(
                    "{service}: off the road network: {count} services are farther than {distance} m from "
                    "any road and reach no one."
                ),
                count=_fmt(off["services"], lang, 0),
            )
        elif off.get("services"):
            note(
                key,
                N_(
                    "{service}: off the road network: {count} services are farther than {distance} m from "
                    "any road and reach no one ({ids})."
                ),
                count=_fmt(off["services"], lang, 0),
                ids=", ".join(map(str, ids[:10])) + (" …" if len(ids) > 10 else ""),
            )
    kinds = ("need unknown", "capacity unknown", "off the road network", "need = ", "no need rate")
    rebuilt = tuple(f"{key}: {kind}" for key in used for kind in kinds)
    rebuilt += ("Population unknown in ",)
    notes += [str(n) for n in prov.get("notes") or () if not str(n).startswith(rebuilt)]
    return notes
