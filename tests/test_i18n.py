import datetime as dt

import pytest

from socialmap.errors import SocialMapError
from socialmap.i18n import check_language, default_language, format_date, format_number, t


def test_numbers_follow_the_locale():
    assert format_number(12345.6, "en") == "12,345.6"
    assert format_number(12345.6, "sq") == "12.345,6"
    assert format_number(12345.6, "sr") == "12.345,6"
    assert format_number(1234, "en", decimals=0) == "1,234"
    assert format_number(float("nan"), "en") == "–" and format_number(None, "sq") == "–"


def test_dates_in_each_language():
    d = dt.date(2024, 12, 19)
    assert format_date(d, "en") == "Dec 19, 2024"
    assert "2024" in format_date(d, "sq") and "dhj" in format_date(d, "sq")


def test_placeholders_and_untranslated_fallback():
    assert t("{n} municipalities", "en", n=38) == "38 municipalities"
    assert t("a string nobody translated", "sq") == "a string nobody translated"


def test_default_language_from_environment(monkeypatch):
    for var in ("SOCIALMAP_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert default_language() == "en"
    monkeypatch.setenv("LANG", "sq_AL.UTF-8")
    assert default_language() == "sq"
    monkeypatch.setenv("SOCIALMAP_LANG", "sr")
    assert default_language() == "sr"


def test_unknown_language_is_a_clear_error():
    with pytest.raises(SocialMapError, match="use one of en, sq, sr"):
        check_language("de")
