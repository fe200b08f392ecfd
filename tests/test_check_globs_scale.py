"""F7 (issue 16): `check` and `compile` on many distinct globs grew with their square.

Counted in operations, not seconds: the proofs ``check`` runs (``shadowing.covers``), the glob
matches the emitter's pruning and the resolver's "matches no operation" warning run. Nested
globs (`Desc*` ⊇ `Describe*` ⊇ `DescribeI*` …) cover each other in many more pairs than there
are rules; only the pairs that no chain of proved ones implies are proved. The diagnostics are
those of the all-pairs analysis, checked against it on a mixed file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.analysis import shadowing
from compiler.analysis.lint import lint
from compiler.analysis.prove import Stmt
from compiler.catalog import default_catalog
from compiler.emit import ram as emit_ram
from compiler.model import glob as glob_module
from compiler.model import resolve
from compiler.model.glob import CoverIndex, glob_match, subsumes


def _nested(n: int) -> str:
    """``n`` distinct ECS prefix globs: every prefix of one operation name after another
    (`Acc*`, `Acce*`, … `AcceptInquiredSystemEven*`, `Act*`, …), each covering the next."""
    ops = sorted(default_catalog().service("ECS").operations())
    globs: list[str] = []
    seen: set[str] = set()
    for op in ops:
        for k in range(3, len(op)):
            g = op[:k] + "*"
            if g.lower() not in seen:
                seen.add(g.lower())
                globs.append(g)
    assert len(globs) >= n
    return "".join(f"deny ECS {g}\n" for g in globs[:n])


def _distinct(n: int) -> str:
    """``n`` globs no two of which share a string."""
    return "".join(f"deny ECS Describe*{i:05d}?\n" for i in range(n))


class _Counter:
    """Calls of the named functions, wherever a module holds them (``raising=False``: a
    module that no longer imports one is not an error)."""

    def __init__(self, monkeypatch, *where: tuple[object, str]) -> None:
        self.calls = 0
        for module, name in where:
            real = getattr(module, name, None)
            if real is None:
                continue

            def counted(*args, real=real, **kwargs):
                self.calls += 1
                return real(*args, **kwargs)

            monkeypatch.setattr(module, name, counted, raising=False)


def _pairs(text: str) -> int:
    """How many (broad, narrow) pairs of rules cover each other, the old proof count."""
    policy = compile_sources([("n.rules", text)])
    return shadowing.subsumption_graph(policy).number_of_edges()


@pytest.mark.parametrize("n", [200, 400])
def test_nested_globs_cost_a_proof_per_rule_not_per_covering_pair(monkeypatch, n):
    text = _nested(n)
    pairs = _pairs(text)
    proofs = _Counter(monkeypatch, (shadowing, "covers"))
    found = lint(compile_sources([("n.rules", text)]))
    assert pairs > 3 * n  # the all-pairs analysis proved every one of these
    assert proofs.calls <= 2 * n
    # Every glob but the shortest of its operation's chain is shadowed by that one.
    shadowed = {d.span.line for d in found if d.code == "W0102"}
    roots = {line.split()[2][:3].lower() for line in text.splitlines()}
    assert len(shadowed) == n - len(roots)


def test_distinct_globs_are_pruned_and_resolved_without_trying_every_pair(monkeypatch):
    n = 1000
    matches = _Counter(
        monkeypatch,
        (glob_module, "glob_match"),
        (glob_module, "subsumes"),
        (resolve, "glob_match"),
        (emit_ram, "subsumes"),
    )
    policy = compile_sources([("d.rules", _distinct(n))])
    resolved = matches.calls
    actions = [a for doc in policy.ram_documents() for st in doc["Statement"] for a in st["Action"]]
    pruned = matches.calls - resolved
    assert len(actions) == n  # none covers another
    # Before: 381 ECS operations tried per glob, and n × n glob pairs in the pruning.
    assert resolved <= 130 * n  # the 125 `Describe…` operations at most, not all 381
    assert pruned <= n


def test_check_on_many_globs_proves_no_pair_of_disjoint_globs(monkeypatch):
    proofs = _Counter(monkeypatch, (shadowing, "covers"))
    found = lint(compile_sources([("d.rules", _distinct(500))]))
    assert proofs.calls == 0
    assert not [d for d in found if d.code in ("W0101", "W0102")]


MIXED = (
    "deny ECS RunInstances\n"
    "deny ECS Run*\n"
    "deny ECS R*\n"
    "deny ECS *\n"
    "deny ECS RunInstances when mfa = false\n"
    "deny ECS Run* when mfa = false\n"
    "deny ecs run* when mfa = false\n"
    "deny ECS R* unless mfa = true\n"
    "deny ECS Describe*s when source_ip in [10.0.0.0/8]\n"
    "deny ECS DescribeInstances when source_ip in [10.0.0.0/8] and mfa = false\n"
    "deny ECS Describe* when source_ip in [10.0.0.0/8]\n"
    "deny * Describe*\n"
    "deny ECS Delete?nstance\n"
    "deny ECS DeleteInstance\n"
    "deny ECS *Instance\n"
    "deny RDS *\n"
    "deny RDS Delete* when mfa = false\n"
)


def test_graph_is_the_all_pairs_relation():
    """Every covering pair is an edge (before, a repeated rule's edges went to its first
    copy only; the diagnostics were the same)."""
    policy = compile_sources([("m.rules", MIXED)])
    stmts = shadowing._stmts(policy)
    rules = [r.index for r in policy.rules]
    want = {(b, a) for b in rules for a in rules if a != b and shadowing.covers(stmts[b], stmts[a])}
    assert set(shadowing.subsumption_graph(policy).edges) == want
    # The engine alone (no shortcut for unconditional globs) proves the same pairs.
    assert want == {
        (b, a)
        for b in rules
        for a in rules
        if a != b
        and shadowing.compare(
            shadowing.statement_decider("n", [stmts[a]]),
            shadowing.statement_decider("b", [stmts[b]]),
            want=(True, False),
        ).status
        == "equal"
    }


def test_globs_equal_but_for_case_keep_one_action():
    """Each of `Run*` and `run*` counted as covering the other, and both were dropped: the
    statement was emitted with an empty Action list while the trie denied RunInstances."""
    policy = compile_sources([("c.rules", "deny ECS Run*\ndeny ECS run*\ndeny ECS RunInstances\n")])
    (statement,) = policy.ram_documents()[0]["Statement"]
    assert statement["Action"] == ["ecs:Run*"]


PATTERN = st.text(alphabet="aAb*?:", max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(PATTERN, max_size=8), PATTERN)
def test_cover_index_answers_as_every_pair_would(globs, specific):
    globs = [g for g in globs if "*" in g or "?" in g]
    want = any(g.lower() != specific.lower() and subsumes(g, specific) for g in globs)
    assert CoverIndex(globs).covered(specific) == want


@settings(max_examples=200, deadline=None)
@given(st.sets(PATTERN.filter(bool), max_size=8))
def test_pruning_keeps_what_every_pair_would(actions):
    ordered = sorted(actions, key=lambda a: (a.lower(), a))
    globs = [a for a in ordered if "*" in a or "?" in a]
    kept: list[str] = []
    for a in ordered:
        if a.lower() in {k.lower() for k in kept}:
            continue
        if any(g.lower() != a.lower() and subsumes(g, a) for g in globs):
            continue
        kept.append(a)
    assert list(emit_ram._prune(set(actions))) == kept


SAMPLE_TEXT = st.text(alphabet="ab:*?", max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.lists(PATTERN.filter(bool), max_size=3)), max_size=6),
    SAMPLE_TEXT,
)
def test_candidates_are_the_rules_whose_patterns_match(rules, text):
    """The sound filter's index finds exactly the rules matching a sample: a pattern's
    rules (prefix globs by their length, every other shape by the trie's matcher), or a
    `except` rule none of whose exceptions match."""
    stmts = {
        i: Stmt(f"r{i}", tuple(p.lower() for p in pats), excepting, None, ((),))
        for i, (excepting, pats) in enumerate(rules)
    }
    text = text.lower()
    want = {
        i for i, s in stmts.items() if any(glob_match(p, text) for p in s.actions) != s.not_actions
    }
    assert shadowing._Candidates(stmts, set(stmts)).match(text) == want


def test_candidates_agree_with_the_trie_on_every_sample():
    """On nested prefixes, disjoint globs, the mixed file and an `except` rule, each rule's
    sample strings find the rules ``match_indexes`` finds (the filter used it before)."""
    text = _nested(150) + _distinct(150) + MIXED + "deny * * except [ecs:Describe*, ram:Get*]\n"
    policy = compile_sources([("c.rules", text)])
    stmts = shadowing._stmts(policy)
    candidates = shadowing._Candidates(stmts, set(stmts))
    samples = {shadowing._sample(p) for s in stmts.values() for p in s.actions}
    assert len(samples) > 300
    for sample in sorted(samples):
        assert candidates.match(sample) == set(policy.trie.match_indexes(sample)), sample


def test_check_output_splits_each_file_once():
    """``ramguard check`` draws every diagnostic's snippet from its file: the file is split
    into lines once, not once per diagnostic (that grew with the square of the file: 7 of
    16 s on 8,000 globs). The snippets are those of a fresh split."""
    from compiler.language import diagnostics

    text = _nested(300) + _distinct(300)
    found = lint(compile_sources([("s.rules", text)]))
    assert len(found) > 500
    diagnostics._lines.cache_clear()
    rendered = [d.render() for d in found]
    info = diagnostics._lines.cache_info()
    assert (info.misses, info.hits) == (1, len(found) - 1)
    lines = text.split("\n")
    for d, shown in zip(found, rendered, strict=True):
        assert f"{d.span.line:>4} | {lines[d.span.line - 1]}" in shown.split("\n")
