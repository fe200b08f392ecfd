"""A resource directory holds at most 1,500 custom control policies (issue 12 item 4): W0307
from `check` (with and without an org.toml) and from `compile` for the targets that deploy
control policies, counted per document; RAM policies and FullAliyunAccess do not count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SPLIT = "zz-split"
# 25 rules with distinct networks do not fit in 4,096 characters (nor, compact, in ROS's
# 2,048): 2 documents either way.
SPLIT_RULES = f'policy {SPLIT} "two documents" for control-policy\n' + "".join(
    f"deny ECS RunInstances when source_ip in [10.{i}.0.0/16]\n" for i in range(25)
)
ORG = 'root = { id = "r-example", policies = ["cp-0000"] }\n'


def _directory(root: Path, singles: int) -> Path:
    """``singles`` one-document control policies, the 2-document one (last in file order),
    a RAM policy with no `for` header, and an org.toml attaching one of them."""
    root.mkdir()
    for i in range(singles):
        (root / f"cp-{i:04d}.rules").write_text(
            f'policy cp-{i:04d} "one of many" for control-policy\ndeny ECS DeleteInstance\n',
            encoding="utf-8",
        )
    (root / "zz-split.rules").write_text(SPLIT_RULES, encoding="utf-8")
    (root / "zzz-ram.rules").write_text("deny ECS RunInstances\n", encoding="utf-8")
    (root / "org.toml").write_text(ORG, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def over(tmp_path_factory) -> Path:
    """1,499 + 2 = 1,501 control-policy documents from 1,500 policies."""
    return _directory(tmp_path_factory.mktemp("over") / "rules", 1499)


def _w0307(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "W0307" in line]


def test_check_warns_once_at_the_policy_past_the_limit(run_cli, over):
    result = run_cli("check", over)  # the org.toml beside the rules is checked too
    assert result.exit_code == 0, result.stderr
    (line,) = _w0307(result.stderr)
    assert line.startswith(f"{over / 'zz-split.rules'}:1:8: warning: the rules create"), line
    assert line.endswith("[W0307]")
    # Per document (the split policy counts twice), the RAM policy not at all.
    assert "create 1,501 custom control policies, one per document of 1,500 policies" in line
    assert "holds at most 1,500 (`zz-split` is past the limit)" in line
    assert "help: merge policies into fewer documents" in result.stderr
    # The split policy's own W0106 is the only other warning.
    assert result.stdout.strip() == "0 errors, 2 warnings in 1501 files"


def test_check_json_names_the_code(run_cli, over):
    result = run_cli("check", over, "--format", "json")
    found = [d for d in json.loads(result.stdout) if d["code"] == "W0307"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert found[0]["help"].startswith("merge policies")


def test_check_ignore_silences_it(run_cli, over):
    assert _w0307(run_cli("check", over, "--ignore", "W0307").stderr) == []


@pytest.mark.parametrize("target", ["control-policy", "terraform", "ros"])
def test_compile_for_a_deploy_target_warns_and_still_writes(run_cli, over, tmp_path, target):
    result = run_cli("compile", over, "--target", target, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    (line,) = _w0307(result.stderr)
    if target == "control-policy":
        # Every policy is held to control-policy limits here, the RAM one included.
        assert "create 1,502 custom control policies, one per document of 1,501" in line
    else:
        assert "create 1,501 custom control policies, one per document of 1,500" in line
    assert any((tmp_path / "out").iterdir())


def test_compile_json_lists_the_warning(run_cli, over, tmp_path):
    result = run_cli(
        "compile", over, "--target", "terraform", "--out", tmp_path / "tf", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    codes = [w["code"] for w in json.loads(result.stdout)["warnings"]]
    assert codes.count("W0307") == 1


def test_at_the_limit_nothing_is_said(run_cli, tmp_path):
    rules = _directory(tmp_path / "rules", 1498)  # 1,498 + 2 = 1,500 documents
    assert _w0307(run_cli("check", rules).stderr) == []
    out = run_cli("compile", rules, "--target", "terraform", "--out", tmp_path / "tf")
    assert out.exit_code == 0 and _w0307(out.stderr) == []
