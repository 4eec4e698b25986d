"""display.plain: user text shown literally by Streamlit's Markdown (the Chromium checks are in
test_browser_privacy.py)."""

from __future__ import annotations

import re

import pytest

from socialmap.display import plain

JOINER = "\u2060"


@pytest.mark.parametrize(
    "text",
    [
        "![x](https://host.example/x.png)",
        "[text](https://host.example)",
        "<https://host.example>",
        "www.host.example and name@host.example",
        ":red[alarm] :material/home: $x^2$ **bold** _it_ `code` # title",
        "a | b | c\n---|---",
    ],
)
def test_every_markdown_sign_is_escaped_and_addresses_are_broken(text):
    shown = plain(text)
    visible = shown.replace(JOINER, "")
    # taking the backslashes off gives the text back, on one line
    assert re.sub(r"\\(.)", r"\1", visible) == " ".join(text.split())
    # every sign Markdown reads is preceded by a backslash
    for sign in "![]()<>*_`#|:$":
        assert not re.search(r"(?<!\\)" + re.escape(sign), visible), sign
    # no address Streamlit could turn into a link
    assert "://" not in shown and "www." not in shown and "e@h" not in shown


def test_plain_names_stay_as_they_are():
    for name in ("Gjakovë", "Đakovica", "Prishtinë Prishtina", "Mitrovicë e Veriut"):
        assert plain(name) == name
