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


def _trace_file(tmp_path, calls: list[tuple[str, str, str]]):
    """A JSON-lines trace of ECS calls: (operation, source address, time)."""
    import json

    lines = []
    for i, (name, ip, when) in enumerate(calls):
        event = {
            "eventId": f"e{i}",
            "eventName": name,
            "eventSource": "ecs.aliyuncs.com",
            "serviceName": "Ecs",
            "eventTime": when,
            "sourceIpAddress": ip,
            "userIdentity": {"type": "ram-user", "accountId": "111", "userName": "bo"},
        }
        lines.append(json.dumps(event) + "\n")
    path = tmp_path / "t.jsonl"
    path.write_text("".join(lines))
    return path


CALLS = [
    ("RunInstances", "10.1.1.1", "2026-03-02T10:00:01Z"),
    ("RunInstances", "8.8.8.8", "2026-03-02T10:00:02Z"),
    ("RunInstances", "10.2.2.2", "2026-03-02T10:00:03Z"),
    ("StopInstance", "8.8.8.8", "2026-03-02T10:00:10Z"),
    ("StopInstance", "8.8.8.8", "2026-03-02T10:00:40Z"),
    ("RunInstances", "8.8.4.4", "2026-03-02T10:00:41Z"),
] * 3
CONDITIONAL = (
    "deny ECS RunInstances when source_ip in [10.0.0.0/8]\n"
    "deny ECS StopInstance when time at or after 2026-03-02T10:00:30Z\n"
)


def test_conditions_on_the_address_and_the_time_read_each_events_values(tmp_path):
    # The trace is read as columns; both engines must see each event's own address and
    # time, not the first event's answer for the action nor a context left empty.
    from compiler.replay.simulate import Engines, simulate

    policy = compile_sources([("r.rules", CONDITIONAL)])
    report = simulate([str(_trace_file(tmp_path, CALLS))], Engines.for_policy(policy))
    assert (report.decided, report.denied, report.mismatches) == (18, 9, 0)
    assert report.by_rule == {0: 6, 1: 3}


def test_conditions_only_the_ram_documents_have_are_read(tmp_path):
    # Rules without conditions, RAM JSON with them: the RAM evaluator reads the contexts
    # even though the trie does not, and each disagreement is a mismatch of its own.
    from compiler.replay.simulate import Engines, simulate

    plain = compile_sources([("r.rules", "deny ECS RunInstances, StopInstance\n")])
    documents = [
        (d.filename, d.as_dict()) for d in compile_sources([("c.rules", CONDITIONAL)]).documents
    ]
    engines = Engines.for_policy(plain, documents)
    report = simulate([str(_trace_file(tmp_path, CALLS))], engines)
    assert (report.denied, report.mismatches) == (18, 9)
    assert {(m[3], m[4], m[5]) for m in report.mismatch_examples} == {
        ("ecs:RunInstances", "deny", "allow"),
        ("ecs:StopInstance", "deny", "allow"),
    }


def test_without_conditions_the_answers_are_the_actions(tmp_path):
    from compiler.replay.simulate import Engines, simulate

    policy = compile_sources([("r.rules", "deny ECS RunInstances\n")])
    report = simulate([str(_trace_file(tmp_path, CALLS))], Engines.for_policy(policy))
    assert (report.denied, report.allowed, report.mismatches) == (12, 6, 0)
    assert report.engines["ram"].evaluated == 2  # one RAM decision per distinct action
