#!/usr/bin/env python
"""Git merge driver for the gettext catalogs: merge two branches' ``.po``/``.pot`` by message.

Two branches that both change visible text both rebuild the catalogs, and every moved line changes
the ``#: file.py:123`` references, so a line-based merge of ``socialmap.po`` conflicts on almost
every entry although the translations do not disagree. This driver merges by message id instead:

* a message in either side is kept (the union);
* where both sides have it, a translated, non-fuzzy string wins over an empty or fuzzy one; where
  both are translated and differ, the side that changed it since the common ancestor wins (ours
  when both changed it);
* obsolete entries are kept from both sides unless a side has the message live.

Afterwards run ``scripts/update_translations.py`` to refresh the references and drop what the code
no longer uses. Enable it once per clone::

    git config merge.pocatalog.name "gettext catalogs merged by message"
    git config merge.pocatalog.driver ".venv/bin/python scripts/merge_po.py %O %A %B %P"

(``.gitattributes`` names the files it applies to.)
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po


def _read(path: str) -> Catalog:
    data = Path(path).read_bytes()
    if not data.strip():
        return Catalog()
    return read_po(io.BytesIO(data))


def _done(message: Message | None) -> bool:
    if message is None:
        return False
    text = message.string
    filled = all(text) if isinstance(text, tuple | list) else bool(text)
    return filled and not message.fuzzy


def merge(base: Catalog, ours: Catalog, theirs: Catalog) -> Catalog:
    """Return ``ours`` with the messages and translations of ``theirs`` merged in."""
    for message in theirs:
        if not message.id:
            continue
        key = (message.id, message.context)
        mine = ours.get(message.id, message.context)
        if mine is None:
            ours[message.id] = message
            ours.obsolete.pop(key if message.context else message.id, None)
            continue
        old = base.get(message.id, message.context)
        changed_there = old is not None and old.string == mine.string and old.string != message.string
        if _done(message) and (not _done(mine) or changed_there):
            mine.string = message.string
            mine.flags = set(message.flags)
            mine.previous_id = message.previous_id
        mine.locations = sorted(set(mine.locations) | set(message.locations))
    for key, message in theirs.obsolete.items():
        if ours.get(message.id, message.context) is None and key not in ours.obsolete:
            ours.obsolete[key] = message
    return ours


def main(argv: list[str]) -> int:
    base_path, ours_path, theirs_path = argv[1:4]
    name = argv[4] if len(argv) > 4 else ours_path
    merged = merge(_read(base_path), _read(ours_path), _read(theirs_path))
    buffer = io.BytesIO()
    template = name.endswith(".pot")
    write_po(buffer, merged, width=100, omit_header=False, include_previous=not template)
    Path(ours_path).write_bytes(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
