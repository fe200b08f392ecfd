"""`ramguard import` is exact or fails: statements outside the catalog, injected text, BOMs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.analysis.importer import PolicyImportError, import_policies, import_policy
from compiler.policy import compile_sources

INJECTED = {
    "Version": "1",
    "Statement": [
        {"Effect": "Deny", "Action": ["ecs:RunInstances", "zzz:x\ndeny * *\n#"], "Resource": "*"}
    ],
}


def test_action_outside_the_catalog_fails_naming_the_statement() -> None:
    with pytest.raises(PolicyImportError) as info:
        import_policy(INJECTED, "p", source="leak.json")
    [problem] = info.value.problems
    assert (problem.source, problem.statement, problem.element) == ("leak.json", 1, "Action")
    assert problem.unsupported
    assert "RAM code `zzz` is not in the catalog" in problem.message


def test_newline_in_an_action_never_becomes_a_live_rule() -> None:
    text = import_policy(INJECTED, "p", skip_unsupported=True).text
    policy = compile_sources([("p.rules", text)])
    assert policy.decide("zzq:GetObject").decision == "allow"
    assert policy.decide("ecs:RunInstances").decision == "deny"
    assert [r.text for r in policy.rules] == ["deny ECS RunInstances"]
    assert "\\ndeny * *\\n#" in text  # shown escaped inside the note


@pytest.mark.parametrize("breaker", ["\n", "\r", "\x0c", "\x85", "\u2028", "\x1b[2J"])
def test_file_names_and_keys_are_escaped_in_comments(breaker: str) -> None:
    doc = {
        "Version": "1",
        "Statement": [
            {"Effect": "Deny", "Action": "ecs:RunInstances", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "ecs:StopInstance",
                "Resource": "*",
                "Condition": {"StringEquals": {f"acs:x{breaker}deny * *": "v"}},
            },
        ],
    }
    source = f"a{breaker}deny * *{breaker}.json"
    result = import_policies([(source, doc), ("b.json", doc)], "p", skip_unsupported=True)
    policy = compile_sources([("p.rules", result.text)])
    assert {r.text for r in policy.rules} == {"deny ECS RunInstances"}
    assert all(
        line.startswith(("#", "policy", "deny ECS", "")) for line in result.text.splitlines()
    )
    assert all(n.isprintable() for n in result.notes)


def test_every_action_skipped_is_an_error_without_the_flag() -> None:
    doc = {
        "Version": "1",
        "Statement": [
            {"Effect": "Deny", "Action": "ecs:RunInstances", "Resource": "*"},
            {"Effect": "Deny", "Action": ["zzq:GetObject", "ecs:NoSuchOperation"], "Resource": "*"},
        ],
    }
    with pytest.raises(PolicyImportError) as info:
        import_policy(doc, "p")
    assert [(p.statement, p.element) for p in info.value.problems] == [(2, "Action"), (2, "Action")]
    text = import_policy(doc, "p", skip_unsupported=True).text
    assert "deny ECS RunInstances" in text


def test_cli_exit_codes_and_bom(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "leak.json"
    bad.write_text(json.dumps(INJECTED), encoding="utf-8")
    result = run_cli("import", bad)
    assert result.exit_code == 1
    assert "statement 1: Action" in result.stderr
    assert result.stdout == ""
    assert run_cli("import", bad, "--skip-unsupported").exit_code == 0
    good = tmp_path / "bom.json"
    doc = {
        "Version": "1",
        "Statement": [{"Effect": "Deny", "Action": "ecs:RunInstances", "Resource": "*"}],
    }
    good.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    result = run_cli("import", good)
    assert result.exit_code == 0, result.stderr
    assert "deny ECS RunInstances" in result.stdout


@pytest.mark.parametrize("path", sorted(Path("examples/generated").glob("*.json")), ids=str)
def test_new_forms_round_trip_to_the_same_json(path: Path) -> None:
    # Resource (on [...]), NotAction (except [...]), like / not like, tag and principal keys.
    doc = json.loads(path.read_text(encoding="utf-8"))
    # An allow list (issue 12 item 2) is a control policy's: imported as one.
    control = any(st["Effect"] == "Allow" for st in doc["Statement"])
    text = import_policy(doc, "rt", control_policy=control).text
    emitted = compile_sources([("rt.rules", text)]).documents[0]
    assert json.loads(emitted.text)["Statement"] == doc["Statement"]


def test_ignorecase_and_resources_import() -> None:
    doc = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "ram:*",
                "Resource": ["acs:ram:*:*:user/b*", "acs:ram:*:*:user/a*"],
                "Condition": {"StringEqualsIgnoreCase": {"acs:AccessId": ["LTAI5tExample"]}},
            }
        ],
    }
    text = import_policy(doc, "p").text
    assert "on [acs:ram:*:*:user/a*, acs:ram:*:*:user/b*]" in text
    assert "when access_key in ignorecase [LTAI5tExample]" in text
