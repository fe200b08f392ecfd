"""``ramguard decide -c``, ``explain -c`` and ``.tests`` contexts take the keys
``Policy.decide`` takes (``compiler.model.keys.unknown_key``): an ``acs:`` key RAM does not
define is a key where an ``unchecked`` rule covering the action tests it. Before, the CLI
refused ``acs:Foo`` (exit 2) where the Python API decided deny, and ``.tests`` refused it and
every service key (``oss:Prefix``) with E0506."""

from __future__ import annotations

import json
import shlex

import pytest

from compiler import compile_rules

RULES = (
    'deny ECS RunInstances when unchecked "acs:Foo" in [x]\n'
    'deny OSS GetObject when unchecked "oss:Prefix" in [secret/]\n'
)


@pytest.fixture
def rules(tmp_path):
    (tmp_path / "a.rules").write_text(RULES)
    return tmp_path


@pytest.mark.parametrize(("value", "decision"), [("x", "deny"), ("y", "allow")])
def test_decide_takes_an_acs_key_an_unchecked_rule_tests(run_cli, rules, value, decision):
    result = run_cli("decide", "--rules", rules, "ecs:RunInstances", "-c", f"acs:Foo={value}")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == decision
    api = compile_rules([rules]).decide("ecs:RunInstances", {"acs:Foo": value})
    assert api.decision == decision


def test_explain_takes_it_too(run_cli, rules):
    result = run_cli(
        "explain", "--rules", rules, "ecs:RunInstances", "-c", "acs:Foo=x", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["decision"] == "deny" and shown["context"] == {"acs:Foo": "x"}


@pytest.mark.parametrize("verb", ["decide", "explain"])
@pytest.mark.parametrize("action", ["oss:GetObject", "ecs:StopInstance"])
def test_it_is_refused_where_no_rule_of_the_action_reads_it(run_cli, rules, verb, action):
    result = run_cli(verb, "--rules", rules, action, "-c", "acs:Foo=x")
    assert result.exit_code == 2
    assert "unknown key `acs:Foo`: the acs: keys are" in " ".join(result.stderr.split())


def test_the_api_refuses_it_where_the_decision_reads_other_keys(rules):
    # (Where no condition covers the action the API does not read the context at all.)
    with pytest.raises(KeyError, match="unknown key `acs:Foo`"):
        compile_rules([rules]).decide("oss:GetObject", {"acs:Foo": "x"})


def test_a_near_miss_suggests_the_key_the_rule_tests(run_cli, rules):
    result = run_cli("decide", "--rules", rules, "ecs:RunInstances", "-c", "acs:Fo=x")
    assert result.exit_code == 2
    assert "unknown key `acs:Fo`: did you mean acs:Foo?" in " ".join(result.stderr.split())


ORG = """\
[root]
id = "r-1"

[[account]]
id = "111"
parent = "r-1"
"""


BASE = (
    "policy base for control-policy attach [r-1]\n"
    'deny ECS RebootInstance when unchecked "acs:Legacy" in [on]\n'
)


def test_decide_along_a_chain_takes_a_control_policy_rules_key(run_cli, tmp_path):
    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "base.rules").write_text(BASE)
    for value, decision in [("on", "deny"), ("off", "allow")]:
        args = ("--account", "111", "ecs:RebootInstance", "-c", f"acs:Legacy={value}")
        result = run_cli("decide", "--rules", tmp_path, *args)
        assert result.exit_code == 0, result.stderr
        shown = json.loads(result.stdout)
        assert (shown["decision"], shown["account"]) == (decision, "111")
    # ecs:RunInstances: no rule on the chain tests acs:Legacy, so it is no key there.
    args = ("--account", "111", "ecs:RunInstances", "-c", "acs:Legacy=on")
    result = run_cli("decide", "--rules", tmp_path, *args)
    assert result.exit_code == 2 and "unknown key `acs:Legacy`" in result.stderr


def test_tests_files_take_the_keys_decide_takes(run_cli, tmp_path):
    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "a.rules").write_text(RULES)
    (tmp_path / "base.rules").write_text(BASE)
    (tmp_path / "a.tests").write_text(
        "expect deny ECS RunInstances when acs:Foo = x\n"
        "expect allow ECS RunInstances when acs:Foo = y\n"
        "expect deny oss:GetObject when oss:Prefix = secret/\n"
        "expect allow oss:GetObject when oss:Prefix = public/\n"
        "expect deny ECS RebootInstance in 111 when acs:Legacy = on\n"
        "account 111\n"
        "expect allow ECS RebootInstance when acs:Legacy = off\n"
    )
    result = run_cli("test", tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "6 passed, 0 failed" in result.stdout + result.stderr


def test_a_tests_file_refuses_an_acs_key_no_rule_of_the_line_reads(run_cli, tmp_path):
    (tmp_path / "a.rules").write_text(RULES)
    (tmp_path / "a.tests").write_text(
        "expect deny ECS RunInstances when acs:Foo = x\n"
        "expect deny oss:GetObject when acs:Foo = x\n"
        "expect deny ECS RunInstances when acs:Fo = x\n"
    )
    result = run_cli("test", tmp_path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    where = str(tmp_path / "a.tests")
    assert f"{where}:2:32: error: unknown context key `acs:Foo`" in lines
    assert f"{where}:3:35: error: unknown context key `acs:Fo`" in lines
    assert "  help: did you mean acs:Foo?" in lines
    assert f"{where}:1:" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_prove_prints_for_a_difference_runs(run_cli, rules, tmp_path):
    # prove names a request the rules and a JSON decide differently as a decide command;
    # with an unchecked acs: key that command was refused (exit 2) before.
    out = tmp_path / "out"
    assert run_cli("compile", rules, "--out", out, "-q").exit_code == 0
    document = json.loads((out / "a.json").read_text())
    for statement in document["Statement"]:
        condition = statement["Condition"]["StringEquals"]
        if "acs:Foo" in condition:
            condition["acs:Foo"] = ["z"]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    proved = run_cli("prove", "--rules", rules, "--policy", tampered)
    assert proved.exit_code == 1
    command = shlex.split(proved.stdout.splitlines()[1])
    assert command[:2] == ["ramguard", "decide"] and "acs:Foo=x" in command
    decided = run_cli(*command[1:])
    assert decided.exit_code == 0, decided.stderr
    assert json.loads(decided.stdout)["decision"] == "deny"


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("resource_tag:", "a tag key follows `resource_tag:`"),
        ("resource_tag:a b", "a tag key follows `resource_tag:`"),
        ("Resource_Tag:env", "did you mean resource_tag:env?"),
        ("REQUEST_TAG:team", "did you mean request_tag:team?"),
        (":Prefix", "a service key is CODE:Name, e.g. oss:Prefix"),
        ("oss:", "a service key is CODE:Name, e.g. oss:Prefix"),
    ],
    ids=["no-tag", "tag-with-space", "tag-family-case", "request-tag-case", "no-code", "no-name"],
)
def test_a_tag_or_service_key_no_rule_can_read_is_refused(run_cli, rules, key, said):
    # Taken as service keys before, so no rule read them: resource_tag:env=prod written
    # Resource_Tag:env=prod decided as if the request had no tag.
    result = run_cli("decide", "--rules", rules, "oss:GetObject", "-c", f"{key}=x")
    assert result.exit_code == 2
    assert f"unknown key `{key}`: " in result.stderr and said in " ".join(result.stderr.split())
    with pytest.raises(KeyError, match=said.replace("?", r"\?")):
        compile_rules([rules]).decide("oss:GetObject", {key: "x"})


@pytest.mark.parametrize("key", ["resource_tag:env", "request_tag:a.b/c", "oss:Prefix"])
def test_tag_and_service_keys_keep_working(run_cli, rules, key):
    result = run_cli("decide", "--rules", rules, "oss:GetObject", "-c", f"{key}=x")
    assert result.exit_code == 0, result.stderr
