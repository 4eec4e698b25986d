"""The embedded demo, and official boundaries fetched from a local server (never the internet)."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest

import socialmap
from socialmap import areasets, datasets
from socialmap.errors import DataSourceError, SocialMapError, ValidationError

ADM2 = "geoBoundaries-XKX-ADM2_simplified.geojson"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SOCIALMAP_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def gb_url(shared_kosovo: Path, serve_dir, monkeypatch: pytest.MonkeyPatch) -> str:
    base = serve_dir(shared_kosovo / "geoboundaries")
    monkeypatch.setenv(
        "SOCIALMAP_GEOBOUNDARIES_URL", base + "/geoBoundaries-{iso}-{level}_simplified.geojson"
    )
    return base


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_load_demo_unpacks_into_the_four_inputs():
    areas, services, population, taxonomy = socialmap.load_demo("kosovo")
    assert len(areas) == 38
    assert areas["area_id"].is_unique
    assert set(population["area_id"]) == set(areas["area_id"])
    assert (services["service_type"] == "csw").sum() == 38
    assert set(services["service_type"]) <= set(taxonomy.service_type_keys)


def test_load_demo_returns_fresh_copies():
    first = socialmap.load_demo("kosovo")
    first.areas.loc[first.areas.index[0], "name"] = "changed"
    first.population["population"] = 0
    second = socialmap.load_demo("kosovo")
    assert "changed" not in set(second.areas["name"])
    assert second.population["population"].sum() > 1_000_000


def test_load_demo_provenance_says_schematic():
    demo = socialmap.load_demo("kosovo")
    assert "schematic boundaries" in demo.provenance["boundaries"]


def test_unknown_demo_is_a_clear_error():
    with pytest.raises(SocialMapError, match="Available demos: kosovo"):
        socialmap.load_demo("atlantis")


def test_fetch_downloads_checks_and_caches(gb_url, cache, shared_kosovo):
    seen: list[int] = []
    path = datasets.fetch_boundaries("xkx", level="adm2", progress=lambda done, total: seen.append(done))
    assert path == cache / "geoboundaries" / ADM2
    assert path.read_bytes() == (shared_kosovo / "geoboundaries" / ADM2).read_bytes()
    assert seen and seen[-1] == path.stat().st_size
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".part")]


def test_fetch_uses_the_cache_when_offline(gb_url, cache, monkeypatch):
    path = datasets.fetch_boundaries("XKX", level="ADM2")
    monkeypatch.setenv(
        "SOCIALMAP_GEOBOUNDARIES_URL", f"http://127.0.0.1:{_closed_port()}/{{iso}}/{{level}}.json"
    )
    assert datasets.fetch_boundaries("XKX", level="ADM2") == path
    with pytest.raises(DataSourceError, match="offline"):
        datasets.fetch_boundaries("XKX", level="ADM2", refresh=True)
    assert path.exists(), "a failed refresh must keep the good cached file"


def test_offline_error_says_where_to_put_a_manual_download(cache, monkeypatch):
    monkeypatch.setenv(
        "SOCIALMAP_GEOBOUNDARIES_URL", f"http://127.0.0.1:{_closed_port()}/{{iso}}-{{level}}.json"
    )
    with pytest.raises(DataSourceError) as info:
        datasets.fetch_boundaries("XKX", level="ADM2")
    msg = str(info.value)
    assert "--file" in msg and str(cache / "geoboundaries" / ADM2) in msg
    assert not (cache / "geoboundaries" / ADM2).exists()


def test_http_404_is_a_clear_error(gb_url, cache):
    with pytest.raises(DataSourceError, match="HTTP 404"):
        datasets.fetch_boundaries("SRB", level="ADM2")


def test_a_broken_download_never_reaches_the_cache(tmp_path, serve_dir, cache, monkeypatch):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "XKX-ADM2.geojson").write_text("<html>rate limited</html>", encoding="utf-8")
    base = serve_dir(tmp_path / "www")
    monkeypatch.setenv("SOCIALMAP_GEOBOUNDARIES_URL", base + "/{iso}-{level}.geojson")
    with pytest.raises(DataSourceError, match="not a usable boundaries file"):
        datasets.fetch_boundaries("XKX", level="ADM2")
    assert not (cache / "geoboundaries" / ADM2).exists()
    assert not list((cache / "geoboundaries").iterdir())


def test_manual_file_is_checked_and_cached(shared_kosovo, cache):
    path = datasets.fetch_boundaries("XKX", level="ADM2", file=shared_kosovo / "geoboundaries" / ADM2)
    assert path.is_file()
    with pytest.raises(DataSourceError, match="no such file"):
        datasets.fetch_boundaries("XKX", level="ADM2", file=cache / "missing.geojson")


@pytest.mark.parametrize(("iso", "level", "msg"), [("KOS1", "ADM2", "alpha-3"), ("XKX", "ADM9", "ADM0")])
def test_bad_codes_are_rejected(iso, level, msg, cache):
    with pytest.raises(SocialMapError, match=msg):
        datasets.fetch_boundaries(iso, level=level)


def test_official_boundaries_join_the_demo_by_name(gb_url, cache, shared_kosovo):
    path = datasets.fetch_boundaries("XKX", level="ADM2")
    demo = socialmap.load_demo("kosovo", boundaries=path)
    facts = pd.read_csv(shared_kosovo / "municipalities.csv", dtype={"kas_code": str})
    # Each official polygon took the KAS code of the municipality the facts table says it is.
    by_source = dict(zip(demo.areas["source_area_id"], demo.areas["area_id"], strict=True))
    assert by_source == dict(zip(facts["gb_adm2_shapeID"], facts["kas_code"], strict=True))
    assert sorted(demo.areas["area_id"]) == sorted(demo.population["area_id"])
    assert "geoBoundaries (CC BY-SA 2.0)" in demo.provenance["boundaries"]


def test_unmatchable_boundaries_are_rejected_with_candidates(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    areas = gpd.GeoDataFrame(
        {"area_id": ["a", "b"], "name": ["Prishtina", "Atlantis"]},
        geometry=[box(21.1, 42.6, 21.2, 42.7), box(20.0, 42.0, 20.1, 42.1)],
        crs="EPSG:4326",
    )
    path = tmp_path / "areas.geojson"
    areas.to_file(path)
    with pytest.raises(ValidationError, match="Atlantis"):
        socialmap.load_demo("kosovo", boundaries=path)


def test_missing_demo_files_are_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "boundaries").mkdir()
    monkeypatch.setattr(areasets, "demo_dir", lambda: tmp_path)  # datasets.demo_files is areasets'
    with pytest.raises(DataSourceError, match="demo is incomplete.*make demo-data"):
        datasets.demo_files("kosovo")


def test_recognising_reads_the_demo_areas_the_loader_reads():
    """The names areas are recognised by (read without the loaders) are those read_areas gives."""
    from socialmap.io import read_areas

    loaded = read_areas(datasets.demo_files("kosovo")["areas"])
    columns = ["area_id", "name", "name_sq", "name_sr", "name_en"]
    expected = pd.DataFrame(loaded[columns]).reset_index(drop=True)
    pd.testing.assert_frame_equal(areasets._demo_areas("kosovo"), expected)
    assert len(expected) == 38
