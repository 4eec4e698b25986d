"""The app's launcher (`python -m socialmap.serve app.py`): its warm-up prepares the first page only.

What the warm-up computes reaches the page through the library's memos and through one hand-over: its
analysis is given to the first analysis asked for after it if, and only if, that one's arguments have
the same content (the very object, handed out once). The first run's analysis is the one computed
without a warm-up, a changed input or option is computed anew, and the options warmed are the app's own
defaults.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import socialmap
from socialmap import pipeline, serve, views

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"

#: In a fresh process: the demo's analysis with the app's first options, after a warm-up or not.
FIRST_RUN = """
import pickle, sys
import socialmap
from socialmap import pipeline, serve, views
if sys.argv[1] == "warm":
    serve.warm_up(sys.argv[2])
    # a Streamlit component is declared by the script run itself (Streamlit registers it only there)
    assert "streamlit_folium" not in sys.modules
    assert "folium" in sys.modules and "geopandas" in sys.modules
    assert "streamlit.emojis" in sys.modules  # Streamlit's own first-run work, done ahead too
demo = socialmap.load_demo("kosovo")
analysis = views.analyze_inputs(views.read_inputs(demo=demo), serve.demo_config(), demo=demo)
result = analysis.result
frames = [pd.DataFrame(frame.drop(columns="geometry")) for frame in (result.areas, result.table)]
sys.stdout.buffer.write(pickle.dumps(tuple(frames)))
"""


@pytest.fixture(autouse=True)
def _no_hand_over_left():
    """A warm-up in one test hands nothing over to another's analysis."""
    yield
    pipeline.prepared_result = None
    serve._prepared.clear()


def _first_run(mode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    code = "import pandas as pd\n" + FIRST_RUN
    done = subprocess.run(
        [sys.executable, "-c", code, mode, str(APP)], capture_output=True, check=True, cwd=REPO, timeout=300
    )
    return pickle.loads(done.stdout)


def test_the_first_run_after_a_warm_up_has_the_analysis_computed_without_one():
    areas, table = _first_run("cold")
    warm_areas, warm_table = _first_run("warm")
    assert len(areas) == 38 and areas["composite_gap"].notna().any()
    pd.testing.assert_frame_equal(warm_areas, areas)
    pd.testing.assert_frame_equal(warm_table, table)


def test_after_a_warm_up_a_changed_option_or_input_is_computed_anew():
    serve.warm_up(APP)
    demo = socialmap.load_demo("kosovo")
    first = views.analyze_inputs(views.read_inputs(demo=demo), serve.demo_config(), demo=demo).result
    wider = dataclasses.replace(serve.demo_config(), catchment_m=30_000.0)
    other = views.analyze_inputs(views.read_inputs(demo=demo), wider, demo=demo).result
    assert not first.table["supply_reach"].equals(other.table["supply_reach"])
    # the demo's services without its day-care centres, uploaded: that type has no supply any more
    services = pd.read_csv(REPO / "data" / "services" / "kosovo_services.csv", dtype=str)
    kept = services[services["service_type"] != "day_care_disability"]
    upload = ("services.csv", kept.to_csv(index=False).encode())
    inputs = views.read_inputs(None, upload, None, demo=demo)
    assert inputs.services is not None
    uploaded = views.analyze_inputs(inputs, serve.demo_config(), demo=demo).result
    day_care = uploaded.table[uploaded.table["service_type"] == "day_care_disability"]
    assert (day_care["supply"] == 0).all()
    before = first.table[first.table["service_type"] == "day_care_disability"]
    assert (before["supply"] > 0).any()


def _prepared() -> pipeline.Result:
    (result,) = serve._prepared.values()
    return result


def test_the_first_analysis_after_a_warm_up_is_the_warm_ups_result_itself_handed_out_once():
    serve.warm_up(APP)
    warmed = _prepared()
    demo = socialmap.load_demo("kosovo")  # fresh copies, as the app's first run reads them
    first = views.analyze_inputs(views.read_inputs(demo=demo), serve.demo_config(), demo=demo).result
    assert first is warmed
    assert pipeline.prepared_result is None and not serve._prepared  # the hook is gone with it
    again = views.analyze_inputs(views.read_inputs(demo=demo), serve.demo_config(), demo=demo).result
    assert again is not first  # computed, not shared
    pd.testing.assert_frame_equal(pd.DataFrame(again.areas), pd.DataFrame(first.areas))
    pd.testing.assert_frame_equal(again.table, first.table)


def test_a_first_analysis_with_another_option_is_computed_anew_and_ends_the_hand_over():
    serve.warm_up(APP)
    warmed = _prepared()
    demo = socialmap.load_demo("kosovo")
    wider = dataclasses.replace(serve.demo_config(), catchment_m=30_000.0)
    other = views.analyze_inputs(views.read_inputs(demo=demo), wider, demo=demo).result
    assert other is not warmed and other.config.catchment_m == 30_000.0
    assert not other.table["supply_reach"].equals(warmed.table["supply_reach"])
    assert pipeline.prepared_result is None and not serve._prepared
    # the app's first options after that: computed as without a launcher (the one chance has gone)
    first = views.analyze_inputs(views.read_inputs(demo=demo), serve.demo_config(), demo=demo).result
    assert first is not warmed
    pd.testing.assert_frame_equal(first.table, warmed.table)


def test_a_first_analysis_of_changed_services_is_computed_anew():
    serve.warm_up(APP)
    warmed = _prepared()
    demo = socialmap.load_demo("kosovo")
    services = demo.services.copy()
    services = services[services["service_type"] != "day_care_disability"]
    changed = socialmap.analyze(
        demo.areas, services, demo.population, taxonomy=demo.taxonomy, config=serve.demo_config()
    )
    assert changed is not warmed
    day_care = changed.table[changed.table["service_type"] == "day_care_disability"]
    assert (day_care["supply"] == 0).all()
    assert (warmed.table[warmed.table["service_type"] == "day_care_disability"]["supply"] > 0).any()


def test_the_key_of_the_arguments_follows_their_content():
    demo = socialmap.load_demo("kosovo")
    config = serve.demo_config()

    def key(**changes):
        arguments = {
            "areas": demo.areas,
            "services": demo.services,
            "population": demo.population,
            "demo": None,
            "taxonomy": demo.taxonomy,
            "config": config,
            "network": None,
            "progress": None,
            "columns": None,
            "options": {},
        }
        arguments.update(changes)
        return serve.arguments_key(arguments)

    base = key()
    assert base is not None and key() == base
    copies = socialmap.load_demo("kosovo")
    assert key(areas=copies.areas, services=copies.services, population=copies.population) == base
    capacity = demo.services.copy()
    capacity.loc[capacity.index[0], "capacity"] = 999
    moved = demo.services.copy()
    point = moved.geometry.iloc[0]
    moved.loc[moved.index[0], "geometry"] = type(point)(point.x + 0.01, point.y)
    renamed = demo.population.rename(columns={demo.population.columns[-1]: "other"})
    # the same capacities in a column of objects: as text and as numbers (str() makes them look alike)
    values = demo.services["capacity"]
    as_text, as_number = demo.services.copy(), demo.services.copy()
    as_text["capacity"] = pd.Series(
        [None if pd.isna(v) else str(int(v)) for v in values], index=values.index, dtype=object
    )
    as_number["capacity"] = pd.Series(
        [None if pd.isna(v) else int(v) for v in values], index=values.index, dtype=object
    )
    assert as_text["capacity"].dtype == as_number["capacity"].dtype == object
    changes = {
        "one capacity": key(services=capacity),
        "one service moved": key(services=moved),
        "another CRS": key(areas=demo.areas.to_crs(3857)),
        "a population column renamed": key(population=renamed),
        "fewer services": key(services=demo.services.iloc[1:]),
        "capacities as text": key(services=as_text),
        "capacities as numbers, in a column of objects": key(services=as_number),
        "another option": key(config=dataclasses.replace(config, method="e2sfca")),
        "a keyword option": key(config=None, options={"method": "e2sfca"}),
        "the demo's name": key(demo="kosovo"),
    }
    assert base not in changes.values(), [what for what, k in changes.items() if k == base]
    assert len(set(changes.values())) == len(changes)
    # what it does not read never matches: a file (its content may change), a callback, a road graph
    assert key(areas=str(REPO / "data" / "areas.gpkg")) is None
    assert key(progress=print) is None
    assert key(network=object()) is None


def test_the_warm_up_analyses_with_the_options_of_the_apps_first_page(monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    asked = []
    real = views.analyze_inputs

    def spy(inputs, config, **kwargs):
        asked.append((inputs.uses_demo, config))
        return real(inputs, config, **kwargs)

    monkeypatch.setattr(views, "analyze_inputs", spy)
    # an earlier AppTest in this process may have left the app's first analysis in Streamlit's caches
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, at.exception
    assert asked and asked[0] == (True, serve.demo_config())


def test_script_imports_are_the_top_level_ones_in_order(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            import os, json
            from typing import TYPE_CHECKING
            from socialmap import views, settings
            from . import sibling
            if TYPE_CHECKING:
                import pandas
            def later():
                import numpy
            import os
            """
        ),
        encoding="utf-8",
    )
    assert serve.script_imports(script) == [
        "os",
        "json",
        "typing",
        "typing.TYPE_CHECKING",
        "socialmap",
        "socialmap.views",
        "socialmap.settings",
    ]


def test_without_the_launcher_the_first_run_does_not_wait():
    assert serve._done is None
    assert serve.wait_for_warm_up(0) is True


def test_a_failed_warm_up_lets_the_first_run_go_on(monkeypatch, caplog):
    def broken(script, demo="kosovo"):
        raise OSError("disk gone")

    monkeypatch.setattr(serve, "warm_up", broken)
    try:
        done = serve.start_warm_up(APP)
        assert done.wait(30)
        assert serve.wait_for_warm_up(0) is True
    finally:
        monkeypatch.setattr(serve, "_done", None)
    assert "warm-up failed" in caplog.text


def test_the_launcher_needs_the_script():
    with pytest.raises(SystemExit, match="usage"):
        serve.main([])
    with pytest.raises(SystemExit, match="usage"):
        serve.main(["--server.port", "8501"])
