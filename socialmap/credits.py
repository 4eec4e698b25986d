"""
The lines every output prints about where its figures come from: sources, method, demonstration note.

Maps (:mod:`socialmap.static`), briefs (:mod:`socialmap.report`), action plans, exports and the app
print the same lines, from the result's provenance: :func:`sources_lines` (boundaries, population and
its year, services, the taxonomy, licences), :func:`method_line` (method, catchment, population year),
:func:`demonstration_note` (on the demo's invented services, where it is seen) and
:func:`taxonomy_name`; :func:`without_paths` keeps only the last part of any absolute path, so that
no output shows a person's folders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


def _label_of(taxonomy: Taxonomy | None, key: str, lang: str | None) -> str:
    if taxonomy is None or key not in taxonomy.service_types:
        return key
    from socialmap.i18n import check_language

    return taxonomy.label(key, check_language(lang))


#: An absolute path (POSIX, home-relative or Windows) in a text: only its last part may be shown.
_PATH = re.compile(r"(?<![\w.])(?:~|[A-Za-z]:)?(?:[\\/][^\s\\/;,'\"()|]+)*[\\/]([^\s\\/;,'\"()|]+)")


def without_paths(text: str) -> str:
    r"""
    Replace every file path in a text by the file's name (outputs never show a machine's folders).

    Examples
    --------
    >>> without_paths("/home/ana/.cache/socialmap/geoBoundaries-XKX-ADM2.geojson; areas matched")
    'geoBoundaries-XKX-ADM2.geojson; areas matched'
    >>> without_paths(r"C:\Users\ana\pop.csv, ~/data/services.csv and 10/20 km")
    'pop.csv, services.csv and 10/20 km'
    """

    def name(match: re.Match[str]) -> str:
        whole = match.group(0)
        if not whole.startswith(("/", "\\", "~")) and not re.match(r"[A-Za-z]:", whole):
            return whole  # "10/20", "and/or": not a path
        return match.group(1)

    return _PATH.sub(name, str(text))


def taxonomy_name(provenance: dict[str, Any]) -> str:
    """Name of the taxonomy of a result, for people: its name, and the file's name if it is yours."""
    text = str(provenance.get("taxonomy") or "")
    found = re.fullmatch(r"(.*) \((.*)\)", text)
    if found is None:
        return without_paths(text)
    name, origin = found.groups()
    return name if origin.startswith("socialmap:") else f"{name} ({without_paths(origin)})"


def demonstration_note(result: Result, lang: str | None = None) -> str | None:
    """
    Say, for outputs made on invented services (the demo's), that they are a demonstration.

    Services flagged in an ``illustrative`` column (the demo's services other than the Centres
    for Social Work) are invented: maps, briefs and the app carry this note where it is seen, not
    only in a footnote. ``None`` when no service is flagged (your own data).
    """
    from socialmap.i18n import format_number, t

    services = result.services
    if services is None or "illustrative" not in services.columns:
        return None
    flags = services["illustrative"].astype(str).str.strip().str.lower().isin(("true", "1", "yes"))
    invented = int(flags.sum())
    if not invented:
        return None
    return t(
        "Demonstration data: {n} of the {total} services are invented for the demo, so these "
        "figures describe no real services. Do not publish them as facts.",
        lang,
        n=format_number(invented, lang, decimals=0),
        total=format_number(len(services), lang, decimals=0),
    )


def sources_lines(result: Result, lang: str | None = None) -> list[str]:
    """
    Return the sources, licences and caveats of a result, one line each, for maps and briefs.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    lang
        Language of the lead words.

    Returns
    -------
    lines
        Boundaries (from the provenance, e.g. "schematic boundaries (not official): ..."),
        population (year and sources), services, need rates, and any licence entries. The demo's
        descriptions of its data are translated (they are in the catalogs); other sources are
        quoted as given.
    """
    from socialmap.i18n import t

    prov = result.provenance
    lines = []
    files = prov.get("files") or {}
    boundaries = prov.get("demo_boundaries") or prov.get("boundaries")
    if boundaries:
        lines.append(t("Boundaries: {text}", lang, text=t(str(boundaries), lang)))
    elif files.get("areas"):
        lines.append(t("Boundaries: {text}", lang, text=Path(files["areas"]).name))
    year = prov.get("population_year") or t("unknown", lang)
    if prov.get("demo_population"):
        population = t(str(prov["demo_population"]), lang)
    else:
        sources = [str(s) for s in prov.get("population_sources", [])]
        if not sources and files.get("population"):
            sources = [Path(files["population"]).name]
        population = "; ".join(sources[:2])
        if len(sources) > 2:
            population += " " + t("(and {n} more sources)", lang, n=len(sources) - 2)
    lines.append(t("Population ({year}): {text}", lang, year=year, text=population or t("unknown", lang)))
    if prov.get("demo_services"):
        lines.append(t("Services: {text}", lang, text=t(str(prov["demo_services"]), lang)))
    elif files.get("services"):
        lines.append(t("Services: {text}", lang, text=Path(files["services"]).name))
    if prov.get("taxonomy"):
        lines.append(t("Need rates and their sources: taxonomy {name}", lang, name=taxonomy_name(prov)))
    for key, value in prov.items():
        if "licen" in str(key).lower() and value:
            lines.append(f"{key}: {value}")
    return [without_paths(line) for line in lines]


def method_line(result: Result, lang: str | None = None, *, service_type: str | None = None) -> str:
    """
    Return a one-line summary of the method, catchment and population year of a result.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    lang
        Language.
    service_type
        Describe the method and catchment used for this service type only.

    Returns
    -------
    line
        E.g. "Method: two-step floating catchment area (2SFCA); catchment 10.0 km; population 2024".
    """
    from socialmap.i18n import format_number, t

    prov = result.provenance
    methods = {
        "2sfca": t("two-step floating catchment area (2SFCA)", lang),
        "e2sfca": t("enhanced 2SFCA (distance-band weights)", lang),
        "coverage": t("distance coverage", lang),
        "none": t("not scored (need unknown)", lang),
    }
    used = dict(prov.get("methods_used") or {})
    network = prov.get("cost") in ("drive", "walk")
    catchment_m = dict(prov.get("catchment_min" if network else "catchment_m") or {})
    if service_type is not None:
        method = methods.get(str(used.get(service_type, prov.get("method"))), str(prov.get("method", "")))
        catchment_m = {service_type: catchment_m[service_type]} if service_type in catchment_m else {}
    else:
        method = methods.get(str(prov.get("method")), str(prov.get("method", "")))
        others = sorted(k for k, m in used.items() if m == "coverage" and m != prov.get("method"))
        if others:
            tax = getattr(result, "taxonomy", None)
            names = ", ".join(_label_of(tax, k, lang) for k in others)
            method += " " + t("({types}: distance coverage, capacity unknown)", lang, types=names)
    catchments = sorted({float(v) for v in catchment_m.values()})
    scale, decimals = (1.0, 0) if network else (1000.0, 1)
    if len(catchments) == 1:
        value = format_number(catchments[0] / scale, lang, decimals=decimals)
        catch = t("{minutes} min", lang, minutes=value) if network else t("{km} km", lang, km=value)
    elif catchments:
        lo = format_number(catchments[0] / scale, lang, decimals=decimals)
        hi = format_number(catchments[-1] / scale, lang, decimals=decimals)
        catch = t("{lo}–{hi} min", lang, lo=lo, hi=hi) if network else t("{lo}–{hi} km", lang, lo=lo, hi=hi)
    else:
        catch = "–"
    year = prov.get("population_year") or t("unknown", lang)
    if network:
        return t(
            "Method: {method}; catchment {catchment}, measured as {cost}; population {year}",
            lang,
            method=method,
            catchment=catch,
            cost=t(str(prov.get("cost_label", "")), lang),
            year=year,
        )
    return t(
        "Method: {method}; catchment {catchment}; population {year}",
        lang,
        method=method,
        catchment=catch,
        year=year,
    )
