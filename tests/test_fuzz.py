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
database. Together they run about 2,750 examples in about half a minute on two cores. To search harder while
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


def check_loader(loader: str, path: Path, **options: Any) -> None:
    """Run one loader on one file and check the property."""
    label = str(path)
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    try:
        caught = _run_loader(loader, path, label, options)
    finally:
        faulthandler.cancel_dump_traceback_later()
    for w in caught:
        assert issubclass(w.category, UserWarning), f"{w.category.__name__}: {w.message}"
        assert str(w.message).startswith(label), f"a warning that does not name the file: {w.message}"


def _run_loader(
    loader: str, path: Path, label: str, options: dict[str, Any]
) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if loader == "validate_file":
            _check_report(validate_file(path, **options), label)
        else:
            kind = loader.removeprefix("read_")
            try:
                out = getattr(io, loader)(path, **options)
            except SocialMapError as exc:
                _check_error(exc, label)
            else:
                CHECKS[kind](out)
                _check_text(out)
    return caught


CONTRACT = ["area_id", "name", "service_id", "service_type", "capacity", "population", "lat", "lon"]


@st.composite
def calls(draw: st.DrawFn, loaders: tuple[str, ...] = LOADERS) -> tuple[str, dict[str, Any]]:
    """Draw a loader and its keyword options (a taxonomy, areas to check against, a CRS, a mapping...)."""
    loader = draw(st.sampled_from(loaders), label="loader")
    options: dict[str, Any] = {}
    if loader in ("read_services", "validate_file") and draw(st.booleans(), label="taxonomy"):
        options["taxonomy"] = TAXONOMY
    if loader in ("read_services", "read_population") and draw(st.booleans(), label="with areas"):
        options["areas"] = AREAS
    if loader in ("read_services", "read_areas") and draw(st.integers(0, 4), label="crs") == 0:
        options["crs"] = draw(st.sampled_from(["EPSG:4326", "EPSG:32634", "EPSG:3857"]), label="crs")
    if draw(st.integers(0, 5), label="columns") == 0:
        options["columns"] = draw(st.dictionaries(header_names, st.sampled_from(CONTRACT), max_size=3))
    if draw(st.integers(0, 7), label="layer") == 0:
        options["layer"] = draw(st.sampled_from(["areas", "services", "nope", 0, 3]), label="layer")
    if loader != "read_areas" and draw(st.integers(0, 7), label="sheet") == 0:
        options["sheet"] = draw(st.sampled_from([0, 1, -1, "Sheet", "Sheet 2", "nope"]), label="sheet")
    if loader != "read_areas" and draw(st.integers(0, 9), label="encoding") == 0:
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
