"""Allow-list mode of Resource Directory control policies (issue 12 item 2): `allow` rules in
the language, accepted only in a policy `for control-policy`, emitted as Allow statements."""

from __future__ import annotations

import json

import pytest

from compiler.language.diagnostics import CompileError
from compiler.language.format import format_source
from compiler.policy import compile_sources

CP = 'policy allowed "Only ECS and OSS" for control-policy attach [fd-prod]\n'


def _compile(text: str, path: str = "p.rules"):
    return compile_sources([(path, text)])


def test_allow_rules_become_allow_statements_of_a_control_policy():
    policy = _compile(CP + "allow ECS *\nallow Oss Get*, List* when mfa = true\ndeny ECS Delete*\n")
    (ir,) = policy.policies
    assert [r.effect for r in ir.rules] == ["Deny"]
    assert [r.effect for r in ir.allows] == ["Allow", "Allow"]
    (doc,) = policy.ram_documents()
    effects = [(s["Effect"], s["Action"]) for s in doc["Statement"]]
    assert ("Allow", ["ecs:*"]) in effects
    assert ("Deny", ["ecs:Delete*"]) in effects
    conditional = [s for s in doc["Statement"] if "Condition" in s]
    assert conditional == [
        {
            "Effect": "Allow",
            "Action": ["oss:Get*", "oss:List*"],
            "Resource": "*",
            "Condition": {"Bool": {"acs:MFAPresent": "true"}},
        }
    ]


def test_allow_rules_are_not_denies_for_the_deny_wins_engines():
    # Without an organisation FullAliyunAccess sits on every node, so an Allow changes
    # nothing: `decide` (and the RAM evaluator's decide) answer from the Deny rules alone.
    policy = _compile(CP + "allow ECS *\ndeny ECS DeleteInstance\n")
    assert policy.decide("ecs:RunInstances").decision == "allow"
    assert policy.decide("ecs:DeleteInstance").decision == "deny"
    assert policy.decide("rds:CreateDBInstance").decision == "allow"
    assert [r.effect for r in policy.rules] == ["Deny"]


@pytest.mark.parametrize(
    "header",
    ["", "policy p\n", "policy p for ram\n"],
    ids=["no-header", "plain-header", "for-ram"],
)
def test_allow_outside_a_control_policy_is_an_error_at_the_keyword(header):
    text = header + "deny RAM DeleteUser\nallow ECS *\n"
    with pytest.raises(CompileError) as info:
        _compile(text)
    (diag,) = info.value.diagnostics
    line = header.count("\n") + 2
    assert diag.code == "E0290"
    assert (diag.span.file, diag.span.line, diag.span.col, diag.span.end_col) == (
        "p.rules",
        line,
        1,
        6,
    )
    rendered = diag.render()
    assert rendered.startswith(f"p.rules:{line}:1: error: `allow` rules are only for control")
    assert "^~~~~" in rendered
    assert "for control-policy" in rendered


def test_allow_rule_text_and_format_round_trip():
    text = CP + (
        "allow service=ECS op=Describe*\nallow  Oss   [GetObject,PutObject]  unless mfa = false\n"
    )
    policy = _compile(text)
    assert [r.text for r in policy.policies[0].allows] == [
        "allow ECS Describe*",
        "allow Oss GetObject, PutObject unless mfa = false",
    ]
    formatted = format_source("p.rules", text)
    assert "allow service=ECS op=Describe*\n" in formatted
    assert "allow Oss GetObject, PutObject unless mfa = false\n" in formatted
    assert format_source("p.rules", formatted) == formatted


def test_allow_statements_do_not_change_deny_only_output():
    deny_only = _compile(CP + "deny ECS DeleteInstance\n").ram_documents()
    with_allow = _compile(CP + "deny ECS DeleteInstance\nallow * *\n").ram_documents()
    denies = [s for s in with_allow[0]["Statement"] if s["Effect"] == "Deny"]
    assert denies == deny_only[0]["Statement"]
    assert {"Effect": "Allow", "Action": ["*"], "Resource": "*"} in with_allow[0]["Statement"]


def test_cedar_target_refuses_an_allow_list():
    from compiler.emit.cedar import cedar_policies

    policy = _compile(CP + "deny ECS DeleteInstance\nallow ECS *\n")
    with pytest.raises(CompileError) as info:
        cedar_policies(policy.policies, policy.sources)
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.col) == ("E0403", 3, 1)


def test_terraform_and_ros_carry_the_allow_statements():
    import hcl2

    from compiler.emit.deploy import ros_files, terraform_files

    policy = _compile(CP + "deny ECS DeleteInstance\nallow ECS *\n")
    (doc,) = policy.documents
    assert {"Effect": "Allow", "Action": ["ecs:*"], "Resource": "*"} in doc.as_dict()["Statement"]
    (ros,) = ros_files(policy.policies, policy.documents)
    resources = json.loads(ros.text)["Resources"].values()
    (control,) = [r for r in resources if r["Type"] == "ALIYUN::ResourceManager::ControlPolicy"]
    assert control["Properties"]["PolicyDocument"] == doc.text
    (tf,) = terraform_files(policy.policies, policy.documents)
    parsed = hcl2.loads(
        tf.text,
        serialization_options=hcl2.SerializationOptions(
            strip_string_quotes=True, with_comments=False
        ),
    )
    (block,) = [
        body
        for resource in parsed["resource"]
        for kind, named in resource.items()
        if kind == "alicloud_resource_manager_control_policy"
        for body in named.values()
    ]
    assert json.loads(block["policy_document"]) == doc.as_dict()


def test_import_reads_an_allow_list_only_as_a_control_policy():
    from compiler.analysis.importer import PolicyImportError, import_policy

    doc = {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": ["ecs:*", "oss:Get*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "ecs:DeleteInstance", "Resource": "*"},
        ],
    }
    with pytest.raises(PolicyImportError) as info:
        import_policy(doc, "p")  # a RAM policy's Allow grants: no rule states that
    assert "--control-policy" in str(info.value)
    text = import_policy(doc, "p", control_policy=True).text
    assert "for control-policy\n" in text
    assert "allow ECS *\n" in text and "allow Oss Get*\n" in text
    assert "deny ECS DeleteInstance\n" in text
    back = _compile(text).ram_documents()[0]["Statement"]
    deny = {"Effect": "Deny", "Action": ["ecs:DeleteInstance"], "Resource": "*"}
    assert sorted(map(str, back)) == sorted(map(str, [doc["Statement"][0], deny]))
