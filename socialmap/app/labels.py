"""
The words and number formats the app's tabs share: column labels, metric help, choice keys, decimals.

Every label is English, marked with ``N_`` and translated where it is shown (:func:`label`,
:func:`socialmap.i18n.t`). :func:`column_decimals` and :func:`display_table` give each column of a
table the decimals it is shown (and downloaded) with, in the reader's number format;
:func:`markdown_text` shows a name literally in the Markdown of a map's title or legend.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

import pandas as pd

from socialmap import errors
from socialmap.i18n import N_, format_number, t

#: The service-type choice meaning "every service type in scope" (shown as the composite gap).
ALL_TYPES = "__all__"

#: The target-group choice meaning "every target group" (same as ``None``).
ALL_GROUPS = "__all_groups__"

#: Kinds of input a user can upload, in the order they are read.
UPLOAD_KINDS = ("areas", "services", "population")

#: Metrics of one service type that can colour the map (columns of ``Result.table``).
METRICS = (
    "gap_score",
    "spar",
    "places_per_1000",
    "supply_reach",
    "need",
    "supply",
    "supply_per_10k",
    "covered_share",
    "access",
    "unmet_need",
    "services",
)

#: Display label (English; translated with :func:`socialmap.i18n.t`) of every column shown.
LABELS: dict[str, str] = {
    "rank": N_("Rank"),
    "name": N_("Municipality"),
    "population": N_("Population"),
    "composite_gap": N_("Composite gap score (%)"),
    "types_scored": N_("Service types scored"),
    "gap_score": N_("Gap score (%)"),
    "need": N_("Need (persons)"),
    "supply": N_("Supply (places)"),
    "supply_per_10k": N_("Places per 10,000 in need"),
    "covered_share": N_("Need within the catchment (%)"),
    "access": N_("Places per person in need"),
    "unmet_need": N_("Unmet need (persons)"),
    "services": N_("Services"),
    "service_type": N_("Service type"),
    "method": N_("Method"),
    "catchment_km": N_("Catchment (km)"),
    "catchment_min": N_("Catchment (min)"),
    "capacity_unknown": N_("Services of unknown capacity"),
    "spar": N_("Relative access (1 = national)"),
    "places_per_1000": N_("Places per 1,000 of the target group"),
    "supply_reach": N_("Places within reach"),
    "target_group": N_("Target group"),
    "weight_share": N_("Share of the composite (%)"),
    "gap": N_("Gap score (%)"),
    "status": N_("Status"),
}

#: What each measure means, for the help texts (English; translated with :func:`socialmap.i18n.t`).
METRIC_HELP: dict[str, str] = {
    "gap_score": N_(
        "Share of the need that cannot reach a place (0: everyone can, 100: no one). As sure as the need "
        "rate: unknown where no need rate is sourced."
    ),
    "spar": N_(
        "Places within reach per person in need here, divided by the national figure (spatial access "
        "ratio, Wan et al. 2012): 1 = the national level, 0.5 = half. It does not depend on the need "
        "rate, so it tells municipalities apart even when the need is uncertain."
    ),
    "places_per_1000": N_(
        "Places within reach of the residents per 1,000 people of the target group, to compare with the "
        "national figure and with a planning standard where one is sourced."
    ),
    "supply_reach": N_(
        "Places the residents can reach, as 2SFCA shares each service among everyone within its "
        "catchment (places inside the municipality: Supply)."
    ),
    "covered_share": N_("Share of the need with at least one service within the catchment."),
    "composite_gap": N_(
        "Weighted mean of the target groups' gaps: each group of people weighs the same (or as set), "
        "however many service types serve it; groups whose need is unknown are listed, not left out."
    ),
}

#: What each metric means, and its formula in words (the About tab; English, translated with ``t``).
#: Measures not listed here are explained by :data:`METRIC_HELP`.
METRIC_FORMULAS: dict[str, str] = {
    "gap_score": N_(
        "Gap score (%) = 100 × unmet need ÷ need: the share of the people who need the service who "
        "cannot reach a place of it within the catchment. 0: everyone can reach a place; 100: no one can."
    ),
    "composite_gap": N_(
        "Composite gap score (%): the weighted mean of the target groups' gaps, a group's gap being "
        "100 × the unmet need of its people ÷ their need, over the service types in scope that serve "
        "it; each group of people weighs the same however many service types serve it (weights: "
        "{weights}). A group whose need is unknown is not scored but listed; rank 1 is the "
        "municipality with the largest composite gap."
    ),
    "need": N_(
        "Need (persons) = residents × the rate of the service's target groups (the share of residents "
        "who belong to them), summed over its target groups. The rates and their sources are listed below."
    ),
    "supply": N_(
        "Supply (places): the places (capacity) of the services of known capacity in the municipality. "
        "A service of unknown capacity is counted as a service but adds no place; where no service has "
        "a known capacity the places are unknown, not 0."
    ),
    "supply_per_10k": N_("Places per 10,000 in need = 10,000 × places ÷ need, in the municipality."),
    "covered_share": N_(
        "Need within the catchment (%): the share of the need that lives within the catchment (a "
        "straight-line distance) of at least one service, whatever its places."
    ),
    "access": N_(
        "Places per person in need (2SFCA): each service's places are shared among all the people in "
        "need within its catchment (its places ÷ their number); each person's access is the sum of "
        "the shares of the services within reach. E2SFCA counts nearer people and services more."
    ),
    "unmet_need": N_(
        "Unmet need (persons): people in need who cannot reach a place: need minus the people the "
        "places within reach can serve, never below 0."
    ),
    "services": N_("Services: how many services of the type are in the municipality."),
}


#: Shares (0-1) shown as percentages.
_SHARES = ("covered_share",)

#: Method keys → display names.
METHOD_LABELS = {
    "coverage": N_("Distance coverage"),
    "2sfca": N_("2SFCA"),
    "e2sfca": N_("E2SFCA"),
    "none": N_("not scored (need unknown)"),
}

#: Severity codes of problems → display words.
SEVERITY_LABELS = errors.SEVERITY_LABELS

#: Kinds of input → the word used in sentences ("the demo's {kind} are shown instead").
KIND_LABELS = {"areas": N_("areas"), "services": N_("services"), "population": N_("population")}

#: Kinds of input → headings ("Areas: your file …").
KIND_TITLES = {"areas": N_("Areas"), "services": N_("Services"), "population": N_("Population")}

#: Demand spreading keys → display names.
SPREADING_LABELS = {
    "representative": N_("One point per municipality"),
    "grid": N_("Grid of cells"),
    "points": N_("Your demand points"),
}

#: Basemaps: key → folium tiles (``None``: plain background, works offline).
BASEMAPS: dict[str, str | None] = {"plain": None, "osm": "OpenStreetMap"}


#: Problem-table columns → display labels (shared with :meth:`socialmap.validate.Report.to_frame`).
PROBLEM_COLUMNS = errors.PROBLEM_COLUMNS


def label(key: str, lang: str | None = None) -> str:
    """Display label of a column or metric key, translated."""
    return t(LABELS.get(key, key), lang)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:])")


def markdown_text(value: object) -> str:
    r"""
    Escape text for ``st.markdown``, so that it shows as written (no links, emphasis or formulas).

    Examples
    --------
    >>> markdown_text("*Pejë* [x](http://a) $5")
    '\\*Pejë\\* \\[x\\]\\(http\\://a\\) \\$5'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def _text(value: object) -> str:
    """HTML-escape text; braces too, as folium reads a rendered script as a Jinja template again."""
    return html.escape(str(value)).replace("{", "&#123;").replace("}", "&#125;")


#: Decimals of each column of a display table (and of the app's CSV downloads), by key: persons,
#: places and ranks whole, scores and percentages one decimal, places per person four.
DISPLAY_DECIMALS: dict[str, int] = {
    "rank": 0,
    "population": 0,
    "composite_gap": 1,
    "types_scored": 0,
    "gap_score": 1,
    "need": 0,
    "supply": 0,
    "supply_per_10k": 1,
    "covered_share": 1,
    "access": 4,
    "unmet_need": 0,
    "services": 0,
    "catchment_km": 1,
    "catchment_min": 0,
    "capacity_unknown": 0,
    "spar": 2,
    "places_per_1000": 1,
    "supply_reach": 0,
    "weight_share": 1,
}

#: How the app's CSV downloads write numbers in each language: (delimiter, decimal mark). Excel
#: set to Albanian or Serbian reads ``;`` and a decimal comma.
CSV_CONVENTIONS: dict[str, tuple[str, str]] = {"en": (",", "."), "sq": (";", ","), "sr": (";", ",")}


def column_decimals(table: pd.DataFrame, lang: str | None = None) -> dict[str, int]:
    """
    Choose the decimals of each number column of a display table, by what it holds.

    A column labelled (in ``lang``) as one of :data:`DISPLAY_DECIMALS` (or a costing column, as
    in a CSV: :data:`socialmap.export.CSV_DECIMALS`), or starting with such a label (the plan
    tables' ``"Gap score (%) [scenario]"``), takes its decimals; the gap columns of
    the composite view one decimal; other columns: 0 if every value is whole, 4 if all are below
    1, else 1.
    """
    from socialmap.export import CSV_DECIMALS

    pairs = [(label(k, lang), d) for k, d in DISPLAY_DECIMALS.items()]
    pairs += [(t(text, lang), CSV_DECIMALS[k]) for k, text in _COSTING_COLUMNS.items() if k in CSV_DECIMALS]
    pairs += [(t("Longitude", lang), 5), (t("Latitude", lang), 5), (t("Places", lang), 0)]
    labels = sorted(pairs, key=lambda p: -len(p[0]))
    gap_prefix = t("Gap (%): {type}", lang, type="")
    out: dict[str, int] = {}
    for col in table.columns:
        values = table[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        name = str(col)
        known = next((d for text, d in labels if name == text or name.startswith(text + " ")), None)
        if known is None and name.startswith(gap_prefix):
            known = DISPLAY_DECIMALS["gap_score"]
        if known is None:
            finite = pd.to_numeric(values, errors="coerce").dropna()
            if finite.empty or (finite == finite.round()).all():
                known = 0
            elif (finite.abs() < 1).all():
                known = 4
            else:
                known = 1
        out[name] = known
    return out


def display_table(table: pd.DataFrame, lang: str | None = None) -> Any:
    """
    Return a display table with its numbers written for the language (a pandas ``Styler``).

    ``12.345,6`` in Albanian and Serbian, ``12,345.6`` in English, with the decimals of
    :func:`column_decimals`; a missing value shows as "–". The cells keep their numbers (rounded
    as shown), so a table sorted by a column in the app sorts by value, not by text.
    """
    decimals = column_decimals(table, lang)
    # The cells hold the numbers rounded as shown: what a screen reader or a copy reads (the
    # number, not its text) has no float noise either.
    rounded = table.copy()
    for col, places in decimals.items():
        rounded[col] = pd.to_numeric(rounded[col], errors="coerce").round(places)
    formats = {col: functools.partial(_display_number, lang=lang, decimals=d) for col, d in decimals.items()}
    return rounded.style.format(formats, na_rep="–")


def _display_number(value: Any, *, lang: str | None, decimals: int) -> str:
    return format_number(float(value), lang, decimals=decimals)


_COSTING_COLUMNS = {
    "area_id": N_("Code"),
    "name": N_("Municipality"),
    "target_group": N_("Target group (persons)"),
    "places_per_1000": N_("Standard (places per 1,000)"),
    "places_target": N_("Places at the standard"),
    "supply": N_("Supply (places)"),
    "places_needed": N_("Places needed"),
    "unit_cost_eur_per_place_year": N_("Unit cost (EUR per place per year)"),
    "budget_eur_per_year": N_("Budget (EUR per year)"),
    "standard_source": N_("Source of the standard"),
    "cost_source": N_("Source of the unit cost"),
    "note": N_("Note"),
}
