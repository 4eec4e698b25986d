"""The quickstart notebook runs top to bottom, computes what it says, and matches its generator script.

The notebook is executed with nbclient in a kernel started from this interpreter (jupyter_client
replaces the kernelspec's bare ``python`` with ``sys.executable``; a check cell appended to the
in-memory copy proves it), so it tests the socialmap installed here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
GENERATOR = ROOT / "scripts" / "make_quickstart.py"

#: Seconds allowed for one cell (the whole notebook takes a few seconds).
CELL_TIMEOUT_S = 180
#: Marker printed by the check cell appended to the executed copy.
KERNEL_CHECK = "KERNEL_PREFIX="


def _stream_text(nb: nbformat.NotebookNode, name: str = "stdout") -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.get("name") == name
    )


def _data_outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [
        out["data"][mime]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "data" in out and mime in out["data"]
    ]


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    check = nbformat.v4.new_code_cell(f"import sys\nprint('{KERNEL_CHECK}' + sys.prefix)")
    check.id = "test-kernel-check"
    nb.cells.append(check)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    # Importing streamlit (the app tests do) sets MPLBACKEND=Agg in this process; a kernel that
    # inherits it draws no inline figures. Start the kernel with a researcher's environment.
    saved = os.environ.pop("MPLBACKEND", None)
    try:
        client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    finally:
        if saved is not None:
            os.environ["MPLBACKEND"] = saved
    return nb


def test_notebook_is_generated_by_its_script() -> None:
    spec = importlib.util.spec_from_file_location("make_quickstart", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert NOTEBOOK.read_text(encoding="utf-8") == module.render(), (
        "notebooks/quickstart.ipynb differs from scripts/make_quickstart.py: "
        "run `.venv/bin/python scripts/make_quickstart.py`."
    )


def test_notebook_has_no_stored_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_notebook_runs_in_this_interpreter(executed: nbformat.NotebookNode) -> None:
    prefixes = [
        line[len(KERNEL_CHECK) :]
        for line in _stream_text(executed).splitlines()
        if line.startswith(KERNEL_CHECK)
    ]
    assert prefixes == [sys.prefix], f"the kernel ran in {prefixes}, not in this interpreter's {sys.prefix}"


def test_notebook_has_no_errors_or_deprecations(executed: nbformat.NotebookNode) -> None:
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.id
    stderr = _stream_text(executed, "stderr")
    assert "DeprecationWarning" not in stderr and "FutureWarning" not in stderr, stderr


def test_notebook_totals_tie_out(executed: nbformat.NotebookNode) -> None:
    out = _stream_text(executed)
    assert "Totals tie out: True" in out
    assert "CSW need equals total population: True" in out


def test_notebook_compares_2sfca_with_e2sfca(executed: nbformat.NotebookNode) -> None:
    out = _stream_text(executed)
    found = re.search(r"Spearman rank correlation of access, 2SFCA vs E2SFCA \(\w+\): (-?[\d.]+)", out)
    assert found, out
    assert 0.0 < float(found.group(1)) <= 1.0  # the two methods order municipalities alike
    assert "Pipeline E2SFCA equals two_step_fca: True" in out


def test_notebook_draws_its_figures_and_map(executed: nbformat.NotebookNode) -> None:
    assert len(_data_outputs(executed, "image/png")) == 2  # the scatter plot and the static map
    maps = [h for h in _data_outputs(executed, "text/html") if "<iframe" in h]
    assert len(maps) == 1
    assert "Schematic boundaries" in maps[0]  # the caveat is drawn on the interactive map
    assert "tile.openstreetmap" not in maps[0]  # no tiles: the map works offline


def test_notebook_shows_provenance(executed: nbformat.NotebookNode) -> None:
    out = _stream_text(executed)
    assert "method: 2sfca" in out
    assert "spreading: grid (2000 m cells)" in out
    assert "demo_boundaries: schematic boundaries" in out
