"""The report's recorded-outcome matrix is counted per batch without a pair per event
(``simulate._count_recorded``); it must be the count of (recorded, predicted) pairs."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.replay.simulate import _count_recorded

pairs = st.lists(
    st.tuples(
        st.sampled_from(["allow", "allow", "allow", "deny", "error"]),
        st.sampled_from(["allow", "deny", "implicit-deny"]),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(pairs, st.dictionaries(st.tuples(st.just("allow"), st.just("deny")), st.integers(1, 5)))
def test_recorded_matrix_is_the_count_of_pairs(batch, before):
    recorded = [r for r, _ in batch]
    verdicts = [v for _, v in batch]
    table = dict(before)
    _count_recorded(table, recorded, verdicts, verdicts.count("deny"))
    expected = Counter(before) + Counter(zip(recorded, verdicts, strict=True))
    assert table == dict(expected)
