"""Exact analysis (issue 11): prove the trie and the JSON agree; planted faults are found."""

from __future__ import annotations

import copy
import json
import random

import pytest

from compiler.analysis.globsets import Literal, Undecided, classes
from compiler.analysis.prove import compare, from_documents, from_trie
from compiler.policy import compile_rules, compile_sources
from compiler.ram.evaluator import RamEvaluator

FAULTS = """policy faults "planted faults"
deny ECS RunCommand unless source_ip in [10.0.0.0/8]
deny RAM * when mfa = false
deny ECS DeleteInstance unless request_tag:owner like [team-*]
deny ECS DeleteInstances on acs:ecs:*:*:instance/i-prod*
deny ECS StopInstance, StartInstance
"""


def _evaluator(docs: list[dict]) -> RamEvaluator:
    return RamEvaluator([(f"doc{i}", d) for i, d in enumerate(docs)])


def _prove(policy, docs):
    return compare(from_trie("rules", policy.trie), from_documents("json", _evaluator(docs)))


@pytest.fixture(scope="module")
def faults():
    return compile_sources([("faults.rules", FAULTS)])


@pytest.mark.parametrize("path", ["policies", "examples/guardrails", "examples/resources"])
def test_repo_policies_prove_equal(path):
    policy = compile_rules([path])
    assert _prove(policy, policy.ram_documents()).status == "equal"


def _statements(docs):
    return [st for d in docs for st in d["Statement"]]


def _drop_action(docs):
    for st in _statements(docs):
        if "ecs:StartInstance" in st.get("Action", []):
            st["Action"].remove("ecs:StartInstance")
            return


def _widen_cidr(docs):
    text = json.dumps(docs).replace("10.0.0.0/8", "10.0.0.0/7")
    docs[:] = json.loads(text)


def _flip_bool(docs):
    text = json.dumps(docs).replace('"false"', '"true"')
    docs[:] = json.loads(text)


def _like_to_equals(docs):
    text = json.dumps(docs).replace("StringNotLike", "StringNotEquals")
    docs[:] = json.loads(text)


def _drop_resource(docs):
    for st in _statements(docs):
        if st["Resource"] != "*":
            st["Resource"] = "*"


@pytest.mark.parametrize(
    "plant", [_drop_action, _widen_cidr, _flip_bool, _like_to_equals, _drop_resource]
)
def test_planted_fault_found_with_a_confirmed_witness(faults, plant):
    docs = copy.deepcopy(faults.ram_documents())
    assert _prove(faults, docs).status == "equal"
    before = json.dumps(docs)
    plant(docs)
    assert json.dumps(docs) != before, "the fault was planted"
    verdict = _prove(faults, docs)
    assert verdict.status == "different"
    w = verdict.witness
    trie_says = faults.decide(w.action, w.context, w.resource).denied
    json_says = _evaluator(docs).decide(w.action, w.context, resource=w.resource) == "deny"
    assert trie_says != json_says
    assert (w.a_denies, w.b_denies) == (trie_says, json_says)


def test_witness_is_shortest_action(faults):
    docs = copy.deepcopy(faults.ram_documents())
    _drop_action(docs)
    assert _prove(faults, docs).witness.action == "ecs:startinstance"


def test_equal_means_random_requests_agree(faults):
    docs = faults.ram_documents()
    assert _prove(faults, docs).status == "equal"
    ev = _evaluator(docs)
    rng = random.Random(11)
    actions = ["ecs:RunCommand", "ram:GetUser", "ecs:DeleteInstance", "ecs:StopInstance", "x:y"]
    values = {
        "acs:SourceIp": ["10.1.2.3", "11.0.0.1", "junk"],
        "acs:MFAPresent": ["true", "false", "maybe"],
        "acs:RequestTag/owner": ["team-a", "bob", ""],
    }
    resources = [None, "acs:ecs:cn-hangzhou:1:instance/i-prod1", "acs:ecs:x:1:instance/i-dev"]
    for _ in range(500):
        ctx = {k: rng.choice(v) for k, v in values.items() if rng.random() < 0.6}
        action, resource = rng.choice(actions), rng.choice(resources)
        assert faults.decide(action, ctx, resource).denied == (
            ev.decide(action, ctx, resource=resource) == "deny"
        )


def test_glob_classes_shortest_witnesses_and_budget():
    found = dict(classes(["ecs:*", "ecs:describe*", Literal("a*")], fold=True))
    assert found[frozenset({0})] == "ecs:"
    assert found[frozenset({0, 1})] == "ecs:describe"
    assert found[frozenset({2})] == "a*"
    assert found[frozenset()] == ""
    with pytest.raises(Undecided):
        classes(["*a" + "?" * 14], fold=False, budget=1000)


def test_times_at_the_ends_of_the_calendar_do_not_overflow():
    text = (
        'policy t "t"\n'
        "deny RDS DeleteDBInstance when time before 0001-01-01T00:00:00Z\n"
        "deny RDS DescribeDBInstances when time after 9999-12-31T23:59:59.999999Z\n"
    )
    policy = compile_sources([("t.rules", text)])
    assert _prove(policy, policy.ram_documents()).status == "equal"
