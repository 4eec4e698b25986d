"""The commands that make input files once: ``template`` (an Excel sheet to fill), ``roads`` (a graph)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from socialmap.cli.base import app
from socialmap.cli.options import Demo, Lang, Mode, Taxonomy
from socialmap.errors import SocialMapError
from socialmap.i18n import check_language, format_number, t


@app.command(
    help=t(
        "Write an Excel template to fill in: services (headers and service types in your language, a "
        "drop-down of the types) or population (every municipality listed)."
    )
)
def template(
    kind: Annotated[str, typer.Argument(help=t("services or population."))],
    out: Annotated[Path, typer.Option(help=t("The .xlsx file to write."))],
    demo: Demo = None,
    areas: Annotated[
        Path | None, typer.Option(help=t("Areas file whose municipalities the population lists."))
    ] = None,
    taxonomy: Taxonomy = None,
    lang: Lang = None,
) -> None:
    """Write an Excel template to fill in (services or population)."""
    from socialmap.taxonomy import load_taxonomy
    from socialmap.templates import population_template, services_template

    lang = check_language(lang)
    if kind not in ("services", "population"):
        raise SocialMapError(t("KIND must be services or population; got {kind}.", lang, kind=repr(kind)))
    if out.suffix.lower() != ".xlsx":
        raise SocialMapError(t("--out must end in .xlsx; got {name}.", lang, name=repr(out.name)))
    if kind == "services":
        services_template(load_taxonomy(taxonomy) if taxonomy else None, lang=lang, path=out)
    else:
        if areas is not None:
            from socialmap.io import read_areas

            frame = read_areas(areas)
        elif demo is not None:
            from socialmap.datasets import load_demo

            frame = load_demo(demo).areas
        else:
            raise SocialMapError(t("Name the municipalities: --areas FILE or --demo kosovo.", lang))
        population_template(frame, lang=lang, path=out)
    typer.echo(t("wrote {kind}: {path}", lang, kind=t("template", lang), path=out))


@app.command(help=t("Read an OpenStreetMap extract into a road graph once and save it (.npz) for --roads."))
def roads(
    osm: Annotated[Path, typer.Argument(help=t("OpenStreetMap extract (.osm.pbf or .osm)."))],
    out: Annotated[Path, typer.Option(help=t("File to write (.npz)."))],
    mode: Mode = "drive",
    lang: Lang = None,
) -> None:
    """Read an OpenStreetMap extract into a road graph once and save it (.npz) for --roads."""
    from socialmap.network import read_osm, save

    lang = check_language(lang)
    if mode not in ("drive", "walk"):
        raise SocialMapError(t("--mode must be drive or walk; got {value}.", lang, value=repr(mode)))
    graph = read_osm(osm, mode=mode)  # type: ignore[arg-type]
    path = save(graph, out)
    dropped = int(graph.provenance.get("nodes_dropped_outside_largest_component", 0))
    typer.echo(
        t(
            "wrote road graph: {path} ({nodes} junctions, {edges} road links; {dropped} junctions cut off "
            "from the rest left out)",
            lang,
            path=path,
            nodes=format_number(graph.n_nodes, lang, decimals=0),
            edges=format_number(graph.n_edges, lang, decimals=0),
            dropped=format_number(dropped, lang, decimals=0),
        )
    )
