"""Known area sets: where the demo's files are, recognising a demo's municipalities, boundaries attribution.

What the loaders and validators need to know of area sets without loading a demo through them:
:func:`recognise_areas` tells whether a table's areas are a demo's municipalities (so that their
population can be joined by name with the demo's aliases, and messages name them in Albanian,
Serbian or English); :func:`boundaries_attribution` finds the attribution a boundaries file asks
for. The demo itself is loaded by :mod:`socialmap.datasets`, which re-exports these names.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from socialmap import settings
from socialmap.errors import DataSourceError, SocialMapError
from socialmap.i18n import N_

logger = logging.getLogger("socialmap.datasets")


#: Demo datasets this version ships.
DEMOS = ("kosovo",)


_DEMO_FILES = {
    "kosovo": {
        "areas": ("boundaries", "kosovo_municipalities.geojson"),
        "services": ("services", "kosovo_services.csv"),
        "population": ("population", "kosovo_population_2024.csv"),
    }
}


#: Attribution to show wherever geoBoundaries data are drawn (their licence asks for it).
GEOBOUNDARIES_ATTRIBUTION = "Boundaries: geoBoundaries (CC BY-SA 2.0), © OpenStreetMap contributors"


#: Attribution and caveat of the demo's schematic boundaries.
SCHEMATIC_ATTRIBUTION = (
    "schematic boundaries (not official): Natural Earth outline (public domain) tiled by socialmap"
)


def demo_dir() -> Path:
    """
    Return the folder holding the demo data.

    The wheel carries it inside the package (``socialmap/_demo_data``); a source checkout
    has it at the top level (``data/``).
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_demo_data", here.parent / "data"):
        if (candidate / "boundaries").is_dir():
            return candidate
    raise DataSourceError(
        N_(
            "The demo data are missing: neither socialmap/_demo_data nor data/ beside the package "
            "was found. Reinstall socialmap, or rebuild them with `make demo-data`."
        )
    )


def demo_files(name: str = "kosovo") -> dict[str, Path]:
    """
    Return the paths of a demo's files (``areas``, ``services``, ``population``).

    Parameters
    ----------
    name
        Demo name; one of :data:`DEMOS`.
    """
    if name not in _DEMO_FILES:
        raise SocialMapError(
            N_("Unknown demo {name}. Available demos: {demos}."), name=repr(name), demos=", ".join(DEMOS)
        )
    root = demo_dir()
    files = {kind: root.joinpath(*parts) for kind, parts in _DEMO_FILES[name].items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataSourceError(
            N_(
                "The {name} demo is incomplete: {files} missing. Reinstall socialmap, or "
                "rebuild the demo data with `make demo-data`."
            ),
            name=name,
            files=", ".join(missing),
        )
    return files


#: Longest attribution text kept from a file's metadata.
_MAX_ATTRIBUTION = 300


def _file_metadata(path: Path) -> dict[str, str]:
    """Key → text of a boundaries file's own metadata (GeoJSON members, GDAL metadata, a ZIP's .txt)."""
    import json
    import zipfile

    import pyogrio

    out: dict[str, str] = {}
    suffix = path.suffix.lower()
    try:
        if suffix in (".geojson", ".json") and path.stat().st_size <= settings.max_upload_bytes:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            if isinstance(data, dict):
                for key, value in data.items():
                    if key in ("type", "features", "crs", "bbox"):
                        continue
                    if isinstance(value, dict):
                        out.update(
                            {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float)}
                        )
                    elif isinstance(value, str):
                        out[str(key)] = value
        elif suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    name = info.filename
                    if not name.lower().endswith(".txt") or info.file_size > 65536 or ".." in name:
                        continue
                    for line in archive.read(info).decode("utf-8", "replace").splitlines():
                        key, sep, value = line.partition(":")
                        if sep and key.strip() and value.strip():
                            out.setdefault(key.strip(), value.strip())
        else:
            info = pyogrio.read_info(path)
            for block in (info.get("dataset_metadata"), info.get("layer_metadata")):
                out.update({str(k): str(v) for k, v in (block or {}).items()})
    except Exception:  # noqa: BLE001 - metadata is a courtesy: the loader reports an unreadable file
        logger.info("no metadata read from %s", path, exc_info=True)
    return out


def boundaries_attribution(path: str | os.PathLike[str], areas: pd.DataFrame | None = None) -> str | None:
    """
    Return the attribution a boundaries file asks for, from its own metadata where it has one.

    Looked for, in turn: an ``attribution`` entry of the file's metadata (a GeoJSON top-level member,
    GeoPackage/GDAL metadata, or a ``.txt`` beside the data in a ZIP); geoBoundaries' metadata
    (``boundarySource-1``, ``boundaryLicense``: the file geoBoundaries ships in its ZIP); a
    ``copyright``, ``license`` or ``source`` entry; and last the geoBoundaries layout itself
    (``shapeID`` / ``shapeGroup`` columns, or a ``geoBoundaries-…`` file name): for Kosovo (``XKX``)
    :data:`GEOBOUNDARIES_ATTRIBUTION`, for another country a pointer to geoBoundaries and its metadata.

    Parameters
    ----------
    path
        The boundaries file.
    areas
        The areas as read (for the geoBoundaries columns), optional.

    Returns
    -------
    attribution
        One line of text, or ``None`` when the file says nothing (then ask the person who uploaded it).
    """
    file = Path(path)
    meta = {k.strip().lower(): v.strip() for k, v in _file_metadata(file).items() if v and str(v).strip()}
    text: str | None = None
    if meta.get("attribution"):
        text = meta["attribution"]
    elif meta.get("boundarylicense") or any(re.fullmatch(r"boundarysource-\d+", k) for k in meta):
        sources = [v for k, v in sorted(meta.items()) if re.fullmatch(r"boundarysource-\d+", k)]
        text = "Boundaries: geoBoundaries"
        if meta.get("boundarylicense"):
            text += f" ({meta['boundarylicense']})"
        if sources:
            text += ", from " + ", ".join(sources)
    else:
        parts = [meta[k] for k in ("copyright", "license", "licence", "source") if meta.get(k)]
        if parts:
            text = "; ".join(dict.fromkeys(parts))
    if text is None:
        columns = set(areas.columns) if areas is not None else set()
        group = None
        if areas is not None and "shapeGroup" in columns:
            groups = {str(g) for g in areas["shapeGroup"].dropna().unique()}
            group = groups.pop() if len(groups) == 1 else None
        named = re.search(r"geoBoundaries-([A-Z]{3})-ADM\d", file.name, flags=re.IGNORECASE)
        if group is None and named:
            group = named.group(1).upper()
        if group is not None or {"shapeID", "shapeGroup"} <= columns:
            text = (
                GEOBOUNDARIES_ATTRIBUTION
                if group == "XKX"
                else "Boundaries: geoBoundaries (www.geoboundaries.org); see its metadata for the licence"
            )
    if text is None:
        return None
    text = re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f]", " ", text)).strip()
    return text[:_MAX_ATTRIBUTION] or None


#: Share of a set of areas whose names must be a demo's municipalities for them to be recognised.
RECOGNISE_SHARE = 0.8


@dataclass(frozen=True)
class KnownAreas:
    """
    Areas recognised as a demo's municipalities by their names (see :func:`recognise_areas`).

    Attributes
    ----------
    demo
        The demo's name (``"kosovo"``).
    aliases
        The demo's alias table (other spellings of its municipalities, e.g. Serbian names).
    names
        One row per recognised area: ``area_id`` (the areas' own id), ``demo_area_id``, and the demo's
        ``name_sq``, ``name_sr``, ``name_en`` of that municipality.
    share
        The share of the areas recognised.
    """

    demo: str
    aliases: pd.DataFrame
    names: pd.DataFrame
    share: float


#: The columns of a demo's areas that recognising them reads.
_NAME_COLUMNS = ("area_id", "name", "name_sq", "name_sr", "name_en")


@functools.lru_cache(maxsize=4)
def _demo_areas(name: str) -> pd.DataFrame:
    """
    Return a demo's area ids and names (:data:`_NAME_COLUMNS`) as its shipped boundaries file holds them.

    Read with pyogrio, without the geometry and not through :func:`socialmap.io.read_areas`: the
    loaders recognise areas with this table (the demo's files are built clean by
    ``scripts/build_demo.py``; ``tests/test_datasets.py`` checks that the table is the one
    ``read_areas`` gives).
    """
    import pyogrio

    frame = pyogrio.read_dataframe(demo_files(name)["areas"], read_geometry=False)
    columns = [c for c in _NAME_COLUMNS if c in frame.columns]
    out = pd.DataFrame(frame[columns]).reset_index(drop=True)
    out["area_id"] = out["area_id"].astype(str)
    return out


def _demo_aliases(name: str) -> pd.DataFrame | None:
    from socialmap.names import kosovo_aliases

    return kosovo_aliases() if name == "kosovo" else None


@functools.lru_cache(maxsize=16)
def _recognise(names: tuple[str | None, ...], ids: tuple[str, ...], min_share: float) -> KnownAreas | None:
    from socialmap.names import match

    given = [n for n in names if n]
    if len(given) < 3:
        return None
    for demo_name in DEMOS:
        demo_areas = _demo_areas(demo_name)
        reference = demo_areas.reset_index(drop=True)
        aliases = _demo_aliases(demo_name)
        # No fuzzy matching (threshold above 1): only names the rules and the aliases vouch for.
        result = match(list(names), reference, key="area_id", aliases=aliases, threshold=2.0)
        keys = result["key"].tolist()
        matched = [i for i, k in enumerate(keys) if isinstance(k, str)]
        share = len(matched) / len(names)
        if share < min_share:
            continue
        own = demo_areas.set_index("area_id")
        table = pd.DataFrame(
            {
                "area_id": [ids[i] for i in matched],
                "demo_area_id": [keys[i] for i in matched],
            }
        )
        for col in ("name_sq", "name_sr", "name_en"):
            if col in own.columns:
                table[col] = table["demo_area_id"].map(own[col]).to_numpy()
        logger.info("areas recognised as the %s demo's municipalities (%.0f%%)", demo_name, 100 * share)
        return KnownAreas(demo_name, aliases if aliases is not None else pd.DataFrame(), table, share)
    return None


def recognise_areas(areas: pd.DataFrame, *, min_share: float | None = None) -> KnownAreas | None:
    """
    Tell whether areas are a demo's municipalities (e.g. Kosovo's), by their names.

    The areas' ``name`` column is matched to the demo's municipalities with
    :func:`socialmap.names.match` and the demo's aliases, without fuzzy matching (exact, normalised,
    alias, Albanian definite form: "Municipality of Gjakova" is Gjakovë). When at least
    ``min_share`` of the areas match, they are recognised: their population tables are then joined by
    name with the demo's aliases (Serbian names such as Đakovica or Uroševac), and messages can name
    them in Albanian, Serbian or English.

    Parameters
    ----------
    areas
        Areas with ``area_id`` and ``name`` (any boundaries: the demo's, geoBoundaries', your own).
    min_share
        Share of the areas that must match (default :data:`RECOGNISE_SHARE`).

    Returns
    -------
    known
        A :class:`KnownAreas`, or ``None`` when the areas are no demo's municipalities.
    """
    if "name" not in areas.columns or "area_id" not in areas.columns or len(areas) == 0:
        return None
    names = tuple(None if not isinstance(v, str) or not v.strip() else v for v in areas["name"].tolist())
    ids = tuple(str(v) for v in areas["area_id"].tolist())
    return _recognise(names, ids, RECOGNISE_SHARE if min_share is None else float(min_share))
