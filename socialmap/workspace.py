"""
Workspaces: everything needed to reproduce an analysis, in one GeoPackage file.

A workspace holds the inputs (areas, services, population) as GeoPackage layers, and in plain attribute
tables the taxonomy (its YAML text), the column mappings of each upload (``{"their column": "our
column"}``), the analysis options, the view, and every named scenario with its edits
(:meth:`socialmap.scenario.Scenario.to_frame`) and costing inputs. QGIS opens the file directly; a planner
can e-mail it.

A workspace holds **raw counts** (the population and the services of sensitive types as uploaded): it is
never published as it is. Share it only with people allowed to see the inputs; publish the outputs of
:mod:`socialmap.export` and :mod:`socialmap.report`, which pass through :mod:`socialmap.privacy`.

Tables (schema version :data:`SCHEMA_VERSION`)
----------------------------------------------
``areas``, ``services``
    Layers, as given (in their own CRS).
``population``
    Attribute table.
``socialmap_workspace``
    ``key``, ``value``: ``schema_version``, ``socialmap_version``, ``demo``, ``taxonomy_origin``,
    ``taxonomy_yaml``, ``options`` (JSON of :class:`socialmap.pipeline.AnalysisConfig` fields), ``view``
    (JSON of text).
``socialmap_mappings``
    ``upload``, ``their_column``, ``our_column``.
``socialmap_scenarios``
    ``position``, ``name``, ``description``.
``socialmap_edits``
    ``position`` (of the scenario) and the columns of :meth:`Scenario.to_frame`.
``socialmap_costing``
    ``scenario`` (``""``: the base analysis), ``service_type``, ``standard`` (places per 1,000),
    ``unit_cost`` (EUR per place and year).
``socialmap_targets`` (optional: only when the workspace holds targets; older files load without it)
    The columns of :data:`socialmap.plan.TARGET_COLUMNS`; the plan's name and notes are the
    ``socialmap_workspace`` keys ``targets_name`` and ``targets_notes`` (JSON list).
``socialmap_uploads`` (optional)
    ``kind`` (one of :data:`FILE_KINDS`: ``areas``, ``services``, ``population``, ``roads``),
    ``file_name``, ``content`` (the file's bytes as uploaded, a BLOB): what the app reads again, with
    the column mappings, to restore a workspace.

Optional parts of schema version 1 (a file without them loads; an older socialmap ignores them):
the ``socialmap_workspace`` keys ``choices`` (JSON of text: the app's other choices, some of
:data:`CHOICE_KEYS`) and ``draft_name`` (the scenario being drawn, not yet saved under a name, whose
edits are the rows of ``socialmap_edits`` at ``position`` 0).

Writing is atomic (:func:`socialmap.io.write_atomic`): a writer killed half-way leaves the last complete
file. Reading checks the file before it trusts it (a SQLite file, a GeoPackage, SQLite's integrity check,
the schema version, limits on every table) and reads the input layers through the loaders of
:mod:`socialmap.io`, with their limits and checks; a file that fails is a :class:`WorkspaceError` naming it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
import warnings
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from socialmap import settings
from socialmap.errors import N_, DataSourceError, Message, Number, SocialMapError

__all__ = [
    "CHOICE_KEYS",
    "FILE_KINDS",
    "SCHEMA_VERSION",
    "UPLOAD_KINDS",
    "VIEW_KEYS",
    "Workspace",
    "WorkspaceError",
    "load",
    "save",
]

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
_EDIT_COLUMNS = (
    "scenario",
    "step",
    "action",
    "service_id",
    "service_type",
    "name",
    "capacity",
    "x",
    "y",
    "crs",
)
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: The most characters of one text value of the workspace's own tables (names, ids, columns, view).
_MAX_TEXT = 1_000
#: The most characters of a JSON value (options, view) and of the taxonomy's YAML.
_MAX_JSON = 100_000


class WorkspaceError(DataSourceError):
    """A workspace file cannot be read (missing, corrupt, foreign, too new) or its content cannot be saved."""


@dataclass(frozen=True, eq=False)
class Workspace:
    """
    Everything needed to reproduce an analysis.

    Attributes
    ----------
    areas, services, population
        The inputs (``None``: the demo's).
    taxonomy
        A :class:`socialmap.taxonomy.Taxonomy`, a shipped taxonomy's name, a YAML path, or an uploaded
        YAML file ``(file name, bytes)``; ``None``: the demo's, else Kosovo's.
    demo
        Name of a demo supplying whatever is not given.
    mappings
        Per upload (e.g. ``"services"``), its column mapping ``{"their column": "our column"}``.
    options
        Fields of :class:`socialmap.pipeline.AnalysisConfig` (``{"method": "e2sfca", ...}``).
    scenarios
        Named :class:`socialmap.scenario.Scenario` objects, in order (names unique).
    costing
        Per scenario name (``""``: the base analysis), per service type, ``{"standard": places per 1,000,
        "unit_cost": EUR per place and year}`` (``None``: the taxonomy's).
    view
        What is shown: some of :data:`VIEW_KEYS` → text.
    choices
        The app's other choices: some of :data:`CHOICE_KEYS` → text.
    draft
        The scenario being drawn, not yet saved under a name (a :class:`socialmap.scenario.Scenario`),
        or ``None``.
    targets
        The plan's targets (:class:`socialmap.plan.Targets`), or ``None``.
    uploads
        Per upload kind (some of :data:`FILE_KINDS`), the file as uploaded: ``(file name, bytes)``.
        The app keeps them so that it reads them again with their :attr:`mappings`; the input layers
        (:attr:`areas`...) are what was read from them, for QGIS and the CLI.
    notes
        Warnings of the loaders when the workspace was read (repairs, missing capacities...).
    """

    areas: Any = None
    services: Any = None
    population: Any = None
    taxonomy: Any = None
    demo: str | None = None
    mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    scenarios: tuple[Any, ...] = ()
    costing: Mapping[str, Mapping[str, Mapping[str, float | None]]] = field(default_factory=dict)
    view: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, str] = field(default_factory=dict)
    draft: Any = None
    targets: Any = None
    uploads: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def config(self) -> Any:
        """Return the :class:`socialmap.pipeline.AnalysisConfig` of :attr:`options`."""
        from socialmap.pipeline import AnalysisConfig

        return AnalysisConfig(**dict(self.options))

    def scenario(self, name: str) -> Any:
        """Return the scenario named ``name``."""
        for s in self.scenarios:
            if s.name == name:
                return s
        raise SocialMapError(
            f"The workspace has no scenario {name!r}; it has {[s.name for s in self.scenarios]}."
        )

    def inputs(self) -> Any:
        """Return the :class:`socialmap.scenario.Inputs` of the workspace (what its scenarios start from)."""
        from socialmap.scenario import Inputs

        given: dict[str, Any] = {"demo": self.demo}
        for key in ("areas", "services", "population", "taxonomy"):
            value = getattr(self, key)
            if value is not None:
                given[key] = value
        return Inputs.from_mapping(given)

    def analyze(self, **kwargs: Any) -> Any:
        """Run :func:`socialmap.pipeline.analyze` on the workspace's inputs and options."""
        from socialmap.pipeline import analyze

        return analyze(
            self.areas,
            self.services,
            self.population,
            demo=self.demo,
            taxonomy=self.taxonomy,
            config=self.config(),
            **kwargs,
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the workspace to ``path`` (see :func:`save`)."""
        return save(path, self)


# ----------------------------------------------------------------------------------------------------
# Saving
# ----------------------------------------------------------------------------------------------------


def save(path: str | os.PathLike[str], workspace: Workspace | None = None, /, **fields: Any) -> Path:
    """
    Write a workspace to a GeoPackage, atomically.

    Parameters
    ----------
    path
        The ``.gpkg`` file; replaced whole (a writer killed half-way leaves the previous file).
    workspace
        A :class:`Workspace`; or give its fields as keywords (``areas=``, ``services=``, ``population=``,
        ``taxonomy=``, ``demo=``, ``mappings=``, ``options=``, ``scenarios=``, ``costing=``, ``view=``,
        ``choices=``, ``draft=``, ``targets=``, ``uploads=``),
        which also replace the workspace's.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    WorkspaceError
        When a part cannot be kept (a taxonomy without its YAML, unknown options, two scenarios of one
        name...), naming it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from socialmap.scenario import Scenario
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> _ = save(f, demo="kosovo", scenarios=[Scenario("close one").remove("svc-1")])
    >>> [s.name for s in load(f).scenarios]
    ['close one']
    """
    from socialmap.io import write_atomic

    base = workspace if workspace is not None else Workspace()
    allowed = [f.name for f in dataclasses.fields(Workspace) if f.name != "notes"]
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise WorkspaceError(f"save() got unknown field(s) {unknown}; give some of {allowed}.")
    ws = dataclasses.replace(base, **fields)
    label = str(path)
    layers = _input_layers(ws, label)
    tables = _tables(ws, label)
    uploads = _upload_rows(ws, label)

    def writer(tmp: Path) -> None:
        import pyogrio

        first = True
        for name, frame in [*layers, *tables]:
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=not first)
            first = False
        if uploads:
            _write_uploads(tmp, uploads)

    return write_atomic(path, writer)


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


# ----------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Workspace:
    """
    Read a workspace written by :func:`save`.

    Parameters
    ----------
    path
        The ``.gpkg`` file.

    Returns
    -------
    workspace
        The :class:`Workspace`; its inputs read through the loaders of :mod:`socialmap.io` (their
        warnings in :attr:`Workspace.notes`), its taxonomy checked, its scenarios rebuilt with
        :meth:`Scenario.from_frame` (an ``add`` of several services comes back as one ``add`` per service,
        with the same result).

    Raises
    ------
    WorkspaceError
        Naming the file, when it is missing, too large, not a GeoPackage, corrupt or truncated, not a
        socialmap workspace, of an unknown schema version, or when one of its tables breaks the schema.
    ValidationError, TaxonomyError
        When an input layer or the taxonomy fails the loaders' checks.
    """
    label = str(path)
    try:
        return _load(Path(path), label)
    except SocialMapError:
        raise
    except Exception as exc:  # anything else a foreign or damaged file can make a library raise
        raise WorkspaceError(
            N_(
                "Workspace '{file}' cannot be read as a workspace: it is damaged, or not a file socialmap "
                "wrote. Fix: open a workspace saved by socialmap, or an earlier copy of it."
            ),
            file=label,
        ) from exc


def _load(file: Path, label: str) -> Workspace:
    _check_file(file, label)
    try:
        tables = _read_tables(file, label)
        meta, mappings, scenario_rows, edit_rows, costing_rows, layers, target_rows, uploads = tables
    except sqlite3.Error:
        raise _corrupt(label, Message(N_("SQLite cannot read it"))) from None
    except UnicodeDecodeError:
        raise _corrupt(label, Message(N_("it holds text that is not UTF-8"))) from None
    version = meta.get("schema_version", "")
    if not version.isdigit() or not 1 <= int(version):
        raise WorkspaceError(
            N_(
                "Workspace '{file}' has no valid schema version ('{version}'). Fix: open a workspace saved "
                "by socialmap."
            ),
            file=label,
            version=version[:20],
        )
    if int(version) > SCHEMA_VERSION:
        raise WorkspaceError(
            N_(
                "Workspace '{file}' was saved by a newer socialmap (schema version {version}; this one reads "
                "up to {known}). Fix: update socialmap."
            ),
            file=label,
            version=version[:20],
            known=str(SCHEMA_VERSION),
        )
    # Schema version 1 is the first: there is nothing older to migrate yet.
    taxonomy = _load_taxonomy(meta, label)
    options = _load_json(meta.get("options", "{}"), "options", label)
    view = _load_json(meta.get("view", "{}"), "view", label)
    if not all(k in VIEW_KEYS and isinstance(v, str) and len(v) <= _MAX_TEXT for k, v in view.items()):
        raise _broken(label, _META, Message(N_("its key '{key}'"), key="view"))
    choices = _load_json(meta.get("choices", "{}"), "choices", label)
    if not all(k in CHOICE_KEYS and isinstance(v, str) and len(v) <= _MAX_TEXT for k, v in choices.items()):
        raise _broken(label, _META, Message(N_("its key '{key}'"), key="choices"))
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        from socialmap.pipeline import AnalysisConfig

        AnalysisConfig(**options)
    except (TypeError, SocialMapError) as exc:
        raise _broken(label, _META, Message(N_("the analysis options: {error}"), error=exc)) from None
    scenarios = _load_scenarios(scenario_rows, edit_rows, label)
    draft = _load_draft(meta, edit_rows, label)
    costing: dict[str, dict[str, dict[str, float | None]]] = {}
    known = {s.name for s in scenarios} | {""}
    for scenario, service_type, standard, unit_cost in costing_rows:
        if scenario not in known:
            raise _broken(label, _COSTING, Message(N_("its column '{column}'"), column="scenario"))
        costing.setdefault(scenario, {})[service_type] = {
            "standard": _stored_number(standard, label, _COSTING),
            "unit_cost": _stored_number(unit_cost, label, _COSTING),
        }
    targets = _load_targets(target_rows, meta, label)
    notes: list[str] = []
    frames: dict[str, Any] = {}
    from socialmap import io

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if "areas" in layers:
            frames["areas"] = io.read_areas(file, layer="areas")
        if "services" in layers:
            frames["services"] = io.read_services(file, layer="services", taxonomy=taxonomy)
        if "population" in layers:
            frames["population"] = io.read_population(file, layer="population", areas=frames.get("areas"))
    notes = [str(w.message) for w in caught]
    return Workspace(
        **frames,
        taxonomy=taxonomy,
        demo=meta.get("demo") or None,
        mappings=mappings,
        options=options,
        scenarios=tuple(scenarios),
        costing=costing,
        view=view,
        choices=choices,
        draft=draft,
        targets=targets,
        uploads=uploads,
        notes=tuple(notes),
    )


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
