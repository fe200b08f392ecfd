"""``ChainDecider.reads`` remembers the keys an (account, action) decision reads in two
generations, as the trie's memo does (issue 15 item 2: a memo evicts, never clears
wholesale): once full it keeps answering as a fresh decider would, its size stays within its
bound, and a pair still asked for is not walked again when the generations turn."""

from __future__ import annotations

import pytest

import compiler.decide.chain as chain_module
from compiler.decide.chain import ChainDecider
from compiler.decide.trie import DecisionTrie
from compiler.model.org import bind_org, parse_org
from compiler.policy import compile_sources

ORG = """\
[root]
id = "r-1"

[[account]]
id = "111"
parent = "r-1"

[[account]]
id = "222"
parent = "r-1"
"""
RULES = (
    "policy base for control-policy attach [r-1]\n"
    'deny ECS RebootInstance when unchecked "acs:Legacy" in [on]\n'
    'deny OSS GetObject when "oss:Prefix" like [secret/*]\n'
    "allow ECS *\n"
    "allow OSS *\n"
)
LIMIT = 8
ACTIONS = ["ecs:RebootInstance", "oss:GetObject", *(f"ecs:Describe{i}" for i in range(20))]


@pytest.fixture
def decider(monkeypatch):
    monkeypatch.setattr(chain_module, "_READS_LIMIT", LIMIT)
    policy = compile_sources([("base.rules", RULES)])
    org = bind_org(parse_org("org.toml", ORG), policy.ruleset, policy.sources)
    return policy, org, ChainDecider(policy.ruleset, org)


def _remembered(decider: ChainDecider) -> int:
    return len(decider._reads) + len(decider._old_reads)


def test_a_full_memo_answers_as_a_fresh_decider_and_stays_bounded(decider):
    policy, org, chain = decider
    for _ in range(3):
        for account in ("111", "222"):
            for action in ACTIONS:
                fresh = ChainDecider(policy.ruleset, org).reads(account, action)
                assert chain.reads(account, action) == fresh
                assert _remembered(chain) <= LIMIT
    assert chain.reads("111", "ecs:RebootInstance") == ("acs:Legacy",)
    assert chain.reads("222", "oss:GetObject") == ("oss:Prefix",)
    assert chain.reads("111", "ecs:Describe3") is None


def test_a_pair_still_asked_for_survives_the_turn(decider, monkeypatch):
    _, _, chain = decider
    walked: list[str] = []
    real = DecisionTrie.reads

    def counting(self, action):
        walked.append(action)
        return real(self, action)

    monkeypatch.setattr(DecisionTrie, "reads", counting)
    chain.reads("111", "ecs:RebootInstance")
    first = walked.count("ecs:RebootInstance")
    assert first > 0
    # Many other pairs, the hot one asked for between them: a wholesale clear at the bound
    # made it walk the chain again after every clear.
    for action in ACTIONS[2:] * 3:
        chain.reads("222", action)
        assert chain.reads("111", "ecs:RebootInstance") == ("acs:Legacy",)
    assert walked.count("ecs:RebootInstance") == first
    assert _remembered(chain) <= LIMIT
