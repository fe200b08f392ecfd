"""The lint passes: each warning on its fixture, exactly; edge cases on inline rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import compile_rules, compile_sources
from compiler.analysis.lint import (
    PASSES,
    check_contradictions,
    check_paths,
    lint,
)
from compiler.analysis.shadowing import subsumption_graph
from compiler.language.diagnostics import CompileError, Diagnostic, Severity, Span
from compiler.model.ir import Condition, PolicyIR, Rule, RuleSet
from compiler.policy import Policy

DATA = Path(__file__).parent / "data"
LINT = DATA / "lint"
SEED = Path(__file__).parent.parent / "policies" / "leaked-accesskey-protection.rules"

DEAD = "rule denies nothing: no request — any action, resource or condition value — matches it"

LINT_FIXTURES = {
    "duplicate": [
        ("W0101", 5, "rule duplicates `deny ECS RunInstances, DeleteInstance` at {f}:4"),
        ("W0101", 7, "rule duplicates `deny RAM * when mfa = false` at {f}:6"),
    ],
    "shadowed": [
        ("W0102", 4, "rule is shadowed by `deny ECS *` at {f}:6"),
        ("W0102", 5, "rule is shadowed by `deny ECS *` at {f}:6"),
        ("W0102", 7, "rule is shadowed by `deny RAM *` at {f}:8"),
        ("W0102", 9, "rule is shadowed by `deny RDS Delete* when mfa = false` at {f}:10"),
    ],
    "unmatched-glob": [
        # Exact: `* Frob?icate*` matches every string `ECS Frobnicate*` does, catalog or not.
        ("W0102", 4, "rule is shadowed by `deny * Frob?icate*` at {f}:6"),
        ("W0103", 4, "`Frobnicate*` matches no operation of ECS"),
        ("W0103", 5, "`?` matches no operation of ECS"),
        ("W0103", 6, "`Frob?icate*` matches no operation of any catalog service"),
        # Both from the compiler now, each at its own column: the version, then the glob.
        (
            "W0201",
            7,
            "RAM cannot see API versions: this rule denies its operations in every version of PTS",
        ),
        ("W0103", 7, "`*PtsScene` matches no operation of PTS@2019-08-10"),
    ],
    "contradiction": [
        ("E0110", 4, DEAD),
        (
            "W0104",
            4,
            "conditions `source_ip in [10.0.0.0/8]` and `source_ip not in [10.0.0.0/8]` can "
            "never hold together",
        ),
        ("E0110", 5, DEAD),
        (
            "W0104",
            5,
            "conditions `source_ip in [10.1.0.0/16]` and `source_ip not in [10.0.0.0/8]` can "
            "never hold together",
        ),
        ("E0110", 6, DEAD),
        (
            "W0104",
            6,
            "conditions `time after 2026-06-01T00:00:00Z` and `time before "
            "2026-01-01T00:00:00Z` can never hold together",
        ),
        ("E0110", 7, DEAD),
        (
            "W0104",
            7,
            "conditions `time after 2026-01-01T00:00:00Z` and `not time after "
            "2026-01-01T00:00:00Z` can never hold together",
        ),
        ("E0110", 8, DEAD),
        (
            "W0104",
            8,
            "conditions `vpc in [vpc-a]` and `vpc not in [vpc-a, vpc-b]` can never hold together",
        ),
        (
            "W0104",
            9,
            "conditions `vpc in [vpc-a]` and `vpc not in [vpc-a]` can never hold together",
        ),
    ],
    "access-key": [
        ("W0105", 4, "`access_key` conditions may be ignored in RAM identity policies"),
    ],
    "versioned": [
        (
            "W0201",
            4,
            "RAM cannot see API versions: this rule denies its operations in every version of ECS",
        ),
    ],
    "multi-document": [
        ("W0106", 2, "policy `lint-multi-document` needs 2 RAM documents"),
    ],
}


@pytest.mark.parametrize("name", sorted(LINT_FIXTURES), ids=sorted(LINT_FIXTURES))
def test_each_fixture_gives_exactly_its_warnings(name):
    path = LINT / f"{name}.rules"
    found = lint(compile_rules([path]))
    got = [(d.code, d.span.line, d.message) for d in found]
    assert got == [(c, line, m.format(f=path)) for c, line, m in LINT_FIXTURES[name]]
    assert all(str(d.severity) == ("error" if d.code == "E0110" else "warning") for d in found)
    assert all(d.help for d in found)


def test_every_lint_fixture_is_exercised():
    on_disk = sorted(p.stem for p in LINT.glob("*.rules"))
    assert on_disk == sorted(LINT_FIXTURES)


def test_lint_warnings_point_at_the_rule_and_render_it():
    path = LINT / "shadowed.rules"
    first = lint(compile_rules([path]))[0]
    assert first.span.col == 1
    assert first.render().splitlines()[:3] == [
        f"{path}:4:1: warning: rule is shadowed by `deny ECS *` at {path}:6 [W0102]",
        "   4 | deny ECS RunInstances",
        "     | ^~~~~~~~~~~~~~~~~~~~~",
    ]


def test_text_shows_the_code_to_silence_a_warning_by_and_errors_on_request():
    first = lint(compile_rules([LINT / "shadowed.rules"]))[0]
    assert first.render().splitlines()[0].endswith(" [W0102]")
    error = Diagnostic("E0220", Severity.ERROR, "unknown operation", Span("a.rules", 1, 1))
    assert error.render() == "a.rules:1:1: error: unknown operation"
    assert error.render(show_code=True) == "a.rules:1:1: error: unknown operation [E0220]"


def test_duplicate_help_mentions_versions_when_only_the_version_differs():
    policy = compile_sources(
        [("v.rules", "deny ECS RunInstances\ndeny ECS@2014-05-26 RunInstances\n")]
    )
    dup = [d for d in lint(policy) if d.code == "W0101"]
    assert [(d.span.line, d.message) for d in dup] == [
        (2, "rule duplicates `deny ECS RunInstances` at v.rules:1")
    ]
    assert "RAM cannot see API versions" in dup[0].help


def test_seed_policy_has_no_errors_and_only_version_warnings_which_its_comments_silence():
    result = check_paths([SEED])
    assert (result.errors, result.warnings) == (0, 0)
    assert [(d.code, d.span.line) for d in lint(compile_rules([SEED]))] == [
        ("W0201", 28),
        ("W0201", 34),
        ("W0201", 40),
        ("W0201", 46),
        ("W0201", 53),
    ]


def test_the_passes_table_is_named_and_ordered():
    assert [name for name, _ in PASSES] == [
        "dead",
        "duplicates",
        "shadowed",
        "contradictions",
        "access-key",
        "compile",
        "documents",
        "admin-lockout",
        "global-regions",
        "audit-delivery",
        "attach-counts",
        "directory-count",
    ]


# ------------------------------------------------------------------ subsumption graph


def _lines(policy: Policy, graph) -> set[tuple[int, int]]:
    rules = {r.index: r.line for r in policy.rules}
    return {(rules[b], rules[a]) for b, a in graph.edges}


def test_subsumption_graph_edges_point_from_broad_to_narrow():
    policy = compile_rules([LINT / "shadowed.rules"])
    edges = _lines(policy, subsumption_graph(policy))
    assert (6, 4) in edges  # ECS * covers ECS RunInstances
    assert (5, 4) in edges  # ECS Run* covers ECS RunInstances
    assert (6, 5) in edges
    assert (4, 6) not in edges
    assert (8, 7) in edges and (7, 8) not in edges  # a condition narrows, never broadens
    assert (11, 12) not in edges and (12, 11) not in edges  # unrelated conditions


SUBSUMPTION_CASES = [
    ("glob-covers-exact", "deny ECS Delete*", "deny ECS DeleteInstance", True),
    ("any-service-covers", "deny * RunInstances", "deny ECS RunInstances", True),
    ("exact-not-glob", "deny ECS DeleteInstance", "deny ECS Delete*", False),
    ("other-service", "deny RDS *", "deny ECS RunInstances", False),
    ("ram-not-ims", "deny RAM *", "deny IMS *", False),
    ("ims-own-ops", "deny IMS *", "deny IMS CreateUser", True),
    ("fewer-conditions", "deny ECS * when mfa = false",
     "deny ECS RunInstances when mfa = false and source_ip in [10.0.0.0/8]", True),
    ("more-conditions", "deny ECS * when mfa = false and source_ip in [10.0.0.0/8]",
     "deny ECS RunInstances when mfa = false", False),
    ("unless-cases", "deny ECS * unless mfa = true",
     "deny ECS RunInstances when mfa = false", True),
    ("every-case-covered", "deny ECS * when mfa = false",
     "deny ECS RunInstances unless mfa = true and secure_transport = true", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("broad", "narrow", "covered"),
    [c[1:] for c in SUBSUMPTION_CASES],
    ids=[c[0] for c in SUBSUMPTION_CASES],
)
def test_covers(broad, narrow, covered):
    policy = compile_sources([("c.rules", f"{broad}\n{narrow}\n")])
    assert ((1, 2) in _lines(policy, subsumption_graph(policy))) is covered


def test_no_duplicates_across_policies():
    # Policies are attached separately; a rule repeated in another policy is not dead.
    policy = compile_sources(
        [("a.rules", "deny ECS RunInstances\n"), ("b.rules", "deny ECS RunInstances\n")]
    )
    assert [d.code for d in lint(policy)] == []
    assert subsumption_graph(policy).number_of_edges() == 0


# ---------------------------------------------------------------------- contradictions

CONTRADICTION_CASES = [
    ("equal-times", "when time before 2026-01-01T00:00:00Z and time after 2026-01-01T00:00:00Z",
     True),
    ("open-window", "when time after 2026-01-01T00:00:00Z and time before 2026-01-02T00:00:00Z",
     False),
    ("unless-before-equal", "when time before 2026-01-01T00:00:00Z "
     "unless time before 2026-01-01T00:00:00Z", True),
    ("ip-union-covers", "when source_ip in [10.0.0.0/8] "
     "and source_ip not in [10.0.0.0/9, 10.128.0.0/9]", True),
    ("ip-partly-outside", "when source_ip in [10.0.0.0/8] and source_ip not in [10.0.0.0/9]",
     False),
    ("ip-other-version", "when source_ip in [10.0.0.0/8] and source_ip not in [::/0]", False),
    ("string-subset", "when vpc in [a] and vpc not in [a, b]", True),
    ("string-partly-outside", "when vpc in [a, c] and vpc not in [a, b]", False),
    ("different-keys", "when mfa = true and secure_transport = false", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("conditions", "dead"),
    [c[1:] for c in CONTRADICTION_CASES],
    ids=[c[0] for c in CONTRADICTION_CASES],
)
def test_contradictions(conditions, dead):
    policy = compile_sources([("c.rules", f"deny ECS RunInstances {conditions}\n")])
    codes = [d.code for d in lint(policy)]
    # A whole rule that can never match is also an error (E0110), proved by the engine.
    assert codes == (["E0110", "W0104"] if dead else [])


def test_contradictory_bool_is_already_a_compile_error():
    # checks.py merges Bool conditions per key and rejects two values: never reaches the IR.
    with pytest.raises(CompileError) as exc:
        compile_sources([("b.rules", "deny ECS RunInstances when mfa = true unless mfa = true\n")])
    assert [d.code for d in exc.value.errors] == ["E0250"]


def test_contradictory_bool_in_hand_built_ir_is_reported():
    span = Span("h.rules", 1, 1, 1, 10)
    conj = (
        Condition("Bool", "acs:MFAPresent", ("false",)),
        Condition("Bool", "acs:MFAPresent", ("true",)),
    )
    rule = Rule(0, "h", "h.rules", 1, "deny ECS *", "ECS", ("*",), None, ("ecs:*",), (conj,), span)
    policy = Policy(RuleSet((PolicyIR("h", None, "h.rules", (rule,)),)))
    [diag] = check_contradictions(policy, None)
    assert diag.message == "conditions `mfa = false` and `mfa = true` can never hold together"


# ------------------------------------------------------------------------ check_paths


def test_check_paths_returns_compile_errors_as_data():
    result = check_paths([DATA / "broken"])
    assert result.errors == 3
    assert [(d.code, d.span.line, d.span.col) for d in result.diagnostics if d.code[0] == "E"] == [
        ("E0220", 15, 3),
        ("E0240", 19, 24),
        ("E0212", 22, 6),
    ]
    assert result.exit_code() == 1


@pytest.mark.parametrize(
    ("paths", "summary", "plain", "strict"),
    [
        ([SEED], "0 errors, 0 warnings in 1 file", 0, 0),
        ([LINT / "access-key.rules", SEED], "0 errors, 1 warning in 2 files", 0, 1),
        ([DATA / "broken"], "3 errors, 5 warnings in 1 file", 1, 1),
        ([DATA / "missing.rules"], "1 error, 0 warnings in 1 file", 1, 1),
    ],
    ids=["seed", "two-files", "broken", "missing"],
)
def test_check_result_summary_and_exit(paths, summary, plain, strict):
    result = check_paths(paths)
    assert result.summary() == summary
    assert (result.exit_code(), result.exit_code(strict=True)) == (plain, strict)


def test_clean_rules_exit_zero_even_when_strict(tmp_path):
    clean = tmp_path / "clean.rules"
    clean.write_text("deny ECS RunInstances\ndeny RDS Delete* when mfa = false\n")
    result = check_paths([clean])
    assert (result.diagnostics, result.exit_code(strict=True)) == ((), 0)


def test_a_broken_file_does_not_hide_the_warnings_of_the_others():
    result = check_paths([DATA / "broken", LINT / "access-key.rules"])
    lint_codes = [
        (Path(d.span.file).name, d.code) for d in result.diagnostics if d.code[:3] == "W01"
    ]
    assert lint_codes == [("access-key.rules", "W0105")]
    assert result.errors == 3


def test_equivalent_rules_under_a_broader_one_are_reported_once_each():
    policy = compile_sources(
        [("e.rules", "deny ECS RunInstances\ndeny ecs runinstances\ndeny ECS Run*\n")]
    )
    got = [(d.span.line, d.code, d.message) for d in lint(policy)]
    assert got == [
        (1, "W0102", "rule is shadowed by `deny ECS Run*` at e.rules:3"),
        (2, "W0101", "rule duplicates `deny ECS RunInstances` at e.rules:1"),
    ]


@pytest.mark.parametrize(
    ("line", "help"),
    [
        (4, "the rule denies nothing; fix or delete it"),
        (9, "one case of this rule (from its `unless`) never matches"),
    ],
    ids=["whole-rule", "one-unless-case"],
)
def test_contradiction_help_says_how_much_is_dead(line, help):
    found = lint(compile_rules([LINT / "contradiction.rules"]))
    assert [d.help for d in found if d.span.line == line and d.code == "W0104"] == [help]


def _vpc_rules(rules: int, values: int) -> str:
    return "".join(
        "deny ECS RunInstances when vpc in ["
        + ", ".join(f"vpc-{r:04d}{n:016d}" for n in range(values))
        + "]\n"
        for r in range(rules)
    )


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        (_vpc_rules(1, 400), "E0301", 1),  # one statement larger than any document
        (_vpc_rules(12, 200), "E0300", 1),  # over 10 documents: at the first line
    ],
    ids=["unsplittable-statement", "too-many-documents"],
)
def test_documents_the_emitter_refuses_are_errors_of_check(tmp_path, text, code, line):
    # compile_rules emits lazily: `check` must still report what emitting would refuse.
    path = tmp_path / "huge.rules"
    path.write_text(text)
    result = check_paths([path])
    assert [(d.code, str(d.severity), d.span.line) for d in result.diagnostics] == [
        (code, "error", line)
    ]
    assert result.exit_code() == 1


# ------------------------------------------------------------- exact (issue 11 item 4)

EXACT_CASES = [
    # Two CIDR lists that cover the same addresses: the same rule (syntax differs).
    ("cidr-halves", "deny ECS RunInstances when source_ip in [10.0.0.0/8]",
     "deny ECS RunInstances when source_ip in [10.0.0.0/9, 10.128.0.0/9]",
     [(2, "W0101", "rule duplicates `deny ECS RunInstances when source_ip in [10.0.0.0/8]` "
       "at x.rules:1")]),
    # `unless mfa = true` is `Bool false` (RAM has no negated Bool): the same rule.
    ("unless-is-when", "deny ECS RunInstances when mfa = false",
     "deny ECS RunInstances unless mfa = true",
     [(2, "W0101", "rule duplicates `deny ECS RunInstances when mfa = false` at x.rules:1")]),
    # A smaller network under a larger one: the conditions differ, the engine sees through.
    ("cidr-inside", "deny ECS RunInstances when source_ip in [10.1.0.0/16]",
     "deny ECS RunInstances when source_ip in [10.0.0.0/8]",
     [(1, "W0102", "rule is shadowed by `deny ECS RunInstances when source_ip in [10.0.0.0/8]` "
       "at x.rules:2")]),
    # A glob written with `?` that covers a literal run: exact over all strings.
    ("question-mark-glob", "deny ECS Run?nstances", "deny ECS RunInstances",
     [(2, "W0102", "rule is shadowed by `deny ECS Run?nstances` at x.rules:1")]),
    # Conditional under unconditional: never the other way round.
    ("conditional-under-plain", "deny ECS RunInstances when mfa = false", "deny ECS Run*",
     [(1, "W0102", "rule is shadowed by `deny ECS Run*` at x.rules:2")]),
    ("unrelated-conditions", "deny ECS RunInstances when mfa = false",
     "deny ECS RunInstances when secure_transport = false", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [c[1:] for c in EXACT_CASES],
    ids=[c[0] for c in EXACT_CASES],
)
def test_duplicates_and_shadowing_are_exact(first, second, expected):
    policy = compile_sources([("x.rules", f"{first}\n{second}\n")])
    got = [(d.span.line, d.code, d.message) for d in lint(policy) if d.code[:4] == "W010"]
    assert got == expected


def test_a_rule_that_denies_nothing_is_an_error_of_check(tmp_path):
    path = tmp_path / "dead.rules"
    # No W0104 pair names this (the union of the two halves covers the /8): only the engine.
    path.write_text(
        "deny ECS RunInstances when source_ip in [10.0.0.0/8] and source_ip not in "
        "[10.0.0.0/9, 10.128.0.0/9]\n"
        "deny ECS StopInstance when source_ip in [10.0.0.0/8] and source_ip not in [10.0.0.0/9]\n"
    )
    result = check_paths([path])
    assert [(d.code, d.span.line) for d in result.diagnostics if d.code == "E0110"] == [
        ("E0110", 1)
    ]
    assert result.exit_code() == 1
