"""``sketch.DistinctCount``: exact up to ``EXACT`` values, then a HyperLogLog estimate within
its stated error; merged to the same state in any order and grouping (--jobs, Dask)."""

from __future__ import annotations

import itertools
import pickle
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.replay.sketch import EXACT, RELATIVE_ERROR, DistinctCount


def _count(values) -> DistinctCount:
    out = DistinctCount()
    out.update(values)
    return out


def _state(d: DistinctCount) -> tuple:
    return (None if d.values is None else sorted(map(repr, d.values)), d.registers, d.count())


def test_exact_up_to_the_bound_none_included():
    values = [f"10.0.{i // 256}.{i % 256}" for i in range(EXACT - 1)] + [None]
    d = _count(values + values[:100])
    assert d.exact and d.count() == EXACT
    assert d.summary() == {"distinct": EXACT, "distinct_estimated": False}


def test_past_the_bound_an_estimate_within_its_error_and_labelled():
    n = 60_000
    d = _count(f"203.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(n))
    assert not d.exact
    summary = d.summary()
    assert summary["distinct_estimated"] is True
    assert summary["distinct_relative_error"] == RELATIVE_ERROR
    # Deterministic (BLAKE2b), so this cannot flake: 4 standard errors of slack.
    assert abs(summary["distinct"] - n) <= 4 * RELATIVE_ERROR * n


def _values(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [f"198.51.{rng.randrange(64)}.{rng.randrange(256)}" for _ in range(n)]


def test_merge_is_the_same_in_any_order_and_grouping_across_the_switch():
    # Three parts each under EXACT, together over it: the union switches to the sketch
    # wherever the merge happens, and ends the sketch of the union.
    everything = _values(7, 9_000)
    parts = [_count(everything[a : a + 3000]) for a in range(0, 9000, 3000)]
    assert all(p.exact for p in parts)
    results = set()
    for a, b, c in itertools.permutations(parts):
        results.add(repr(_state(a.merge(b).merge(c))))
        results.add(repr(_state(a.merge(b.merge(c)))))
    results.add(repr(_state(_count(everything))))
    assert len(results) == 1
    one = _count(everything)
    assert not one.exact and abs(one.count() - len(set(everything))) <= 0.04 * len(set(everything))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 20_000), max_size=6_000),
    st.lists(st.integers(1, 2_500), min_size=1, max_size=8),
    st.randoms(use_true_random=False),
)
def test_any_split_merged_in_any_order_is_the_whole(numbers, cuts, rng):
    values = [f"v{n}" for n in numbers]
    parts, at = [], 0
    for size in cuts:
        parts.append(_count(values[at : at + size]))
        at += size
    parts.append(_count(values[at:]))
    rng.shuffle(parts)
    total = DistinctCount()
    for p in parts:
        total = p.merge(total) if rng.random() < 0.5 else total.merge(p)
    assert _state(total) == _state(_count(values))
    if total.exact:
        assert total.count() == len(set(values))


def test_pickles_to_the_same_state():
    for d in (_count(_values(1, 100)), _count(_values(2, 20_000))):
        assert _state(pickle.loads(pickle.dumps(d))) == _state(d)


def test_none_and_the_string_nul_n_are_two_values_in_the_sketch_too():
    # None (no address) was hashed as the bytes of the string "\x00n": past EXACT the two
    # counted as one, while the exact set, below it, counts two.
    assert _count([None, "\x00n"]).count() == 2
    many = [f"10.9.{i // 256}.{i % 256}" for i in range(EXACT + 1)]
    with_none = _count([*many, None])
    both = _count([*many, None, "\x00n"])
    assert not both.exact
    assert both.registers != with_none.registers
    assert both.count() > with_none.count()
    # Neither is lost in a merge, whichever side holds which.
    assert _count(many).merge(_count([None, "\x00n"])).registers == both.registers


def test_the_sketch_of_a_set_is_its_values_tagged_bytes_hashed_with_blake2b():
    # The registers (and so the distinct estimate a report prints) are fixed by the values
    # alone: a string is the tag b"s" and its UTF-8 bytes (lone surrogates kept), None is
    # b"n", each hashed with 8-byte BLAKE2b; the index is the top 14 bits and the rank the
    # position of the lowest set bit of the other 50. Worked out here value by value.
    from hashlib import blake2b

    values = [f"203.0.{i // 256}.{i % 256}" for i in range(EXACT)]
    values += ["", "\x00n", "ﬁ-ünïcode", "lone \ud800 surrogate", "[/oops]", None]
    regs = bytearray(1 << 14)
    for v in values:
        data = b"n" if v is None else b"s" + v.encode("utf-8", "surrogatepass")
        h = int.from_bytes(blake2b(data, digest_size=8).digest(), "big")
        index, rest = h >> 50, h & ((1 << 50) - 1)
        regs[index] = max(regs[index], 50 - rest.bit_length() + 1)
    sketch = _count(values)
    assert not sketch.exact
    assert sketch.registers == regs


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=12), st.integers(), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 2),
)
def test_a_batch_of_values_sets_the_registers_their_hashes_set_one_by_one(values, seed):
    # The sketch hashes a batch by C-level passes; each register must end as the largest
    # rank of the values that land in it, whatever kinds the batch mixes (None, other types).
    from compiler.replay import sketch

    start = _count([f"192.0.{i // 256}.{i % 256}" for i in range(EXACT + 1 + seed * 50)])
    want = bytearray(start.registers)
    for v in values:
        h = sketch._hash(v)
        index, rank = h >> 50, 50 - (h & ((1 << 50) - 1)).bit_length() + 1
        want[index] = max(want[index], rank)
    start.update(values)
    assert start.registers == want
