"""Derive Vietnam's outline and land border from Natural Earth, as shipped by npm `world-atlas`.

Why: the product needs a national outline (to clip the approximate geometry) and the land border
with China, Laos and Cambodia (for `is_border`), from a source it may redistribute. Natural Earth
is public domain and `world-atlas` (ISC) packs it as TopoJSON, where a border shared by two
countries is one arc used by both: the arcs Vietnam shares with a neighbour are exactly the land
border with it. The outputs are small and committed; this script is run once, by hand:

    cd /work/main && uv run python geo/data/derive_natural_earth.py          # needs npm
    uv run python geo/data/derive_natural_earth.py --tarball world-atlas-2.0.2.tgz  # offline

It writes `vn_outline_ne10m.geojson`, `vn_land_border_ne10m.geojson` and the map pages' base
layer `base_ne10m.geojson` (neighbouring countries around Vietnam, sea names) beside itself.
See PROVENANCE.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pyproj
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, mapping

PACKAGE = "world-atlas@2.0.2"
MEMBER = "package/countries-10m.json"
# sha256 of countries-10m.json in world-atlas 2.0.2 (npm integrity of the tarball:
# sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ==)
SHA256 = "3bc6f1d367a9bcec479841bae0e76092f512838411d0cef124e92eec4db45f79"
VIETNAM = "704"
NEIGHBOURS = {"156": "China", "418": "Laos", "116": "Cambodia"}
NAMES_VI = {"156": "Trung Quốc", "418": "Lào", "116": "Campuchia"}
HERE = Path(__file__).parent
DECIMALS = 6  # the quantisation step is 0.0036° × 0.0017°; 6 decimals keep every vertex exact


def fetch_topology(tarball: Path | None = None) -> tuple[dict, str]:
    """countries-10m.json from the npm tarball (packed now with `npm pack` unless given)."""
    with tempfile.TemporaryDirectory() as tmp:
        if tarball is None:
            out = subprocess.run(
                ["npm", "pack", PACKAGE, "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise FileNotFoundError(f"{MEMBER} not in {tarball}")
            raw = member.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise ValueError(f"{MEMBER}: sha256 {digest}, expected {SHA256} ({PACKAGE})")
    return json.loads(raw), digest


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat positions of every arc (quantised TopoJSON: positions are deltas)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, DECIMALS), round(y * sy + ty, DECIMALS)))
        arcs.append(points)
    return arcs


def _arc(arcs: list[list[tuple[float, float]]], index: int) -> list[tuple[float, float]]:
    # A negative index ~i means arc i walked backwards.
    return arcs[index] if index >= 0 else arcs[~index][::-1]


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        part = _arc(arcs, index)
        points.extend(part if not points else part[1:])  # arcs share their end points
    return points


def _polygons(geometry: dict) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    return []


def country_shape(arcs: list, geometry: dict) -> MultiPolygon:
    """A country's MultiPolygon from its arc indexes (first ring exterior, the rest holes);
    rings that quantisation collapsed below 4 points are left out."""
    polygons = []
    for rings in _polygons(geometry):
        shell, *holes = (_ring(arcs, r) for r in rings)
        if len(shell) >= 4:
            polygons.append(Polygon(shell, [h for h in holes if len(h) >= 4]))
    return MultiPolygon(polygons)


def arc_ids(geometry: dict) -> set[int]:
    """The arcs a country uses, direction ignored."""
    return {i if i >= 0 else ~i for rings in _polygons(geometry) for ring in rings for i in ring}


_GEOD = pyproj.Geod(ellps="WGS84")


def _length_km(geom) -> float:
    return round(_GEOD.geometry_length(geom) / 1000, 1)


def _round(obj, decimals: int = DECIMALS):
    if isinstance(obj, float):
        return round(obj, decimals)
    if isinstance(obj, list | tuple):
        return [_round(o, decimals) for o in obj]
    if isinstance(obj, dict):
        return {k: _round(v, decimals) for k, v in obj.items()}
    return obj


def _write(path: Path, features: list[dict]) -> None:
    collection = {
        "type": "FeatureCollection",
        "name": path.stem,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")


def derive(tarball: Path | None = None, out_dir: Path = HERE) -> dict[str, float]:
    """Write the outline and the land-border files; return their lengths/areas for the log."""
    topology, digest = fetch_topology(tarball)
    arcs = decode_arcs(topology)
    countries = {g.get("id"): g for g in topology["objects"]["countries"]["geometries"]}
    vietnam = countries[VIETNAM]
    # make_valid turns a ring that quantisation collapsed into a line; keep the polygons only.
    parts = shapely.get_parts(shapely.make_valid(country_shape(arcs, vietnam)))
    outline = MultiPolygon(
        [q for p in parts if p.area > 0 for q in getattr(p, "geoms", [p]) if q.area > 0]
    )
    source = f"Natural Earth v4.1.0 Admin-0 1:10m via npm {PACKAGE} countries-10m.json"
    area_km2 = round(abs(_GEOD.geometry_area_perimeter(outline)[0]) / 1e6)
    _write(
        out_dir / "vn_outline_ne10m.geojson",
        [
            {
                "type": "Feature",
                "properties": {
                    "iso_n3": VIETNAM,
                    "name": "Vietnam",
                    "area_km2": area_km2,
                    "parts": len(outline.geoms),
                    "source": source,
                    "sha256": digest,
                },
                "geometry": _round(mapping(outline)),
            }
        ],
    )
    vn_arcs = arc_ids(vietnam)
    features, figures = [], {"outline_km2": area_km2}
    for iso, name in NEIGHBOURS.items():
        shared = sorted(vn_arcs & arc_ids(countries[iso]))
        lines = shapely.line_merge(MultiLineString([LineString(arcs[i]) for i in shared]))
        if isinstance(lines, LineString):
            lines = MultiLineString([lines])
        figures[name] = _length_km(lines)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "neighbour_iso_n3": iso,
                    "neighbour": name,
                    "neighbour_vi": NAMES_VI[iso],
                    "arcs": len(shared),
                    "length_km": figures[name],
                    "source": source,
                },
                "geometry": _round(mapping(lines)),
            }
        )
    _write(out_dir / "vn_land_border_ne10m.geojson", features)
    return figures


# The base layer: countries around Vietnam, cut to this box (lon/lat), generalised to ~200 m.
BASE_BOX = (97.0, 3.0, 121.0, 27.0)
BASE_TOLERANCE = 0.002
# Natural Earth draws the Hoàng Sa (Paracel) islands as parts of China; they are Vietnam's
# đặc khu Hoàng Sa, drawn from the product's own units. Neighbours' parts in this box of the
# East Sea are left out.
EAST_SEA = (109.6, 6.0, 118.0, 17.6)
NEIGHBOURS_VI = {
    "China": "Trung Quốc",
    "Laos": "Lào",
    "Cambodia": "Campuchia",
    "Thailand": "Thái Lan",
    "Myanmar": "Mi-an-ma",
    "Malaysia": "Ma-lai-xi-a",
    "Indonesia": "In-đô-nê-xi-a",
    "Philippines": "Phi-líp-pin",
    "Brunei": "Bru-nây",
}
# Sea names: placed by hand (Natural Earth's marine areas are not in world-atlas).
SEAS = (
    ("Biển Đông", "East Sea", 112.6, 12.6),
    ("Vịnh Bắc Bộ", "Gulf of Tonkin", 107.6, 20.1),
    ("Vịnh Thái Lan", "Gulf of Thailand", 102.4, 9.6),
)


def derive_base(tarball: Path | None = None, out_dir: Path = HERE) -> dict[str, int]:
    """Write `base_ne10m.geojson`: the neighbours' land (one feature each, with names in
    English and Vietnamese) and the sea names; return each neighbour's vertex count."""
    topology, _ = fetch_topology(tarball)
    arcs = decode_arcs(topology)
    box, sea = shapely.box(*BASE_BOX), shapely.box(*EAST_SEA)
    features, figures = [], {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        iso, name = geometry.get("id"), geometry["properties"]["name"]
        if iso == VIETNAM or name not in NEIGHBOURS_VI:
            continue
        shape = shapely.make_valid(country_shape(arcs, geometry)).intersection(box)
        parts = [
            p
            for p in shapely.get_parts(shape)
            if shapely.get_type_id(p) == 3 and not sea.contains(p.centroid)
        ]
        if not parts:
            continue
        land = shapely.simplify(MultiPolygon(parts), BASE_TOLERANCE, preserve_topology=True)
        land = MultiPolygon([p for p in shapely.get_parts(land) if p.area > BASE_TOLERANCE**2])
        figures[name] = int(shapely.get_num_coordinates(land))
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "country",
                    "iso_n3": iso,
                    "name": name,
                    "name_vi": NEIGHBOURS_VI[name],
                },
                "geometry": _round(mapping(land), 5),
            }
        )
    for vi, en, lon, lat in SEAS:
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "sea", "name": en, "name_vi": vi},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        )
    _write(out_dir / "base_ne10m.geojson", features)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="a world-atlas-2.0.2.tgz already downloaded")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args()
    print(derive(args.tarball, args.out_dir))
    print(derive_base(args.tarball, args.out_dir))


if __name__ == "__main__":
    main()
