"""The ``socialmap`` console script: the commands, and the library's errors turned into messages."""

from __future__ import annotations

import logging
import sys

import typer

from socialmap import errors

# The command modules add their commands to the app as they are imported: in this (alphabetical) order,
# which `socialmap --help` keeps: inputs, analysis and outputs, input files made once, what-if planning.
from socialmap.cli import inputs, outputs, prepare, whatif  # noqa: F401
from socialmap.cli.base import app
from socialmap.errors import SocialMapError
from socialmap.i18n import check_language, t


def _argv_language(argv: list[str]) -> str | None:
    """Return the ``--lang`` given on the command line if supported (for messages outside a command)."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--lang=") else None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None:
            try:
                return check_language(value)
            except SocialMapError:
                return None
    return None


def main() -> None:
    """
    Run the command line, turning the library's errors into messages (in ``--lang``) and exit code 2.

    Failures of the system (a file that cannot be read or written, memory running out) are messages
    with exit code 2 too, never a traceback; their traceback is logged with ``-v``.
    """
    try:
        app()
    except SocialMapError as exc:
        lang = _argv_language(sys.argv[1:])
        typer.echo(t("error: {message}", lang, message=errors.message(exc, lang)), err=True)
        sys.exit(2)
    except OSError as exc:
        lang = _argv_language(sys.argv[1:])
        logging.getLogger(__name__).info("the command failed", exc_info=True)
        where = exc.filename if exc.filename is not None else t("a file", lang)
        reason = exc.strerror or str(exc) or type(exc).__name__
        typer.echo(
            t(
                "error: {file} cannot be read or written: {error}. Check the path, the folder's permissions "
                "and the free space.",
                lang,
                file=where,
                error=reason,
            ),
            err=True,
        )
        sys.exit(2)
    except MemoryError:
        lang = _argv_language(sys.argv[1:])
        typer.echo(
            t(
                "error: the computer ran out of memory. Use smaller inputs or a coarser grid "
                "(--cell-size-m).",
                lang,
            ),
            err=True,
        )
        sys.exit(2)
