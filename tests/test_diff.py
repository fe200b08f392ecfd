"""``ramguard diff``: the requests two policies decide differently, exactly (issue 11)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from compiler import compile_rules, compile_sources
from compiler.analysis.diff import NEWLY, NO_LONGER, load_side, semantic_diff
from compiler.analysis.prove import from_documents, from_trie
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


def _policy(text: str, name: str = "p.rules"):
    return compile_sources([(name, text)])


def _rules(text: str, name: str = "p.rules"):
    return from_trie(name, _policy(text, name).trie)


def _edited(old: str, new: str) -> str:
    assert SEED.count(old) == 1
    return SEED.replace(old, new)


def _confirm(result, old_policy, new_policy) -> None:
    """Every witness really is decided as reported, by the trie of each side."""
    for change in result.changes:
        w = change.witness
        before = old_policy.decide(w.action, w.context, w.resource).decision
        after = new_policy.decide(w.action, w.context, w.resource).decision
        want = ("allow", "deny") if change.kind == NEWLY else ("deny", "allow")
        assert (before, after) == want, change


def test_seed_against_itself_is_proved_equal() -> None:
    result = semantic_diff(_rules(SEED), _rules(SEED), CATALOG)
    assert result.status == "equal" and not result.changes
    assert result.verdict == "equivalent"


def test_removing_a_rule_lists_what_is_no_longer_denied() -> None:
    old, new = _policy(SEED), _policy(_edited("deny service=RAM op=*\n", ""))
    result = semantic_diff(from_trie("old", old.trie), from_trie("new", new.trie), CATALOG)
    ram_ops = CATALOG.service("RAM").operations()
    ims_ops = CATALOG.service("IMS").operations()  # still denied under `ram:` by the IMS rule
    assert result.catalog_affected(NO_LONGER) == sorted(
        (f"ram:{op}" for op in ram_ops - ims_ops), key=lambda a: (a.lower(), a)
    )
    assert not result.of(NEWLY) and result.verdict == "loosens"
    (change,) = result.of(NO_LONGER)
    assert change.witness.context == {}
    assert [s.text for s in change.old_statements] == ["deny RAM *"]
    assert change.new_statements == ()
    _confirm(result, old, new)


def test_adding_a_rule_lists_what_is_newly_denied() -> None:
    old, new = _policy(SEED), _policy(SEED + "deny ECS DescribeInstances\n")
    result = semantic_diff(from_trie("old", old.trie), from_trie("new", new.trie), CATALOG)
    (change,) = result.changes
    assert change.kind == NEWLY and result.verdict == "tightens"
    assert change.catalog_actions == ("ecs:DescribeInstances",)
    assert (change.witness.action, change.witness.a_denies, change.witness.b_denies) == (
        "ecs:DescribeInstances",
        False,
        True,
    )


def test_adding_a_condition_gives_the_context_that_now_allows() -> None:
    new_text = _edited(SMS_LINE, SMS_LINE + " when source_ip not in [10.0.0.0/8]")
    old, new = _policy(SEED), _policy(new_text)
    result = semantic_diff(from_trie("old", old.trie), from_trie("new", new.trie), CATALOG)
    assert result.verdict == "loosens"
    (change,) = result.changes
    assert list(change.catalog_actions) == SMS_ACTIONS
    # The fewest keys, then the first region: the CIDR's first address.
    assert change.witness.context == {"acs:SourceIp": "10.0.0.0"}
    _confirm(result, old, new)


def test_rules_against_their_own_json_are_proved_equal() -> None:
    text = SEED + "deny ECS RunCommand when source_ip not in [10.0.0.0/8] and mfa = false\n"
    text += "deny RDS DeleteDBInstance unless time after 2026-12-01T00:00:00Z\n"
    policy = _policy(text)
    evaluator = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    result = semantic_diff(from_trie("r", policy.trie), from_documents("j", evaluator), CATALOG)
    assert result.status == "equal", result.to_dict()


def test_json_side_names_actions_outside_the_catalog() -> None:
    doc = {
        "Version": "1",
        "Statement": [
            {"Effect": "Deny", "Action": ["oss:NoSuchOp", "ecs:RunInstances"], "Resource": "*"}
        ],
    }
    result = semantic_diff(
        from_documents("d", RamEvaluator([("d", doc)])), _rules("deny ECS RunInstances\n"), CATALOG
    )
    (change,) = result.changes
    assert change.kind == NO_LONGER and change.catalog_actions == ()
    assert change.witness.action == "oss:nosuchop"  # shortest string of its class, folded


def _many_values(key: str) -> str:
    cidrs = ", ".join(f"10.{i // 250}.{i % 250}.0/24" for i in range(300))
    vpcs = ", ".join(f"vpc-{i:04d}" for i in range(200))
    keys = ", ".join(f"LTAI5tKey{i:04d}" for i in range(200)).replace("LTAI5tKey0123", key)
    return (
        f"deny ECS RunInstances when access_key in [{keys}]\n"
        f"deny ECS RunCommand when source_ip not in [{cidrs}]\n"
        f"deny RDS Delete* when vpc not in [{vpcs}] and mfa = false\n"
    )


def test_one_access_key_changed_among_hundreds_of_values_is_found() -> None:
    """The issue's repro: the sampled diff called this identical; it is a loosening for key
    0123 (and a tightening for the new key), each with a witness both tries confirm."""
    old = _policy(_many_values("LTAI5tKey0123"))
    new = _policy(_many_values("LTAI5tKeyNEW1"))
    result = semantic_diff(from_trie("old", old.trie), from_trie("new", new.trie), CATALOG)
    assert result.verdict == "both"
    (loose,) = result.of(NO_LONGER)
    (tight,) = result.of(NEWLY)
    assert loose.witness.context == {"acs:AccessId": "LTAI5tKey0123"}
    assert tight.witness.context == {"acs:AccessId": "LTAI5tKeyNEW1"}
    assert loose.catalog_actions == ("ecs:RunInstances",)
    _confirm(result, old, new)


_RANDOM_RULES = (
    "deny ECS Run*",
    "deny ECS RunInstances when mfa = false",
    "deny ECS Delete* unless source_ip in [10.0.0.0/8]",
    "deny RDS * when access_key in [k1, k2]",
    "deny RDS DeleteDBInstance when time after 2026-01-01T00:00:00Z",
    "deny OSS PutObject when vpc not in [vpc-a]",
    "deny * * when access_key in [k3]",
    "deny ECS DeleteInstance on acs:ecs:*:*:instance/i-prod*",
)


@pytest.mark.parametrize("seed", range(8))
def test_random_rule_sets_every_witness_is_confirmed(seed: int) -> None:
    rng = random.Random(seed)
    a = rng.sample(_RANDOM_RULES, rng.randrange(1, 5))
    b = rng.sample(_RANDOM_RULES, rng.randrange(1, 5))
    old, new = _policy("\n".join(a) + "\n"), _policy("\n".join(b) + "\n")
    result = semantic_diff(from_trie("old", old.trie), from_trie("new", new.trie), CATALOG)
    assert result.status in ("equal", "different")
    _confirm(result, old, new)
    if sorted(a) == sorted(b):
        assert result.status == "equal"
    if result.status == "equal":  # then no catalog action decides differently, any context
        for action in ("ecs:RunInstances", "ecs:DeleteInstance", "rds:DeleteDBInstance"):
            for ctx in ({}, {"acs:MFAPresent": "false"}, {"acs:AccessId": "k1"}):
                assert old.decide(action, ctx).decision == new.decide(action, ctx).decision, (
                    action,
                    ctx,
                )


def test_past_the_budget_the_answer_is_unknown_never_equal() -> None:
    hard = "deny ECS *a??????????????\n"
    result = semantic_diff(_rules(hard), _rules(hard), CATALOG, state_budget=50)
    assert result.status == "unknown" and "automaton states" in result.reason


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_equivalent_exits_0(run_cli, tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    copy.mkdir()
    (copy / "seed.rules").write_text(SEED_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("diff", SEED_FILE, copy)
    assert result.exit_code == 0
    assert "equivalent (proved)" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when not a terminal
    # policies/ holds the org baseline beside the seed: more is denied than the seed denies.
    assert run_cli("diff", SEED_FILE, REPO / "policies", "-q").exit_code == 3


def test_cli_against_emitted_json_file_and_directory(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert run_cli("compile", REPO / "policies", "--out", out, "-q").exit_code == 0
    assert run_cli("diff", SEED_FILE, out / "leaked-accesskey-protection.json").exit_code == 0
    assert run_cli("diff", out, REPO / "policies").exit_code == 0


def test_cli_changes_exit_3_with_witness_and_repro(run_cli, tmp_path: Path) -> None:
    new = tmp_path / "new.rules"
    new.write_text(_edited(SMS_LINE, SMS_LINE + " when mfa = false"))
    result = run_cli("diff", SEED_FILE, new)
    assert result.exit_code == 3
    assert "no longer denied: 1 change, 4 catalog actions" in result.stdout
    assert "newly denied: 0 changes" in result.stdout
    assert "dysms:SendSms: deny → allow  [no condition keys]" in result.stdout
    assert f"$ ramguard decide --rules {new} dysms:SendSms   # allow" in result.stdout
    assert "loosens:" in result.stdout


def test_cli_repro_commands_show_what_diff_says(run_cli, tmp_path: Path) -> None:
    old, new = tmp_path / "old.rules", tmp_path / "new.rules"
    old.write_text(_many_values("LTAI5tKey0123"))
    new.write_text(_many_values("LTAI5tKeyNEW1"))
    result = run_cli("diff", old, new, "--format", "json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["verdict"] == "both" and data["equivalent"] is False
    for kind in ("newly_denied", "no_longer_denied"):
        (entry,) = data[kind]
        for side in ("old", "new"):
            argv = entry["repro"][side].split()
            assert argv[:2] == ["ramguard", "decide"]
            out = run_cli(*argv[1:])
            assert json.loads(out.stdout)["decision"] == entry["witness"][side]


def test_cli_json_is_stable(run_cli, tmp_path: Path) -> None:
    new = tmp_path / "new.rules"
    new.write_text(_edited("deny service=IMS op=*\n", ""))
    first = run_cli("diff", SEED_FILE, new, "--format", "json")
    second = run_cli("diff", SEED_FILE, new, "--format", "json")
    assert first.exit_code == 3 and first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert data["status"] == "different" and data["verdict"] == "loosens"
    summary = data["summary"]["no_longer_denied"]
    assert summary["changes"] == len(data["no_longer_denied"]) > 0
    listed = {a for e in data["no_longer_denied"] for a in e["catalog_actions"]["list"]}
    assert summary["catalog_actions"] == len(listed) > 0
    assert all(a.startswith(("ims:", "ram:")) for a in listed)
    first_change = data["no_longer_denied"][0]
    assert first_change["witness"]["context"] == {}
    assert (first_change["witness"]["old"], first_change["witness"]["new"]) == ("deny", "allow")


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


def test_sides_load_from_rules_and_json(tmp_path: Path) -> None:
    assert load_side(SEED_FILE).rules
    policy = compile_rules([SEED_FILE])
    path = tmp_path / "x.JSON"
    path.write_text(json.dumps(policy.ram_documents()[0]))
    side = load_side(path)
    assert not side.rules
    result = semantic_diff(load_side(SEED_FILE).decider, side.decider, CATALOG)
    assert result.status == "equal"


def test_cli_an_empty_witness_resource_is_no_resource(run_cli, tmp_path: Path) -> None:
    """The shortest resource outside `acs:ecs:*:*:instance/*` is the empty string: it was
    printed as `[resource ]` (issue 16), then quoted, with a repro `--resource ''` that
    `decide` now refuses (no ARN). A request without a resource is decided alike by both
    sides, so that is the witness (tests/test_resource_option.py runs every repro line)."""
    old, new = tmp_path / "old.rules", tmp_path / "new.rules"
    old.write_text("deny ECS * on [acs:ecs:*:*:instance/*]\n")
    new.write_text("deny ECS *\n")
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    assert "  1. ecs:AddTags: allow → deny  [no condition keys]\n" in result.stdout
    assert "--resource" not in result.stdout
