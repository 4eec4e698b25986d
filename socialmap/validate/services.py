"""Checks and safe repairs of services: ids, service types (matched to the taxonomy), capacities, points."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialmap.errors import (
    Localised,
    Message,
    Number,
    Problem,
)
from socialmap.i18n import N_, Nn_
from socialmap.sources.base import _is_missing
from socialmap.validate.base import _Collector, _Ints, _list, _with_hint
from socialmap.validate.geometry import (
    _as_area_frame,
    _coordinate_columns,
    _geo_frame,
    _missing_geometry,
    _points_from_columns,
    _range_check,
    _swap_check,
)
from socialmap.validate.mapping import _empty, _finish, _head, _require
from socialmap.validate.values import _clean_text, _ids, _numbers


def _service_type_keys(taxonomy: Any) -> list[str] | None:
    if taxonomy is None:
        return None
    keys = getattr(taxonomy, "service_type_keys", None)
    if keys is None:
        if isinstance(taxonomy, str) or not isinstance(taxonomy, Iterable):
            raise TypeError(
                f"`taxonomy` should be a taxonomy (an object with `.service_type_keys`) or a list of "
                f"service type keys, got {type(taxonomy)}."
            )
        keys = taxonomy
    if callable(keys):
        keys = keys()
    return [str(k) for k in keys]


def _validate_services(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: _Ints | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    taxonomy: Any = None,
    areas: pd.DataFrame | None = None,
    centroids: bool = False,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    keys = _service_type_keys(taxonomy)
    frame, c, required = _head(frame, "services", file=file, rows=rows, columns=columns)
    if _empty(frame, c):
        return frame, c.problems
    frame = _clean_text(frame.copy(), c)
    # service_id may be missing: ids are then made from each row (see _made_ids).
    missing = _require(frame, "services", [n for n in required if n != "service_id"], c)
    make_ids = "service_id" not in frame.columns
    if not make_ids:  # rows left empty get an id made from the row (below)
        frame = _ids(frame, "service_id", c, report_empty=False)
    if "name" not in missing:
        empty = np.flatnonzero(frame["name"].isna().to_numpy())
        c.summary(
            empty,
            "name",
            Nn_(
                "'name' is empty in {n} row; that service will be shown by its id ({rows}).",
                "'name' is empty in {n} rows; those services will be shown by their id ({rows}).",
            ),
            N_("Give every service a name."),
            n=len(empty),
        )
    if "capacity" not in missing:
        frame = _numbers(
            frame,
            "capacity",
            c,
            missing_message=Nn_(
                "'capacity' is empty in {n} row: taken as unknown (not as 1) ({rows}).",
                "'capacity' is empty in {n} rows: taken as unknown (not as 1) ({rows}).",
            ),
            decimal=decimal,
            missing_fix=N_("Fill in the number of persons each service can serve at once, where known."),
            counts=True,
        )
    if "service_type" not in missing:
        frame = _service_types(frame, keys, c, _service_type_labels(taxonomy))

    gdf = _geo_frame(frame, "services", crs, c)
    if gdf is None:
        found = _coordinate_columns(frame, c)
        if found is None:
            c.add(
                Message(
                    N_("The services have no geometry and no coordinate columns; found {found}."),
                    found=_list(frame.columns),
                ),
                N_(
                    "Add latitude and longitude columns (named lat/latitude/y and lon/lng/long/longitude/x), "
                    "or map yours with `columns={'your lat': 'lat', 'your lon': 'lon'}`."
                ),
                column="geometry",
            )
            return _finish(frame, "services", c)
        if found is False:
            return _finish(frame, "services", c)
        assert isinstance(found, tuple)
        gdf, reported = _points_from_columns(frame, found[0], found[1], crs, c)
    else:
        reported = None
    present = _missing_geometry(gdf, c, skip=reported)
    gdf, ok = _service_points(gdf, present, centroids, c)
    ok = _range_check(gdf, ok, c, points=True)
    if gdf.crs is not None:
        area_frame = _as_area_frame(areas, gdf.crs) if areas is not None else None
        ok = _swap_check(gdf, ok, area_frame, c)
        if area_frame is not None and ok.any():
            _outside_areas(gdf, ok, area_frame, c)
    if make_ids or gdf["service_id"].isna().any():
        gdf = _made_ids(gdf, c)
    return _finish(gdf, "services", c)


def _made_ids(gdf: gpd.GeoDataFrame, c: _Collector) -> gpd.GeoDataFrame:
    """
    Give services without a ``service_id`` (no column, or an empty cell) ids made from each row.

    The id is ``svc-`` and the first ten hex digits of the SHA-1 of the row's name, service type
    and coordinates (to 6 decimals, in the file's CRS): the same row gives the same id in every run
    and in any order of rows; a repeated row gets ``-2``, ``-3``... in file order. Said in a warning.
    """
    import hashlib

    given = gdf["service_id"].tolist() if "service_id" in gdf.columns else [None] * len(gdf)
    given = [None if _is_missing(v) else v for v in given]
    todo = [i for i, v in enumerate(given) if v is None]
    names = gdf["name"].tolist() if "name" in gdf.columns else [None] * len(gdf)
    types = gdf["service_type"].tolist() if "service_type" in gdf.columns else [None] * len(gdf)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    ids = list(given)
    taken = {str(v) for v in given if v is not None}
    for i in todo:
        geom = geoms[i]
        if geom is None or geom.is_empty:
            where = ""
        elif geom.geom_type == "Point":
            where = f"{geom.x:.6f},{geom.y:.6f}"
        else:
            where = geom.wkb_hex
        name, kind = names[i], types[i]
        key = "|".join(
            ["" if _is_missing(name) else str(name), "" if _is_missing(kind) else str(kind), where]
        )
        made = "svc-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]  # noqa: S324 - an id, not security
        n, candidate = 1, made
        while candidate in taken:
            n += 1
            candidate = f"{made}-{n}"
        taken.add(candidate)
        ids[i] = candidate
    out = gdf.drop(columns="service_id", errors="ignore")
    out.insert(0, "service_id", pd.Series(ids, index=gdf.index, dtype=object))
    if todo and "service_id" not in gdf.columns:
        c.add(
            Message(
                N_(
                    "The file has no 'service_id' column: made an id for each of the {n} services from its "
                    "name, type and location (e.g. '{example}'); the same row always gets the same id."
                ),
                n=Number(len(todo), ","),
                example=ids[todo[0]],
            ),
            N_("Nothing to do; add a 'service_id' column to use ids of your own."),
            column="service_id",
            severity="warning",
        )
    elif todo:
        c.summary(
            todo,
            "service_id",
            Nn_(
                "'service_id' is empty in {n} row: made an id from its name, type and location (e.g. "
                "'{example}'); the same row always gets the same id ({rows}).",
                "'service_id' is empty in {n} rows: made an id for each from its name, type and "
                "location (e.g. '{example}'); the same row always gets the same id ({rows}).",
            ),
            N_("Nothing to do; fill in 'service_id' to use ids of your own."),
            n=len(todo),
            example=ids[todo[0]],
        )
    return out


def _service_type_labels(taxonomy: Any) -> dict[str, dict[str, str]]:
    """Return the labels of each service type by language, when ``taxonomy`` has them (else empty)."""
    types = getattr(taxonomy, "service_types", None)
    if not isinstance(types, dict):
        return {}
    return {str(k): dict(getattr(v, "labels", {}) or {}) for k, v in types.items()}


#: Similarity (difflib ratio of normalised texts) from which a service type written differently is read
#: as the taxonomy's, and by how much it must be ahead of the next type.
_TYPE_THRESHOLD = 0.85


_TYPE_MARGIN = 0.1


def _match_type(value: str, keys: list[str], forms: dict[str, set[str]]) -> tuple[str | None, str, list[str]]:
    """
    Match one written service type to a key: ``(key or None, how, candidate keys)``.

    ``how``: ``"key"``, ``"case"`` (the key in other letter case), ``"label"`` (a label of the
    taxonomy in any language, ignoring case, diacritics and punctuation), ``"similar"`` (a close
    spelling, clearly closer to one type than to any other), ``"ambiguous"`` (as close to two or more
    types: the candidates), ``"unknown"`` (the closest candidates).
    """
    from socialmap.names import normalise_name

    if value in keys:
        return value, "key", []
    by_case = {k.casefold(): k for k in keys}
    if value.casefold() in by_case:
        return by_case[value.casefold()], "case", []
    norm = normalise_name(value)
    same = [k for k in keys if norm and norm in forms[k]]
    if len(same) == 1:
        return same[0], "label", []
    if len(same) > 1:
        return None, "ambiguous", same
    scores = {
        k: max((difflib.SequenceMatcher(None, norm, f).ratio() for f in forms[k]), default=0.0) for k in keys
    }
    ranked = sorted(keys, key=lambda k: -scores[k])
    if ranked and scores[ranked[0]] >= _TYPE_THRESHOLD:
        close = [k for k in ranked if scores[ranked[0]] - scores[k] < _TYPE_MARGIN]
        if len(close) == 1:
            return ranked[0], "similar", []
        return None, "ambiguous", close
    return None, "unknown", [k for k in ranked[:3] if scores[k] >= 0.6]


def _type_names(keys: Sequence[str], labels: dict[str, dict[str, str]]) -> Localised | str:
    """Return the types listed for a person, each by its label in the language shown and its key."""
    langs = sorted({lang for k in keys for lang in labels.get(k, {})})
    if not langs:
        return ", ".join(keys)
    return Localised(
        {
            lang: "; ".join(f"'{labels[k][lang]}' ({k})" if lang in labels.get(k, {}) else k for k in keys)
            for lang in langs
        },
        fallback="en" if "en" in langs else langs[0],
    )


def _service_types(
    frame: pd.DataFrame,
    keys: list[str] | None,
    c: _Collector,
    labels: dict[str, dict[str, str]] | None = None,
) -> pd.DataFrame:
    from socialmap.names import normalise_name

    values = [None if _is_missing(v) else str(v) for v in frame["service_type"].tolist()]
    empty = [i for i, v in enumerate(values) if v is None]
    c.per_row(
        empty,
        "service_type",
        lambda i: N_("'service_type' is empty."),
        (
            Message(N_("Give every service its type (one of: {types})."), types=", ".join(keys))
            if keys
            else N_("Give every service its type (a key of the taxonomy).")
        ),
    )
    if keys:
        labels = labels or {}
        forms = {
            k: {normalise_name(k.replace("_", " "))} | {normalise_name(t) for t in labels.get(k, {}).values()}
            for k in keys
        }
        matches: dict[str, tuple[str | None, str, list[str]]] = {}
        for v in values:
            if v is not None and v not in matches:
                matches[v] = _match_type(v, keys, forms)
        found: dict[str, list[int]] = {"case": [], "label": [], "similar": []}
        pairs: dict[str, dict[str, str]] = {"label": {}, "similar": {}}
        unknown: list[int] = []
        ambiguous: list[int] = []
        written = list(values)
        for i, v in enumerate(values):
            if v is None:
                continue
            key, how, _ = matches[v]
            if how in found:
                found[how].append(i)
                if how in pairs:
                    pairs[how][v] = str(key)
            if key is not None:
                values[i] = key
            elif how == "ambiguous":
                ambiguous.append(i)
            else:
                unknown.append(i)
        c.summary(
            found["case"],
            "service_type",
            Nn_(
                "Changed the letter case of {n} service type to match the taxonomy ({rows}).",
                "Changed the letter case of {n} service types to match the taxonomy ({rows}).",
            ),
            N_(
                "Nothing to do (repaired); write the keys exactly as in the taxonomy to silence this warning."
            ),
            n=len(found["case"]),
        )
        c.summary(
            found["label"],
            "service_type",
            Nn_(
                "Read {n} service type by its name in the taxonomy: {pairs} ({rows}).",
                "Read {n} service types by their names in the taxonomy: {pairs} ({rows}).",
            ),
            N_("Nothing to do: these are the taxonomy's own names of the types."),
            n=len(found["label"]),
            pairs="; ".join(f"'{v}' → {k}" for v, k in pairs["label"].items()),
        )
        c.summary(
            found["similar"],
            "service_type",
            Nn_(
                "Read {n} service type written differently from the taxonomy as the closest type: "
                "{pairs} ({rows}).",
                "Read {n} service types written differently from the taxonomy as the closest type: "
                "{pairs} ({rows}).",
            ),
            N_("Check these pairs; write the type's name or key as in the taxonomy to make them certain."),
            n=len(found["similar"]),
            pairs="; ".join(f"'{v}' → {k}" for v, k in pairs["similar"].items()),
        )
        c.per_row(
            ambiguous,
            "service_type",
            lambda i: Message(
                N_("Service type '{value}' is as close to several types of the taxonomy: {types}."),
                value=written[i],
                types=_type_names(matches[str(written[i])][2], labels),
            ),
            N_("Write the type's full name or its key, as in the taxonomy."),
        )
        c.per_row(
            unknown,
            "service_type",
            lambda i: _with_hint(
                Message(
                    N_("Unknown service_type '{value}'; valid types are: {types}."),
                    value=written[i],
                    types=", ".join(keys),
                ),
                (
                    Message(N_("Closest: {types}."), types=_type_names(matches[str(written[i])][2], labels))
                    if matches[str(written[i])][2]
                    else None
                ),
            ),
            N_(
                "Use one of the valid service types (its key or its name in the taxonomy), or add this "
                "type to the taxonomy."
            ),
        )
    frame["service_type"] = pd.Series(
        values, index=frame.index, dtype=object if all(v is None for v in values) else None
    )
    return frame


def _service_points(
    gdf: gpd.GeoDataFrame, present: np.ndarray, centroids: bool, c: _Collector
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Report non-point services; make the safe repairs (one-point MultiPoint, centroids if asked).

    Returns the frame and the mask of rows that now hold a point.
    """
    geoms = np.asarray(gdf.geometry.array, dtype=object).copy()
    types = np.array([g.geom_type if g is not None else "" for g in geoms])
    single = present & (types == "MultiPoint") & (shapely.get_num_geometries(geoms) == 1)
    polygons = present & np.isin(types, ["Polygon", "MultiPolygon"])
    wrong = present & (types != "Point") & ~single & ~(polygons & centroids)
    counts = shapely.get_num_geometries(geoms)

    def message(i: int) -> str:
        if types[i] == "MultiPoint":
            return Message(
                N_("The geometry is a MultiPoint of {n} points; a service must be one point."),
                n=int(counts[i]),
            )
        return Message(N_("The geometry is a {type}; services must be points."), type=types[i])

    def fix(i: int) -> str:
        if types[i] in ("Polygon", "MultiPolygon"):
            return N_(
                "Convert the polygons to points in your GIS, or pass `centroids=True` to use each "
                "polygon's centroid (done with a warning)."
            )
        if types[i] == "MultiPoint":
            return N_("Split the sites into one row each.")
        return N_("Give each service one point location.")

    c.per_row(np.flatnonzero(wrong), "geometry", message, fix)
    if single.any():
        geoms[single] = shapely.get_geometry(geoms[single], 0)
        c.summary(
            np.flatnonzero(single),
            "geometry",
            Nn_(
                "Turned {n} one-point MultiPoint into a Point ({rows}).",
                "Turned {n} one-point MultiPoints into Points ({rows}).",
            ),
            N_("Nothing to do (repaired)."),
            n=int(single.sum()),
        )
    if centroids and polygons.any():
        with np.errstate(all="ignore"):  # huge coordinates are reported by the range check after this
            geoms[polygons] = shapely.centroid(geoms[polygons])
        c.summary(
            np.flatnonzero(polygons),
            "geometry",
            Nn_(
                "Replaced {n} polygon by its centroid, as asked with centroids=True ({rows}).",
                "Replaced {n} polygons by their centroids, as asked with centroids=True ({rows}).",
            ),
            N_("Nothing to do (repaired); check that each centroid is where the service is."),
            n=int(polygons.sum()),
        )
    if single.any() or (centroids and polygons.any()):
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf, present & ~wrong


def _outside_areas(gdf: gpd.GeoDataFrame, ok: np.ndarray, areas: gpd.GeoDataFrame, c: _Collector) -> None:
    idx = np.flatnonzero(ok)
    points = np.asarray(gdf.geometry.array, dtype=object)[idx]
    tree = shapely.STRtree(np.asarray(areas.geometry.array, dtype=object))
    hit = np.unique(tree.query(points, predicate="intersects")[0])
    outside = np.setdiff1d(np.arange(len(idx)), hit)
    ids = gdf["service_id"].tolist() if "service_id" in gdf.columns else [None] * len(gdf)
    every = np.asarray(gdf.geometry.array, dtype=object)

    def message(i: int) -> str:
        x, y = Number(every[i].x, "g"), Number(every[i].y, "g")
        if _is_missing(ids[i]):
            return Message(N_("The service at ({x}, {y}) is outside every area."), x=x, y=y)
        return Message(N_("Service '{id}' at ({x}, {y}) is outside every area."), id=ids[i], x=x, y=y)

    c.per_row(
        idx[outside],
        "geometry",
        message,
        N_(
            "Check its coordinates. If they are right, the service lies beyond the areas given: it counts "
            "for no area (though it may still serve people nearby)."
        ),
        severity="warning",
    )
