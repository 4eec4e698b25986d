"""
The app's uploads: the bytes of a file a person gave, read into a frame, every problem a table row.

:func:`read_upload` turns an uploaded file into a frame through the loaders of :mod:`socialmap.io`,
and every problem into a row of :func:`problems_table` (file, row number, column, problem, fix),
never a traceback. :func:`read_inputs` reads the three inputs (:class:`Inputs`, the demo filling in
what is not uploaded or could not be used); :func:`preview_upload` shows a file's first rows before
it is used, :func:`read_taxonomy` reads an uploaded taxonomy, :func:`demo_caption` says what the
demo stands in for.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from socialmap import errors, i18n
from socialmap.app.labels import KIND_LABELS, PROBLEM_COLUMNS, SEVERITY_LABELS, UPLOAD_KINDS
from socialmap.errors import Message, Problem, SocialMapError, ValidationError
from socialmap.i18n import N_, t

if TYPE_CHECKING:
    from socialmap.datasets import Demo

logger = logging.getLogger(__name__)


#: An uploaded file: its name as the user's computer gave it, and its bytes.
Upload = tuple[str, bytes]


@dataclass(frozen=True)
class UploadOutcome:
    """
    What became of one uploaded file.

    Attributes
    ----------
    kind
        ``"areas"``, ``"services"`` or ``"population"``.
    filename
        The name the user's file had.
    frame
        The clean frame (as the loader returns it), or ``None`` when the file has errors.
    problems
        Every problem found (errors and warnings), labelled with ``filename``.
    """

    kind: str
    filename: str
    frame: pd.DataFrame | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the file can be used (it may still have warnings)."""
        return self.frame is not None

    @property
    def errors(self) -> int:
        """Number of problems of severity ``"error"``."""
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        """Number of problems of severity ``"warning"``."""
        return len(self.problems) - self.errors


def _safe_filename(filename: str) -> str:
    """Return a plain name for a temp file: the stem's letters, digits, ``.-_`` and the suffix."""
    name = Path(str(filename).replace("\\", "/")).name
    suffix = Path(name).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name[: len(name) - len(suffix)]).strip("._") or "upload"
    return f"{stem[:80]}{suffix}"


def _relabel(problem: Problem, temp_path: str, temp_dir: str, filename: str) -> Problem:
    def clean(text: str) -> str:
        return text.replace(temp_path, filename).replace(temp_dir + "/", "").replace(temp_dir, "")

    # map_text changes the values inside a translatable message, so it still translates.
    return dataclasses.replace(problem.map_text(clean), file=filename)


def read_upload(
    upload: Upload,
    kind: str,
    *,
    taxonomy: Any = None,
    areas: gpd.GeoDataFrame | None = None,
    columns: Mapping[str, str] | None = None,
) -> UploadOutcome:
    """
    Read an uploaded file: bytes → a temp file with the right suffix → the loader.

    Parameters
    ----------
    upload
        ``(file name, bytes)``. The name's suffix picks the format (any the loaders read:
        ``socialmap.io.SUPPORTED_SUFFIXES``).
    kind
        ``"areas"``, ``"services"`` or ``"population"``.
    taxonomy
        For services: the taxonomy their ``service_type`` must come from.
    areas
        For services and population: the areas to check them against (and to join names to).
    columns
        The mapping of the file's columns (``{"their column": "our column"}``, e.g. from the app's
        selects via :func:`socialmap.columns.apply_choices`); ``None``: guessed from their names.

    Returns
    -------
    outcome
        The clean frame when the file has no error, and every problem found, labelled with the
        user's file name (never the temp path). A file that cannot be read at all, for any
        reason, gives one error row; nothing is raised.
    """
    from socialmap import io as sm_io
    from socialmap.validate import validate_file

    if kind not in UPLOAD_KINDS:
        raise SocialMapError(f"`kind` must be one of {UPLOAD_KINDS}; got {kind!r}.")
    filename, data = str(upload[0]), bytes(upload[1])
    name = _safe_filename(filename)
    suffix = Path(name).suffix
    if suffix not in sm_io.SUPPORTED_SUFFIXES:
        problem = Problem(
            filename,
            None,
            None,
            Message(N_("Files ending in {suffix} cannot be read."), suffix=repr(suffix or "(no extension)")),
            Message(N_("Save the file as one of: {suffixes}."), suffixes=", ".join(sm_io.SUPPORTED_SUFFIXES)),
        )
        return UploadOutcome(kind, filename, None, (problem,))
    with tempfile.TemporaryDirectory(prefix="socialmap-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)

        def relabel(problems: Iterable[Problem]) -> tuple[Problem, ...]:
            return tuple(_relabel(p, str(path), tmp, filename) for p in problems)

        options: dict[str, Any] = {"columns": dict(columns) if columns else None}
        if kind == "services":
            options.update(taxonomy=taxonomy, areas=areas)
        elif kind == "population":
            options.update(areas=areas)
        try:
            report = validate_file(path, kind, **options)
            problems = relabel(report.problems)
            if not report.ok:
                return UploadOutcome(kind, filename, None, problems)
            reader: Any = {
                "areas": sm_io.read_areas,
                "services": sm_io.read_services,
                "population": sm_io.read_population,
            }[kind]
            with warnings.catch_warnings():
                # The loader's one warning repeats what the report already lists, row by row.
                warnings.simplefilter("ignore", UserWarning)
                frame = reader(path, **options)
        except ValidationError as exc:
            return UploadOutcome(kind, filename, None, relabel(exc.problems))
        except SocialMapError as exc:
            problem = Problem.from_error(exc, name)
            return UploadOutcome(kind, filename, None, relabel([problem]))
        except Exception as exc:  # noqa: BLE001 - any file a user sends must end in a report, not a crash
            logger.exception("reading the uploaded %s file %r failed", kind, filename)
            problem = _unexpected(
                filename,
                exc,
                N_("The file could not be read ({error})."),
                Message(
                    N_(
                        "Check that it is a valid {suffix} file with {kind} in it, or save it in another "
                        "format."
                    ),
                    suffix=suffix,
                    kind=Message(KIND_LABELS[kind]),
                ),
            )
            return UploadOutcome(kind, filename, None, relabel([problem]))
    return UploadOutcome(kind, filename, frame, problems)


def _unexpected(source: str, exc: BaseException, message: str, fix: str) -> Problem:
    """One problem for a failure nobody foresaw: ``message`` has an ``{error}`` placeholder for it."""
    return Problem(source, None, None, Message(message, error=f"{type(exc).__name__}: {exc}"), fix)


def problems_table(problems: Iterable[Problem], lang: str | None = None) -> pd.DataFrame:
    """
    Turn problems into a readable table, errors first, then by row.

    Parameters
    ----------
    problems
        :class:`~socialmap.errors.Problem` objects (e.g. ``UploadOutcome.problems``).
    lang
        Language of the column headers and the severity words.

    Returns
    -------
    table
        Columns *Severity*, *File*, *Row* (as the file shows it; blank for whole-file problems),
        *Column*, *Problem*, *How to fix it*.
    """
    rows = sorted(
        (p.as_dict(lang) for p in problems),
        key=lambda d: (d["severity"] != "error", -1 if d["row"] is None else d["row"], d["column"] or ""),
    )
    df = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    df["row"] = df["row"].astype("Int64")
    df["severity"] = df["severity"].map(lambda s: t(SEVERITY_LABELS.get(s, str(s)), lang))
    return df.rename(columns={k: t(v, lang) for k, v in PROBLEM_COLUMNS.items()})


def error_problems(exc: SocialMapError, source: str = "analysis") -> tuple[Problem, ...]:
    """
    Return the problems behind an error: a :class:`ValidationError`'s list, else one problem.

    Parameters
    ----------
    exc
        The error raised.
    source
        What to name in the *File* column when the error names no file.
    """
    if isinstance(exc, ValidationError):
        return tuple(exc.problems)
    return (Problem.from_error(exc, source, fix=N_("Change the options or the data named in the message.")),)


@dataclass(frozen=True)
class Inputs:
    """
    The three inputs after reading the uploads.

    Attributes
    ----------
    areas, services, population
        The uploaded frames, or ``None`` where nothing usable was uploaded.
    uploads
        One :class:`UploadOutcome` per uploaded file.
    demo_instead
        Kinds whose upload has errors and for which the person chose to use the demo's layer instead.
    taxonomy
        The taxonomy the services were checked against (an uploaded one, else the demo's).
    """

    areas: gpd.GeoDataFrame | None = None
    services: gpd.GeoDataFrame | None = None
    population: pd.DataFrame | None = None
    uploads: tuple[UploadOutcome, ...] = ()
    demo_instead: tuple[str, ...] = ()
    taxonomy: Any = None

    @property
    def ok(self) -> bool:
        """Whether every uploaded file could be used."""
        return all(u.ok for u in self.uploads)

    @property
    def uses_demo(self) -> bool:
        """Whether the demo supplies at least one of the three inputs."""
        return bool(self.demo_layers)

    @property
    def failed(self) -> tuple[str, ...]:
        """Kinds whose uploaded file has errors."""
        return tuple(u.kind for u in self.uploads if not u.ok)

    @property
    def blocked(self) -> tuple[str, ...]:
        """
        Kinds whose upload failed and that the demo may not stand in for: nothing is analysed then.

        A failed upload is never silently replaced by the demo's layer (real boundaries drawn with
        invented services): the person fixes the file, or chooses the demo's layer explicitly
        (``demo_instead``).
        """
        return tuple(k for k in self.failed if k not in self.demo_instead)

    @property
    def demo_layers(self) -> tuple[str, ...]:
        """Kinds the demo supplies (nothing uploaded, or the demo chosen instead of a failed file)."""
        return tuple(k for k in UPLOAD_KINDS if getattr(self, k) is None and k not in self.blocked)


def read_inputs(
    areas: Upload | None = None,
    services: Upload | None = None,
    population: Upload | None = None,
    *,
    demo: Demo,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    taxonomy: Any = None,
    attribution: str | None = None,
    demo_instead: Iterable[str] = (),
) -> Inputs:
    """
    Read the uploaded files; the demo supplies the areas and taxonomy they are checked against.

    Parameters
    ----------
    areas, services, population
        ``(file name, bytes)`` of each uploaded file, or ``None``.
    demo
        The demo (:func:`socialmap.load_demo`): its taxonomy checks service types; its areas
        check services and population when no areas are uploaded.
    columns
        The column mapping of each upload, by kind (``{"services": {"Emri": "name", ...}}``); a kind
        without one has its columns guessed from their names.
    taxonomy
        An uploaded taxonomy to check the services against (default: the demo's).
    attribution
        The attribution of uploaded boundaries as the person gave it (it replaces the one read from
        the file's metadata); shown on maps and briefs.
    demo_instead
        Kinds for which the person chose the demo's layer if their file has errors.

    Returns
    -------
    inputs
        An :class:`Inputs`; a file with errors is reported and left out (``None``), and blocks the
        analysis unless its kind is in ``demo_instead`` (:attr:`Inputs.blocked`). Uploaded areas are
        named without "Municipality of" and, when they are the demo's areas (matched by name), take
        its names in every language (:func:`socialmap.names.localised_names`).
    """
    maps = {k: dict(v) for k, v in (columns or {}).items() if v}
    tax = taxonomy if taxonomy is not None else demo.taxonomy
    outcomes = []
    area_frame = None
    if areas is not None:
        outcome = read_upload(areas, "areas", columns=maps.get("areas"))
        outcomes.append(outcome)
        area_frame = outcome.frame
        if area_frame is not None:  # names in each language: the demo's, when the areas are its own
            from socialmap.names import kosovo_aliases, localised_names

            aliases = kosovo_aliases() if demo.name == "kosovo" else None
            kept_attrs = dict(area_frame.attrs)
            area_frame = localised_names(area_frame, demo.areas, aliases=aliases)
            area_frame.attrs.update({k: v for k, v in kept_attrs.items() if k not in area_frame.attrs})
            if attribution and attribution.strip():
                area_frame.attrs["attribution"] = attribution.strip()
    check_against = area_frame if area_frame is not None else (None if areas is not None else demo.areas)
    frames: dict[str, Any] = {"areas": area_frame, "services": None, "population": None}
    for kind, upload in (("services", services), ("population", population)):
        if upload is None:
            continue
        outcome = read_upload(upload, kind, taxonomy=tax, areas=check_against, columns=maps.get(kind))
        outcomes.append(outcome)
        frames[kind] = outcome.frame
    return Inputs(
        frames["areas"],
        frames["services"],
        frames["population"],
        tuple(outcomes),
        tuple(k for k in demo_instead if k in UPLOAD_KINDS),
        tax,
    )


@dataclass(frozen=True)
class UploadPreview:
    """
    An uploaded file's header, first rows and guessed mapping (see :func:`socialmap.preview.preview_file`).

    Attributes
    ----------
    preview
        The :class:`socialmap.preview.Preview`, or ``None`` when the file cannot be read.
    problems
        Why it cannot be read (one problem), labelled with the file's name.
    """

    preview: Any = None
    problems: tuple[Problem, ...] = ()


def preview_upload(upload: Upload, kind: str, *, n: int = 5) -> UploadPreview:
    """
    Read an upload's header and first ``n`` rows, and guess how its columns map onto the contract.

    Parameters
    ----------
    upload
        ``(file name, bytes)``.
    kind
        ``"areas"``, ``"services"`` or ``"population"``.
    n
        How many rows to show.

    Returns
    -------
    preview
        An :class:`UploadPreview`; nothing is raised.
    """
    from socialmap import io as sm_io
    from socialmap.preview import preview_file

    filename, data = str(upload[0]), bytes(upload[1])
    name = _safe_filename(filename)
    if Path(name).suffix not in sm_io.SUPPORTED_SUFFIXES:
        return UploadPreview(None, read_upload(upload, kind).problems)
    with tempfile.TemporaryDirectory(prefix="socialmap-preview-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            found = preview_file(path, kind, n=n)
        except SocialMapError as exc:
            problem = _relabel(Problem.from_error(exc, name), str(path), tmp, filename)
            return UploadPreview(None, (problem,))
        except Exception as exc:  # noqa: BLE001 - any file a user sends must end in a report
            logger.exception("previewing the uploaded %s file %r failed", kind, filename)
            problem = _unexpected(
                filename, exc, N_("The file could not be read ({error})."), N_("Check the file.")
            )
            return UploadPreview(None, (problem,))
    return UploadPreview(dataclasses.replace(found, file=filename))


def column_label(column: str, lang: str | None = None, kind: str | None = None) -> str:
    """
    Return the name of a contract column for a person (``service_type`` → "Service type").

    ``kind`` (``"areas"``, ``"services"``, ``"population"``) picks the words of that kind's
    template: ``name`` is "Name of the service" for services, "Municipality" for areas and population.
    """
    from socialmap.columns import TEMPLATE_HEADERS

    # Areas have no template: they are named as the population template names them.
    first = {"areas": "population"}.get(str(kind), str(kind))
    for group in (first, *TEMPLATE_HEADERS):
        headers = TEMPLATE_HEADERS.get(group, {})
        if column in headers:
            return t(headers[column], lang)
    return t(COLUMN_LABELS.get(column, column), lang)


#: Contract columns that have no template header, named for a person.
COLUMN_LABELS = {
    "area_id": N_("Area code"),
    "name_sq": N_("Name in Albanian"),
    "name_sr": N_("Name in Serbian"),
    "name_en": N_("Name in English"),
}


@dataclass(frozen=True)
class TaxonomyUpload:
    """
    An uploaded taxonomy (YAML): the taxonomy, or the problem that prevented it.

    Attributes
    ----------
    taxonomy
        The :class:`socialmap.taxonomy.Taxonomy`, or ``None``.
    problems
        Why it could not be used (one problem).
    """

    taxonomy: Any = None
    problems: tuple[Problem, ...] = ()


def read_taxonomy(upload: Upload) -> TaxonomyUpload:
    """
    Read an uploaded taxonomy (a YAML file in the schema of ``socialmap/taxonomies/README.md``).

    Parameters
    ----------
    upload
        ``(file name, bytes)``; ``.yaml`` or ``.yml``.

    Returns
    -------
    taxonomy
        A :class:`TaxonomyUpload`; nothing is raised. Its labels are needed only in the languages
        the file declares (``languages:``).
    """
    from socialmap.taxonomy import load_taxonomy

    filename, data = str(upload[0]), bytes(upload[1])
    name = _safe_filename(filename)
    if Path(name).suffix not in (".yaml", ".yml"):
        problem = Problem(
            filename,
            None,
            None,
            Message(
                N_("Files ending in {suffix} cannot be read."),
                suffix=repr(Path(name).suffix or "(no extension)"),
            ),
            Message(N_("Save the file as one of: {suffixes}."), suffixes=".yaml, .yml"),
        )
        return TaxonomyUpload(None, (problem,))
    with tempfile.TemporaryDirectory(prefix="socialmap-taxonomy-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            taxonomy = load_taxonomy(path)
        except SocialMapError as exc:
            # the Message itself (still translatable), with the temporary path shown as the upload's name
            text = errors.map_text(
                exc.args[0] if exc.args else str(exc), lambda s: s.replace(str(path), filename)
            )
            problem = Problem(
                filename,
                None,
                None,
                Message(N_("The taxonomy cannot be used: {error}"), error=text),
                N_(
                    "Correct the file as the message says (see socialmap/taxonomies/README.md), and upload "
                    "it again."
                ),
            )
            return TaxonomyUpload(None, (problem,))
    return TaxonomyUpload(dataclasses.replace(taxonomy, origin=filename))


#: "In <language>", to say which language a taxonomy's labels are shown in.
LANGUAGE_NAMES = {"en": N_("in English"), "sq": N_("in Albanian"), "sr": N_("in Serbian")}


def taxonomy_note(taxonomy: Any, lang: str | None = None) -> str | None:
    """
    Say when a taxonomy has no labels in ``lang`` and its own first language is shown instead.

    Returns
    -------
    note
        The sentence, or ``None`` when the taxonomy speaks ``lang``.
    """
    code = i18n.check_language(lang)
    if taxonomy is None or taxonomy.has_language(code):
        return None
    return t(
        "The taxonomy {name} has no names {language}: its service types and groups are shown {first}.",
        code,
        name=str(taxonomy.name),
        language=t(LANGUAGE_NAMES[code], code),
        first=t(LANGUAGE_NAMES[taxonomy.languages[0]], code),
    )


def demo_caption(inputs: Inputs, lang: str | None = None) -> str | None:
    """
    Say which of the layers on screen are the demo's, and why (nothing uploaded, or chosen instead).

    Returns
    -------
    caption
        E.g. "From the demo (not your data): services (your file had errors, you chose the demo's),
        population." ``None`` when every layer is the user's.
    """
    parts = []
    for kind in inputs.demo_layers:
        title = t(KIND_LABELS[kind], lang)
        if kind in inputs.failed:
            parts.append(t("{kind} (your file has errors; you chose the demo's instead)", lang, kind=title))
        else:
            parts.append(title)
    if not parts:
        return None
    return t("From the demo, not your data: {layers}.", lang, layers=", ".join(parts))


def start_choice(ours: str, kept: Mapping[str, str], columns: Sequence[str], guessed: str | None) -> int:
    """
    Return where a column-mapping select starts: an index into ``["", *columns]`` (0: none).

    The file's column that the kept mapping (``{"their column": "our column"}``, e.g. a workspace's)
    names for ``ours`` comes first, if the file has it; else the library's guess (``guessed``), if
    the file has it; else none.

    >>> start_choice("name", {"Emri": "name"}, ["Kodi", "Emri"], "Kodi")
    2
    """
    start = next((c for c, o in kept.items() if o == ours and c in columns), None)
    start = start or guessed or ""
    options = ["", *columns]
    return options.index(start) if start in options else 0
