"""A number a rule may write survives compile → import → compile: ``import`` refused numbers
``compile`` wrote. ``parse_number`` (the rule's value, and ``import``'s reading of a document's)
took at most 40 characters of text, while the value it emitted could be longer (`<
1.234567890123456789e-30` was emitted as the 50-character
`"0.000000000000000000000000000001234567890123456789"`), and a rule could not write
`12345678901234567890123456789012345678901234.5` at all though RAM documents no such bound. The
one limit now is the 6,144 characters of a RAM policy document, on both sides; the engines read
an exponent past Decimal's as no number instead of raising."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_sources
from compiler.analysis.importer import PolicyImportError, import_policy
from compiler.model.keys import MAX_NUMBER_CHARS, parse_number
from compiler.ram import RamEvaluator

OPERATORS = ["<", "<=", ">", ">=", "=", "!="]


def _rule(number: str, operator: str = "<") -> str:
    return f'deny ECS RunInstances when unchecked "acme:N" {operator} {number}\n'


def _documents(rules: str) -> list[dict]:
    return compile_sources([("n.rules", rules)]).ram_documents()


def _round_trip(rules: str) -> tuple[list[dict], list[dict]]:
    first = _documents(rules)
    (document,) = first
    text = import_policy(document, "n").text
    return first, _documents(text)


@pytest.mark.parametrize(
    "number",
    [
        "12345678901234567890123456789012345678901234.5",  # the reviewer's: 46 characters
        "1.234567890123456789e-30",  # short to write, emitted with 50 characters
        "-9.0000000000000000001e39",  # emitted as 41 characters
        "1e400",  # past a float, but a number RAM documents no bound for
        "1e-400",
        "1E+999999999999999999",  # Decimal's largest exponent
        "9" * 5000,  # more digits than str(int(...)) takes
    ],
)
def test_what_compile_emits_import_reads_back(number):
    first, second = _round_trip(_rule(number))
    assert second == first
    (statement,) = first[0]["Statement"]
    assert parse_number(number) == statement["Condition"]["NumericLessThan"]["acme:N"]


def test_the_cli_round_trip_of_the_reviewers_number(run_cli, tmp_path):
    rules = tmp_path / "n.rules"
    rules.write_text(_rule("1.234567890123456789e-30"))
    assert run_cli("compile", rules, "--out", tmp_path / "a").exit_code == 0
    imported = tmp_path / "back" / "n.rules"
    imported.parent.mkdir()
    result = run_cli("import", tmp_path / "a" / "n.json", "--out", imported)
    assert result.exit_code == 0, result.stderr
    assert run_cli("compile", imported, "--out", tmp_path / "b").exit_code == 0
    assert (tmp_path / "b" / "n.json").read_bytes() == (tmp_path / "a" / "n.json").read_bytes()


# Decimal text as a rule writes it: a sign, up to 80 integer and 80 fraction digits, and an
# exponent anywhere Decimal holds one (small ones mostly: that is where the spelling switches
# between positional and scientific, 40 places either side of the point).
_digits = st.text("0123456789", min_size=0, max_size=80)
_exponent = st.one_of(
    st.none(),
    st.integers(-120, 120),
    st.integers(-999999999999999999 + 200, 999999999999999999 - 200),
)


@st.composite
def numbers(draw) -> str:
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole, fraction = draw(_digits), draw(_digits)
    if not whole and not fraction:
        whole = "0"
    point = draw(st.booleans()) or not whole
    exponent = draw(_exponent)
    text = sign + whole + ("." + fraction if point else "")
    return text + (f"e{exponent}" if exponent is not None else "")


@settings(max_examples=300, deadline=None)
@given(numbers(), st.sampled_from(OPERATORS))
def test_compile_import_compile_is_the_identity(number, operator):
    first, second = _round_trip(_rule(number, operator))
    assert second == first
    canonical = parse_number(number)
    assert parse_number(canonical) == canonical


def test_the_limit_is_a_policy_documents_length_on_both_sides():
    assert parse_number("9" * MAX_NUMBER_CHARS) == "9" * MAX_NUMBER_CHARS
    too_long = "9" * (MAX_NUMBER_CHARS + 1)
    with pytest.raises(CompileError) as info:
        compile_sources([("n.rules", _rule(too_long))])
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("E0244", 1, 49)
    assert "longer than a RAM policy document can hold (6144 characters)" in d.message
    # A positional spelling past the limit is refused too, though the text is shorter.
    with pytest.raises(CompileError):
        compile_sources([("n.rules", _rule("1." + "1" * (MAX_NUMBER_CHARS - 20) + "e-39"))])
    document = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "ecs:RunInstances",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"acme:N": too_long}},
            }
        ],
    }
    with pytest.raises(PolicyImportError, match="is not a number"):
        import_policy(document, "n")


def test_an_exponent_past_decimals_is_no_number_to_either_engine(run_cli, tmp_path):
    huge = "1e9999999999999999999999"
    policy = compile_sources([("n.rules", _rule("5"))])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    for ctx, decision in (({"acme:N": huge}, "allow"), ({"acme:N": "4"}, "deny")):
        assert policy.decide("ecs:RunInstances", ctx).decision == decision
        assert ram.decide("ecs:RunInstances", ctx) == decision
    rules = tmp_path / "n.rules"
    rules.write_text(_rule("5"))
    result = run_cli("decide", "--rules", rules, "ecs:RunInstances", "-c", f"acme:N={huge}")
    assert json.loads(result.stdout)["decision"] == "allow"
    # In a document it is an error at its element, not a traceback.
    document = tmp_path / "big.json"
    document.write_text(
        json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "ecs:RunInstances",
                        "Resource": "*",
                        "Condition": {"NumericLessThan": {"acme:N": huge}},
                    }
                ],
            }
        )
    )
    result = run_cli("prove", "--rules", rules, "--policy", document)
    assert result.exit_code == 1
    assert f'Condition.NumericLessThan[acme:N]: "{huge}" is not a number' in result.stderr
    with pytest.raises(CompileError, match="is not a number"):
        compile_sources([("n.rules", _rule(huge))])
