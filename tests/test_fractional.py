"""Fractional index keys: the sort keys of days and stops.

A key sorts between its neighbours by plain string comparison, there is always room for
another one, and two peers inserting between the same neighbours at once pick different
keys.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wayfarer.trip.fractional import DIGITS, InvalidPosition, is_valid, key_between, keys_for_append

keys = st.builds(
    lambda body, last: body + last,
    st.text(alphabet=DIGITS, max_size=8),
    st.sampled_from(DIGITS[1:]),
)
rngs = st.randoms(use_true_random=False)


@given(keys, keys, rngs)
def test_a_key_between_two_keys_sorts_strictly_between_them(a: str, b: str, rng: random.Random) -> None:
    """For any two different keys, key_between gives a valid key strictly between them."""
    if a == b:
        return
    before, after = min(a, b), max(a, b)
    key = key_between(before, after, rng)
    assert is_valid(key)
    assert before < key < after


@given(keys, rngs)
def test_a_key_after_the_last_sorts_after_it(last: str, rng: random.Random) -> None:
    """key_between(k, None) is a valid key greater than k."""
    key = key_between(last, None, rng)
    assert is_valid(key)
    assert key > last


@given(keys, rngs)
def test_a_key_before_the_first_sorts_before_it(first: str, rng: random.Random) -> None:
    """key_between(None, k) is a valid key smaller than k."""
    key = key_between(None, first, rng)
    assert is_valid(key)
    assert key < first


@given(rngs)
def test_the_first_key_of_an_empty_list_is_valid(rng: random.Random) -> None:
    """key_between(None, None) is a valid key."""
    assert is_valid(key_between(None, None, rng))


@given(st.lists(st.integers(min_value=0), max_size=60), rngs)
def test_a_list_built_by_inserting_anywhere_sorts_by_key_into_the_order_it_was_built(
    slots: list[int], rng: random.Random
) -> None:
    """Inserting at random indexes with the neighbours' keys keeps key order == list order."""
    items: list[tuple[str, int]] = []
    for n, slot in enumerate(slots):
        index = slot % (len(items) + 1)
        before = items[index - 1][0] if index > 0 else None
        after = items[index][0] if index < len(items) else None
        items.insert(index, (key_between(before, after, rng), n))
    assert sorted(items) == items
    assert len({key for key, _ in items}) == len(items)


def test_a_thousand_appends_stay_ordered_and_short() -> None:
    appended = keys_for_append(None, 1000, random.Random(7))
    assert appended == sorted(appended)
    assert len(set(appended)) == 1000
    assert all(is_valid(k) for k in appended)
    assert max(len(k) for k in appended) <= 10


def test_a_thousand_prepends_stay_ordered_and_short() -> None:
    rng = random.Random(7)
    prepended: list[str] = []
    first = None
    for _ in range(1000):
        first = key_between(None, first, rng)
        prepended.insert(0, first)
    assert prepended == sorted(prepended)
    assert all(is_valid(k) for k in prepended)
    assert max(len(k) for k in prepended) <= 10


def test_keys_grow_with_the_logarithm_of_the_number_of_appends() -> None:
    appended = keys_for_append(None, 20_000, random.Random(11))
    assert appended == sorted(appended)
    assert len(appended[-1]) <= 12


@given(keys, keys, st.sampled_from(["between", "append", "prepend"]))
def test_concurrent_inserts_between_the_same_neighbours_pick_distinct_keys(a: str, b: str, where: str) -> None:
    """Peers with their own random generators almost never pick the same key (< 1 in 36**3)."""
    before, after = min(a, b), max(a, b)
    if before == after:
        return
    if where == "append":
        before, after = after, None
    elif where == "prepend":
        before, after = None, before
    peers = 40
    picked = {key_between(before, after, random.Random(seed)) for seed in range(peers)}
    # 40 peers make 780 pairs: even one shared key is expected once in ~60 examples.
    assert len(picked) >= peers - 2


def test_every_peer_gets_a_different_key_between_the_same_neighbours_in_practice() -> None:
    picked = [key_between("a", "b", random.Random(seed)) for seed in range(2000)]
    # 2000 draws from >= 45,000 candidates: the birthday bound expects ~44 shared pairs,
    # an exact midpoint (or a tiny interval) would give 1,999.
    assert len(set(picked)) >= 1900


@pytest.mark.parametrize("bad", ["", "a0", "0", "A", "a-b", "a b", "é", "a.5"])
def test_a_string_that_is_not_a_key_is_rejected(bad: str) -> None:
    assert not is_valid(bad)
    with pytest.raises(InvalidPosition, match="before"):
        key_between(bad, None)
    with pytest.raises(InvalidPosition, match="after"):
        key_between(None, bad)


@pytest.mark.parametrize(("before", "after"), [("b", "a"), ("a", "a"), ("a1", "a")])
def test_neighbours_out_of_order_are_rejected(before: str, after: str) -> None:
    with pytest.raises(InvalidPosition, match="must sort before"):
        key_between(before, after)


def test_an_invalid_position_is_a_value_error() -> None:
    assert issubclass(InvalidPosition, ValueError)
