"""F7 (issue 16): `check` on 4,000 copies of one rule took minutes, a proof for every pair.
A repeated statement is proved once; its copies are duplicates of the first (W0101)."""

from __future__ import annotations

from compiler import compile_sources
from compiler.analysis import shadowing
from compiler.analysis.lint import lint


def test_copies_of_a_rule_cost_no_proof_each(monkeypatch):
    calls = {"covers": 0, "denies_nothing": 0}
    real_covers, real_dead = shadowing.covers, shadowing.denies_nothing

    def covers(*args):
        calls["covers"] += 1
        return real_covers(*args)

    def denies_nothing(*args):
        calls["denies_nothing"] += 1
        return real_dead(*args)

    monkeypatch.setattr(shadowing, "covers", covers)
    monkeypatch.setattr(shadowing, "denies_nothing", denies_nothing)
    text = "deny ECS RunInstances\n" * 200 + "deny ECS *\n"
    found = lint(compile_sources([("d.rules", text)]))
    assert [(d.code, d.span.line) for d in found if d.code == "W0101"] == [
        ("W0101", n) for n in range(2, 201)
    ]
    shadowed = [d for d in found if d.code == "W0102"]
    assert [d.span.line for d in shadowed] == [1]
    assert calls["denies_nothing"] <= 2  # the distinct statements (here one condition: none)
    assert calls["covers"] <= 4  # the distinct pairs, not 200 × 200
