"""
The YAML side of a taxonomy file: its cost, its parsing and the line of every key.

:func:`_check_yaml_cost` refuses a file that would cost too much to parse (size of the expanded aliases,
depth of nesting), before it is parsed; :func:`_load_yaml` parses it (libyaml where PyYAML has it) into
the data and the node tree; :func:`_line_index` maps each key's path (``a.b[0]``) to its line, and lists
keys written twice, so that :class:`socialmap._taxonomy_check._Checker` can name the line of every
problem; :func:`_yaml_error` describes a syntax error with its line and column.
"""

from __future__ import annotations

from typing import Any

import yaml

from socialmap import settings
from socialmap.errors import N_, Message, Number, TaxonomyError


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
    what = f"{context}, {problem}" if context else str(problem)  # PyYAML's own words
    fix = N_(
        "Fix: check the indentation (spaces, not tabs), colons after keys and quotes around text containing "
        "': ' or '#' near that line."
    )
    if mark is None:
        return Message(N_("{what}. {fix}"), what=what, fix=Message(fix))
    return Message(
        N_("line {line}, column {column}: {what}. {fix}"),
        line=mark.line + 1,
        column=mark.column + 1,
        what=what,
        fix=Message(fix),
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


def _load_yaml(text: str, label: str) -> tuple[Any, dict[str, int], list[tuple[str, int, int]]]:
    """
    Parse a taxonomy file's text: its data, the line of each key and the keys written twice.

    Raises
    ------
    TaxonomyError
        If the text costs too much to build (:func:`_check_yaml_cost`) or is not valid YAML.
    """
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
        raise TaxonomyError(
            N_("Taxonomy file '{file}' is not valid YAML: {error}"), file=label, error=_yaml_error(exc)
        ) from None
    lines, duplicates = _line_index(node)
    return data, lines, duplicates
