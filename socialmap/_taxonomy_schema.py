"""
The fields of a taxonomy file's entries as pydantic v2 models (read by :mod:`socialmap.taxonomy`).

Each model checks one entry of ``sources:``, ``target_groups:`` or ``service_types:`` on its own: no key
but those listed (``extra="forbid"``), text that is not empty, true/false written as such, finite numbers
within their bounds (``Field(ge=0, le=1)``…), with no coercion (``strict``: ``"0.05"`` and ``5%`` are not
numbers, ``"yes"`` is not true). What depends on other entries (labels in the file's ``languages``, keys
of ``sources:`` and ``target_groups:``, need rates per group, overlaps) is checked by
:class:`socialmap._taxonomy_check._Checker`, which also turns each pydantic error (its location and
type) into a message naming the key and its line of the YAML file.

Imported when a taxonomy is checked, not with :mod:`socialmap.taxonomy` (pydantic costs start-up time).
A field's ``description`` is what its value must be, as the messages say it.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from socialmap.i18n import N_

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Entry(BaseModel):
    """An entry of a taxonomy file: only its own keys, values as written (no coercion)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourceFields(Entry):
    """An entry of ``sources:`` (a text alone is its citation)."""

    citation: Text = Field(description=N_("the citation (who published what, where)"))
    url: Text | None = Field(default=None, description=N_("url"))
    accessed: Text | None = Field(default=None, description=N_("accessed"))
    note: Text | None = Field(default=None, description=N_("note"))


class GroupFields(Entry):
    """An entry of ``target_groups:`` (``label`` and ``source`` are checked against the rest of the file)."""

    label: Any = None
    rate: float | None = Field(
        ge=0.0, le=1.0, allow_inf_nan=False, description=N_("a share of the whole population between 0 and 1")
    )
    source: Any = None
    estimate: bool = False
    derivation: Text | None = Field(default=None, description=N_("the derivation"))
    column: Text | None = Field(default=None, description=N_("the population column name"))
    sensitive: bool = False
    weight: float | None = Field(
        default=None, ge=0.0, allow_inf_nan=False, description=N_("a weight for the composite gap, 0 or more")
    )
    part_of: Text | None = Field(default=None, description=N_("the key of a larger group"))
    note: Text | None = Field(default=None, description=N_("the note"))


class ServiceFields(Entry):
    """An entry of ``service_types:`` (labels, groups, need rates and sources are checked by hand)."""

    label: Any = None
    target_groups: Any = None
    need_rate: Any = None
    need_rate_source: Any = None
    need_rate_estimate: bool = False
    need_rate_derivation: Text | None = Field(default=None, description=N_("the derivation"))
    catchment_m: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False, description=N_("a distance in metres greater than 0")
    )
    catchment_source: Any = None
    catchment_min: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False, description=N_("a travel time in minutes greater than 0")
    )
    catchment_min_source: Any = None
    places_per_1000: float | None = Field(
        default=None,
        ge=0.0,
        allow_inf_nan=False,
        description=N_("places per 1,000 of the target group, 0 or more"),
    )
    places_per_1000_source: Any = None
    places_per_1000_of: Text | None = Field(default=None, description=N_("a target group"))
    unit_cost_eur_per_place_year: float | None = Field(
        default=None, ge=0.0, allow_inf_nan=False, description=N_("EUR per place per year, 0 or more")
    )
    unit_cost_source: Any = None
    weight: float | None = Field(
        default=None, ge=0.0, allow_inf_nan=False, description=N_("a weight for the composite gap, 0 or more")
    )
    sensitive: bool = False
    note: Text | None = Field(default=None, description=N_("the note"))


class NeedRate(Entry):
    """A service type's need rate, for all its groups or for one (checked one value at a time)."""

    share: float | None = Field(
        ge=0.0, le=1.0, allow_inf_nan=False, description=N_("a share of the target group between 0 and 1")
    )
