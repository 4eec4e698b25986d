"""
Offline map libraries: Leaflet and its plugins from local copies of their npm packages.

folium loads Leaflet and its plugins from CDNs. :func:`use_local_assets` points a map at local
copies of the npm packages in :data:`VENDOR_PACKAGES` (installed by ``make assets`` into
``static/vendor``): served URLs in the app, ``data:`` URIs in a saved ``map.html``. Kept apart from
:mod:`socialmap.views` (which re-exports these names) so that writing a map does not import the app's
view helpers.
"""

from __future__ import annotations

import base64
import functools
import json
import mimetypes
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    import folium


#: npm packages the maps load, at exact versions (folium 0.20's own pins); ``make assets``
#: installs them into ``static/vendor/node_modules``.
VENDOR_PACKAGES: dict[str, str] = {
    "leaflet": "1.9.3",
    "leaflet.markercluster": "1.1.0",
    "jquery": "3.7.1",
}

#: folium's name of each library the maps use → (npm package, file in the package).
ASSET_FILES: dict[str, tuple[str, str]] = {
    "leaflet": ("leaflet", "dist/leaflet.js"),
    "jquery": ("jquery", "dist/jquery.min.js"),
    "leaflet_css": ("leaflet", "dist/leaflet.css"),
    "markerclusterjs": ("leaflet.markercluster", "dist/leaflet.markercluster.js"),
    "markerclustercss": ("leaflet.markercluster", "dist/MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet.markercluster", "dist/MarkerCluster.Default.css"),
}

#: folium's default libraries that socialmap's maps never use (Bootstrap, Font Awesome and
#: Leaflet.awesome-markers serve ``folium.Icon`` markers; the maps draw ``DivIcon``s): dropped.
UNUSED_ASSETS = frozenset(
    {
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
    }
)


def missing_assets(root: str | Path) -> list[str]:
    """
    Name the packages of :data:`VENDOR_PACKAGES` not installed (at their version) under ``root``.

    Parameters
    ----------
    root
        The folder holding ``node_modules`` (``static/vendor`` in the repository).

    Returns
    -------
    missing
        ``"name@version"`` of each package absent or at another version; empty when all are there.
    """
    missing = []
    for pkg, version in VENDOR_PACKAGES.items():
        manifest = Path(root) / "node_modules" / pkg / "package.json"
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            found = None
        files_ok = all(
            (Path(root) / "node_modules" / p / f).is_file() for p, f in ASSET_FILES.values() if p == pkg
        )
        if found != version or not files_ok:
            missing.append(f"{pkg}@{version}")
    return missing


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


@functools.lru_cache(maxsize=32)
def _data_uri(path: str, mtime_ns: int) -> str:
    file = Path(path)
    mime = "text/css" if file.suffix == ".css" else "text/javascript"
    if file.suffix == ".css":
        css = file.read_text(encoding="utf-8")

        def inline(match: re.Match[str]) -> str:
            target = file.parent / match.group(2)
            if not target.is_file():
                return match.group(0)
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            return f"url(data:{kind};base64,{base64.b64encode(target.read_bytes()).decode('ascii')})"

        css = re.sub(r"url\((['\"]?)(?!data:|https?:|/)([^'\")]+)\1\)", inline, css)
        payload = css.encode("utf-8")
    else:
        payload = file.read_bytes()
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def use_local_assets(fmap: folium.Map, root: str | Path, *, base_url: str | None = None) -> folium.Map:
    """
    Make a map load Leaflet and its plugins from local copies instead of CDNs.

    Every element's ``default_js`` and ``default_css`` (what folium writes as ``<script src>`` and
    ``<link>``, and what streamlit-folium loads into its frame) are replaced: by URLs under
    ``base_url`` when the files are served (e.g. Streamlit's ``/app/static/vendor``), or by
    ``data:`` URIs holding the files (a self-contained page) when ``base_url`` is ``None``.
    Libraries in :data:`UNUSED_ASSETS` are dropped, and jQuery too when the map has no
    ``folium.Popup`` (the only part of folium that needs it). The map is changed in place.

    Parameters
    ----------
    fmap
        A map drawn by :mod:`socialmap.maps` or this module.
    root
        The folder holding ``node_modules`` with :data:`VENDOR_PACKAGES` (``make assets``).
    base_url
        URL of ``root`` as served, or ``None`` to inline.

    Returns
    -------
    map
        ``fmap``, for chaining.

    Raises
    ------
    SocialMapError
        If a package is missing, if the map needs a library with no local copy, or if it draws
        ``folium.Icon`` markers (which need Font Awesome from the internet).
    """
    import folium

    missing = missing_assets(root)
    if missing:
        raise SocialMapError(
            f"The map libraries {missing} are not installed under {root}; run `make assets` "
            f"(npm install of {', '.join(f'{k}@{v}' for k, v in VENDOR_PACKAGES.items())})."
        )
    base = Path(root) / "node_modules"

    elements = list(_walk(fmap))
    # jQuery serves only folium.Popup (and objects kept in front); the maps' own popups do without.
    unused = set(UNUSED_ASSETS)
    if not any(isinstance(e, folium.Popup) for e in elements) and not getattr(
        fmap, "objects_to_stay_in_front", None
    ):
        unused.add("jquery")

    def local(name: str, url: str) -> str | None:
        if name in unused:
            return None
        if name not in ASSET_FILES:
            raise SocialMapError(
                f"The map needs the library {name!r} ({url}), which has no local copy; add it to "
                "socialmap.assets.ASSET_FILES and VENDOR_PACKAGES, and to `make assets`."
            )
        pkg, file = ASSET_FILES[name]
        if base_url is not None:
            return f"{base_url.rstrip('/')}/node_modules/{pkg}/{file}"
        path = base / pkg / file
        return _data_uri(str(path), path.stat().st_mtime_ns)

    for element in elements:
        if isinstance(element, folium.Icon):
            raise SocialMapError(
                "The map has folium.Icon markers, which need Font Awesome from the internet; "
                "draw markers with folium.DivIcon instead."
            )
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            replaced = []
            for name, url in links:
                new = local(name, url)
                if new is not None:
                    replaced.append((name, new))
            setattr(element, attr, replaced)
    return fmap
