"""
The checks of a taxonomy file's data: every entry, all problems at once.

:func:`socialmap.taxonomy.load_taxonomy` reads the file and :mod:`socialmap._taxonomy_yaml` parses it
(its cost, its syntax, the line of each key); :class:`_Checker` checks the parsed data (each entry's
fields with the pydantic models of :mod:`socialmap._taxonomy_schema`, the rest by hand: labels, keys that
refer to other entries, need rates, overlaps), names the YAML line of every problem from the line index
(its words, and those of each pydantic error, are in :mod:`socialmap._taxonomy_words`), and builds the
:class:`~socialmap.taxonomy.Taxonomy` when there is no problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from socialmap._taxonomy_model import SCHEMA_VERSION, ServiceType, Source, TargetGroup, Taxonomy
from socialmap._taxonomy_words import (
    _as_text,
    _describe,
    _hinted,
    _m,
    _missing,
    _not_text,
    _remove_fix,
    field_problem,
)
from socialmap.errors import N_, Localised, Message, Nn_, Number, render
from socialmap.schema import LANGUAGES

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


class _Section(NamedTuple):
    """A section of labelled entries and the words of its problems."""

    name: str  # its key in the file
    what: str  # what the section must be (a mapping of these)
    none: str  # the problem when it is empty
    fix: str  # and its fix
    kind: str  # one entry, for a key that is no identifier
    fields: str  # what an entry must be (a mapping of these)


_GROUPS = _Section(
    "target_groups",
    N_("target groups"),
    N_("no target group is defined."),
    N_("define at least one target group."),
    N_("target group"),
    N_("target-group fields"),
)
_SERVICES = _Section(
    "service_types",
    N_("service types"),
    N_("no service type is defined."),
    N_("define at least one service type."),
    N_("service type"),
    N_("service-type fields"),
)


class _Checker:
    """Collect every problem of a taxonomy's parsed YAML, then build it if there are none."""

    def __init__(self, label: str, lines: dict[str, int], duplicates: list[tuple[str, int, int]]) -> None:
        self.label = label
        self.lines = lines
        self.duplicate_keys = duplicates
        self.problems: list[Message] = []
        self.languages: tuple[str, ...] = LANGUAGES

    # -- reporting ---------------------------------------------------------------------------

    def add(self, path: str, what: str, fix: str) -> None:
        """Record one problem at a YAML path (``what``, ``fix``: a :class:`Message` or a text marked N_)."""
        where: str = path
        if path in self.lines:
            where = Message(N_("{path} (line {line})"), path=path, line=self.lines[path])
        else:  # a missing key: point at the block it belongs in
            parent = _parent_path(path)
            while parent and parent not in self.lines:
                parent = _parent_path(parent)
            if parent:
                where = Message(
                    N_("{path} (in the block at line {line})"), path=path, line=self.lines[parent]
                )
        self.problems.append(
            Message(N_("{where}: {what} Fix: {fix}"), where=where, what=_m(what), fix=_m(fix))
        )

    def message(self) -> Message:
        """Return the full error message (``str``: English; the error renders it in the user's language)."""
        n = len(self.problems)
        listed = Localised(
            {lang: "\n".join(f"  - {render(p, lang)}" for p in self.problems) for lang in LANGUAGES}
        )
        return Message(
            *Nn_(
                "Taxonomy file '{file}' has {n} problem:\n{problems}",
                "Taxonomy file '{file}' has {n} problems:\n{problems}",
            ),
            n,
            file=self.label,
            n=Number(n),
            problems=listed,
        )

    # -- generic checks ----------------------------------------------------------------------

    def mapping(self, value: Any, path: str, what: str) -> dict[Any, Any] | None:
        """Check that a value is a mapping."""
        if isinstance(value, dict):
            return value
        self.add(
            path,
            Message(N_("must be a mapping of {what}; found {found}."), what=_m(what), found=_describe(value)),
            Message(N_("write {what} as `key: value` lines indented under it."), what=_m(what)),
        )
        return None

    def unknown_keys(self, block: dict[Any, Any], path: str, allowed: tuple[str, ...]) -> None:
        """Report keys that are not in ``allowed`` (typo guard)."""
        for key in block:
            if key in allowed:
                continue
            sub = f"{path}.{key}" if path else str(key)
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            self.add(sub, Message(N_("unknown key '{key}'."), key=key), _remove_fix(guess, allowed))

    def duplicates(self) -> None:
        """Report keys written twice in the same mapping (YAML keeps only the last)."""
        for path, first, again in self.duplicate_keys:
            self.add(
                path,
                Message(
                    N_("key written twice (lines {first} and {again}); only the one at line {again} counts."),
                    first=first,
                    again=again,
                ),
                N_("keep one of them (merge their contents)."),
            )

    def key_name(self, key: Any, path: str, kind: str) -> bool:
        """Check that a service-type / group / source key is a lower-case identifier."""
        if isinstance(key, str) and _KEY_PATTERN.match(key):
            return True
        self.add(
            f"{path}.{key}",
            Message(N_("{kind} key {key} is not a lower-case identifier."), kind=_m(kind), key=repr(key)),
            N_("use lower-case letters, digits and underscores, starting with a letter (e.g. 'day_care')."),
        )
        return False

    def text(self, value: Any, path: str, *, required: bool, what: str) -> str | None:
        """Check an optional or required non-empty text."""
        if value is None:
            if required:
                self.add(path, _missing(what), _as_text(what))
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.add(path, _not_text(what, value), _as_text(what))
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
                    Message(N_("{what} has no source."), what=_m(what)),
                    Message(
                        N_(
                            "add `{key}: <key>` naming an entry under `sources:` (add one there with its "
                            "citation), or set the value to null if no source gives it."
                        ),
                        key=path.rsplit(".", 1)[-1],
                    ),
                )
            return ()
        items = value if isinstance(value, list) else [value]
        keys: list[str] = []
        for i, item in enumerate(items):
            sub = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(item, str):
                self.add(
                    sub,
                    Message(
                        N_("a source must be a key of `sources:`; found {found}."), found=_describe(item)
                    ),
                    N_("write the key of an entry under `sources:`."),
                )
            elif item not in sources:
                guess = difflib.get_close_matches(item, sorted(sources), n=1)
                keys_here = ", ".join(sorted(sources)) or Message(N_("none defined"))
                fix = Message(
                    N_("use a key under `sources:` ({keys}) or add '{item}' there with its citation."),
                    keys=keys_here,
                    item=item,
                )
                self.add(sub, Message(N_("unknown source '{item}'."), item=item), _hinted(guess, fix))
            else:
                keys.append(item)
        return tuple(keys)

    def label_languages(self, value: Any) -> tuple[str, ...]:
        """Check ``languages``: a list of language codes the labels are written in (default all three)."""
        if value is None:
            return LANGUAGES
        codes = [value] if isinstance(value, str) else value
        fix = Message(
            N_("write e.g. `languages: [en]`, with codes from {codes}."), codes=", ".join(LANGUAGES)
        )
        if not isinstance(codes, list) or not codes:
            found = _describe(value)
            self.add(
                "languages", Message(N_("must be a list of language codes; found {found}."), found=found), fix
            )
            return LANGUAGES
        bad = [c for c in codes if c not in LANGUAGES]
        if bad:
            # one code or several, not a plural by number: no count is shown (Serbian's form for 21 is "one")
            text = (
                N_("unknown language code {codes}.")
                if len(bad) == 1
                else N_("unknown language codes {codes}.")
            )
            self.add("languages", Message(text, codes=str(bad)), fix)
            return LANGUAGES
        return tuple(dict.fromkeys(codes))

    def labels(self, value: Any, path: str) -> dict[str, str]:
        """Check a label block: one non-empty text per language of ``languages:`` (others optional)."""
        langs = ", ".join(self.languages)
        if value is None:
            self.add(
                path,
                N_("labels are missing."),
                Message(
                    N_("add `label:` with one line per language ({codes}), e.g. `en: Day care`."), codes=langs
                ),
            )
            return {}
        block = self.mapping(value, path, Message(N_("labels by language ({codes})"), codes=langs))
        if block is None:
            return {}
        self.unknown_keys(block, path, LANGUAGES)
        out: dict[str, str] = {}
        for lang in LANGUAGES:
            text = block.get(lang)
            if text is None and lang not in self.languages:
                continue
            if text is None or not (isinstance(text, str) and text.strip()):
                if text is None:
                    what = Message(N_("label in '{code}' is missing."), code=lang)
                else:
                    what = Message(
                        N_("label in '{code}' is not text ({found})."), code=lang, found=_describe(text)
                    )
                fix = Message(
                    N_("add `{code}: <name>` under {path} (labels are needed in {codes})."),
                    code=lang,
                    path=path,
                    codes=langs,
                )
                self.add(f"{path}.{lang}", what, fix)
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
            self.add(where, *field_problem(model, key, error, item.get(key)))
        kept = {k: v for k, v in item.items() if k in model.model_fields and k not in bad}
        for key in bad & set(model.model_fields):
            if model.model_fields[key].is_required():
                kept[key] = None
        try:
            return model.model_validate(kept)
        except FieldErrors:
            return None  # a required field in error that cannot be null (a source's citation)

    # -- sections ----------------------------------------------------------------------------

    def build(self, data: Any, default_name: str) -> Taxonomy | None:
        """Check everything; return the taxonomy when there is no problem."""
        if not isinstance(data, dict):
            self.add(
                "(top level)",
                Message(
                    N_("must be a mapping with keys {keys}; found {found}."),
                    keys=", ".join(_TOP_REQUIRED),
                    found=_describe(data),
                ),
                N_("start from the shipped kosovo.yaml and edit it."),
            )
            return None
        self.duplicates()
        self.unknown_keys(data, "", _TOP_KEYS)
        for key in _TOP_REQUIRED:
            if key not in data:
                self.add(
                    key,
                    Message(N_("required section '{key}' is missing."), key=key),
                    Message(
                        N_("add `{key}:` at the top level (see socialmap/taxonomies/README.md)."), key=key
                    ),
                )
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            self.add(
                "schema_version",
                Message(N_("unsupported schema version {version}."), version=repr(version)),
                Message(
                    N_("write `schema_version: {version}` and follow that schema."), version=SCHEMA_VERSION
                ),
            )
        name = (
            self.text(data.get("name"), "name", required=False, what=N_("the taxonomy name")) or default_name
        )
        description = self.text(
            data.get("description"), "description", required=False, what=N_("the description")
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
        block = self.mapping(value, "sources", N_("sources (key: citation block)"))
        if block is None:
            return out
        for key, entry in block.items():
            path = f"sources.{key}"
            if not self.key_name(key, "sources", N_("source")):
                continue
            if isinstance(entry, str):
                entry = {"citation": entry}
            item = self.mapping(entry, path, N_("source fields (citation, url, accessed, note)"))
            if item is None:
                continue
            fields = self.fields(SourceFields, item, path)
            if fields is not None:
                out[key] = Source(key=key, **fields.model_dump())
        return out

    def entries(
        self, value: Any, section: _Section, model: Any
    ) -> Iterator[tuple[str, str, dict[Any, Any], Any, dict[str, str]]]:
        """
        Walk the entries of a section of labelled entries (``target_groups``, ``service_types``).

        Yields each entry that has a valid key and is a mapping, as ``(key, path, item, fields, labels)``:
        its YAML path, its raw mapping, its fields checked with ``model`` and its labels; the problems of
        the others (and of an empty section) are added.
        """
        if value is None:
            return
        block = self.mapping(value, section.name, section.what)
        if block is None:
            return
        if not block:
            self.add(section.name, section.none, section.fix)
        for key, entry in block.items():
            path = f"{section.name}.{key}"
            if not self.key_name(key, section.name, section.kind):
                continue
            item = self.mapping(entry, path, section.fields)
            if item is None:
                continue
            fields = self.fields(model, item, path)
            yield key, path, item, fields, self.labels(item.get("label"), f"{path}.label")

    def groups(self, value: Any, sources: set[str]) -> dict[str, TargetGroup]:
        """Check the ``target_groups`` section."""
        from socialmap._taxonomy_schema import GroupFields

        out: dict[str, TargetGroup] = {}
        for key, path, item, fields, labels in self.entries(value, _GROUPS, GroupFields):
            srcs = self.source_keys(
                item.get("source"),
                f"{path}.source",
                sources,
                required=item.get("rate") is not None,
                what=N_("the rate"),
            )
            rate, estimate, derivation = fields.rate, fields.estimate, fields.derivation
            if estimate and rate is not None and derivation is None and item.get("derivation") is None:
                self.add(
                    f"{path}.derivation",
                    N_("the rate is marked `estimate: true` but does not say how it was derived."),
                    N_(
                        "add `derivation:` with the arithmetic and its inputs "
                        "(e.g. '91,500 / 1,739,825 = 0.0526, computed here')."
                    ),
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
                fix = Message(
                    N_("name the key of the larger group under `target_groups:` that contains this one.")
                )
                self.add(
                    f"target_groups.{key}.part_of",
                    Message(N_("'{group}' is not another target group."), group=tg.part_of),
                    _hinted(guess, fix),
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
                            Message(
                                N_("'{group}' is not one of this service type's target groups ({groups})."),
                                group=g,
                                groups=", ".join(served),
                            ),
                            N_("give a need rate for each listed target group, by its key."),
                        )
                        continue
                    rates[g] = self.share(v, f"{path}.need_rate.{g}")
                for g in served:
                    if g not in value:
                        self.add(
                            f"{path}.need_rate",
                            Message(N_("no need rate for target group '{group}'."), group=g),
                            Message(
                                N_("add `{group}: <share>` (or `{group}: null` if no source gives it)."),
                                group=g,
                            ),
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
            what=N_("the need rate"),
        )
        out["need_rate_estimate"] = fields.need_rate_estimate
        out["need_rate_derivation"] = fields.need_rate_derivation
        if out["need_rate_estimate"] and given and out["need_rate_derivation"] is None:
            self.add(
                f"{path}.need_rate_derivation",
                N_("the need rate is marked `need_rate_estimate: true` but does not say how it was derived."),
                N_("add `need_rate_derivation:` with the arithmetic and its inputs."),
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
                        Message(
                            N_(
                                "lists '{group}' and '{larger}', which contains it: those people would be "
                                "counted twice."
                            ),
                            group=g,
                            larger=sorted(both)[0],
                        ),
                        Message(
                            N_("list only '{larger}', or split it into groups that do not overlap."),
                            larger=sorted(both)[0],
                        ),
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
                    Message(
                        N_(
                            "is served by {names}: their need rates add up to {total} > 1, so some people "
                            "would be counted in more than one of them (twice in the composite and the "
                            "budget)."
                        ),
                        names=names,
                        total=Number(total, "g"),
                    ),
                    N_(
                        "give each of these service types a `need_rate:` for this group, as shares of "
                        "different people (e.g. long-term care at home vs in a facility) adding up to at "
                        "most 1."
                    ),
                )

    def services(
        self, value: Any, groups: dict[str, TargetGroup], sources: set[str]
    ) -> dict[str, ServiceType]:
        """Check the ``service_types`` section."""
        from socialmap._taxonomy_schema import ServiceFields

        out: dict[str, ServiceType] = {}
        for key, path, item, fields, labels in self.entries(value, _SERVICES, ServiceFields):
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
                    Message(N_("unknown target group '{group}'."), group=base),
                    N_(
                        "name the target group (a key of `target_groups:`) that the planning standard is per."
                    ),
                )
            values["places_per_1000_of"] = base
            sensitive = fields.sensitive
            touchy = [g for g in served if g in groups and groups[g].sensitive]
            if touchy and not sensitive:
                self.add(
                    f"{path}.sensitive",
                    Message(
                        N_("serves sensitive target groups {groups} but is not marked sensitive."),
                        groups=str(touchy),
                    ),
                    N_("write `sensitive: true` so that small counts are suppressed in exports."),
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
                N_("no target group is listed."),
                Message(
                    N_("write `target_groups: [<key>, ...]` with keys from `target_groups:` ({groups})."),
                    groups=", ".join(groups),
                ),
            )
            return ()
        items = value if isinstance(value, list) else [value]
        if not isinstance(value, list) and not isinstance(value, str):
            self.add(
                path,
                Message(N_("must be a list of target-group keys; found {found}."), found=_describe(value)),
                N_("write `target_groups: [<key>, ...]`."),
            )
            return ()
        out: list[str] = []
        for i, g in enumerate(items):
            sub = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(g, str) or g not in groups:
                guess = difflib.get_close_matches(str(g), list(groups), n=1)
                fix = Message(
                    N_(
                        "use a key defined under `target_groups:` ({keys}), or define {group} there with its "
                        "rate and source."
                    ),
                    keys=", ".join(groups) or Message(N_("none defined")),
                    group=repr(g),
                )
                self.add(
                    sub, Message(N_("unknown target group {group}."), group=repr(g)), _hinted(guess, fix)
                )
            elif g in out:
                self.add(
                    sub,
                    Message(
                        N_("target group '{group}' is listed twice (its need would be counted twice)."),
                        group=g,
                    ),
                    N_("list it once."),
                )
            else:
                out.append(g)
        return tuple(out)


def _parent_path(path: str) -> str:
    """Drop the last ``.key`` or ``[i]`` of a YAML path (``""`` at the top)."""
    match = re.search(r"(\.[^.\[]*|\[\d+\])$", path)
    return path[: match.start()] if match else ""
