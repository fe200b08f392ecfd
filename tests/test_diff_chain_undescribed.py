"""`diff` along an org.toml compares the accounts it does not describe too: simulate decides
their calls along the Root's chain, so an account dropped from org.toml, or a Root change in
an org.toml that lists no account, changes decisions. diff said "equivalent (proved)", exit 0.
"""

from __future__ import annotations

import json

from test_org_chain import ORG  # Root → fd-prod (FullAliyunAccess detached) → account 111

PROD = (
    "policy prod for control-policy attach [fd-prod]\n"
    "allow ECS *\nallow RAM *\nallow Sts *\nallow ResourceManager *\n"
)


def _sides(tmp_path, old_org: str, new_org: str, rules: str = PROD):
    sides = []
    for name, org in (("old", old_org), ("new", new_org)):
        side = tmp_path / name
        side.mkdir()
        (side / "prod.rules").write_text(rules)
        (side / "org.toml").write_text(org)
        sides.append(side)
    return sides


def test_an_account_dropped_from_org_toml_is_compared_along_the_roots_chain(run_cli, tmp_path):
    from compiler.policy import compile_rules

    # 111 leaves fd-prod's allow list: its calls of anything but ECS/RAM/STS/RM were denied
    # at fd-prod; now simulate decides them along the Root's chain alone, which allows them.
    old, new = _sides(
        tmp_path, ORG, ORG.replace('[[account]]\nid = "111"\nparent = "fd-prod"\n', "")
    )
    result = run_cli("diff", old, new)
    assert result.exit_code == 3, result.stdout
    assert "equivalent" not in result.stdout.splitlines()[-2]
    assert "chains (" in result.stdout and "): 1 of 1 account decides some request" in result.stdout
    assert "  account 111: no longer denied: " in result.stdout
    assert "(deny at fd-prod → allow)" in result.stdout
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert data["equivalent"] is False and data["verdict"] == "loosens"
    chains = data["chains"]
    assert chains["status"] == "different" and chains["changed_accounts"] == ["111"]
    (change,) = chains["changes"]
    assert (change["kind"], change["old_stopped_at"], change["new_stopped_at"]) == (
        "no_longer_denied",
        "fd-prod",
        None,
    )
    # What simulate decides for 111 on the new side: the Root's chain.
    w = change["witness"]
    new_policy = compile_rules([new])
    new_org = new_policy.load_org(new / "org.toml")
    root = new_policy.decide_chain(new_org, "r-1", w["action"], w["context"], w["resource"])
    assert root.decision == "allow"
    old_policy = compile_rules([old])
    old_org = old_policy.load_org(old / "org.toml")
    was = old_policy.decide_chain(old_org, "111", w["action"], w["context"], w["resource"])
    assert was.decision == "deny"


def test_a_root_change_reaches_accounts_org_toml_does_not_describe(run_cli, tmp_path):
    # No account is listed: every call is an undescribed account's, decided along the Root's
    # chain. Detaching FullAliyunAccess from the Root (nothing allowed there) denies them all.
    folders = ORG.split("[[account]]")[0]
    detached = folders.replace('id = "r-1"\n', 'id = "r-1"\nfull_aliyun_access = false\n', 1)
    old, new = _sides(tmp_path, folders, detached)
    result = run_cli("diff", old, new)
    assert result.exit_code == 3, result.stdout
    lines = result.stdout.splitlines()
    assert lines[-2] == "tightens: some requests allowed before are denied now, none the other way"
    assert "accounts org.toml does not describe (the Root's chain): newly denied: " in (
        result.stdout
    )
    assert "(allow → deny at r-1)" in result.stdout
    assert lines[-1].endswith(
        "/org.toml): accounts org.toml does not describe (the Root's chain) decide some "
        "request differently"
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    chains = data["chains"]
    assert (data["equivalent"], chains["status"], chains["changed_accounts"]) == (
        False,
        "different",
        [],
    )
    (change,) = chains["changes"]
    assert (change["account"], change["kind"], change["new_stopped_at"]) == (
        None,
        "newly_denied",
        "r-1",
    )


def test_same_org_is_still_proved_equal_with_undescribed_accounts_counted(run_cli, tmp_path):
    old, new = _sides(tmp_path, ORG, ORG)
    result = run_cli("diff", old, new)
    assert result.exit_code == 0, result.stdout
    assert (
        "no account's chain decides any request differently (proved, 1 account), nor the "
        "Root's chain for accounts org.toml does not describe" in result.stdout
    )
