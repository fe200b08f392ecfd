"""``decide``/``explain --resource`` take one concrete ARN, as a ``.tests`` file's ``on ARN``
does: ``--resource foo`` or ``--resource ''`` matched no rule scoped to resources and was
answered as a decision about that resource. And every ``ramguard decide`` line ``prove`` and
``diff`` print runs: a witness's resource class whose shortest string is no ARN (``""``,
``acs:ecs:::``) is replaced by a request that is one — no resource, or an ARN filled in —
decided alike by both sides."""

from __future__ import annotations

import json
import shlex

import pytest

NOT_ARNS = ["", "foo", "acs:ecs", "acs::cn-hangzhou:1:instance/i-1", "acs:ecs:::", "oss:b:c:d:e"]


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "p.rules"
    path.write_text("policy p\ndeny ECS RunInstances on [acs:ecs:*:*:instance/i-1]\n")
    return path


@pytest.mark.parametrize("verb", ["decide", "explain"])
@pytest.mark.parametrize("value", NOT_ARNS, ids=repr)
def test_a_resource_that_is_no_arn_is_a_usage_error(run_cli, rules, verb, value):
    result = run_cli(verb, "--rules", rules, "ecs:RunInstances", "--resource", value)
    assert result.exit_code == 2, result.stdout
    assert "Invalid value for '--resource'" in result.stderr
    assert "not an ARN" in result.stderr and "acs:<service>:<region>" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("verb", ["decide", "explain"])
def test_a_glob_resource_is_refused_as_in_a_tests_file(run_cli, rules, verb):
    args = ("ecs:RunInstances", "--resource", "acs:ecs:*:*:instance/*")
    result = run_cli(verb, "--rules", rules, *args)
    assert result.exit_code == 2
    assert "is a glob; a request is on one concrete resource" in result.stderr


def test_tests_files_refuse_the_same_resources(run_cli, tmp_path, rules):
    (tmp_path / "p.tests").write_text(
        "expect allow ecs:RunInstances on foo\nexpect allow ecs:RunInstances on acs:ecs:::\n"
    )
    result = run_cli("test", tmp_path)
    assert result.exit_code == 1
    assert f"{tmp_path / 'p.tests'}:1:" in result.stderr
    assert "error: `foo` is not an ARN" in result.stderr
    assert "error: `acs:ecs:::` is not an ARN" in result.stderr


@pytest.mark.parametrize("verb", ["decide", "explain"])
def test_an_arn_with_empty_region_and_account_is_a_resource(run_cli, rules, verb):
    # Global services' ARNs leave the region (and some the account) empty.
    args = ("ecs:RunInstances", "--resource", "acs:ecs:::instance/i-1", "--format", "json")
    result = run_cli(verb, "--rules", rules, *(args if verb == "explain" else args[:3]))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == "deny"


def _repro_lines(text: str) -> list[tuple[list[str], str | None]]:
    """Each printed ``ramguard decide`` command (argv after ``ramguard``) and the decision
    its line claims (``# deny``), if any."""
    out = []
    for line in text.splitlines():
        command, _, claim = line.strip().removeprefix("$ ").partition("#")
        if command.startswith("ramguard decide"):
            out.append((shlex.split(command)[1:], claim.strip() or None))
    return out


def test_prove_prints_no_empty_resource_and_its_repro_runs(run_cli, tmp_path, monkeypatch):
    # The JSON denies one instance only: the shortest resource outside it is `""`, which
    # the repro printed as `--resource ''`.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.rules").write_text("policy p\ndeny ECS RunInstances\n")
    statement = {"Effect": "Deny", "Action": ["ecs:RunInstances"]}
    statement["Resource"] = "acs:ecs:*:*:instance/i-1"
    (tmp_path / "p.json").write_text(json.dumps({"Version": "1", "Statement": [statement]}))
    result = run_cli("prove", "--rules", "p.rules", "--policy", "p.json")
    assert result.exit_code == 1
    assert "--resource" not in result.stdout
    ((argv, _),) = _repro_lines(result.stdout)
    decided = run_cli(*argv)
    assert decided.exit_code == 0, decided.stderr
    assert json.loads(decided.stdout)["decision"] == "deny"  # "the rules deny"
    shown = json.loads(
        run_cli("prove", "--rules", "p.rules", "--policy", "p.json", "--format", "json").stdout
    )
    assert shown["witness"]["resource"] is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # The shortest resource outside `instance/*` is `""`: no resource decides alike.
        ("deny ECS * on [acs:ecs:*:*:instance/*]\n", "deny ECS *\n"),
        # Inside `acs:ecs:*:*:*` and outside `instance/*` the shortest is `acs:ecs:::`, which
        # needs a resource part; and `acs:ecs:::instance/` is one.
        ("deny ECS * on [acs:ecs:*:*:instance/*]\n", "deny ECS RunInstances on [acs:ecs:*:*:*]\n"),
    ],
    ids=["empty", "empty-resource-part"],
)
def test_every_diff_repro_line_runs_and_decides_as_it_says(
    run_cli, tmp_path, monkeypatch, old, new
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.rules").write_text(old)
    (tmp_path / "new.rules").write_text(new)
    result = run_cli("diff", "old.rules", "new.rules")
    assert result.exit_code == 3, result.stderr
    lines = _repro_lines(result.stdout)
    assert lines
    for argv, claim in lines:
        decided = run_cli(*argv)
        assert decided.exit_code == 0, (argv, decided.stderr)
        assert json.loads(decided.stdout)["decision"] == claim, argv


@pytest.mark.parametrize("value", NOT_ARNS, ids=repr)
def test_policy_decide_refuses_a_resource_that_is_no_arn_as_decide_does(rules, value):
    """The Python API refuses what is not shaped as an ARN, on every call (the memo is no
    way around it), when a rule scoped to resources covers the action; the message is the
    CLI's."""
    from compiler import compile_rules

    policy = compile_rules([rules])
    arn = "acs:ecs:cn-hangzhou:1:instance/i-1"
    assert policy.decide("ecs:RunInstances", resource=arn).decision == "deny"
    for _ in range(3):
        with pytest.raises(ValueError, match="not an ARN"):
            policy.decide("ecs:RunInstances", resource=value)
    assert policy.decide("ecs:RunInstances", resource=arn).decision == "deny"
    # No rule scoped to resources covers the action: the resource is not read, as a context
    # key no condition tests is not.
    assert policy.decide("ecs:DescribeInstances", resource=value).decision == "allow"


def test_policy_decide_reads_stars_in_a_resource_as_characters(rules):
    """Request data, as a trace's: ``i-*`` is the instance named so, matched by no rule for
    ``i-1``; ``decide --resource`` refuses it (typed, it is most likely a pattern)."""
    from compiler import compile_rules

    policy = compile_rules([rules])
    star = "acs:ecs:cn-hangzhou:1:instance/i-*"
    assert policy.decide("ecs:RunInstances", resource=star).decision == "allow"
    assert policy.decide("ecs:RunInstances", resource=star.replace("*", "1")).decision == "deny"
