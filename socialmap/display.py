"""Showing people's text and offering files in the app, without leaking either.

Two things the app must get right whatever the data holds:

- **Text is text.** Streamlit renders Markdown (and its own ``:color[…]`` directives, emoji
  shortcodes and ``$…$`` maths) in ``st.markdown``, ``st.caption``, alerts and widget labels. A file
  name or an area or service name that holds ``![x](https://host/x.png)`` would make the browser
  fetch an outside address, and ``[text](https://host)`` would become a link. :func:`plain` escapes
  every character those syntaxes use, so a name is shown exactly as it was written.
- **A download reaches only the session that asked for it.** ``st.download_button`` stores the
  file in Streamlit's media store and hands the browser a ``/media/<hash>`` address that any HTTP
  client can fetch, without the session, until the store is next cleaned (after the browser has
  gone). :func:`offer_download` instead makes the file when its button is clicked and sends it on
  that session's own websocket, where the page turns it into a local ``blob:`` address and saves
  it: there is no address on the server to fetch.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

__all__ = ["offer_download", "plain"]

#: Characters that Markdown (CommonMark + GitHub tables), Streamlit's directives (``:red[…]``,
#: ``:material/…:``, emoji shortcodes) and its maths (``$…$``) give a meaning to. CommonMark lets a
#: backslash make any ASCII punctuation literal.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&='\"^@%])")


def plain(text: object) -> str:
    r"""
    Return ``text`` so that Streamlit's Markdown shows it literally (no link, no image, no format).

    Line breaks become spaces (a name is one line), every character Markdown could read as syntax
    gets a backslash, and an invisible word joiner (U+2060) keeps bare addresses from being
    turned into links.

    Examples
    --------
    >>> plain("![x](https://host/x.png)").replace("\u2060", "")
    '\\!\\[x\\]\\(https\\://host/x\\.png\\)'
    >>> plain("Gjakovë")
    'Gjakovë'
    """
    one_line = " ".join(str(text).split())
    # Streamlit also turns bare addresses into links (https://…, www.…, name@host): a word joiner
    # (U+2060, invisible) after each ':', before each '.' and '@' keeps them apart.
    broken = one_line.replace(":", ":\u2060").replace(".", "\u2060.").replace("@", "\u2060@")
    return _MARKDOWN.sub(r"\\\1", broken)


_JS = """
const done = new Map();

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let button = parentElement.querySelector("button");
  if (!button) {
    button = document.createElement("button");
    button.type = "button";
    button.className = "socialmap-download";
    parentElement.appendChild(button);
  }
  button.textContent = data.label;
  button.setAttribute("aria-label", data.label);
  button.onclick = () => setTriggerValue("requested", Date.now());
  if (data.payload && done.get(data.id) !== data.nonce) {
    done.set(data.id, data.nonce);
    const raw = atob(data.payload);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const url = URL.createObjectURL(new Blob([bytes], { type: data.mime }));
    const link = document.createElement("a");
    link.href = url;
    link.download = data.file_name;
    link.style.display = "none";
    parentElement.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }
}
"""

_CSS = """
.socialmap-download {
  font: inherit;
  font-size: 0.95rem;
  padding: 0.35rem 0.8rem;
  border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.25);
  background: var(--st-secondary-background-color, #f0f2f6);
  color: var(--st-text-color, #31333f);
  cursor: pointer;
}
.socialmap-download:hover {
  border-color: var(--st-primary-color, #ff4b4b);
  color: var(--st-primary-color, #ff4b4b);
}
"""

_COMPONENT: Any = None


def _component() -> Any:
    global _COMPONENT
    if _COMPONENT is None:
        import streamlit as st

        _COMPONENT = st.components.v2.component("socialmap_download", js=_JS, css=_CSS)
    return _COMPONENT


def offer_download(
    where: Any, label: str, make: Callable[[], bytes], *, file_name: str, mime: str, key: str
) -> None:
    """
    Offer a file that is made when its button is clicked and reaches only this browser session.

    Parameters
    ----------
    where
        Where the button goes: a Streamlit container (``st.sidebar``, a column, a tab…) or ``st``.
    label
        The button's text (shown as text, never as Markdown or HTML).
    make
        Makes the file's bytes; called only when the button is clicked, in that session.
    file_name
        The name the browser saves the file under.
    mime
        Its media type.
    key
        A key unique in the app (the button's identity across reruns).
    """
    import streamlit as st

    slot = f"_socialmap_download_{key}"
    count = f"{slot}_count"

    def requested() -> None:
        st.session_state[count] = st.session_state.get(count, 0) + 1
        st.session_state[slot] = base64.b64encode(make()).decode("ascii")

    payload = st.session_state.pop(slot, None)
    data = {
        "id": key,
        "label": str(label),
        "file_name": str(file_name),
        "mime": str(mime),
        "payload": payload,
        "nonce": st.session_state.get(count, 0),
    }
    mount = _component()
    if where is st or not hasattr(where, "__enter__"):
        mount(key=key, data=data, on_requested_change=requested)
        return
    with where:
        mount(key=key, data=data, on_requested_change=requested)
