"""
Start the app with its first page prepared while the server starts: ``python -m socialmap.serve app.py``.

It is ``streamlit run app.py`` (the same options, passed on to Streamlit's own command line) with a
warm-up beside it. Streamlit runs the app's script only when a browser has loaded its page and connected;
that first run then imports geopandas, folium and the library, reads the demo and analyses it (about
two seconds on the development machine), none of which Streamlit's server needed to start. The warm-up
does that work in a thread as soon as Streamlit's command line is loaded, while Streamlit starts its
server and the browser loads Streamlit's page, through the library's own memos:

- the modules ``app.py`` imports (read from its import statements), so the script's imports find them
  (a module that declares a Streamlit component is left to the script, :data:`SCRIPT_RUN_ONLY`);
- the demo, read once per process by :func:`socialmap.load_demo` (which hands out copies);
- the demo's analysis with the app's default options, whose demand points and per-type tables
  :func:`socialmap.pipeline.analyze` keeps by the content of its inputs.

No throwaway first map is drawn: its one-time costs (the headline's and the map's first calls, about
0.13 s) are about what drawing it again costs, and the thread is busy while the browser loads anyway.

Nothing computed by the warm-up is handed to the page as it is: the first run calls the same functions
with its own inputs and options, and the memos answer only for equal content (a changed input or option
is computed anew). The first run waits for the warm-up (:func:`wait_for_warm_up`, called by ``app.py``
at its start) rather than computing the same thing beside it. Without the launcher (``streamlit run
app.py``, Streamlit's AppTest) there is no warm-up and the wait returns at once.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socialmap.pipeline import AnalysisConfig

logger = logging.getLogger(__name__)

#: Set when the warm-up has finished (or failed); ``None`` when this process has no warm-up.
_done: threading.Event | None = None
#: Seconds the first run waits at most for the warm-up before it goes on by itself.
WAIT_LIMIT = 60.0
#: Modules whose import declares a Streamlit component: Streamlit registers it only when the import runs
#: in a script run, so the script imports them itself; the warm-up imports what they import.
SCRIPT_RUN_ONLY = ("streamlit_folium",)


def script_imports(script: str | Path) -> list[str]:
    """
    Return the modules a script imports at its top level (not under ``if TYPE_CHECKING:``), in order.

    ``from package import name`` gives ``package`` and ``package.name`` (the name may be a module);
    relative imports and ``__future__`` are left out.
    """
    tree = ast.parse(Path(script).read_text(encoding="utf-8"))
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "__future__":
                continue
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return list(dict.fromkeys(names))


def _import(name: str) -> None:
    """Import a module, or the package of a name that is not a module (``package.function``)."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        parent, _, _ = name.rpartition(".")
        if not parent:
            raise
        importlib.import_module(parent)


def demo_config() -> AnalysisConfig:
    """Return the analysis options of the app's first page: its sidebar's defaults (``app.py``)."""
    from socialmap import settings
    from socialmap.pipeline import AnalysisConfig

    defaults = AnalysisConfig()
    return AnalysisConfig(
        method="2sfca",
        catchment_m=round(settings.default_catchment_m / 1000) * 1000.0,
        spreading=defaults.spreading,
        cell_size_m=defaults.cell_size_m,
    )


def warm_up(script: str | Path, demo: str = "kosovo") -> None:
    """
    Do ahead what the app's first run does first: its imports, the demo read and analysed.

    Everything goes through the library's memos (see the module's docstring); nothing is returned.
    """
    for name in script_imports(script):
        top = name.partition(".")[0]
        if top not in SCRIPT_RUN_ONLY:
            _import(name)
            continue
        spec = importlib.util.find_spec(top)
        if spec is not None and spec.origin:
            for dependency in script_imports(spec.origin):
                if dependency.partition(".")[0] not in SCRIPT_RUN_ONLY:
                    _import(dependency)
    from socialmap import views
    from socialmap.datasets import load_demo

    loaded = load_demo(demo)
    inputs = views.read_inputs(demo=loaded)
    views.analyze_inputs(inputs, demo_config(), demo=loaded)


def _warm_up(script: str, done: threading.Event) -> None:
    start = time.perf_counter()
    try:
        warm_up(script)
    except Exception:  # noqa: BLE001 - the app then does the work itself; the log keeps why
        logger.exception("the app's warm-up failed; the first page is computed when it is asked for")
    else:
        logger.info("app warmed up in %.2f s", time.perf_counter() - start)
    finally:
        done.set()


def start_warm_up(script: str | Path) -> threading.Event:
    """Start :func:`warm_up` in a thread; the first run waits for it (:func:`wait_for_warm_up`)."""
    global _done
    done = threading.Event()
    _done = done
    threading.Thread(target=_warm_up, args=(str(script), done), name="socialmap-warm-up", daemon=True).start()
    return done


def wait_for_warm_up(limit: float = WAIT_LIMIT) -> bool:
    """
    Wait until the warm-up has finished (at most ``limit`` seconds); at once if there is none.

    Returns whether it has finished (``True`` too when this process has no warm-up).
    """
    return True if _done is None else _done.wait(limit)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m socialmap.serve SCRIPT [streamlit run options]``: ``streamlit run`` with the warm-up."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        raise SystemExit("usage: python -m socialmap.serve app.py [streamlit run options]")
    # Streamlit's command line first (it imports Streamlit), then the warm-up beside the server's start.
    from streamlit.web import cli

    start_warm_up(args[0])
    cli.main(["run", *args], prog_name="streamlit")


if __name__ == "__main__":
    # Through the package's own module (not this ``__main__`` copy), whose state ``app.py`` reads.
    from socialmap.serve import main as _main

    _main()
