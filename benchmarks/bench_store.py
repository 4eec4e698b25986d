"""What the app pays to keep a workspace (socialmap.store): one write after a change, one read on opening.

The app writes the workspace after every change and reads it when a page opens with its id. This times,
on the Kosovo demo's inputs given as uploads (areas, services, population as files, two scenarios), the
median of ``--runs`` (default 7) of:

- ``Store.save`` (the GeoPackage with the three layers, the uploads as given, the tables; atomic);
- ``Store.load`` (the checks, the layers through the loaders) and ``from_workspace``;
- the size of the file.

CPU time (this process) is beside the wall time: it hardly moves when other jobs share the machine.

    .venv/bin/python benchmarks/bench_store.py
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs

    import socialmap
    from socialmap import store, views

    demo = socialmap.load_demo("kosovo")
    files = {}
    for kind in views.UPLOAD_KINDS:
        frame = getattr(demo, kind)
        buf = io.BytesIO()
        if kind == "population":
            frame.to_csv(buf, index=False)
            files[kind] = (f"{kind}.csv", buf.getvalue())
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{kind}.gpkg"
                frame.to_file(path, driver="GPKG")
                files[kind] = (path.name, path.read_bytes())
    inputs = views.read_inputs(*(files[k] for k in views.UPLOAD_KINDS), demo=demo)
    state = store.AppState(
        uploads=files,
        options={"method": "2sfca", "catchment_m": 10_000.0},
        scenarios={
            "one new": (views.PlanEdit("day_care_disability", 21.0, 42.5, 12.0),),
            "two new": (
                views.PlanEdit("day_care_disability", 21.0, 42.5, 12.0),
                views.PlanEdit("day_care_disability", 20.6, 42.3, None),
            ),
        },
        view={"lang": "sq", "tab": "plan"},
    )
    with tempfile.TemporaryDirectory() as tmp:
        s, ws_id = store.Store(tmp), store.new_id()
        ws = store.to_workspace(state, inputs=inputs, demo="kosovo")
        save = timed(lambda: s.save(ws_id, ws), runs)
        size = s.path(ws_id).stat().st_size
        read = timed(lambda: store.from_workspace(s.load(ws_id)), runs)  # type: ignore[arg-type]
    print(f"load average: {load()}  (runs: {runs}, medians)")
    print(f"{'step':<34}{'wall s':>8}{'cpu s':>8}")
    print(f"{'Store.save (a change)':<34}{save[0]:>8.3f}{save[1]:>8.3f}")
    print(f"{'Store.load + from_workspace':<34}{read[0]:>8.3f}{read[1]:>8.3f}")
    print(f"file: {size / 1024:.0f} KiB ({len(inputs.services)} services, {len(inputs.areas)} areas)")


if __name__ == "__main__":
    main()
