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
