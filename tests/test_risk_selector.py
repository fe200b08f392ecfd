"""`risk=high` (issue 9 item 4): the operations Alibaba tags riskType=high, selected from the
catalog at compile time, with a note that the list moves with the catalog."""

from __future__ import annotations

import pytest

from compiler import catalog_with_overlays, compile_sources
from compiler.catalog import default_catalog
from compiler.language.diagnostics import CompileError
from compiler.language.format import format_source
from compiler.model.glob import glob_match
from compiler.ram import RamEvaluator


def _compile(text: str, catalog=None):
    return compile_sources([("r.rules", text)], catalog)


def _actions(policy) -> set[str]:
    return {a for doc in policy.ram_documents() for s in doc["Statement"] for a in s["Action"]}


def test_every_service_every_tagged_operation():
    catalog = default_catalog()
    expected = {
        action
        for name, op in catalog.high_risk_operations()
        for action in catalog.service(name).ram_actions(op)
    }
    assert len(expected) > 400
    policy = _compile("deny * * risk=high\n")
    assert _actions(policy) == expected
    (note,) = [d for d in policy.warnings if d.code == "N0201"]
    assert note.severity == "note"
    assert (
        note.render()
        .splitlines()[0]
        .startswith(f"r.rules:1:15: note: `risk=high` selects {len(expected)} actions of ")
    )
    assert "moves with it" in note.help


def test_one_service_and_a_glob_narrow_the_selection():
    ecs = default_catalog().service("ECS")
    expected = {f"ecs:{op}" for op in ecs.high_risk_operations() if glob_match("Delete*", op)}
    assert expected  # the premise: ECS has high-risk Delete operations
    policy = _compile("deny ECS Delete* risk=high when mfa = false\n")
    assert _actions(policy) == expected
    rule = policy.rules[0]
    assert rule.text == "deny ECS Delete* risk=high when mfa = false"
    # Both engines agree on a selected, an unselected and a context-failing request.
    evaluator = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    picked = sorted(expected)[0]
    for action, ctx in [
        (picked, {"acs:MFAPresent": False}),
        (picked, {"acs:MFAPresent": True}),
        ("ecs:DescribeInstances", {"acs:MFAPresent": False}),
    ]:
        assert policy.decide(action, ctx).decision == evaluator.decide(action, ctx)
    assert policy.decide(picked, {"mfa": False}).decision == "deny"


def test_an_overlay_tag_is_selected():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.toml"
        path.write_text(
            '[services.Acme]\nram_codes = ["acme"]\noperations = ["Zap", "Look"]\n'
            '[services.Acme.operation.Zap]\nrisk = "high"\n'
        )
        policy = _compile("deny Acme * risk=high\n", catalog_with_overlays([path]))
    assert _actions(policy) == {"acme:Zap"}


@pytest.mark.parametrize(
    ("text", "first"),
    [
        (
            "deny * * risk=low\n",
            "r.rules:1:15: error: `low` is not a risk tag ramguard can select",
        ),
        (
            "deny * * risk=high except [ram:Get*]\n",
            "r.rules:1:15: error: `risk=high` and `except` cannot be combined",
        ),
        ("deny * * risk\n", "r.rules:1:14: error:"),
    ],
)
def test_bad_risk_selectors(text, first):
    with pytest.raises(CompileError) as info:
        _compile(text)
    assert info.value.diagnostics[0].render().startswith(first)


def test_a_selection_of_nothing_is_a_warning():
    policy = _compile("deny ECS Describe* risk=high\n")
    assert [d.code for d in policy.warnings] == ["W0203"]
    assert _actions(policy) == set()


def test_fmt_keeps_the_selector_and_is_idempotent():
    text = "deny ECS  Delete*   risk = high  # tagged\n"
    once = format_source("r.rules", text)
    assert once == "deny ECS Delete* risk=high  # tagged\n"
    assert format_source("r.rules", once) == once
