"""Disclosure control: no small count of a sensitive group can be worked out from any output.

This module is the one place where the rule lives. Every face of the project (exports, briefs,
print and web maps, scenario comparisons, placements, costings, command-line prints, the app)
takes what it shows from :func:`protect` and the helpers below, never from a raw
:class:`~socialmap.pipeline.Result`.

Which counts are protected
--------------------------
A service type is *sensitive* when the taxonomy flags it (``sensitive: true``, e.g. ``shelter_dv``,
``community_housing``) or when it serves a target group flagged sensitive (victims of violence,
children without parental care); both lists can be given as arguments instead. The count tested in
a row (area × sensitive service type) is its *sensitive count*: its ``need`` (where the need is
unknown and the type is scored on relative measures, the size of its target group,
``target_size``), or, for a service type
that also serves non-sensitive groups (``community_housing`` serves persons with disabilities as
well as children without parental care), ``need`` minus what is published about the non-sensitive
groups (the need of another service type serving exactly them, or population × their rates),
because that difference would otherwise give the sensitive group away.

The method, and why
-------------------
Statistical offices protect tables of counts in one of three ways (the ESSnet/Eurostat *Handbook on
Statistical Disclosure Control*, ch. 5 "Frequency tables"; the ONS's guidance on small counts):
cell suppression (primary suppression of the unsafe cells and secondary, or complementary,
suppression of enough other cells that the unsafe ones cannot be recalculated from the margins:
τ-ARGUS, sdcTable's ``protectTable``, GaussSuppression), rounding (conventional, random or
controlled rounding to a base, τ-ARGUS), or perturbation (the cell key method the ONS used for the
2021 Census). This module uses **cell suppression**, for three reasons:

- Every published number stays *exact*. Rounded or perturbed counts would have to be carried into
  every figure computed from them (gap scores, places per 10,000, budgets, the 2SFCA access of the
  neighbours), or the true count comes back from the unrounded ratios: the planner would then see
  figures that do not add up, or that differ from the model's, on the very map they plan with.
- The tables are one-dimensional: per service type, areas and one national total (there are no
  district or cross-classified margins). For such a table the secondary-suppression problem that
  τ-ARGUS and sdcTable solve by linear programming has a closed-form answer (below), so the
  protection can be checked exactly rather than by a heuristic.
- It extends to everything derived from a count by one rule, *default-deny* (below), which a
  rounding scheme cannot do for model outputs such as access scores.

The rule
--------
With threshold ``T`` (``socialmap.settings.suppression_threshold``, default 5):

1. *Primary*: a row whose sensitive count ``c`` is ``0 < c < T`` is hidden and shown as ``"<T"``.
   A true zero stays published (it says that nobody is counted, about no one in particular).
2. *Secondary*: the national total of every sensitive service type is published (the national
   brief shows it), so the hidden rows must not be recoverable as "total minus the published
   rows". Call ``D`` the sum of the hidden rows' counts (what that subtraction gives), ``p`` the
   number of primary rows and ``s`` the number of secondary ones. A reader knows each primary row is
   in ``(0, T)`` and, since secondary rows are marked ``[c]`` and never chosen among zeros, each
   secondary row is ``≥ T``. The hidden rows are acceptable when that knowledge still leaves every
   primary row free to take any value in ``(0, T)`` (the attacker's interval of every primary cell,
   computed as sdcTable's ``attack()`` computes it, is the whole range ``(0, T)``: the strongest
   protection level a frequency table can ask for):

   - ``D - s·T ≥ T`` (the others can be small enough for a primary row to reach ``T``), and
   - ``s ≥ 1`` or ``D ≤ (p - 1)·T`` (the others can be large enough for it to be near 0).

   While this fails, one more row is hidden as secondary: the smallest positive published row
   that makes it hold, else the largest one, and the test is repeated. If every positive row is
   hidden and it still fails, the total itself is hidden (``[c]``). A national total below ``T``
   is itself primary (``"<T"``), and then every positive row is too.
3. *Default-deny for everything derived from a count*. In a primary or secondary row, **every**
   column is hidden except those on the explicit list :data:`SAFE_COLUMNS` (identifiers, names,
   the method and catchment, the number, capacity and unknown capacities of the services, the
   population, sources and notes). So need, reachable places, unmet need, covered share, access,
   gap score, supply per 10,000, places needed, budget, before/after deltas, placements' reached
   need, tooltip values, and any column added later (relative access, places per 1,000, equity
   figures) are hidden where the count is, without this module knowing them. Published values are
   then a function of published counts only, and the national totals of the other columns, with
   the published rows, add no equation over the hidden counts beyond ``Σ hidden = D`` (each
   hidden row's unmet need, covered share and access are free within their bounds).
4. *Linked rows* (model coupling). Under 2SFCA/E2SFCA a published area's access, reachable places,
   unmet need and gap score depend on the need of every area that shares a service with it
   (``R_j = c_j / Σ need within reach of j``): someone who proposes a service of known capacity
   between a hidden area and a published one (the app's Plan tab does exactly that) could read
   the hidden need back from the published one's access. Every published row of a sensitive type
   that reaches a service also reached from a hidden row is therefore *linked* (``[c]``): its own
   count and the columns of :data:`OWN_COLUMNS` (need, covered share, supply per 10,000, the
   costing, which depend on that row alone) stay published, every other column is hidden. Reach is
   tested on the result's own demand points, services and catchment (straight-line distance, as
   the pipeline measures it); for any other cost (a road network) every row is treated as linked.
   With distance coverage (``method="coverage"``) nothing is coupled.
5. *Totals and aggregates*. A national row of a sensitive type with hidden rows publishes only
   :data:`SAFE_COLUMNS` and the figures of :data:`TOTAL_COLUMNS`, which depend on the national
   count alone (need, places at the standard, supply per 10,000); every other national figure
   (unmet need, covered share, gap, places needed, budget, need reached) is hidden (``[c]``),
   because with a scenario or placement that changes one hidden area's coverage its difference
   would give that area's count. A per-area aggregate over service types (the budget of an area)
   is hidden where a hidden row enters it. The composite gap of an area is recomputed from the
   *published* gap scores only (like an area whose need is unknown for a type), and its rank from
   that, so it gives back no hidden score.
6. *Placements* (:func:`public_demand`, :func:`protect_placement`). Where a sensitive type has hidden
   rows, the optimiser places new sites on the need an outsider can know: each hidden area gets an
   equal share of the hidden remainder ``D`` (spread over its demand points as its own need is), so
   which sites are chosen does not depend on the hidden counts. The need a site reaches is then
   published only where no hidden area is within its reach, the totals not at all.

One call of :func:`protect` feeds every output of a result, so putting two outputs side by side
reveals nothing that one does not; two results of the same inputs (before and after a scenario)
hide the same counts, because the suppression depends on the counts alone.

What is not protected
---------------------
The threshold is a published parameter: publishing the same inputs with two thresholds publishes
the counts between them. Counts of non-sensitive groups are published as they are. The locations of
services of sensitive types are never published (:func:`public_services`), but their number and
capacity per area are. The choice of secondary rows follows the counts (smallest first), so
someone who re-runs this algorithm on every candidate table learns inequalities between hidden
counts; the attacker test in ``tests/test_privacy_attack.py`` checks that no hidden count is then
determined in the demo and in a random world.
"""

from __future__ import annotations

# The package's modules, by job: protected (the columns, markers, Protected and the mask), counts
# (which counts are sensitive; primary and secondary suppression: protect), published (what a
# map, table or brief may show of a protected result), plans (comparisons, placements, many
# results). Every name stays importable from socialmap.privacy.
from socialmap.privacy.counts import (  # noqa: F401 - the package's names
    _acceptable,
    _suppress_one_total,
    national_totals,
    protect,
    sensitive_count_table,
    sensitive_counts,
    sensitive_service_types,
)
from socialmap.privacy.plans import (  # noqa: F401 - the package's names
    marked,
    protect_comparison,
    protect_many,
    protect_placement,
    public_demand,
)

# The package's modules, by job: protected (the columns, markers, Protected and the mask), counts
# (which counts are sensitive; primary and secondary suppression: protect), published (what a
# map, table or brief may show of a protected result), plans (comparisons, placements, many
# results). Every name stays importable from socialmap.privacy.
from socialmap.privacy.protected import (  # noqa: F401 - the package's names
    COMPOSITE_COLUMNS,
    COUNT_HIDDEN,
    LINKED,
    NATIONAL_SUFFIX,
    OWN_COLUMNS,
    PERSON_COUNT_COLUMNS,
    PRIMARY,
    RELATIVE_TO_NATIONAL,
    REVEALING_COLUMNS,
    RULE,
    SAFE_COLUMNS,
    SECONDARY,
    SECONDARY_MARK,
    SUPPRESSED_COLUMNS,
    TOTAL_COLUMNS,
    Protected,
    apply_mask,
    column_base,
    is_safe,
    preview_rows,
    resolve_taxonomy,
)
from socialmap.privacy.published import (  # noqa: F401 - the package's names
    cell_marks,
    is_published,
    public_cells,
    public_services,
    shown,
)
