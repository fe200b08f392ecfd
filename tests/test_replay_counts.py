"""The report's recorded-outcome matrix is counted per batch without a pair per event
(``simulate._count_recorded``); it must be the count of (recorded, predicted) pairs."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.replay.simulate import _count_recorded, _hours, _utc_hour

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


times = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(
            [
                "2026-03-02T10:00:01Z",
                "2026-03-02T23:59:59Z",
                "2026-03-03T07:30:00+08:00",
                "2026-03-02T10:00:01.250Z",
                "0001-01-01T00:30:00+01:00",
            ]
        ),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(times)
def test_hours_are_the_utc_hour_of_each_time(batch):
    # One C-level slice per time when all are UTC (`Z`); any other batch event by event.
    want = [None if t is None else t[:13] if t.endswith("Z") else _utc_hour(t) for t in batch]
    assert _hours(batch) == want
    assert _hours(["2026-03-03T07:30:00+08:00"]) == ["2026-03-02T23"]
