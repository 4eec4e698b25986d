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

import difflib
import importlib.resources
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from socialmap import settings
from socialmap.errors import N_, Number, Problem, TaxonomyError, ValidationError
from socialmap.schema import LANGUAGES

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

#: Version of the YAML schema this module reads.
SCHEMA_VERSION = 1

#: How a service type's need is worked out (see :meth:`Taxonomy.need_basis`).
NEED_BASES = ("rate", "standard", "whole_group", "unknown")

_PACKAGE_FOLDER = "taxonomies"
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

_TOP_KEYS = (
    "schema_version",
    "name",
    "description",
    "languages",
    "sources",
    "target_groups",
    "service_types",
)
_TOP_REQUIRED = ("sources", "target_groups", "service_types")
#: Optional numbers of a service type and the key of each one's source (None: needs none). What each
#: value may be is in :mod:`socialmap._taxonomy_schema`.
_SERVICE_NUMBERS = (
    ("catchment_m", "catchment_source"),
    ("catchment_min", "catchment_min_source"),
    ("places_per_1000", "places_per_1000_source"),
    ("unit_cost_eur_per_place_year", "unit_cost_source"),
    ("weight", None),
)


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """
    A citable source of a figure in the taxonomy.

    Attributes
    ----------
    key
        The key under ``sources:`` that rates and values refer to.
    citation
        Who published the figure, where, and what it says.
    url
        Address of the source, if known.
    accessed
        When the source was read, if recorded.
    note
        Caveats (e.g. "year not shown").
    """

    key: str
    citation: str
    url: str | None = None
    accessed: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TargetGroup:
    """
    A group of people a service type is for, and the rate that turns population into its size.

    Attributes
    ----------
    key
        Identifier, e.g. ``"older_people_65plus"``.
    labels
        Display names by language code (``en``, ``sq``, ``sr``).
    rate
        Intensive share of the whole population in the group (0-1), or ``None`` when unknown.
    sources
        Keys of :attr:`Taxonomy.sources` the rate rests on (empty when the rate is unknown).
    estimate
        Whether the rate is an estimate or derived rather than a published share.
    derivation
        How the rate was worked out (required when ``estimate`` is true).
    column
        Name of a population-table column holding the group's count (extensive); when the table
        has it, it takes precedence over the rate.
    sensitive
        Whether counts of this group must be suppressed when small (victims, children in care).
    weight
        Weight of this group's people in the composite gap, or ``None`` for the default (1).
    part_of
        Key of a larger group that contains this one (e.g. children with disabilities are part of
        persons with disabilities): a service type may not list both, which would count the
        smaller group twice.
    note
        Free text, e.g. why the rate is unknown.
    """

    key: str
    labels: dict[str, str]
    rate: float | None
    sources: tuple[str, ...] = ()
    estimate: bool = False
    derivation: str | None = None
    column: str | None = None
    sensitive: bool = False
    weight: float | None = None
    part_of: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ServiceType:
    """
    A kind of social service, whom it serves and its planning parameters.

    Attributes
    ----------
    key
        Identifier used in the services' ``service_type`` column, e.g. ``"csw"``.
    labels
        Display names by language code (``en``, ``sq``, ``sr``).
    target_groups
        Keys of the target groups it serves; its need is the sum over them of group × need rate
        (they must not overlap).
    need_rate
        Share of each target group that needs (or takes up) the service, separate from the group's
        prevalence: group key → share in [0, 1], ``None`` for unknown. ``None`` as a whole means
        the file gives no need rate: the whole target group is counted as need (an upper bound).
    need_rate_source
        Source keys of ``need_rate``.
    need_rate_estimate
        Whether the need rate is derived rather than published as such.
    need_rate_derivation
        How it was derived (required when ``need_rate_estimate`` is true).
    catchment_m
        Default catchment in metres where a source gives one, else ``None`` (the analysis then
        uses ``socialmap.settings.default_catchment_m``; see :meth:`Taxonomy.catchment_for`).
    catchment_source
        Source keys of ``catchment_m``.
    catchment_min
        Default catchment in minutes of travel on a road network (``socialmap.network``) where a source
        gives one, else ``None`` (``socialmap.settings.default_catchment_min``; see
        :meth:`Taxonomy.catchment_min_for`).
    catchment_min_source
        Source keys of ``catchment_min``.
    places_per_1000
        Planning standard: places per 1,000 of the target group, where a source gives one.
    places_per_1000_source
        Source keys of ``places_per_1000``.
    places_per_1000_of
        Target group the standard is per, when it is not the type's own (e.g. a shelter standard
        per 1,000 of the whole population); ``None`` = the type's target groups.
    unit_cost_eur_per_place_year
        Cost of one place for one year in EUR, where a source gives one.
    unit_cost_source
        Source keys of ``unit_cost_eur_per_place_year``.
    weight
        Weight in the composite gap, or ``None`` for the default (1).
    sensitive
        Whether its target-group counts must be suppressed when small.
    note
        Free text.
    """

    key: str
    labels: dict[str, str]
    target_groups: tuple[str, ...]
    need_rate: dict[str, float | None] | None = None
    need_rate_source: tuple[str, ...] = ()
    need_rate_estimate: bool = False
    need_rate_derivation: str | None = None
    catchment_m: float | None = None
    catchment_source: tuple[str, ...] = ()
    catchment_min: float | None = None
    catchment_min_source: tuple[str, ...] = ()
    places_per_1000: float | None = None
    places_per_1000_source: tuple[str, ...] = ()
    places_per_1000_of: str | None = None
    unit_cost_eur_per_place_year: float | None = None
    unit_cost_source: tuple[str, ...] = ()
    weight: float | None = None
    sensitive: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    """
    Service types, target groups and the sources of their figures.

    Build one with :func:`load_taxonomy`, which checks the file.

    Attributes
    ----------
    name
        Name of the taxonomy (e.g. ``"kosovo"``), for provenance.
    origin
        Where it was loaded from (a file path or ``socialmap:taxonomies/<name>.yaml``).
    service_types
        Service types by key, in file order.
    target_groups
        Target groups by key, in file order.
    sources
        Sources by key.
    description
        Free text from the file.
    schema_version
        Version of the YAML schema.
    languages
        The languages the labels are written in (the file's ``languages:``, default ``en``, ``sq``,
        ``sr``); the first stands in for any other (see :meth:`label`).
    """

    name: str
    origin: str
    service_types: dict[str, ServiceType]
    target_groups: dict[str, TargetGroup]
    sources: dict[str, Source] = field(default_factory=dict)
    description: str | None = None
    schema_version: int = SCHEMA_VERSION
    languages: tuple[str, ...] = LANGUAGES

    def has_language(self, lang: str) -> bool:
        """Whether every label is written in ``lang`` (else :meth:`label` gives the first language's)."""
        return lang in self.languages

    @property
    def service_type_keys(self) -> tuple[str, ...]:
        """Keys of the service types, in file order."""
        return tuple(self.service_types)

    @property
    def target_group_keys(self) -> tuple[str, ...]:
        """Keys of the target groups, in file order."""
        return tuple(self.target_groups)

    @property
    def sensitive_service_types(self) -> tuple[str, ...]:
        """Keys of the service types whose target-group counts are sensitive."""
        return tuple(k for k, s in self.service_types.items() if s.sensitive)

    def service_type(self, key: str) -> ServiceType:
        """
        Return one service type.

        Parameters
        ----------
        key
            A service-type key.

        Returns
        -------
        service_type
            The :class:`ServiceType`.

        Raises
        ------
        TaxonomyError
            If ``key`` is not a service type of this taxonomy.
        """
        try:
            return self.service_types[key]
        except (KeyError, TypeError):
            raise TaxonomyError(_unknown_key_message("service type", key, self.service_types, self)) from None

    def target_group(self, key: str) -> TargetGroup:
        """
        Return one target group.

        Parameters
        ----------
        key
            A target-group key.

        Returns
        -------
        target_group
            The :class:`TargetGroup`.

        Raises
        ------
        TaxonomyError
            If ``key`` is not a target group of this taxonomy.
        """
        try:
            return self.target_groups[key]
        except (KeyError, TypeError):
            raise TaxonomyError(_unknown_key_message("target group", key, self.target_groups, self)) from None

    def label(self, key: str, lang: str | None = None) -> str:
        """
        Return the display name of a service type or target group.

        Parameters
        ----------
        key
            A service-type or target-group key.
        lang
            Language code: ``"en"``, ``"sq"`` (Albanian) or ``"sr"`` (Serbian, Latin script).
            ``None`` means :func:`socialmap.i18n.default_language` (``SOCIALMAP_LANG``, the
            locale, else ``socialmap.settings.default_language``), as everywhere else.

        Returns
        -------
        label
            The label in that language; in the taxonomy's first language (:attr:`languages`) when it
            has none in ``lang`` (check with :meth:`has_language`).

        Raises
        ------
        TaxonomyError
            If the key or the language is unknown.
        """
        if lang is None:
            from socialmap.i18n import default_language

            lang = default_language()
        if lang not in LANGUAGES:
            raise TaxonomyError(f"`lang` must be one of {list(LANGUAGES)}; got {lang!r}.")
        if key in self.service_types:
            return self._in(self.service_types[key].labels, lang)
        if key in self.target_groups:
            return self._in(self.target_groups[key].labels, lang)
        known = {**self.service_types, **self.target_groups}
        raise TaxonomyError(_unknown_key_message("service type or target group", key, known, self))

    def _in(self, labels: dict[str, str], lang: str) -> str:
        if lang in labels:
            return labels[lang]
        return labels.get(self.languages[0]) or next(iter(labels.values()))

    def need_rates(self, service_type: str) -> dict[str, float | None]:
        """
        Return the rate of each target group a service type serves.

        Parameters
        ----------
        service_type
            A service-type key.

        Returns
        -------
        rates
            Target-group key → intensive rate (share of the whole population), or ``None`` where
            the rate is unknown (then the need from rates alone is unknown).
        """
        st = self.service_type(service_type)
        return {g: self.target_groups[g].rate for g in st.target_groups}

    def need_is_known(self, service_type: str) -> bool:
        """
        Tell whether the rates alone determine a service type's need.

        Parameters
        ----------
        service_type
            A service-type key.

        Returns
        -------
        known
            ``False`` when any group the need rests on (its target groups, or the standard's
            groups when the need comes from a planning standard) has no rate, or when the need
            basis is ``"unknown"``.
        """
        basis = self.need_basis(service_type)
        if basis == "unknown":
            return False
        groups = (
            self.standard_groups(service_type)
            if basis == "standard"
            else self.service_type(service_type).target_groups
        )
        return all(self.target_groups[g].rate is not None for g in groups)

    def catchment_for(self, service_type: str) -> float:
        """
        Return the catchment (metres) to use for a service type.

        Parameters
        ----------
        service_type
            A service-type key.

        Returns
        -------
        catchment_m
            The taxonomy's sourced ``catchment_m``, or else ``socialmap.settings.default_catchment_m``
            read at call time (a modelling default, not a sourced figure).
        """
        st = self.service_type(service_type)
        return float(settings.default_catchment_m) if st.catchment_m is None else st.catchment_m

    def catchment_min_for(self, service_type: str) -> float:
        """
        Return the catchment (minutes of travel on a road network) to use for a service type.

        Parameters
        ----------
        service_type
            A service-type key.

        Returns
        -------
        catchment_min
            The taxonomy's sourced ``catchment_min``, or else ``socialmap.settings.default_catchment_min``
            read at call time (a modelling default, not a sourced figure).
        """
        st = self.service_type(service_type)
        return float(settings.default_catchment_min) if st.catchment_min is None else st.catchment_min

    def composite_weights(self) -> dict[str, float]:
        """
        Return the weight of each service type in the composite gap.

        Returns
        -------
        weights
            Service-type key → weight; a blank weight counts as 1 (equal weighting).
        """
        return {k: 1.0 if s.weight is None else s.weight for k, s in self.service_types.items()}

    def citation(self, keys: tuple[str, ...] | list[str]) -> str:
        """
        Join the citations of some sources into one line.

        Parameters
        ----------
        keys
            Source keys.

        Returns
        -------
        citation
            The citations separated by ``" | "`` (empty when ``keys`` is empty).
        """
        return " | ".join(self.sources[k].citation for k in keys if k in self.sources)

    def group_count(self, group: str, population: pd.DataFrame) -> pd.Series:
        """
        Estimate the size of a target group in each row of a population table.

        Where the table has the group's ``column``, its values are used; in rows where that column
        is empty, and in tables without it, the count is ``population × rate``. Where neither is
        available the count is NaN (unknown), never 0.

        Parameters
        ----------
        group
            A target-group key.
        population
            A table with an extensive ``population`` column (persons), and optionally the group's
            count column (e.g. ``pop_65plus``).

        Returns
        -------
        counts
            Extensive float counts (persons) on the table's index, named after the group.

        Raises
        ------
        ValidationError
            If a column needed is missing or not numeric.
        """
        tg = self.target_group(group)
        counts = pd.Series(math.nan, index=population.index, dtype=float, name=group)
        if tg.column is not None and tg.column in population.columns:
            counts = _numeric_column(population, tg.column).rename(group)
            if not counts.isna().any() or tg.rate is None:
                return counts
        if tg.rate is None:
            return counts
        if "population" not in population.columns:
            raise ValidationError(
                [
                    Problem(
                        file="population",
                        row=None,
                        column="population",
                        message=f"the table has no 'population' column, needed for target group "
                        f"'{group}' (population × rate {tg.rate:g}); found {list(population.columns)}.",
                        fix=f"add a 'population' column, or a '{tg.column}' column with the group's counts."
                        if tg.column
                        else "add a 'population' column.",
                    )
                ]
            )
        from_rate = _numeric_column(population, "population") * tg.rate
        return counts.fillna(from_rate).rename(group)

    def need_share(self, service_type: str, group: str) -> float | None:
        """
        Return the share of a target group that needs a service type (its need or take-up rate).

        Parameters
        ----------
        service_type
            A service-type key.
        group
            One of its target groups.

        Returns
        -------
        share
            The sourced need rate (0-1); ``1.0`` when the taxonomy gives no need rate for the type
            (the whole group is counted, an upper bound); ``None`` when the rate is blank (unknown).
        """
        st = self.service_type(service_type)
        if group not in st.target_groups:
            raise TaxonomyError(f"service type {service_type!r} does not serve target group {group!r}.")
        return 1.0 if st.need_rate is None else st.need_rate.get(group)

    def need_basis(self, service_type: str) -> str:
        """
        Tell how the need of a service type is worked out.

        Parameters
        ----------
        service_type
            A service-type key.

        Returns
        -------
        basis
            One of :data:`NEED_BASES`: ``"rate"`` (target group × sourced need rate),
            ``"standard"`` (no need rate, but a planning standard: need = the places the standard
            asks for), ``"whole_group"`` (no need rate given: the whole target group, an upper
            bound) or ``"unknown"`` (blank need rate and no standard: only relative measures).
        """
        st = self.service_type(service_type)
        if st.need_rate is None:
            return "whole_group"
        if all(v is not None for v in st.need_rate.values()):
            return "rate"
        return "standard" if st.places_per_1000 is not None else "unknown"

    def standard_groups(self, service_type: str) -> tuple[str, ...]:
        """Return the target groups a service type's planning standard is per (``places_per_1000_of``)."""
        st = self.service_type(service_type)
        return (st.places_per_1000_of,) if st.places_per_1000_of else st.target_groups

    def target_size(self, service_type: str, population: pd.DataFrame) -> pd.Series:
        """
        Count the people in a service type's target groups in each row of a population table.

        Parameters
        ----------
        service_type
            A service-type key.
        population
            A table with ``population`` and optional group-count columns.

        Returns
        -------
        size
            Extensive float counts (persons); NaN where a group's size is unknown.
        """
        st = self.service_type(service_type)
        total = pd.Series(0.0, index=population.index, dtype=float)
        for g in st.target_groups:
            total = total + self.group_count(g, population)
        return total.rename(service_type)

    def standard_places(self, service_type: str, population: pd.DataFrame) -> pd.Series:
        """
        Places a service type's planning standard asks for in each row of a population table.

        Parameters
        ----------
        service_type
            A service-type key.
        population
            A table with ``population`` and optional group-count columns.

        Returns
        -------
        places
            ``places_per_1000 / 1000 ×`` the size of the standard's group(s); NaN when the type has
            no standard or the group's size is unknown.
        """
        st = self.service_type(service_type)
        if st.places_per_1000 is None:
            return pd.Series(math.nan, index=population.index, dtype=float, name=service_type)
        total = pd.Series(0.0, index=population.index, dtype=float)
        for g in self.standard_groups(service_type):
            total = total + self.group_count(g, population)
        return (total * st.places_per_1000 / 1000.0).rename(service_type)

    def need(self, service_type: str, population: pd.DataFrame) -> pd.Series:
        """
        Compute the need of a service type in each row of a population table.

        need = Σ over its target groups of the group's count (see :meth:`group_count`) × the share
        of the group that needs the service (:meth:`need_share`). Without a need rate but with a
        planning standard, need is the places the standard asks for (:meth:`standard_places`).
        The result is extensive (persons): sum it over areas, never average it.

        Parameters
        ----------
        service_type
            A service-type key.
        population
            A table with an extensive ``population`` column and optional group-count columns.

        Returns
        -------
        need
            Float need on the table's index, named after the service type; NaN (unknown) in rows
            where any of its target groups is unknown, and everywhere when the need basis is
            ``"unknown"``.
        """
        st = self.service_type(service_type)
        basis = self.need_basis(service_type)
        if basis == "unknown":
            return pd.Series(math.nan, index=population.index, dtype=float, name=service_type)
        if basis == "standard":
            return self.standard_places(service_type, population)
        total = pd.Series(0.0, index=population.index, dtype=float)
        for g in st.target_groups:
            share = self.need_share(service_type, g)
            total = total + self.group_count(g, population) * float(share if share is not None else math.nan)
        return total.rename(service_type)

    def shared_groups(self) -> dict[str, tuple[str, ...]]:
        """
        Return the target groups served by more than one service type counting the whole group.

        Returns
        -------
        shared
            Group key → the service types without a need rate that serve it. Their need counts the
            same people more than once (each type takes the whole group); the composite weighs the
            group once, and costing refuses standards for them adding up to more than 1,000 per 1,000.
        """
        out: dict[str, list[str]] = {}
        for key, st in self.service_types.items():
            if st.need_rate is None:
                for g in st.target_groups:
                    out.setdefault(g, []).append(key)
        return {g: tuple(v) for g, v in out.items() if len(v) > 1}

    def group_weights(self) -> dict[str, float]:
        """
        Return the weight of each target group's people in the composite gap.

        Returns
        -------
        weights
            Target-group key → weight; a blank weight counts as 1 (every group weighs the same,
            whatever the number of service types serving it).
        """
        return {k: 1.0 if g.weight is None else g.weight for k, g in self.target_groups.items()}

    def to_frame(self) -> pd.DataFrame:
        """
        Return the taxonomy as a tidy table for display and export.

        One row per (service type, target group) pair, in file order; target groups that no service
        type serves follow with an empty ``service_type``, so every rate and its source is listed.

        Returns
        -------
        table
            Columns: ``service_type``, ``service_label_en``/``_sq``/``_sr``, ``target_group``,
            ``group_label_en``/``_sq``/``_sr``, ``rate`` (intensive; NaN = unknown),
            ``rate_estimate``, ``rate_derivation``, ``rate_sources`` (keys), ``rate_citation``,
            ``count_column``, ``group_weight`` (the group's composite weight), ``need_basis``,
            ``need_rate`` (share of the group needing the service; NaN = unknown), ``need_rate_estimate``,
            ``need_rate_derivation``, ``need_rate_citation``, ``catchment_m``, ``catchment_citation``,
            ``places_per_1000``, ``places_per_1000_citation``, ``places_per_1000_of``,
            ``unit_cost_eur_per_place_year``, ``unit_cost_citation``, ``weight``, ``sensitive``.
        """
        rows: list[dict[str, Any]] = []
        served: set[str] = set()
        for st in self.service_types.values():
            for g in st.target_groups:
                served.add(g)
                rows.append(self._row(st, self.target_groups[g]))
        for g, tg in self.target_groups.items():
            if g not in served:
                rows.append(self._row(None, tg))
        columns = [
            "service_type",
            *(f"service_label_{lang}" for lang in LANGUAGES),
            "target_group",
            *(f"group_label_{lang}" for lang in LANGUAGES),
            "rate",
            "rate_estimate",
            "rate_derivation",
            "rate_sources",
            "rate_citation",
            "count_column",
            "group_weight",
            "need_basis",
            "need_rate",
            "need_rate_estimate",
            "need_rate_derivation",
            "need_rate_citation",
            "catchment_m",
            "catchment_citation",
            "places_per_1000",
            "places_per_1000_citation",
            "places_per_1000_of",
            "unit_cost_eur_per_place_year",
            "unit_cost_citation",
            "weight",
            "sensitive",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        for col in (
            "rate",
            "group_weight",
            "need_rate",
            "catchment_m",
            "places_per_1000",
            "unit_cost_eur_per_place_year",
            "weight",
        ):
            frame[col] = frame[col].astype(float)
        return frame

    def _row(self, st: ServiceType | None, tg: TargetGroup) -> dict[str, Any]:
        """Build one row of :meth:`to_frame`."""
        row: dict[str, Any] = {"service_type": None if st is None else st.key}
        for lang in LANGUAGES:
            row[f"service_label_{lang}"] = None if st is None else st.labels.get(lang)
        row["target_group"] = tg.key
        for lang in LANGUAGES:
            row[f"group_label_{lang}"] = tg.labels.get(lang)
        row.update(
            rate=tg.rate,
            rate_estimate=tg.estimate,
            rate_derivation=tg.derivation if tg.rate is not None else tg.note,
            rate_sources="; ".join(tg.sources) or None,
            rate_citation=self.citation(tg.sources) or None,
            count_column=tg.column,
            group_weight=1.0 if tg.weight is None else tg.weight,
            need_basis=None if st is None else self.need_basis(st.key),
            need_rate=None if st is None else self.need_share(st.key, tg.key),
            need_rate_estimate=None if st is None else st.need_rate_estimate,
            need_rate_derivation=None if st is None else st.need_rate_derivation,
            need_rate_citation=None if st is None else self.citation(st.need_rate_source) or None,
            catchment_m=None if st is None else st.catchment_m,
            catchment_citation=None if st is None else self.citation(st.catchment_source) or None,
            places_per_1000=None if st is None else st.places_per_1000,
            places_per_1000_citation=None if st is None else self.citation(st.places_per_1000_source) or None,
            places_per_1000_of=None if st is None else st.places_per_1000_of,
            unit_cost_eur_per_place_year=None if st is None else st.unit_cost_eur_per_place_year,
            unit_cost_citation=None if st is None else self.citation(st.unit_cost_source) or None,
            weight=None if st is None else st.weight,
            sensitive=tg.sensitive if st is None else st.sensitive,
        )
        return row


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
    hint = f" or one of the shipped names {list(shipped)}"
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
            f"Taxonomy file '{label}' not found. Fix: give the path of an existing YAML file{hint}."
        ) from None
    except IsADirectoryError:
        raise TaxonomyError(
            f"Taxonomy file '{label}' is a folder, not a file. Fix: give the path of a YAML file{hint}."
        ) from None
    except UnicodeDecodeError as exc:
        raise TaxonomyError(
            f"Taxonomy file '{label}' is not UTF-8 text (byte {exc.start}). Fix: save it as UTF-8."
        ) from None
    except OSError as exc:
        raise TaxonomyError(f"Taxonomy file '{label}' cannot be read: {exc}. Fix: check the path.") from None
    return _parse(text, label, default_name=path.stem)


def _parse(text: str, label: str, *, default_name: str) -> Taxonomy:
    """Parse YAML text, check it and build the taxonomy (raises one TaxonomyError for all problems)."""
    if not text.strip():
        raise TaxonomyError(
            f"Taxonomy file '{label}' is empty. Fix: write the keys sources, target_groups and "
            "service_types (see socialmap/taxonomies/README.md, or copy the shipped kosovo.yaml)."
        )
    try:
        _check_yaml_cost(text, label)
        # libyaml's loader where PyYAML has it (the same nodes and data, 5x faster); an error is reported
        # from the Python loader, whose messages the checks were written against.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            node = yaml.compose(text, Loader=loader)
            data = yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"Taxonomy file '{label}' is not valid YAML: {_yaml_error(exc)}") from None
    lines, duplicates = _line_index(node)
    checker = _Checker(label, lines, duplicates)
    if data is None:
        raise TaxonomyError(
            f"Taxonomy file '{label}' is empty (only comments). Fix: write the keys sources, "
            "target_groups and service_types (see socialmap/taxonomies/README.md)."
        )
    taxonomy = checker.build(data, default_name)
    if checker.problems or taxonomy is None:
        raise TaxonomyError(checker.message())
    return taxonomy


def _check_yaml_cost(text: str, label: str) -> None:
    """
    Refuse YAML that would cost too much to build, from its stream of events, before it is built.

    PyYAML's composer and constructor recurse once per level of nesting, and aliases (``*name``) stand
    for their anchored node wherever they occur: 5,000 nested lists end in a ``RecursionError``, a node
    that contains an alias to itself in endless recursion in any code that walks it, and nine levels of
    ten aliases ("billion laughs") stand for a billion nodes. The parser itself does not recurse, so the
    events are counted here: the depth of nesting (at most ``settings.max_yaml_depth``), and the number
    of nodes with every alias expanded (at most ``settings.max_yaml_nodes``), in one pass and without
    expanding anything; an alias to a node that is still open (to itself) is refused.
    """
    anchors: dict[str, int] = {}
    open_nodes: list[list[Any]] = []  # [anchor, expanded size so far] of each collection still open

    def add(size: int) -> None:
        if open_nodes:
            open_nodes[-1][1] += size
            size = open_nodes[-1][1]
        if size > settings.max_yaml_nodes:
            raise TaxonomyError(
                N_(
                    "Taxonomy file '{file}' stands for more than {limit} YAML nodes once its aliases (*name) "
                    "are expanded (`socialmap.settings.max_yaml_nodes`); it was refused before being built. "
                    "Fix: write the values out instead of nesting aliases."
                ),
                file=label,
                limit=Number(settings.max_yaml_nodes, ","),
            )

    def count(loader: Any) -> None:
        anchors.clear()
        open_nodes.clear()
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _ in open_nodes):
                    mark = event.start_mark
                    raise TaxonomyError(
                        N_(
                            "Taxonomy file '{file}', line {line}: the alias *{alias} refers to a node that "
                            "contains it, so the taxonomy would never end. Fix: write the values out."
                        ),
                        file=label,
                        line=mark.line + 1 if mark is not None else "?",
                        alias=_short(str(event.anchor)),
                    )
                add(anchors.get(str(event.anchor), 1))  # an undefined alias: yaml.compose says so below
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    anchors[str(event.anchor)] = 1
                add(1)
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(open_nodes) >= settings.max_yaml_depth:
                    mark = event.start_mark
                    raise TaxonomyError(
                        N_(
                            "Taxonomy file '{file}', line {line}: lists and mappings are nested more than "
                            "{limit} deep (`socialmap.settings.max_yaml_depth`). Fix: a taxonomy nests a few "
                            "levels (see the shipped kosovo.yaml); check the indentation and brackets."
                        ),
                        file=label,
                        line=mark.line + 1 if mark is not None else "?",
                        limit=settings.max_yaml_depth,
                    )
                open_nodes.append([event.anchor, 1])
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, size = open_nodes.pop()
                if anchor is not None:
                    anchors[str(anchor)] = size
                add(size)

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:  # libyaml's parser: the same events, several times faster
        try:
            count(fast)
            return
        except yaml.YAMLError:
            pass  # again with the Python parser: its messages, and the limits checked up to the error
    count(yaml.SafeLoader)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _yaml_error(exc: yaml.YAMLError) -> str:
    """Describe a YAML syntax error with its line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = f"{context}, {problem}" if context else str(problem)
    return (
        f"{where}{what}. Fix: check the indentation (spaces, not tabs), colons after keys and "
        "quotes around text containing ': ' or '#' near that line."
    )


def _line_index(node: yaml.Node | None) -> tuple[dict[str, int], list[tuple[str, int, int]]]:
    """Map YAML paths (``a.b[0]``) to 1-based lines; list keys written twice in one mapping."""
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int, int]] = []

    def walk(n: yaml.Node, path: str) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in n.value:
                key = str(key_node.value)
                sub = f"{path}.{key}" if path else key
                line = key_node.start_mark.line + 1
                if key in seen:
                    duplicates.append((sub, seen[key], line))
                seen[key] = line
                lines[sub] = line  # YAML keeps the last of duplicate keys, so point at it
                walk(value_node, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                sub = f"{path}[{i}]"
                lines[sub] = item.start_mark.line + 1
                walk(item, sub)

    if node is not None:
        walk(node, "")
    return lines, duplicates


def _numeric_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return a column as floats, or raise ValidationError if it holds non-numbers."""
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    bad = values.isna() & frame[column].notna()
    if bad.any():
        first = frame.index[bad.to_numpy()][0]
        raise ValidationError(
            [
                Problem(
                    file="population",
                    row=None,
                    column=column,
                    message=f"column '{column}' holds non-numbers, e.g. {frame[column][first]!r} "
                    f"at index {first!r}.",
                    fix="write plain numbers (no units or thousands separators); leave unknown counts empty.",
                )
            ]
        )
    return values


def _unknown_key_message(kind: str, key: object, known: Mapping[str, Any], tax: Taxonomy) -> str:
    """Explain an unknown key, with the closest match and the known keys."""
    guess = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean {guess[0]!r}? If not, " if guess else ""
    return (
        f"Unknown {kind} {key!r} in taxonomy '{tax.name}'. Fix: {hint}use one of {sorted(known)} "
        f"(defined in {tax.origin})."
    )


class _Checker:
    """Collect every problem of a taxonomy's parsed YAML, then build it if there are none."""

    def __init__(self, label: str, lines: dict[str, int], duplicates: list[tuple[str, int, int]]) -> None:
        self.label = label
        self.lines = lines
        self.duplicate_keys = duplicates
        self.problems: list[str] = []
        self.languages: tuple[str, ...] = LANGUAGES

    # -- reporting ---------------------------------------------------------------------------

    def add(self, path: str, what: str, fix: str) -> None:
        """Record one problem at a YAML path."""
        where = path
        if path in self.lines:
            where = f"{path} (line {self.lines[path]})"
        else:  # a missing key: point at the block it belongs in
            parent = _parent_path(path)
            while parent and parent not in self.lines:
                parent = _parent_path(parent)
            if parent:
                where = f"{path} (in the block at line {self.lines[parent]})"
        self.problems.append(f"{where}: {what} Fix: {fix}")

    def message(self) -> str:
        """Return the full error message."""
        n = len(self.problems)
        head = f"Taxonomy file '{self.label}' has {n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])

    # -- generic checks ----------------------------------------------------------------------

    def mapping(self, value: Any, path: str, what: str) -> dict[Any, Any] | None:
        """Check that a value is a mapping."""
        if isinstance(value, dict):
            return value
        self.add(
            path,
            f"must be a mapping of {what}; found {_describe(value)}.",
            f"write {what} as `key: value` lines indented under it.",
        )
        return None

    def unknown_keys(self, block: dict[Any, Any], path: str, allowed: tuple[str, ...]) -> None:
        """Report keys that are not in ``allowed`` (typo guard)."""
        for key in block:
            if key in allowed:
                continue
            sub = f"{path}.{key}" if path else str(key)
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            fix = f"did you mean '{guess[0]}'? If not, remove it; " if guess else "remove it; "
            self.add(sub, f"unknown key '{key}'.", f"{fix}allowed keys here: {', '.join(allowed)}.")

    def duplicates(self) -> None:
        """Report keys written twice in the same mapping (YAML keeps only the last)."""
        for path, first, again in self.duplicate_keys:
            self.add(
                path,
                f"key written twice (lines {first} and {again}); only the one at line {again} counts.",
                "keep one of them (merge their contents).",
            )

    def key_name(self, key: Any, path: str, kind: str) -> bool:
        """Check that a service-type / group / source key is a lower-case identifier."""
        if isinstance(key, str) and _KEY_PATTERN.match(key):
            return True
        self.add(
            f"{path}.{key}",
            f"{kind} key {key!r} is not a lower-case identifier.",
            "use lower-case letters, digits and underscores, starting with a letter (e.g. 'day_care').",
        )
        return False

    def text(self, value: Any, path: str, *, required: bool, what: str) -> str | None:
        """Check an optional or required non-empty text."""
        if value is None:
            if required:
                self.add(path, f"{what} is missing.", f"write {what} as text.")
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.add(path, f"{what} must be non-empty text; found {_describe(value)}.", f"write {what} as text.")
        return None

    def share(self, value: Any, path: str) -> float | None:
        """Check a need rate (pydantic: a finite share between 0 and 1, or null); ``None`` when wrong."""
        from socialmap._taxonomy_schema import NeedRate

        fields = self.fields(NeedRate, {"share": value}, path, key_in_path=False)
        return None if fields is None else fields.share

    def source_keys(
        self, value: Any, path: str, sources: set[str], *, required: bool, what: str
    ) -> tuple[str, ...]:
        """Check a source reference: one key or a list of keys of ``sources:``."""
        if value is None or value == [] or value == "":
            if required:
                self.add(
                    path,
                    f"{what} has no source.",
                    f"add `{path.rsplit('.', 1)[-1]}: <key>` naming an entry under `sources:` (add one "
                    "there with its citation), or set the value to null if no source gives it.",
                )
            return ()
        items = value if isinstance(value, list) else [value]
        keys: list[str] = []
        for i, item in enumerate(items):
            sub = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(item, str):
                self.add(
                    sub,
                    f"a source must be a key of `sources:`; found {_describe(item)}.",
                    "write the key of an entry under `sources:`.",
                )
            elif item not in sources:
                guess = difflib.get_close_matches(item, sorted(sources), n=1)
                hint = f"did you mean '{guess[0]}'? If not, " if guess else ""
                self.add(
                    sub,
                    f"unknown source '{item}'.",
                    f"{hint}use a key under `sources:` ({', '.join(sorted(sources)) or 'none defined'}) or "
                    f"add '{item}' there with its citation.",
                )
            else:
                keys.append(item)
        return tuple(keys)

    def label_languages(self, value: Any) -> tuple[str, ...]:
        """Check ``languages``: a list of language codes the labels are written in (default all three)."""
        if value is None:
            return LANGUAGES
        codes = [value] if isinstance(value, str) else value
        fix = f"write e.g. `languages: [en]`, with codes from {', '.join(LANGUAGES)}."
        if not isinstance(codes, list) or not codes:
            self.add("languages", f"must be a list of language codes; found {_describe(value)}.", fix)
            return LANGUAGES
        bad = [c for c in codes if c not in LANGUAGES]
        if bad:
            self.add("languages", f"unknown language code(s) {bad}.", fix)
            return LANGUAGES
        return tuple(dict.fromkeys(codes))

    def labels(self, value: Any, path: str) -> dict[str, str]:
        """Check a label block: one non-empty text per language of ``languages:`` (others optional)."""
        langs = ", ".join(self.languages)
        if value is None:
            self.add(
                path,
                "labels are missing.",
                f"add `label:` with one line per language ({langs}), e.g. `en: Day care`.",
            )
            return {}
        block = self.mapping(value, path, f"labels by language ({langs})")
        if block is None:
            return {}
        self.unknown_keys(block, path, LANGUAGES)
        out: dict[str, str] = {}
        for lang in LANGUAGES:
            text = block.get(lang)
            if text is None and lang not in self.languages:
                continue
            if text is None or not (isinstance(text, str) and text.strip()):
                what = "missing" if text is None else f"not text ({_describe(text)})"
                self.add(
                    f"{path}.{lang}",
                    f"label in '{lang}' is {what}.",
                    f"add `{lang}: <name>` under {path} (labels are needed in {langs}).",
                )
            else:
                out[lang] = text.strip()
        return out

    def fields(self, model: Any, item: dict[Any, Any], path: str, *, key_in_path: bool = True) -> Any:
        """
        Check an entry's own fields with its pydantic model; return the model (``None``: cannot be built).

        Every error is reported at its key (``path.key``, with its line); a field in error is then taken
        as not given (``None`` / its default), so that the checks across entries still run.
        """
        from pydantic import ValidationError as FieldErrors

        try:
            return model.model_validate(item)
        except FieldErrors as exc:
            errors = exc.errors(include_url=False)
        bad = set()
        for error in errors:
            key = str(error["loc"][0]) if error["loc"] else ""
            bad.add(key)
            where = f"{path}.{key}" if key and key_in_path else path
            self.field_problem(model, where, key, error, item.get(key))
        kept = {k: v for k, v in item.items() if k in model.model_fields and k not in bad}
        for key in bad & set(model.model_fields):
            if model.model_fields[key].is_required():
                kept[key] = None
        try:
            return model.model_validate(kept)
        except FieldErrors:
            return None  # a required field in error that cannot be null (a source's citation)

    def field_problem(self, model: Any, path: str, key: str, error: Mapping[str, Any], value: Any) -> None:
        """Report one pydantic error (its type and bounds) as the message of that kind of value."""
        kind = str(error["type"])
        info = model.model_fields.get(key)
        what = (info.description if info is not None else None) or key
        if kind == "extra_forbidden":
            allowed = tuple(model.model_fields)
            guess = difflib.get_close_matches(key, allowed, n=1)
            fix = f"did you mean '{guess[0]}'? If not, remove it; " if guess else "remove it; "
            self.add(path, f"unknown key '{key}'.", f"{fix}allowed keys here: {', '.join(allowed)}.")
        elif kind == "missing" and key == "rate":
            self.add(
                path,
                "the rate is missing.",
                "write `rate: <share between 0 and 1>` with its `source:`, or `rate: null` if no "
                "figure is known (the need is then unknown, not zero).",
            )
        elif kind == "missing":
            self.add(path, f"{what} is missing.", f"write {what} as text.")
        elif kind == "bool_type":
            self.add(
                path, f"must be true or false; found {_describe(value)}.", "write true or false (no quotes)."
            )
        elif kind.startswith("string_"):
            found = _describe(value)
            self.add(path, f"{what} must be non-empty text; found {found}.", f"write {what} as text.")
        elif kind == "finite_number":
            self.add(
                path,
                f"must be a finite number ({what}); found {value!r}.",
                "write a number, or null if unknown.",
            )
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            number = float(value)
            if number < 0:
                fix = "numbers here cannot be negative; check the sign."
            elif kind == "less_than_equal" and float(error.get("ctx", {}).get("le", 0)) == 1:
                fix = "write a share between 0 and 1 (e.g. 5.2 % → 0.052), not a percentage."
            else:
                fix = f"write {what}."
            self.add(path, f"{number:g} is out of range: must be {what}.", fix)
        elif kind.startswith(("float_", "int_")):
            fix = "write a plain number without quotes, units or % sign"
            if isinstance(value, str) and value.strip().endswith("%"):
                fix = "write the share as a decimal without % (e.g. 5 % → 0.05)"
            self.add(
                path, f"must be a number ({what}); found {_describe(value)}.", f"{fix}, or null if unknown."
            )
        else:  # a kind of error the models do not make today: pydantic's own words
            self.add(path, f"{error['msg']}; found {_describe(value)}.", f"write {what} as the schema says.")

    # -- sections ----------------------------------------------------------------------------

    def build(self, data: Any, default_name: str) -> Taxonomy | None:
        """Check everything; return the taxonomy when there is no problem."""
        if not isinstance(data, dict):
            self.add(
                "(top level)",
                f"must be a mapping with keys {', '.join(_TOP_REQUIRED)}; found {_describe(data)}.",
                "start from the shipped kosovo.yaml and edit it.",
            )
            return None
        self.duplicates()
        self.unknown_keys(data, "", _TOP_KEYS)
        for key in _TOP_REQUIRED:
            if key not in data:
                self.add(
                    key,
                    f"required section '{key}' is missing.",
                    f"add `{key}:` at the top level (see socialmap/taxonomies/README.md).",
                )
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            self.add(
                "schema_version",
                f"unsupported schema version {version!r}.",
                f"write `schema_version: {SCHEMA_VERSION}` and follow that schema.",
            )
        name = self.text(data.get("name"), "name", required=False, what="the taxonomy name") or default_name
        description = self.text(
            data.get("description"), "description", required=False, what="the description"
        )

        self.languages = self.label_languages(data.get("languages"))
        sources = self.sources(data.get("sources"))
        groups = self.groups(data.get("target_groups"), set(sources))
        services = self.services(data.get("service_types"), groups, set(sources))
        self.overlaps(services, groups)
        if self.problems:
            return None
        return Taxonomy(
            name=name,
            origin=self.label,
            service_types=services,
            target_groups=groups,
            sources=sources,
            description=description,
            schema_version=SCHEMA_VERSION,
            languages=self.languages,
        )

    def sources(self, value: Any) -> dict[str, Source]:
        """Check the ``sources`` section."""
        from socialmap._taxonomy_schema import SourceFields

        out: dict[str, Source] = {}
        if value is None:
            return out
        block = self.mapping(value, "sources", "sources (key: citation block)")
        if block is None:
            return out
        for key, entry in block.items():
            path = f"sources.{key}"
            if not self.key_name(key, "sources", "source"):
                continue
            if isinstance(entry, str):
                entry = {"citation": entry}
            item = self.mapping(entry, path, "source fields (citation, url, accessed, note)")
            if item is None:
                continue
            fields = self.fields(SourceFields, item, path)
            if fields is not None:
                out[key] = Source(key=key, **fields.model_dump())
        return out

    def groups(self, value: Any, sources: set[str]) -> dict[str, TargetGroup]:
        """Check the ``target_groups`` section."""
        from socialmap._taxonomy_schema import GroupFields

        out: dict[str, TargetGroup] = {}
        if value is None:
            return out
        block = self.mapping(value, "target_groups", "target groups")
        if block is None:
            return out
        if not block:
            self.add("target_groups", "no target group is defined.", "define at least one target group.")
        for key, entry in block.items():
            path = f"target_groups.{key}"
            if not self.key_name(key, "target_groups", "target group"):
                continue
            item = self.mapping(entry, path, "target-group fields")
            if item is None:
                continue
            fields = self.fields(GroupFields, item, path)
            labels = self.labels(item.get("label"), f"{path}.label")
            srcs = self.source_keys(
                item.get("source"),
                f"{path}.source",
                sources,
                required=item.get("rate") is not None,
                what="the rate",
            )
            rate, estimate, derivation = fields.rate, fields.estimate, fields.derivation
            if estimate and rate is not None and derivation is None and item.get("derivation") is None:
                self.add(
                    f"{path}.derivation",
                    "the rate is marked `estimate: true` but does not say how it was derived.",
                    "add `derivation:` with the arithmetic and its inputs "
                    "(e.g. '91,500 / 1,739,825 = 0.0526, computed here').",
                )
            column, sensitive, weight = fields.column, fields.sensitive, fields.weight
            part_of, note = fields.part_of, fields.note
            out[key] = TargetGroup(
                key=key,
                labels=labels,
                rate=rate,
                sources=srcs,
                estimate=estimate,
                derivation=derivation,
                column=column,
                sensitive=sensitive,
                weight=weight,
                part_of=part_of,
                note=note,
            )
        for key, tg in out.items():
            if tg.part_of is not None and (tg.part_of not in out or tg.part_of == key):
                guess = difflib.get_close_matches(tg.part_of, list(out), n=1)
                hint = f"did you mean '{guess[0]}'? If not, " if guess else ""
                self.add(
                    f"target_groups.{key}.part_of",
                    f"'{tg.part_of}' is not another target group.",
                    f"{hint}name the key of the larger group under `target_groups:` that contains this one.",
                )
        return out

    def need_rate(
        self, item: dict[Any, Any], path: str, served: tuple[str, ...], sources: set[str], fields: Any
    ) -> dict[str, Any]:
        """Check a service type's ``need_rate`` (one share for all its groups, or one per group)."""
        out: dict[str, Any] = {"need_rate": None}
        if "need_rate" in item:
            value = item.get("need_rate")
            rates: dict[str, float | None] = {}
            if isinstance(value, dict):
                for g, v in value.items():
                    if g not in served:
                        self.add(
                            f"{path}.need_rate.{g}",
                            f"'{g}' is not one of this service type's target groups ({', '.join(served)}).",
                            "give a need rate for each listed target group, by its key.",
                        )
                        continue
                    rates[g] = self.share(v, f"{path}.need_rate.{g}")
                for g in served:
                    if g not in value:
                        self.add(
                            f"{path}.need_rate",
                            f"no need rate for target group '{g}'.",
                            f"add `{g}: <share>` (or `{g}: null` if no source gives it).",
                        )
            else:
                number = self.share(value, f"{path}.need_rate")
                rates = {g: number for g in served}
            out["need_rate"] = rates
            given = any(v is not None for v in rates.values())
        else:
            given = False
        out["need_rate_source"] = self.source_keys(
            item.get("need_rate_source"),
            f"{path}.need_rate_source",
            sources,
            required=given,
            what="the need rate",
        )
        out["need_rate_estimate"] = fields.need_rate_estimate
        out["need_rate_derivation"] = fields.need_rate_derivation
        if out["need_rate_estimate"] and given and out["need_rate_derivation"] is None:
            self.add(
                f"{path}.need_rate_derivation",
                "the need rate is marked `need_rate_estimate: true` but does not say how it was derived.",
                "add `need_rate_derivation:` with the arithmetic and its inputs.",
            )
        return out

    def overlaps(self, services: dict[str, ServiceType], groups: dict[str, TargetGroup]) -> None:
        """Refuse taxonomies that would count a person twice in one composite or budget."""

        def ancestors(g: str) -> set[str]:
            seen: set[str] = set()
            while g in groups and groups[g].part_of is not None and groups[g].part_of not in seen:
                g = str(groups[g].part_of)
                seen.add(g)
            return seen

        for key, st in services.items():
            for g in st.target_groups:
                both = ancestors(g) & set(st.target_groups)
                if both:
                    self.add(
                        f"service_types.{key}.target_groups",
                        f"lists '{g}' and '{sorted(both)[0]}', which contains it: those people would be "
                        "counted twice.",
                        f"list only '{sorted(both)[0]}', or split it into groups that do not overlap.",
                    )
        # Types without any need rate count the whole group (an upper bound, noted by the analysis and
        # declared by Taxonomy.shared_groups); explicit need rates of one group must be shares of
        # different people.
        shares: dict[str, list[tuple[str, float]]] = {}
        for key, st in services.items():
            for g in st.target_groups:
                share = None if st.need_rate is None else st.need_rate.get(g)
                if share is not None:
                    shares.setdefault(g, []).append((key, share))
        for g, items in shares.items():
            total = sum(v for _, v in items)
            if len(items) > 1 and total > 1.0 + 1e-9:
                names = ", ".join(f"{k} ({v:g})" for k, v in items)
                self.add(
                    f"target_groups.{g}",
                    f"is served by {names}: their need rates add up to {total:g} > 1, so some people "
                    "would be counted in more than one of them (twice in the composite and the budget).",
                    "give each of these service types a `need_rate:` for this group, as shares of different "
                    "people (e.g. long-term care at home vs in a facility) adding up to at most 1.",
                )

    def services(
        self, value: Any, groups: dict[str, TargetGroup], sources: set[str]
    ) -> dict[str, ServiceType]:
        """Check the ``service_types`` section."""
        from socialmap._taxonomy_schema import ServiceFields

        out: dict[str, ServiceType] = {}
        if value is None:
            return out
        block = self.mapping(value, "service_types", "service types")
        if block is None:
            return out
        if not block:
            self.add("service_types", "no service type is defined.", "define at least one service type.")
        for key, entry in block.items():
            path = f"service_types.{key}"
            if not self.key_name(key, "service_types", "service type"):
                continue
            item = self.mapping(entry, path, "service-type fields")
            if item is None:
                continue
            fields = self.fields(ServiceFields, item, path)
            labels = self.labels(item.get("label"), f"{path}.label")
            served = self.served_groups(item.get("target_groups"), f"{path}.target_groups", groups)
            values: dict[str, Any] = {}
            for number_key, source_key in _SERVICE_NUMBERS:
                values[number_key] = getattr(fields, number_key)
                if source_key is not None:
                    values[source_key] = self.source_keys(
                        item.get(source_key),
                        f"{path}.{source_key}",
                        sources,
                        required=item.get(number_key) is not None,
                        what=f"{number_key}",
                    )
            values.update(self.need_rate(item, path, served, sources, fields))
            base = fields.places_per_1000_of
            if base is not None and base not in groups:
                self.add(
                    f"{path}.places_per_1000_of",
                    f"unknown target group '{base}'.",
                    "name the target group (a key of `target_groups:`) that the planning standard is per.",
                )
            values["places_per_1000_of"] = base
            sensitive = fields.sensitive
            touchy = [g for g in served if g in groups and groups[g].sensitive]
            if touchy and not sensitive:
                self.add(
                    f"{path}.sensitive",
                    f"serves sensitive target group(s) {touchy} but is not marked sensitive.",
                    "write `sensitive: true` so that small counts are suppressed in exports.",
                )
            note = fields.note
            out[key] = ServiceType(
                key=key, labels=labels, target_groups=served, sensitive=sensitive, note=note, **values
            )
        return out

    def served_groups(self, value: Any, path: str, groups: dict[str, TargetGroup]) -> tuple[str, ...]:
        """Check a service type's list of target groups."""
        if value is None or value == []:
            self.add(
                path,
                "no target group is listed.",
                f"write `target_groups: [<key>, ...]` with keys from `target_groups:` ({', '.join(groups)}).",
            )
            return ()
        items = value if isinstance(value, list) else [value]
        if not isinstance(value, list) and not isinstance(value, str):
            self.add(
                path,
                f"must be a list of target-group keys; found {_describe(value)}.",
                "write `target_groups: [<key>, ...]`.",
            )
            return ()
        out: list[str] = []
        for i, g in enumerate(items):
            sub = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(g, str) or g not in groups:
                guess = difflib.get_close_matches(str(g), list(groups), n=1)
                hint = f"did you mean '{guess[0]}'? If not, " if guess else ""
                self.add(
                    sub,
                    f"unknown target group {g!r}.",
                    f"{hint}use a key defined under `target_groups:` "
                    f"({', '.join(groups) or 'none defined'}), or define {g!r} there with its rate and "
                    "source.",
                )
            elif g in out:
                self.add(
                    sub,
                    f"target group '{g}' is listed twice (its need would be counted twice).",
                    "list it once.",
                )
            else:
                out.append(g)
        return tuple(out)


def _parent_path(path: str) -> str:
    """Drop the last ``.key`` or ``[i]`` of a YAML path (``""`` at the top)."""
    match = re.search(r"(\.[^.\[]*|\[\d+\])$", path)
    return path[: match.start()] if match else ""


def _describe(value: Any) -> str:
    """Describe a YAML value for an error message."""
    if value is None:
        return "nothing (null)"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
