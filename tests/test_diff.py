"""``ramguard diff``: the requests two policies decide differently, for CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import compile_rules, compile_sources
from compiler.analysis.diff import PolicyDecider, RamDecider, build_contexts, semantic_diff
from compiler.catalog import default_catalog
from compiler.ram import RamEvaluator

CATALOG = default_catalog()
REPO = Path(__file__).resolve().parent.parent
SEED_FILE = REPO / "policies" / "leaked-accesskey-protection.rules"
SEED = SEED_FILE.read_text(encoding="utf-8")
# The seed's one-line SMS rule (whatever layout `ramguard fmt` gives it).
SMS_LINE = next(line for line in SEED.splitlines() if line.startswith("deny SMS "))
SMS_ACTIONS = [
    "dysms:AddSmsTemplate",
    "dysms:CreateSmsTemplate",
    "dysms:SendBatchSms",
    "dysms:SendSms",
]


def _rules(text: str) -> PolicyDecider:
    return PolicyDecider(compile_sources([("p.rules", text)]))


def _edited(old: str, new: str) -> str:
    assert SEED.count(old) == 1
    return SEED.replace(old, new)


def test_seed_against_itself_is_identical() -> None:
    result = semantic_diff(_rules(SEED), _rules(SEED), CATALOG)
    assert not result.changed
    # RAM matches actions case-insensitively: two spellings of one action are one action.
    distinct = {a.lower() for a in CATALOG.actions()}
    assert result.unchanged == result.actions == len(distinct)


def test_removing_a_rule_lists_what_is_no_longer_denied() -> None:
    result = semantic_diff(_rules(SEED), _rules(_edited("deny service=RAM op=*\n", "")), CATALOG)
    ram_ops = CATALOG.service("RAM").operations()
    ims_ops = CATALOG.service("IMS").operations()  # still denied under `ram:` by the IMS rule
    assert [e.action for e in result.no_longer_denied] == sorted(
        (f"ram:{op}" for op in ram_ops - ims_ops), key=str.lower
    )
    assert {(e.old, e.new, e.context) for e in result.no_longer_denied} == {("deny", "allow", ())}
    assert not result.newly_denied and not result.conditions_changed


def test_adding_a_rule_lists_what_is_newly_denied() -> None:
    result = semantic_diff(_rules(SEED), _rules(SEED + "deny ECS DescribeInstances\n"), CATALOG)
    assert [(e.action, e.old, e.new) for e in result.newly_denied] == [
        ("ecs:DescribeInstances", "allow", "deny")
    ]
    assert result.counts()["unchanged"] == result.actions - 1


def test_adding_a_condition_shows_an_example_context() -> None:
    new_text = _edited(SMS_LINE, SMS_LINE + " when source_ip not in [10.0.0.0/8]")
    old, new = _rules(SEED), _rules(new_text)
    result = semantic_diff(old, new, CATALOG)
    assert [e.action for e in result.conditions_changed] == SMS_ACTIONS
    assert not result.newly_denied and not result.no_longer_denied
    example = result.conditions_changed[0]
    context = dict(example.context)
    assert context == {"acs:SourceIp": "10.0.0.0"}
    assert (example.old, example.new) == ("deny", "allow")
    assert new.policy.decide(example.action, context).decision == "allow"
    assert result.keys == ("acs:SourceIp",)


def test_rules_against_their_own_json_are_identical() -> None:
    text = SEED + "deny ECS RunCommand when source_ip not in [10.0.0.0/8] and mfa = false\n"
    text += "deny RDS DeleteDBInstance unless time after 2026-12-01T00:00:00Z\n"
    policy = compile_sources([("p.rules", text)])
    evaluator = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    result = semantic_diff(PolicyDecider(policy), RamDecider(evaluator), CATALOG)
    assert not result.changed, result.to_dict()
    assert result.contexts > 1


def test_json_side_names_actions_outside_the_catalog() -> None:
    doc = {
        "Version": "1",
        "Statement": [
            {"Effect": "Deny", "Action": ["oss:GetObject", "ecs:RunInstances"], "Resource": "*"}
        ],
    }
    result = semantic_diff(
        RamDecider(RamEvaluator([("d", doc)])), _rules("deny ECS RunInstances\n"), CATALOG
    )
    assert [e.action for e in result.no_longer_denied] == ["oss:GetObject"]


# --- contexts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "key", "values"),
    [
        (
            "deny ECS RunInstances when source_ip in [10.0.0.0/8, 10.1.0.0/16]",
            "acs:SourceIp",
            [None, "10.0.0.0", "10.1.0.0", "203.0.113.7"],
        ),
        (
            "deny ECS RunInstances when time after 2026-01-01T00:00:00Z",
            "acs:CurrentTime",
            [None, "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"],
        ),
        ("deny ECS RunInstances when mfa = true", "acs:MFAPresent", [None, "true", "false"]),
        (
            "deny ECS RunInstances when vpc not in [vpc-a, vpc-b]",
            "acs:SourceVpc",
            [None, "vpc-a", "vpc-b", "ramguard-other"],
        ),
    ],
    ids=["nested-cidrs", "time", "bool", "strings"],
)
def test_representative_values_per_key(rules: str, key: str, values: list) -> None:
    contexts, keys, sampled = build_contexts([_rules(rules + "\n")])
    assert (keys, sampled) == ((key,), False)
    assert [c.get(key) for c in contexts] == values


def test_contexts_past_the_cap_are_sampled_deterministically() -> None:
    text = (
        "deny ECS RunInstances when source_ip in [10.0.0.0/8, 192.168.0.0/16] and mfa = true"
        " and secure_transport = true and vpc in [a, b, c] and access_key in [k1, k2]\n"
        "deny ECS StartInstance when time after 2026-01-01T00:00:00Z\n"
    )
    side = _rules(text)
    contexts, _, sampled = build_contexts([side], cap=50)
    assert sampled and len(contexts) == 50
    assert contexts[0] == {}
    assert build_contexts([side], cap=50)[0] == contexts
    assert semantic_diff(side, side, CATALOG, max_contexts=50).sampled


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_identical_exits_0(run_cli) -> None:
    result = run_cli("diff", SEED_FILE, REPO / "policies")
    assert result.exit_code == 0
    assert "identical" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when not a terminal


def test_cli_against_emitted_json_file_and_directory(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert run_cli("compile", REPO / "policies", "--out", out, "-q").exit_code == 0
    assert (
        run_cli("diff", REPO / "policies", out / "leaked-accesskey-protection.json").exit_code == 0
    )
    assert run_cli("diff", out, REPO / "policies").exit_code == 0


def test_cli_changes_exit_1_with_examples(run_cli, tmp_path: Path) -> None:
    new = tmp_path / "new.rules"
    new.write_text(_edited(SMS_LINE, SMS_LINE + " when mfa = false"))
    result = run_cli("diff", SEED_FILE, new)
    assert result.exit_code == 1
    assert "conditions changed (4):" in result.stdout
    assert "dysms:SendSms: deny → allow  [acs:MFAPresent absent]" in result.stdout


def test_cli_json_is_stable(run_cli, tmp_path: Path) -> None:
    new = tmp_path / "new.rules"
    new.write_text(_edited("deny service=IMS op=*\n", ""))
    first = run_cli("diff", SEED_FILE, new, "--format", "json")
    second = run_cli("diff", SEED_FILE, new, "--format", "json")
    assert first.exit_code == 1 and first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert data["identical"] is False
    assert data["summary"]["no_longer_denied"] == len(data["no_longer_denied"]) > 0
    assert data["no_longer_denied"][0] == {
        "action": data["no_longer_denied"][0]["action"],
        "context": {},
        "old": "deny",
        "new": "allow",
    }
    assert all(e["action"].startswith(("ims:", "ram:")) for e in data["no_longer_denied"])


@pytest.mark.parametrize(
    ("content", "stderr"),
    [
        ('{"Version": "1", "Statement": [{"Effect": "Deny"}]}', "statement 1: Action: missing"),
        ("{", "invalid JSON"),
    ],
    ids=["bad-statement", "bad-json"],
)
def test_cli_bad_json_is_an_error(run_cli, tmp_path: Path, content: str, stderr: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run_cli("diff", bad, SEED_FILE)
    assert result.exit_code == 1
    assert f"{bad}" in result.stderr and stderr in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_rules_is_an_error(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text("deny ECS NoSuchThing\n")
    result = run_cli("diff", SEED_FILE, bad)
    assert result.exit_code == 1
    assert f"{bad}:1:10: error: unknown operation" in result.stderr


def test_decider_compiled_from_paths_matches(tmp_path: Path) -> None:
    from compiler.analysis.diff import load_decider

    assert isinstance(load_decider(SEED_FILE), PolicyDecider)
    policy = compile_rules([SEED_FILE])
    path = tmp_path / "x.JSON"
    path.write_text(json.dumps(policy.ram_documents()[0]))
    assert isinstance(load_decider(path), RamDecider)
