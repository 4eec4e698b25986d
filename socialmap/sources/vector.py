"""Vector files (GeoJSON, GeoPackage, Shapefile, FlatGeobuf), ZIP archives and (Geo)Parquet tables.

A ZIP is checked from its directory before anything is unpacked (names that climb out, zip bombs);
only the chosen dataset's files are unpacked, into a scratch folder removed after reading. A
Parquet file's decoded size and width are checked from its metadata before it is read.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap import settings
from socialmap.errors import Message, Number, Problem
from socialmap.i18n import N_, Nn_
from socialmap.sources.base import (
    _VECTOR,
    _check_cells,
    _check_columns,
    _check_count,
    _check_size,
    _decoded_too_large,
    _empty_rows,
    _exception_text,
    _Limits,
    _mb,
    _plain,
    _reading,
    _Source,
    _SourceError,
)

logger = logging.getLogger("socialmap.io")


_IN_ZIP = (".shp", ".gpkg", ".geojson", ".json", ".fgb")


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


#: A member unpacking to more than ``_ZIP_RATIO_FROM_BYTES`` and more than this many times its packed
#: size is refused as a zip bomb (real Shapefile parts pack at most a few dozen times).
_MAX_ZIP_RATIO = 200


_ZIP_RATIO_FROM_BYTES = 1024 * 1024


_COPY_CHUNK = 1024 * 1024


def _read_vector(
    source: str,
    label: str,
    fmt: str,
    layer: str | int | None,
    *,
    hide: str | None = None,
    shown: str = "",
    limits: _Limits | None = None,
) -> _Source:
    """Read a GDAL dataset; ``hide`` (a scratch folder) is replaced by ``shown`` in GDAL's messages."""
    fix = Message(
        N_("Check that the file is complete and really is {format} (re-export it from your GIS)."), format=fmt
    )
    import pyogrio

    notes: list[Problem] = []
    with _reading(label, fmt, fix, hide=hide, shown=shown, notes=notes):
        layers = [str(name) for name in pyogrio.list_layers(source)[:, 0]]
        if not layers:
            raise _SourceError(Message(N_("{file} holds no layer of map data."), file=label), fix)
        if layer is None and len(layers) > 1:
            raise _SourceError(
                Message(
                    N_("{file} has {n} layers: {layers}."),
                    file=label,
                    n=len(layers),
                    layers=", ".join(layers),
                ),
                Message(N_("Choose one with `layer=`, e.g. layer='{layer}'."), layer=layers[0]),
            )
        if layer is not None and not isinstance(layer, int) and str(layer) not in layers:
            raise _SourceError(
                Message(
                    N_("{file} has no layer '{layer}'; its layers are: {layers}."),
                    file=label,
                    layer=layer,
                    layers=", ".join(layers),
                ),
                N_("Use one of these names in `layer=`."),
            )
        info = pyogrio.read_info(source, layer=layer)
        _check_columns(label, len(info["fields"]))
        count = int(info["features"])
        if count >= 0:
            _check_count(label, count, limits)
            _check_cells(label, count, len(info["fields"]) + 1)
        # pyogrio sets aside room for max_features rows (0.3 s at the default limit): ask for the
        # counted features, and read again with the limit only if the driver counted short.
        rows = (limits or _Limits.for_kind()).rows
        limit = count if count >= 0 else rows
        gdf = gpd.read_file(source, layer=layer, engine="pyogrio", max_features=limit + 1)
        if 0 <= count < len(gdf):
            gdf = gpd.read_file(source, layer=layer, engine="pyogrio", max_features=rows + 1)
    _check_count(label, len(gdf), limits)
    if len(gdf) == 0:
        empty = _empty_rows(label, fmt)
        empty.problems = [*notes, *empty.problems]
        return empty
    # A table without geometry (a GeoPackage attribute table: population) is a plain DataFrame.
    logger.info("read %d features from %s (%s, CRS %s)", len(gdf), label, fmt, getattr(gdf, "crs", None))
    return _Source(label, fmt, gdf, np.arange(1, len(gdf) + 1), notes)


def _unsafe_member(name: str) -> bool:
    """Whether a member name is absolute or climbs out of the archive (``../``), on any system."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
        return True
    return ".." in posix.split("/")


def _zip_directory(
    file: Path,
    label: str,
    what: str,
    fix: str,
    *,
    unpacked_to_disk: bool = True,
    limits: _Limits | None = None,
) -> list[zipfile.ZipInfo]:
    """
    Read a ZIP's directory and refuse it, before anything is unpacked, when it is unsafe.

    Refused: more than ``settings.max_zip_members`` members; a declared unpacked size above
    ``settings.max_upload_bytes``; and, for an archive whose members are unpacked to disk, names that are
    absolute or climb out of the archive and a member packed more than ``_MAX_ZIP_RATIO`` times (a zip
    bomb). (An XLSX workbook is read in memory by openpyxl, and its sheets of repeated rows pack tightly:
    for it the size cap is the guard.) The declared sizes bound what is unpacked later: Python's
    ``zipfile`` stops at a member's declared size and fails on its checksum if the data run on.
    """
    with _reading(label, what, fix):
        try:
            with zipfile.ZipFile(file) as archive:
                infos = archive.infolist()
        except zipfile.BadZipFile as exc:
            if what != "ZIP":
                raise
            raise _SourceError(
                Message(
                    N_("{file} is not a valid ZIP file ({error})."), file=label, error=_exception_text(exc)
                ),
                fix,
            ) from exc
    if len(infos) > settings.max_zip_members:
        template = (
            N_("{file} holds {n} files, more than the {limit} a ZIP may hold.")
            if what == "ZIP"
            else N_("{file} holds {n} files, more than the {limit} an Excel workbook may hold.")
        )
        raise _SourceError(
            Message(
                template, file=label, n=Number(len(infos), ","), limit=Number(settings.max_zip_members, ",")
            ),
            N_("Zip only the files of the dataset (.shp, .shx, .dbf, .prj)."),
        )
    if unpacked_to_disk:
        unsafe = [i.filename for i in infos if _unsafe_member(i.filename)]
        if unsafe:
            shown = ", ".join(repr(_plain(n)) for n in unsafe[:5])
            raise _SourceError(
                Message(
                    *Nn_(
                        "{file} was refused: {n} file name in it is absolute or climbs out of the "
                        "archive with '..' ({names}). Nothing was unpacked.",
                        "{file} was refused: {n} file names in it are absolute or climb out of the "
                        "archive with '..' ({names}). Nothing was unpacked.",
                    ),
                    len(unsafe),
                    file=label,
                    n=len(unsafe),
                    names=shown,
                ),
                N_(
                    "Zip the files again from inside their folder, so that the names in the archive are "
                    "plain relative names such as 'areas/areas.shp'."
                ),
            )
    _check_size(label, sum(i.file_size for i in infos), unpacked=True, limits=limits)
    bombs = [
        i
        for i in infos
        if unpacked_to_disk
        and i.file_size > _ZIP_RATIO_FROM_BYTES
        and i.file_size > _MAX_ZIP_RATIO * max(i.compress_size, 1)
    ]
    if bombs:
        worst = max(bombs, key=lambda i: i.file_size / max(i.compress_size, 1))
        raise _SourceError(
            Message(
                N_(
                    "{file} was refused as a possible zip bomb: '{member}' would unpack from {packed} to "
                    "{unpacked} (more than {ratio} times). Nothing was unpacked."
                ),
                file=label,
                member=_plain(worst.filename),
                packed=_mb(worst.compress_size),
                unpacked=_mb(worst.file_size),
                ratio=_MAX_ZIP_RATIO,
            ),
            N_(
                "Check where the file came from; if it is genuine, unzip it and upload the dataset itself "
                "(e.g. as a GeoPackage)."
            ),
        )
    return infos


def _zip_datasets(infos: list[zipfile.ZipInfo], label: str) -> list[zipfile.ZipInfo]:
    files = [
        i
        for i in infos
        if not i.is_dir()
        and not i.filename.startswith("__MACOSX/")
        and not _member_path(i.filename).name.startswith("._")
    ]
    datasets = [i for i in files if _member_path(i.filename).suffix.lower() in _IN_ZIP]
    if not datasets:
        names = [_plain(i.filename) for i in files]
        raise _SourceError(
            Message(
                N_("{file} holds no map data (no .shp, .gpkg or .geojson file); it holds: {names}."),
                file=label,
                names=", ".join(names[:20]),
            )
            if names
            else Message(
                N_("{file} holds no map data (no .shp, .gpkg or .geojson file); it holds: nothing."),
                file=label,
            ),
            N_("Zip the Shapefile's files together (.shp, .shx, .dbf and .prj)."),
        )
    return datasets


def _member_path(name: str) -> PurePosixPath:
    return PurePosixPath(name.replace("\\", "/"))


def _zip_parts(
    infos: list[zipfile.ZipInfo], member: zipfile.ZipInfo, label: str
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Return the members to unpack for one dataset (a Shapefile's parts), each with its lower-case suffix."""
    path = _member_path(member.filename)
    suffix = path.suffix.lower()
    if suffix != ".shp":
        return [(member, suffix)]
    parts: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        other = _member_path(info.filename)
        part = other.suffix.lower()
        if (
            other.parent == path.parent
            and other.stem.casefold() == path.stem.casefold()
            and part in _SHAPEFILE_PARTS
            and part not in parts
        ):
            parts[part] = info
    missing = tuple(p for p in (".shx", ".dbf") if p not in parts)
    if missing:
        templates = {
            (".shx",): N_(
                "{file}: the Shapefile '{member}' lacks the index (.shx), which must be beside it in the "
                "same folder of the ZIP."
            ),
            (".dbf",): N_(
                "{file}: the Shapefile '{member}' lacks the attribute table (.dbf), which must be beside it "
                "in the same folder of the ZIP."
            ),
            (".shx", ".dbf"): N_(
                "{file}: the Shapefile '{member}' lacks the index (.shx) and the attribute table (.dbf), "
                "which must be beside it in the same folder of the ZIP."
            ),
        }
        raise _SourceError(
            Message(templates[missing], file=label, member=_plain(member.filename)),
            Message(
                N_("Zip all the Shapefile's files together: {stem}.shp, .shx, .dbf and .prj."), stem=path.stem
            ),
        )
    return [(parts[p], p) for p in _SHAPEFILE_PARTS if p in parts]


def _read_zip(file: Path, label: str, layer: str | int | None, limits: _Limits) -> _Source:
    """Read the dataset in a ZIP: check the directory, unpack only its files into a scratch folder."""
    infos = _zip_directory(file, label, "ZIP", N_("Zip the Shapefile's files again."), limits=limits)
    datasets = _zip_datasets(infos, label)
    if len(datasets) > 1:
        names = [_member_path(i.filename) for i in datasets]
        stems = [n.stem for n in names]
        listed = ", ".join(_plain(i.filename) for i in datasets)
        if layer is None or str(layer) not in stems:
            raise _SourceError(
                Message(N_("{file} holds several datasets: {names}."), file=label, names=listed),
                Message(N_("Choose one with `layer=`, e.g. layer='{layer}'."), layer=stems[0]),
            )
        if stems.count(str(layer)) > 1:
            raise _SourceError(
                Message(
                    N_("{file} holds several datasets named '{layer}': {names}."),
                    file=label,
                    layer=layer,
                    names=listed,
                ),
                N_("Zip only the dataset you mean to read."),
            )
        member, layer = datasets[stems.index(str(layer))], None
    else:
        member = datasets[0]
    parts = _zip_parts(infos, member, label)
    suffix = _member_path(member.filename).suffix.lower()
    fmt = Message(N_("zipped {format}"), format=_VECTOR.get(suffix, "file"))
    encrypted = [i.filename for i, _ in parts if i.flag_bits & 0x1]
    if encrypted:
        raise _SourceError(
            Message(
                N_("{file} is protected by a password ({names})."), file=label, names=", ".join(encrypted)
            ),
            N_("Zip the files again without a password."),
        )
    shown = f"{label}!{member.filename}"
    with tempfile.TemporaryDirectory(prefix="socialmap-zip-") as scratch:
        folder = Path(scratch)
        with _reading(label, fmt, N_("The ZIP is damaged: zip the files again."), hide=scratch, shown=shown):
            with zipfile.ZipFile(file) as archive:
                for info, part in parts:
                    with archive.open(info) as packed, open(folder / f"dataset{part}", "wb") as out:
                        shutil.copyfileobj(packed, out, _COPY_CHUNK)
        return _read_vector(
            str(folder / f"dataset{suffix}"), label, fmt, layer, hide=scratch, shown=shown, limits=limits
        )


def _read_parquet(file: Path, label: str, limits: _Limits) -> _Source:
    import pyarrow.parquet as pq

    notes: list[Problem] = []
    with _reading(label, "(Geo)Parquet", N_("Check that the file is complete."), notes=notes):
        with pq.ParquetFile(file) as parquet:  # reads the footer (the metadata) only
            _check_parquet_cost(parquet, file, label, limits)
            geo = b"geo" in (parquet.schema_arrow.metadata or {})
        frame = gpd.read_parquet(file) if geo else pd.read_parquet(file)
    if len(frame) == 0:
        source = _empty_rows(label, "Parquet")
        source.problems = [*notes, *source.problems]
        return source
    logger.info("read %d rows from %s (%s)", len(frame), label, "GeoParquet" if geo else "Parquet")
    return _Source(label, "GeoParquet" if geo else "Parquet", frame, np.arange(1, len(frame) + 1), notes)


#: Bytes per value of Parquet's fixed-width physical types, as decoded.
_PARQUET_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}


_PARQUET_DICTIONARY = frozenset({"PLAIN_DICTIONARY", "RLE_DICTIONARY"})


def _parquet_leaves(field_type: Any) -> int:
    """Return the number of Parquet leaf columns an Arrow type is stored in."""
    import pyarrow as pa

    if pa.types.is_struct(field_type):
        return sum(_parquet_leaves(field_type.field(k).type) for k in range(field_type.num_fields))
    if pa.types.is_map(field_type):
        return _parquet_leaves(field_type.key_type) + _parquet_leaves(field_type.item_type)
    if (
        pa.types.is_list(field_type)
        or pa.types.is_large_list(field_type)
        or pa.types.is_fixed_size_list(field_type)
    ):
        return _parquet_leaves(field_type.value_type)
    return 1


def _check_parquet_cost(parquet: Any, file: Path, label: str, limits: _Limits) -> None:
    """
    Refuse a Parquet file, from its metadata, when decoding it would cost more than ``limits``.

    Rows, columns and cells are checked first. Then the decoded size is added up per column chunk:
    fixed-width values as their count × width (so a run-length-encoded column of a billion zeros is seen
    for what it is), text as its declared uncompressed size, except text stored with a dictionary, which
    can expand far beyond the file (one long string referenced by every row: an 18 KB file asking for
    19 GB): those columns alone are read as dictionaries (no larger than the file's declared sizes) and
    their decoded length summed exactly before anything is decoded. Front-compressed text
    (``DELTA_BYTE_ARRAY``, which can do the same without a dictionary) and dictionary-encoded text inside
    lists or structs are refused.
    """
    import pyarrow.compute as pc

    meta = parquet.metadata
    _check_count(label, meta.num_rows, limits)
    _check_columns(label, meta.num_columns)
    _check_cells(label, meta.num_rows, meta.num_columns)
    owner: list[str | None] = []  # the top-level column of each leaf column, None inside a nested one
    for arrow_field in parquet.schema_arrow:
        leaves = _parquet_leaves(arrow_field.type)
        flat = leaves == 1 and parquet.schema.column(len(owner)).max_repetition_level == 0
        owner.extend([arrow_field.name if flat else None] * leaves)
    decoded, expanding, bound = 0, set(), 0
    for j in range(meta.num_columns):
        leaf = parquet.schema.column(j)
        for i in range(meta.num_row_groups):
            chunk = meta.row_group(i).column(j)
            encodings = set(chunk.encodings)
            if leaf.physical_type != "BYTE_ARRAY":
                width = _PARQUET_WIDTH.get(leaf.physical_type) or max(int(leaf.length or 0), 1)
                decoded += max(width * chunk.num_values, chunk.total_uncompressed_size)
                continue
            decoded += 8 * chunk.num_values  # Arrow's offsets
            if "DELTA_BYTE_ARRAY" in encodings or (encodings & _PARQUET_DICTIONARY and owner[j] is None):
                raise _SourceError(
                    Message(
                        N_(
                            "{file}: the column '{column}' stores text in a way that can unpack to far more "
                            "than the file (front-compressed, or a dictionary inside lists); socialmap does "
                            "not read it."
                        ),
                        file=label,
                        column=_plain(leaf.path),
                    ),
                    N_(
                        "Save the file again with plain columns, e.g. with geopandas: gdf.to_parquet(path), "
                        "or as a GeoPackage."
                    ),
                )
            if encodings & _PARQUET_DICTIONARY:
                expanding.add(owner[j])
                bound += chunk.num_values * chunk.total_uncompressed_size  # each value at most the chunk
            else:
                decoded += chunk.total_uncompressed_size
    what = Message(N_("(Geo)Parquet columns"))
    if decoded > limits.size:
        raise _decoded_too_large(label, decoded, what, limits)
    if expanding and decoded + bound > limits.size:
        import pyarrow.parquet as pq

        names = sorted(str(n) for n in expanding)
        table = pq.ParquetFile(file, read_dictionary=names).read(columns=names, use_threads=False)
        for name in names:
            for part in table.column(name).chunks:
                lengths = pc.binary_length(part.dictionary)  # type: ignore[attr-defined]
                decoded += int(pc.sum(pc.take(lengths, part.indices)).as_py() or 0)  # type: ignore[attr-defined]
            if decoded > limits.size:
                raise _decoded_too_large(label, decoded, what, limits)
        del table
