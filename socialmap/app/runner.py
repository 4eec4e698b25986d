"""
The app's analysis runner and its memos: the inputs analysed, and the result as it may be shown.

:func:`analyze_inputs` runs :func:`socialmap.analyze` on the :class:`~socialmap.app.uploads.Inputs`
(an uploaded road network read by :func:`read_roads`), every failure an :class:`Analysis` with
problems, never a traceback. :func:`published` is the result with small counts hidden
(:func:`socialmap.privacy.protect`), computed once per result object (:data:`_PROTECTED`);
:data:`_PLAN_MEMO` keeps the Plan tab's comparisons and costings of the results the app keeps. Both
memos and their locks exist once, here (``socialmap.views`` re-exports the same functions).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from socialmap.app.labels import KIND_LABELS
from socialmap.app.uploads import Inputs, Upload, UploadOutcome, _unexpected, error_problems
from socialmap.errors import Message, Problem, SocialMapError
from socialmap.i18n import N_, Nn_, t

if TYPE_CHECKING:
    from socialmap.datasets import Demo
    from socialmap.pipeline import AnalysisConfig, Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysis:
    """
    The outcome of :func:`analyze_inputs`: a result, or the problems that prevented one.

    Attributes
    ----------
    result
        The :class:`~socialmap.pipeline.Result`, or ``None``.
    problems
        Why there is no result (empty when there is one).
    """

    result: Result | None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, eq=False)
class Roads:
    """
    An uploaded road network, read (:func:`read_roads`).

    Attributes
    ----------
    graph
        The :class:`socialmap.network.RoadGraph`, or ``None`` when nothing usable was uploaded.
    problems
        Why the file could not be used (empty when it could).
    """

    graph: Any = None
    problems: tuple[Problem, ...] = ()


def read_roads(upload: Upload | None, mode: str = "drive") -> Roads:
    """
    Read an uploaded road network: an OpenStreetMap extract (``.osm.pbf``, ``.osm``) or a saved graph.

    Nothing is raised: a file that cannot be read becomes a problem (the analysis then uses straight lines).
    """
    if upload is None:
        return Roads()
    from socialmap.network import read

    name, data = upload
    suffix = "".join(Path(name).suffixes[-2:]) or ".osm.pbf"
    with tempfile.TemporaryDirectory(prefix="socialmap-roads-") as folder:
        path = Path(folder) / f"roads{suffix}"
        path.write_bytes(data)
        try:
            graph = read(path, mode=mode)  # type: ignore[arg-type]
        except SocialMapError as exc:
            return Roads(None, error_problems(exc, name))
        except Exception as exc:  # noqa: BLE001 - a planner sees a report; the log keeps the traceback
            logger.exception("the road network could not be read")
            problem = _unexpected(
                name,
                exc,
                N_("The road network could not be read ({error})."),
                N_("Upload an .osm.pbf extract."),
            )
            return Roads(None, (problem,))
    graph.provenance["source"] = name
    return Roads(graph)


def cost_name(mode: str | None, lang: str | None = None) -> str:
    """Name a cost: ``None`` → "straight-line distance", ``"drive"`` → "travel time (roads, driving)"..."""
    from socialmap.network import COST_LABELS

    return t(COST_LABELS.get(str(mode or "euclidean"), COST_LABELS["euclidean"]), lang)


def cost_label(result: Result, lang: str | None = None) -> str:
    """How a result's catchments were measured: "straight-line distance" or "travel time (roads, driving)"."""
    return cost_name(str(result.provenance.get("cost", "euclidean")), lang)


def _blocked_problem(outcome: UploadOutcome) -> Problem:
    return Problem(
        outcome.filename,
        None,
        None,
        Message(
            *Nn_(
                "{file} has {n} error: nothing is analysed until it is fixed (the demo's {kind} are "
                "not put in its place).",
                "{file} has {n} errors: nothing is analysed until it is fixed (the demo's {kind} are "
                "not put in its place).",
            ),
            outcome.errors,
            file=outcome.filename,
            n=outcome.errors,
            kind=Message(KIND_LABELS[outcome.kind]),
        ),
        Message(
            N_(
                "Fix the rows listed for {file} and upload it again, or choose to use the demo's {kind} "
                "instead."
            ),
            file=outcome.filename,
            kind=Message(KIND_LABELS[outcome.kind]),
        ),
    )


def analyze_inputs(inputs: Inputs, config: AnalysisConfig, *, demo: Demo, network: Any = None) -> Analysis:
    """
    Run :func:`socialmap.analyze` on the inputs, the demo filling in what was not uploaded.

    Parameters
    ----------
    inputs
        From :func:`read_inputs`.
    config
        The analysis options.
    demo
        The demo: its name is passed to ``analyze`` when it supplies an input; its taxonomy is used.
    network
        A road graph (:attr:`Roads.graph`): catchments in minutes of travel on it; ``None``: straight lines.

    Returns
    -------
    analysis
        The result, or the problems (e.g. a population table that does not match the areas)
        as rows for :func:`problems_table`. Nothing is raised: an unexpected failure becomes one
        problem too (and is logged with its traceback).
    """
    from socialmap.pipeline import analyze

    if inputs.blocked:
        return Analysis(None, tuple(_blocked_problem(u) for u in inputs.uploads if u.kind in inputs.blocked))
    try:
        result = analyze(
            inputs.areas,
            inputs.services,
            inputs.population,
            demo=demo.name if inputs.uses_demo else None,
            taxonomy=inputs.taxonomy if inputs.taxonomy is not None else demo.taxonomy,
            config=config,
            network=network,
        )
    except SocialMapError as exc:
        return Analysis(None, error_problems(exc))
    except Exception as exc:  # noqa: BLE001 - a planner sees a report; the log keeps the traceback
        logger.exception("the analysis failed")
        problem = _unexpected(
            "analysis",
            exc,
            N_("The analysis failed unexpectedly ({error})."),
            N_("This is probably a bug in socialmap: please report it, with the files you uploaded."),
        )
        return Analysis(None, (problem,))
    return Analysis(result)


def published(result: Result, taxonomy: Taxonomy | None = None) -> Result:
    """
    Return a result as it may be shown: :attr:`socialmap.privacy.Protected.result` of it.

    Every view of the app (headline, map, tables, tooltips, downloads) is drawn from it, so that no
    small count of a sensitive group, nor any figure that would give one back, reaches the browser
    (see :mod:`socialmap.privacy`). A published result is returned as it is.
    """
    if is_published_result(result):
        return result
    tax = taxonomy if taxonomy is not None else result.taxonomy
    return cast("Result", _protected(result, tax).result)


def is_published_result(result: Any) -> bool:
    """Whether ``result`` is already a published one (:func:`published`)."""
    from socialmap.privacy import is_published

    return is_published(result)


#: protect() of each result object the app shows, so one rerun (headline, map, tables, difference map,
#: costing) and the reruns after it compute it once: id(result) → (weak reference to the result, the
#: (taxonomy, threshold, Protected) computed for it). The app hands its own taxonomy and the result's
#: (equal, but not always the same object), so an entry is found by an equal taxonomy and threshold.
_PROTECTED: dict[int, tuple[weakref.ref[Any], list[tuple[Any, int, Any]]]] = {}
_PROTECTED_LOCK = threading.RLock()  # re-entrant: a weak reference's callback may run in a locked block


def _same_taxonomy(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # a taxonomy whose fields cannot be compared: not the same
        return False


def _protected(result: Result, taxonomy: Taxonomy) -> Protected:
    """Return :func:`socialmap.privacy.protect` of a result, computed once per result object."""
    from socialmap import settings
    from socialmap.privacy import protect

    key, threshold = id(result), settings.suppression_threshold
    with _PROTECTED_LOCK:
        hit = _PROTECTED.get(key)
        kept = list(hit[1]) if hit is not None and hit[0]() is result else []
    for kept_taxonomy, kept_threshold, protected in kept:
        if kept_threshold == threshold and _same_taxonomy(kept_taxonomy, taxonomy):
            return cast("Protected", protected)
    protected = protect(result, taxonomy=taxonomy)

    def forget(_ref: weakref.ref[Any]) -> None:  # the result is gone: so is its entry
        with _PROTECTED_LOCK:
            _PROTECTED.pop(key, None)

    with _PROTECTED_LOCK:
        hit = _PROTECTED.get(key)
        if hit is None or hit[0]() is not result:
            hit = (weakref.ref(result, forget), [])
            _PROTECTED[key] = hit
        hit[1].append((taxonomy, threshold, protected))
        del hit[1][:-4]  # a few taxonomies per result at most
    return protected


class _ResultMemo:
    """
    Keep values computed from result objects while those objects live.

    The app's results are kept by its caches, so a rerun that changes nothing about them computes
    nothing again.

    An entry is found by the very objects (their ids, checked against weak references: a new result
    never finds an old one's entry) and by a key of everything else the value depends on; objects in
    the key that cannot be hashed (a taxonomy) go in ``same`` and are checked by identity.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[int, ...], tuple[tuple[weakref.ref[Any], ...], dict[Any, Any]]] = (
            OrderedDict()
        )
        self._lock = threading.RLock()  # re-entrant: a weak reference's callback may run in a locked block

    def get(
        self, objects: tuple[Any, ...], key: Any, compute: Callable[[], Any], same: tuple[Any, ...] = ()
    ) -> Any:
        """Return the value of ``key`` for ``objects`` (and the objects ``same``), computed once."""
        ids = tuple(map(id, objects))
        full = (key, tuple(map(id, same)))
        with self._lock:
            hit = self._kept.get(ids)
            if hit is not None and all(ref() is obj for ref, obj in zip(hit[0], objects, strict=True)):
                found = hit[1].get(full)
                if found is not None and all(a is b for a, b in zip(found[0], same, strict=True)):
                    self._kept.move_to_end(ids)
                    return found[1]
        value = compute()

        def forget(_ref: weakref.ref[Any]) -> None:  # one of the objects is gone: so is the entry
            with self._lock:
                self._kept.pop(ids, None)

        with self._lock:
            hit = self._kept.get(ids)
            if hit is None or not all(ref() is obj for ref, obj in zip(hit[0], objects, strict=True)):
                hit = (tuple(weakref.ref(obj, forget) for obj in objects), {})
                self._kept[ids] = hit
            hit[1].pop(full, None)
            hit[1][full] = (same, value)
            while len(hit[1]) > self._size:  # a few keys per objects (e.g. costings of several standards)
                del hit[1][next(iter(hit[1]))]
            self._kept.move_to_end(ids)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value

    def put(self, objects: tuple[Any, ...], key: Any, value: Any) -> None:
        """Keep a value already computed (e.g. the comparison a scenario run made)."""
        self.get(objects, key, lambda: value)


#: The Plan tab's comparisons and costings of the app's results (see :class:`_ResultMemo`).
_PLAN_MEMO = _ResultMemo()


def _unbound(comparison: Any) -> Any:
    """Drop the results a comparison compares (kept for them, it must not keep them alive)."""
    return dataclasses.replace(comparison, before=None, after=None)
