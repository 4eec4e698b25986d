"""The embedded Kosovo demo, and official boundaries downloaded from geoBoundaries and cached.

``load_demo("kosovo")`` returns schematic municipal boundaries, 2024 census population (openly
marked estimates where no figure was found), the 38 Centres for Social Work plus illustrative
services of the other types, and the Kosovo taxonomy. ``fetch_boundaries("XKX", level="ADM2")``
downloads the real boundaries once into the user cache; ``load_demo("kosovo", boundaries=path)``
puts them under the demo's population and services, matching municipality names automatically.
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import re
import shutil
import socket
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from socialmap import settings

# Where the demo's files are, recognising its municipalities and boundaries attribution live in
# socialmap.areasets (the loaders use them); their names stay importable from here.
from socialmap.areasets import (  # noqa: F401 - re-exported
    DEMOS,
    GEOBOUNDARIES_ATTRIBUTION,
    RECOGNISE_SHARE,
    SCHEMATIC_ATTRIBUTION,
    KnownAreas,
    boundaries_attribution,
    demo_dir,
    demo_files,
    recognise_areas,
)
from socialmap.errors import DataSourceError, Message, Number, OutputError, SocialMapError
from socialmap.i18n import N_

logger = logging.getLogger(__name__)


_LEVELS = ("ADM0", "ADM1", "ADM2", "ADM3", "ADM4", "ADM5")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Demo:
    """
    A demo dataset: the three inputs, the taxonomy, and where they come from.

    Unpacks as ``areas, services, population, taxonomy = load_demo("kosovo")``.

    Attributes
    ----------
    areas
        Municipalities (polygons) in the column contract.
    services
        Service sites (points) in the column contract.
    population
        One row per area: ``area_id``, ``population`` and its provenance columns.
    taxonomy
        Service types, target groups and rates.
    provenance
        Sources, licences and caveats, keyed by what they describe.
    name
        The demo's name (``"kosovo"``).
    """

    areas: gpd.GeoDataFrame
    services: gpd.GeoDataFrame
    population: pd.DataFrame
    taxonomy: Any
    provenance: dict[str, str] = field(default_factory=dict)
    name: str = ""

    def __iter__(self) -> Iterator[Any]:
        return iter((self.areas, self.services, self.population, self.taxonomy))


@functools.lru_cache(maxsize=4)
def _read_demo(name: str) -> Demo:
    from socialmap.io import read_areas, read_population, read_services
    from socialmap.taxonomy import load_taxonomy

    files = demo_files(name)
    taxonomy = load_taxonomy(name)
    # The demo's known gaps (e.g. the Centres for Social Work have no published capacity) are
    # documented in data/README.md; the loaders' warnings about them are kept in the provenance
    # rather than repeated on every load.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        areas = read_areas(files["areas"])
        services = read_services(files["services"], taxonomy=taxonomy, areas=areas)
        population = read_population(files["population"], areas=areas)
    provenance = {
        "boundaries": SCHEMATIC_ATTRIBUTION,
        "population": "Kosovo Agency of Statistics, 2024 census (final where published, else preliminary); "
        "where no census figure is published for a municipality, its figure is an estimate.",
        "services": "Centres for Social Work: one per municipality at its seat (Law on Social and Family "
        "Services). All other services are illustrative, generated for the demo.",
        "taxonomy": f"socialmap taxonomy '{name}'",
        "files": ", ".join(str(p) for p in files.values()),
        "load_warnings": " | ".join(str(w.message) for w in caught),
    }
    return Demo(areas, services, population, taxonomy, provenance, name)


def load_demo(name: str = "kosovo", *, boundaries: str | os.PathLike[str] | None = None) -> Demo:
    """
    Load an embedded demo dataset.

    Parameters
    ----------
    name
        Demo name (``"kosovo"``).
    boundaries
        ``None`` for the demo's own schematic boundaries, or the path of an areas file (e.g. the
        official geoBoundaries file from :func:`fetch_boundaries`), whose areas are matched to the
        demo's by name (see :func:`use_areas`).

    Returns
    -------
    demo
        A :class:`Demo`; unpacks as ``areas, services, population, taxonomy``. Each call returns
        fresh copies, so changing them does not change the next call's result.

    Examples
    --------
    >>> areas, services, population, taxonomy = load_demo("kosovo")
    >>> len(areas)
    38
    """
    demo = _read_demo(name)
    fresh = Demo(
        demo.areas.copy(),
        demo.services.copy(),
        demo.population.copy(),
        demo.taxonomy,
        dict(demo.provenance),
        demo.name,
    )
    if boundaries is None:
        return fresh
    from socialmap.io import read_areas

    path = Path(boundaries)
    other = read_areas(path, columns=_geoboundaries_columns(path))
    return use_areas(fresh, other, source=str(path))


def _geoboundaries_columns(path: Path) -> dict[str, str] | None:
    """Column mapping for a geoBoundaries file (``shapeID``/``shapeName``), else ``None``."""
    import pyogrio

    try:
        cols = set(pyogrio.read_info(path)["fields"])
    except Exception:  # noqa: BLE001 - an unreadable file is reported by read_areas itself
        return None
    if {"shapeID", "shapeName"} <= cols:
        return {"shapeID": "area_id", "shapeName": "name"}
    return None


def use_areas(demo: Demo, areas: gpd.GeoDataFrame, *, source: str = "user areas") -> Demo:
    """
    Put other boundaries under a demo's population and services, matching areas by name.

    Each area of ``areas`` is matched to one of the demo's areas by name (Albanian, Serbian or
    English, with prefixes, diacritics and definite forms handled by :func:`socialmap.names.match`)
    and takes that area's ``area_id`` and names, so the demo's population joins. Services keep
    their points; their ``area_id`` is recomputed from the new polygons.

    Raises
    ------
    ValidationError
        If any area cannot be matched unambiguously (each is listed with its closest candidates),
        or two areas match the same demo area.
    """
    from socialmap.names import kosovo_aliases, match, require_all_matched

    ref_cols = [c for c in ("area_id", "name", "name_sq", "name_sr", "name_en") if c in demo.areas.columns]
    reference = pd.DataFrame(demo.areas[ref_cols]).reset_index(drop=True)
    aliases = kosovo_aliases() if demo.name == "kosovo" else None
    result = match(areas["name"].reset_index(drop=True), reference, key="area_id", aliases=aliases)
    require_all_matched(result, file=source, column="name")
    areas = areas.copy()
    areas["source_area_id"] = areas["area_id"]
    areas["area_id"] = list(result["key"])
    names = demo.areas.set_index("area_id")
    for col in ref_cols:
        if col != "area_id":
            areas[col] = areas["area_id"].map(names[col])
    areas = areas.to_crs(demo.areas.crs) if areas.crs is not None else areas
    services = demo.services.copy()
    joined = gpd.sjoin(services[["geometry"]], areas[["area_id", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    services["area_id"] = joined["area_id"].reindex(services.index)
    outside = int(services["area_id"].isna().sum())
    if outside:
        logger.warning("%d service(s) fall outside every area of %s", outside, source)
    provenance = dict(demo.provenance)
    # The file's name only: outputs quote the provenance, and never a machine's folders.
    provenance["boundaries"] = f"{Path(source).name or source}; areas matched to the demo by name"
    if "geoBoundaries" in source or "geoboundaries" in source.lower():
        provenance["boundaries"] += f". {GEOBOUNDARIES_ATTRIBUTION}"
    return Demo(areas, services, demo.population.copy(), demo.taxonomy, provenance, demo.name)


def cache_dir() -> Path:
    """Return the folder where downloads are cached (see ``settings.cache_dir``)."""
    chosen = settings.cache_dir or os.environ.get("SOCIALMAP_CACHE_DIR")
    if chosen:
        return Path(chosen)
    import platformdirs

    return Path(platformdirs.user_cache_dir("socialmap"))


def boundaries_url(iso: str, level: str) -> str:
    """Return the download URL of a geoBoundaries file (see ``settings.geoboundaries_url``)."""
    template = os.environ.get("SOCIALMAP_GEOBOUNDARIES_URL") or settings.geoboundaries_url
    return template.format(iso=iso, level=level)


def boundaries_cache_path(iso: str, level: str) -> Path:
    """Return where :func:`fetch_boundaries` keeps a country's boundaries."""
    return cache_dir() / "geoboundaries" / f"geoBoundaries-{iso}-{level}_simplified.geojson"


def _check_code(iso: str, level: str) -> tuple[str, str]:
    iso_u, level_u = iso.strip().upper(), level.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", iso_u):
        raise SocialMapError(
            N_(
                "Country code {code} is not an ISO 3166-1 alpha-3 code. "
                "Use three letters, e.g. XKX for Kosovo."
            ),
            code=repr(iso),
        )
    if level_u not in _LEVELS:
        raise SocialMapError(
            N_("Level {level} is not one of {levels}."), level=repr(level), levels=", ".join(_LEVELS)
        )
    return iso_u, level_u


def fetch_boundaries(
    iso: str = "XKX",
    *,
    level: str = "ADM2",
    file: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """
    Download a country's geoBoundaries file once, check it, and cache it.

    Parameters
    ----------
    iso
        ISO 3166-1 alpha-3 country code (Kosovo: ``XKX``).
    level
        Administrative level, ``ADM0`` to ``ADM5`` (Kosovo's municipalities: ``ADM2``).
    file
        A file downloaded by hand (for machines without internet): it is checked and copied into
        the cache instead of downloading.
    refresh
        Download again even when the file is cached.
    progress
        Called as ``progress(bytes_done, bytes_total_or_None)`` while downloading.

    Returns
    -------
    path
        The cached file. Only a file that passed the check is ever put there; a failed or
        interrupted download leaves the cache as it was.

    Raises
    ------
    DataSourceError
        If the download fails (the message says where to put a manually downloaded file), or the
        file is not a readable boundaries file.
    """
    iso, level = _check_code(iso, level)
    target = boundaries_cache_path(iso, level)
    if target.exists() and not refresh and file is None:
        logger.info("using cached boundaries %s", target)
        return target
    url = boundaries_url(iso, level)
    tmp = target.with_name(f".part-{os.getpid()}-{target.name}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb"):
            pass
    except OSError as exc:
        raise OutputError(
            N_(
                "The cache folder {folder} cannot be written ({error}). Fix: set the environment variable "
                "SOCIALMAP_CACHE_DIR (or `socialmap.settings.cache_dir`) to a folder you can write to."
            ),
            folder=str(target.parent),
            error=exc.strerror or str(exc),
        ) from exc
    try:
        if file is not None:
            src = Path(file)
            if not src.is_file():
                raise DataSourceError(
                    N_("{file}: no such file. Give the path of the downloaded GeoJSON file."), file=str(src)
                )
            try:
                shutil.copyfile(src, tmp)
            except OSError as exc:
                raise OutputError(
                    N_("{file} cannot be copied into the cache {folder}: {error}."),
                    file=str(src),
                    folder=str(target.parent),
                    error=exc.strerror or str(exc),
                ) from exc
        else:
            _download(url, tmp, target=target, progress=progress)
        _check_boundaries_file(tmp, label=str(file) if file is not None else url)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("cached %s boundaries at %s", f"{iso} {level}", target)
    return target


class _Deadline:
    """
    End one download when its deadline passes, wherever it is waiting.

    A server that trickles a byte every few seconds never trips the socket's timeout (each read gets
    something), so a timer shuts down every connection the download opened (redirects included) when
    ``seconds`` have passed: a read waiting in the middle of the headers or the body returns at once.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
        if self.expired.is_set():
            self._shut(sock)

    def _expire(self) -> None:
        self.expired.set()
        with self._lock:
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass

    def opener(self) -> urllib.request.OpenerDirector:
        """Return an opener whose HTTP and HTTPS connections report their sockets to this deadline."""
        deadline = self

        class HTTPConnection(http.client.HTTPConnection):
            def connect(self) -> None:
                super().connect()
                deadline.track(self.sock)

        class HTTPSConnection(http.client.HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                deadline.track(self.sock)

        class HTTPHandler(urllib.request.HTTPHandler):
            def http_open(self, req: Any) -> Any:
                return self.do_open(HTTPConnection, req)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def https_open(self, req: Any) -> Any:
                return self.do_open(HTTPSConnection, req, context=getattr(self, "_context", None))

        return urllib.request.build_opener(HTTPHandler, HTTPSHandler)


def _download(
    url: str, dest: Path, *, target: Path, progress: Callable[[int, int | None], None] | None
) -> None:
    manual = Message(
        N_(
            "If this machine is offline, download {url} on another machine and run "
            "`socialmap fetch-boundaries --file PATH` (or put the file at {target})."
        ),
        url=url,
        target=str(target),
    )
    limit = settings.max_upload_bytes * 4
    seconds = float(settings.download_deadline_s)

    def too_slow() -> DataSourceError:
        return DataSourceError(
            N_(
                "Could not download {url}: it took longer than {seconds} s "
                "(`socialmap.settings.download_deadline_s`), so it was stopped. {manual}"
            ),
            url=url,
            seconds=Number(seconds, "g"),
            manual=manual,
        )

    deadline = _Deadline(seconds)
    try:
        with deadline, deadline.opener().open(url, timeout=settings.download_timeout_s) as resp:
            total_header = resp.headers.get("Content-Length")
            total = int(total_header) if total_header and total_header.isdigit() else None
            done = 0
            with open(dest, "wb") as out:
                while chunk := resp.read1(_CHUNK):
                    done += len(chunk)
                    if done > limit:
                        raise DataSourceError(
                            N_(
                                "{url}: the download is larger than {limit} MB, more than a boundaries "
                                "file should be. Check the URL."
                            ),
                            url=url,
                            limit=limit // 2**20,
                        )
                    out.write(chunk)
                    if progress is not None:
                        progress(done, total)
        if deadline.expired.is_set():
            raise too_slow()
    except urllib.error.HTTPError as exc:
        raise DataSourceError(
            N_("Could not download {url}: HTTP {code} {reason}. {manual}"),
            url=url,
            code=exc.code,
            reason=str(exc.reason),
            manual=manual,
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        if deadline.expired.is_set():
            raise too_slow() from exc
        reason = getattr(exc, "reason", exc)
        raise DataSourceError(
            N_("Could not download {url}: {reason}. {manual}"), url=url, reason=str(reason), manual=manual
        ) from exc


def _check_boundaries_file(path: Path, *, label: str) -> None:
    from socialmap.errors import ValidationError
    from socialmap.io import read_areas

    try:
        areas = read_areas(path, columns=_geoboundaries_columns(path))
    except ValidationError as exc:
        raise DataSourceError(
            N_("{file} is not a usable boundaries file:\n{error}"), file=label, error=exc
        ) from exc
    except SocialMapError as exc:
        raise DataSourceError(
            N_("{file} is not a usable boundaries file: {error}"), file=label, error=exc
        ) from exc
    if len(areas) == 0:
        raise DataSourceError(N_("{file} holds no areas."), file=label)
