"""Property-based tests: malformed files of every format thrown at every loader.

The property, for ``read_areas``, ``read_services``, ``read_population`` and ``validate_file``:

* a loader either returns a frame in the column contract, or raises a :class:`SocialMapError` whose
  message names the file, says what is wrong and how to fix it; never another exception type;
* ``validate_file`` never raises: it returns a report whose problems all name the file;
* the only warnings are the loaders' own ``UserWarning``, naming the file (no third-party warning leaks);
* nothing hangs: an example slower than hypothesis' deadline fails, and one that never returns (say, in
  GDAL's C code, where no Python exception can reach) ends the run with every thread's traceback
  (``faulthandler``) instead of stalling CI.

The runs are derandomised (the same examples on every run, so CI is reproducible) and keep no example
database. Together they run about 3,550 examples in under a minute on two cores. To search harder while
developing, raise ``SOCIALMAP_FUZZ_SCALE`` (a multiplier of every ``max_examples``) and set
``SOCIALMAP_FUZZ_SEED`` to an integer to draw other examples than CI's.
"""

from __future__ import annotations

import contextlib
import csv
import faulthandler
import io as _stdio
import json
import math
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, box

from socialmap import io
from socialmap import settings as sm_settings
from socialmap.errors import DataSourceError, SocialMapError, ValidationError
from socialmap.validate import Report, validate_file

pytestmark = pytest.mark.filterwarnings("error")

_SCALE = float(os.environ.get("SOCIALMAP_FUZZ_SCALE", "1"))
_SEED = os.environ.get("SOCIALMAP_FUZZ_SEED")
TAXONOMY = SimpleNamespace(service_type_keys=("csw", "day_care_disability", "shelter_dv"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Seconds after which one loader call counts as hung: the process prints its tracebacks and exits.
HANG_S = 120


def fuzz(max_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings of every fuzz test: derandomised, no database, a generous deadline."""

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        configured = settings(
            max_examples=max(1, int(max_examples * _SCALE)),
            deadline=timedelta(seconds=10),  # a hang detector, not a benchmark
            derandomize=_SEED is None,
            database=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(test)
        return seed(int(_SEED))(configured) if _SEED is not None else configured

    return decorate


# ------------------------------------------------------------------------------------------------
# The property
# ------------------------------------------------------------------------------------------------


def areas_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["A1", "A2"], "name": ["Westfield", "Eastfield"]},
        geometry=[box(20.0, 42.0, 20.1, 42.1), box(20.1, 42.0, 20.2, 42.1)],
        crs="EPSG:4326",
    )


LOADERS = ("read_areas", "read_services", "read_population", "validate_file")
#: Areas to check services and population against (the loaders do not change their arguments).
AREAS = areas_gdf()


@contextlib.contextmanager
def limits(*, upload: int | None = None, features: int | None = None) -> Iterator[None]:
    """Lower ``settings.max_upload_bytes`` / ``max_features`` for one example (hypothesis and
    pytest's function-scoped ``monkeypatch`` do not mix)."""
    old = sm_settings.max_upload_bytes, sm_settings.max_features
    if upload is not None:
        sm_settings.max_upload_bytes = upload
    if features is not None:
        sm_settings.max_features = features
    try:
        yield
    finally:
        sm_settings.max_upload_bytes, sm_settings.max_features = old


def _check_areas(gdf: Any) -> None:
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert len(gdf) >= 1
    assert list(gdf.columns[:2]) == ["area_id", "name"] and gdf.columns[-1] == "geometry"
    ids = gdf["area_id"].tolist()
    assert all(isinstance(v, str) and v for v in ids) and len(set(ids)) == len(ids)
    assert gdf.crs is not None
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    assert not gdf.geometry.is_empty.any() and gdf.geometry.is_valid.all()
    assert np.isfinite(gdf.total_bounds).all()


def _check_services(gdf: Any) -> None:
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert len(gdf) >= 1
    head = ["service_id", "name", "service_type", "capacity"]
    assert list(gdf.columns[:4]) == head and gdf.columns[-1] == "geometry"
    ids = gdf["service_id"].tolist()
    assert all(isinstance(v, str) and v for v in ids) and len(set(ids)) == len(ids)
    capacity = gdf["capacity"].to_numpy(dtype=float)
    assert not (np.isinf(capacity) | (capacity < 0)).any()
    assert gdf.crs is not None
    assert set(gdf.geom_type) == {"Point"}
    assert np.isfinite(gdf.geometry.x).all() and np.isfinite(gdf.geometry.y).all()


def _check_population(df: Any) -> None:
    assert isinstance(df, pd.DataFrame) and not isinstance(df, gpd.GeoDataFrame)
    assert len(df) >= 1
    assert list(df.columns[:2]) == ["area_id", "population"]
    ids = df["area_id"].tolist()
    assert all(isinstance(v, str) and v for v in ids) and len(set(ids)) == len(ids)
    population = df["population"].to_numpy(dtype=float)
    assert not (np.isinf(population) | (population < 0)).any()


CHECKS = {"areas": _check_areas, "services": _check_services, "population": _check_population}


def _check_text(frame: pd.DataFrame) -> None:
    """Text cells of a returned frame carry no control characters (they are stripped, with a warning)."""
    for col in frame.columns:
        if col == "geometry":
            continue
        for value in frame[col].tolist():
            if isinstance(value, str):
                assert not _CONTROL.search(value), (col, value)


def _check_error(exc: SocialMapError, label: str) -> None:
    text = str(exc)
    assert label in text, text
    if isinstance(exc, ValidationError):
        assert exc.errors, "a ValidationError must carry at least one error"
        for problem in exc.problems:
            assert problem.file == label and problem.message.strip() and problem.fix.strip(), problem
    else:  # what is wrong, then how to fix it
        assert isinstance(exc, DataSourceError), repr(exc)
        what, _, fix = text.partition(" Fix: ")
        assert len(what) > len(label) + 10 and fix.strip(), text


def _check_report(report: Any, label: str) -> None:
    assert isinstance(report, Report)
    assert report.file == label
    for problem in report.problems:
        assert problem.file == label and problem.message.strip() and problem.fix.strip(), problem
    if report.ok:
        if report.kind is None:
            return
        assert report.frame is not None
        CHECKS[report.kind](report.frame)
        _check_text(report.frame)
    else:
        assert label in str(report)


def check_loader(loader: str, path: Path, **options: Any) -> bool:
    """Run one loader on one file and check the property; return whether the file was read."""
    label = str(path)
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    try:
        caught, read = _run_loader(loader, path, label, options)
    finally:
        faulthandler.cancel_dump_traceback_later()
    for w in caught:
        assert issubclass(w.category, UserWarning), f"{w.category.__name__}: {w.message}"
        assert str(w.message).startswith(label), f"a warning that does not name the file: {w.message}"
    return read


def _run_loader(
    loader: str, path: Path, label: str, options: dict[str, Any]
) -> tuple[list[warnings.WarningMessage], bool]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if loader == "validate_file":
            report = validate_file(path, **options)
            _check_report(report, label)
            read = report.ok and report.kind is not None
        else:
            kind = loader.removeprefix("read_")
            try:
                out = getattr(io, loader)(path, **options)
            except SocialMapError as exc:
                _check_error(exc, label)
                read = False
            else:
                CHECKS[kind](out)
                _check_text(out)
                read = True
    return caught, read


CONTRACT = ["area_id", "name", "service_id", "service_type", "capacity", "population", "lat", "lon"]


def rarely(draw: st.DrawFn, one_in: int, label: str) -> bool:
    """True in about one example of ``one_in``, and never in hypothesis' simplest example (where every
    choice is the least one), so that that example is the plain case."""
    return draw(st.integers(1, one_in), label=label) == one_in


@st.composite
def calls(draw: st.DrawFn, loaders: tuple[str, ...] = LOADERS) -> tuple[str, dict[str, Any]]:
    """Draw a loader and its keyword options (a taxonomy, areas to check against, a CRS, a mapping...)."""
    loader = draw(st.sampled_from(loaders), label="loader")
    options: dict[str, Any] = {}
    if loader in ("read_services", "validate_file") and draw(st.booleans(), label="taxonomy"):
        options["taxonomy"] = TAXONOMY
    if loader in ("read_services", "read_population") and draw(st.booleans(), label="with areas"):
        options["areas"] = AREAS
    if loader in ("read_services", "read_areas") and rarely(draw, 5, "crs"):
        options["crs"] = draw(st.sampled_from(["EPSG:4326", "EPSG:32634", "EPSG:3857"]), label="crs")
    if rarely(draw, 6, "columns"):
        options["columns"] = draw(st.dictionaries(header_names, st.sampled_from(CONTRACT), max_size=3))
    if rarely(draw, 8, "layer"):
        options["layer"] = draw(st.sampled_from(["areas", "services", "nope", 0, 3]), label="layer")
    if loader != "read_areas" and rarely(draw, 8, "sheet"):
        options["sheet"] = draw(st.sampled_from([0, 1, -1, "Sheet", "Sheet 2", "nope"]), label="sheet")
    if loader != "read_areas" and rarely(draw, 10, "encoding"):
        options["encoding"] = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "nope"]), label="encoding")
    return loader, options


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="socialmap-fuzz-") as name:
        yield Path(name)


def _fresh(folder: Path, name: str) -> Path:
    """A path in the scratch folder, empty of any previous example's file."""
    path = folder / name
    if path.exists():
        path.unlink()
    return path


# ------------------------------------------------------------------------------------------------
# Pieces: cells, names, byte mutations
# ------------------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '=HYPERLINK("http://evil","x")',
    "+cmd|' /C calc'!A0",
    "a\x00b",
    "\x00",
    "\x1b[31mred",
    "tab\there",
    "line\nbreak",
    "cr\rhere",
    "\u202eevil",
    "\ufeff",
    "\u200b",
    "Prishtinë",
    "Gračanica",
    "ü" * 50,
    "x" * 300,
    "null",
    "None",
    "NaN",
    "#N/A",
    '"',
    '""',
    'a"b',
    "'",
    "\\",
    "../../etc/passwd",
]
NASTY_NUMBERS = [
    "0",
    "1",
    "-1",
    "-0",
    "01",
    "42.66",
    "42,66",
    "1.234,5",
    "1,234.5",
    "1,500",
    "1.500",
    "1 234",
    "1\u00a0234",
    "1_000",
    "1e3",
    "1e308",
    "1e309",
    "-1e999",
    "9" * 400,
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "0x1F",
    "١٢",
    "½",
    "12 persons",
    "true",
    "",
    "NA",
    "181",
    "-181",
    "91",
    "-91",
    "42.1",
    "20.1",
    "20,15",
    "42,05",
    "1.2.3",
    "--1",
    "+5",
    ".5",
    "5.",
    "1e",
]
IDS = ["S1", "S2", "A1", "A2", "1", "1.0", "01", "", "<b>x</b>", "a\x00", " S1 "]
SERVICE_TYPES = ["csw", "CSW", "shelter_dv", "day_care_disability", "spa", "", "<script>", "csw\x00"]

cells = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(NASTY_NUMBERS),
    st.text(max_size=10),
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-200, 200).map(lambda f: f"{f:.4f}"),
)
HEADERS = [
    "service_id",
    "name",
    "service_type",
    "capacity",
    "provider",
    "target_groups",
    "lat",
    "lon",
    "Latitude",
    "LONGITUDE",
    "lng",
    "x",
    "y",
    "area_id",
    "population",
    "Area ID",
    "geometry",
    "wkt",
    "year",
    "name_sq",
    "",
    " ",
    "name ",
    "Unnamed: 0",
    "<script>alert(1)</script>",
    "col\x00umn",
    "ünïcödé",
    "1",
    "nan",
    "#",
]
header_names = st.one_of(st.sampled_from(HEADERS), st.text(max_size=8))

#: What a byte mutation inserts.
BYTES = [b"\x00", b"\xff", b"\xfe", b"\xc3", b"\x80", b"\xef\xbb\xbf", b'"', b"\n", b"\r", b",", b";", b"\t"]


@st.composite
def mutated(draw: st.DrawFn, data: bytes, *, max_mutations: int = 3) -> bytes:
    """``data`` with a few bytes inserted, overwritten or flipped, and maybe truncated.

    Positions are drawn as fractions of the length, so the draws do not depend on the length (files
    made by GDAL or openpyxl can differ in length from run to run).
    """
    out = bytearray(data)
    for _ in range(draw(st.integers(0, max_mutations), label="mutations")):
        kind = draw(st.sampled_from(["insert", "flip", "truncate", "delete"]), label="mutation")
        pos = len(out) * draw(st.integers(0, 1024), label="at") // 1024
        if kind == "insert":
            out[pos:pos] = draw(st.one_of(st.sampled_from(BYTES), st.binary(min_size=1, max_size=4)))
        elif kind == "flip":
            bits = draw(st.integers(1, 255), label="bits")
            if out:
                out[min(pos, len(out) - 1)] ^= bits
        elif kind == "truncate":
            del out[pos:]
        else:
            del out[pos : pos + draw(st.integers(1, 16), label="length")]
    return bytes(out)


@contextlib.contextmanager
def fixed_dates() -> Iterator[None]:
    """Make GDAL stamp a fixed date into the GeoPackages it writes, so examples are reproducible."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00.000Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def zip_entry(name: str, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A ZIP member header with a fixed date (``writestr(name, ...)`` would stamp the current time)."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = method
    return info


# ------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------

DELIMITERS = [",", ";", "\t", "|", " ", ":"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1250", "latin-1", "utf-16-le"]


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def _join(rows: list[list[str]], delimiter: str, quoting: str, newline: str) -> str:
    if quoting == "raw":  # no escaping at all: quotes and delimiters inside cells break the layout
        return newline.join(delimiter.join(row) for row in rows) + newline
    buffer = _stdio.StringIO()
    mode = csv.QUOTE_ALL if quoting == "all" else csv.QUOTE_MINIMAL
    csv.writer(buffer, delimiter=delimiter, quoting=mode, lineterminator=newline).writerows(rows)
    return buffer.getvalue()


@st.composite
def random_tables(draw: st.DrawFn) -> list[list[str]]:
    """A header of random (often repeated or empty) names and ragged rows of nasty cells."""
    header = draw(st.lists(header_names, max_size=7), label="header")
    rows = draw(st.lists(st.lists(cells, max_size=8), max_size=6), label="rows")
    return [header, *rows]


COLUMNS = {
    "services": ["service_id", "name", "service_type", "capacity", "lat", "lon"],
    "population": ["area_id", "population"],
}


@st.composite
def near_valid_tables(draw: st.DrawFn) -> list[list[str]]:
    """The right header for a kind (maybe with an extra, renamed or repeated column) and hostile values.

    These get past the parser into the validators, where random tables rarely reach.
    """
    kind = draw(st.sampled_from(sorted(COLUMNS)), label="kind")
    header = list(COLUMNS[kind])
    change = draw(st.sampled_from(["none", "extra", "repeat", "rename", "drop"]), label="header change")
    if change == "extra":
        header.append(draw(header_names))
    elif change == "repeat":
        header.append(draw(st.sampled_from(header)))
    elif change == "rename":
        header[draw(st.integers(0, len(header) - 1))] = draw(header_names)
    elif change == "drop":
        header.pop(draw(st.integers(0, len(header) - 1)))
    by_column = {
        "service_id": st.sampled_from(IDS),
        "area_id": st.sampled_from(IDS),
        "name": st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=8)),
        "service_type": st.sampled_from(SERVICE_TYPES),
        "capacity": st.sampled_from(NASTY_NUMBERS),
        "population": st.sampled_from(NASTY_NUMBERS),
        "lat": st.one_of(st.sampled_from(NASTY_NUMBERS), st.floats(41.9, 42.3).map(lambda f: f"{f:.4f}")),
        "lon": st.one_of(st.sampled_from(NASTY_NUMBERS), st.floats(19.9, 20.3).map(lambda f: f"{f:.4f}")),
    }
    n = draw(st.integers(0, 6), label="rows")
    rows = [[draw(by_column.get(col, cells)) for col in header] for _ in range(n)]
    if rows and draw(st.booleans(), label="ragged"):
        row = draw(st.integers(0, len(rows) - 1))
        rows[row] = rows[row][: draw(st.integers(0, len(header)))] + draw(st.lists(cells, max_size=2))
    return [header, *rows]


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, bytes]:
    table = draw(st.one_of(random_tables(), near_valid_tables()), label="table")
    text = _join(
        table,
        draw(st.sampled_from(DELIMITERS), label="delimiter"),
        draw(st.sampled_from(["minimal", "all", "raw"]), label="quoting"),
        draw(st.sampled_from(["\n", "\r\n", "\r"]), label="newline"),
    )
    if draw(st.integers(0, 9), label="leading blank lines") == 0:
        text = "\n\n" + text
    data = _encode(text, draw(st.sampled_from(ENCODINGS), label="encoding"))
    data = draw(mutated(data), label="bytes")
    suffix = draw(st.sampled_from([".csv", ".csv", ".tsv", ".txt"]), label="suffix")
    return suffix, data


@fuzz(900)
@given(file=csv_files(), call=calls())
def test_fuzz_csv(folder, file, call):
    suffix, content = file
    loader, options = call
    path = _fresh(folder, f"upload{suffix}")
    path.write_bytes(content)
    check_loader(loader, path, **options)


# ------------------------------------------------------------------------------------------------
# GeoJSON
# ------------------------------------------------------------------------------------------------

COORDINATES = st.one_of(
    st.floats(-200, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e308, -1e308, 1e-320, 20.05, 42.05, 180.0, 90.0, 91.0]),
    st.integers(-(10**20), 10**20),
    st.sampled_from(["20", None, True, [], {}]),
)
position = st.lists(COORDINATES, min_size=0, max_size=4)
nested_positions = st.recursive(
    position, lambda inner: st.lists(inner, min_size=1, max_size=3), max_leaves=12
)
GEOMETRY_TYPES = [
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
    "Circle",
    "point",
    None,
    5,
]


def _square(x: float, y: float, size: float) -> list[list[list[float]]]:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


@st.composite
def geometries(draw: st.DrawFn, depth: int = 0) -> Any:
    kind = draw(st.sampled_from(GEOMETRY_TYPES), label="geometry type")
    shape = draw(st.sampled_from(["square", "point", "nested", "garbage"]), label="coordinates")
    if shape == "square":
        x, y = draw(st.sampled_from([(20.0, 42.0), (20.1, 42.0), (42.0, 20.0), (1e300, 1e300), (500.0, 0.0)]))
        coords: Any = _square(x, y, draw(st.sampled_from([0.1, 0.0, -0.1, 1e300])))
        if kind == "MultiPolygon":
            coords = [coords]
        if draw(st.booleans(), label="bow tie"):
            coords = [[[20.0, 42.0], [20.1, 42.1], [20.1, 42.0], [20.0, 42.1], [20.0, 42.0]]]
    elif shape == "point":
        coords = draw(position)
    elif shape == "nested":
        coords = draw(nested_positions)
    else:
        coords = draw(json_values)
    geometry: dict[str, Any] = {"type": kind, "coordinates": coords}
    if kind == "GeometryCollection":
        members = [] if depth > 1 else draw(st.lists(geometries(depth + 1), max_size=2))
        geometry = {"type": kind, "geometries": members}
    return geometry


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**30), 10**30),
        st.text(max_size=8),
        st.sampled_from(NASTY_TEXT),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
PROPERTY_NAMES = st.one_of(st.sampled_from(HEADERS), st.text(max_size=6))
property_values = st.one_of(
    st.sampled_from(IDS),
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(NASTY_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    json_values,
)


@st.composite
def features(draw: st.DrawFn) -> Any:
    feature: dict[str, Any] = {
        "type": draw(
            st.sampled_from(["Feature", "Feature", "Feature", "feature", "FeatureCollection", None])
        ),
        "properties": draw(
            st.one_of(
                st.dictionaries(PROPERTY_NAMES, property_values, max_size=5),
                st.fixed_dictionaries(
                    {"area_id": st.sampled_from(IDS), "name": st.sampled_from(NASTY_TEXT)},
                    optional={"service_type": st.sampled_from(SERVICE_TYPES), "capacity": property_values},
                ),
                st.none(),
                json_values,
            ),
            label="properties",
        ),
    }
    geometry = draw(st.one_of(geometries(), st.none(), json_values), label="geometry")
    if geometry is not None or draw(st.booleans()):
        feature["geometry"] = geometry
    if draw(st.integers(0, 5), label="id") == 0:
        feature["id"] = draw(property_values)
    return feature


@st.composite
def geojson_files(draw: st.DrawFn) -> tuple[str, bytes]:
    shape = draw(st.sampled_from(["collection", "collection", "collection", "garbage", "deep", "geometry"]))
    if shape == "collection":
        document: Any = {
            "type": draw(st.sampled_from(["FeatureCollection", "FeatureCollection", "Feature", "Topology"])),
            "features": draw(st.one_of(st.lists(features(), max_size=5), json_values), label="features"),
        }
        if draw(st.integers(0, 5), label="crs member") == 0:
            document["crs"] = draw(
                st.one_of(
                    st.sampled_from(
                        [
                            {"type": "name", "properties": {"name": "EPSG:32634"}},
                            {"type": "name", "properties": {"name": "EPSG:999999"}},
                            {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                            {"type": "link", "properties": {"href": "http://evil", "type": "proj4"}},
                            "EPSG:4326",
                        ]
                    ),
                    json_values,
                )
            )
        text = json.dumps(document, allow_nan=True)
    elif shape == "garbage":
        text = json.dumps(draw(json_values), allow_nan=True)
    elif shape == "geometry":
        text = json.dumps(draw(geometries()), allow_nan=True)
    else:
        n = draw(st.sampled_from([50, 1000, 20000]), label="depth")
        text = '{"type": "FeatureCollection", "features": [' + "[" * n + "]" * n + "]}"
    if draw(st.integers(0, 4), label="huge number") == 0:
        text = text.replace("0.1", "1" + "0" * 400, 1)
    data = draw(mutated(text.encode("utf-8"), max_mutations=2), label="bytes")
    return draw(st.sampled_from([".geojson", ".json"]), label="suffix"), data


@fuzz(700)
@given(file=geojson_files(), call=calls())
def test_fuzz_geojson(folder, file, call):
    suffix, content = file
    loader, options = call
    path = _fresh(folder, f"upload{suffix}")
    path.write_bytes(content)
    check_loader(loader, path, **options)


# ------------------------------------------------------------------------------------------------
# GeoPackage and GeoParquet
# ------------------------------------------------------------------------------------------------

LAYER_NAMES = ["areas", "services", "x'; DROP TABLE gpkg_contents; --", "ünï cödé", "1", "a" * 60, "gpkg_x"]


def _odd_frame(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(0, 4), label="features")
    columns = draw(
        st.lists(st.sampled_from(HEADERS[:20] + ["fid_", "Name", "ÅREA"]), max_size=5, unique=True)
    )
    columns = [c for c in columns if c not in ("geometry", "", " ")]
    values = st.one_of(
        st.sampled_from(IDS),
        st.sampled_from([t for t in NASTY_TEXT if "\x00" not in t]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**62), 2**62),
        st.none(),
    )
    data = {col: [draw(values) for _ in range(n)] for col in columns}
    geometry = st.sampled_from(
        [
            box(20.0, 42.0, 20.1, 42.1),
            box(20.1, 42.0, 20.2, 42.1),
            Point(20.05, 42.05),
            Point(1e300, -1e300),
            LineString([(20, 42), (20.1, 42.1)]),
            MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
            box(500, 500, 600, 600),
            Point(),
            None,
        ]
    )
    geoms = [draw(geometry) for _ in range(n)]
    crs = draw(st.sampled_from(["EPSG:4326", "EPSG:32634", "EPSG:3857", None]), label="crs")
    frame = gpd.GeoDataFrame(pd.DataFrame(data, index=range(n)), geometry=geoms, crs=crs)
    for col in columns:  # mixed types in one column cannot be written: make such a column text
        kinds = {type(v) for v in frame[col] if v is not None}
        if len(kinds) > 1:
            frame[col] = [None if v is None else str(v) for v in frame[col]]
    return frame


def _write_gpkg(layers: list[tuple[str, gpd.GeoDataFrame]]) -> bytes:
    """A GeoPackage holding the layers (as far as GDAL will write them), with a fixed date in it."""
    with tempfile.TemporaryDirectory(prefix="socialmap-fuzz-gpkg-") as scratch, fixed_dates():
        path = Path(scratch) / "made.gpkg"
        for layer, frame in layers:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
                except Exception:  # a frame GDAL itself will not write: keep what was written so far
                    pass
        return path.read_bytes() if path.exists() else b""


@cache
def gpkg_templates() -> tuple[bytes, ...]:
    """A few GeoPackages made once: the usual layouts, and odd ones (several layers, no CRS, lines)."""
    areas = areas_gdf()
    services = gpd.GeoDataFrame(
        {"service_id": ["S1"], "name": ["<script>x</script>"], "service_type": ["csw"], "capacity": [3.0]},
        geometry=[Point(20.05, 42.05)],
        crs="EPSG:4326",
    )
    population = areas.assign(population=[10.0, -1.0])
    return (
        _write_gpkg([("areas", areas)]),
        _write_gpkg([("services", services)]),
        _write_gpkg([("population", population)]),
        _write_gpkg([("areas", areas), ("services", services)]),
        _write_gpkg([("no crs", areas.set_crs(None, allow_override=True))]),
        _write_gpkg(
            [("lines", gpd.GeoDataFrame({"area_id": ["L"]}, geometry=[LineString([(0, 0), (1, 1)])]))]
        ),
        _write_gpkg([("empty", areas.iloc[:0])]),
        _write_gpkg([("metres", areas.to_crs("EPSG:32634"))]),
    )


@st.composite
def gpkg_files(draw: st.DrawFn) -> tuple[str, bytes]:
    shape = draw(st.sampled_from(["random", "sqlite", "template", "template", "template", "fresh"]))
    if shape == "random":
        return ".gpkg", draw(st.binary(max_size=200))
    if shape == "sqlite":
        return ".gpkg", b"SQLite format 3\x00" + draw(st.binary(max_size=400))
    if shape == "fresh":  # written for this example: odd layer names, columns, geometries
        layers = draw(st.lists(st.sampled_from(LAYER_NAMES), min_size=1, max_size=2, unique=True))
        content = _write_gpkg([(layer, _odd_frame(draw)) for layer in layers])
    else:
        content = draw(st.sampled_from(gpkg_templates()), label="template")
    if draw(st.booleans(), label="corrupt"):
        content = draw(mutated(content, max_mutations=3))
    return ".gpkg", content


@fuzz(200)
@given(file=gpkg_files(), call=calls())
def test_fuzz_geopackage(folder, file, call):
    suffix, content = file
    loader, options = call
    path = _fresh(folder, f"upload{suffix}")
    path.write_bytes(content)
    check_loader(loader, path, **options)


@st.composite
def parquet_files(draw: st.DrawFn) -> tuple[str, bytes]:
    shape = draw(st.sampled_from(["random", "geo", "plain", "corrupt"]))
    if shape == "random":
        return ".parquet", b"PAR1" + draw(st.binary(max_size=200)) + b"PAR1"
    frame = _odd_frame(draw)
    buffer = _stdio.BytesIO()
    if shape == "plain":
        pd.DataFrame(frame.drop(columns="geometry")).to_parquet(buffer)
    else:
        frame.to_parquet(buffer)
    content = buffer.getvalue()
    if shape == "corrupt":
        content = draw(mutated(content, max_mutations=3))
    return draw(st.sampled_from([".parquet", ".geoparquet"])), content


@fuzz(100)
@given(file=parquet_files(), call=calls())
def test_fuzz_parquet(folder, file, call):
    suffix, content = file
    loader, options = call
    path = _fresh(folder, f"upload{suffix}")
    path.write_bytes(content)
    check_loader(loader, path, **options)


# ------------------------------------------------------------------------------------------------
# Zipped Shapefiles
# ------------------------------------------------------------------------------------------------

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@cache
def shapefile_parts(kind: str) -> dict[str, bytes]:
    """The bytes of each part of a small, valid Shapefile of areas or services."""
    if kind == "areas":
        frame = areas_gdf()
    else:
        frame = gpd.GeoDataFrame(
            {"service_id": ["S1", "S2"], "name": ["One", "<b>Two</b>"], "service_type": ["csw", "csw"]},
            geometry=[Point(20.05, 42.05), Point(20.15, 42.05)],
            crs="EPSG:4326",
        ).assign(capacity=[10.0, 5.0])
    with tempfile.TemporaryDirectory(prefix="socialmap-fuzz-shp-") as scratch:
        frame.to_file(Path(scratch) / f"{kind}.shp", engine="pyogrio")
        return {p.suffix: p.read_bytes() for p in Path(scratch).iterdir()}


FOLDERS = ["", "", "data/", "a/b/c/", "../", "../../", "/", "/tmp/", "C:\\", "dir\\sub\\", "__MACOSX/", "./"]
STEMS = ["areas", "services", "evil", "._areas", "Areas", "ünï", ""]

#: The cap on unpacked size while fuzzing ZIPs, so a bomb of a few MB is enough.
ZIP_CAP = 256 * 1024


@st.composite
def zip_members(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    members: list[tuple[str, bytes]] = []
    for _ in range(draw(st.integers(0, 3), label="datasets")):
        kind = draw(st.sampled_from(["areas", "services"]), label="dataset")
        parts = shapefile_parts(kind)
        folder = draw(st.sampled_from(FOLDERS), label="folder")
        stem = draw(st.sampled_from([kind, kind, *STEMS]), label="stem")
        keep = draw(
            st.lists(st.sampled_from(SHAPEFILE_PARTS), min_size=1, max_size=5, unique=True), label="parts"
        )
        for suffix in keep:
            content = parts[suffix]
            if draw(st.integers(0, 5), label="corrupt") == 0:
                content = draw(mutated(content))
            if draw(st.integers(0, 7), label="upper") == 0:
                suffix = suffix.upper()
            members.append((f"{folder}{stem}{suffix}", content))
    for _ in range(draw(st.integers(0, 2), label="extra members")):
        name = draw(st.sampled_from(FOLDERS)) + draw(
            st.sampled_from(["readme.txt", "areas.geojson", "x.gpkg", "inner.zip", "evil.shp", "", "a/"])
        )
        content = draw(
            st.one_of(
                st.binary(max_size=64),
                st.just(b'{"type": "FeatureCollection", "features": []}'),
                st.just(b"\0" * (4 * ZIP_CAP)),  # a zip bomb: small packed, large unpacked
            )
        )
        members.append((name, content))
    return members


@st.composite
def zip_files(draw: st.DrawFn) -> tuple[str, bytes]:
    shape = draw(st.sampled_from(["random", "zip", "zip", "zip", "zip", "corrupt"]))
    if shape == "random":
        return ".zip", draw(st.one_of(st.binary(max_size=200), st.just(b"PK\x05\x06" + b"\0" * 18)))
    buffer = _stdio.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]), label="compression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate member names are part of the fuzz
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            for name, content in draw(zip_members(), label="members"):
                if name.endswith("/") or not name:
                    archive.writestr(zip_entry(name or "/", zipfile.ZIP_STORED), b"")
                else:
                    archive.writestr(zip_entry(name, method), content)
    content = buffer.getvalue()
    if shape == "corrupt":
        content = draw(mutated(content, max_mutations=3))
    return ".zip", content


@fuzz(500)
@given(file=zip_files(), call=calls())
def test_fuzz_zipped_shapefile(folder, file, call):
    suffix, content = file
    loader, options = call
    box_dir = folder / "zip"
    box_dir.mkdir(exist_ok=True)
    path = _fresh(box_dir, f"upload{suffix}")
    path.write_bytes(content)
    before = sorted(p.name for p in folder.rglob("*"))
    with limits(upload=ZIP_CAP):
        check_loader(loader, path, **options)
    assert sorted(p.name for p in folder.rglob("*")) == before, "the loader left files behind"


# ------------------------------------------------------------------------------------------------
# XLSX
# ------------------------------------------------------------------------------------------------

xlsx_cells = st.one_of(
    st.sampled_from([t for t in NASTY_TEXT if not _CONTROL.search(t)]),
    st.sampled_from(NASTY_NUMBERS),
    st.sampled_from([i for i in IDS if not _CONTROL.search(i)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**15), 10**15),
    st.booleans(),
    st.none(),
    st.just(datetime(2024, 1, 1)),
    st.sampled_from(["=1/0", "=A1", "=SUM(A1:A3)", '=HYPERLINK("http://x","y")', "#DIV/0!"]),
)


def reproducible_workbook(content: bytes) -> bytes:
    """The workbook with fixed dates (openpyxl stamps the time of saving), so examples are reproducible."""
    out = _stdio.BytesIO()
    with zipfile.ZipFile(_stdio.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", data)
            target.writestr(zip_entry(info.filename), data)
    return out.getvalue()


@st.composite
def xlsx_files(draw: st.DrawFn) -> tuple[str, bytes]:
    shape = draw(st.sampled_from(["random", "zip", "workbook", "workbook", "workbook", "corrupt"]))
    if shape == "random":
        return ".xlsx", draw(st.binary(max_size=200))
    buffer = _stdio.BytesIO()
    if shape == "zip":
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in draw(
                st.lists(st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "x.txt"]), unique=True)
            ):
                archive.writestr(
                    zip_entry(name), draw(st.one_of(st.binary(max_size=40), st.just(b"<a><b></a>")))
                )
        return ".xlsx", buffer.getvalue()
    from openpyxl import Workbook

    book = Workbook()
    for index in range(draw(st.integers(1, 2), label="sheets")):
        sheet = book.active if index == 0 else book.create_sheet(f"Sheet {index + 1}")
        header = draw(
            st.one_of(
                st.sampled_from(list(COLUMNS.values())),
                st.lists(st.sampled_from([h for h in HEADERS if not _CONTROL.search(h)]), max_size=6),
            )
        )
        rows = [header] + draw(st.lists(st.lists(xlsx_cells, max_size=7), max_size=5))
        for row in rows:
            sheet.append(row)
    book.properties.created = datetime(2024, 1, 1)
    book.save(buffer)
    content = reproducible_workbook(buffer.getvalue())
    if shape == "corrupt":
        content = draw(mutated(content, max_mutations=2))
    return ".xlsx", content


@fuzz(250)
@given(file=xlsx_files(), call=calls(tuple(x for x in LOADERS if x != "read_areas")))
def test_fuzz_xlsx(folder, file, call):
    suffix, content = file
    loader, options = call
    path = _fresh(folder, f"upload{suffix}")
    path.write_bytes(content)
    check_loader(loader, path, **options)


# ------------------------------------------------------------------------------------------------
# Limits, for every format
# ------------------------------------------------------------------------------------------------


@fuzz(100)
@given(
    file=st.one_of(csv_files(), geojson_files(), gpkg_files(), zip_files(), xlsx_files()),
    features=st.integers(0, 3),
    upload=st.integers(0, 400),
    loader=st.sampled_from(LOADERS),
)
def test_fuzz_tight_limits(folder, file, features, upload, loader):
    """With tiny caps the loaders refuse cleanly (the messages name the setting to raise)."""
    suffix, content = file
    path = _fresh(folder, f"limited{suffix}")
    path.write_bytes(content)
    with limits(upload=upload, features=features):
        check_loader(loader, path)


def test_the_fuzz_strategies_reach_valid_files(folder):
    """The strategies are not all noise: a near-valid CSV is read, so the happy path is fuzzed too."""
    text = _join([COLUMNS["services"], ["S1", "One", "csw", "10", "42.05", "20.05"]], ",", "minimal", "\n")
    path = _fresh(folder, "valid.csv")
    path.write_text(text)
    check_loader("read_services", path)
    assert len(io.read_services(path)) == 1
    assert math.isfinite(io.read_services(path)["capacity"].iloc[0])


# ------------------------------------------------------------------------------------------------
# The structured strategies below (GeoParquet, XLSX parts, taxonomy YAML, plan files) each draw about half
# their examples near a valid file, so that the happy path past the readers' guards is fuzzed as well; each
# test asserts that some of its examples were read.
# ------------------------------------------------------------------------------------------------

#: Least share of a structured fuzz test's examples that must be read (not refused).
MIN_READ_SHARE = 0.05


class Tally:
    """How many examples a fuzz test ran and how many of them were read."""

    def __init__(self) -> None:
        self.examples = 0
        self.read = 0

    def count(self, read: bool) -> None:
        self.examples += 1
        self.read += bool(read)

    def check(self) -> None:
        assert self.examples, "no example ran"
        assert self.read >= MIN_READ_SHARE * self.examples, (
            f"only {self.read} of {self.examples} examples were read: "
            "the strategy no longer reaches valid files"
        )


def loaders_for(kind: str | None, data: st.DataObject, *, areas: bool = True) -> tuple[str, ...]:
    """The loaders to draw from for a file near a valid one of ``kind``: its own and ``validate_file``,
    now and then any (so that a file of one kind is also thrown at another's loader)."""
    if kind is None or rarely(data.draw, 5, "any loader"):
        return LOADERS if areas else tuple(x for x in LOADERS if x != "read_areas")
    return (f"read_{kind}", "validate_file")


NEAR_VALID_NAMES = ["Qendra", "Westfield", "Prishtinë", "Gračanica", "<b>x</b>", "=1+1", "a & b", " x "]


def _near_valid_names(draw: st.DrawFn, n: int) -> list[str]:
    return [draw(st.sampled_from(NEAR_VALID_NAMES), label="name") for _ in range(n)]


# ------------------------------------------------------------------------------------------------
# GeoParquet structure: column encodings, nested columns, geo metadata, row groups
# ------------------------------------------------------------------------------------------------

GEO_METADATA = [
    None,  # plain Parquet
    lambda geom: {"version": "1.0.0", "primary_column": geom, "columns": {geom: {"encoding": "WKB"}}},
    lambda geom: {"version": "1.1.0", "primary_column": "nope", "columns": {geom: {"encoding": "WKB"}}},
    lambda geom: {"version": "1.0.0", "primary_column": geom, "columns": {geom: {"encoding": "point"}}},
    lambda geom: {"primary_column": geom, "columns": {geom: {"encoding": "WKB", "crs": {"id": "x"}}}},
    lambda geom: {"version": "9", "primary_column": geom, "columns": {}},
    lambda geom: "not a mapping",
]
WKB = [
    Point(20.05, 42.05).wkb,
    box(20.0, 42.0, 20.1, 42.1).wkb,
    b"",
    b"\x01\x01\x00\x00",  # cut short
    b"\x01\x03\x00\x00\x00\xff\xff\xff\x7f",  # a polygon claiming 2**31 rings
    b"\x00" * 21,
]
#: How a text column is stored: Parquet's dictionary pages (pyarrow's default), plain pages, an Arrow
#: dictionary (pandas' categorical), large strings, or front-compressed (DELTA_BYTE_ARRAY, refused).
TEXT_STORAGE = ["dictionary", "dictionary", "plain", "plain", "categorical", "large", "delta"]


@cache
def _crs84_projjson() -> dict[str, Any]:
    from pyproj import CRS

    return CRS("OGC:CRS84").to_json_dict()


def _text_column(draw: st.DrawFn, values: list[Any], name: str, encodings: dict[str, str]) -> Any:
    import pyarrow as pa

    storage = draw(st.sampled_from(TEXT_STORAGE), label=f"{name} storage")
    if storage == "categorical":
        return pa.array(values, type=pa.string()).dictionary_encode()
    if storage == "large":
        return pa.array(values, type=pa.large_string())
    if storage in ("plain", "delta"):
        encodings[name] = "PLAIN" if storage == "plain" else "DELTA_BYTE_ARRAY"
    return pa.array(values, type=pa.string())


@st.composite
def near_valid_geoparquet(draw: st.DrawFn) -> tuple[Any, dict[str, str], str | None]:
    """Areas, services or population as GeoParquet, its text stored in one of several ways, with maybe
    one flaw (an empty or repeated id, junk geometry, an extra nested column, a column dropped)."""
    import pyarrow as pa

    kind = draw(st.sampled_from(["areas", "services", "population"]), label="kind")
    n = draw(st.integers(1, 5), label="rows")
    data: dict[str, list[Any]]
    geoms: list[bytes] | None
    if kind == "areas":
        data = {"area_id": [f"A{i}" for i in range(n)], "name": _near_valid_names(draw, n)}
        geoms = [box(20 + 0.1 * i, 42.0, 20.1 + 0.1 * i, 42.1).wkb for i in range(n)]
    elif kind == "services":
        data = {
            "service_id": [f"S{i}" for i in range(n)],
            "name": _near_valid_names(draw, n),
            "service_type": [draw(st.sampled_from(SERVICE_TYPES[:4]), label="type") for _ in range(n)],
        }
        whole = st.integers(0, 500).map(float)
        capacity = st.one_of(whole, whole, whole, st.floats(allow_nan=True, allow_infinity=True))
        data["capacity"] = [draw(capacity, label="capacity") for _ in range(n)]
        geoms = [
            Point(draw(st.floats(20.0, 20.2), label="lon"), draw(st.floats(42.0, 42.1), label="lat")).wkb
            for _ in range(n)
        ]
    else:
        data = {"area_id": [f"A{i}" for i in range(n)], "population": [float(i * 1000) for i in range(n)]}
        geoms = None
    ids = next(iter(data))
    flaw = draw(
        st.sampled_from(["none", "none", "none", "empty id", "repeated id", "junk", "nested", "drop"])
    )
    if flaw == "empty id":
        data[ids][draw(st.integers(0, n - 1))] = None
    elif flaw == "repeated id":
        data[ids][-1] = data[ids][0]
    elif flaw == "junk" and geoms is not None:
        geoms[draw(st.integers(0, n - 1))] = draw(st.sampled_from(WKB))
    elif flaw == "drop":
        data.pop(draw(st.sampled_from(sorted(data))))
    encodings: dict[str, str] = {}
    columns: dict[str, Any] = {}
    for name, values in data.items():
        if values and all(isinstance(v, float) for v in values):
            columns[name] = pa.array(values, type=pa.float64())
        else:
            columns[name] = _text_column(draw, values, name, encodings)
    if flaw == "nested":
        columns["note"] = pa.array([[draw(st.sampled_from(IDS))] * draw(st.integers(0, 3)) for _ in range(n)])
    if geoms is None:
        return pa.table(columns), encodings, kind
    columns["geometry"] = pa.array(geoms, type=pa.binary())
    geo: dict[str, Any] = {"encoding": "WKB", "geometry_types": []}
    if draw(st.booleans(), label="explicit crs"):
        geo["crs"] = _crs84_projjson()
    meta = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": geo}}
    return pa.table(columns).replace_schema_metadata({b"geo": json.dumps(meta).encode()}), encodings, kind


@st.composite
def odd_geoparquet(draw: st.DrawFn) -> tuple[Any, dict[str, str], str | None]:
    """A Parquet file built column by column: text plain or dictionary-encoded, front-compressed, nested
    lists of text, numbers, nulls, geometry as WKB (or junk) under any name, odd geo metadata."""
    import pyarrow as pa

    n = draw(st.integers(0, 6), label="rows")
    names = draw(st.lists(st.sampled_from(CONTRACT + ["note", "Name", "geometry", "x.y"]), max_size=5))
    columns: dict[str, Any] = {}
    encodings: dict[str, str] = {}
    for name in dict.fromkeys(names):
        kind = draw(st.sampled_from(["text", "number", "nested", "null"]), label="kind")
        if kind == "text":
            values = [draw(st.sampled_from(IDS + NASTY_TEXT[:8])) for _ in range(n)]
            columns[name] = _text_column(draw, values, name, encodings)
        elif kind == "number":
            columns[name] = pa.array([draw(st.floats(allow_nan=True, allow_infinity=True)) for _ in range(n)])
        elif kind == "nested":
            columns[name] = pa.array(
                [[draw(st.sampled_from(IDS))] * draw(st.integers(0, 3)) for _ in range(n)]
            )
        else:
            columns[name] = pa.nulls(n)
    geom = draw(st.sampled_from(["geometry", "geom", "area_id"]), label="geometry column")
    if draw(st.booleans(), label="has geometry"):
        columns[geom] = pa.array([draw(st.sampled_from(WKB)) for _ in range(n)], type=pa.binary())
    table = pa.table(columns) if columns else pa.table({"empty": pa.nulls(n)})
    meta = draw(st.sampled_from(GEO_METADATA), label="geo metadata")
    if meta is not None:
        value = meta(geom)
        text = json.dumps(value) if draw(st.integers(0, 5), label="bad json") else "{not json"
        table = table.replace_schema_metadata({b"geo": text.encode()})
    return table, encodings, None


@st.composite
def geoparquet_structures(draw: st.DrawFn) -> tuple[str, bytes, str | None]:
    """A Parquet file near a valid one or odd, maybe with bytes corrupted; with the kind it is near."""
    import pyarrow.parquet as pq

    table, encodings, kind = draw(
        st.one_of(near_valid_geoparquet(), near_valid_geoparquet(), odd_geoparquet()), label="table"
    )
    buffer = _stdio.BytesIO()
    pq.write_table(
        table,
        buffer,
        row_group_size=draw(st.integers(1, 4), label="row group size"),
        compression=draw(st.sampled_from(["none", "snappy", "zstd"]), label="compression"),
        use_dictionary=[c for c in table.column_names if c not in encodings] if encodings else True,
        column_encoding=encodings or None,
    )
    content = buffer.getvalue()
    if rarely(draw, 6, "corrupt"):
        content = draw(mutated(content, max_mutations=2))
    return draw(st.sampled_from([".parquet", ".geoparquet"])), content, kind


def test_fuzz_geoparquet_structure(folder):
    tally = Tally()

    @fuzz(150)
    @given(file=geoparquet_structures(), data=st.data())
    def run(file: tuple[str, bytes, str | None], data: st.DataObject) -> None:
        suffix, content, kind = file
        loader, options = data.draw(calls(loaders_for(kind, data)), label="call")
        path = _fresh(folder, f"structure{suffix}")
        path.write_bytes(content)
        tally.count(check_loader(loader, path, **options))

    run()
    tally.check()


# ------------------------------------------------------------------------------------------------
# XLSX structure: hand-written parts (sheets, shared strings, relationships) that openpyxl never writes
# ------------------------------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CELL_REFS = ["A1", "B1", "Z9", "XFD1", "A1048576", "XFD1048576", "A0", "1A", "", "AAAA1", "a2"]
CELL_TYPES = [None, "s", "inlineStr", "n", "b", "e", "str", "bogus"]
CELL_VALUES = ["0", "1", "-1", "99999", "1e308", "1e999", "abc", "", "2.5", "0x10", "&amp;", "<![CDATA[x]]>"]
#: Plausible values per column of a near-valid sheet (text is XML-escaped when written).
SHEET_VALUES: dict[str, Any] = {
    "service_id": st.sampled_from(["S1", "S2", "S3", "S4"]),
    "area_id": st.sampled_from(["A1", "A2", "A3"]),
    "name": st.sampled_from(NEAR_VALID_NAMES),
    "service_type": st.sampled_from(SERVICE_TYPES[:4]),
    "capacity": st.one_of(st.integers(0, 500), st.integers(0, 500), st.sampled_from(["", "1.000", "many"])),
    "population": st.one_of(st.integers(0, 10**6), st.integers(0, 10**6), st.sampled_from(["27.775", "-1"])),
    "lat": st.floats(42.0, 42.1).map(lambda f: round(f, 5)),
    "lon": st.floats(20.0, 20.2).map(lambda f: round(f, 5)),
}


def _column_letter(j: int) -> str:
    return chr(65 + j) if j < 26 else "A" + chr(65 + j - 26)


@st.composite
def sheet_cell(draw: st.DrawFn, ref: str, value: Any, prefix: str, strings: list[str]) -> str:
    """One ``<c>`` element: a number as ``<v>``, text inline, shared or as a formula result; now and then an
    odd reference, type or value."""
    if rarely(draw, 40, "odd cell"):
        ref = draw(st.sampled_from(CELL_REFS), label="cell r")
        kind = draw(st.sampled_from(CELL_TYPES), label="cell t")
        body = draw(st.sampled_from(CELL_VALUES), label="value")
        attrs = (f' r="{ref}"' if ref else "") + (f' t="{kind}"' if kind else "")
        if kind == "inlineStr":
            return f"<{prefix}c{attrs}><{prefix}is><{prefix}t>{body}</{prefix}t></{prefix}is></{prefix}c>"
        return f"<{prefix}c{attrs}><{prefix}v>{body}</{prefix}v></{prefix}c>"
    if isinstance(value, int | float):
        kind = draw(st.sampled_from(["", ' t="n"']), label="number type")
        return f'<{prefix}c r="{ref}"{kind}><{prefix}v>{value!r}</{prefix}v></{prefix}c>'
    text = xml_escape(str(value))
    storage = draw(st.sampled_from(["inline", "shared", "shared", "formula"]), label="text storage")
    if storage == "inline":
        inline = f"<{prefix}is><{prefix}t>{text}</{prefix}t></{prefix}is>"
        return f'<{prefix}c r="{ref}" t="inlineStr">{inline}</{prefix}c>'
    if storage == "shared":
        strings.append(text)
        return f'<{prefix}c r="{ref}" t="s"><{prefix}v>{len(strings) - 1}</{prefix}v></{prefix}c>'
    return f'<{prefix}c r="{ref}" t="str"><{prefix}f>"x"</{prefix}f><{prefix}v>{text}</{prefix}v></{prefix}c>'


@st.composite
def sheet_xml(draw: st.DrawFn, header: list[str], strings: list[str]) -> str:
    """A worksheet: the header, then rows of plausible values for its columns; maybe odd row numbers, cells
    or dimensions, a namespace prefix."""
    prefix = draw(st.sampled_from(["", "", "x:"]), label="namespace prefix")
    xmlns = f'xmlns:x="{MAIN_NS}"' if prefix else f'xmlns="{MAIN_NS}"'
    table: list[list[Any]] = [list(header)]
    for i in range(draw(st.integers(1, 5), label="rows")):
        values = [draw(SHEET_VALUES.get(col, st.sampled_from(CELL_VALUES)), label=col) for col in header]
        if header and header[0] in ("service_id", "area_id") and not rarely(draw, 8, "id drawn"):
            values[0] = f"{header[0][0].upper()}{i + 1}"  # S1, S2... or A1, A2...: unique ids
        table.append(values)
    rows = []
    for i, values in enumerate(table, start=1):
        cells = [
            draw(sheet_cell(f"{_column_letter(j)}{i}", value, prefix, strings))
            for j, value in enumerate(values)
        ]
        row_ref = str(i)
        if rarely(draw, 20, "odd row"):
            row_ref = draw(st.sampled_from(["", "0", "1048576", "x", "1"]), label="row r")
        r = f' r="{row_ref}"' if row_ref else ""
        rows.append(f"<{prefix}row{r}>{''.join(cells)}</{prefix}row>")
    extent = f"A1:{_column_letter(max(len(header), 1) - 1)}{len(table)}"
    dimension = extent
    if rarely(draw, 6, "odd dimension"):
        dimension = draw(st.sampled_from(["", "A1", "A1:XFD1048576", "junk"]), label="dimension")
    dim = f'<{prefix}dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{prefix}worksheet {xmlns}>{dim}'
        f"<{prefix}sheetData>{''.join(rows)}</{prefix}sheetData></{prefix}worksheet>"
    )


@st.composite
def xlsx_structures(draw: st.DrawFn) -> tuple[str, bytes, str | None]:
    """A workbook written part by part, with at most one flaw in its parts (a wrong relationship target or
    id, a sheet name that needs escaping, a DTD, a missing part) besides what its sheet holds."""
    kind = draw(st.sampled_from([*sorted(COLUMNS), None]), label="kind")
    header = COLUMNS[kind] if kind else draw(st.sampled_from([["a", "b"], []]), label="header")
    strings: list[str] = []
    sheet = draw(sheet_xml(header, strings))
    flaw = draw(st.sampled_from(["none"] * 15 + ["target", "id", "name", "doctype", "drop"]), label="flaw")
    sheet_name, rel_id, target = "Sheet1", "rId1", "worksheets/sheet1.xml"
    if flaw == "target":
        target = draw(st.sampled_from(["/xl/worksheets/sheet1.xml", "../../etc/passwd", "nope.xml", ""]))
    elif flaw == "id":
        rel_id = draw(st.sampled_from(["rId9", "", "rId2"]), label="relationship id")
    elif flaw == "name":
        sheet_name = draw(st.sampled_from(["", "a&amp;b", "Sheet", "'x'", "a" * 40]), label="sheet name")
    parts: dict[str, str] = {
        "[Content_Types].xml": (
            f'<?xml version="1.0"?><Types xmlns="{CT_NS}">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SML}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SML}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SML}.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
            f'Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
            f'<sheet name="{sheet_name}" sheetId="1" r:id="{rel_id}"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{DOC_REL}/worksheet" Target="{target}"/>'
            f'<Relationship Id="rId2" Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if rarely(draw, 4, "extra shared strings"):
        strings += draw(st.lists(st.sampled_from(IDS[:4] + ["", "Qendra", "=1+1"]), max_size=2))
    rich = rarely(draw, 5, "rich text")
    items = "".join(
        f"<si><r><t>{s}</t></r><r><t>!</t></r></si>" if rich else f"<si><t>{s}</t></si>" for s in strings
    )
    parts["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}" count="{len(strings)}">{items}</sst>'
    )
    if flaw == "doctype":
        name = draw(st.sampled_from(sorted(parts)), label="part with a doctype")
        parts[name] = (
            parts[name]
            .replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]>', 1)
            .replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?><!DOCTYPE x>', 1)
        )
    elif flaw == "drop":
        parts.pop(draw(st.sampled_from(sorted(parts)), label="dropped part"))
    buffer = _stdio.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(zip_entry(name), text.encode("utf-8"))
    return ".xlsx", buffer.getvalue(), kind


def test_fuzz_xlsx_structure(folder):
    tally = Tally()

    @fuzz(200)
    @given(file=xlsx_structures(), data=st.data())
    def run(file: tuple[str, bytes, str | None], data: st.DataObject) -> None:
        suffix, content, kind = file
        loader, options = data.draw(calls(loaders_for(kind, data, areas=False)), label="call")
        path = _fresh(folder, f"structure{suffix}")
        path.write_bytes(content)
        tally.count(check_loader(loader, path, **options))

    run()
    tally.check()


# ------------------------------------------------------------------------------------------------
# Taxonomy YAML
# ------------------------------------------------------------------------------------------------

TAXONOMY_KEYS = [
    "schema_version", "name", "sources", "target_groups", "service_types", "label", "rate", "source",
    "target_groups", "catchment_m", "weight", "sensitive", "citation", "en", "sq", "sr", "csw", "everyone",
]  # fmt: skip
YAML_SCALARS = st.one_of(
    st.sampled_from(["1", "0.5", "-1", "null", "~", "yes", "no", ".inf", ".nan", "1e999", "'x'", '"y"']),
    st.sampled_from(["[]", "{}", "2024-01-01", "0x1F", "!!binary aGVsbG8=", "!!python/object:os.system ls"]),
    st.sampled_from(["&a 1", "*a"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)


@st.composite
def yaml_nodes(draw: st.DrawFn, depth: int = 0) -> str:
    """A YAML node in flow style: scalars, lists and mappings of taxonomy words, anchors and aliases."""
    kind = draw(st.sampled_from(["scalar", "list", "map", "alias"] if depth < 4 else ["scalar", "alias"]))
    anchor = ""
    if draw(st.integers(0, 3), label="anchor") == 0:
        anchor = f"&{draw(st.sampled_from(['a', 'b', 'c']))} "
    if kind == "scalar":
        return anchor + draw(YAML_SCALARS)
    if kind == "alias":
        return f"*{draw(st.sampled_from(['a', 'b', 'c', 'zzz']))}"
    items = [draw(yaml_nodes(depth + 1)) for _ in range(draw(st.integers(0, 3), label="items"))]
    if kind == "list":
        return anchor + "[" + ", ".join(items) + "]"
    keys = [draw(st.sampled_from(TAXONOMY_KEYS)) for _ in items]
    return anchor + "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


@cache
def shipped_taxonomy_lines() -> tuple[str, ...]:
    return tuple((Path(__file__).parents[1] / "socialmap/taxonomies/kosovo.yaml").read_text().splitlines())


@st.composite
def taxonomy_texts(draw: st.DrawFn) -> bytes:
    """Random bytes; random structures of taxonomy words; the shipped taxonomy with a few line edits (an
    anchor or alias, a merge key, a bad indent or tab, a line deleted or repeated); alias and depth bombs."""
    shape = draw(
        st.sampled_from(["edited", "edited", "edited", "random", "structure", "bomb"]), label="shape"
    )
    if shape == "random":
        return draw(st.binary(max_size=300))
    if shape == "structure":
        top = {k: draw(yaml_nodes(1)) for k in draw(st.lists(st.sampled_from(TAXONOMY_KEYS[:5]), max_size=5))}
        return "\n".join(f"{k}: {v}" for k, v in top.items()).encode()
    if shape == "bomb":
        # Aliases that expand to width**levels nodes, on both sides of settings.max_yaml_nodes (100,000)
        # but at most a million: the guard is what these examples test, and should it fail, walking the
        # expansion in this process must stay cheap (the real bombs run in a memory-limited child in
        # test_bombs.py).
        width = draw(st.integers(2, 12), label="width")
        levels = min(draw(st.integers(1, 20), label="levels"), int(math.log(10**6) / math.log(width)))
        lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
        if draw(st.booleans(), label="deep"):
            depth = draw(st.integers(30, 3000), label="depth")
            closed = draw(st.booleans(), label="closed")
            lines.append("deep: " + "[" * depth + "]" * (depth if closed else 0))
        return "\n".join(lines).encode()
    lines = list(shipped_taxonomy_lines())
    for _ in range(draw(st.integers(0, 3), label="edits")):
        at = len(lines) * draw(st.integers(0, 1023), label="line") // 1024
        edit = draw(
            st.sampled_from(["delete", "duplicate", "replace", "alias", "indent", "tab"]), label="edit"
        )
        if edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "replace":
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {draw(yaml_nodes(2))}"
        elif edit == "alias":
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(['&s', '*s', '&s [*s]', '<<: *s']))}"
        elif edit == "indent":
            lines[at] = "   " + lines[at]
        else:
            lines[at] = "\t" + lines[at]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1250"]))
    return "\n".join(lines).encode(encoding, errors="replace")


def test_fuzz_taxonomy_yaml(folder):
    """load_taxonomy returns a taxonomy or raises one TaxonomyError naming the file; never another
    exception (no RecursionError, no MemoryError, no yaml error of its own), and never hangs."""
    from socialmap.errors import TaxonomyError
    from socialmap.taxonomy import Taxonomy, load_taxonomy

    tally = Tally()

    @fuzz(250)
    @given(content=taxonomy_texts())
    def run(content: bytes) -> None:
        path = _fresh(folder, "taxonomy.yaml")
        path.write_bytes(content)
        faulthandler.dump_traceback_later(HANG_S, exit=True)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    taxonomy = load_taxonomy(path)
                except TaxonomyError as exc:
                    assert str(path) in str(exc), str(exc)[:300]
                    tally.count(False)
                else:
                    assert isinstance(taxonomy, Taxonomy) and taxonomy.service_type_keys
                    tally.count(True)
        finally:
            faulthandler.cancel_dump_traceback_later()
        for w in caught:
            assert issubclass(w.category, UserWarning), f"{w.category.__name__}: {w.message}"

    run()
    tally.check()


# ------------------------------------------------------------------------------------------------
# Scenario plan files
# ------------------------------------------------------------------------------------------------

PLAN_HEADER = ["action", "service_id", "service_type", "name", "capacity", "lon", "lat"]
PLAN_COLUMNS = [*PLAN_HEADER, "x", "y", "crs", "step", "scenario", "Action", " LON "]
PLAN_VALUES = st.one_of(
    st.sampled_from(["add", "remove", "move", "capacity", "ADD ", "explode", "", "S1", "S2", "csw", "day"]),
    st.sampled_from(["20.05", "42.05", "20,05", "1.000", "-5", "1e999", "nan", "EPSG:4326", "EPSG:32634"]),
    st.sampled_from(["EPSG:99999", "=1+1", "<script>", "\x00", "1", "0", "3", "42.05;20.05"]),
)
#: Plausible values per column of a near-valid plan.
PLAN_CELLS: dict[str, Any] = {
    "action": st.sampled_from(
        ["add"] * 6 + ["remove", "move", "move", "capacity", "capacity", "Add", " move "]
    ),
    "service_id": st.sampled_from(["", "S1", "S1", "S2", "S2", "S9"]),
    "service_type": st.sampled_from(["csw"] * 4 + ["day_care_disability", "shelter_dv", "spa"]),
    "name": st.sampled_from(NEAR_VALID_NAMES),
    "capacity": st.one_of(
        *[st.integers(0, 500).map(str)] * 3, st.sampled_from(["", "", "1.000", "-5", "many"])
    ),
    "lon": st.floats(20.0, 20.2).map(lambda f: f"{f:.4f}"),
    "lat": st.floats(42.0, 42.1).map(lambda f: f"{f:.4f}"),
    "step": st.one_of(st.integers(1, 5).map(str), st.sampled_from(["", "x"])),
}
PLAN_SERVICES = gpd.GeoDataFrame(
    {"service_id": ["S1", "S2"], "name": ["One", "Two"], "service_type": ["csw", "csw"],
     "capacity": [5.0, None]},
    geometry=[Point(20.05, 42.05), Point(20.15, 42.05)],
    crs="EPSG:4326",
)  # fmt: skip


@st.composite
def plan_tables(draw: st.DrawFn) -> list[list[str]]:
    """A plan's table: near a valid one (its header with maybe one change, plausible edits) or random."""
    if rarely(draw, 3, "random plan"):
        header = draw(st.lists(st.sampled_from(PLAN_COLUMNS), max_size=7), label="header")
        return [header] + [
            [draw(PLAN_VALUES) for _ in range(draw(st.integers(0, len(header) + 1)))]
            for _ in range(draw(st.integers(0, 5), label="rows"))
        ]
    header = list(PLAN_HEADER)
    change = draw(
        st.sampled_from(["none"] * 4 + ["step", "step", "x/y", "extra", "repeat", "drop"]), label="change"
    )
    if change == "step":
        header.append("step")
    elif change == "extra":
        header.append(draw(st.sampled_from(PLAN_COLUMNS)))
    elif change == "repeat":
        header.append(draw(st.sampled_from(header)).upper())
    elif change == "drop":
        header.pop(draw(st.integers(0, len(header) - 1)))
    elif change == "x/y":
        header[header.index("lon")], header[header.index("lat")] = "x", "y"
        header.append("crs")
    cells = {**PLAN_CELLS, "x": PLAN_CELLS["lon"], "y": PLAN_CELLS["lat"], "crs": st.just("EPSG:4326")}
    rows = [
        [draw(cells.get(col, PLAN_VALUES), label=col) for col in header]
        for _ in range(draw(st.integers(1, 3), label="edits"))
    ]
    return [header, *rows]


@st.composite
def plan_files(draw: st.DrawFn) -> tuple[str, bytes]:
    rows = draw(plan_tables())
    fmt = draw(st.sampled_from(["csv", "csv", "csv", "xlsx", "xlsx", "other"]), label="format")
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append([c.replace("\x00", "") for c in row])
        book.properties.created = datetime(2024, 1, 1)
        buffer = _stdio.BytesIO()
        book.save(buffer)
        return ".xlsx", reproducible_workbook(buffer.getvalue())
    text = _join(rows, draw(st.sampled_from([",", ";"])), "minimal", "\n")
    return (".csv" if fmt == "csv" else ".json"), text.encode("utf-8")


def test_fuzz_scenario_plan_files(folder):
    """read_scenario returns a Scenario or raises a SocialMapError (one naming the file when it cannot be
    read); a scenario read applies to services or raises a SocialMapError; never another exception."""
    from socialmap.scenario import Scenario, read_scenario

    tally = Tally()

    @fuzz(200)
    @given(file=plan_files())
    def run(file: tuple[str, bytes]) -> None:
        suffix, content = file
        path = _fresh(folder, f"plan{suffix}")
        path.write_bytes(content)
        faulthandler.dump_traceback_later(HANG_S, exit=True)
        applied = False
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    scenario = read_scenario(path)
                except DataSourceError as exc:
                    _check_error(exc, str(path))
                except ValidationError as exc:
                    assert exc.errors and all(p.message.strip() and p.fix.strip() for p in exc.problems)
                except SocialMapError as exc:
                    assert str(exc).strip()
                else:
                    assert isinstance(scenario, Scenario)
                    try:
                        out = scenario.apply(PLAN_SERVICES, taxonomy=TAXONOMY)
                    except SocialMapError as exc:
                        assert str(exc).strip()
                    else:
                        assert isinstance(out, gpd.GeoDataFrame) and out.crs == PLAN_SERVICES.crs
                        applied = True
        finally:
            faulthandler.cancel_dump_traceback_later()
        for w in caught:
            assert issubclass(w.category, UserWarning), f"{w.category.__name__}: {w.message}"
        tally.count(applied)

    run()
    tally.check()
