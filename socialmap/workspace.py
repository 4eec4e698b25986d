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
import os
import sqlite3
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The file's tables and what is written into them live in socialmap._workspace_format (with the limits and
# WorkspaceError), reading them back in socialmap._workspace_read; this module holds Workspace, save and load.
# Their public names are importable from here, as they always were.
from socialmap._workspace_format import (  # noqa: F401 - re-exported
    _COSTING,
    _MAX_TEXT,
    _META,
    CHOICE_KEYS,
    FILE_KINDS,
    SCHEMA_VERSION,
    UPLOAD_KINDS,
    VIEW_KEYS,
    WorkspaceError,
    _input_layers,
    _tables,
    _upload_rows,
    _write_uploads,
)
from socialmap._workspace_read import (
    _broken,
    _check_file,
    _corrupt,
    _load_draft,
    _load_json,
    _load_scenarios,
    _load_targets,
    _load_taxonomy,
    _read_tables,
    _stored_number,
)
from socialmap.errors import N_, Message, SocialMapError

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
