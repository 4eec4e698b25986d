#!/usr/bin/env python
"""Rebuild the translation catalogs from the code: extract, then update (Babel).

1. **Extract** every message into ``socialmap/locales/socialmap.pot`` with Babel's Python
   extractor: the first argument of ``t("...")`` and ``N_("...")`` calls in the files that
   ``babel.cfg`` names (the package and ``app.py``), including calls inside f-strings, which
   Babel's extractor alone misses; ``# TRANSLATORS:`` comments just above a call go into the
   template for the translators. Calls whose first argument is not a literal string
   (``t(LABELS[key])``) cannot be extracted: mark the strings with ``N_`` where they are written.
2. Add the **data messages**: the descriptions of the embedded demo's data and the geoBoundaries
   attribution, which :mod:`socialmap.datasets` writes into a result's provenance and which maps and
   briefs show (they are data, so they are read from the module, not extracted from calls).
3. **Update** ``socialmap/locales/<lang>/LC_MESSAGES/socialmap.po`` for every language: new messages
   arrive untranslated (or, when an old message is close, with its translation marked fuzzy and
   the old English kept as ``#| msgid`` for comparison); messages no longer in the code are kept
   at the end as obsolete (``#~``), and an obsolete message that is back in the code gets its
   translation back (as gettext's ``msgmerge`` does). The library ignores untranslated and fuzzy
   entries (English is shown instead) and ``tests/test_i18n.py`` fails on them, so translate, then
   remove the fuzzy mark.

A file is rewritten only when more than its dates changed, so running the script twice is a no-op.

Usage::

    .venv/bin/python scripts/update_translations.py          # rebuild the .pot and the .po files
    .venv/bin/python scripts/update_translations.py --check  # change nothing; exit 1 if out of date

The equivalent with Babel's command line (without the data messages, the calls inside f-strings
and the revival of obsolete translations)::

    pybabel extract -F babel.cfg -k t -k N_ -k nt:1,2 -k Nn_:1,2 --no-default-keywords -c TRANSLATORS: \\
        -o socialmap/locales/socialmap.pot .
    pybabel update -i socialmap/locales/socialmap.pot -d socialmap/locales -D socialmap
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import io
import os
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.extract import extract_python as babel_extract_python
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from socialmap.i18n import DOMAIN, LANGUAGES  # noqa: E402

LOCALES = ROOT / "socialmap" / "locales"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
#: The calls extracted: t()/N_() take one message, nt()/Nn_() a singular and a plural (ngettext's 1, 2).
KEYWORDS = {"t": None, "N_": None, "nt": (1, 2), "Nn_": (1, 2)}
COMMENT_TAGS = ("TRANSLATORS:",)
#: Folders the extractor walks into (relative to the repository); everything else is skipped.
SEARCHED = ("socialmap",)
#: Translator comment of obsolete entries written ahead for strings the code shows through
#: ``t(variable)`` but has not marked with ``N_`` yet; they come into use once marked.
PENDING = "pending:"
LANGUAGES_NAMES = {"sq": "Albanian", "sr_Latn": "Serbian (Latin script)"}
_DATES = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"\n', re.MULTILINE)


def _walk_filter(dirname: str) -> bool:
    rel = Path(os.path.abspath(dirname)).relative_to(ROOT)
    hidden = any(part.startswith((".", "_")) for part in rel.parts)  # .git, __pycache__
    return rel == Path(".") or (rel.parts[0] in SEARCHED and not hidden)


_HEADER = """\
# {what} of socialmap.
# Rebuilt by scripts/update_translations.py; see socialmap/locales/README.md (workflow, glossary).
# This file is distributed under the same license as the socialmap project (MIT).
#"""


def _new_catalog(locale: str | None) -> Catalog:
    import socialmap

    what = "Messages (English, the template)" if locale is None else f"{LANGUAGES_NAMES[locale]} translations"
    return Catalog(
        locale=locale,
        domain=DOMAIN,
        header_comment=_HEADER.format(what=what),
        project="socialmap",
        version=socialmap.__version__,
        copyright_holder="socialmap developers",
        msgid_bugs_address="the socialmap issue tracker",
        last_translator="socialmap developers",
        language_team="socialmap developers",
        charset="utf-8",
        fuzzy=False,
    )


def extract_python(fileobj, keywords, comment_tags, options):  # type: ignore[no-untyped-def]
    """Babel's Python extractor, plus the calls inside f-strings (``f"({t('estimate', lang)})"``).

    Babel reads a Python file token by token and an f-string is one token to it, so a ``t()`` call
    written inside one would be missed; those calls are found with :mod:`ast` and added.
    """
    source = fileobj.read()
    yield from babel_extract_python(io.BytesIO(source), keywords, comment_tags, options)
    encoding = options.get("encoding", "utf-8")
    tree = ast.parse(source.decode(encoding))
    for fstring in (node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)):
        for call in ast.walk(fstring):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.args):
                continue
            literal = [isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args[:2]]
            texts = [a.value for a, ok in zip(call.args[:2], literal, strict=True) if ok]
            if call.func.id not in keywords or not literal[0]:
                continue
            if KEYWORDS.get(call.func.id) is None:
                yield call.lineno, call.func.id, texts[0], []
            elif len(texts) == 2:
                yield call.lineno, call.func.id, tuple(texts), []


def data_messages() -> list[tuple[str, str]]:
    """Texts :mod:`socialmap.datasets` puts into provenances that maps and briefs show."""
    from socialmap import datasets

    found = [
        (datasets.GEOBOUNDARIES_ATTRIBUTION, "attribution of geoBoundaries data"),
        (datasets.SCHEMATIC_ATTRIBUTION, "caveat of the demo's schematic boundaries"),
    ]
    for name in datasets.DEMOS:
        provenance = datasets.load_demo(name).provenance
        for key in ("boundaries", "population", "services"):
            if provenance.get(key):
                found.append((str(provenance[key]), f"the {key} of the demo {name!r}"))
        # Why a year's figure is missing (socialmap.monitor shows it), e.g. a census not held there.
        for path in sorted((datasets.demo_dir() / "population").glob(f"{name}_population_*.csv")):
            frame = pd.read_csv(path, dtype=str)
            if {"population", "population_source"} <= set(frame.columns):
                blank = frame["population"].isna()
                for text in dict.fromkeys(frame.loc[blank, "population_source"].dropna()):
                    found.append((str(text), f"why a figure is missing in {path.name}"))
    return found


def extract() -> Catalog:
    """Return the template: every message of the code, then the data messages."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    methods = {"python": extract_python}
    method_map = [(pattern, methods.get(method, method)) for pattern, method in method_map]
    template = _new_catalog(None)
    found = extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
        directory_filter=_walk_filter,
    )
    for filename, lineno, message, comments, context in found:
        plural = isinstance(message, tuple) and len(message) == 2 and all(isinstance(m, str) for m in message)
        if not (plural or isinstance(message, str)) or not message or not message[0]:
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text, what in data_messages():
        template.add(
            text,
            None,
            [("socialmap/datasets.py", None)],
            auto_comments=[f"Data, not code: {what} (added by scripts/update_translations.py)."],
        )
    return template


def _render(catalog: Catalog, *, template: bool) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, include_previous=not template)
    return buffer.getvalue()


def _same(new: bytes, path: Path) -> bool:
    return path.is_file() and _DATES.sub(b"", new) == _DATES.sub(b"", path.read_bytes())


def updated(template: Catalog, lang: str) -> Catalog:
    """Return the language's catalog merged with ``template`` (read from its .po file if present)."""
    path = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    locale = LANGUAGES[lang][0]
    if path.is_file():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale, domain=DOMAIN)
    else:
        catalog = _new_catalog(locale)
    for msgid, old in list(catalog.obsolete.items()):
        if msgid in template and old.string:  # back in the code: its translation is exact (as msgmerge)
            del catalog.obsolete[msgid]
            catalog[msgid] = old
            catalog[msgid].user_comments = [c for c in old.user_comments if not c.startswith(PENDING)]
    catalog.update(template, update_creation_date=True)
    catalog.fuzzy = False
    for message in catalog:
        if not message.fuzzy:  # reviewed: the old English it was matched with is no longer needed
            message.previous_id = ()
    catalog.revision_date = dt.datetime.now(dt.UTC)
    return catalog


def _translated(string: str | tuple[str, ...]) -> bool:
    """Whether an entry is translated: its text, or every plural form of a plural entry."""
    return all(string) if isinstance(string, tuple) else bool(string)


def status(catalog: Catalog) -> tuple[list[str], list[str]]:
    """Return the msgids still untranslated and those marked fuzzy."""
    untranslated = [m.id for m in catalog if m.id and not _translated(m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    return untranslated, fuzzy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if out of date")
    args = parser.parse_args(argv)

    template = extract()
    outputs = {TEMPLATE: _render(template, template=True)}
    problems = 0
    for lang in LANGUAGES:
        if lang == "en":
            continue
        catalog = updated(template, lang)
        outputs[LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"] = _render(catalog, template=False)
        untranslated, fuzzy = status(catalog)
        print(f"{lang}: {len(template)} messages, {len(untranslated)} untranslated, {len(fuzzy)} fuzzy")
        for msgid in untranslated + fuzzy:
            print(f"  {'fuzzy' if msgid in fuzzy else 'untranslated'}: {msgid!r}")
        problems += len(untranslated) + len(fuzzy)
    stale = [path for path, data in outputs.items() if not _same(data, path)]
    for path in stale:
        if args.check:
            print(f"out of date: {path.relative_to(ROOT)}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(outputs[path])
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and (stale or problems):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
