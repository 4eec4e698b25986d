"""The ``socialmap`` typer application, to which every command module adds its commands."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from socialmap.i18n import t

app = typer.Typer(
    name="socialmap",
    help=t("Social-service mapping and needs analysis."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help=t("Log progress (INFO) to stderr."))
    ] = False,
) -> None:
    """Social-service mapping and needs analysis."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
