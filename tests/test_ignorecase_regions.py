"""``prove``, ``diff`` and ``check`` on ``ignorecase`` conditions (reviewer finding 1): an
ignorecase value is a set of spellings, and a mixed-case one (`Vpc-Prod`) is a region of its
own when the other side lists some spellings case-sensitively. Only the lower, upper and
swapped case of each sample were tried, so `in ignorecase [vpc-prod]` and `in [vpc-prod,
VPC-PROD]` were "equivalent (proved)" and W0101 duplicates."""

from __future__ import annotations

import itertools
import json
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.analysis.folded import FOLDS_TO_ASCII
from compiler.analysis.prove import compare, from_documents, from_trie
from compiler.ram import RamEvaluator

OLD = "deny ECS RunInstances when vpc in ignorecase [vpc-prod]\n"
NEW = "deny ECS RunInstances when vpc in [vpc-prod, VPC-PROD]\n"


@pytest.fixture
def pair(tmp_path):
    old, new = tmp_path / "old.rules", tmp_path / "new.rules"
    old.write_text(OLD)
    new.write_text(NEW)
    return old, new


def test_diff_finds_a_mixed_case_spelling(run_cli, pair):
    old, new = pair
    result = run_cli("diff", old, new, "--format", "json")
    assert result.exit_code == 3, result.stdout + result.stderr
    # The witness is decided as diff says by `decide` on each side.
    value = next(v for v in _strings(result.stdout) if v.lower() == "vpc-prod")
    assert value not in ("vpc-prod", "VPC-PROD")
    for path, decision in ((old, "deny"), (new, "allow")):
        got = run_cli("decide", "--rules", path, "ecs:RunInstances", "-c", f"vpc={value}")
        assert json.loads(got.stdout)["decision"] == decision


def _strings(text: str):
    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, list):
            for v in x:
                yield from walk(v)
        elif isinstance(x, str):
            yield x

    return walk(json.loads(text))


def test_prove_finds_it_between_rules_and_json(run_cli, pair, tmp_path):
    old, new = pair
    out = tmp_path / "on"
    assert run_cli("compile", new, "--out", out).exit_code == 0
    result = run_cli("prove", "--rules", old, "--policy", out / "new.json")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "differ" in result.stdout


def test_check_does_not_call_them_duplicates(run_cli, tmp_path):
    path = tmp_path / "dup.rules"
    path.write_text(NEW + OLD)
    result = run_cli("check", path)
    assert "W0101" not in result.stderr
    # The case-sensitive rule is inside the ignorecase one, and says so.
    assert "dup.rules:1:1: warning: rule is shadowed" in result.stderr


def test_prove_sees_the_engines_fold_alike_off_ascii(run_cli, tmp_path):
    """Spellings off ASCII (`ß`, `ſ`, `ﬆ`, the Kelvin sign) are regions too: prove now
    tries them, and the trie and the JSON decide them alike (tests/test_ignorecase_fold.py)."""
    path = tmp_path / "f.rules"
    path.write_text("deny ECS RunInstances when vpc in ignorecase [ss, st, fi]\n")
    result = run_cli("prove", "--rules", path)
    assert result.exit_code == 0, result.stdout


def test_the_table_of_characters_folding_to_ascii_is_complete():
    found = {
        chr(cp)
        for cp in range(0x80, sys.maxunicode + 1)
        if any(f(chr(cp))[:1].isascii() for f in (str.casefold, str.lower))
    }
    assert found == set(FOLDS_TO_ASCII)


# --- property: diff says equivalent only if no spelling tells the rules apart ----------------

VALUES = ["ab", "aB", "Ab", "AB", "s", "S", "k", "ss"]
OPS = ["in", "not in", "in ignorecase", "not in ignorecase", "like"]
GLOBS = ["a*", "A?", "*b", "?", "*S*", "k*"]


@st.composite
def condition(draw):
    op = draw(st.sampled_from(OPS))
    pool = GLOBS if op == "like" else VALUES
    values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    return f"vpc {op} [{', '.join(values)}]"


@st.composite
def rules(draw):
    lines = []
    for _ in range(draw(st.integers(1, 2))):
        # RAM holds one value list per operator and key: one condition per operator.
        conds = draw(
            st.lists(condition(), min_size=1, max_size=2, unique_by=lambda c: c.split("[")[0])
        )
        lines.append("deny ECS RunInstances when " + " and ".join(conds))
    return "\n".join(lines) + "\n"


def _variants() -> list[str]:
    """Every spelling of the listed values and some others: the adversarial requests."""
    out = {"", "x", "~", "ſ", "K", "ß", "ẞ", "kK", "\u212as", "\u212a", "ſS", "aK", "ßs"}
    for v in [*VALUES, "aab", "abb", "ks", "sk", "SK"]:
        choices = [{c, c.upper(), c.lower()} | ({"ſ"} if c in "sS" else set()) for c in v]
        choices = [c | ({"\u212a"} if "k" in c else set()) for c in choices]
        out |= {"".join(p) for p in itertools.product(*map(sorted, choices))}
    return sorted(out)


VARIANTS = _variants()


@example(OLD, NEW, [])
@example(
    "deny ECS RunInstances when vpc in ignorecase [ab]\n",
    "deny ECS RunInstances when vpc in [ab, AB]\n",
    [],
)
@example(
    "deny ECS RunInstances when vpc not in ignorecase [ss]\n",
    "deny ECS RunInstances when vpc not in [ss]\n",
    [],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), rules(), st.lists(st.text(alphabet="aAbBsSkK-ſß\u212a", max_size=4), max_size=5))
def test_equivalent_only_if_every_spelling_is_decided_alike(a, b, random_values):
    pa = compile_sources([("a.rules", a)])
    pb = compile_sources([("b.rules", b)])
    verdict = compare(from_trie("a", pa.trie), from_trie("b", pb.trie))
    assert verdict.status in ("equal", "different")
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in pa.documents])
    for value in [*VARIANTS, *random_values]:
        ctx = {"acs:SourceVpc": value}
        da = pa.decide("ecs:RunInstances", ctx).denied
        if verdict.status == "equal":
            assert da == pb.decide("ecs:RunInstances", ctx).denied, (value, a, b)
        # prove says a's trie and its JSON are equivalent: so they decide alike.
        assert da == (ram.decide("ecs:RunInstances", ctx) == "deny"), (value, a)
    assert compare(from_trie("a", pa.trie), from_documents("json", ram)).status == "equal"


ALPHABET = ["a", "A", "b", "s", "S", "ſ", "ß", "k", "K", "\u212a", "x"]


@pytest.mark.parametrize(
    ("likes", "exact", "folded"),
    [
        ([], ["ab", "AB"], ["ab"]),
        (["a*"], ["aB"], ["ab", "ss"]),
        (["?S", "*k"], [], ["sk", "s"]),
        ([], ["ss", "SS", "sS"], ["ss"]),
        (["*"], ["k"], ["k", "kk"]),
        (["A?"], ["As"], ["as", "ak"]),
    ],
)
def test_every_short_string_falls_in_a_region_found(likes, exact, folded):
    """Brute force over every string of up to 3 characters of an alphabet with the awkward
    ones (ſ, ß, the Kelvin sign): each combination of answers some string gives — the
    patterns, the case-sensitive values, each value under either folding — is given by
    one of ``folded_classes``' strings."""
    from compiler.analysis.folded import folded_classes
    from compiler.model.glob import glob_match

    def answers(text: str) -> tuple:
        return (
            tuple(glob_match(p, text, ignore_case=False) for p in likes),
            tuple(text == v for v in exact),
            tuple(text.casefold() == v.casefold() for v in folded),
            tuple(text.lower() == v.lower() for v in folded),
        )

    found = {answers(t) for t in folded_classes(likes, exact, folded)}
    for n in range(4):
        for chars in itertools.product(ALPHABET, repeat=n):
            text = "".join(chars)
            assert answers(text) in found, text
