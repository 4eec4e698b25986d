"""
The app's workspaces under their old name (``from socialmap import store``), kept for app.py and notebooks.

Everything lives in :mod:`socialmap.app.store`; its public names (its ``__all__``) are re-exported
here unchanged (the same objects); nothing is defined here.
"""

from __future__ import annotations

from socialmap.app.store import *  # noqa: F403 - every name of its __all__, the same objects
from socialmap.app.store import __all__ as __all__
