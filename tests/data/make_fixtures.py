"""Write the small synthetic input files used by tests/test_io.py and tests/test_validate.py.

Run from the repository root: ``.venv/bin/python tests/data/make_fixtures.py``. The output is deterministic.

Everything here is made up: four square "areas" of 0.1 x 0.1 degrees in a tiny square
(longitude 20.0-20.2, latitude 42.0-42.2), four services inside them and a population table. The names
are invented. The files are written the way people send them: the services CSV uses `;`, decimal commas,
a UTF-8 byte-order mark and its own column names; the GeoJSON has no `crs` member (RFC 7946: WGS84).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (area_id, name, west longitude, south latitude) of each 0.1-degree square.
AREAS = [
    ("A1", "Westfield", 20.0, 42.1),
    ("A2", "Eastfield", 20.1, 42.1),
    ("A3", "Southmoor", 20.0, 42.0),
    ("A4", "Lakeside", 20.1, 42.0),
]

#: One service in each area: id, name, type, capacity, latitude, longitude.
SERVICES = [
    ("S1", "Centre for Social Work Westfield", "csw", "12", "42,15", "20,05"),
    ("S2", "Day care <Eastfield>", "day_care_disability", "25", "42,15", "20,15"),
    ("S3", "Shelter Southmoor", "shelter_dv", "8", "42,05", "20,05"),
    ("S4", "Centre for Social Work Lakeside", "csw", "10,5", "42,05", "20,15"),
]

POPULATION = [("A1", 1200), ("A2", 3400), ("A3", 560), ("A4", 7800)]


def _square(west: float, south: float, size: float = 0.1) -> list[list[list[float]]]:
    east, north = round(west + size, 6), round(south + size, 6)
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def areas_geojson() -> str:
    """The areas as RFC 7946 GeoJSON (no `crs` member)."""
    features = [
        {
            "type": "Feature",
            "properties": {"area_id": area_id, "name": name},
            "geometry": {"type": "Polygon", "coordinates": _square(west, south)},
        }
        for area_id, name, west, south in AREAS
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1) + "\n"


def services_csv() -> bytes:
    """The services as a `;`-separated CSV with decimal commas and a UTF-8 byte-order mark."""
    lines = ["ID;Emri;Lloji;Kapaciteti;Lat;Lon"] + [";".join(row) for row in SERVICES]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def population_csv() -> str:
    """Population per area, a plain `,`-separated CSV."""
    return "area_id,population\n" + "".join(f"{a},{p}\n" for a, p in POPULATION)


def main() -> None:
    """Write the fixture files next to this script."""
    (HERE / "areas.geojson").write_text(areas_geojson(), encoding="utf-8")
    (HERE / "services.csv").write_bytes(services_csv())
    (HERE / "population.csv").write_text(population_csv(), encoding="utf-8")


if __name__ == "__main__":
    main()
