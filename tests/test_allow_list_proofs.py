"""Allow lists in the exact engine (issue 12 item 2): `diff`'s headline over the whole
comparison, `prove --policy` on Allow statements, and W0306 decided exactly."""

from __future__ import annotations

import json

ALLOW = "policy prod for control-policy attach [fd-prod]\nallow ECS *\ndeny ECS DeleteInstance\n"


def _sides(tmp_path, old_text: str, new_text: str):
    old, new = tmp_path / "old", tmp_path / "new"
    for side, text in ((old, old_text), (new, new_text)):
        side.mkdir()
        (side / "prod.rules").write_text(text)
    return old, new


# --- diff: the headline is the whole comparison's ------------------------------------------


def test_diff_headline_when_only_an_allow_list_narrows(run_cli, tmp_path):
    # The headline said "equivalent (proved)" before the allow-list change, then exit 3.
    old, new = _sides(tmp_path, ALLOW, ALLOW.replace("allow ECS *", "allow ECS Describe*"))
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert "equivalent (proved)" not in result.stdout.replace("Deny statements: equivalent", "")
    assert lines[-2] == "tightens: some requests allowed before are denied now, none the other way"
    assert lines[-1] == (
        "  Deny statements: equivalent (proved); allow list changed: `prod` (1 no longer "
        "allowed) — deciding the requests of the accounts below the nodes where it is attached "
        "with FullAliyunAccess detached"
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert (data["status"], data["equivalent"], data["verdict"]) == ("different", False, "tightens")
    assert data["deny"]["equivalent"] is True and data["deny"]["verdict"] == "equivalent"


def test_diff_headline_when_an_allow_list_widens_and_a_deny_tightens(run_cli, tmp_path):
    widened = ALLOW.replace("allow ECS *", "allow ECS *\nallow FC *") + "deny ECS StopInstance\n"
    old, new = _sides(tmp_path, ALLOW, widened)
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines[-2] == "tightens and loosens: requests change decision both ways"
    assert lines[-1].startswith(
        "  Deny statements: tightens; allow list changed: `prod` (1 newly allowed)"
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert (data["verdict"], data["deny"]["verdict"]) == ("both", "tightens")


def test_diff_headline_unchanged_when_nothing_or_only_denies_change(run_cli, tmp_path):
    old, new = _sides(tmp_path, ALLOW, ALLOW.replace("deny ECS DeleteInstance\n", ""))
    same = run_cli("diff", old, old)
    assert same.exit_code == 0
    assert same.stdout.splitlines()[-1].startswith("equivalent (proved): no request")
    loosened = run_cli("diff", old, new)
    assert loosened.exit_code == 3
    assert loosened.stdout.splitlines()[-1].startswith("loosens:")
    assert "Deny statements:" not in loosened.stdout
    data = json.loads(run_cli("diff", old, old, "--format", "json").stdout)
    assert (data["equivalent"], data["verdict"], data["allow_lists"]) == (True, "equivalent", [])


# --- prove --policy: Allow statements too --------------------------------------------------

LIST = (
    "policy prod for control-policy\n"
    "allow ECS *\n"
    "allow Oss * when source_ip in [10.0.0.0/8]\n"
    "allow RDS * on [acs:rds:cn-hangzhou:*:*]\n"
    "deny Oss DeleteBucket\n"
)


def _compiled(run_cli, tmp_path, text: str = LIST):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "prod.rules").write_text(text)
    result = run_cli("compile", rules, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.stderr
    doc = tmp_path / "out" / "prod.json"
    return rules, doc, json.loads(doc.read_text())


def _planted(tmp_path, data: dict, edit, name: str = "prod.json"):
    statements = [e for s in data["Statement"] if (e := edit(s)) is not None]
    path = tmp_path / name
    path.write_text(json.dumps({**data, "Statement": statements}))
    return path


def test_prove_policy_equal_allow_lists(run_cli, tmp_path):
    rules, doc, _ = _compiled(run_cli, tmp_path)
    result = run_cli("prove", "--rules", rules, "--policy", doc)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "equivalent (proved): 1 rules and the JSON deny the same requests",
        "equivalent (proved): 3 allow rules and the JSON's Allow statements allow the same "
        "requests (allow list `prod`)",
    ]
    args = ("prove", "--rules", rules, "--policy", doc, "--format", "json")
    data = json.loads(run_cli(*args).stdout)
    assert data["status"] == "equivalent" and data["deny"] == "equivalent"
    assert data["allow_lists"] == [{"allow_rules": 3, "policy": "prod", "status": "equivalent"}]


def _widen_cidr(s):
    cond = s.get("Condition", {}).get("IpAddress")
    if cond:
        return {**s, "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/7"]}}}
    return s


def _drop_rds(s):
    return None if s["Action"] == ["rds:*"] else s


def test_prove_policy_finds_a_planted_allow_difference(run_cli, tmp_path):
    # Before, `prove --policy` compared the Deny statements only and said equivalent.
    rules, _, data = _compiled(run_cli, tmp_path)
    doc = _planted(tmp_path, data, _widen_cidr)
    result = run_cli("prove", "--rules", rules, "--policy", doc)
    assert result.exit_code == 1
    head, witness = result.stdout.splitlines()
    assert head == (
        "differ: allow list of `prod`: the rules' allow rules do not allow and the JSON's Allow "
        "statements allow this request"
    )
    w = json.loads(witness)
    assert w["action"].startswith("oss:") and (w["rules"], w["json"]) == ("implicit-deny", "allow")
    assert w["context"] == {"acs:SourceIp": "11.0.0.0"}  # in 10.0.0.0/7, not in 10.0.0.0/8
    out = json.loads(run_cli("prove", "--rules", rules, "--policy", doc, "--format", "json").stdout)
    assert (out["status"], out["deny"]) == ("different", "equivalent")
    assert out["witness"]["statements"] == "allow" and out["witness"]["policy"] == "prod"
    assert out["repro"] is None


def test_prove_policy_allow_witness_is_decided_by_both_engines(run_cli, tmp_path):
    from compiler.policy import compile_rules
    from compiler.ram.evaluator import RamEvaluator

    rules, _, data = _compiled(run_cli, tmp_path)
    doc = _planted(tmp_path, data, _drop_rds)
    result = run_cli("prove", "--rules", rules, "--policy", doc, "--format", "json")
    assert result.exit_code == 1
    w = json.loads(result.stdout)["witness"]
    assert w["action"].startswith("rds:") and w["resource"].startswith("acs:rds:cn-hangzhou:")
    # The rules' allow list matches the request; the JSON's Allow statements do not.
    (allow_list,) = [p for p in compile_rules([rules]).policies if p.allows]
    from compiler.decide.trie import DecisionTrie

    assert DecisionTrie(allow_list.allows).decide(w["action"], w["context"], w["resource"]).denied
    found = RamEvaluator.from_files([doc]).evaluate(w["action"], w["context"], w["resource"])
    assert not any(ref.effect == "Allow" for ref in found.matched)


def test_prove_policy_downloaded_name_and_missing_allow_list(run_cli, tmp_path):
    rules, doc, data = _compiled(run_cli, tmp_path)
    downloaded = tmp_path / "cp.json"
    downloaded.write_text(doc.read_text())
    assert run_cli("prove", "--rules", rules, "--policy", downloaded).exit_code == 0
    # The Deny statements alone: the rules allow what the JSON does not mention.
    deny_only = _planted(tmp_path, data, lambda s: s if s["Effect"] == "Deny" else None, "d.json")
    result = run_cli("prove", "--rules", rules, "--policy", deny_only)
    assert result.exit_code == 1
    assert "the rules' allow rules allow and the JSON's Allow statements do not allow" in (
        result.stdout
    )


def test_prove_policy_cannot_decide_says_so(run_cli, tmp_path):
    rules, _, data = _compiled(run_cli, tmp_path)
    odd = _planted(
        tmp_path, data, lambda s: {**s, "Action": ["ecs:Désc*"]} if s["Action"] == ["rds:*"] else s
    )
    result = run_cli("prove", "--rules", rules, "--policy", odd)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("could not decide: non-ASCII action pattern `ecs:Désc*`")
    assert "Traceback" not in result.stderr
