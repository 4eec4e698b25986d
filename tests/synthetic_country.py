"""A three-area synthetic country with its own English-only taxonomy, written as a user would bring it.

Three 20 km squares side by side on the equator (West, Centre, East), WGS84; a services list with
its own English headers ("Facility", "Type", "Places", "Latitude", "Longitude") and types written
by their names; a population table by district name (in capitals, and "East district" for East);
a taxonomy with two service types, labels in English only. Nothing here is Kosovo's; the numbers are
made up for the test.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Degrees of longitude of 20 km at the equator (WGS84 ellipsoid: 111.32 km per degree).
STEP = 20 / 111.32

TAXONOMY = """\
schema_version: 1
name: testland
description: Made up for the tests; no real figures.
languages: [en]
sources:
  def: {citation: "by definition"}
  made_up: {citation: "figure made up for the test"}
target_groups:
  everyone: {label: {en: Everyone}, rate: 1.0, source: def}
  older: {label: {en: Older people}, rate: 0.2, source: made_up}
service_types:
  clinic:
    label: {en: Community clinic}
    target_groups: [everyone]
    catchment_m: 15000
    catchment_source: made_up
  day_centre:
    label: {en: Day centre for older people}
    target_groups: [older]
    catchment_m: 15000
    catchment_source: made_up
"""

#: (district, residents)
POPULATION = (("West", 10_000), ("CENTRE", 20_000), ("East district", 5_000))

#: (facility, type as written, places, latitude, longitude): the clinics at the squares' centres.
SERVICES = (
    ("West clinic", "Community clinic", 100, 0.0, 0.5 * STEP),
    ("Central clinic", "community clinic", 300, 0.0, 1.5 * STEP),
    ("Day centre Centre", "Day centre for older people", 40, 0.0, 1.5 * STEP),
)


def areas_geojson() -> str:
    """The three squares, with their own column names ``Code`` and ``Name``."""
    features = []
    for i, (code, name) in enumerate((("W", "West"), ("C", "Centre"), ("E", "East"))):
        x0, x1, half = i * STEP, (i + 1) * STEP, STEP / 2
        ring = [[x0, -half], [x1, -half], [x1, half], [x0, half], [x0, -half]]
        features.append(
            {
                "type": "Feature",
                "properties": {"Code": code, "Name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "attribution": "Testland survey office (made up)", "features": features}
    )


def services_csv() -> str:
    rows = ["Facility,Type,Places,Latitude,Longitude"]
    rows += [f"{n},{t},{p},{lat:.6f},{lon:.6f}" for n, t, p, lat, lon in SERVICES]
    return "\n".join(rows) + "\n"


def population_csv() -> str:
    return "District;Residents\n" + "\n".join(f"{n};{p}" for n, p in POPULATION) + "\n"


def write(folder: Path) -> dict[str, Path]:
    """Write the four files into ``folder``; return their paths by kind."""
    files = {
        "areas": (folder / "testland_districts.geojson", areas_geojson()),
        "services": (folder / "testland_services.csv", services_csv()),
        "population": (folder / "testland_population.csv", population_csv()),
        "taxonomy": (folder / "testland_taxonomy.yaml", TAXONOMY),
    }
    for path, text in files.values():
        path.write_text(text, encoding="utf-8")
    return {kind: path for kind, (path, _) in files.items()}
