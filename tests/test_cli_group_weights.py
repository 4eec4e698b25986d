"""`--group-weights`: the composite's weights per target group from the command line, checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
from test_cli import run

from socialmap import load_taxonomy
from socialmap.cli.options import _group_weights
from socialmap.errors import SocialMapError, message

OLDER = ("home_care_elderly", "residential_elderly")  # the Kosovo taxonomy's types serving people 65+


def test_weights_override_the_taxonomy_and_the_others_keep_theirs():
    tax = load_taxonomy("kosovo")
    weights = _group_weights("older_people_65plus=2, persons_with_disabilities=0,5", tax, "sq")
    assert weights is not None
    assert weights["older_people_65plus"] == 2.0 and weights["persons_with_disabilities"] == 0.5
    named = ("older_people_65plus", "persons_with_disabilities")
    others = {k: v for k, v in weights.items() if k not in named}
    assert others == {k: v for k, v in tax.group_weights().items() if k in others} and len(others) == 5
    assert _group_weights(None, tax, "en") is None


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("older=2", "'older' is not a target group of the taxonomy"),
        ("older_people_65plus=two", "write GROUP=NUMBER pairs"),
        ("older_people_65plus=-1", "write GROUP=NUMBER pairs"),
        ("older_people_65plus=inf", "write GROUP=NUMBER pairs"),
        ("older_people_65plus", "write GROUP=NUMBER pairs"),
        ("older_people_65plus=1,older_people_65plus=2", "names 'older_people_65plus' twice"),
    ],
)
def test_bad_weights_are_refused_naming_the_pair_and_the_groups(text, english):
    tax = load_taxonomy("kosovo")
    with pytest.raises(SocialMapError) as caught:
        _group_weights(text, tax, "en")
    assert english in message(caught.value, "en")
    if "twice" not in english:
        assert "older_people_65plus (Older people (65+))" in message(caught.value, "en")


def test_all_weights_zero_is_refused_in_the_users_language():
    tax = load_taxonomy("kosovo")
    every = ",".join(f"{k}=0" for k in tax.target_group_keys)
    with pytest.raises(SocialMapError) as caught:
        _group_weights(every, tax, "sr")
    text = message(caught.value, "sr")
    assert text == (
        "--group-weights ostavlja sve ciljne grupe sa težinom 0: dajte bar jednoj težinu veću od 0."
    )


def test_the_command_exits_2_with_the_message_and_no_traceback(tmp_path):
    done = run("export", "--demo", "kosovo", "--out", str(tmp_path / "x.csv"), "--group-weights", "elderly=2")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'elderly' is not a target group" in done.stderr and "older_people_65plus" in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_the_composite_follows_the_weights(tmp_path):
    # Only people aged 65+ weigh: each area's composite is then their gap, worked out here from the
    # published per-type table as 100 × (unmet home care + unmet residential) / (their need).
    tax = load_taxonomy("kosovo")
    weights = ",".join(f"{k}={1 if k == 'older_people_65plus' else 0}" for k in tax.target_group_keys)
    args = ("analyze", "--demo", "kosovo", "--cell-size-m", "4000", "--group-weights", weights)
    done = run(*args, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    gpkg = tmp_path / "out" / "areas.gpkg"
    areas = pyogrio.read_dataframe(gpkg, layer="areas").set_index("area_id")
    by_type = pd.DataFrame(pyogrio.read_dataframe(gpkg, layer="areas_by_service_type", read_geometry=False))
    older = by_type[by_type["service_type"].isin(OLDER)].groupby("area_id")[["unmet_need", "need"]].sum()
    expected = 100 * older["unmet_need"] / older["need"]
    assert areas["composite_gap"].to_numpy() == pytest.approx(expected.reindex(areas.index).to_numpy())
    # ...and it is not the default composite (every group weighing 1)
    default = run("analyze", "--demo", "kosovo", "--cell-size-m", "4000", "--out", str(tmp_path / "default"))
    assert default.returncode == 0, default.stderr
    plain = pyogrio.read_dataframe(tmp_path / "default" / "areas.gpkg", layer="areas").set_index("area_id")
    assert not np.allclose(plain["composite_gap"].reindex(areas.index), areas["composite_gap"])
