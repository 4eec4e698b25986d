"""Exceptions raised by socialmap.

Every error the library raises on bad input is a :class:`SocialMapError`, so a caller
(the app, the CLI, a notebook) can catch one type and show its message to a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SocialMapError(Exception):
    """Base class of every error socialmap raises on bad input or bad data."""


class CRSError(SocialMapError):
    """A coordinate reference system is missing, mismatched or unsuitable (e.g. geographic)."""


class DataSourceError(SocialMapError):
    """A file or download cannot be read: missing, unreachable, empty, or not the expected format."""


class TaxonomyError(SocialMapError):
    """A taxonomy (service types, target groups and rates) is malformed."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Attributes
    ----------
    file
        The file (or dataset label) the problem is in.
    row
        1-based data row number as a person sees it in the file, or ``None`` when the
        problem concerns the whole file or a whole column.
    column
        The column concerned, or ``None``.
    message
        What is wrong.
    fix
        How to fix it.
    severity
        ``"error"`` (the input cannot be used) or ``"warning"`` (repaired or worth a look).
    """

    file: str
    row: int | None
    column: str | None
    message: str
    fix: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{self.severity.upper()}: {where}: {self.message} Fix: {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a plain dict (for tables)."""
        return {
            "severity": self.severity,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "problem": self.message,
            "fix": self.fix,
        }


@dataclass
class ValidationError(SocialMapError):
    """An input has one or more errors; ``problems`` lists them all (errors and warnings)."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``"error"``."""
        return [p for p in self.problems if p.severity == "error"]

    def __str__(self) -> str:
        errs = self.errors
        head = f"{len(errs)} problem(s) found:" if errs else "Problems found:"
        return "\n".join([head, *(f"  - {p}" for p in errs or self.problems)])
