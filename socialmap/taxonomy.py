"""The taxonomy: which service types exist, whom they serve and how population turns into need.

A taxonomy is a YAML file (schema: ``socialmap/taxonomies/README.md``). The Kosovo default ships
with the package; a user's own file is checked in full and every problem is reported at once in
one :class:`~socialmap.errors.TaxonomyError`.

Need of a service type (extensive, persons) = Σ over its target groups of the group's size
(population × rate, or the group's ``column``) × the type's need rate (the share of the group that
needs the service, ``need_rate``, separate from the group's prevalence). Without a need rate but
with a planning standard, need is the places the standard asks for; without either, the need is
unknown and only relative measures are defined (:meth:`Taxonomy.need_basis`). Rates are intensive
(shares): never sum them across areas. A target group without a rate makes its size *unknown*
(NaN), not zero, unless the population table carries the group's count in the group's ``column``.

Examples
--------
>>> from socialmap.taxonomy import load_taxonomy
>>> tax = load_taxonomy()
>>> tax.label("csw", "sq")
'Qendra për Punë Sociale'
>>> tax.need_rates("home_care_elderly")
{'older_people_65plus': 0.1}
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from socialmap import settings

# The data classes and their queries live in socialmap._taxonomy_model, the parsing of a file in
# socialmap._taxonomy_yaml, the checks of its data in socialmap._taxonomy_check (this module reads a file
# and hands it to them); their public names are importable from here, as they always were.
from socialmap._taxonomy_check import _Checker
from socialmap._taxonomy_model import (  # noqa: F401 - re-exported
    NEED_BASES,
    SCHEMA_VERSION,
    ServiceType,
    Source,
    TargetGroup,
    Taxonomy,
)
from socialmap._taxonomy_yaml import (  # noqa: F401 - the YAML helpers re-exported (tests, docs)
    _check_yaml_cost,
    _line_index,
    _load_yaml,
    _yaml_error,
)
from socialmap.errors import N_, Number, TaxonomyError

__all__ = [
    "NEED_BASES",
    "SCHEMA_VERSION",
    "ServiceType",
    "Source",
    "TargetGroup",
    "Taxonomy",
    "available_taxonomies",
    "load_taxonomy",
]


_PACKAGE_FOLDER = "taxonomies"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def available_taxonomies() -> tuple[str, ...]:
    """
    List the taxonomies shipped with socialmap.

    Returns
    -------
    names
        Names accepted by :func:`load_taxonomy`, e.g. ``("kosovo",)``.
    """
    folder = importlib.resources.files("socialmap").joinpath(_PACKAGE_FOLDER)
    return tuple(sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_taxonomy(path_or_name: str | Path | None = None) -> Taxonomy:
    """
    Load and check a taxonomy.

    Parameters
    ----------
    path_or_name
        ``None`` or the name of a shipped taxonomy (``"kosovo"``, see :func:`available_taxonomies`)
        for the one shipped with socialmap; otherwise the path of a YAML file.

    Returns
    -------
    taxonomy
        The checked :class:`Taxonomy`.

    Raises
    ------
    TaxonomyError
        If the file is missing, empty, not valid YAML or breaks the schema. The message names the
        file and lists every problem with its YAML path (and line), what is wrong and how to fix it.

    Examples
    --------
    >>> tax = load_taxonomy("kosovo")
    >>> len(tax.service_types)
    7
    """
    if path_or_name is None:
        path_or_name = "kosovo"
    shipped = available_taxonomies()
    if isinstance(path_or_name, str) and path_or_name in shipped:
        resource = importlib.resources.files("socialmap").joinpath(_PACKAGE_FOLDER, f"{path_or_name}.yaml")
        text = resource.read_text(encoding="utf-8")
        return _parse(text, f"socialmap:{_PACKAGE_FOLDER}/{path_or_name}.yaml", default_name=path_or_name)
    path = Path(path_or_name)
    label = str(path)
    names = str(list(shipped))
    try:
        size = path.stat().st_size if path.is_file() else 0
        if size > settings.max_taxonomy_bytes:
            raise TaxonomyError(
                N_(
                    "Taxonomy file '{file}' is {size} bytes, more than the limit of {limit} bytes "
                    "(`socialmap.settings.max_taxonomy_bytes`). Fix: check that this is a taxonomy (the "
                    "shipped one is about 9 KB), or raise the limit."
                ),
                file=label,
                size=Number(size, ","),
                limit=Number(settings.max_taxonomy_bytes, ","),
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaxonomyError(
            N_(
                "Taxonomy file '{file}' not found. Fix: give the path of an existing YAML file or one of the "
                "shipped names {names}."
            ),
            file=label,
            names=names,
        ) from None
    except IsADirectoryError:
        raise TaxonomyError(
            N_(
                "Taxonomy file '{file}' is a folder, not a file. Fix: give the path of a YAML file or one of "
                "the shipped names {names}."
            ),
            file=label,
            names=names,
        ) from None
    except UnicodeDecodeError as exc:
        raise TaxonomyError(
            N_("Taxonomy file '{file}' is not UTF-8 text (byte {byte}). Fix: save it as UTF-8."),
            file=label,
            byte=exc.start,
        ) from None
    except OSError as exc:
        raise TaxonomyError(
            N_("Taxonomy file '{file}' cannot be read: {error}. Fix: check the path."),
            file=label,
            error=str(exc),
        ) from None
    return _parse(text, label, default_name=path.stem)


def _parse(text: str, label: str, *, default_name: str) -> Taxonomy:
    """Parse YAML text, check it and build the taxonomy (raises one TaxonomyError for all problems)."""
    if not text.strip():
        raise TaxonomyError(
            N_(
                "Taxonomy file '{file}' is empty. Fix: write the keys sources, target_groups and "
                "service_types (see socialmap/taxonomies/README.md, or copy the shipped kosovo.yaml)."
            ),
            file=label,
        )
    data, lines, duplicates = _load_yaml(text, label)
    checker = _Checker(label, lines, duplicates)
    if data is None:
        raise TaxonomyError(
            N_(
                "Taxonomy file '{file}' is empty (only comments). Fix: write the keys sources, "
                "target_groups and service_types (see socialmap/taxonomies/README.md)."
            ),
            file=label,
        )
    taxonomy = checker.build(data, default_name)
    if checker.problems or taxonomy is None:
        raise TaxonomyError(checker.message())
    return taxonomy
