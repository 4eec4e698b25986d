"""
The workspace file's format: its tables, the limits on what goes in, and turning a workspace into rows.

The names of the GeoPackage's tables and keys (``socialmap_workspace``, ``socialmap_uploads``…), the kinds of
upload, view and choice keys, :class:`WorkspaceError`, and the checks and conversions that
:func:`socialmap.workspace.save` writes with. Import the public names from :mod:`socialmap.workspace`,
which re-exports them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from socialmap import settings
from socialmap.errors import N_, DataSourceError
from socialmap.scenario import EDIT_COLUMNS as _EDIT_COLUMNS

if TYPE_CHECKING:
    from socialmap.workspace import Workspace


#: Version of the tables written by :func:`save`. Raise it when they change, and teach :func:`load` to
#: migrate the older version (or refuse it with a message).
SCHEMA_VERSION = 1


#: Keys a workspace's ``view`` may hold (what the app puts in the URL).
VIEW_KEYS = ("lang", "service_type", "group", "metric", "area", "tab")


_META = "socialmap_workspace"


_MAPPINGS = "socialmap_mappings"


_SCENARIOS = "socialmap_scenarios"


_EDITS = "socialmap_edits"


_COSTING = "socialmap_costing"


_TABLES = (_META, _MAPPINGS, _SCENARIOS, _EDITS, _COSTING)


_TARGETS = "socialmap_targets"  # optional: not in _TABLES


#: Optional table (schema version 1 reads a file without it): the uploaded files as they came.
_UPLOADS = "socialmap_uploads"


#: The uploads that are inputs of the analysis (and layers of the workspace).
UPLOAD_KINDS = ("areas", "services", "population")


#: What :attr:`Workspace.uploads` may hold: the inputs, the road network (an OSM extract) and the
#: taxonomy's YAML file.
FILE_KINDS = (*UPLOAD_KINDS, "roads", "taxonomy")


#: Keys of :attr:`Workspace.choices`: how the app travels (``travel_mode``) and draws the map
#: (``basemap``, ``scheme``, ``classes``, ``cells``), and who made the uploaded boundaries
#: (``attribution``).
CHOICE_KEYS = ("travel_mode", "basemap", "scheme", "classes", "cells", "attribution")


_SQLITE_MAGIC = b"SQLite format 3\x00"


#: The most characters of one text value of the workspace's own tables (names, ids, columns, view).
_MAX_TEXT = 1_000


#: The most characters of a JSON value (options, view) and of the taxonomy's YAML.
_MAX_JSON = 100_000


class WorkspaceError(DataSourceError):
    """A workspace file cannot be read (missing, corrupt, foreign, too new) or its content cannot be saved."""


def _upload_rows(ws: Workspace, label: str) -> list[tuple[str, str, bytes]]:
    rows = []
    for kind, given in dict(ws.uploads).items():
        if kind not in FILE_KINDS:
            raise WorkspaceError(
                f"Workspace '{label}': unknown upload kind {str(kind)[:40]!r}; use some of {FILE_KINDS}."
            )
        if not (isinstance(given, tuple | list) and len(given) == 2 and isinstance(given[1], bytes)):
            raise WorkspaceError(f"Workspace '{label}': upload {kind!r} must be (file name, bytes).")
        name = _check_text(given[0], f"the file name of upload {kind!r}", label)
        if len(given[1]) > settings.max_upload_bytes:
            raise WorkspaceError(
                f"Workspace '{label}': upload {kind!r} is over `socialmap.settings.max_upload_bytes`."
            )
        rows.append((kind, name, given[1]))
    return rows


def _write_uploads(file: Path, rows: list[tuple[str, str, bytes]]) -> None:
    # GDAL writes bytes as text: the BLOB table is written with SQLite and registered as attributes.
    with closing(sqlite3.connect(file)) as con, con:
        con.execute(
            f'CREATE TABLE "{_UPLOADS}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
            "kind TEXT NOT NULL, file_name TEXT NOT NULL, content BLOB NOT NULL)"
        )
        con.executemany(f'INSERT INTO "{_UPLOADS}" (kind, file_name, content) VALUES (?, ?, ?)', rows)
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?, 'attributes', ?)",
            (_UPLOADS, _UPLOADS),
        )


def _input_layers(ws: Workspace, label: str) -> list[tuple[str, pd.DataFrame]]:
    out: list[tuple[str, pd.DataFrame]] = []
    for name in ("areas", "services", "population"):
        value = getattr(ws, name)
        if value is None:
            continue
        if not isinstance(value, pd.DataFrame):
            value = _read_input(name, value, ws)
        if name != "population" and not isinstance(value, gpd.GeoDataFrame):
            raise WorkspaceError(
                f"Workspace '{label}': `{name}` must be a GeoDataFrame (or a file); "
                f"got {type(value).__name__}."
            )
        frame = value.copy()
        if name == "population" and isinstance(frame, gpd.GeoDataFrame):
            frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        frame.columns = [str(c) for c in frame.columns]
        out.append((name, frame.reset_index(drop=True)))
    return out


def _read_input(name: str, value: Any, ws: Workspace) -> pd.DataFrame:
    from socialmap import io

    reader = {"areas": io.read_areas, "services": io.read_services, "population": io.read_population}[name]
    return reader(value, columns=dict(ws.mappings.get(name, {})) or None)  # type: ignore[operator]


def _taxonomy_text(taxonomy: Any, label: str) -> tuple[str, str]:
    """Return the taxonomy's origin and YAML text (``("", "")`` for none: the demo's or Kosovo's)."""
    import importlib.resources

    from socialmap.taxonomy import Taxonomy, available_taxonomies

    if taxonomy is None:
        return "", ""
    if isinstance(taxonomy, tuple) and len(taxonomy) == 2 and isinstance(taxonomy[1], bytes):
        name = _check_text(taxonomy[0], "the taxonomy's file name", label)
        try:  # an uploaded file (the app's): its text, named by its file
            return name, taxonomy[1].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise WorkspaceError(
                N_(
                    "Workspace '{file}': the taxonomy's YAML ('{origin}') cannot be read ({error}), so it "
                    "cannot be kept in the workspace. Fix: load the taxonomy from a YAML file that still "
                    "exists."
                ),
                file=label,
                origin=name[:200],
                error="UnicodeDecodeError",
            ) from None
    if isinstance(taxonomy, str) and taxonomy in available_taxonomies():
        taxonomy = f"socialmap:taxonomies/{taxonomy}.yaml"
        origin = taxonomy
    elif isinstance(taxonomy, Taxonomy):
        origin = taxonomy.origin
    elif isinstance(taxonomy, str | os.PathLike):
        origin = str(taxonomy)
    else:
        raise WorkspaceError(
            f"Workspace '{label}': `taxonomy` must be a Taxonomy, a shipped name or a YAML path; "
            f"got {type(taxonomy).__name__}."
        )
    try:
        if origin.startswith("socialmap:"):
            text = importlib.resources.files("socialmap").joinpath(origin.split(":", 1)[1]).read_text("utf-8")
        else:
            text = Path(origin).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(
            N_(
                "Workspace '{file}': the taxonomy's YAML ('{origin}') cannot be read ({error}), so it "
                "cannot be kept in the workspace. Fix: load the taxonomy from a YAML file that still exists."
            ),
            file=label,
            origin=origin[:200],
            error=type(exc).__name__,
        ) from None
    return origin, text


def _check_text(value: Any, what: str, label: str) -> str:
    if not isinstance(value, str):
        raise WorkspaceError(f"Workspace '{label}': {what} must be text; got {type(value).__name__}.")
    if len(value) > _MAX_TEXT:
        raise WorkspaceError(
            f"Workspace '{label}': {what} is {len(value)} characters long, over {_MAX_TEXT}."
        )
    return value


def _number_or_none(value: Any, what: str, label: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise WorkspaceError(
            f"Workspace '{label}': {what} must be a number, 0 or more, or empty; got {value!r}."
        )
    return float(value)


def _options_json(options: Any, label: str) -> str:
    from socialmap.pipeline import AnalysisConfig

    if isinstance(options, AnalysisConfig):
        values = dataclasses.asdict(options)
        defaults = dataclasses.asdict(AnalysisConfig())
        options = {k: v for k, v in values.items() if v != defaults[k]}
    if not isinstance(options, Mapping):
        raise WorkspaceError(f"Workspace '{label}': `options` must be a mapping or AnalysisConfig.")
    try:
        AnalysisConfig(**dict(options))
    except TypeError as exc:
        raise WorkspaceError(f"Workspace '{label}': unknown analysis option(s): {exc}.") from None
    plain = {
        k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v)
        for k, v in options.items()
    }
    return json.dumps(plain, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _tables(ws: Workspace, label: str) -> list[tuple[str, pd.DataFrame]]:
    from socialmap import __version__
    from socialmap.scenario import Scenario

    origin, text = _taxonomy_text(ws.taxonomy, label)
    view = {}
    for key, value in dict(ws.view).items():
        if key not in VIEW_KEYS:
            raise WorkspaceError(
                f"Workspace '{label}': unknown view key {str(key)[:40]!r}; use some of {VIEW_KEYS}."
            )
        view[key] = _check_text(value, f"view '{key}'", label)
    meta = {
        "schema_version": str(SCHEMA_VERSION),
        "socialmap_version": __version__,
        "demo": "" if ws.demo is None else _check_text(ws.demo, "`demo`", label),
        "taxonomy_origin": origin,
        "taxonomy_yaml": text,
        "options": _options_json(ws.options, label),
        "view": json.dumps(view, ensure_ascii=False, sort_keys=True),
    }
    choices = {}
    for key, value in dict(ws.choices).items():
        if key not in CHOICE_KEYS:
            raise WorkspaceError(
                f"Workspace '{label}': unknown choice {str(key)[:40]!r}; use some of {CHOICE_KEYS}."
            )
        choices[key] = _check_text(value, f"choice '{key}'", label)
    if choices:
        meta["choices"] = json.dumps(choices, ensure_ascii=False, sort_keys=True)
    targets = _targets_table(ws.targets, label)
    if targets is not None:
        meta["targets_name"] = _check_text(ws.targets.name, "the targets' name", label)
        meta["targets_notes"] = json.dumps([str(n) for n in ws.targets.notes], ensure_ascii=False)
    mapping_rows = []
    for upload, mapping in dict(ws.mappings).items():
        _check_text(upload, "an upload's name", label)
        if not isinstance(mapping, Mapping):
            raise WorkspaceError(f"Workspace '{label}': the mapping of {upload!r} must be a dict of text.")
        for theirs, ours in mapping.items():
            mapping_rows.append(
                {
                    "upload": upload,
                    "their_column": _check_text(theirs, f"a column of {upload!r}", label),
                    "our_column": _check_text(ours, f"a column of {upload!r}", label),
                }
            )
    scenario_rows, edit_frames = [], []
    names: set[str] = set()
    for position, scenario in enumerate(ws.scenarios, start=1):
        if not isinstance(scenario, Scenario):
            raise WorkspaceError(f"Workspace '{label}': scenario {position} is not a Scenario.")
        _check_text(scenario.name, "a scenario's name", label)
        if scenario.name in names:
            raise WorkspaceError(
                f"Workspace '{label}': two scenarios are named {scenario.name!r}; rename one."
            )
        names.add(scenario.name)
        scenario_rows.append(
            {"position": position, "name": scenario.name, "description": scenario.description}
        )
        edits = scenario.to_frame()
        edits.insert(0, "position", position)
        edit_frames.append(edits)
    if ws.draft is not None:
        if not isinstance(ws.draft, Scenario):
            raise WorkspaceError(f"Workspace '{label}': `draft` is not a Scenario.")
        meta["draft_name"] = _check_text(ws.draft.name, "the draft's name", label)
        edits = ws.draft.to_frame()
        edits.insert(0, "position", 0)  # no named scenario has position 0
        edit_frames.append(edits)
    costing_rows = []
    for name, per_type in dict(ws.costing).items():
        if name != "" and name not in names:
            raise WorkspaceError(
                f"Workspace '{label}': costing for {str(name)[:80]!r}, which is no scenario."
            )
        for service_type, inputs in dict(per_type).items():
            _check_text(service_type, "a service type", label)
            extra = set(inputs) - {"standard", "unit_cost"}
            if extra:
                raise WorkspaceError(
                    f"Workspace '{label}': costing inputs are 'standard' and 'unit_cost'; "
                    f"got {sorted(extra)}."
                )
            costing_rows.append(
                {
                    "scenario": name,
                    "service_type": service_type,
                    "standard": _number_or_none(inputs.get("standard"), "a planning standard", label),
                    "unit_cost": _number_or_none(inputs.get("unit_cost"), "a unit cost", label),
                }
            )
    edits_frame = (
        pd.concat(edit_frames, ignore_index=True)
        if edit_frames
        else pd.DataFrame(columns=["position", *_EDIT_COLUMNS])
    )
    text_cols = ["scenario", "action", "service_id", "service_type", "name", "crs"]
    edits_frame = edits_frame.astype({c: object for c in text_cols})
    for c in text_cols:
        edits_frame[c] = [None if _missing(v) else str(v) for v in edits_frame[c]]
    edits_frame = edits_frame.astype(
        {"position": "int64", "step": "int64", "capacity": "float64", "x": "float64", "y": "float64"}
    )
    return [
        *([(_TARGETS, targets)] if targets is not None else []),
        (_META, _text_frame([{"key": k, "value": v} for k, v in meta.items()], ["key", "value"])),
        (_MAPPINGS, _text_frame(mapping_rows, ["upload", "their_column", "our_column"])),
        (
            _SCENARIOS,
            pd.DataFrame(scenario_rows, columns=["position", "name", "description"]).astype(
                {"position": "int64", "name": object, "description": object}
            ),
        ),
        (_EDITS, edits_frame),
        (
            _COSTING,
            pd.DataFrame(costing_rows, columns=["scenario", "service_type", "standard", "unit_cost"]).astype(
                {"scenario": object, "service_type": object, "standard": "float64", "unit_cost": "float64"}
            ),
        ),
    ]


def _targets_table(targets: Any, label: str) -> pd.DataFrame | None:
    """Return the targets as a table to store (text columns as text, numbers as floats), or ``None``."""
    from socialmap.plan import TARGET_COLUMNS, Targets

    if targets is None:
        return None
    if not isinstance(targets, Targets):
        raise WorkspaceError(f"Workspace '{label}': `targets` must be a socialmap.plan.Targets.")
    table = pd.DataFrame(targets.table).reindex(columns=list(TARGET_COLUMNS)).reset_index(drop=True)
    text = ("area_id", "name", "service_type", "cost_source", "note")
    out = pd.DataFrame(index=table.index)
    for col in TARGET_COLUMNS:
        if col in text:
            out[col] = pd.Series([None if _missing(v) else str(v) for v in table[col]], dtype=object)
        else:
            out[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _text_frame(rows: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns).astype(object)
