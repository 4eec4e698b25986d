"""The analysis on a road network: the graph of ``analyze(network=...)``, access and coverage, the notes.

Part of :func:`socialmap.pipeline.analyze` (the only caller); the routing is :mod:`socialmap.network`'s.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from socialmap import settings
from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    from socialmap.pipeline import AnalysisConfig

logger = logging.getLogger("socialmap.pipeline")


def _network(network: Any, mode: str) -> Any:
    """Return the road graph of ``analyze(network=...)``: a RoadGraph, one read from a path, or ``None``."""
    if network is None:
        return None
    from socialmap import network as nw

    if isinstance(network, nw.RoadGraph):
        return network
    if isinstance(network, str | os.PathLike):
        return nw.read(network, mode=mode)  # type: ignore[arg-type]
    raise SocialMapError(
        f"`network` must be a socialmap.network.RoadGraph or the path of an .osm.pbf / .npz file; "
        f"got {type(network).__name__}."
    )


def _network_access(
    graph: Any,
    dem: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    known: gpd.GeoDataFrame,
    method: str,
    catchment_min: float,
    weight: Any,
    config: AnalysisConfig,
    crs: Any,
) -> tuple[Any, NDArray[np.float64]]:
    """
    Coverage and access on the road network: (the coverage result, access).

    Coverage counts every open site (unknown capacities included); 2SFCA uses the sites whose capacity
    is known. When those are the same sites, one streamed run gives both.
    """
    from socialmap import network as nw

    def xy(frame: gpd.GeoDataFrame) -> NDArray[np.float64]:
        return np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()]).reshape(-1, 2)

    dxy = xy(dem)
    opts = {"catchment_min": catchment_min, "max_snap_m": config.max_snap_m, "crs": crs}
    if method == "coverage":
        return nw.coverage(graph, dxy, xy(sites), **opts), np.full(len(dem), np.nan)
    if known.empty:
        return nw.coverage(graph, dxy, xy(sites), **opts), np.zeros(len(dem))
    cap = pd.to_numeric(known["capacity"]).to_numpy(dtype=float)
    res = nw.fca(graph, dxy, dem["need"].to_numpy(dtype=float), xy(known), cap, weight=weight, **opts)
    if len(known) == len(sites) and known.index.equals(sites.index):
        return res, res.access
    return nw.coverage(graph, dxy, xy(sites), **opts), res.access


def _off_network_note(
    service_type: str,
    res: Any,
    dem: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    notes: list[str],
    sensitive: bool,
) -> dict[str, Any]:
    """
    Report demand points and services off the road network (in the notes and the provenance).

    For a sensitive service type neither the need off the network (a count of a sensitive group) nor
    the services' ids are given: only how many points and services.
    """
    off_d = np.asarray(res.demand_off_network, dtype=bool)
    off_s = np.asarray(res.supply_off_network, dtype=bool)
    need = None if sensitive else float(dem["need"].to_numpy(dtype=float)[off_d].sum())
    ids = (
        []
        if sensitive or "service_id" not in sites
        else sites["service_id"].astype(str).to_numpy()[off_s].tolist()
    )
    # English here; socialmap.report.run_notes writes them in the user's language from the provenance.
    if off_d.any():
        notes.append(
            f"{service_type}: off the road network: {int(off_d.sum())} demand points"
            + ("" if need is None else f" with {need:,.1f} persons in need")
            + " are farther than max_snap_m from any road and count as out of reach."
        )
    if off_s.any():
        shown = "" if not ids else " (" + ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "") + ")"
        notes.append(
            f"{service_type}: off the road network: {int(off_s.sum())} services are farther than max_snap_m "
            f"from any road and reach no one{shown}."
        )
    return {"demand_points": int(off_d.sum()), "need": need, "services": int(off_s.sum()), "service_ids": ids}


def _cost_provenance(
    graph: Any, config: AnalysisConfig, long: pd.DataFrame, off_network: dict[str, Any]
) -> dict[str, Any]:
    """Which cost the catchments were measured in (``cost``), and for a road network how it was made."""
    from socialmap._network_graph import COST_LABELS  # not socialmap.network: its readers and routing

    if graph is None:
        return {"cost": "euclidean", "cost_label": COST_LABELS["euclidean"]}
    per_type = long.drop_duplicates("service_type").set_index("service_type")
    return {
        "cost": graph.mode,
        "cost_label": COST_LABELS[graph.mode],
        "catchment_m": {},
        "catchment_min": per_type["catchment_min"].to_dict(),
        "default_catchment_min": settings.default_catchment_min,
        "network": {
            **graph.provenance,
            "max_snap_m": settings.default_max_snap_m if config.max_snap_m is None else config.max_snap_m,
        },
        "off_network": off_network,
    }
