"""``prove --format json`` and ``-q`` on prove and diff: the answer as data, or as the exit code."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def faulty_json(tmp_path, repo):
    """The seed's emitted JSON with ecs:RunInstances taken out of its statement."""
    doc = json.loads((repo / "generated" / "leaked-accesskey-protection.json").read_text())
    for statement in doc["Statement"]:
        actions = statement.get("Action")
        if isinstance(actions, list) and "ecs:RunInstances" in actions:
            actions.remove("ecs:RunInstances")
    path = tmp_path / "faulty.json"
    path.write_text(json.dumps(doc))
    return path


def test_prove_json_says_equivalent(run_cli, repo):
    result = run_cli("prove", "--rules", repo / "policies", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "equivalent"
    assert data["rules"] > 0 and "witness" not in data


def test_prove_json_gives_the_witness_and_its_repro(run_cli, repo, faulty_json):
    result = run_cli(
        "prove",
        "--rules",
        repo / "policies" / "leaked-accesskey-protection.rules",
        "--policy",
        faulty_json,
        "--format",
        "json",
    )
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "different"
    assert data["witness"]["action"].lower() == "ecs:runinstances"
    assert (data["witness"]["rules"], data["witness"]["json"]) == ("deny", "allow")
    assert data["repro"].startswith("ramguard decide --rules ")


@pytest.mark.parametrize(("faulty", "code"), [(False, 0), (True, 1)])
def test_prove_quiet_answers_by_exit_code_only(run_cli, repo, faulty_json, faulty, code):
    args = [
        "prove",
        "--rules",
        repo / ("policies/leaked-accesskey-protection.rules" if faulty else "policies"),
        "-q",
    ]
    if faulty:
        args += ["--policy", faulty_json]
    result = run_cli(*args)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("faulty", "code"), [(False, 0), (True, 3)])
def test_diff_quiet_answers_by_exit_code_only(run_cli, repo, faulty_json, faulty, code):
    seed = repo / "generated" / "leaked-accesskey-protection.json"
    rules = repo / "policies" / "leaked-accesskey-protection.rules"
    result = run_cli("diff", seed, faulty_json if faulty else rules, "-q")
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("verb", [("catalog", "list"), ("catalog", "search", "DeleteBucket")])
def test_catalog_quiet_keeps_results_and_drops_the_count(run_cli, verb):
    loud, quiet = run_cli(*verb), run_cli(*verb, "-q")
    assert loud.exit_code == quiet.exit_code == 0, loud.stderr
    assert quiet.stdout == loud.stdout and quiet.stdout
    assert loud.stderr.strip() and quiet.stderr == ""
