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
  :func:`socialmap.pipeline.analyze` keeps by the content of its inputs, and whose result is handed to
  the first run (below).

No throwaway first map is drawn: its one-time costs (the headline's and the map's first calls, about
0.13 s) are about what drawing it again costs, and the thread is busy while the browser loads anyway.

The first run calls the same functions with its own inputs and options, and the memos answer only for
equal content (a changed input or option is computed anew). Its analysis is then not computed a second
time: the warm-up's :class:`~socialmap.pipeline.Result` is handed to the first analysis asked for after
it, through a hook of :func:`socialmap.analyze` (``pipeline.prepared_result``), if that analysis's
arguments have the same content (:func:`arguments_key`: frames by their values and geometries, options
and taxonomy by every field) -- the very object, handed out once (never shared by two callers); with
other arguments it is dropped and computed anew. Either way the hook is then removed: one chance, the
first page's. The first run waits for the warm-up (:func:`wait_for_warm_up`, called by ``app.py`` at its
start) rather than computing the same thing beside it. Without the launcher (``streamlit run app.py``,
Streamlit's AppTest) there is no warm-up, no hook, and the wait returns at once.
"""

from __future__ import annotations

import ast
import contextvars
import dataclasses
import hashlib
import importlib
import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialmap.pipeline import AnalysisConfig, Result

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


class _Unkeyed(Exception):
    """An argument whose content :func:`arguments_key` does not digest (a file path, a callable, a graph)."""


def _digest(value: Any, into: Any) -> None:
    import pandas as pd

    if value is None or isinstance(value, bool | int | float | str):
        into.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, tuple | list):
        into.update(f"{type(value).__name__}[{len(value)}]".encode())
        for item in value:
            _digest(item, into)
    elif isinstance(value, Mapping):
        into.update(f"map[{len(value)}]".encode())
        for key, item in sorted(value.items(), key=lambda pair: repr(pair[0])):
            _digest(key, into)
            _digest(item, into)
    elif isinstance(value, pd.DataFrame):
        _digest_frame(value, into)
    elif (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and type(value).__module__.startswith("socialmap.")
    ):
        # the library's frozen records (AnalysisConfig, Taxonomy): their repr shows every field
        into.update(f"{type(value).__qualname__}:{value!r};".encode())
    else:
        raise _Unkeyed(type(value).__name__)


def _digest_frame(frame: Any, into: Any) -> None:
    import geopandas as gpd
    import pandas as pd
    import shapely

    into.update(f"frame{frame.shape}{list(map(str, frame.columns))}{list(map(str, frame.dtypes))}".encode())
    _digest(dict(frame.attrs), into)
    plain = [c for c in frame.columns if not isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    into.update(pd.util.hash_pandas_object(frame[plain], index=True).to_numpy().tobytes())
    for column in plain:
        if frame[column].dtype == object:  # hashed through str(): 1 and "1" are told apart by their types
            types = frame[column].map(lambda value: type(value).__qualname__)
            into.update(pd.util.hash_pandas_object(types, index=False).to_numpy().tobytes())
    for column in frame.columns:
        if column not in plain:
            series = frame[column]
            into.update(f"{column}:{series.crs.to_wkt() if series.crs else None}".encode())
            for wkb in shapely.to_wkb(series.to_numpy()):
                into.update(b"-" if wkb is None else wkb)


def arguments_key(arguments: Mapping[str, Any]) -> bytes | None:
    """
    Return a digest of the content of :func:`socialmap.analyze`'s arguments, or ``None``.

    ``None`` is for arguments whose content it does not read (a file path, a progress callback, a road
    graph): those never match.

    Frames are digested by their values, index, columns, types, attributes and geometries (with their
    CRS); the library's records (options, taxonomy) by their ``repr``, which shows every field.
    """
    if any(isinstance(arguments.get(kind), str | Path) for kind in ("areas", "services", "population")):
        return None  # a file's content may change between the warm-up and the first run
    digest = hashlib.blake2b(digest_size=20)
    try:
        _digest(dict(arguments), digest)
    except _Unkeyed:
        return None
    return digest.digest()


#: In the warm-up's own analysis, where the hook notes its arguments' key (a context variable: per thread).
_WARMING: contextvars.ContextVar[list[bytes] | None] = contextvars.ContextVar(
    "socialmap_warming", default=None
)
#: The result the warm-up computed, by its arguments' key, until the first run takes it.
_prepared: dict[bytes, Result] = {}
_prepared_lock = threading.Lock()


def _prepared_result(arguments: dict[str, Any]) -> Result | None:
    """
    Hand the warm-up's result to the first run: the hook :func:`socialmap.analyze` calls (see warm_up).

    In the warm-up's own call it notes the arguments' key and returns ``None`` (the analysis is computed).
    The first call after that, from any other thread, is the one chance: the warm-up's result if the
    arguments' content is equal (handed out once, so no two callers share it), else ``None``; the hook is
    then removed, and every later analysis is computed as without a launcher.
    """
    from socialmap import pipeline

    key = arguments_key(arguments)
    warming = _WARMING.get()
    if warming is not None:
        if key is not None:
            warming.append(key)
        return None
    with _prepared_lock:
        if pipeline.prepared_result is _prepared_result:
            pipeline.prepared_result = None
        kept = _prepared.pop(key, None) if key is not None else None
        _prepared.clear()
    return kept


def _streamlit_first_calls() -> None:
    """
    Do ahead what Streamlit itself does once per process during a script's first run.

    - Its emoji catalogue (``streamlit.emojis``), loaded and its pattern compiled at the first text an
      alert shows that is not ASCII (every Albanian and Serbian one): Python's ``re`` keeps the pattern.
    - :func:`inspect.getmodule`'s table of the loaded modules by file, filled when the first component
      is declared (``streamlit_folium``'s import): a later call adds only the modules imported since.

    Nothing depends on either but the time: a Streamlit without them is let be.
    """
    import inspect

    try:
        from streamlit.string_util import extract_leading_emoji
    except ImportError:
        pass
    else:
        extract_leading_emoji("ë")
    inspect.getmodule(inspect.currentframe())


def warm_up(script: str | Path, demo: str = "kosovo") -> None:
    """
    Do ahead what the app's first run does first: its imports, the demo read and analysed.

    Streamlit's own one-time work that a script run would do (:func:`_streamlit_first_calls`) too.

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
    _streamlit_first_calls()
    from socialmap import pipeline, views
    from socialmap.datasets import load_demo

    loaded = load_demo(demo)
    inputs = views.read_inputs(demo=loaded)
    asked: list[bytes] = []
    pipeline.prepared_result = _prepared_result
    token = _WARMING.set(asked)
    try:
        analysis = views.analyze_inputs(inputs, demo_config(), demo=loaded)
    finally:
        _WARMING.reset(token)
    if analysis.result is not None and len(asked) == 1:
        with _prepared_lock:
            if pipeline.prepared_result is _prepared_result:  # no other analysis has come first
                _prepared[asked[0]] = analysis.result


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
