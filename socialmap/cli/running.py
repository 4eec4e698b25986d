"""What the analysing commands share: the run of the analysis with its progress bar, the workspace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from socialmap.cli.options import Inputs, Reach, _group_weights, _mappings
from socialmap.errors import SocialMapError
from socialmap.i18n import t


def _type_labels(taxonomy: Any, lang: str) -> dict[str, str]:
    """Labels of the service types in ``lang`` (empty if the taxonomy cannot be read here)."""
    from socialmap.taxonomy import load_taxonomy

    try:
        tax = taxonomy if hasattr(taxonomy, "service_type_keys") else load_taxonomy(taxonomy)
    except SocialMapError:
        return {}
    return {key: tax.label(key, lang) for key in tax.service_type_keys}


def _missing_inputs(lang: str) -> SocialMapError:
    return SocialMapError(
        t("Give --demo kosovo, or all three of --areas, --services and --population.", lang)
    )


def _open_workspace(path: Path, given: dict[str, Any], lang: str) -> Any:
    """Load ``--workspace``, refusing input or analysis options given beside it (they would be ignored)."""
    from socialmap import workspace

    clash = [f"--{name.replace('_', '-')}" for name, value in given.items() if value]
    if clash:
        raise SocialMapError(
            t(
                "--workspace brings its own inputs and analysis options; leave out {options}, or save a new "
                "workspace with them.",
                lang,
                options=", ".join(clash),
            )
        )
    return workspace.load(path)


def _given(inputs: Inputs, method: str, reach: Reach, **more: Any) -> dict[str, Any]:
    """Return the input and analysis options given beside ``--workspace`` (see :func:`_open_workspace`)."""
    return {
        **inputs.files(),
        "method": method != "2sfca",
        "catchment_m": reach.catchment_m,
        "catchment_min": reach.catchment_min,
        **more,
    }


def _save_workspace(path: Path, lang: str, opened: Any = None, **fields: Any) -> None:
    from socialmap import workspace

    written = workspace.save(path, opened, **{k: v for k, v in fields.items() if v is not None})
    typer.echo(t("wrote workspace: {path} (it holds raw counts: never publish it)", lang, path=written))


def _road_graph(roads: Path | None, mode: str, lang: str) -> Any:
    """Read the road network of ``--roads`` (``None`` without it), checking ``--mode``."""
    if mode not in ("drive", "walk"):
        raise SocialMapError(t("--mode must be drive or walk; got {value}.", lang, value=repr(mode)))
    if roads is None:
        return None
    from socialmap.network import read

    return read(roads, mode=mode)  # type: ignore[arg-type]


def _analysis(
    inputs: Inputs,
    reach: Reach,
    *,
    method: str = "2sfca",
    spreading: str = "grid",
    cell_size_m: float = 1000.0,
    service_types: tuple[str, ...] | None = None,
    lang: str = "en",
    columns: str | None = None,
    workspace: Any = None,
    group_weights: str | None = None,
) -> Any:
    """
    Run ``analyze`` for a command, with a progress bar on stderr and the run's notes after it.

    With ``workspace`` (a loaded :class:`socialmap.workspace.Workspace`), its inputs and options are used.
    ``group_weights`` is the text of ``--group-weights`` (see :func:`socialmap.cli.options._group_weights`).
    """
    from socialmap.pipeline import AnalysisConfig
    from socialmap.pipeline import analyze as run
    from socialmap.report import run_notes

    demo, taxonomy = inputs.demo, inputs.taxonomy
    files: tuple[Any, ...] = (inputs.areas, inputs.services, inputs.population)
    if workspace is not None:
        demo, taxonomy, config = workspace.demo, workspace.taxonomy, workspace.config()
        files = (workspace.areas, workspace.services, workspace.population)
        if demo is None and any(i is None for i in files):
            raise _missing_inputs(lang)
    else:
        if inputs.incomplete():
            raise _missing_inputs(lang)
        config = AnalysisConfig(
            method=method,  # type: ignore[arg-type]
            catchment_m=reach.catchment_m,
            spreading=spreading,  # type: ignore[arg-type]
            cell_size_m=cell_size_m,
            service_types=service_types,
            catchment_min=reach.catchment_min,
            weights=_group_weights(group_weights, taxonomy, lang),
        )
    graph = _road_graph(reach.roads, reach.mode, lang)
    mappings = _mappings(inputs, columns)
    labels = {**_type_labels(taxonomy, lang), "done": t("done", lang)}
    with typer.progressbar(length=1, label=t("analysing", lang), file=sys.stderr) as bar:

        def progress(done: int, total: int, message: str) -> None:
            bar.length = total
            bar.label = t("analysing {what}", lang, what=labels.get(message, message))
            bar.update(done - bar.pos)

        result = run(
            *files,
            demo=demo,
            taxonomy=taxonomy,
            config=config,
            progress=progress,
            network=graph,
            columns=mappings,
        )
    for note in run_notes(result, lang):
        typer.echo(t("note: {note}", lang, note=note), err=True)
    return result
