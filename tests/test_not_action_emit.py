"""NotAction statements are emitted whole (found by the trie ≡ RAM evaluator property test):
two `except` rules with equal conditions must not share one NotAction (the union of their
exceptions denies less than either), and a NotAction list is never cut across documents."""

from __future__ import annotations

import pytest

from compiler import CompileError, compile_sources
from compiler.catalog import default_catalog
from compiler.ram import RamEvaluator


def _engines(text: str):
    policy = compile_sources([("p.rules", text)])
    return policy, RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])


def test_except_rules_with_equal_conditions_keep_their_own_exceptions():
    policy, evaluator = _engines(
        "deny * * except [sts:AssumeRole] unless resource_tag:env in [prod]\n"
        "deny * * except [sts:AssumeRole, ram:Get*] unless resource_tag:env in [prod]\n"
    )
    statements = [s for d in policy.ram_documents() for s in d["Statement"]]
    assert sorted(s["NotAction"] for s in statements) == [
        ["ram:Get*", "sts:AssumeRole"],
        ["sts:AssumeRole"],
    ]
    # The first rule denies ram:GetUser; the second does not; deny wins.
    assert policy.decide("ram:GetUser").decision == "deny"
    assert evaluator.decide("ram:GetUser") == "deny"


def test_equal_exceptions_still_share_a_statement():
    policy, _ = _engines("deny * * except [sts:AssumeRole]\ndeny * * except [sts:AssumeRole]\n")
    (doc,) = policy.ram_documents()
    assert len(doc["Statement"]) == 1


def _actions(n: int) -> list[str]:
    return sorted(
        default_catalog().service("ECS").ram_actions(op)[0]
        for op in sorted(default_catalog().service("ECS").operations())
    )[:n]


def test_a_notaction_list_moves_to_the_next_document_whole():
    filler = ", ".join(a.split(":")[1] for a in _actions(200))
    excepts = ", ".join(_actions(120)[::-1][:60])
    policy, evaluator = _engines(
        f"deny ECS {filler}\ndeny * * except [{excepts}] when mfa = false\n"
    )
    documents = policy.ram_documents()
    assert len(documents) > 1
    not_actions = [s for d in documents for s in d["Statement"] if "NotAction" in s]
    assert len(not_actions) == 1 and len(not_actions[0]["NotAction"]) == 60
    excepted = not_actions[0]["NotAction"][0]
    assert (
        evaluator.decide(excepted, {"acs:MFAPresent": "false"})
        == policy.decide(excepted, {"acs:MFAPresent": "false"}).decision
    )


def test_a_notaction_list_over_a_document_is_an_error_not_a_split():
    excepts = ", ".join(_actions(400))
    with pytest.raises(CompileError) as info:
        compile_sources([("p.rules", f"deny * * except [{excepts}]\n")]).ram_documents()
    assert info.value.diagnostics[0].code == "E0301"
