"""Policy tests (`*.tests`): the expectation language, running it, reports, the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from compiler.language.diagnostics import CompileError
from compiler.policy import compile_rules
from compiler.testing.runner import load_tests, parse_tests, run_tests, to_junit

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "policy_tests"
SEED_TESTS = ROOT / "policies" / "leaked-accesskey-protection.tests"


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def invoke(*args: str):
    return CliRunner().invoke(main, ["test", *args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    # Paths in reports are as given; run from the repository root so they read `policies/…`.
    monkeypatch.chdir(ROOT)


# --- parsing -------------------------------------------------------------------------------

PARSE_CASES = [
    ("service-op", "expect deny ECS RunInstances", "deny", "ecs:RunInstances", ()),
    ("alias-lowercase", "expect deny dysms sendsms", "deny", "dysms:SendSms", ()),
    (
        "alias-to-owned-code",
        "expect allow SMS QuerySendDetails",
        "allow",
        "dysms:QuerySendDetails",
        (),
    ),
    ("ims-first-owned-code", "expect deny IMS CreateUser", "deny", "ims:CreateUser", ()),
    ("code-op", "expect allow ecs:DescribeInstances", "allow", "ecs:DescribeInstances", ()),
    ("shared-code", "expect deny ram:CreateSAMLProvider", "deny", "ram:CreateSAMLProvider", ()),
    ("code-case-folded", "expect deny ECS:runinstances", "deny", "ecs:RunInstances", ()),
    (
        "one-condition",
        "expect allow ECS DescribeInstances when source_ip = 10.1.2.3",
        "allow",
        "ecs:DescribeInstances",
        (("acs:SourceIp", "10.1.2.3"),),
    ),
    (
        "and-conditions",
        "expect deny ecs:RunCommand when source_ip = 203.0.113.7 and mfa = false",
        "deny",
        "ecs:RunCommand",
        (("acs:SourceIp", "203.0.113.7"), ("acs:MFAPresent", "false")),
    ),
    (
        "ram-keys-and-quotes",
        'expect deny rds:DeleteDBInstance when acs:CurrentTime = "2026-01-01T00:00:00Z" '
        "and acs:AccessId = LTAI5tExampleKey1",
        "deny",
        "rds:DeleteDBInstance",
        (("acs:CurrentTime", "2026-01-01T00:00:00Z"), ("acs:AccessId", "LTAI5tExampleKey1")),
    ),
    (
        "trailing-comment",
        "expect deny ECS RunInstances   # the first row",
        "deny",
        "ecs:RunInstances",
        (),
    ),
]


@pytest.mark.parametrize(
    ("line", "effect", "action", "context"),
    [c[1:] for c in PARSE_CASES],
    ids=[c[0] for c in PARSE_CASES],
)
def test_parse_expectation(line, effect, action, context):
    (exp,) = parse_tests("x.tests", line).expectations
    assert (exp.expected, exp.action, exp.context) == (effect, action, context)
    assert exp.text == line.partition("#")[0].strip()
    assert (exp.span.line, exp.span.col) == (1, 1)


def test_comments_and_blank_lines_keep_line_numbers():
    text = (
        "# header\n\nexpect deny ECS RunInstances\n  # indented comment\n\nexpect allow "
        "ECS DescribeInstances"
    )
    tests = parse_tests("x.tests", text)
    assert [e.line for e in tests.expectations] == [3, 6]


def test_empty_file_has_no_expectations():
    assert parse_tests("x.tests", "# nothing yet\n").expectations == ()


# Every error names FILE:LINE:COL, says what is wrong, and helps where it can.
BAD_CASES = [
    (
        "syntax",
        "syntax.tests",
        "syntax.tests:2:8: error: unexpected `deni`",
        "expected one of: `allow`, `deny`",
    ),
    (
        "unknown-service",
        "unknown_service.tests",
        "unknown_service.tests:2:13: error: unknown service `ECZ`",
        "did you mean ECS?",
    ),
    (
        "unknown-operation",
        "unknown_operation.tests",
        "unknown_operation.tests:1:17: error: unknown operation `RunInstance` for ECS",
        "did you mean RunInstances?",
    ),
    (
        "glob",
        "glob.tests",
        "glob.tests:1:18: error: `*` is a glob; expectations name concrete actions",
        "write one service and one operation",
    ),
    (
        "unknown-code",
        "unknown_code.tests",
        "unknown_code.tests:1:13: error: unknown RAM code `rma`",
        "did you mean ram?",
    ),
    (
        "bad-ip",
        "bad_value.tests",
        "bad_value.tests:1:47: error: `10.0.0.0/8` is not an IP address",
        "a request has one source address",
    ),
    (
        "unknown-key",
        "unknown_key.tests",
        "unknown_key.tests:1:35: error: unknown context key `sourceip`",
        "did you mean source_ip?",
    ),
]


@pytest.mark.parametrize(
    ("name", "first", "help_text"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_tests_file_exits_1_with_position(name, first, help_text):
    result = invoke(rel(DATA / "bad" / name))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"tests/data/policy_tests/bad/{first}"
    assert f"  help: {help_text}" in "\n".join(lines)
    assert "Traceback" not in result.output + result.stderr


def test_syntax_error_draws_caret():
    with pytest.raises(CompileError) as info:
        load_tests(rel(DATA / "bad" / "syntax.tests"))
    assert info.value.diagnostics[0].render().splitlines()[1:3] == [
        "   2 | expect deni ECS RunInstances",
        "     |        ^~~~",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "expect deny ECS RunInstances when mfa = true and acs:mfapresent = false",
            "context key `acs:MFAPresent` given twice",
        ),
        ("expect deny ECS RunInstances when mfa = yes", "`yes` is not a boolean"),
        (
            "expect deny ECS RunInstances when time = 2026-01-01T00:00:00",
            "`2026-01-01T00:00:00` has no UTC offset",
        ),
        ("expect deny ecs:*", "`*` is a glob; expectations name concrete actions"),
        (
            "expect deny ECS Run?nstances",
            "`Run?nstances` is a glob; expectations name concrete actions",
        ),
        ("expect deny ECS", "unexpected end of line"),
        ("deny ECS RunInstances", "unexpected `deny`"),
    ],
    ids=[
        "duplicate-key",
        "bad-bool",
        "time-without-offset",
        "code-glob",
        "question-glob",
        "missing-operation",
        "missing-expect",
    ],
)
def test_bad_expectation_message(line, message):
    with pytest.raises(CompileError) as info:
        parse_tests("x.tests", line)
    assert info.value.diagnostics[0].message == message


# --- running -------------------------------------------------------------------------------


def test_tests_file_covers_every_rules_file_of_its_directory():
    run = run_tests([DATA / "two_policies"])
    (suite,) = run.suites
    assert [Path(p).name for p in suite.rules_files] == ["compute.rules", "data.rules"]
    assert run.ok and (run.passed, run.failed) == (9, 0)
    by_line = {r.expectation.line: r for r in suite.results}
    # `deny ECS Delete*` lives in data.rules and `deny ECS DeleteInstance…` in compute.rules:
    # both policies answer for the one request.
    policies = {ref.policy for ref, _ in by_line[3].rules}
    assert policies == {"compute", "data"}


def test_failing_expectation_names_line_and_rules():
    result = invoke(rel(DATA / "failing"))
    assert result.exit_code == 1
    out = result.stdout
    rules = "tests/data/policy_tests/failing/guardrails.rules"
    assert (
        "tests/data/policy_tests/failing/guardrails.tests:3:1: FAILED: "
        "expect allow ecs:RunInstances\n"
        "  expected allow; trie: deny, json: deny\n"
        "  matched rules:\n"
        f"    {rules}:1: deny ECS RunInstances  [trie, json]\n"
    ) in out
    # A deny that did not happen lists the rules of that service as candidates.
    assert (
        "tests/data/policy_tests/failing/guardrails.tests:2:1: FAILED: expect deny ECS "
        "StopInstance\n"
        "  expected deny; trie: allow, json: allow\n"
        "  no rule denied it; rules under `ecs`:\n"
        f"    {rules}:1: deny ECS RunInstances\n"
        f"    {rules}:2: deny ECS DeleteInstance when mfa = false\n"
    ) in out
    assert "context: acs:MFAPresent=true" in out
    assert out.splitlines()[-1] == "1 passed, 3 failed"


def _drop_action(action: str):
    def transform(docs):
        out = []
        for name, doc in docs:
            doc = json.loads(json.dumps(doc))
            for st in doc["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                st["Action"] = [a for a in actions if a != action] or ["nothing:Nothing"]
            out.append((name, doc))
        return out

    return transform


def _add_deny(action: str):
    def transform(docs):
        extra = {"Effect": "Deny", "Action": [action], "Resource": "*"}
        return [*docs, ("extra.json", {"Version": "1", "Statement": [extra]})]

    return transform


def test_engines_disagree_when_json_denies_less():
    run = run_tests([DATA / "failing"], transform_documents=_drop_action("ecs:RunInstances"))
    first = run.suites[0].results[0]  # expect deny ECS RunInstances
    assert (first.trie, first.json) == ("deny", "allow")
    assert first.failures == (
        "json engine decided allow, expected deny",
        "engines disagree: trie says deny, json says allow",
    )
    assert not first.passed


def test_engines_disagree_even_when_one_engine_is_right():
    run = run_tests([DATA / "two_policies"], transform_documents=_add_deny("ecs:DescribeInstances"))
    result = next(r for r in run.suites[0].results if r.expectation.line == 5)
    assert (result.trie, result.json) == ("allow", "deny")
    assert result.json_statements == ("extra.json#1",)
    assert "engines disagree: trie says allow, json says deny" in result.failures
    assert (run.passed, run.failed) == (8, 1)


def test_engines_disagree_in_cli_output(monkeypatch):
    import compiler.cli.cmd_test as cmd

    real = cmd.run_tests
    monkeypatch.setattr(
        cmd,
        "run_tests",
        lambda paths, **kw: real(paths, **kw, transform_documents=_drop_action("ecs:RunInstances")),
    )
    result = invoke(rel(DATA / "failing"))
    assert result.exit_code == 1
    assert (
        "guardrails.tests:1:1: FAILED: expect deny ECS RunInstances\n"
        "  expected deny; trie: deny, json: allow\n"
        "  engines disagree: the emitted JSON does not mean what the trie decides\n"
    ) in result.stdout


def test_rules_that_do_not_compile_are_reported():
    result = invoke(rel(DATA / "bad_rules"))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "tests/data/policy_tests/bad_rules/broken.rules:1:6: error: unknown service `ECZ`"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["tests/data/policy_tests/no_rules"],
            "tests/data/policy_tests/no_rules/lonely.tests: error: no *.rules files beside this "
            "tests file",
        ),
        (
            ["tests/data/policy_tests/nope"],
            "tests/data/policy_tests/nope: error: no such file or directory",
        ),
        (["compiler/emit"], "compiler/emit: error: no *.tests files found"),
        (
            ["policies/leaked-accesskey-protection.rules"],
            "policies/leaked-accesskey-protection.rules: error: not a *.tests file",
        ),
    ],
    ids=["no-rules-beside", "missing-path", "nothing-found", "rules-file-given"],
)
def test_nothing_to_run_is_an_error(args, message):
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == message


def test_bad_usage_exits_2():
    assert invoke("--format", "xml").exit_code == 2


# --- reports -------------------------------------------------------------------------------


def test_junit_counts_and_failures(tmp_path):
    out = tmp_path / "reports" / "junit.xml"
    result = invoke(rel(DATA / "failing"), rel(DATA / "two_policies"), "--junit", str(out))
    assert result.exit_code == 1
    root = ET.parse(out).getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "13",
        "3",
        "0",
    )
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    failing = suites["tests/data/policy_tests/failing/guardrails.tests"]
    assert (failing.get("tests"), failing.get("failures")) == ("4", "3")
    names = [c.get("name") for c in failing.iter("testcase")]
    assert names == [
        "line 1: expect deny ECS RunInstances",
        "line 2: expect deny ECS StopInstance",
        "line 3: expect allow ecs:RunInstances",
        "line 4: expect deny ECS DeleteInstance when mfa = true",
    ]
    failure = failing.findall("testcase")[2].find("failure")
    assert failure.get("message") == (
        "trie engine decided deny, expected allow; json engine decided deny, expected allow"
    )
    assert "guardrails.rules:1: deny ECS RunInstances" in failure.text
    assert failing.findall("testcase")[0].find("failure") is None
    assert suites["tests/data/policy_tests/two_policies/guardrails.tests"].get("failures") == "0"


def test_junit_escapes_user_text(tmp_path):
    rules = tmp_path / "g.rules"
    rules.write_text("deny ECS RunInstances when access_key in [AK1]\n")
    (tmp_path / "g.tests").write_text(
        'expect deny ECS RunInstances when access_key = "<AK1 & \\"x\\">"\n'
    )
    run = run_tests([tmp_path])
    assert run.failed == 1
    root = ET.fromstring(to_junit(run))
    case = root.find("testsuite/testcase")
    assert (
        case.get("name") == "line 1: expect deny ECS RunInstances when access_key = "
        '"<AK1 & \\"x\\">"'
    )
    assert 'acs:AccessId=<AK1 & "x">' in case.find("failure").text


def test_junit_reports_load_errors():
    run = run_tests([rel(DATA / "bad" / "glob.tests"), rel(DATA / "two_policies")])
    root = ET.fromstring(to_junit(run))
    assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("10", "1", "0")
    error = root.find("testsuite/testcase/error")
    assert error.get("message") == (
        "tests/data/policy_tests/bad/glob.tests:1:18: "
        "`*` is a glob; expectations name concrete actions"
    )
    assert "   1 | expect allow RAM *" in error.text


def test_json_format():
    result = invoke(rel(DATA / "failing"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"], data["errors"]) == (1, 3, [])
    third = data["files"][0]["results"][2]
    assert third["expectation"] == "expect allow ecs:RunInstances"
    assert (third["line"], third["expected"], third["trie"], third["json"]) == (
        3,
        "allow",
        "deny",
        "deny",
    )
    assert third["rules"][0]["line"] == 1
    assert third["rules"][0]["engines"] == ["trie", "json"]


# --- the seed policy -----------------------------------------------------------------------


def test_seed_tests_pass_via_cli(tmp_path):
    out = tmp_path / "junit.xml"
    result = invoke("--junit", str(out))  # default path: policies
    assert result.exit_code == 0, result.output
    # policies/ holds the seed's tests and the org baseline's (policies/org-baseline/).
    files = [SEED_TESTS, ROOT / "policies" / "org-baseline" / "org-baseline.tests"]
    n = sum(line.startswith("expect ") for f in files for line in f.read_text().splitlines())
    assert result.stdout.splitlines()[-1] == f"{n} passed, 0 failed"
    assert ET.parse(out).getroot().get("tests") == str(n)


def test_seed_tests_cover_every_denied_operation():
    tests = load_tests(SEED_TESTS)
    denied = {
        e.action.partition(":")[2].lower() for e in tests.expectations if e.expected == "deny"
    }
    policy = compile_rules([ROOT / "policies" / "leaked-accesskey-protection.rules"])
    ops = {op.lower() for r in policy.rules for op in r.operations if op != "*"}
    assert ops - denied == set()
    allowed = [e for e in tests.expectations if e.expected == "allow"]
    assert len(allowed) >= 15
    assert any(e.action == "ram:CreateSAMLProvider" for e in tests.expectations)
