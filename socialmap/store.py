"""
The app's workspaces under their old name (``from socialmap import store``), kept for app.py and notebooks.

Everything lives in :mod:`socialmap.app.store` and is re-exported here unchanged (the same objects).
Nothing is defined here.
"""

from __future__ import annotations

from socialmap.app.store import (
    APP_OPTIONS,
    DRAFT_NAME,
    ENV_VAR,
    ID_ALPHABET,
    ID_LENGTH,
    AppState,
    Saved,
    Stamp,
    Store,
    StoreError,
    WorkspaceError,
    clean_view,
    default_folder,
    from_workspace,
    new_id,
    plan_edits,
    to_workspace,
    valid_id,
)

__all__ = [
    "APP_OPTIONS",
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
    "plan_edits",
    "to_workspace",
    "valid_id",
]
