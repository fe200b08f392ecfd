"""The fused lexer + LALR loop (compiler/language/fastlalr.py) gives exactly what lark gives:
the same AST, spans and comments on every input it takes, and hands every input it does not
take back to lark (whose error is then reported, as before)."""

from __future__ import annotations

from pathlib import Path

import interegular
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import workloads
from compiler.language import parser as parser_module
from compiler.language.diagnostics import CompileError
from compiler.language.fastlalr import Fallback

ROOT = Path(__file__).resolve().parent.parent

SAMPLES = {
    "every-clause": (
        'policy p-1 "a \\"quoted\\" description\\twith escapes" for control-policy'
        " attach [fd-1a2b, acc-9]\n"
        "# a comment line\n"
        "\n"
        "deny service=ECS version=2014-05-26 op=RunInstances  # trailing comment\n"
        "deny PTS@2019-08-10 StartJMeterTesting\n"
        "allow ECS Describe* except [DescribeRegions, DescribeZones]\n"
        'deny OSS DeleteBucket on ["acs:oss:*:*:b", acs:oss:*:*:c/*]\n'
        "deny OSS PutBucket* in region [cn-hangzhou, cn-beijing]\n"
        "deny * * risk=high unless mfa = true and secure_transport = true\n"
        "deny RAM * when source_ip not in [10.0.0.0/8, 192.168.0.0/16] and mfa != false\n"
        'deny ECS RunCommand when "acs:SourceVpc" in ignorecase [vpc-a] and time at or after'
        " 2026-12-01T00:00:00Z\n"
        'deny ECS A?c* when unchecked "ecs:tag/x" not like [a*, "b c"]\n'
        "deny ECS Stop* when time before 2026-01-01T00:00:00Z and time not at 2026-02-01\n"
        "deny ECS Start* when resource_tag:env <= 3 and x >= 4 and y < 5 and z > 6\n"
    ),
    "lists-span-lines": (
        "deny ECS [\n  DeleteInstance,\n\n  DeleteInstances, # why\n  DeleteSnapshot,\n]\n"
        "deny RDS Delete* when source_ip in [\n 10.0.0.0/8,\n 11.0.0.0/8\n]\n"
    ),
    "whitespace-and-crlf": "\t deny   ECS\tRunInstances  \r\n\r\n   \n# end   ",
    "no-final-newline": "deny ECS RunInstances",
    "empty": "",
    "only-comments": "# one\n   # two",
    "keywords-as-names": "deny deny deny\ndeny when when\ndeny ECS unless\n",
}

BAD = {
    "double-equal": "deny ECS RunInstances when mfa == true\n",
    "unclosed": "deny ECS [RunInstances,\n",
    "stray-character": "deny ECS Run$Instances\n",
    "bad-escape": 'policy p "a \\q"\n',
    "version-twice": "deny service=PTS@2019-08-10 version=2019-08-10 op=X\n",
    "or": "deny ECS X when mfa = true or mfa = false\n",
    "header-after-rule": "deny ECS X\npolicy p\n",
    "end-inside-condition": "deny ECS X when mfa",
}


def _outcome(text: str, fused: bool):
    try:
        return parser_module._parse("t.rules", text, fused=fused)
    except CompileError as exc:
        return [(d.code, d.message, d.span, d.help) for d in exc.diagnostics]


def _corpus() -> list[tuple[str, str]]:
    files = sorted(
        p for base in (ROOT / "policies", ROOT / "tests" / "data") for p in base.rglob("*.rules")
    )
    texts = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files]
    lines = workloads.rule_lines(300)
    texts.append(("generated", 'policy gen "generated"\n' + "\n".join(lines) + "\n"))
    return [*texts, *SAMPLES.items()]


def test_the_fused_driver_is_in_use():
    # A lark whose insides moved would leave it None and every compile on lark's slower loop.
    assert parser_module._parser().fused is not None


@pytest.mark.parametrize(("name", "text"), _corpus(), ids=lambda v: str(v)[:40])
def test_same_tree_spans_and_comments_as_lark(name, text):
    fused = _outcome(text, fused=True)
    assert fused == _outcome(text, fused=False)
    if not isinstance(fused, list):
        # and it was the fused loop that parsed it, not lark behind a Fallback
        source = text if text.endswith("\n") else text + "\n"
        parser_module._parser().fused.parse(source)


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_bad_input_is_reported_as_lark_reports_it(text):
    fused = _outcome(text, fused=True)
    assert isinstance(fused, list)
    assert fused == _outcome(text, fused=False)


@pytest.mark.parametrize("text", ["deny ECS Run$Instances\n", "deny ECS [X\n", "deny\n"])
def test_syntax_errors_go_back_to_lark(text):
    with pytest.raises(Fallback):
        parser_module._parser().fused.parse(text)


def test_whitespace_skipping_is_exact():
    # The driver skips whitespace ahead of each token; lark would try every terminal at that
    # position first. The same only if no terminal can match text starting with whitespace.
    lark = parser_module._parser().lark
    regexes = {t.name: t.pattern.to_regexp() for t in lark.terminals}
    regexes["__ws_start"] = r"[ \t\f].*"
    comparator = interegular.Comparator.from_regexes(regexes)
    for name in regexes:
        if name not in ("WS_INLINE", "__ws_start"):
            assert comparator.isdisjoint(name, "__ws_start"), name


FRAGMENTS = [
    "deny", "allow", "policy", "ECS", "RunInstances", "Delete*", "A?", "@", "2014-05-26", "*",
    "[", "]", ",", "=", "==", "!=", "<=", "in", "not", "like", "ignorecase", "at", "or",
    "before", "after", "when", "unless", "and", "except", "on", "region", "risk", "high",
    "service", "op", "version", "for", "attach", "unchecked", "source_ip", "mfa", "true",
    "10.0.0.0/8", '"q"', '"a\\"b"', '"\\q"', "# c", "\n", "\r\n", " ", "\t", "$", "-x", "a:b",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30), st.sampled_from([" ", "", "\t"]))
def test_any_token_soup_parses_or_fails_as_with_lark(fragments, joiner):
    text = joiner.join(fragments)
    assert _outcome(text, fused=True) == _outcome(text, fused=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(workloads.rule_lines(200)), min_size=1, max_size=6))
def test_valid_rule_files_parse_as_with_lark(lines):
    text = "\n".join(lines) + "\n"
    assert _outcome(text, fused=True) == _outcome(text, fused=False)


def test_a_lark_without_the_insides_it_reads_falls_back_to_lark(monkeypatch):
    # lark is not pinned below 2: a release that renames Token._future_new must cost speed,
    # not every compile (parser.py catches the AttributeError and parses with lark alone).
    from compiler.language import fastlalr

    monkeypatch.setattr(fastlalr, "_new_token", None)
    with pytest.raises(AttributeError):
        fastlalr.FusedParser(parser_module._parser().lark)
