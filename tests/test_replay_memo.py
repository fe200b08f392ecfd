"""The replay's memo of both engines' answers (``compiler.replay.memo``): the same answers,
mismatches included, as deciding every event alone; bounded; keys in other spellings are
never folded into a cached answer."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_simulate import requests, rules_text

from compiler import compile_sources
from compiler.ram import RamEvaluator
from compiler.replay import memo as memo_module
from compiler.replay.events import TraceEvent
from compiler.replay.memo import Memo, relevant_keys


def _events(reqs: list[tuple[str, dict]]) -> list[TraceEvent]:
    return [
        TraceEvent(0, i + 1, f"ev-{i}", action, None, action.partition(":")[2], ctx, None, "allow")
        for i, (action, ctx) in enumerate(reqs)
    ]


def _memo(policy, ram) -> Memo:
    trie = policy.trie.decider()
    return Memo(
        (
            lambda ev, _on: trie(ev.action, ev.context),
            lambda ev, _on: ram.decide(ev.action, ev.context),
        ),
        relevant_keys([policy], [ram]),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=rules_text(),
    other=rules_text(),
    reqs=st.lists(requests(), min_size=1, max_size=20),
    repeats=st.integers(1, 3),
)
def test_memoised_answers_equal_deciding_each_event_alone(text, other, reqs, repeats):
    # The RAM documents come from *other* rules: the engines disagree on many requests, and
    # every disagreement must survive the memo event by event (the mismatch check).
    policy = compile_sources([("random.rules", text)])
    ram = RamEvaluator(
        [(d.filename, d.as_dict()) for d in compile_sources([("o.rules", other)]).documents]
    )
    events = _events(reqs * repeats)
    memo = _memo(policy, ram)
    got = memo.answers(events, None)
    want = [(policy.decide(e.action, e.context), ram.decide(e.action, e.context)) for e in events]
    assert got == want
    assert memo.misses <= len(reqs)  # each distinct request decided once, at most


def test_a_key_the_projection_does_not_read_is_decided_alone():
    policy = compile_sources(
        [("r.rules", "deny ECS RunInstances when source_ip in [10.0.0.0/8]\n")]
    )
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    # RAM folds key case, the trie does not: `acs:sourceip` is relevant to RAM only, and the
    # projection (which reads the normaliser's spellings) would not see it.
    events = _events(
        [
            ("ecs:RunInstances", {"acs:sourceip": "10.1.1.1"}),
            ("ecs:RunInstances", {"acs:sourceip": "8.8.8.8"}),
        ]
    )
    memo = _memo(policy, ram)
    answers = memo.answers(events, None)
    assert [a[1] for a in answers] == ["deny", "allow"]
    assert [a[0].decision for a in answers] == ["allow", "allow"]  # the trie reads acs:SourceIp
    assert memo.misses == 2


def test_values_of_other_types_are_not_shared():
    # True == 1 and 0.0 == -0.0 in Python: the key holds each value's type and repr, so such
    # values never share an answer that an operator could give differently.
    assert memo_module._value(True) != memo_module._value(1)
    assert memo_module._value(0.0) != memo_module._value(-0.0)
    assert memo_module._value("10.0.0.1") == "10.0.0.1"


def test_the_table_is_bounded(monkeypatch):
    monkeypatch.setattr(memo_module, "LIMIT", 8)
    policy = compile_sources([("r.rules", "deny ECS RunInstances when access_key in [LTAI5tA]\n")])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    memo = _memo(policy, ram)
    events = _events([("ecs:RunInstances", {"acs:AccessId": f"LTAI5t{i}"}) for i in range(100)])
    memo.answers(events, None)
    assert len(memo._young) + len(memo._old) <= 16
    assert memo.misses == 100
