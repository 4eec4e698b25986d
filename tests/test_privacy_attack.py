"""
The attacker test of issue 13: plant small counts, publish everything, try to get them back.

Two worlds: the Kosovo demo (38 municipalities and its services) and a random world (36 squares,
random population and services, seeded). In each, a population table plants counts of 1–4
victims of violence (shelters) and of children without parental care (community housing) in
several areas, among larger counts and zeros.

Every output of every path is produced for those inputs (``privacy_attack.publish_everything``):
``socialmap analyze --out`` (GeoPackage, CSV, HTML map, provenance), ``socialmap export`` (XLSX
with every sheet and the costing CSV, with user standards and unit costs so that places and
budgets are published), ``socialmap brief`` (an area) and the national brief, ``socialmap map`` and
print maps of every metric of both sensitive types and the composite, ``socialmap scenario`` with a
plan that puts shelters of capacity 1 and 1,000 at a planted area (the probe that would read a
hidden need back from its neighbours' access), ``socialmap optimise`` of shelters on grid
candidates with a 1 m catchment and k = 25 (the issue's attack) and of community housing, the CSV of
every table, GeoPackage and GeoJSON exports, ``Comparison.write`` and ``Costing.write``, and
everything the commands print.

What the attacker tries:

1. *Differencing*: the same outputs are made for a twin population table whose hidden counts
   differ (two planted counts swapped, so every total is the same and the same rows are hidden).
   Every file's content (tables cell by cell, PDF text, SVG and HTML with their random ids taken
   out) and every printed line must be identical: then no computation on what is published (linear
   systems, inverting the 2SFCA model from the neighbours, the choice of new sites) can tell the
   two tables apart.
2. *Integer enumeration*: every number published in any table is collected per (area, service
   type), per service type and per area, for today and for the scenario; for each sensitive type the
   hidden counts are unknown integers (1–4 where shown "<5", at least 5 where "[c]"), and every
   published figure is a linear constraint: the national need, unmet need, reachable places, gap,
   covered share, places needed and budget; in a hidden row any need, target group, places at the
   standard, supply per 10,000, places needed, budget, unmet and reachable places (unmet + reachable
   = count) and gap score (100 × unmet = gap × count). For every hidden count and every value its
   marker allows, ``scipy.optimize.milp`` decides whether some table of counts fits everything. The
   test fails if any hidden count has a single solution (and, more strictly, unless every "<5" can
   still be each of 1–4), and if a hidden row shows a number at all outside the safe columns.
3. *Replaying the rule*: every table of counts that fits the published total is run through the
   suppression rule itself; those that would hide other rows are dropped; each "<5" must still take
   at least two values.

A control gives the same attacker the outputs as the issue found them (gap score and covered share
of the hidden rows, and the national totals) and checks that it recovers the planted counts.
"""

from __future__ import annotations

import difflib

import pytest
from privacy_attack import (
    SENSITIVE,
    Attack,
    T,
    collect,
    composite_is_published,
    demo_worlds,
    offsets,
    old_outputs,
    publish_everything,
    published_texts,
    random_worlds,
    read_tables,
    replay_attack,
)

from socialmap.privacy import COUNT_HIDDEN, LINKED, protect, sensitive_count_table, sensitive_counts


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("SOCIALMAP_LANG", "en")
    # one output date for both worlds: a run that crosses midnight UTC must not tell the twins apart by
    # the date their briefs print (2026-01-01 00:00 UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def _same_suppression(first, second) -> None:
    """Precondition: the twin hides the same rows (else the markers alone would tell them apart)."""
    a, b = protect(first.analyze()).table, protect(second.analyze()).table
    assert a["suppression"].tolist() == b["suppression"].tolist()


def _diff(a: str, b: str) -> str:
    return "\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm=""))[:20])


def _attack(world, tmp_path, planted):
    twin_world = planted.pop("_twin")
    _same_suppression(world, twin_world)
    out, twin_out = tmp_path / "out" / world.name, tmp_path / "out" / twin_world.name
    printed = publish_everything(world, out)
    twin_printed = publish_everything(twin_world, twin_out)

    # 1. differencing: nothing published differs
    shared = {world.areas.parent: "<shared>"} if world.areas is not None else {}
    texts = published_texts(out, printed, {out: "<out>", world.population.parent: "<in>", **shared})
    twins = published_texts(
        twin_out, twin_printed, {twin_out: "<out>", twin_world.population.parent: "<in>", **shared}
    )
    assert set(texts) == set(twins)
    assert len(texts) > 40
    differ = {k: _diff(texts[k], twins[k]) for k in texts if texts[k] != twins[k]}
    assert not differ, "published outputs differ with the hidden counts:\n" + "\n\n".join(
        f"{k}:\n{v}" for k, v in differ.items()
    )

    # 2. integer enumeration over every published number
    tables = read_tables(out)
    raw = world.analyze()
    prot = protect(raw)
    people = raw.makeup is not None  # the need model's composite weighs target groups
    assert not composite_is_published(tables, None if people else raw.taxonomy.composite_weights())
    # the worlds exercise the whole rule: neighbours sharing a shelter with a hidden area are linked
    assert (prot.table["suppression"] == LINKED).any()
    for st in SENSITIVE:
        facts = collect(tables, st)
        areas = sorted(set(raw.table.loc[raw.table["service_type"] == st, "area_id"].astype(str)))
        counts_of = sensitive_count_table(raw.table, raw.taxonomy, sensitive_types=[st], population=raw.areas)
        metric = str(counts_of.columns[0])  # the count the suppression protects first
        attack = Attack(facts, areas, offsets(tables, st), service_type=st, count_metric=metric).build()
        assert not attack.unknown_relations, attack.unknown_relations
        hidden = attack.hidden()
        rows = prot.table[prot.table["service_type"] == st]
        assert set(planted[st]) <= set(hidden)  # every planted count is hidden …
        assert set(hidden) == set(rows.loc[rows["suppression"].isin(COUNT_HIDDEN), "area_id"].astype(str))
        for area in hidden:
            values = attack.solutions(area)
            assert len(values) >= 2, f"{st} {area}: the published figures leave only {values}"
            if facts.markers[area] == "<5":
                assert values == set(range(1, T)), f"{st} {area}: {values}"

        # 3. replaying the rule on every table of counts that fits
        counts = raw.table[raw.table["service_type"] == st]
        sens = sensitive_counts(raw.table, raw.taxonomy, sensitive_types=[st], population=raw.areas)
        true = dict(zip(counts["area_id"].astype(str), sens[counts.index].round(), strict=True))
        order = list(counts["area_id"].astype(str))
        possible = replay_attack(true, {a: facts.markers[a] for a in hidden}, order)
        for area, values in possible.items():
            assert len(values) >= 2, f"{st} {area}: replaying the rule leaves only {values}"


def test_attack_on_the_demo_finds_no_planted_count(tmp_path):
    world, twin, planted = demo_worlds(tmp_path)
    _attack(world, tmp_path, {**planted, "_twin": twin})


def test_attack_on_a_random_world_finds_no_planted_count(tmp_path):
    world, twin, planted = random_worlds(tmp_path)
    _attack(world, tmp_path, {**planted, "_twin": twin})


def test_the_attacker_recovers_the_counts_from_the_outputs_the_issue_found(tmp_path):
    world, _twin, planted = demo_worlds(tmp_path)
    raw = world.analyze(service_types=("shelter_dv",))
    # the need model counts the victims in target_size (the need is the standard per population)
    tables = old_outputs(raw, "shelter_dv", count="target_size")
    facts = collect(tables, "shelter_dv")
    areas = sorted(set(raw.table["area_id"].astype(str)))
    attack = Attack(facts, areas, service_type="shelter_dv", count_metric="target_size").build()
    rows = raw.table.set_index(raw.table["area_id"].astype(str))
    recovered = {}
    for area in attack.hidden():
        values = attack.solutions(area)
        assert round(rows.loc[area, "target_size"]) in values  # the truth always fits
        if len(values) == 1:
            recovered[area] = values.pop()
    assert set(planted["shelter_dv"]) <= set(recovered)
    assert all(round(rows.loc[a, "target_size"]) == v for a, v in recovered.items())
