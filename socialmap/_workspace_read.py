"""
Reading a workspace file back: the file's checks (SQLite, GeoPackage, ours, not too new) and each table.

Every problem is a :class:`~socialmap.workspace.WorkspaceError` naming the file and the table; used by
:func:`socialmap.workspace.load`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from socialmap import settings
from socialmap._workspace_format import (
    _COSTING,
    _EDIT_COLUMNS,
    _EDITS,
    _MAPPINGS,
    _MAX_JSON,
    _MAX_TEXT,
    _META,
    _SCENARIOS,
    _SQLITE_MAGIC,
    _TABLES,
    _TARGETS,
    _UPLOADS,
    FILE_KINDS,
    WorkspaceError,
)
from socialmap.errors import N_, Message, Number, SocialMapError


def _check_file(file: Path, label: str) -> None:
    try:
        if file.is_dir():
            raise WorkspaceError(N_("Workspace '{file}' is a folder. Fix: name a .gpkg file."), file=label)
        size = file.stat().st_size
        with file.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        raise WorkspaceError(
            N_("Workspace '{file}' not found. Fix: check the path, or save a workspace there first."),
            file=label,
        ) from None
    except OSError as exc:
        raise WorkspaceError(
            N_("Workspace '{file}' cannot be read: {error}. Fix: check the path and its permissions."),
            file=label,
            error=type(exc).__name__,
        ) from None
    limit = settings.max_workspace_bytes
    if size > limit:
        raise WorkspaceError(
            N_(
                "Workspace '{file}' is {size} bytes, more than the limit of {limit} bytes "
                "(`socialmap.settings.max_workspace_bytes`). Fix: check the file, or raise the limit."
            ),
            file=label,
            size=Number(size, ","),
            limit=Number(limit, ","),
        )
    if not head.startswith(_SQLITE_MAGIC) or len(head) < 100:
        raise WorkspaceError(
            N_(
                "Workspace '{file}' is not a GeoPackage (not an SQLite file). Fix: open a .gpkg workspace "
                "saved by socialmap."
            ),
            file=label,
        )
    # A SQLite header gives the page size and the page count; a file shorter than that is truncated.
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    if page < 512 or (pages and size < page * pages):
        raise _corrupt(label, Message(N_("the file is shorter than its header says: it was cut off")))


def _corrupt(label: str, detail: Message) -> WorkspaceError:
    """Say the file is damaged; ``detail`` says how, in words that translate (no library's English)."""
    return WorkspaceError(
        N_(
            "Workspace '{file}' is damaged or incomplete ({detail}). Fix: open an earlier copy of the "
            "workspace; socialmap replaces a workspace only with a complete one."
        ),
        file=label,
        detail=detail,
    )


def _broken(label: str, table: str, what: Message | SocialMapError) -> WorkspaceError:
    """Say a table breaks the schema; ``what`` says how (a :class:`Message` or a socialmap error)."""
    return WorkspaceError(
        N_(
            "Workspace '{file}': table '{table}' breaks the workspace schema ({what}). Fix: open a workspace "
            "saved by socialmap, or an earlier copy of it."
        ),
        file=label,
        table=table,
        what=what,
    )


def _read_tables(file: Path, label: str) -> tuple[Any, ...]:
    uri = file.resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as con:
        con.execute("PRAGMA trusted_schema = OFF")
        check = con.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise _corrupt(label, Message(N_("SQLite's integrity check failed")))
        tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "gpkg_contents" not in tables:
            raise WorkspaceError(
                N_("Workspace '{file}' is an SQLite file but not a GeoPackage. Fix: open a .gpkg workspace."),
                file=label,
            )
        missing = [t for t in _TABLES if t not in tables]
        if missing:
            raise WorkspaceError(
                N_(
                    "Workspace '{file}' is a GeoPackage but not a socialmap workspace (it has no table "
                    "'{table}'). Fix: open it as a data file (areas, services or population), or open a "
                    "workspace saved by socialmap."
                ),
                file=label,
                table=missing[0],
            )
        layers = {str(r[0]) for r in con.execute("SELECT table_name FROM gpkg_contents")} & {
            "areas",
            "services",
            "population",
        }
        gone = sorted(layers - tables)  # listed as a layer, but no such table
        if gone:
            what = Message(N_("its layer '{layer}' is missing"), layer=gone[0])
            raise _broken(label, "gpkg_contents", what)

        def rows(table: str, columns: Iterable[str]) -> list[tuple[Any, ...]]:
            cols = list(columns)
            have = {str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')}
            lacking = [c for c in cols if c not in have]
            if lacking:
                raise _broken(label, table, Message(N_("no column '{column}'"), column=lacking[0][:80]))
            (count,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            if count > settings.max_features:
                raise _broken(
                    label, table, Message(N_("{n} rows, more than the limit"), n=Number(count, ","))
                )
            sql = "SELECT " + ", ".join(f'"{c}"' for c in cols) + f' FROM "{table}"'
            return list(con.execute(sql))

        meta_rows = rows(_META, ["key", "value"])
        meta: dict[str, str] = {}
        for key, value in meta_rows:
            if not isinstance(key, str) or not isinstance(value, str | type(None)):
                raise _broken(label, _META, Message(N_("its keys and values must be text")))
            if len(value or "") > _MAX_JSON * 10:
                raise _broken(label, _META, Message(N_("'{key}' is too long"), key=key[:40]))
            meta[key] = value or ""
        mappings: dict[str, dict[str, str]] = {}
        for upload, theirs, ours in rows(_MAPPINGS, ["upload", "their_column", "our_column"]):
            values = (upload, theirs, "" if ours is None else ours)
            if not all(isinstance(v, str) and len(v) <= _MAX_TEXT for v in values):
                raise _broken(label, _MAPPINGS, Message(N_("its columns must hold text")))
            mappings.setdefault(upload, {})[theirs] = values[2]
        scenario_rows = rows(_SCENARIOS, ["position", "name", "description"])
        edit_rows = pd.DataFrame(
            rows(_EDITS, ["position", *_EDIT_COLUMNS]), columns=["position", *_EDIT_COLUMNS]
        )
        costing_rows = rows(_COSTING, ["scenario", "service_type", "standard", "unit_cost"])
        for r in costing_rows:
            if not (
                isinstance(r[0], str)
                and isinstance(r[1], str)
                and len(r[0]) <= _MAX_TEXT
                and len(r[1]) <= _MAX_TEXT
            ):
                raise _broken(label, _COSTING, Message(N_("its columns must hold text")))
        target_rows = None
        if _TARGETS in tables:
            from socialmap.plan import TARGET_COLUMNS

            target_rows = pd.DataFrame(rows(_TARGETS, TARGET_COLUMNS), columns=list(TARGET_COLUMNS))
        uploads: dict[str, tuple[str, bytes]] = {}
        if _UPLOADS in tables:
            for kind, name, content in rows(_UPLOADS, ["kind", "file_name", "content"]):
                if (
                    kind not in FILE_KINDS
                    or kind in uploads
                    or not isinstance(name, str)
                    or not 0 < len(name) <= _MAX_TEXT
                    or not isinstance(content, bytes)
                    or len(content) > settings.max_upload_bytes
                ):
                    raise _broken(
                        label, _UPLOADS, Message(N_("one file per kind, with its kind, file name and bytes"))
                    )
                uploads[kind] = (name, content)
    return meta, mappings, scenario_rows, edit_rows, costing_rows, layers, target_rows, uploads


def _load_targets(frame: pd.DataFrame | None, meta: Mapping[str, str], label: str) -> Any:
    """Rebuild the stored targets, checked as a file of targets is (:func:`plan.targets_from_table`)."""
    from socialmap.plan import targets_from_table

    if frame is None:
        return None
    notes = _load_json_list(meta.get("targets_notes", "[]"), label)
    name = meta.get("targets_name", "")
    return targets_from_table(frame, name=name, notes=notes, label=f"{label} ({_TARGETS})")


def _load_json_list(text: str, label: str) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        raise _broken(label, _META, Message(N_("its key '{key}'"), key="targets_notes")) from None
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= _MAX_JSON for v in value):
        raise _broken(label, _META, Message(N_("its key '{key}'"), key="targets_notes"))
    return value


def _stored_number(value: Any, label: str, table: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise _broken(label, table, Message(N_("{value} is not a number, 0 or more"), value=repr(value)[:40]))
    return float(value)


def _load_json(text: str, key: str, label: str) -> dict[str, Any]:
    if len(text) > _MAX_JSON:
        raise _broken(label, _META, Message(N_("'{key}' is too long"), key=key))
    try:
        value = json.loads(text or "{}")
    except (ValueError, RecursionError):
        raise _broken(label, _META, Message(N_("'{key}' is not JSON"), key=key)) from None
    if not isinstance(value, dict):
        raise _broken(label, _META, Message(N_("'{key}' is not a JSON object"), key=key))
    return value


def _load_taxonomy(meta: Mapping[str, str], label: str) -> Any:
    from socialmap.taxonomy import _parse

    text = meta.get("taxonomy_yaml", "")
    if not text:
        return None
    if len(text.encode("utf-8")) > settings.max_taxonomy_bytes:
        raise _broken(
            label, _META, Message(N_("the taxonomy is over `socialmap.settings.max_taxonomy_bytes`"))
        )
    origin = meta.get("taxonomy_origin", "")[:200] or "taxonomy"
    name = Path(origin.split(":", 1)[-1]).stem or "taxonomy"
    return _parse(text, f"{label} ({_META}: taxonomy '{origin}')", default_name=name)


def _load_draft(meta: Mapping[str, str], edits: pd.DataFrame, label: str) -> Any:
    """Rebuild the scenario being drawn (the edits at position 0), or ``None`` if the file has none."""
    from socialmap.scenario import Scenario

    name = meta.get("draft_name", "")
    if not name:
        return None
    if len(name) > _MAX_TEXT:
        raise _broken(label, _META, Message(N_("'{key}' is too long"), key="draft_name"))
    rows = edits[edits["position"] == 0].drop(columns=["position"])
    if not len(rows):
        return Scenario(name)
    try:
        return Scenario.from_frame(rows.assign(scenario=name), name=name)
    except SocialMapError as exc:
        raise _broken(label, _EDITS, exc) from None


def _load_scenarios(scenario_rows: list[tuple[Any, ...]], edits: pd.DataFrame, label: str) -> list[Any]:
    from socialmap.scenario import Scenario

    out = []
    seen: set[str] = set()
    for position, name, description in sorted(
        scenario_rows, key=lambda r: r[0] if isinstance(r[0], int) else 0
    ):
        if (
            not isinstance(position, int)
            or position < 1
            or not isinstance(name, str)
            or not name.strip()
            or name in seen
        ):
            raise _broken(label, _SCENARIOS, Message(N_("a position and a unique name per scenario")))
        if (
            len(name) > _MAX_TEXT
            or not isinstance(description, str | type(None))
            or len(description or "") > _MAX_JSON
        ):
            raise _broken(label, _SCENARIOS, Message(N_("a text is too long")))
        seen.add(name)
        rows = edits[edits["position"] == position].drop(columns=["position"])
        if len(rows):
            try:
                scenario = Scenario.from_frame(rows.assign(scenario=name), name=name)
            except SocialMapError as exc:
                raise _broken(label, _EDITS, exc) from None
        else:
            scenario = Scenario(name)
        out.append(dataclasses.replace(scenario, description=description or ""))
    return out
