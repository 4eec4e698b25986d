"""
The words of a taxonomy file's problems: each pydantic error of an entry's field as the message of its kind.

:class:`socialmap._taxonomy_check._Checker` checks the entries and names each problem's key and line;
what a problem says and how to fix it is written here, once for every check: :func:`field_problem` for
an error of the models of :mod:`socialmap._taxonomy_schema` (unknown key, missing value, not true/false,
not text, not a finite number, out of range), and the phrasings the other checks share.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from socialmap.errors import N_, Message, Number


def field_problem(model: Any, key: str, error: Mapping[str, Any], value: Any) -> tuple[Any, Any]:
    """Word one pydantic error of an entry's field (its type and bounds): the problem and its fix."""
    kind = str(error["type"])
    info = model.model_fields.get(key)
    what = (info.description if info is not None else None) or key
    if kind == "extra_forbidden":
        allowed = tuple(model.model_fields)
        guess = difflib.get_close_matches(key, allowed, n=1)
        return (Message(N_("unknown key '{key}'."), key=key), _remove_fix(guess, allowed))
    elif kind == "missing" and key == "rate":
        return (
            N_("the rate is missing."),
            N_(
                "write `rate: <share between 0 and 1>` with its `source:`, or `rate: null` if no "
                "figure is known (the need is then unknown, not zero)."
            ),
        )
    elif kind == "missing":
        return (_missing(what), _as_text(what))
    elif kind == "bool_type":
        return (
            Message(N_("must be true or false; found {found}."), found=_describe(value)),
            N_("write true or false (no quotes)."),
        )
    elif kind.startswith("string_"):
        return (_not_text(what, value), _as_text(what))
    elif kind == "finite_number":
        return (
            Message(N_("must be a finite number ({what}); found {found}."), what=_m(what), found=repr(value)),
            N_("write a number, or null if unknown."),
        )
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        number = float(value)
        fix: str
        if number < 0:
            fix = N_("numbers here cannot be negative; check the sign.")
        elif kind == "less_than_equal" and float(error.get("ctx", {}).get("le", 0)) == 1:
            fix = N_("write a share between 0 and 1 (e.g. 5.2 % → 0.052), not a percentage.")
        else:
            fix = Message(N_("write {what}."), what=_m(what))
        return (
            Message(
                N_("{number} is out of range: must be {what}."), number=Number(number, "g"), what=_m(what)
            ),
            fix,
        )
    elif kind.startswith(("float_", "int_")):
        found = _describe(value)
        if isinstance(value, str) and value.strip().endswith("%"):
            fix = N_("write the share as a decimal without % (e.g. 5 % → 0.05), or null if unknown.")
        else:
            fix = N_("write a plain number without quotes, units or % sign, or null if unknown.")
        return (
            Message(N_("must be a number ({what}); found {found}."), what=_m(what), found=found),
            fix,
        )
    else:  # a kind of error the models do not make today: pydantic's own words
        return (
            Message(N_("{error}; found {found}."), error=str(error["msg"]), found=_describe(value)),
            Message(N_("write {what} as the schema says."), what=_m(what)),
        )


def _m(text: str) -> str:
    """Return a text as a message's value: a :class:`Message` as it is, a fixed text (N_) looked up."""
    return text if isinstance(text, Message) else Message(text)


def _missing(what: str) -> Message:
    return Message(N_("{what} is missing."), what=_m(what))


def _not_text(what: str, value: Any) -> Message:
    return Message(N_("{what} must be non-empty text; found {found}."), what=_m(what), found=_describe(value))


def _as_text(what: str) -> Message:
    return Message(N_("write {what} as text."), what=_m(what))


def _hinted(guess: list[str], fix: Message) -> Message:
    """Return a fix, after "did you mean ...?" when a close key was found."""
    if guess:
        return Message(N_("did you mean '{guess}'? If not, {fix}"), guess=guess[0], fix=fix)
    return fix


def _remove_fix(guess: list[str], allowed: tuple[str, ...]) -> Message:
    """How to fix an unknown key: the closest allowed key if there is one, and the allowed keys."""
    if guess:
        return Message(
            N_("did you mean '{guess}'? If not, remove it; allowed keys here: {allowed}."),
            guess=guess[0],
            allowed=", ".join(allowed),
        )
    return Message(N_("remove it; allowed keys here: {allowed}."), allowed=", ".join(allowed))


def _describe(value: Any) -> str:
    """Describe a YAML value for an error message."""
    if value is None:
        return Message(N_("nothing (null)"))
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
