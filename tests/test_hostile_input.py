"""Hostile and broken input: zip slip, zip bombs, size and feature caps, script in names, control
characters, interrupted writes, and byte-identical outputs.

Planners upload whatever their spreadsheet produced; a published map must never carry someone's script,
a crafted archive must not write outside its scratch folder, and an interrupted export must never leave a
half-written file over a good one.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import io as _stdio
import itertools
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import Workbook
from shapely.geometry import Point, box

from socialmap import i18n, io, settings
from socialmap.errors import DataSourceError, ValidationError
from socialmap.validate import validate_file

REPO = Path(__file__).resolve().parents[1]
HEADER = "service_id,name,service_type,capacity,lat,lon\n"


def areas_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["A1", "A2"], "name": ["Westfield", "Eastfield"]},
        geometry=[box(20.0, 42.0, 20.1, 42.1), box(20.1, 42.0, 20.2, 42.1)],
        crs="EPSG:4326",
    )


def shapefile_parts(folder: Path, name: str = "areas") -> dict[str, bytes]:
    """The bytes of each file of a small valid Shapefile, keyed by suffix."""
    scratch = folder / f"_{name}_parts"
    scratch.mkdir()
    areas_gdf().to_file(scratch / f"{name}.shp")
    parts = {p.suffix: p.read_bytes() for p in scratch.iterdir()}
    shutil.rmtree(scratch)
    return parts


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.fixture
def scratch_tmp(tmp_path, monkeypatch) -> Path:
    """Point the process's temporary folder at an empty folder, to see what the loaders leave there."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def nothing_unpacked(monkeypatch) -> None:
    """Fail the test if anything is unpacked from a ZIP (opening a member to read is the first step)."""
    original = zipfile.ZipFile.open

    def open_for_writing_only(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            raise AssertionError("a ZIP member was opened: the archive should have been refused before")
        return original(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_for_writing_only)


def every_file(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ------------------------------------------------------------------------------------------------
# Zip slip: member names that climb out of the archive
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    ["../../", "../", "ok/../../", "/tmp/", "/", "..\\..\\", "C:\\Windows\\", "C:/"],
    ids=[
        "up-two",
        "up-one",
        "down-then-up",
        "absolute-tmp",
        "absolute-root",
        "backslashes",
        "drive",
        "drive2",
    ],
)
def test_zip_slip_names_are_refused_and_nothing_is_written(tmp_path, monkeypatch, scratch_tmp, prefix):
    parts = shapefile_parts(tmp_path)
    upload = tmp_path / "upload"
    inner = upload / "a" / "b"
    inner.mkdir(parents=True)
    archive = write_zip(
        upload / "areas.zip", {f"{prefix}evil{suffix}": data for suffix, data in parts.items()}
    )
    monkeypatch.chdir(inner)  # a relative '../../evil.shp' would land in `upload`
    before = every_file(tmp_path)
    outside = [Path("/tmp/evil.shp"), Path("/evil.shp")]
    existed = [p.exists() for p in outside]
    with pytest.raises(DataSourceError) as info:
        io.read_areas(archive)
    message = str(info.value)
    assert str(archive) in message
    assert "climb out of the archive" in message and "Nothing was unpacked" in message
    assert "evil.shp" in message and "Fix:" in message
    assert every_file(tmp_path) == before
    assert [p.exists() for p in outside] == existed
    assert every_file(scratch_tmp) == []


def test_one_bad_name_refuses_the_whole_archive(tmp_path, nothing_unpacked):
    parts = shapefile_parts(tmp_path)
    members = {f"areas{suffix}": data for suffix, data in parts.items()}
    members["../../../home/someone/.bashrc"] = b"echo pwned\n"
    archive = write_zip(tmp_path / "areas.zip", members)
    with pytest.raises(DataSourceError, match=r"climbs? out of the archive.*\.bashrc"):
        io.read_areas(archive)
    report = validate_file(archive, "areas")
    assert not report.ok and "climbs out of the archive" in report.problems[0].message
    assert report.problems[0].file == str(archive)


def test_a_zipped_shapefile_in_a_folder_is_still_read(tmp_path, scratch_tmp):
    """The guard refuses climbing names, not folders: 'areas/areas.shp' is how people zip."""
    parts = shapefile_parts(tmp_path)
    archive = write_zip(tmp_path / "areas.zip", {f"areas/areas{s}": d for s, d in parts.items()})
    assert io.read_areas(archive)["area_id"].tolist() == ["A1", "A2"]
    assert every_file(scratch_tmp) == []  # the scratch folder of the unpacked parts is gone


def test_a_shapefile_without_its_dbf_or_shx_says_which_part_is_missing(tmp_path):
    parts = shapefile_parts(tmp_path)
    archive = write_zip(tmp_path / "areas.zip", {f"areas{s}": d for s, d in parts.items() if s != ".dbf"})
    with pytest.raises(DataSourceError, match=r"lacks the attribute table \(\.dbf\)"):
        io.read_areas(archive)
    archive = write_zip(
        tmp_path / "areas.zip", {f"areas{s}": d for s, d in parts.items() if s not in (".shx", ".dbf")}
    )
    with pytest.raises(DataSourceError, match=r"lacks the index \(\.shx\) and the attribute table"):
        io.read_areas(archive)


# ------------------------------------------------------------------------------------------------
# Zip bombs
# ------------------------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_from_its_directory_before_unpacking(tmp_path, nothing_unpacked, scratch_tmp):
    """About 60 KB packed, 60 MB unpacked: more than the default cap of 50 MB."""
    assert settings.max_upload_bytes == 50 * 1024 * 1024
    archive = write_zip(tmp_path / "bomb.zip", {"areas.shp": b"\0" * (60 * 1024 * 1024), "areas.dbf": b""})
    assert archive.stat().st_size < 200_000
    with pytest.raises(DataSourceError) as info:
        io.read_areas(archive)
    message = str(info.value)
    assert f"{archive} unpacked is 60.0 MB, more than the limit of 50.0 MB" in message
    assert "max_upload_bytes" in message
    assert every_file(scratch_tmp) == []


def test_a_member_packed_too_tightly_is_refused_as_a_zip_bomb(tmp_path, nothing_unpacked):
    """Under the size cap, but packed over 200 times: refused, with a message that says why."""
    archive = write_zip(tmp_path / "bomb.zip", {"areas.shp": b"\0" * (5 * 1024 * 1024)})
    with pytest.raises(
        DataSourceError, match="refused as a possible zip bomb: 'areas.shp' would unpack from"
    ):
        io.read_areas(archive)


def test_many_bombs_sharing_one_payload_are_counted_by_their_declared_sizes(tmp_path, nothing_unpacked):
    """Overlapping members (each entry of the directory points at the same data) add up in the check."""
    members = {f"part{i}.txt": b"\0" * (1024 * 1024) for i in range(60)}
    archive = write_zip(tmp_path / "bomb.zip", members)
    with pytest.raises(DataSourceError, match="unpacked is 60.0 MB"):
        io.read_areas(archive)


def _lie_about_size(archive: Path, member: str, declared: int) -> None:
    """Rewrite a member's unpacked size in the ZIP's local header and directory (a crafted archive)."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info, entry = z.getinfo(member), z.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, declared)  # the local file header
    while data[entry : entry + 4] == b"PK\x01\x02":  # the central directory, entry by entry
        name, extra, comment = struct.unpack_from("<HHH", data, entry + 28)
        if data[entry + 46 : entry + 46 + name] == member.encode():
            struct.pack_into("<I", data, entry + 24, declared)
        entry += 46 + name + extra + comment
    archive.write_bytes(bytes(data))


def test_a_zip_that_lies_about_its_sizes_unpacks_no_more_than_it_declares(tmp_path, monkeypatch):
    parts = shapefile_parts(tmp_path)
    members = {f"areas{s}": d for s, d in parts.items()}
    members["areas.shp"] = parts[".shp"] + b"\0" * (8 * 1024 * 1024)  # 8 MB more than declared
    archive = write_zip(tmp_path / "liar.zip", members)
    _lie_about_size(archive, "areas.shp", len(parts[".shp"]))
    with zipfile.ZipFile(archive) as z:
        assert sum(i.file_size for i in z.infolist()) < 10_000  # the directory passes every check
    written: list[int] = []
    copy = shutil.copyfileobj

    def counting(source, target, length=0):
        start = target.tell()
        try:
            copy(source, target, length)
        finally:
            written.append(target.tell() - start)

    monkeypatch.setattr(shutil, "copyfileobj", counting)
    with pytest.raises(DataSourceError, match=r"liar.zip cannot be read as zipped Shapefile: Bad CRC-32"):
        io.read_areas(archive)
    assert max(written) <= len(parts[".shp"])


def test_an_xlsx_bomb_is_refused_before_openpyxl_reads_it(tmp_path, monkeypatch):
    """An XLSX is a ZIP: its unpacked size is checked too."""
    book = Workbook()
    book.active.append(["area_id", "population"])
    book.active.append(["A1", 10])
    buffer = _stdio.BytesIO()
    book.save(buffer)
    path = tmp_path / "population.xlsx"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("xl/media/padding.bin", b"\0" * (60 * 1024 * 1024))
    with pytest.raises(DataSourceError, match="population.xlsx unpacked is 60.0 MB"):
        io.read_population(path)


# ------------------------------------------------------------------------------------------------
# Size and feature caps
# ------------------------------------------------------------------------------------------------


def test_size_cap_message_names_the_file_the_size_and_the_setting(tmp_path, monkeypatch):
    path = tmp_path / "services.csv"
    path.write_text(HEADER + "S1,One,csw,10,42.05,20.05\n" * 200)
    monkeypatch.setattr(settings, "max_upload_bytes", 1024)
    with pytest.raises(DataSourceError) as info:
        io.read_services(path)
    message = str(info.value)
    assert message.startswith(f"{path} is ")
    assert "more than the limit of 1,024 bytes (`socialmap.settings.max_upload_bytes`)" in message
    assert "raise `socialmap.settings.max_upload_bytes`" in message


@pytest.mark.parametrize("fmt", ["csv", "geojson", "zip", "xlsx", "gpkg"])
def test_feature_cap_message_for_every_format(tmp_path, monkeypatch, fmt):
    rows = [(f"S{i}", f"Service {i}", "csw", 10.0, 42.05, 20.05) for i in range(5)]
    gdf = gpd.GeoDataFrame(
        [r[:4] for r in rows],
        columns=["service_id", "name", "service_type", "capacity"],
        geometry=[Point(r[5], r[4]) for r in rows],
        crs="EPSG:4326",
    )
    path = tmp_path / f"services.{fmt}"
    if fmt == "csv":
        path.write_text(HEADER + "".join(",".join(map(str, r)) + "\n" for r in rows))
    elif fmt == "xlsx":
        book = Workbook()
        book.active.append(HEADER.strip().split(","))
        for row in rows:
            book.active.append(list(row))
        book.save(path)
    elif fmt == "zip":  # a zipped GeoJSON (a Shapefile would cut the names to 10 characters)
        gdf.to_file(tmp_path / "services.geojson")
        with zipfile.ZipFile(path, "w") as z:
            z.write(tmp_path / "services.geojson", "services/services.geojson")
    else:
        gdf.to_file(path)
    monkeypatch.setattr(settings, "max_features", 4)
    with pytest.raises(DataSourceError) as info:
        io.read_services(path)
    message = str(info.value)
    assert str(path) in message
    # An XLSX sheet is refused while it is scanned, as soon as it passes the limit.
    expected = "has at least 5 rows," if fmt == "xlsx" else "has 5 rows or features,"
    assert f"{expected} more than the limit of 4 (`socialmap.settings.max_features`)" in message
    monkeypatch.setattr(settings, "max_features", 5)
    assert len(io.read_services(path)) == 5


# ------------------------------------------------------------------------------------------------
# Script in names, control characters
# ------------------------------------------------------------------------------------------------

SCRIPTS = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    '=HYPERLINK("http://evil.example","Click")',
    "Qendra &amp; <b>Ditore</b>",
]


def test_html_and_script_in_names_are_kept_as_text(tmp_path):
    """Escaping is done where text is rendered (maps, reports); the loader keeps the text as it is."""
    lines = [
        f'S{i},"{name.replace(chr(34), chr(34) * 2)}",csw,10,42.05,20.05' for i, name in enumerate(SCRIPTS)
    ]
    path = tmp_path / "services.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        services = io.read_services(path)
    assert services["name"].tolist() == SCRIPTS
    gdf = areas_gdf().assign(name=SCRIPTS[:2])
    gdf.to_file(tmp_path / "areas.geojson")
    assert io.read_areas(tmp_path / "areas.geojson")["name"].tolist() == SCRIPTS[:2]


def test_control_characters_are_stripped_with_a_warning(tmp_path):
    path = tmp_path / "services.csv"
    path.write_text(
        HEADER + 'S1,"Day\x07care\x1b[31m centre",csw,10,42.05,20.05\nS2,"Two\u0085lines",csw,5,42.05,20.05\n'
    )
    with pytest.warns(UserWarning) as caught:
        services = io.read_services(path)
    assert services["name"].tolist() == ["Daycare[31m centre", "Twolines"]
    (warning,) = caught
    text = str(warning.message)
    assert text.startswith(str(path)) and "Removed control characters" in text and "rows 2, 3" in text


def test_nul_bytes_are_removed_with_a_warning(tmp_path):
    path = tmp_path / "services.csv"
    path.write_bytes((HEADER + "S1,Day\x00care,csw,10,42.05,20.05\n").encode())
    with pytest.warns(UserWarning, match=r"Removed 1 NUL character"):
        services = io.read_services(path)
    assert services["name"].tolist() == ["Daycare"]


def test_control_characters_in_column_names_are_stripped_with_a_warning(tmp_path):
    gdf = areas_gdf().rename(columns={"name": "na\x1bme"})
    gdf.to_file(tmp_path / "areas.geojson")
    with pytest.warns(UserWarning, match="from 1 column name"):
        areas = io.read_areas(tmp_path / "areas.geojson")
    assert list(areas.columns) == ["area_id", "name", "geometry"]


def test_repeated_csv_headers_are_reported_not_renamed(tmp_path):
    """pandas would read the second 'capacity' as 'capacity.1' and hide the mistake."""
    path = tmp_path / "services.csv"
    path.write_text("service_id,name,service_type,capacity,capacity,lat,lon\nS1,One,csw,10,99,42.05,20.05\n")
    with pytest.raises(ValidationError, match="Two or more columns are named 'capacity'"):
        io.read_services(path)


def test_a_row_longer_than_the_header_is_an_error_not_a_shifted_row(tmp_path):
    """pandas would take the first column as the index and shift every value one column left."""
    path = tmp_path / "services.csv"
    path.write_text(HEADER + "S1,One,csw,10,42.05,20.05,extra\n")
    with pytest.raises(DataSourceError, match="Expected 6 fields in line 2, saw 7"):
        io.read_services(path)


def test_infinite_and_absurd_numbers_are_errors(tmp_path):
    path = tmp_path / "services.csv"
    path.write_text(HEADER + "S1,One,csw,1e999,42.05,20.05\nS2,Two,csw,1e300,42.05,20.05\n")
    with pytest.raises(ValidationError) as info:
        io.read_services(path)
    messages = [p.message for p in info.value.errors]
    assert messages == [
        "'1e999' in 'capacity' is not a number.",
        "'1e300' in 'capacity' is too large to be a count of persons (1e+300).",
    ]


# ------------------------------------------------------------------------------------------------
# Interrupted writes
# ------------------------------------------------------------------------------------------------


def _old_file(folder: Path) -> tuple[Path, bytes]:
    target = folder / "gaps.csv"
    old = b"area_id,gap_score\nA1,12.5\n"
    target.write_bytes(old)
    return target, old


@pytest.mark.parametrize("interrupt", [RuntimeError("disk full"), KeyboardInterrupt()], ids=repr)
def test_a_write_interrupted_midway_leaves_the_old_file_and_no_temporary(tmp_path, interrupt):
    target, old = _old_file(tmp_path)

    def writer(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.write(b"area_id,gap_score\n")
            handle.flush()
            raise interrupt

    with pytest.raises(type(interrupt)):
        io.write_atomic(target, writer)
    assert target.read_bytes() == old
    assert every_file(tmp_path) == ["gaps.csv"]


def test_a_geopackage_export_interrupted_midway_leaves_the_old_file(tmp_path):
    target = tmp_path / "areas.gpkg"
    io.write_atomic(target, lambda p: areas_gdf().to_file(p))
    old = target.read_bytes()

    def writer(path: Path) -> None:
        areas_gdf().iloc[:1].to_file(path)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        io.write_atomic(target, writer)
    assert target.read_bytes() == old
    assert every_file(tmp_path) == ["areas.gpkg"]


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from socialmap import io

    def slow(path: Path) -> None:
        with open(path, "w") as handle:
            for i in range(10_000):
                handle.write(f"A{i},{i}\\n")
                handle.flush()
                time.sleep(0.01)

    io.write_atomic(sys.argv[1], slow)
    """
)


def _start_writer(target: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(target)], cwd=REPO, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.name == target.name for p in target.parent.glob(".*.tmp/*")):
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "the child never started writing"
        time.sleep(0.02)
    time.sleep(0.1)  # let it write a few lines
    return child


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_real_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target, old = _old_file(tmp_path)
    child = _start_writer(target)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0 and b"KeyboardInterrupt" in err
    assert target.read_bytes() == old
    assert every_file(tmp_path) == ["gaps.csv"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_killed_writer_leaves_the_old_file_whole_and_the_next_write_cleans_up(tmp_path):
    """SIGKILL gives no chance to clean up: the old file is still whole and a hidden scratch folder named
    with the writer's process id is left; the next write of the file removes it (its process is gone)."""
    target, old = _old_file(tmp_path)
    child = _start_writer(target)
    child.kill()
    child.communicate(timeout=60)
    assert target.read_bytes() == old
    leftovers = [p for p in tmp_path.iterdir() if p.name != "gaps.csv"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(f".gaps.csv.{child.pid}.")
    assert leftovers[0].name.endswith(".tmp")
    io.write_atomic(target, lambda p: p.write_text("new\n"))
    assert target.read_text() == "new\n"
    assert every_file(tmp_path) == ["gaps.csv"]


def test_scratch_folders_of_live_writers_and_other_files_are_left_alone(tmp_path):
    target, _ = _old_file(tmp_path)
    mine = tmp_path / f".gaps.csv.{os.getpid()}.abcdefgh.tmp"  # a write of this process, under way
    other = tmp_path / ".other.csv.1.abcdefgh.tmp"  # another file's
    user = tmp_path / ".gaps.csv.notes"  # not a scratch folder at all
    for folder in (mine, other, user):
        folder.mkdir()
    dead = tmp_path / ".gaps.csv.abcdefgh.tmp"  # the old naming, without a process id: left a day ago
    dead.mkdir()
    os.utime(dead, (time.time() - 2 * 86400,) * 2)
    io.write_atomic(target, lambda p: p.write_text("new\n"))
    assert every_file(tmp_path) == sorted(["gaps.csv", mine.name, other.name, user.name])


def test_write_atomic_with_a_very_long_file_name(tmp_path):
    target = tmp_path / ("g" * 250 + ".csv")
    io.write_atomic(target, lambda p: p.write_text("x\n"))
    assert target.read_text() == "x\n"
    assert every_file(tmp_path) == [target.name]


# ------------------------------------------------------------------------------------------------
# Determinism
# ------------------------------------------------------------------------------------------------


DEMO_SERVICES = REPO / "data" / "services" / "kosovo_services.csv"


def _read_demo_services() -> gpd.GeoDataFrame:
    with pytest.warns(UserWarning, match="'capacity' is empty in 38 row"):  # the demo's unknown capacities
        return io.read_services(DEMO_SERVICES)


def test_reading_and_writing_the_same_csv_twice_is_byte_identical(tmp_path):
    outputs = []
    for run in range(2):
        services = _read_demo_services()
        out = tmp_path / f"run{run}.csv"
        io.write_atomic(out, lambda p, frame=services: frame.to_csv(p, index=False))
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == len(services) + 1 > 10


_OUTPUTS = textwrap.dedent(
    """
    import sys, warnings
    from pathlib import Path
    import socialmap
    from socialmap import i18n, io, settings

    out = Path(sys.argv[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the demo's unknown capacities (checked in-process)
        services = io.read_services(sys.argv[2])
    io.write_atomic(out / "services.csv", lambda p: services.to_csv(p, index=False))
    table = socialmap.analyze(demo="kosovo", method="coverage").table
    io.write_atomic(out / "table.csv", lambda p: table.to_csv(p, index=False))
    write_every_format(out)
    print(i18n.output_datetime().isoformat())
    """
)


def write_every_format(out: Path) -> None:
    """Write every output format of one small analysis into ``out`` (run in a child, and in-process)."""
    import socialmap
    from socialmap import export, maps, report, static
    from socialmap.costing import places_and_budget
    from socialmap.pipeline import AnalysisConfig
    from socialmap.scenario import Scenario, new_service, run_scenario

    config = AnalysisConfig(spreading="representative", service_types=("csw", "day_care_disability"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the demo's unknown capacities, small counts hidden
        res = socialmap.analyze(demo="kosovo", config=config)
        for suffix in ("csv", "xlsx", "gpkg", "geojson"):
            export.export_table(res, out / f"table.{suffix}")
        export.write_result(res, out / "result")  # areas.gpkg, areas.csv, map.html, provenance.json
        figure = static.gap_map(res)
        for suffix in ("png", "svg", "pdf"):
            static.save_figure(figure, out / f"map.{suffix}")
        report.brief(res, path=out / "brief.pdf")
        maps.save_map(maps.choropleth_map(res.areas, "composite_gap"), out / "choropleth.html")
        places_and_budget(res, standards={"csw": 0.5}, unit_costs={"csw": 9000}).write(out / "costing.xlsx")
        plan = Scenario("one more").add(
            new_service("day_care_disability", (20.65, 42.40), crs="EPSG:4326", capacity=30, service_id="n1")
        )
        run_scenario({"demo": "kosovo"}, plan, config, base=res).comparison.write(out / "scenario.xlsx")


_OUTPUTS = _OUTPUTS.replace(
    "write_every_format(out)",
    textwrap.dedent(inspect.getsource(write_every_format)) + "\nwrite_every_format(out)",
)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


#: 2023-11-14 22:13:20 UTC
EPOCH = "1700000000"


def test_outputs_are_byte_identical_across_runs_with_different_hash_seeds(tmp_path):
    """Two processes with different string hashing (so any set or dict-of-set iteration would differ)
    and SOURCE_DATE_EPOCH set: the demo analysis table, a CSV read and written back, and every output
    format (CSV, XLSX, GeoPackage, GeoJSON, PNG, SVG, PDF maps and briefs, map.html, the costing and
    scenario workbooks) come out byte for byte the same, and carry that date."""
    outputs = {}
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        out.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "SOURCE_DATE_EPOCH": EPOCH}
        done = subprocess.run(
            [sys.executable, "-c", _OUTPUTS, str(out), str(DEMO_SERVICES)],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        assert done.stdout.decode().split()[-1] == "2023-11-14T22:13:20+00:00"
        outputs[hash_seed] = _files(out)
    assert outputs["1"].keys() == outputs["2"].keys()
    different = [name for name in outputs["1"] if outputs["1"][name] != outputs["2"][name]]
    assert different == []
    files = outputs["1"]
    assert {"table.xlsx", "table.gpkg", "map.pdf", "map.svg", "brief.pdf", "choropleth.html"} <= set(files)
    assert {"result/map.html", "result/areas.gpkg", "costing.xlsx", "scenario.xlsx"} <= set(files)
    table = files["table.csv"]
    assert files["table.csv"].count(b"\n") > 38
    assert files["services.csv"].count(b"\n") > 38 and table
    _assert_dated(tmp_path / "run1", "2023-11-14T22:13:20")


def _assert_dated(folder: Path, stamp: str) -> None:
    """Every format's own date fields carry ``stamp`` (ISO, UTC, to the second)."""
    import sqlite3

    compact = stamp.replace("-", "").replace(":", "").replace("T", "")
    for name in ("table.xlsx", "costing.xlsx", "scenario.xlsx"):
        with zipfile.ZipFile(folder / name) as book:
            core = book.read("docProps/core.xml").decode()
            assert core.count(f">{stamp}Z<") == 2, (name, core)  # created and modified
            assert {i.date_time for i in book.infolist()} == {
                tuple(int(x) for x in (stamp[:4], stamp[5:7], stamp[8:10], stamp[11:13], stamp[14:16]))
                + (int(stamp[17:19]) // 2 * 2,)
            }
    for name in ("table.gpkg", "result/areas.gpkg"):
        with contextlib.closing(sqlite3.connect(folder / name)) as db:
            changes = {row[0] for row in db.execute("SELECT last_change FROM gpkg_contents")}
        assert changes == {f"{stamp}.000Z"}, (name, changes)
    for name in ("map.pdf", "brief.pdf"):
        data = (folder / name).read_bytes()
        assert f"/CreationDate (D:{compact}".encode() in data, name
        assert b"D:20000101" not in data
    assert f"<dc:date>{stamp}Z</dc:date>" in (folder / "map.svg").read_text(encoding="utf-8")


def test_every_format_written_twice_in_one_process_is_byte_identical(tmp_path):
    """Without SOURCE_DATE_EPOCH: the outputs carry today's date at 00:00 UTC (never the time of
    saving, nor random ids), so two writes two seconds apart are the same, byte for byte."""
    from socialmap import i18n

    for _attempt in range(2):  # a second try only if midnight passed during the first
        day = i18n.output_datetime()
        runs = []
        for run in range(2):
            out = tmp_path / f"try{_attempt}" / f"run{run}"
            out.mkdir(parents=True)
            write_every_format(out)
            runs.append(_files(out))
            time.sleep(2.1)  # a new second, and a new two-second ZIP time, for anything stamped "now"
        if i18n.output_datetime() == day:
            break
    assert [name for name in runs[0] if runs[0][name] != runs[1][name]] == []
    assert day.hour == day.minute == day.second == 0
    _assert_dated(out.parent / "run0", day.strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_visible_date_follows_source_date_epoch(monkeypatch):
    from socialmap.i18n import format_date

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert format_date(None, "en") == "Nov 14, 2023"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    monkeypatch.setattr(settings, "output_date", "2024-03-01")
    assert format_date(None, "en") == "Mar 1, 2024"


def test_a_malformed_source_date_epoch_is_a_clear_error(monkeypatch):
    from socialmap.errors import SocialMapError

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(SocialMapError, match="SOURCE_DATE_EPOCH='yesterday' is not a number of seconds"):
        i18n.output_datetime()


def test_a_zip_is_read_the_same_whatever_the_order_of_its_members(tmp_path):
    parts = shapefile_parts(tmp_path)
    forward = write_zip(tmp_path / "a.zip", {f"areas{s}": parts[s] for s in sorted(parts)})
    backward = write_zip(tmp_path / "b.zip", {f"areas{s}": parts[s] for s in sorted(parts, reverse=True)})
    a, b = io.read_areas(forward), io.read_areas(backward)
    assert a.to_json() == b.to_json()


# ------------------------------------------------------------------------------------------------
# Thousands separators in counts (population, capacity): never silently divided by 1,000
# ------------------------------------------------------------------------------------------------


def _read(loader, path, **options):
    """Call a loader; return (frame, the text of its one warning or "")."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = loader(path, **options)
    assert len(caught) <= 1, [str(w.message) for w in caught]
    return frame, str(caught[0].message) if caught else ""


def test_dot_grouped_population_in_a_comma_separated_csv_is_read_as_thousands(tmp_path):
    """How Albanian and Serbian spreadsheets write 27,775 persons: '27.775'."""
    path = tmp_path / "population.csv"
    path.write_text("area_id,population\nA1,27.775\nA2,1.200\nA3,950\n", encoding="utf-8")
    population, warning = _read(io.read_population, path)
    assert population["population"].tolist() == [27775.0, 1200.0, 950.0]
    assert "'27.775'" in warning and "read as thousands" in warning and "rows 2, 3" in warning


def test_dot_grouped_capacity_is_read_as_thousands_with_a_warning(tmp_path):
    path = tmp_path / "services.csv"
    path.write_text(HEADER + "S1,One,csw,1.000,42.05,20.05\nS2,Two,csw,12,42.06,20.06\n", encoding="utf-8")
    services, warning = _read(io.read_services, path)
    assert services["capacity"].tolist() == [1000.0, 12.0]
    assert "'1.000'" in warning and "1,000" in warning


def test_a_semicolon_csv_with_decimal_commas_follows_its_convention(tmp_path):
    """In a ';'-separated file '.' groups thousands (no warning needed); a comma followed by three digits
    in a count is read as thousands too, with a warning (counts are whole)."""
    path = tmp_path / "population.csv"
    path.write_text("area_id;population\nA1;27.775\nA2;1.234.567\nA3;950\n", encoding="utf-8")
    population, warning = _read(io.read_population, path)
    assert population["population"].tolist() == [27775.0, 1234567.0, 950.0] and warning == ""
    path.write_text("area_id;population\nA1;27,775\nA2;950\n", encoding="utf-8")
    population, warning = _read(io.read_population, path)
    assert population["population"].tolist() == [27775.0, 950.0]
    assert "'27,775'" in warning and "read as thousands" in warning


def test_a_count_column_that_also_has_decimals_is_refused_as_ambiguous(tmp_path):
    path = tmp_path / "population.csv"
    path.write_text("area_id,population\nA1,27.775\nA2,12.5\nA3,1.250\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        io.read_population(path)
    errors = info.value.errors
    assert [(p.row, p.column) for p in errors] == [(2, "population"), (4, "population")]
    assert "'27.775' in 'population' is ambiguous" in errors[0].message and "27,775" in errors[0].message
    assert "without thousands separators" in errors[0].fix


def test_decimal_counts_and_coordinates_are_left_as_they_are(tmp_path):
    """'0.500' (a lone 0 before the mark) and '12.25' are decimals; coordinates never group thousands."""
    path = tmp_path / "population.csv"
    path.write_text("area_id,population\nA1,0.500\nA2,12.25\n", encoding="utf-8")
    population, _ = _read(io.read_population, path)
    assert population["population"].tolist() == [0.5, 12.25]
    path = tmp_path / "services.csv"
    path.write_text(HEADER + "S1,One,csw,5,42.055,20.125\n", encoding="utf-8")
    services, _ = _read(io.read_services, path)
    assert (services.geometry.iloc[0].x, services.geometry.iloc[0].y) == (20.125, 42.055)


def _workbook(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_excel_numbers_with_three_decimals_in_a_count_are_thousands(tmp_path):
    """A CSV of '27.775' opened in a program that takes '.' for the decimal point stores 27.775."""
    path = _workbook(tmp_path / "population.xlsx", [["area_id", "population"], ["A1", 27.775], ["A2", 500]])
    population, warning = _read(io.read_population, path)
    assert population["population"].tolist() == [27775.0, 500.0]
    assert "'27.775'" in warning and "read as thousands" in warning
    text = _workbook(tmp_path / "text.xlsx", [["area_id", "population"], ["A1", "27.775"], ["A2", "1,500"]])
    population, warning = _read(io.read_population, text)
    assert population["population"].tolist() == [27775.0, 1500.0]
    mixed = _workbook(tmp_path / "mixed.xlsx", [["area_id", "population"], ["A1", 27.775], ["A2", 2.5]])
    with pytest.raises(ValidationError, match="'27.775' in 'population' is ambiguous"):
        io.read_population(mixed)


def test_the_thousands_warning_and_error_are_translated(tmp_path):
    from socialmap.errors import render

    path = tmp_path / "population.csv"
    path.write_text("area_id,population\nA1,27.775\nA2,12.5\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        io.read_population(path)
    (problem,) = info.value.errors
    for lang in ("sq", "sr"):
        text, fix = render(problem.message, lang), render(problem.fix, lang)
        assert "(27.775)" in text  # the count, written with the language's grouping
        assert text != problem.message and fix != problem.fix


# ------------------------------------------------------------------------------------------------
# Options: tiny grid cells, services with no places
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1e-20, 1e-6, 9.99])
def test_a_tiny_grid_cell_is_a_clear_error_in_the_options(size):
    """1e-20 used to overflow the cell count into a negative number and quietly become one point per area
    (while the provenance still said "grid"); 1e-6 was a traceback."""
    from socialmap.errors import SocialMapError
    from socialmap.pipeline import AnalysisConfig

    with pytest.raises(SocialMapError, match=r"smaller than 10 m \(`socialmap.settings.min_cell_size_m`\)"):
        AnalysisConfig(spreading="grid", cell_size_m=size)


def test_a_tiny_cell_given_straight_to_the_grid_is_counted_without_overflow():
    from socialmap.errors import SocialMapError
    from socialmap.needs import grid_from_areas

    areas = gpd.GeoDataFrame(
        {"area_id": ["a"], "population": [10.0]}, geometry=[box(0, 0, 1e4, 1e4)], crs="EPSG:32634"
    )
    with pytest.raises(SocialMapError, match=r"would need 1(,000){6} cells"):
        grid_from_areas(areas, columns="population", cell_size_m=1e-5)


@pytest.mark.parametrize("size", ["1e-20", "1e-6"])
def test_the_cli_refuses_a_tiny_cell_with_exit_2(tmp_path, size):
    done = subprocess.run(
        [sys.executable, "-m", "socialmap.cli", "analyze", "--demo", "kosovo", "--cell-size-m", size,
         "--out", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "smaller than 10 m" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


ZERO_PLACES_TAXONOMY = """
schema_version: 1
name: test
sources:
  def: {citation: "by definition"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
"""


def test_services_with_no_places_cover_no_one_in_distance_coverage(tmp_path):
    """30 day-care centres with 0 places at b's centre and one of unknown capacity at a's centre. The
    type used to switch to distance coverage, where the 30 empty centres covered b (gap 34.6 % with no
    places at all). Now 2SFCA scores on the known capacities (all 0): no supply, gap 100 everywhere; and
    in the coverage columns only the unknown one may count. Demand at the centres (a 1,000, b 3,000,
    c 0, d 2,000 residents); catchment 6 km, so a's centre reaches only a (b's centre is 10 km away):
    covered a 100 %, b and d 0 %; national 1,000 of 6,000."""
    from worlds import CRS, square_areas, square_population, taxonomy_from_text

    import socialmap

    services = gpd.GeoDataFrame(
        {
            "service_id": [f"z{i}" for i in range(30)] + ["u"],
            "name": [f"Zero {i}" for i in range(30)] + ["Unknown"],
            "service_type": "day",
            "capacity": [0.0] * 30 + [float("nan")],
        },
        geometry=[Point(15000, 5000)] * 30 + [Point(5000, 5000)],
        crs=CRS,
    )
    res = socialmap.analyze(
        square_areas(),
        services,
        square_population(),
        taxonomy=taxonomy_from_text(tmp_path, ZERO_PLACES_TAXONOMY),
        spreading="representative",
        catchment_m=6000,
        crs=CRS,
    )
    table = res.table.set_index("area_id")
    assert set(table["method"]) == {"2sfca"}
    assert table.loc[["a", "b", "d"], "supply"].tolist() == [0.0, 0.0, 0.0]
    assert table.loc[["a", "b", "d"], "gap_score"].tolist() == [100.0, 100.0, 100.0]
    assert table.loc[["a", "b", "d"], "covered_share"].tolist() == [1.0, 0.0, 0.0]
    assert table.loc["b", "services"] == 30  # still counted as services, with no places
    covered = (res.demand["need"] * res.demand["covered"]).sum()
    assert covered == pytest.approx(1000.0)


def test_distance_coverage_leaves_out_services_with_no_places():
    from socialmap.access import distance_coverage

    demand = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 5000], [0, 0]), crs="EPSG:32634")
    supply = gpd.GeoDataFrame(
        {"capacity": [0.0, float("nan"), 3.0]},
        geometry=gpd.points_from_xy([0, 5000, 9000], [0, 0, 0]),
        crs="EPSG:32634",
    )
    cov = distance_coverage(demand, supply, catchment_m=1000)
    assert cov["covered"].tolist() == [False, True]
    assert cov["n_services"].tolist() == [0, 1]
    assert cov["nearest_m"].tolist() == [5000.0, 0.0]
    plain = distance_coverage(demand, supply[["geometry"]], catchment_m=1000)  # no capacity: every site
    assert plain["covered"].tolist() == [True, True]


# ------------------------------------------------------------------------------------------------
# Faults: full disks, read-only folders, folders as files, unwritable caches, slow servers
# ------------------------------------------------------------------------------------------------


def test_write_atomic_does_not_copy_setuid_setgid_or_sticky_bits(tmp_path):
    target, _ = _old_file(tmp_path)
    os.chmod(target, 0o7755)
    assert target.stat().st_mode & 0o7000  # the system let us set them (it does for the owner)
    io.write_atomic(target, lambda p: p.write_text("new\n"))
    assert target.stat().st_mode & 0o7777 == 0o755


def test_a_full_disk_is_a_clear_error_and_leaves_the_old_file(tmp_path):
    from socialmap.errors import OutputError, message

    target, old = _old_file(tmp_path)

    def full(path: Path) -> None:
        path.write_bytes(b"area_id")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError) as info:
        io.write_atomic(target, full)
    assert str(target) in str(info.value) and "the disk is full" in str(info.value)
    assert isinstance(info.value, OSError)
    assert message(info.value, "sq") != str(info.value)
    assert target.read_bytes() == old and every_file(tmp_path) == ["gaps.csv"]


def test_a_read_only_folder_is_a_clear_error(tmp_path, monkeypatch):
    """Simulated (root may write anywhere): making the scratch folder is refused with EACCES."""
    from socialmap.errors import OutputError

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(OutputError, match="the folder is read-only, or you may not write there"):
        io.write_atomic(tmp_path / "gaps.csv", lambda p: p.write_text("x"))


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores permission bits")
def test_a_really_read_only_folder_is_a_clear_error(tmp_path):
    from socialmap.errors import OutputError

    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="the folder is read-only"):
            io.write_atomic(folder / "gaps.csv", lambda p: p.write_text("x"))
    finally:
        folder.chmod(0o755)


def test_an_output_path_that_is_a_folder_or_under_a_file_is_a_clear_error(tmp_path):
    from socialmap.errors import OutputError

    with pytest.raises(OutputError, match="is a folder, so no file can be written there"):
        io.write_atomic(tmp_path, lambda p: p.write_text("x"))
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"a part of its path .* is a file, not a folder"):
        io.write_atomic(tmp_path / "notes.txt" / "gaps.csv", lambda p: p.write_text("x"))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def _cli(*args: str, env: dict | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    """Run the command line (``code``: Python run first in the child, e.g. to simulate a fault)."""
    run = "import sys\nfrom socialmap.cli import main\nsys.argv[1:] = sys.argv[2:]\nmain()"
    prelude = (code or "") + "\n" + run
    return subprocess.run(
        [sys.executable, "-c", prelude, "socialmap", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _assert_clean_failure(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    for needle in needles:
        assert needle in done.stderr, done.stderr[-2000:]


def test_cli_a_full_disk_exits_2_with_a_message(tmp_path):
    full = (
        "import errno, os\n"
        "def full(fd): raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "os.fsync = full"
    )
    out = tmp_path / "table.csv"
    done = _cli("export", "--demo", "kosovo", "--out", str(out), code=full)
    _assert_clean_failure(done, f"{out} cannot be written: the disk is full")
    assert every_file(tmp_path) == []


def test_cli_a_read_only_folder_exits_2_with_a_message(tmp_path):
    denied = (
        "import errno, tempfile\n"
        "def denied(*a, **k): raise PermissionError(errno.EROFS, 'Read-only file system')\n"
        "tempfile.mkdtemp = denied"
    )
    done = _cli("map", "--demo", "kosovo", "--out", str(tmp_path / "map.png"), code=denied)
    _assert_clean_failure(done, "the folder is read-only, or you may not write there (Read-only file system)")


def test_cli_an_output_path_that_is_a_folder_exits_2(tmp_path):
    (tmp_path / "report.pdf").mkdir()
    done = _cli("brief", "--demo", "kosovo", "--out", str(tmp_path / "report.pdf"))
    _assert_clean_failure(done, "is a folder, so no file can be written there")
    (tmp_path / "file").write_text("x")
    done = _cli("analyze", "--demo", "kosovo", "--out", str(tmp_path / "file"))
    _assert_clean_failure(done, "cannot be read or written")


def test_cli_an_unwritable_cache_exits_2_with_the_setting_to_change(tmp_path):
    (tmp_path / "file").write_text("x")
    done = _cli("fetch-boundaries", "XKX", env={"SOCIALMAP_CACHE_DIR": str(tmp_path / "file" / "cache")})
    _assert_clean_failure(done, "The cache folder", "cannot be written", "SOCIALMAP_CACHE_DIR")


@pytest.mark.parametrize("kind", ["csv-without-coordinates", "png", "folder", "polygons", "missing"])
def test_cli_candidates_of_the_wrong_kind_exit_2(tmp_path, kind):
    path = {
        "csv-without-coordinates": tmp_path / "sites.csv",
        "png": tmp_path / "sites.png",
        "folder": tmp_path,
        "polygons": REPO / "data" / "boundaries" / "kosovo_municipalities.geojson",
        "missing": tmp_path / "none.geojson",
    }[kind]
    (tmp_path / "sites.csv").write_text("a,b\n1,2\n")
    (tmp_path / "sites.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    done = _cli(
        "optimise", "--demo", "kosovo", "--service-type", "day_care_disability", "--k", "1",
        "--cell-size-m", "5000", "--candidates", str(path),
    )  # fmt: skip
    needle = {
        "csv-without-coordinates": "holds no points",
        "png": "cannot tell the format from the ending '.png'",
        "folder": "is a folder, not a file",
        "polygons": "must hold points",
        "missing": "does not exist",
    }[kind]
    _assert_clean_failure(done, needle)


def test_cli_candidates_from_a_csv_of_coordinates_are_read(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("label,lat,lon\nPrishtina,42.6629,21.1655\nPeja,42.6593,20.2887\n")
    done = _cli(
        "optimise", "--demo", "kosovo", "--service-type", "day_care_disability", "--k", "1",
        "--cell-size-m", "5000", "--candidates", str(path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Prishtina" in done.stdout or "Peja" in done.stdout or "1 new site" in done.stdout


def _trickling_server(headers_first: bool) -> tuple[str, Callable[[], None]]:
    """A server on 127.0.0.1 that sends one byte every 0.2 s, forever (of its headers, or of its body)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            if headers_first:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            payload = b"X-Slow: " if not headers_first else b'{"type": "FeatureCollection" '
            for byte in itertools.cycle(payload):
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()

    def close() -> None:
        stop.set()
        server.close()

    return f"http://127.0.0.1:{server.getsockname()[1]}", close


@pytest.mark.parametrize("headers_first", [False, True], ids=["trickled-headers", "trickled-body"])
def test_fetch_boundaries_stops_a_trickling_server_at_its_deadline(tmp_path, monkeypatch, headers_first):
    from socialmap import datasets
    from socialmap.errors import DataSourceError

    base, close = _trickling_server(headers_first)
    monkeypatch.setenv("SOCIALMAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOCIALMAP_GEOBOUNDARIES_URL", base + "/{iso}-{level}.geojson")
    monkeypatch.setattr(settings, "download_deadline_s", 1.5)
    monkeypatch.setattr(settings, "download_timeout_s", 30.0)  # never reached: every read gets a byte
    start = time.monotonic()
    try:
        with pytest.raises(DataSourceError, match=r"took longer than 1.5 s .*download_deadline_s"):
            datasets.fetch_boundaries("XKX", level="ADM2")
    finally:
        close()
    assert time.monotonic() - start < 10
    assert not list((tmp_path / "cache").rglob("*.geojson"))


def test_a_scenario_that_adds_a_service_outside_every_area_is_refused():
    """Rahovec's seat is at about 20.65 E, 42.40 N; written the other way round it is in the sea off
    Somalia. The new service would serve no one counted, and the comparison would show nothing."""
    from socialmap.scenario import Scenario, new_service, run_scenario

    plan = Scenario("swapped").add(
        new_service("day_care_disability", (42.40, 20.65), crs="EPSG:4326", capacity=30, service_id="n1")
    )
    config = {"spreading": "representative", "service_types": ("day_care_disability",)}
    from socialmap.pipeline import AnalysisConfig

    with pytest.raises(ValidationError) as info:
        run_scenario({"demo": "kosovo"}, plan, AnalysisConfig(**config))
    (problem,) = info.value.errors
    assert "'n1' at longitude 42.40000, latitude 20.65000 lies outside every area" in problem.message
    assert "With longitude and latitude swapped it would lie in Rahovec" in problem.message
    assert "longitude (east" in problem.fix
    inside = Scenario("right").add(
        new_service("day_care_disability", (20.65, 42.40), crs="EPSG:4326", capacity=30, service_id="n1")
    )
    run = run_scenario({"demo": "kosovo"}, inside, AnalysisConfig(**config))
    assert run.changes["change"].tolist() == ["added"]


def test_streamlit_accepts_no_larger_upload_than_the_loaders():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * 2**20 == settings.max_upload_bytes


# ------------------------------------------------------------------------------------------------
# Spreadsheet formulas in look-alike characters
# ------------------------------------------------------------------------------------------------

FORMULA_VARIANTS = [
    "\uff1d1+1",  # full-width equals sign
    "\uff0bcmd|' /C calc'!A0",  # full-width plus
    "\uff0d2+3",  # full-width hyphen-minus
    "\uff20SUM(A1:A3)",  # full-width commercial at
    '\ufe66HYPERLINK("http://x")',  # small equals sign
    "\u207a1",  # superscript plus
    "\u200b=1+1",  # zero-width space, then =
    "\ufeff=1+1",  # byte-order mark, then =
    " =1+1",  # a space, then =
    "\u3000\uff1d1",  # ideographic space, then full-width =
]


@pytest.mark.parametrize("text", FORMULA_VARIANTS, ids=[f"U+{ord(t[0]):04X}" for t in FORMULA_VARIANTS])
def test_look_alike_formula_characters_are_neutralised_in_every_table(tmp_path, text):
    import unicodedata

    from openpyxl import load_workbook

    from socialmap.export import neutralise_value, write_csv, write_xlsx

    assert unicodedata.normalize("NFKC", text).lstrip(" \u200b\ufeff")[0] in "=+-@"  # really a look-alike
    assert neutralise_value(text) == "'" + text
    frame = pd.DataFrame({"name": [text, "Pejë"], "n": [1, -2]})
    book = load_workbook(write_xlsx({"t": frame}, tmp_path / "t.xlsx"))
    cell = book["t"]["A2"]
    assert cell.value == "'" + text and cell.data_type == "s"
    assert book["t"]["A3"].value == "Pejë" and book["t"]["B3"].value == -2
    back = pd.read_csv(write_csv(frame, tmp_path / "t.csv"), encoding="utf-8-sig", dtype=str)
    assert back["name"].tolist() == ["'" + text, "Pejë"]


# ------------------------------------------------------------------------------------------------
# Found by the fuzz tests (tests/test_fuzz.py)
# ------------------------------------------------------------------------------------------------


def test_a_geoparquet_whose_geometry_column_is_called_area_id_is_a_clear_error(tmp_path):
    """GeoParquet may name its geometry column anything; one called 'area_id' was taken for the ids and
    ended in geopandas' TypeError. It is now the geometry, and the missing ids are reported."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"area_id": pa.array([box(20.0, 42.0, 20.1, 42.1).wkb], type=pa.binary())})
    geo = {"version": "1.0.0", "primary_column": "area_id", "columns": {"area_id": {"encoding": "WKB"}}}
    path = tmp_path / "areas.parquet"
    pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo).encode()}), path)
    with pytest.raises(ValidationError) as info:
        io.read_areas(path)
    assert [p.column for p in info.value.errors] == ["area_id", "name"]
    assert "Required column 'area_id' is missing" in str(info.value)
    assert str(path) in str(info.value)


def test_a_geometry_column_under_another_name_is_read_beside_a_text_column_called_geometry(tmp_path):
    areas = gpd.GeoDataFrame(
        {"area_id": ["A1"], "name": ["One"]},
        geometry=gpd.GeoSeries([box(20.0, 42.0, 20.1, 42.1)], crs="EPSG:4326"),
    ).rename_geometry("shape")
    areas["geometry"] = ["POLYGON junk"]  # text, beside the geometry called 'shape'
    path = tmp_path / "areas.parquet"
    areas.to_parquet(path)
    out = io.read_areas(path)
    assert out.geometry.name == "geometry" and out.geometry.iloc[0].equals(box(20.0, 42.0, 20.1, 42.1))
    assert out["geometry_2"].tolist() == ["POLYGON junk"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_plan_with_a_column_twice_is_a_clear_error(tmp_path, suffix):
    """'lon' and ' LON ' (or 'scenario' twice) used to end in pandas' ValueError."""
    from socialmap.scenario import read_scenario

    rows = [["action", "service_id", "lon", " LON ", "lat"], ["remove", "S1", "20.1", "20.2", "42.1"]]
    path = tmp_path / f"plan{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    else:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    with pytest.raises(ValidationError) as info:
        read_scenario(path)
    (problem,) = info.value.errors
    assert problem.file == str(path) and problem.column == "lon"
    assert "Two or more columns are named 'lon'" in problem.message
    assert "Keep one column 'lon'" in problem.fix


def test_a_plan_step_that_is_not_a_number_is_a_row_error(tmp_path):
    """A 'step' column of numbers and text used to end in a TypeError while sorting."""
    from socialmap.scenario import read_scenario

    path = tmp_path / "plan.csv"
    path.write_text("action,service_id,step\nremove,S1,2\nremove,S2,day\nremove,S3,\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_scenario(path)
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (2, "step")
    assert "'step' is 'day', not a number." in problem.message
    path.write_text("action,service_id,step\nremove,S1,2\nremove,S2,1\nremove,S3,\n", encoding="utf-8")
    order = [edit.service_ids for edit in read_scenario(path).edits]
    assert order == [("S2",), ("S1",), ("S3",)]  # by step; a row without one last


def test_error_output_is_capped_at_max_problems_shown(tmp_path, monkeypatch):
    """A plan of 1,000 bad edits wrote every problem out (141 MB for a larger one): the message, the
    validation report and the CLI's output list the first ``max_problems_shown``, then a count."""
    from socialmap.scenario import read_scenario

    path = tmp_path / "plan.csv"
    path.write_text("action,service_id\n" + "explode,S1\n" * 1000, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_scenario(path)
    assert len(info.value.problems) == 1000  # all kept
    text = str(info.value)
    assert text.count("unknown action 'explode'") == 100
    assert text.endswith("... and 900 more problems, not shown (`socialmap.settings.max_problems_shown`).")
    monkeypatch.setattr(settings, "max_problems_shown", 5)
    services = tmp_path / "services.csv"
    services.write_text(
        HEADER + "".join(f"S{i},x,csw,-1,42.05,20.05\n" for i in range(300)), encoding="utf-8"
    )
    report = validate_file(services)
    assert len(report.problems) > 5
    lines = report.format("en").splitlines()
    assert sum(line.lstrip().startswith("error") for line in lines) == 5  # four rows and their summary
    assert f"and {len(report.problems) - 5} more problems, not shown" in lines[-1]
    monkeypatch.undo()
    big = tmp_path / "big.csv"  # 5,000 bad rows, each with four problems
    big.write_text(HEADER + "".join(f"S{i % 7},,spa,-{i},95,200\n" for i in range(5000)), encoding="utf-8")
    done = subprocess.run(
        [str(REPO / ".venv/bin/socialmap"), "validate", str(big)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr  # 1: the input has errors
    out = done.stdout + done.stderr
    assert "more problems, not shown" in out
    assert (
        len(out.splitlines()) <= 2 * 100 + 10 and len(out) < 60_000
    )  # a line and its fix per problem, (len(out.splitlines()), len(out))
