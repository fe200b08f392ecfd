"""One cap on an action's length everywhere (issue 16): `ramguard decide` refused an action
over MAX_ACTION characters and a trace's over-long eventName is malformed, while
`Policy.decide` matched any length (F9: a first sighting costs pattern × action length)."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.model.glob import MAX_ACTION

RULES = "deny ECS *a*a*a*b\ndeny ECS RunInstances\n"


def test_policy_decide_refuses_an_action_over_the_cap_every_time():
    policy = compile_sources([("c.rules", RULES)])
    longest = "ecs:" + "a" * (MAX_ACTION - 4)
    assert policy.decide(longest).decision == "allow"
    too_long = longest + "b"
    for _ in range(2):  # never remembered, so never answered from the warm path
        with pytest.raises(ValueError, match=f"the action is {MAX_ACTION + 1:,} characters"):
            policy.decide(too_long)
    assert policy.decide("ecs:RunInstances").decision == "deny"


def test_the_cli_uses_the_same_cap(run_cli, tmp_path):
    path = tmp_path / "c.rules"
    path.write_text(RULES)
    ok = run_cli("decide", "--rules", path, "ecs:" + "a" * (MAX_ACTION - 4))
    assert ok.exit_code == 0, ok.stderr
    refused = run_cli("decide", "--rules", path, "ecs:" + "a" * (MAX_ACTION - 3))
    assert refused.exit_code == 2
    assert f"the action is {MAX_ACTION + 1:,} characters" in refused.stderr


def test_the_replay_path_decides_long_actions_without_remembering_them():
    policy = compile_sources([("c.rules", RULES)])
    trie = policy.trie
    action = "ecs:" + "a" * 2 * MAX_ACTION + "b"
    assert trie.decide(action).denied  # the unchecked path (traces cap eventName earlier)
    assert action not in trie._memo
