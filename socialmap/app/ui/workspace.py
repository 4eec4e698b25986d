"""
The workspace: its id in the URL, its state kept on the server (issue #17).

The library does the work (socialmap.store, socialmap.workspace); these functions only move values
between the store, the URL and session state. The uploads of a restored workspace live in
st.session_state["ws_uploads"] (a file widget cannot be given a file back).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from socialmap import display, settings, store, views, workspace
from socialmap.app.ui.cached import read_inputs, read_taxonomy
from socialmap.app.ui.common import DEFAULTS, DEMO, METHODS, MIME, SPREADING, TABS, uploaded
from socialmap.display import plain
from socialmap.errors import SocialMapError
from socialmap.errors import message as error_text
from socialmap.gaps import SCHEMES
from socialmap.i18n import LANGUAGES, N_, t

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

#: The view in the URL: query parameter → the widget key it sets.
VIEW_WIDGETS = {"lang": "lang", "group": "target_group", "service_type": "service_type", "metric": "metric"}
UPLOAD_WIDGETS = {
    "areas": "upload_areas",
    "services": "upload_services",
    "population": "upload_population",
    "roads": "upload_roads",
    "taxonomy": "upload_taxonomy",
}
#: Upload kinds → headings ("Roads: the saved file … is used").
FILE_TITLES = {**views.KIND_TITLES, "roads": N_("Roads"), "taxonomy": N_("Taxonomy")}


def workspace_store() -> store.Store:
    """Return the store of this server (its folder: $SOCIALMAP_WORKSPACES, the setting, or user data)."""
    return store.Store()


def start_workspace() -> None:
    """Once per browser session: take the workspace id from the URL (or make one) and restore it."""
    if "ws_id" in st.session_state:
        return
    given = st.query_params.get("ws")
    ws_id = given if given is not None and store.valid_id(given) else store.new_id()
    st.session_state["ws_id"] = ws_id
    if given is not None and given != ws_id:
        st.session_state["ws_bad_id"] = True
    st.query_params["ws"] = ws_id
    saved_view: dict[str, str] = {}
    try:
        ws = workspace_store().load(ws_id)
    except SocialMapError as exc:
        st.session_state["ws_problem"] = exc
        ws = None
    if ws is not None:
        st.session_state["ws_stamp"] = workspace_store().stamp(ws_id)
        restore_workspace(ws)
        saved_view = dict(ws.view)
    # The URL's view wins over the saved one; anything not allowed falls back to the defaults.
    url_view = {k: st.query_params.get(k) for k in workspace.VIEW_KEYS if k in st.query_params}
    st.session_state["ws_view"] = {**saved_view, **url_view}
    lang = store.clean_view(st.session_state["ws_view"], {"lang": list(LANGUAGES)}).get("lang")
    if lang:
        st.session_state["lang"] = lang


def restore_workspace(ws: workspace.Workspace) -> None:
    """Put a workspace's uploads, mappings, options and scenarios into session state."""
    state = store.from_workspace(ws)
    st.session_state["ws_uploads"] = dict(state.uploads)
    st.session_state["ws_seen"] = {}
    st.session_state["column_mappings"] = {k: dict(v) for k, v in state.mappings.items()}
    cells = (500.0, 1000.0, 2000.0, 5000.0, DEFAULTS.cell_size_m)
    widgets = store.option_widgets(state.options, methods=METHODS, spreading=SPREADING, cell_sizes_m=cells)
    st.session_state.update(widgets)
    restore_choices(state.choices)
    if state.targets is not None:
        st.session_state["plan_targets"] = state.targets
    else:
        st.session_state.pop("plan_targets", None)
    # Closed or resized services get their site and type once the services are read (restore_late_view).
    st.session_state["ws_pending_scenarios"] = ws.scenarios
    st.session_state["ws_pending_draft"] = ws.draft
    st.session_state["plan_scenarios"] = {}
    st.session_state["plan_edits"] = []
    st.session_state["ws_costing"] = {k: dict(v) for k, v in state.costing.items()}
    st.session_state.pop("ws_costing_for", None)


def restore_choices(choices: Mapping[str, str]) -> None:
    """Put a workspace's other choices (travel mode, map display, attribution) into their widgets."""
    allowed = {
        "travel_mode": ["drive", "walk"],
        "basemap": list(views.BASEMAPS),
        "scheme": list(SCHEMES),
        "classes": [str(k) for k in range(3, 8)],
        "cells": ["true", "false"],
        "attribution": None,
    }
    kept = store.clean_view(choices, allowed)
    for key, widget in (("travel_mode", "travel_mode"), ("basemap", "basemap"), ("scheme", "scheme")):
        if key in kept:
            st.session_state[widget] = kept[key]
    if "classes" in kept:
        st.session_state["k"] = int(kept["classes"])
    if "cells" in kept:
        st.session_state["cells"] = kept["cells"] == "true"
    # Kept outside the widget too: its widget is shown only with a file in the areas' uploader.
    st.session_state["areas_attribution"] = st.session_state["ws_attribution"] = kept.get("attribution", "")


def restore_map_view(tax: Any) -> None:
    """Once per session, after the taxonomy is known: set the map's choices from the view (if allowed)."""
    view = st.session_state.pop("ws_view_map", None)
    if view is None:
        return
    group = store.clean_view(view, {"group": views.target_group_options(tax)}).get("group")
    if group:
        st.session_state["target_group"] = group
    stype = store.clean_view(
        view, {"service_type": views.service_type_options(tax, st.session_state.get("target_group"))}
    ).get("service_type")
    if stype:
        st.session_state["service_type"] = stype
    metric = store.clean_view(
        view, {"metric": views.metric_options(st.session_state.get("service_type", views.ALL_TYPES))}
    ).get("metric")
    if metric:
        st.session_state["metric"] = metric


def restore_late_view(result: Any, lang: str) -> None:
    """Once per session, after the analysis: the municipality, the tab, and the saved scenarios."""
    pending = st.session_state.pop("ws_pending_scenarios", None)
    if pending is not None:
        st.session_state["plan_scenarios"] = {s.name: store.plan_edits(s, result.services) for s in pending}
    draft = st.session_state.pop("ws_pending_draft", None)
    if draft is not None:
        st.session_state["plan_edits"] = list(store.plan_edits(draft, result.services))
    view = st.session_state.pop("ws_view_late", None)
    if view is not None:
        late = store.clean_view(view, {"area": list(views.area_options(result, lang)), "tab": list(TABS)})
        if "area" in late:
            st.session_state["profile_area"] = late["area"]
        if "tab" in late:
            st.session_state["open_tab"] = late["tab"]
            st.session_state["view"] = t(TABS[late["tab"]], lang)
    if pending is not None and "ws_written" not in st.session_state:
        st.session_state["ws_written"] = app_state(lang).kept_key()  # restored: what the session starts from


def resolve_uploads(files: dict[str, UploadedFile | None]) -> dict[str, views.Upload | None]:
    """
    Return each upload: the file in its widget, else the workspace's saved file.

    A file the person removes from its widget is forgotten; a restored file (no widget value yet)
    stays until it is removed with its button.
    """
    saved: dict[str, views.Upload] = st.session_state.setdefault("ws_uploads", {})
    seen: dict[str, bool] = st.session_state.setdefault("ws_seen", {})
    out: dict[str, views.Upload | None] = {}
    for kind, file in files.items():
        value = uploaded(file)
        if value is not None:
            saved[kind], seen[kind] = value, True
        elif seen.pop(kind, False):
            saved.pop(kind, None)
        out[kind] = saved.get(kind)
    return out


def restore_costing(service_type: str) -> None:
    """When the Plan tab shows another service type: put that type's kept costing inputs in its fields."""
    if st.session_state.get("ws_costing_for") == service_type:
        return
    st.session_state["ws_costing_for"] = service_type
    kept = st.session_state.get("ws_costing", {}).get(service_type, {})
    st.session_state["plan_standard"] = kept.get("standard")
    st.session_state["plan_unit_cost"] = kept.get("unit_cost")


def remember_costing(service_type: str, standard: float | None, unit_cost: float | None) -> None:
    """Keep the costing inputs of a service type (the workspace saves them)."""
    kept = dict(st.session_state.get("ws_costing", {}))
    if standard is None and unit_cost is None:
        kept.pop(service_type, None)
    else:
        kept[service_type] = {"standard": standard, "unit_cost": unit_cost}
    st.session_state["ws_costing"] = kept


def app_state(lang: str) -> store.AppState:
    """Return the state of this session that the workspace keeps."""
    defaults = {
        "method": METHODS[1],
        "catchment_m": settings.default_catchment_m,
        "spreading": DEFAULTS.spreading,
        "cell_size_m": DEFAULTS.cell_size_m,
    }
    tabs = {t(text, lang): key for key, text in TABS.items()}
    return store.session_state(st.session_state, lang=lang, tabs=tabs, defaults=defaults)


def kept_taxonomy(uploads: Mapping[str, views.Upload]) -> Any:
    """Return the taxonomy of the uploaded (or restored) YAML file; ``None``: none, or it has problems."""
    upload = uploads.get("taxonomy")
    return None if upload is None else read_taxonomy(upload).taxonomy


def workspace_taxonomy(state: store.AppState) -> views.Upload | None:
    """Return the taxonomy file a workspace names for its analysis: the uploaded one, if it can be used."""
    return state.uploads.get("taxonomy") if kept_taxonomy(state.uploads) is not None else None


def keep_workspace(inputs: views.Inputs | None, lang: str) -> None:
    """Write the workspace when anything but the view changed since the last write (the view: in the URL)."""
    if "ws_pending_scenarios" in st.session_state:
        return  # not restored whole yet
    state = app_state(lang)
    st.query_params.update({"ws": st.session_state["ws_id"], **state.view})
    if "ws_written" not in st.session_state:  # the first run of a session: what it started from
        st.session_state["ws_written"] = state.kept_key()
        return
    if st.session_state["ws_written"] == state.kept_key():
        return
    try:
        saved = workspace_store().save(
            st.session_state["ws_id"],
            store.to_workspace(state, inputs=inputs, demo=DEMO, taxonomy=workspace_taxonomy(state)),
            seen=st.session_state.get("ws_stamp"),
        )
    except SocialMapError as exc:
        st.error(t("The workspace could not be saved: {error}", lang, error=plain(error_text(exc, lang))))
        return
    st.session_state["ws_stamp"], st.session_state["ws_written"] = saved.stamp, state.kept_key()
    if saved.conflict:
        st.warning(
            t(
                "This workspace was changed in another tab or browser meanwhile; your changes replaced "
                "those. Reload the page to see the workspace as saved.",
                lang,
            )
        )


def workspace_bytes(lang: str) -> bytes:
    """Return the workspace of this session as a GeoPackage file (for "Save workspace")."""
    import tempfile

    state = app_state(lang)
    files = (state.uploads.get(k) for k in views.UPLOAD_KINDS)
    inputs = read_inputs(*files, st.session_state["ws_source"])  # type: ignore[call-arg, arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        ws = store.to_workspace(state, inputs=inputs, demo=DEMO, taxonomy=workspace_taxonomy(state))
        file = ws.save(Path(tmp) / "workspace.gpkg")
        return file.read_bytes()


def open_workspace(file: UploadedFile | None, lang: str) -> None:
    """Open an uploaded workspace file into this session (once per file); a bad file is an error shown."""
    if file is None or st.session_state.get("ws_opened") == file.file_id:
        return
    import tempfile

    st.session_state["ws_opened"] = file.file_id
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "workspace.gpkg"
            path.write_bytes(file.getvalue())
            ws = workspace.load(path)
    except SocialMapError as exc:
        st.session_state["ws_open_error"] = plain(error_text(exc, lang).replace(str(path), file.name))
        return
    restore_workspace(ws)
    st.session_state["ws_view_map"] = st.session_state["ws_view_late"] = dict(ws.view)
    st.session_state["ws_written"] = None  # write it to this workspace on the next run
    for widget in UPLOAD_WIDGETS.values():
        st.session_state.pop(widget, None)
    st.rerun()


def workspace_panel(lang: str) -> None:
    """Show the sidebar's Workspace section: what it holds, Save, Open."""
    with st.expander(t("Workspace", lang), expanded=False):
        st.caption(
            t(
                "Your uploads, choices and saved scenarios are kept on this server under the link in the "
                "address bar: anyone with the link sees this workspace. A workspace holds raw counts "
                "(the population and the services as uploaded): never publish it as it is; publish the "
                "downloads of the tabs, which apply the privacy rule.",
                lang,
            )
        )
        display.offer_download(
            st,
            t("Save workspace", lang),
            lambda: workspace_bytes(lang),
            file_name="socialmap_workspace.gpkg",
            mime=MIME["gpkg"],
            key="workspace_save",
        )
        opened = st.file_uploader(t("Open workspace", lang), type=["gpkg"], key="workspace_open")
        open_workspace(opened, lang)
        problem = st.session_state.pop("ws_open_error", None)
        if problem:
            st.error(t("This file could not be opened as a workspace: {error}", lang, error=problem))
        restored = {k: v for k, v in st.session_state.get("ws_uploads", {}).items()}
        for kind, (name, _) in restored.items():
            if st.session_state.get(UPLOAD_WIDGETS[kind]) is None:
                st.caption(
                    t(
                        "{kind}: the saved file {file} is used.",
                        lang,
                        kind=t(FILE_TITLES[kind], lang),
                        file=plain(name),
                    )
                )
                if st.button(t("Stop using {file}", lang, file=plain(name)), key=f"ws_drop_{kind}"):
                    st.session_state["ws_uploads"].pop(kind, None)
                    st.rerun()


def show_workspace_notes(lang: str) -> None:
    """Say when the link's workspace id was not valid, or its saved state could not be read."""
    if st.session_state.pop("ws_bad_id", False):
        st.warning(t("The link's workspace id is not valid, so a new, empty workspace was started.", lang))
    problem = st.session_state.pop("ws_problem", None)
    if problem is not None:
        st.error(
            t(
                "The saved workspace could not be read, so a new one starts here: {error}",
                lang,
                error=plain(error_text(problem, lang)),
            )
        )
