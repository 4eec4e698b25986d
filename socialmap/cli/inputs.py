"""The commands that check and fetch inputs: ``validate``, ``fetch-boundaries``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from socialmap.cli.base import app
from socialmap.cli.options import Columns, Lang, _columns_for
from socialmap.errors import SocialMapError
from socialmap.i18n import check_language, format_number, nt, t


@app.command(help=t("Check input files and print every problem found, with row, column and how to fix it."))
def validate(
    files: Annotated[list[Path], typer.Argument(help=t("Files to check (areas, services or population)."))],
    kind: Annotated[
        str | None,
        typer.Option(help=t("areas, services or population; guessed from the file when omitted.")),
    ] = None,
    taxonomy: Annotated[
        str | None, typer.Option(help=t("Taxonomy YAML (default: the Kosovo taxonomy) for service types."))
    ] = None,
    columns: Columns = None,
    lang: Lang = None,
) -> None:
    """Check input files and print every problem found, with row, column and how to fix it."""
    from socialmap.taxonomy import load_taxonomy
    from socialmap.validate import validate_file

    lang = check_language(lang)
    if kind is not None and kind not in ("areas", "services", "population"):
        raise SocialMapError(
            t("--kind {kind} is not one of: areas, services, population.", lang, kind=repr(kind))
        )
    tax = load_taxonomy(taxonomy)
    mappings = _columns_for(list(files), columns)
    failed = 0
    for path in files:
        report = validate_file(path, kind=kind, taxonomy=tax, columns=mappings.get(path))
        typer.echo(report.format(lang))
        failed += not report.ok
    if failed:
        message = nt(
            "{failed} of {total} file has errors.",
            "{failed} of {total} files have errors.",
            len(files),
            lang,
            failed=failed,
            total=len(files),
        )
        typer.echo(message, err=True)
        raise typer.Exit(1)


@app.command(
    "fetch-boundaries", help=t("Download official boundaries from geoBoundaries, check them and cache them.")
)
def fetch_boundaries(
    iso: Annotated[
        str, typer.Argument(help=t("ISO 3166-1 alpha-3 country code, e.g. XKX for Kosovo."))
    ] = "XKX",
    level: Annotated[str, typer.Option(help=t("Administrative level, ADM0 to ADM5."))] = "ADM2",
    file: Annotated[
        Path | None, typer.Option(help=t("Use a file you downloaded by hand instead of downloading."))
    ] = None,
    refresh: Annotated[bool, typer.Option(help=t("Download again even if cached."))] = False,
    lang: Lang = None,
) -> None:
    """Download official boundaries from geoBoundaries, check them and cache them."""
    from socialmap import datasets

    lang = check_language(lang)

    def progress(done: int, total: int | None) -> None:
        size = format_number(done / 1024, lang, decimals=0)
        if total:
            whole = format_number(total / 1024, lang, decimals=0)
            shown = t("{done} KB of {total} KB", lang, done=size, total=whole)
        else:
            shown = t("{done} KB", lang, done=size)
        sys.stderr.write("\r" + t("downloading {size}", lang, size=shown))
        sys.stderr.flush()

    path = datasets.fetch_boundaries(iso, level=level, file=file, refresh=refresh, progress=progress)
    sys.stderr.write("\n")
    typer.echo(t("Boundaries cached at {path}", lang, path=path))
    typer.echo(t("Attribution: {text}", lang, text=t(datasets.GEOBOUNDARIES_ATTRIBUTION, lang)))
    if iso.upper() == "XKX":
        typer.echo(
            t(
                "Use them with the Kosovo demo's population and services: --demo kosovo --areas {path}",
                lang,
                path=path,
            )
        )
