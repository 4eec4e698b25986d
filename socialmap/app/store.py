"""
The app's workspaces on the server: one GeoPackage (:mod:`socialmap.workspace`) per workspace id.

Each browser session of the app works in a workspace named by an id in its URL (``?ws=…``): a random,
unguessable token of :data:`ID_LENGTH` characters of :data:`ID_ALPHABET` (about 134 bits), made by
:func:`new_id` when a session starts without one. The app writes the workspace's state (uploads, column
mappings, options, named scenarios, the view) on every change with :meth:`Store.save`, and reads it
back when a page opens with an id (:meth:`Store.load`): a refresh, a server restart or another browser
with the same URL finds the same workspace; another id never does.

Where the files are: the folder named by the environment variable ``SOCIALMAP_WORKSPACES`` (for a
shared server), else :data:`socialmap.settings.workspaces_dir`, else ``workspaces`` in the user data
directory (:func:`platformdirs.user_data_dir`). The folder holds raw counts (the uploads as given): it
is never served, published or backed up where others can read it; only someone who holds an id can open
its workspace.

Ids are checked (:func:`valid_id`) before they name a file: a fixed alphabet and length, so no id
reaches outside the folder. Writes are atomic (:func:`socialmap.io.write_atomic`): two tabs writing one
workspace never corrupt it; the last write wins, and :meth:`Store.save` reports that the file had
changed since the caller last read or wrote it (:attr:`Saved.conflict`), so the app can say so.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import string
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from socialmap import settings
from socialmap.errors import N_, SocialMapError
from socialmap.workspace import CHOICE_KEYS, FILE_KINDS, UPLOAD_KINDS, VIEW_KEYS, Workspace, WorkspaceError

__all__ = [
    "APP_OPTIONS",
    "CATCHMENT_KM_RANGE",
    "CATCHMENT_MIN_RANGE",
    "DRAFT_NAME",
    "ENV_VAR",
    "ID_ALPHABET",
    "ID_LENGTH",
    "AppState",
    "Saved",
    "Store",
    "Stamp",
    "StoreError",
    "WorkspaceError",
    "clean_view",
    "default_folder",
    "from_workspace",
    "new_id",
    "option_widgets",
    "plan_edits",
    "session_state",
    "to_workspace",
    "valid_id",
]

#: Environment variable naming the folder of the workspaces (e.g. on a shared server).
ENV_VAR = "SOCIALMAP_WORKSPACES"
#: Characters of a workspace id.
ID_ALPHABET = string.ascii_lowercase + string.digits
#: Length of a workspace id: 36**26 ≈ 2**134 ids.
ID_LENGTH = 26
_ID = re.compile(f"[{ID_ALPHABET}]{{{ID_LENGTH}}}")
#: Options of :class:`socialmap.pipeline.AnalysisConfig` the app sets and keeps.
APP_OPTIONS = ("method", "catchment_m", "spreading", "cell_size_m", "catchment_min")


class StoreError(SocialMapError):
    """A workspace id is not valid, or the store's folder cannot be used."""


def new_id() -> str:
    """Return a new random workspace id (:data:`ID_LENGTH` characters of :data:`ID_ALPHABET`)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def valid_id(value: Any) -> bool:
    """
    Whether ``value`` is a workspace id: exactly :data:`ID_LENGTH` characters of :data:`ID_ALPHABET`.

    >>> valid_id(new_id()), valid_id("../../etc/passwd"), valid_id("A" * ID_LENGTH)
    (True, False, False)
    """
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def default_folder() -> Path:
    """Return the folder of the workspaces: ``$SOCIALMAP_WORKSPACES``, the setting, or the user data dir."""
    named = os.environ.get(ENV_VAR) or settings.workspaces_dir
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("socialmap", appauthor=False)) / "workspaces"


#: What identifies one written version of a file: (inode, modification time in ns, size). An atomic
#: replace makes a new inode, so two writes within one clock tick still differ.
Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class Saved:
    """What :meth:`Store.save` did: the file's new :data:`Stamp`, and whether it had changed meanwhile."""

    stamp: Stamp
    conflict: bool = False


@dataclass(frozen=True)
class Store:
    """
    A folder of workspaces, one ``<id>.gpkg`` each.

    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> ws_id = new_id()
    >>> store.load(ws_id) is None
    True
    >>> saved = store.save(ws_id, Workspace(demo="kosovo", view={"tab": "plan"}))
    >>> store.load(ws_id).view["tab"], saved.conflict
    ('plan', False)
    """

    folder: Path = field(default_factory=default_folder)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(self.folder))

    def path(self, ws_id: str) -> Path:
        """Return the file of workspace ``ws_id`` (a :class:`StoreError` if the id is not valid)."""
        if not valid_id(ws_id):
            raise StoreError(
                N_(
                    "'{id}' is not a workspace id. Fix: open the link you were given whole, or start a "
                    "new workspace."
                ),
                id=str(ws_id)[:40],
            )
        return self.folder / f"{ws_id}.gpkg"

    def stamp(self, ws_id: str) -> Stamp | None:
        """Return the :data:`Stamp` of the workspace's file, or ``None`` if there is none."""
        try:
            st = self.path(ws_id).stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def exists(self, ws_id: str) -> bool:
        """Whether workspace ``ws_id`` has been saved."""
        return self.stamp(ws_id) is not None

    def load(self, ws_id: str) -> Workspace | None:
        """
        Read workspace ``ws_id``; ``None`` if it was never saved.

        Raises
        ------
        StoreError
            When the id is not valid.
        WorkspaceError
            When its file cannot be read (see :func:`socialmap.workspace.load`).
        """
        from socialmap import workspace

        file = self.path(ws_id)
        if not file.exists():
            return None
        return workspace.load(file)

    def save(self, ws_id: str, ws: Workspace, *, seen: Stamp | None = None) -> Saved:
        """
        Write workspace ``ws_id`` atomically (the last write wins).

        Parameters
        ----------
        ws_id
            The workspace's id.
        ws
            What to write.
        seen
            The :data:`Stamp` the caller last read or wrote (``None``: it has seen no file). When the file
            on disk is another one, another tab or browser wrote it meanwhile: it is replaced all the same
            and :attr:`Saved.conflict` is true.

        Raises
        ------
        StoreError
            When the id is not valid.
        WorkspaceError
            When the workspace cannot be written (see :func:`socialmap.workspace.save`).
        """
        file = self.path(ws_id)
        before = self.stamp(ws_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(
                N_("The workspace folder '{folder}' cannot be made: {error}. Fix: check {var}."),
                folder=str(self.folder),
                error=type(exc).__name__,
                var=ENV_VAR,
            ) from None
        ws.save(file)
        after = self.stamp(ws_id)
        assert after is not None
        return Saved(after, conflict=before is not None and before != seen)


# ----------------------------------------------------------------------------------------------------
# The app's state ↔ a workspace
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppState:
    """
    What the app keeps of a workspace, as plain values.

    Attributes
    ----------
    uploads
        Per upload kind (some of :data:`socialmap.workspace.FILE_KINDS`: the inputs and the road
        network), the file as uploaded ``(name, bytes)``.
    mappings
        Per upload kind, its column mapping ``{"their column": "our column"}``.
    options
        Some of :data:`APP_OPTIONS` (fields of :class:`socialmap.pipeline.AnalysisConfig`).
    scenarios
        Named scenarios of the Plan tab: name → its :class:`socialmap.app.plan.PlanEdit` tuple, in order.
    costing
        Costing inputs of the base analysis, per service type: ``{"standard": places per 1,000,
        "unit_cost": EUR per place and year}`` (``None``: the taxonomy's).
    view
        Some of :data:`socialmap.workspace.VIEW_KEYS` → text.
    choices
        The app's other choices (travel mode, map display, the boundaries' attribution): some of
        :data:`socialmap.workspace.CHOICE_KEYS` → text.
    draft
        The scenario being drawn in the Plan tab (not yet saved under a name): its
        :class:`socialmap.app.plan.PlanEdit` tuple.
    targets
        The Plan tab's targets (:class:`socialmap.plan.Targets`), or ``None``.
    """

    uploads: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)
    mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    scenarios: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    costing: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    view: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, str] = field(default_factory=dict)
    draft: tuple[Any, ...] = ()
    targets: Any = None

    def key(self) -> tuple[Any, ...]:
        """Return a value that changes when anything kept changes (to write only on a change)."""
        return (
            tuple(sorted((k, v[0], hash(v[1])) for k, v in self.uploads.items())),
            tuple(sorted((k, tuple(sorted(m.items()))) for k, m in self.mappings.items())),
            tuple(sorted(self.options.items())),
            tuple(self.scenarios.items()),
            tuple(sorted((k, tuple(sorted(c.items()))) for k, c in self.costing.items())),
            tuple(sorted(self.view.items())),
            tuple(sorted(self.choices.items())),
            tuple(self.draft),
            _targets_key(self.targets),
        )

    def kept_key(self) -> tuple[Any, ...]:
        """
        Return :meth:`key` without the view: what the app's store rewrites the file for.

        The view (language, service type, tab…) is in the page's URL, so a reload or a link brings it
        back without a write; a click that only changes the view does not rewrite the whole GeoPackage
        (0.1–0.3 s on the demo). The view is written with the next change of anything else.
        """
        return replace(self, view={}).key()


def session_state(
    session: Mapping[Any, Any], *, lang: str, tabs: Mapping[str, str], defaults: Mapping[str, Any]
) -> AppState:
    """
    Return what a workspace keeps of an app session (its ``st.session_state``).

    Parameters
    ----------
    session
        The session's state: its widgets' values (``catchment_km``, ``k``, ``view``…) and the app's
        own keys (``ws_uploads``, ``column_mappings``, ``plan_scenarios``, ``plan_edits``…).
    lang
        The session's language (kept in the view).
    tabs
        The tabs' labels in ``lang`` → their keys (the tab widget ``view`` holds a label); a label
        not among them gives ``open_tab``, else ``"map"``.
    defaults
        The options before their widgets are shown: ``method``, ``catchment_m``, ``spreading``,
        ``cell_size_m``.

    The widgets' km become the options' metres. A choice about an input not uploaded is not kept:
    the catchment in minutes and the travel mode only with a road network, the boundaries'
    attribution only with an areas file; an unset view or choice is left out.
    """
    view = {
        "lang": lang,
        "group": session.get("target_group"),
        "service_type": session.get("service_type"),
        "metric": session.get("metric"),
        "area": session.get("profile_area"),
        "tab": tabs.get(str(session.get("view")), session.get("open_tab", "map")),
    }
    saved = session.get("ws_uploads", {})
    catchment_min = session.get("catchment_min") if "roads" in saved else None
    options = {
        "method": session.get("method", defaults["method"]),
        "catchment_m": float(session.get("catchment_km", defaults["catchment_m"] / 1000)) * 1000,
        "spreading": session.get("spreading", defaults["spreading"]),
        "cell_size_m": float(session.get("cell_km", defaults["cell_size_m"] / 1000)) * 1000,
        "catchment_min": None if catchment_min is None else float(catchment_min),
    }
    cells = session.get("cells")
    choices = {
        "basemap": session.get("basemap"),
        "scheme": session.get("scheme"),
        "classes": None if session.get("k") is None else str(session["k"]),
        "cells": None if cells is None else ("true" if cells else "false"),
        "travel_mode": session.get("travel_mode") if "roads" in saved else None,
        "attribution": (session.get("ws_attribution") or None) if "areas" in saved else None,
    }
    return AppState(
        uploads=dict(saved),
        mappings=dict(session.get("column_mappings", {})),
        options=options,
        scenarios=dict(session.get("plan_scenarios", {})),
        costing=dict(session.get("ws_costing", {})),
        view={k: str(v) for k, v in view.items() if v is not None},
        choices={k: str(v) for k, v in choices.items() if v is not None},
        draft=tuple(session.get("plan_edits", [])),
        targets=session.get("plan_targets"),
    )


def _targets_key(targets: Any) -> Any:
    """Return a value that changes with the targets' name, notes or table."""
    if targets is None:
        return None
    import pandas as pd

    table = int(pd.util.hash_pandas_object(targets.table, index=False).sum())
    return (targets.name, tuple(targets.notes), tuple(targets.table.columns), table)


#: The name the scenario being drawn is kept under (it is not one of the named scenarios).
DRAFT_NAME = "draft"


def to_workspace(
    state: AppState, *, inputs: Any = None, demo: str | None = None, taxonomy: Any = None
) -> Workspace:
    """
    Return the :class:`Workspace` of the app's state.

    Parameters
    ----------
    state
        The app's state.
    inputs
        The :class:`socialmap.app.uploads.Inputs` read from the uploads: their frames become the workspace's
        input layers (for QGIS and ``socialmap analyze --workspace``); ``None``: none.
    demo
        The demo that supplies what was not uploaded (none when the areas, services, population and
        taxonomy are all given).
    taxonomy
        The taxonomy the analysis used, when it is not the demo's (for the app: its uploaded YAML file
        ``(file name, bytes)``, given only when it reads without problems, so that
        ``socialmap analyze --workspace`` uses it too); ``None``: the demo's. The uploaded file itself
        is kept among :attr:`AppState.uploads` whatever it holds.
    """
    from socialmap.app.plan import plan_scenario

    layers = {}
    if inputs is not None:
        layers = {k: getattr(inputs, k) for k in UPLOAD_KINDS if getattr(inputs, k) is not None}
    options = {k: v for k, v in state.options.items() if k in APP_OPTIONS}
    if taxonomy is not None and len(layers) == len(UPLOAD_KINDS):
        demo = None  # every input is the person's own: no demo is read (nor its areas' names matched)
    return Workspace(
        **layers,
        taxonomy=taxonomy,
        demo=demo,
        mappings={k: dict(v) for k, v in state.mappings.items()},
        options=options,
        scenarios=tuple(plan_scenario(name, edits) for name, edits in state.scenarios.items()),
        costing={"": {k: dict(v) for k, v in state.costing.items()}} if state.costing else {},
        view={k: str(v) for k, v in state.view.items() if k in VIEW_KEYS and v is not None},
        choices={k: str(v) for k, v in state.choices.items() if k in CHOICE_KEYS and v is not None},
        draft=plan_scenario(DRAFT_NAME, state.draft) if state.draft else None,
        targets=state.targets,
        uploads={k: v for k, v in state.uploads.items() if k in FILE_KINDS},
    )


def from_workspace(ws: Workspace, *, services: Any = None) -> AppState:
    """
    Return the app's state of a workspace.

    Uploads are the files kept in the workspace; a workspace without them (saved by the CLI or the
    library) gives its input layers as GeoPackage files (``areas.gpkg``…) instead. Scenarios become the
    Plan tab's changes (:func:`plan_edits`, with ``services`` giving the sites and types of the services
    they close or change); so does the scenario being drawn (:attr:`AppState.draft`).
    """
    uploads = dict(ws.uploads)
    for kind in UPLOAD_KINDS:
        frame = getattr(ws, kind)
        if kind not in uploads and frame is not None:
            uploads[kind] = (f"{kind}.gpkg", _gpkg_bytes(frame, kind))
    return AppState(
        uploads=uploads,
        mappings={k: dict(v) for k, v in ws.mappings.items()},
        options={k: v for k, v in ws.options.items() if k in APP_OPTIONS},
        scenarios={s.name: plan_edits(s, services) for s in ws.scenarios},
        costing={k: dict(v) for k, v in ws.costing.get("", {}).items()},
        view=dict(ws.view),
        choices={k: v for k, v in ws.choices.items() if k in CHOICE_KEYS},
        draft=plan_edits(ws.draft, services) if ws.draft is not None else (),
        targets=ws.targets,
    )


#: The sidebar's catchment sliders: in km ``(lowest, highest)``, in minutes ``(lowest, highest, step)``.
CATCHMENT_KM_RANGE = (1, 50)
CATCHMENT_MIN_RANGE = (5, 120, 5)


def option_widgets(
    options: Mapping[str, Any],
    *,
    methods: Collection[str],
    spreading: Collection[str],
    cell_sizes_m: Collection[float],
) -> dict[str, Any]:
    """
    Return the sidebar's widget values (session-state key → value) for a workspace's saved options.

    A saved option the widgets cannot show is left out (its widget keeps its value): a method or a
    demand spreading not among ``methods`` / ``spreading``, a grid cell not among ``cell_sizes_m``.
    A catchment is brought into its slider's range: metres → whole km within
    :data:`CATCHMENT_KM_RANGE`, minutes → the nearest step of :data:`CATCHMENT_MIN_RANGE`.

    >>> option_widgets({"catchment_m": 7400.0, "cell_size_m": 3000.0}, methods=(), spreading=(),
    ...                cell_sizes_m=(1000.0,))
    {'catchment_km': 7}
    """
    out: dict[str, Any] = {}
    if options.get("method") in methods:
        out["method"] = options["method"]
    if options.get("spreading") in spreading:
        out["spreading"] = options["spreading"]
    lowest, highest = CATCHMENT_KM_RANGE
    if isinstance(options.get("catchment_m"), int | float):
        out["catchment_km"] = min(highest, max(lowest, round(options["catchment_m"] / 1000)))
    if options.get("cell_size_m") in cell_sizes_m:
        out["cell_km"] = options["cell_size_m"] / 1000
    lowest, highest, step = CATCHMENT_MIN_RANGE
    if isinstance(options.get("catchment_min"), int | float):
        out["catchment_min"] = min(highest, max(lowest, step * round(options["catchment_min"] / step)))
    return out


def _gpkg_bytes(frame: Any, layer: str) -> bytes:
    """Return a workspace's input layer as a GeoPackage file, kept as it is (its CRS, its text)."""
    import pandas as pd

    from socialmap.writers import gpkg_bytes

    table = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    return gpkg_bytes({layer: table}, crs=None, neutralise=False)


def plan_edits(scenario: Any, services: Any = None) -> tuple[Any, ...]:
    """
    Return a :class:`socialmap.scenario.Scenario` as the Plan tab's changes (:class:`.plan.PlanEdit`).

    A workspace keeps of a closed or resized service only its id; its type and present site (shown in
    the Plan tab) come from ``services`` (a GeoDataFrame with ``service_id``, ``service_type`` and
    points), or stay unknown (``""``, NaN) without it.
    """
    from pyproj import Transformer

    from socialmap.app.plan import CLICK_CRS, PlanEdit

    sites: dict[str, tuple[str, float, float]] = {}
    if services is not None and len(services):
        points = services.geometry.to_crs(CLICK_CRS)
        types = services["service_type"] if "service_type" in services.columns else [""] * len(services)
        for sid, stype, p in zip(services["service_id"].astype(str), types, points, strict=True):
            sites[sid] = (str(stype), float(p.x), float(p.y))
    out = []
    for row in scenario.to_frame().to_dict("records"):
        action = str(row["action"])
        sid = None if _blank(row["service_id"]) else str(row["service_id"])
        stype, lon, lat = sites.get(sid or "", ("", math.nan, math.nan))
        capacity = None if _blank(row["capacity"]) else float(row["capacity"])
        if action in ("add", "move"):
            lon, lat = float(row["x"]), float(row["y"])
            if not _blank(row["crs"]):
                to_click = Transformer.from_crs(row["crs"], CLICK_CRS, always_xy=True)
                lon, lat = to_click.transform(lon, lat)
        if action == "add":
            out.append(PlanEdit(str(row["service_type"]), lon, lat, capacity, "add"))
        elif action == "capacity":
            out.append(PlanEdit(stype, lon, lat, capacity, "capacity", sid))
        else:
            out.append(PlanEdit(stype, lon, lat, None, action, sid))
    return tuple(out)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def clean_view(
    given: Mapping[str, Any], allowed: Mapping[str, Iterable[str] | None], defaults: Mapping[str, str] = {}
) -> dict[str, str]:
    """
    Keep the view values that are allowed; fall back to ``defaults`` for the others.

    Parameters
    ----------
    given
        Values from a URL or a workspace (anything: a URL is written by anyone).
    allowed
        Per view key, the values it may take (``None``: any text of up to 200 characters).
    defaults
        What a key falls back to when ``given`` has no allowed value for it.

    >>> allowed = {"lang": ["en", "sq"], "tab": ["map", "plan"]}
    >>> clean_view({"lang": "sq", "tab": "../x"}, allowed, {"tab": "map"})
    {'lang': 'sq', 'tab': 'map'}
    """
    out: dict[str, str] = {}
    for key, options in allowed.items():
        value = given.get(key)
        if isinstance(value, Sequence) and not isinstance(value, str):
            value = value[-1] if value else None
        if isinstance(value, str) and (
            (options is None and 0 < len(value) <= 200) or (options is not None and value in set(options))
        ):
            out[key] = value
        elif key in defaults:
            out[key] = defaults[key]
    return out
