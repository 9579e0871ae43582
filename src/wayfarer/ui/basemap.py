"""Country outlines for the desktop map, and the Web Mercator projection it is drawn in.

Pure data, no Qt: the map view turns these rings into paths. The outlines are Natural Earth
countries at 1:110m or 1:50m, vendored as TopoJSON from the `world-atlas` package
(see resources/README.md). Rings are (lon, lat) in degrees, closed (first point == last);
draw each country's rings with the even-odd fill rule so that holes (Lesotho inside South
Africa) stay holes.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

ATTRIBUTION = "Country outlines: Natural Earth (public domain), via world-atlas 2.0.2 (ISC licence)."

# Web Mercator's square world ends here: at this latitude y reaches 0 and 1.
MAX_LATITUDE = 85.0511287798

Detail = Literal["110m", "50m"]
LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]


@dataclass(frozen=True)
class Country:
    name: str
    iso_numeric: str  # ISO 3166-1 numeric code as text ("620"); "" where Natural Earth has none
    rings: tuple[Ring, ...]  # outer rings and holes alike, every longitude within [-180, 180]

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the point is inside the country (even-odd rule over all its rings)."""
        inside = False
        for ring in self.rings:
            if _crossings(ring, lon, lat) % 2:
                inside = not inside
        return inside


def _crossings(ring: Ring, lon: float, lat: float) -> int:
    """How many edges of `ring` a ray from the point towards the east crosses."""
    count = 0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            count += 1
    return count


# ---------------------------------------------------------------------- projection


def project(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator: (lon, lat) in degrees -> (x, y) in the unit square, x growing east and
    y growing south (screen order), so (0, 0) is the north-west corner. Latitudes beyond
    ±MAX_LATITUDE are clamped to it: the poles would be infinitely far away."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    sin_lat = math.sin(math.radians(lat))
    x = (lon + 180.0) / 360.0
    y = 0.5 - math.log((1 + sin_lat) / (1 - sin_lat)) / (4 * math.pi)
    return x, y


def unproject(x: float, y: float) -> tuple[float, float]:
    """The inverse of `project`: (x, y) in the unit square -> (lon, lat) in degrees."""
    lon = x * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))
    return lon, lat


# ---------------------------------------------------------------------- loading


def load_countries(detail: Detail = "110m") -> tuple[Country, ...]:
    """The world's countries from the bundled Natural Earth data, decoded once per detail.
    "110m" (177 countries, small) suits a whole-world view; "50m" (241) suits zooming in."""
    if detail not in ("110m", "50m"):
        raise ValueError(f"no basemap at detail {detail!r}: choose '110m' or '50m'")
    return _load(detail)


@functools.cache  # keyed on the detail alone, so load_countries() and ("110m") share it
def _load(detail: Detail) -> tuple[Country, ...]:
    path = resources.files("wayfarer").joinpath(f"resources/basemap/countries-{detail}.json")
    return tuple(decode_countries(json.loads(path.read_text(encoding="utf-8"))))


def decode_countries(topology: Mapping[str, Any], object_name: str = "countries") -> list[Country]:
    """Decode the polygons of one object of a TopoJSON topology into countries, with rings
    that cross the antimeridian split at ±180° so each piece draws on its own side."""
    arcs = _decode_arcs(topology)
    countries = []
    for geometry in topology["objects"][object_name]["geometries"]:
        if geometry.get("type") == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry.get("type") == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue  # a feature without geometry (TopoJSON type null) has nothing to draw
        rings: list[Ring] = []
        for polygon in polygons:
            for ring_arcs in polygon:
                rings.extend(_fit_antimeridian(_stitch(ring_arcs, arcs)))
        countries.append(
            Country(
                name=str(geometry.get("properties", {}).get("name", "")),
                iso_numeric=str(geometry.get("id", "")),
                rings=tuple(rings),
            )
        )
    return countries


def _decode_arcs(topology: Mapping[str, Any]) -> list[list[LonLat]]:
    """Absolute positions of every arc. A quantized topology (one with a `transform`) stores
    each position as integer deltas from the previous one."""
    transform = topology.get("transform")
    if transform is None:
        return [[(float(x), float(y)) for x, y, *_ in arc] for arc in topology["arcs"]]
    (scale_x, scale_y), (shift_x, shift_y) = transform["scale"], transform["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy, *_ in arc:
            x += dx
            y += dy
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        decoded.append(points)
    return decoded


def _stitch(ring_arcs: Iterable[int], arcs: Sequence[list[LonLat]]) -> list[LonLat]:
    """One ring from its arcs. Index ~i means arc i reversed; consecutive arcs share their
    joining point, which is kept once."""
    ring: list[LonLat] = []
    for index in ring_arcs:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


# ---------------------------------------------------------------------- antimeridian


def _fit_antimeridian(ring: list[LonLat]) -> list[Ring]:
    """`ring` as one or more rings with every longitude in [-180, 180] that draw correctly.

    Natural Earth's Fiji, Russia and Antarctica jump from +180 to -180 mid-ring; drawn as
    is, that jump is a stripe across the whole map. Unwrapping the jumps gives a continuous
    ring (Chukotka at 190° instead of -170°), which is then cut at ±180° and each piece moved
    back into range. A ring around a pole (Antarctica) unwraps into an open band; it is
    closed along the pole first.
    """
    unwrapped = _unwrap(ring)
    if abs(unwrapped[-1][0] - unwrapped[0][0]) > 180:  # went once around the world
        pole = -90.0 if sum(lat for _, lat in unwrapped) < 0 else 90.0
        first, last = unwrapped[0], unwrapped[-1]
        unwrapped += [(last[0], pole), (first[0], pole), first]
    west = min(lon for lon, _ in unwrapped)
    east = max(lon for lon, _ in unwrapped)
    if -180 <= west and east <= 180:
        return [tuple(unwrapped)]
    pieces = []
    for shift in (-360.0, 0.0, 360.0):  # the world copies a ring can reach into
        low, high = shift - 180.0, shift + 180.0
        if east <= low or west >= high:
            continue
        piece = _clip(_clip(unwrapped, low, keep_east=True), high, keep_east=False)
        if len(piece) >= 4:  # a closed ring needs three distinct points
            pieces.append(tuple((lon - shift, lat) for lon, lat in piece))
    return pieces


def _unwrap(ring: list[LonLat]) -> list[LonLat]:
    """Make longitudes continuous: a step of more than 180° is really a step the short way
    across the antimeridian."""
    out = [ring[0]]
    offset = 0.0
    for (prev_lon, _), (lon, lat) in zip(ring, ring[1:]):
        step = lon - prev_lon
        if step > 180:
            offset -= 360.0
        elif step < -180:
            offset += 360.0
        out.append((lon + offset, lat))
    return out


def _clip(ring: list[LonLat], meridian: float, *, keep_east: bool) -> list[LonLat]:
    """The part of a closed ring east (or west) of a meridian (Sutherland-Hodgman against
    one edge), closed again."""

    def inside(point: LonLat) -> bool:
        return point[0] >= meridian if keep_east else point[0] <= meridian

    def crossing(a: LonLat, b: LonLat) -> LonLat:
        t = (meridian - a[0]) / (b[0] - a[0])
        return (meridian, a[1] + t * (b[1] - a[1]))

    points = ring[:-1] if ring[0] == ring[-1] else ring
    out: list[LonLat] = []
    for previous, current in zip([points[-1], *points[:-1]], points):
        if inside(current):
            if not inside(previous):
                out.append(crossing(previous, current))
            out.append(current)
        elif inside(previous):
            out.append(crossing(previous, current))
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out
