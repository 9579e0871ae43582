"""The basemap: TopoJSON decoding, antimeridian handling and the Web Mercator projection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wayfarer.ui.basemap import (
    ATTRIBUTION,
    MAX_LATITUDE,
    Country,
    decode_countries,
    load_countries,
    project,
    unproject,
)

LISBON = (-9.1498, 38.7251)  # (lon, lat), as GeoNames has it
COIMBRA = (-8.4103, 40.2056)
MASERU = (27.4833, -29.3167)


def by_name(detail: str) -> dict[str, Country]:
    return {c.name: c for c in load_countries(detail)}  # type: ignore[arg-type]


def span(ring: tuple[tuple[float, float], ...]) -> float:
    return max(lon for lon, _ in ring) - min(lon for lon, _ in ring)


# ---------------------------------------------------------------------- the bundled data


def test_110m_has_the_177_natural_earth_countries() -> None:
    countries = load_countries("110m")
    assert len(countries) == 177
    assert len({c.name for c in countries}) == 177
    assert by_name("110m")["Portugal"].iso_numeric == "620"


def test_50m_has_more_detail() -> None:
    countries = load_countries("50m")
    assert len(countries) == 241
    assert sum(len(r) for c in countries for r in c.rings) > 5 * sum(
        len(r) for c in load_countries("110m") for r in c.rings
    )


def test_countries_are_decoded_once() -> None:
    assert load_countries() is load_countries("110m")


def test_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="110m"):
        load_countries("10m")  # type: ignore[arg-type]


@pytest.mark.parametrize("detail", ["110m", "50m"])
def test_rings_are_closed_and_in_range(detail: str) -> None:
    for country in load_countries(detail):  # type: ignore[arg-type]
        assert country.rings, country.name
        for ring in country.rings:
            assert len(ring) >= 4 and ring[0] == ring[-1], country.name
            assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring), country.name


def test_portugal_contains_lisbon_and_spain_does_not() -> None:
    countries = by_name("110m")
    assert countries["Portugal"].contains(*LISBON)
    assert not countries["Spain"].contains(*LISBON)
    assert by_name("50m")["Portugal"].contains(*COIMBRA)


def test_holes_stay_holes() -> None:
    countries = by_name("110m")
    assert countries["Lesotho"].contains(*MASERU)
    assert not countries["South Africa"].contains(*MASERU)


# ---------------------------------------------------------------------- the antimeridian


@pytest.mark.parametrize("detail", ["110m", "50m"])
@pytest.mark.parametrize("name", ["Russia", "Fiji"])
def test_rings_across_the_antimeridian_are_split(detail: str, name: str) -> None:
    country = by_name(detail)[name]
    assert all(span(ring) <= 180 for ring in country.rings)
    assert any(min(lon for lon, _ in r) < -179 for r in country.rings)  # the piece east of 180°
    assert any(max(lon for lon, _ in r) > 179 for r in country.rings)  # and the piece west of it


def test_russia_keeps_both_ends() -> None:
    russia = by_name("110m")["Russia"]
    assert russia.contains(37.62, 55.75)  # Moscow
    assert russia.contains(-175.0, 66.0)  # Chukotka, east of the antimeridian


@pytest.mark.parametrize("detail", ["110m", "50m"])
def test_antarctica_is_closed_along_the_south_pole(detail: str) -> None:
    antarctica = by_name(detail)["Antarctica"]
    assert antarctica.contains(0.0, -88.0)
    assert antarctica.contains(-150.0, -87.0)
    assert antarctica.contains(106.0, -78.0)  # Vostok, deep in East Antarctica
    assert not antarctica.contains(0.0, -50.0)


def test_decoder_applies_delta_encoding_transform_and_reversed_arcs() -> None:
    # two unit squares side by side sharing the arc x=1; the right square uses it reversed (~0)
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.25], "translate": [10.0, 20.0]},
        "arcs": [
            [[2, 0], [0, 4]],  # (1, 20) -> (1, 21), quantized (2, 0) then +(0, 4)
            [[2, 4], [-2, 0], [0, -4], [2, 0]],  # left square's other three sides
            [[2, 0], [2, 0], [0, 4], [-2, 0]],  # right square's other three sides
        ],
        "objects": {
            "countries": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "id": "1", "properties": {"name": "West"}, "arcs": [[0, 1]]},
                    {"type": "Polygon", "id": "2", "properties": {"name": "East"}, "arcs": [[2, ~0]]},
                    {"type": None, "properties": {"name": "Nowhere"}},
                ],
            }
        },
    }
    west, east = decode_countries(topology)
    assert (west.name, west.iso_numeric) == ("West", "1")
    assert west.rings == (((11.0, 20.0), (11.0, 21.0), (10.0, 21.0), (10.0, 20.0), (11.0, 20.0)),)
    assert east.rings == (((11.0, 20.0), (12.0, 20.0), (12.0, 21.0), (11.0, 21.0), (11.0, 20.0)),)
    assert east.contains(11.5, 20.5) and not west.contains(11.5, 20.5)


def test_decoder_splits_an_island_across_the_antimeridian() -> None:
    ring = [[170.0, -10.0], [-170.0, -10.0], [-170.0, 10.0], [170.0, 10.0], [170.0, -10.0]]
    topology = {
        "type": "Topology",
        "arcs": [ring],
        "objects": {"countries": {"type": "GeometryCollection", "geometries": [{"type": "Polygon", "arcs": [[0]]}]}},
    }
    (island,) = decode_countries(topology)
    assert len(island.rings) == 2
    west_piece, east_piece = sorted(island.rings, key=lambda r: r[0][0])
    assert {lon for lon, _ in west_piece} == {-180.0, -170.0}
    assert {lon for lon, _ in east_piece} == {170.0, 180.0}
    assert island.contains(179.0, 0.0) and island.contains(-179.0, 0.0)
    assert not island.contains(0.0, 0.0)


# ---------------------------------------------------------------------- Web Mercator


def test_mercator_corners_and_centre() -> None:
    assert project(0.0, 0.0) == pytest.approx((0.5, 0.5))
    assert project(-180.0, MAX_LATITUDE) == pytest.approx((0.0, 0.0))
    assert project(180.0, -MAX_LATITUDE) == pytest.approx((1.0, 1.0))
    assert project(-9.15, 38.72)[1] < 0.5  # north is up


def test_mercator_clamps_the_poles() -> None:
    assert project(0.0, 90.0) == project(0.0, MAX_LATITUDE)
    assert project(0.0, -90.0) == project(0.0, -MAX_LATITUDE)


@given(
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-MAX_LATITUDE, max_value=MAX_LATITUDE, allow_nan=False),
)
def test_mercator_round_trips(lon: float, lat: float) -> None:
    x, y = project(lon, lat)
    assert 0.0 <= x <= 1.0 and -1e-12 <= y <= 1.0 + 1e-12
    assert unproject(x, y) == pytest.approx((lon, lat), abs=1e-9)


def test_attribution_credits_natural_earth() -> None:
    assert "Natural Earth" in ATTRIBUTION
