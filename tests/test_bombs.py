"""Resource bombs: small files that ask for gigabytes or minutes, refused before they are decoded.

Each file is read in a child process under a memory limit (``RLIMIT_AS``) with a wall-clock timeout, so a
regression fails the test instead of taking the machine down. The child reports how long the read took and
how much its resident memory grew while reading; both are asserted, with the file's own size beside them.
Every refusal must name the file and the limit it passed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from shapely.geometry import Point

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")

#: Address space of the child: the interpreter with numpy, pandas, GDAL and pyarrow loaded reserves
#: about 1.7 GB of it (VmPeak) while holding about 0.2 GB; 1 GB more is room for any honest read and
#: far below what the bombs ask for (10 GB and more).
ADDRESS_SPACE = 2_700 * 2**20
#: Seconds a refusal may take in the child (the machine is shared; each takes well under one).
REFUSE_S = 15.0
#: Megabytes the child's resident memory may grow by while refusing.
GROWTH_MB = 100.0

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    spec = json.loads(sys.argv[1])
    from socialmap import settings, io, scenario, taxonomy
    from socialmap.errors import SocialMapError, message
    for key, value in spec.get("settings", {}).items():
        setattr(settings, key, value)

    def rss_mb(field="VmRSS"):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024

    call = {
        "read_areas": io.read_areas,
        "read_services": io.read_services,
        "read_population": io.read_population,
        "read_scenario": scenario.read_scenario,
        "load_taxonomy": taxonomy.load_taxonomy,
    }[spec["call"]]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to what is held now
    before = rss_mb()
    start = time.perf_counter()
    outcome = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(spec["path"])
        outcome["error"] = None
    except SocialMapError as exc:
        outcome["error"] = message(exc, "en")
        outcome["type"] = type(exc).__name__
    outcome["seconds"] = time.perf_counter() - start
    outcome["growth_mb"] = rss_mb("VmHWM") - before
    print(json.dumps(outcome))
    """
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def read_in_child(call: str, path: Path, **settings: object) -> dict:
    """Read ``path`` with ``call`` in a child under the memory limit; return what it reports."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
    spec = json.dumps({"call": call, "path": str(path), "settings": settings})
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, spec],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_refused(outcome: dict, path: Path, *needles: str) -> None:
    assert outcome["error"] is not None, "the file was read instead of refused"
    assert str(path) in outcome["error"], outcome["error"]
    for needle in needles:
        assert needle in outcome["error"], outcome["error"]
    assert "too large to read in memory" not in outcome["error"]  # refused by a check, not by luck
    assert outcome["seconds"] < REFUSE_S, outcome
    assert outcome["growth_mb"] < GROWTH_MB, outcome


# ------------------------------------------------------------------------------------------------
# GeoParquet
# ------------------------------------------------------------------------------------------------


def test_a_dictionary_bomb_in_geoparquet_is_refused_from_its_metadata(tmp_path):
    """One 20 MB string, dictionary-encoded and referenced by 1,000 rows: a file of some kilobytes that
    decodes to 20 GB of text."""
    text = pd.Categorical.from_codes(np.zeros(1000, dtype=int), categories=["a" * (20 * 2**20)])
    bomb = gpd.GeoDataFrame(
        {"area_id": [f"A{i}" for i in range(1000)], "name": text},
        geometry=[Point(20.0, 42.0)] * 1000,
        crs="EPSG:4326",
    )
    path = tmp_path / "areas.parquet"
    bomb.to_parquet(path, compression="zstd")
    assert path.stat().st_size < 100_000
    outcome = read_in_child("read_areas", path)
    assert_refused(outcome, path, "would decode to", "max_upload_bytes", "refused before decoding")


def test_front_compressed_text_in_parquet_is_refused(tmp_path):
    """DELTA_BYTE_ARRAY stores each value as a prefix of the one before plus a suffix: the same bomb
    without a dictionary."""
    table = pa.table({"area_id": ["x" * 2**20] * 60, "population": np.arange(60.0)})
    path = tmp_path / "population.parquet"
    pq.write_table(
        table,
        path,
        use_dictionary=False,
        column_encoding={"area_id": "DELTA_BYTE_ARRAY"},
        compression="zstd",
    )
    assert path.stat().st_size < 200_000
    outcome = read_in_child("read_population", path)
    assert_refused(outcome, path, "'area_id'", "front-compressed")


def test_run_length_encoded_numbers_are_counted_as_decoded(tmp_path):
    """A million zeros in each of four columns pack into a few kilobytes and decode to 32 MB."""
    table = pa.table({f"c{i}": pa.array(np.zeros(1_000_000, dtype="int64")) for i in range(4)})
    path = tmp_path / "population.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 200_000
    outcome = read_in_child("read_population", path, max_upload_bytes=16 * 2**20)
    assert_refused(outcome, path, "would decode to at least 30.5 MB", "16.0 MB", "max_upload_bytes")


def test_an_honest_geoparquet_with_dictionaries_is_still_read(tmp_path):
    areas = gpd.GeoDataFrame(
        {"area_id": [f"A{i}" for i in range(500)], "name": pd.Categorical(["Prishtinë", "Pejë"] * 250)},
        geometry=[Point(20 + i / 1000, 42).buffer(0.0004) for i in range(500)],
        crs="EPSG:4326",
    )
    path = tmp_path / "areas.parquet"
    areas.to_parquet(path)
    outcome = read_in_child("read_areas", path, max_upload_bytes=2**20)
    assert outcome["error"] is None, outcome["error"]


# ------------------------------------------------------------------------------------------------
# XLSX
# ------------------------------------------------------------------------------------------------


def test_an_xlsx_of_16384_columns_is_refused_before_openpyxl_parses_it(tmp_path):
    book = Workbook()
    book.active.append(["area_id", "population", *range(16_382)])
    book.active.append(["A1", 5, *range(16_382)])
    path = tmp_path / "population.xlsx"
    book.save(path)
    outcome = read_in_child("read_population", path)
    assert_refused(outcome, path, "at least 1,001 columns, more than the limit of 1,000", "max_columns")


def _with_parts(
    plain: Path, path: Path, parts: dict[str, bytes], rels: bytes = b"", types: bytes = b""
) -> Path:
    """Copy a workbook, replacing or adding ``parts`` and adding relationships and content types."""
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = parts.pop(info.filename, None) or source.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", rels + b"</Relationships>")
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", types + b"</Types>")
            target.writestr(info.filename, data)
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_an_xlsx_whose_one_shared_string_fills_every_cell_is_refused(tmp_path):
    """One shared string of 1 MB referenced by 200 cells: 1 MB in the workbook, 200 MB in the table
    (the scan stops as soon as the text passes the limit)."""
    book = Workbook()
    book.active.append(["area_id", "population"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rows = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (i, i) for i in range(1, 201))
    sheet = b'<worksheet xmlns="%s"><sheetData>%s</sheetData></worksheet>' % (main, rows)
    shared = b'<sst xmlns="%s" count="200" uniqueCount="1"><si><t>%s</t></si></sst>' % (main, b"x" * 2**20)
    path = _with_parts(
        plain,
        tmp_path / "population.xlsx",
        {"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": shared},
        rels=b'<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings"/>',
        types=b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/>',
    )
    assert path.stat().st_size < 100_000
    outcome = read_in_child("read_population", path)
    assert_refused(outcome, path, "would decode to at least 51.0 MB of text", "max_upload_bytes")


def test_an_xlsx_with_entity_declarations_is_refused(tmp_path):
    book = Workbook()
    book.active.append(["area_id", "population"])
    book.active.append(["A1", 5])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i + 1} "{f"&lol{i};" * 10 if i else "&lol;" * 10}">' for i in range(9))
        + "]>"
    )
    sheet = zipfile.ZipFile(plain).read("xl/worksheets/sheet1.xml")
    path = _with_parts(
        plain, tmp_path / "population.xlsx", {"xl/worksheets/sheet1.xml": laughs.encode() + sheet}
    )
    outcome = read_in_child("read_population", path)
    assert_refused(outcome, path, "declares a document type or entities")


def test_a_sheet_with_a_cell_at_row_one_million_is_refused_before_it_is_read(tmp_path):
    """One cell at row 1,000,000: pandas would build a million rows (here over a limit of 500,000)."""
    book = Workbook()
    book.active.append(["area_id", "population"])
    book.active.cell(row=1_000_000, column=1, value="A9")
    path = tmp_path / "population.xlsx"
    book.save(path)
    assert path.stat().st_size < 10_000
    outcome = read_in_child("read_population", path, max_features=500_000)
    assert_refused(outcome, path, "at least 999,999 rows, more than the limit of 500,000", "max_features")


# ------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------


def test_a_csv_of_150000_services_is_refused_before_it_is_parsed(tmp_path):
    """750,000 services took `analyze` over 12 minutes and 5.9 GB; a services file holds at most
    settings.max_services (100,000)."""
    path = tmp_path / "services.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("service_id,name,service_type,capacity,lat,lon\n")
        for i in range(150_000):
            out.write(f"S{i},Service {i},csw,10,42.{i % 1000:03d},20.{i % 997:03d}\n")
    outcome = read_in_child("read_services", path)
    assert_refused(outcome, path, "150,000 rows", "limit of 100,000", "max_services")


def test_a_csv_of_empty_lines_is_refused_by_its_line_count(tmp_path):
    path = tmp_path / "population.csv"
    path.write_bytes(b"area_id,population\n" + b"\n" * 3_000_000)
    outcome = read_in_child("read_population", path)
    assert_refused(outcome, path, "more than the limit of 2,000,000", "max_features")


def test_a_csv_of_too_many_cells_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "population.csv"
    header = "area_id,population," + ",".join(f"c{i}" for i in range(998)) + "\n"
    path.write_text(header + ("A," * 999 + "1\n") * 6_000, encoding="utf-8")
    outcome = read_in_child("read_population", path)
    assert_refused(outcome, path, "6,000 rows of 1,000 columns", "max_cells")


# ------------------------------------------------------------------------------------------------
# Plan files
# ------------------------------------------------------------------------------------------------


def test_a_plan_xlsx_of_5000_edits_is_refused_before_it_is_read(tmp_path):
    """A 785 KB plan took 213 s, 1.3 GB and wrote 141 MB of errors; plans hold at most 1,000 edits (and
    5 MB, which a workbook of 50,000 edits passes unpacked)."""
    book = Workbook()
    book.active.append(["action", "service_id", "service_type", "capacity", "lon", "lat"])
    for i in range(5_000):
        book.active.append(["explode", f"S{i}", "csw", "many", "east", "north"])
    path = tmp_path / "plan.xlsx"
    book.save(path)
    outcome = read_in_child("read_scenario", path)
    assert_refused(outcome, path, "at least 1,001 rows", "limit of 1,000", "max_plan_edits", "stopped")


def test_a_plan_larger_than_its_size_limit_is_refused(tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text("action,service_id\n" + "remove," + "x" * (6 * 2**20) + "\n", encoding="utf-8")
    outcome = read_in_child("read_scenario", path)
    assert_refused(outcome, path, "6.0 MB", "limit of 5.0 MB", "max_plan_bytes")


# ------------------------------------------------------------------------------------------------
# Taxonomy YAML
# ------------------------------------------------------------------------------------------------

#: Nine levels of ten aliases: a billion "lol"s in 800 bytes.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BILLION_LAUGHS, "more than 100,000 YAML nodes once its aliases"),
        ("service_types: &loop\n  csw: [*loop]\n", "the alias *loop refers to a node that contains it"),
        ("sources: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 deep"),
        ("sources:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)), "nested more than 32 deep"),
    ],
    ids=["billion-laughs", "self-reference", "5000-deep-lists", "200-deep-mappings"],
)
def test_taxonomy_yaml_bombs_are_refused_before_they_are_built(tmp_path, text, needle):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = read_in_child("load_taxonomy", path)
    assert outcome["type"] == "TaxonomyError"
    assert_refused(outcome, path, needle)


def test_a_taxonomy_file_larger_than_its_limit_is_refused_unread(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("# " + "x" * (2 * 2**20) + "\n", encoding="utf-8")
    outcome = read_in_child("load_taxonomy", path)
    assert_refused(outcome, path, "2,097,155 bytes", "max_taxonomy_bytes")


def test_the_child_can_read_an_honest_file(tmp_path):
    """The harness itself: a genuine file is read under the same memory limit."""
    outcome = read_in_child("read_services", REPO / "data" / "services" / "kosovo_services.csv")
    assert outcome["error"] is None and outcome["seconds"] < REFUSE_S
