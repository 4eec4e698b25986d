"""A file's header and first rows with the guessed mapping, for a person to check before loading.

:func:`preview_file` reads a file the way the loaders do (:mod:`socialmap.sources`), finds its
header, and guesses which of its columns are the contract's (:func:`socialmap.columns.guess_columns`);
nothing is validated. The app's column-mapping step and ``socialmap check`` show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike

import pandas as pd

from socialmap.columns import Guess, guess_columns, guess_kind


@dataclass(frozen=True)
class Preview:
    """
    A file's header and first rows with the guessed mapping, for a person to check.

    Attributes
    ----------
    file
        The file.
    kind
        The kind the guess was made for.
    columns
        The file's columns, in order (the header as found, even below a title row).
    header_row
        The row number of the header in the file (1 = the first line), ``None`` for vector files.
    guess
        The :class:`Guess`.
    rows
        The first data rows, in the file's own column names (text as read).
    geometry
        Whether the file has a geometry column.
    """

    file: str
    kind: str
    columns: tuple[str, ...]
    header_row: int | None
    guess: Guess
    rows: pd.DataFrame
    geometry: bool = False

    def mapped(self, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Return the first rows of the mapped columns, under the contract's names (default: the guess)."""
        use = dict(self.guess.mapping if mapping is None else mapping)
        keep = [c for c in self.rows.columns if use.get(str(c))]
        return self.rows[keep].rename(columns={c: use[str(c)] for c in keep})


def preview_file(
    path: str | PathLike[str],
    kind: str | None = None,
    *,
    n: int = 5,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> Preview:
    """
    Read a file's header and first ``n`` rows and guess its mapping (nothing is validated).

    Parameters
    ----------
    path
        Any file :mod:`socialmap.io` reads.
    kind
        ``"areas"``, ``"services"`` or ``"population"``; ``None`` guesses it from the columns (and
        the geometry: polygons are areas).
    n
        How many data rows to keep.
    layer, sheet, encoding
        As for the ``read_*`` functions of :mod:`socialmap.io`.

    Returns
    -------
    preview
        A :class:`Preview`.

    Raises
    ------
    DataSourceError
        When the file cannot be read at all.
    """
    from socialmap import validate as sm_validate
    from socialmap.sources import _read_source

    source = _read_source(path, layer=layer, sheet=sheet, encoding=encoding)
    frame = source.frame if source.frame is not None else pd.DataFrame()
    geometry = sm_validate._geometry_name(frame)
    if kind is None:
        kind = sm_validate.guess_kind(frame) if len(frame.columns) else None
        if kind is None:
            kind = guess_kind(c for c in frame.columns if c != geometry) or "services"
    columns = tuple(str(c) for c in frame.columns if c != geometry)
    guess = guess_columns(columns, kind, geometry=geometry is not None)
    if (
        kind == "areas"
    ):  # a well-known boundaries layout (geoBoundaries' shapeID/shapeName), as the loader reads it
        for layout in sm_validate.KNOWN_AREA_COLUMNS.values():
            if set(layout) <= set(columns) and not set(layout.values()) & set(columns):
                mapping = {k: v for k, v in guess.mapping.items() if v not in layout.values()}
                missing = tuple(m for m in guess.missing if m not in layout.values())
                ambiguous = {k: v for k, v in guess.ambiguous.items() if k not in layout.values()}
                guess = Guess(kind, {**mapping, **layout}, ambiguous, missing)
                break
    rows = pd.DataFrame(frame[[c for c in frame.columns if c != geometry]].head(n)).reset_index(drop=True)
    header = source.header_row if source.fmt in ("CSV", "XLSX") else None
    return Preview(str(path), kind, columns, header, guess, rows, geometry is not None)
