"""The app's downloads under AppTest: the buttons of ``socialmap.display.offer_download``.

They are a custom (bidirectional) component, which AppTest shows as an unknown element and cannot
click. :func:`click` sends what the page sends on a click (the component's ``requested`` trigger),
and reads the file from what the app sends back to that session.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

COMPONENT = "socialmap_download"


def buttons(at: AppTest) -> list[dict[str, Any]]:
    """The download buttons on screen: label, file_name, mime, id (the key), payload."""
    elements = at.get("bidi_component")
    return [json.loads(e.proto.json) for e in elements if e.proto.component_name.endswith(COMPONENT)]


def labels(at: AppTest) -> list[str]:
    """The labels of the download buttons on screen, in order."""
    return [b["label"] for b in buttons(at)]


def click(at: AppTest, key: str) -> bytes:
    """Click the download button ``key`` and return the file the app sends to the session."""
    (element,) = [
        e
        for e in at.get("bidi_component")
        if e.proto.component_name.endswith(COMPONENT) and json.loads(e.proto.json)["id"] == key
    ]
    states = at._tree.get_widget_states()
    trigger = WidgetState(
        id=_make_trigger_id(element.proto.id, "events"),
        json_trigger_value=json.dumps([{"event": "requested", "value": 1}]),
    )
    states.widgets.append(trigger)
    at._run(states)
    assert not at.exception, [e.value for e in at.exception]
    (sent,) = [b for b in buttons(at) if b["id"] == key]
    assert sent["payload"], f"no file was sent for {key}"
    return base64.b64decode(sent["payload"])
