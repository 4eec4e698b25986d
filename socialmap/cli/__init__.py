"""The ``socialmap`` command line: a thin face over the library.

Every command catches the library's own errors and prints their message (never a traceback);
exit codes: 0 success, 1 the input has errors (``validate``), 2 the command could not run.

Every command takes ``--lang en|sq|sr`` for its messages and outputs (default: ``SOCIALMAP_LANG``,
else the locale, see :func:`socialmap.i18n.default_language`). The help texts are in the default
language, since they are written before the options are read.

The package: :mod:`~socialmap.cli.base` (the typer app), :mod:`~socialmap.cli.options` (every shared
option declared once, the option groups, the parsers of option text), :mod:`~socialmap.cli.running`
(the analysis run the analysing commands share), one module per group of commands
(:mod:`~socialmap.cli.inputs`, :mod:`~socialmap.cli.outputs`, :mod:`~socialmap.cli.prepare`,
:mod:`~socialmap.cli.whatif`) and :mod:`~socialmap.cli.main` (the console script). Modules import
the heavy libraries inside the commands, so that ``socialmap --help`` starts fast.
"""

from __future__ import annotations

from socialmap.cli.main import app, main

__all__ = ["app", "main"]
