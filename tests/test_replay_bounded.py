"""The bounded source-address table (``impact.BoundedTable``): exact while it holds every
value; past its bound, lower bounds with a stated slack that hold; merged the same in any
order and grouping (the report is the same bytes for any number of workers)."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from compiler.replay.events import TraceEvent
from compiler.replay.impact import BoundedTable, Table


def _batch(keys: list[str | None], start: int) -> list[TraceEvent]:
    return [
        TraceEvent(0, start + i, f"ev-{start + i}", "ecs:RunInstances", "ECS", "RunInstances",
                   {}, None, "allow", source_ip=k)
        for i, k in enumerate(keys)
    ]  # fmt: skip


def _stream(seed: int, n: int) -> list[tuple[str | None, bool]]:
    rng = random.Random(seed)
    hot = [f"10.0.0.{i}" for i in range(8)]
    out = []
    for _ in range(n):
        r = rng.random()
        key = (
            rng.choice(hot)
            if r < 0.6
            else None
            if r < 0.65
            else f"203.0.{rng.randrange(256)}.{rng.randrange(256)}"
        )
        out.append((key, rng.random() < 0.3))
    return out


def _fill(table: Table, items: list[tuple[str | None, bool]], start: int = 0, size: int = 100):
    for at in range(0, len(items), size):
        chunk = items[at : at + size]
        keys = [k for k, _ in chunk]
        denied_at = [i for i, (_, d) in enumerate(chunk) if d]
        batch = _batch(keys, start + at)
        table.add(keys, [keys[i] for i in denied_at], batch, denied_at)
    return table


def _state(t: BoundedTable) -> tuple:
    def items(d: dict) -> list:
        return sorted(d.items(), key=repr)

    return (items(t.events), items(t.denied), items(t.first_denied), items(t.slack), t.floor,
            t.total, t.total_denied, t.seen.summary())  # fmt: skip


def test_exact_while_it_holds_every_value():
    items = _stream(1, 2_000)
    bounded = _fill(BoundedTable(limit=10_000), items)
    plain = _fill(Table(keep_first=False), items)
    assert not bounded.approximate
    assert bounded.rows() == plain.rows()
    assert bounded.summary() == {
        "calls": 2_000,
        "denied": sum(d for _, d in items),
        "approximate": False,
        "distinct": len({k for k, _ in items}),
        "distinct_estimated": False,
    }


def test_past_its_bound_counts_are_lower_bounds_with_the_slack_stated():
    items = _stream(2, 5_000)
    table = _fill(BoundedTable(limit=16), items)
    assert table.approximate and len(table.events) <= 32
    calls = Counter(k for k, _ in items)
    denied = Counter(k for k, d in items if d)
    for key, n in table.events.items():
        more = table.slack.get(key, (0, 0))
        assert n <= calls[key] <= n + more[0]
        assert table.denied.get(key, 0) <= denied[key] <= table.denied.get(key, 0) + more[1]
    for key in calls.keys() - table.events.keys():  # dropped: at most the floor
        assert calls[key] <= table.floor[0] and denied[key] <= table.floor[1]
    # The hot addresses (60 % of the calls) survive, with the exact totals beside them.
    assert {f"10.0.0.{i}" for i in range(8)} <= table.events.keys()
    summary = table.summary()
    assert (summary["calls"], summary["denied"]) == (5_000, sum(denied.values()))
    assert summary["other"]["calls"] == 5_000 - sum(table.events.values())


@pytest.mark.parametrize("limit", [16, 10_000])
def test_merge_is_the_same_in_any_order_and_grouping(limit):
    items = _stream(3, 3_000)
    parts = [_fill(BoundedTable(limit), items[a : a + 1000], start=a) for a in range(0, 3000, 1000)]
    results = set()
    for a, b, c in itertools.permutations(parts):
        results.add(repr(_state(a.merge(b).merge(c))))
        results.add(repr(_state(a.merge(b.merge(c)))))
    assert len(results) == 1


def test_distinct_counts_every_value_seen_not_only_the_ones_kept():
    # The table keeps at most 32 addresses; the count is of all of them (exact: < EXACT).
    items = _stream(4, 5_000)
    table = _fill(BoundedTable(limit=16), items)
    assert table.approximate and len(table.events) <= 32
    summary = table.summary()
    assert summary["distinct"] == len({k for k, _ in items}) > 32
    assert summary["distinct_estimated"] is False
