"""
The taxonomy's data classes and what they answer: service types, target groups, sources, need.

:class:`Taxonomy` (with :class:`ServiceType`, :class:`TargetGroup` and :class:`Source`) is built by
:func:`socialmap.taxonomy.load_taxonomy` once a file has passed the checks of
:mod:`socialmap._taxonomy_check`; import these names from :mod:`socialmap.taxonomy`, which re-exports
them (the module docstring there explains how need is worked out).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from socialmap import settings
from socialmap.errors import Problem, TaxonomyError, ValidationError
from socialmap.schema import LANGUAGES

#: Version of the YAML schema this module reads.
SCHEMA_VERSION = 1


#: How a service type's need is worked out (see :meth:`Taxonomy.need_basis`).
NEED_BASES = ("rate", "standard", "whole_group", "unknown")


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
        return _entry(self.service_types, key, "service type", self)

    def target_group(self, key: str) -> TargetGroup:
        """Return one target group (a :class:`TargetGroup`); raises as :meth:`service_type` does."""
        return _entry(self.target_groups, key, "target group", self)

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
        Return the catchment in minutes of travel on a road network, as :meth:`catchment_for` in metres.

        The taxonomy's sourced ``catchment_min``, or else ``socialmap.settings.default_catchment_min`` read at
        call time (a modelling default, not a sourced figure).
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


_Entry = TypeVar("_Entry")


def _entry(table: Mapping[str, _Entry], key: str, kind: str, tax: Taxonomy) -> _Entry:
    """Return ``table[key]``, or raise the :class:`TaxonomyError` naming the keys ``kind`` may take."""
    try:
        return table[key]
    except (KeyError, TypeError):
        raise TaxonomyError(_unknown_key_message(kind, key, table, tax)) from None


def _unknown_key_message(kind: str, key: object, known: Mapping[str, Any], tax: Taxonomy) -> str:
    """Explain an unknown key, with the closest match and the known keys."""
    guess = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean {guess[0]!r}? If not, " if guess else ""
    return (
        f"Unknown {kind} {key!r} in taxonomy '{tax.name}'. Fix: {hint}use one of {sorted(known)} "
        f"(defined in {tax.origin})."
    )
