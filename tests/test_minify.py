"""``compile --minify`` (issue 11 item 5): shorter documents, proved to deny the same catalog
actions before they are written; what the new globs reach beyond the catalog is reported."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from compiler import compile_rules, compile_sources
from compiler.analysis import minify as minify_module
from compiler.analysis.minify import minify
from compiler.catalog import default_catalog
from compiler.language.diagnostics import CompileError
from compiler.ram import RamEvaluator

REPO = Path(__file__).resolve().parent.parent
CATALOG = default_catalog()


def _evaluator(policy) -> RamEvaluator:
    return RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])


@pytest.fixture(scope="module")
def seed():
    policy = compile_rules([REPO / "policies" / "leaked-accesskey-protection.rules"])
    return policy, minify(policy)


def test_seed_gets_shorter(seed):
    _, done = seed
    (report,) = done.policies
    assert report.chars_after < report.chars_before
    assert report.actions_after < report.actions_before
    assert "ecs:Ru*" in report.added  # RunInstances and RunCommand, the catalog's only `ecs:ru…`


def test_seed_minified_denies_every_catalog_action_alike(seed):
    """Checked apart from the engine: every catalog action through the RAM evaluator, on the
    original and on the minified documents."""
    policy, done = seed
    before, after = _evaluator(policy), _evaluator(done.policy)
    actions = CATALOG.actions()
    assert len(actions) > 20_000
    differ = [a for a in actions if before.decide(a, {}) != after.decide(a, {})]
    assert differ == []


def test_seed_beyond_the_catalog_is_reported_with_a_witness(seed):
    policy, done = seed
    (report,) = done.policies
    assert report.beyond_catalog >= 1
    for change in report.proof.changes:
        assert change.kind == "newly_denied" and change.catalog_actions == ()
        w = change.witness
        assert _evaluator(policy).decide(w.action, w.context) == "allow"
        assert _evaluator(done.policy).decide(w.action, w.context) == "deny"


CONDITIONAL = """policy cond "conditions"
deny ECS RunInstances when mfa = false
deny ECS RunCommand when mfa = false
deny ECS DeleteInstance, DeleteSnapshot unless source_ip in [10.0.0.0/8]
deny ECS Delete*
deny RDS DescribeDBInstances
"""


def test_conditional_rules_merge_and_covered_ones_drop():
    policy = compile_sources([("c.rules", CONDITIONAL)])
    done = minify(policy)
    statements = [st for d in done.policy.documents for st in d.statements]
    actions = sorted(a for st in statements for a in st.actions)
    # The Delete literals are under the unconditional `ecs:Delete*`: their statement goes.
    assert not any(st.actions == ("ecs:DeleteInstance", "ecs:DeleteSnapshot") for st in statements)
    assert "ecs:Ru*" in actions and "ecs:RunInstances" not in actions
    # A single literal is never turned into a glob.
    assert "rds:DescribeDBInstances" in actions
    before, after = _evaluator(policy), _evaluator(done.policy)
    rng = random.Random(7)
    catalog_actions = [a for a in CATALOG.actions() if a.startswith(("ecs:", "rds:"))]
    for _ in range(2000):
        action = rng.choice(catalog_actions)
        ctx = {}
        if rng.random() < 0.5:
            ctx["acs:mfapresent"] = rng.choice(["true", "false"])
        if rng.random() < 0.5:
            ctx["acs:sourceip"] = rng.choice(["10.1.2.3", "192.0.2.1"])
        assert before.decide(action, ctx) == after.decide(action, ctx), (action, ctx)


def test_a_minified_policy_the_engine_cannot_prove_is_an_error(monkeypatch):
    """The proof is the gate: a rewrite that loses a catalog action is refused, never
    emitted (here a rewrite made wrong on purpose)."""
    policy = compile_sources([("c.rules", CONDITIONAL)])

    def broken(ir, cat):
        return replace(ir, rules=ir.rules[:-1])  # drops `deny RDS DescribeDBInstances`

    monkeypatch.setattr(minify_module, "_minify_policy", broken)
    with pytest.raises(CompileError) as exc:
        minify(policy)
    (diag,) = exc.value.diagnostics
    assert diag.code == "E0310"
    assert "`rds:DescribeDBInstances` is decided differently" in diag.message


def test_cli_minify_writes_proved_documents_and_says_what_globs_reach(run_cli, tmp_path):
    out = tmp_path / "gen"
    result = run_cli(
        "compile", REPO / "policies" / "leaked-accesskey-protection.rules", "--minify", "--out", out
    )
    assert result.exit_code == 0, result.stderr
    assert "proved to deny the same catalog actions" in result.stdout
    assert "beyond the catalog it also denies names these globs match:" in result.stdout
    assert "ecs:Ru*" in result.stdout
    doc = json.loads((out / "leaked-accesskey-protection.json").read_text())
    assert "ecs:Ru*" in doc["Statement"][0]["Action"]
    check = run_cli(
        "compile",
        REPO / "policies" / "leaked-accesskey-protection.rules",
        "--minify",
        "--out",
        out,
        "--check",
        "-q",
    )
    assert check.exit_code == 0
    # Without --minify the directory is stale: the flag changes what is emitted.
    assert (
        run_cli(
            "compile",
            REPO / "policies" / "leaked-accesskey-protection.rules",
            "--out",
            out,
            "--check",
            "-q",
        ).exit_code
        == 1
    )


@pytest.mark.parametrize("target", ["cedar", "terraform"])
def test_cli_minify_composes_with_targets(run_cli, tmp_path, target):
    out = tmp_path / target
    result = run_cli(
        "compile",
        REPO / "policies" / "leaked-accesskey-protection.rules",
        "--minify",
        "--target",
        target,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.stderr
    text = "".join(p.read_text() for p in sorted(out.iterdir()) if p.is_file())
    assert "ecs:Ru*" in text or "ecs:ru*" in text  # Cedar lowercases: RAM matches case-blind


def test_cli_minify_with_format_json_keeps_stdout_data(run_cli, tmp_path):
    result = run_cli(
        "compile",
        REPO / "policies" / "leaked-accesskey-protection.rules",
        "--minify",
        "--format",
        "json",
        "--out",
        tmp_path / "j",
    )
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)
    assert "proved to deny the same catalog actions" in result.stderr
