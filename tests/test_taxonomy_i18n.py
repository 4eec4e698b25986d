"""
A bad taxonomy file, read in Albanian and Serbian: every problem is written in that language.

The English templates of the taxonomy's messages are read from the catalog template (``socialmap.pot``, the
entries whose source is a taxonomy module); the rendered error may keep values (keys, file names, YAML
excerpts) but none of the English words of a template.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from socialmap.errors import TaxonomyError, message
from socialmap.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY_MODULES = (
    "socialmap/taxonomy.py",
    "socialmap/_taxonomy_check.py",
    "socialmap/_taxonomy_schema.py",
    "socialmap/_taxonomy_words.py",
    "socialmap/_taxonomy_yaml.py",
)

# One file with many kinds of problem: a key twice, an unknown key with a close match, a key that is no
# identifier, a rate out of range and one written as a percentage, a label missing and one not text, an
# estimate without its derivation, an unknown source, a flag that is not true/false, a need rate for a group
# the type does not serve, an unknown group, a group listed twice, a sensitive group in a type not marked
# sensitive, a planning standard per an unknown group, an unsupported schema version, an unknown language.
BAD = """\
schema_version: 7
languages: [en, xx]
sources:
  census: {citation: "Census 2024"}
  census: {citation: "Census 2024, again"}
target_groups:
  older:
    label: {en: Older people, sq: 12}
    rate: 1.5
    source: census
    estimate: true
  Children:
    label: {en: Children}
  kids:
    label: {en: Kids, sq: Fëmijët, sr: Deca}
    rate: 0.2
    source: sensus
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: "5%"
    source: census
    sensitive: yes please
service_types:
  day_care:
    label: {en: Day care, sq: Qendra ditore, sr: Dnevni centar}
    target_groups: [older, older, nobody, victims]
    need_rate: {older: 0.1, victims: 0.2, ghosts: 0.3}
    need_rate_source: census
    places_per_1000_of: somebody
    catchmnt_m: 5000
"""


def _templates() -> list[str]:
    with open(ROOT / "socialmap" / "locales" / "socialmap.pot", "rb") as fh:
        catalog = read_po(fh)
    out = []
    for entry in catalog:
        if entry.id and any(path in TAXONOMY_MODULES for path, _ in entry.locations):
            out.extend(entry.id if isinstance(entry.id, tuple) else [entry.id])
    return out


def _english_words(template: str) -> list[str]:
    """The runs of a template between its placeholders that are worded sentences (three words or more)."""
    runs = re.split(r"\{\w+\}", template)
    return [r.strip(" .:;,()'`-\n") for r in runs if len(re.findall(r"[A-Za-z]{2,}", r)) >= 3]


@pytest.fixture(scope="module")
def error(tmp_path_factory: pytest.TempPathFactory) -> TaxonomyError:
    path = tmp_path_factory.mktemp("tax") / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    return caught.value


def test_the_bad_file_has_many_problems_in_english(error: TaxonomyError) -> None:
    text = str(error)
    assert re.search(r"has \d+ problems:", text)
    assert text.count("\n  - ") >= 12
    for needle in ("key written twice", "unknown source 'sensus'", "did you mean 'catchment_m'?", "(line "):
        assert needle in text


@pytest.mark.parametrize("lang", ["sq", "sr"])
def test_no_english_template_text_is_left(error: TaxonomyError, lang: str) -> None:
    shown = message(error, lang)
    assert shown != str(error)
    assert shown.count("\n  - ") == str(error).count("\n  - ")
    left = sorted({words for t in _templates() for words in _english_words(t) if words and words in shown})
    assert left == []
    # the locations stay: every "(line N)" of the English text is there in the language's words
    lines = re.findall(r"\(line (\d+)\)", str(error))
    word = {"sq": "rreshti", "sr": "red"}[lang]
    assert sorted(re.findall(rf"\({word} (\d+)\)", shown)) == sorted(lines)


@pytest.mark.parametrize("lang", ["sq", "sr"])
def test_a_file_that_is_not_yaml_is_reported_in_the_language(tmp_path: Path, lang: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("sources:\n  a: [1, 2\n", encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    shown = message(caught.value, lang)
    assert "broken.yaml" in shown
    left = sorted({w for t in _templates() for w in _english_words(t) if w and w in shown})
    assert left == []


@pytest.mark.parametrize("lang", ["sq", "sr"])
def test_an_uploaded_bad_file_is_shown_in_the_language_under_its_own_name(lang: str) -> None:
    # the app's upload path: a temporary file is read; the problem names the user's file, still translatable
    from socialmap import views

    upload = views.read_taxonomy(("mine.yaml", BAD.encode("utf-8")))
    assert upload.taxonomy is None and len(upload.problems) == 1
    shown = upload.problems[0].as_dict(lang)["problem"]
    assert "'mine.yaml'" in shown and "socialmap-taxonomy-" not in shown
    assert shown.count("\n  - ") >= 12
    left = sorted({w for t in _templates() for w in _english_words(t) if w and w in shown})
    assert left == []
