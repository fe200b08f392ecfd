"""Issue 10, language core: resources, `except`, every operator family, tag/principal/quoted
keys — through parse, check, trie (against its all-rules oracle), emit, fmt and decide."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_sources
from compiler.cli import main
from compiler.decide.explain import explain
from compiler.language.format import format_source
from compiler.ram import RamEvaluator

# -- the trie decides (action, resource, context) as the plain scan does ---------------------

ACTIONS = [
    "ecs:DeleteInstance",
    "ecs:RunInstances",
    "ecs:DescribeInstances",
    "ram:GetUser",
    "ram:CreateUser",
    "sts:AssumeRole",
    "rds:DeleteDBInstance",
]
RESOURCES = [
    None,
    "acs:ecs:cn-hangzhou:123:instance/i-prod1",
    "acs:ecs:cn-shanghai:123:instance/i-core9",
    "acs:ecs:cn-beijing:123:instance/i-dev1",
    "acs:ECS:cn-hangzhou:123:instance/i-prod1",  # resources match case-sensitively
    "acs:rds:cn-hangzhou:123:dbinstance/rm-1",
]
ARN_PATTERNS = [
    "acs:ecs:*:*:instance/i-prod*",
    "acs:ecs:*:*:instance/i-core?",
    "acs:ecs:cn-hangzhou:*:*",
    "acs:*:*:*:*",
    "acs:ecs:*:123:instance/*",
]
CONDITIONS = [
    "resource_tag:env in [prod]",
    "resource_tag:env like [pr*]",
    "resource_tag:env in ignorecase [PROD]",
    "request_tag:owner not like [team-*]",
    "principal like [acs:ram:*:*:role/breakglass]",
    "vpc not like [vpc-*]",
    "vpc in [vpc-a]",
    "access_key not in ignorecase [ltai5ta]",
    "source_ip in [10.0.0.0/8]",
    "source_ip not in [192.168.0.0/16]",
    "mfa = false",
    "secure_transport = true",
    "time before 2026-06-01T08:00:00+08:00",
    "time at or after 2026-06-01T00:00:00Z",
    "time at 2026-06-01T00:00:00Z",
    "time not at 2026-06-01T00:00:00Z",
    '"ecs:tag/size" in [big]',
    'unchecked "acme:Count" in [x]',
    "resource_group in [rg-prod]",
    'unchecked "acme:Size" >= 10',
    'unchecked "acme:Size" != 3',
    'unchecked "acme:Size" < 2.5',
]
CONTEXT_VALUES = {
    "acs:ResourceTag/env": ["prod", "PROD", "dev", "pr", ""],
    "acs:RequestTag/owner": ["team-a", "alice"],
    "acs:PrincipalARN": ["acs:ram::1:role/breakglass", "acs:ram::1:user/bob"],
    "acs:SourceVpc": ["vpc-a", "vpc-b", "classic"],
    "acs:AccessId": ["LTAI5tA", "ltai5tb"],
    "acs:SourceIp": ["10.1.2.3", "192.168.1.1", "8.8.8.8", "Internal", "notanip"],
    "acs:MFAPresent": ["true", "false", "TRUE", "yes"],
    "acs:SecureTransport": ["true", "false"],
    "acs:CurrentTime": [
        "2026-06-01T00:00:00Z",
        "2026-05-31T23:59:59Z",
        "2026-06-01T08:00:00+08:00",
        "2027-01-01T00:00:00Z",
        "yesterday",
    ],
    "ecs:tag/size": ["big", "small"],
    "acme:Count": ["x", "y"],
    "acs:ResourceGroupId": ["rg-prod", "rg-dev"],
    "acme:Size": ["3", "10", "10.0", "2.4", "-1", "x", ""],
}


@st.composite
def rule_lines(draw) -> str:
    kind = draw(st.sampled_from(["ecs", "ecs", "all", "except", "region"]))
    if kind == "except":
        excepts = draw(
            st.lists(
                st.sampled_from(
                    ["sts:AssumeRole", "ram:Get*", "ecs:Describe*", "ecs:?unInstances"]
                ),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        line = f"deny * * except [{', '.join(excepts)}]"
    elif kind == "all":
        line = "deny * *"
    else:
        ops = draw(st.sampled_from(["DeleteInstance", "RunInstances", "Delete*", "*"]))
        line = f"deny ECS {ops}"
        if kind == "region":
            line += " in region [cn-hangzhou]"
        elif draw(st.booleans()):
            arns = draw(
                st.lists(st.sampled_from(ARN_PATTERNS), min_size=1, max_size=2, unique=True)
            )
            line += f" on [{', '.join(arns)}]"
    conds = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2, unique=True))
    keys = [c.split(" ")[0] for c in conds]
    if len(set(keys)) != len(keys):
        conds = conds[:1]
    if conds:
        line += f" {draw(st.sampled_from(['when', 'unless']))} " + " and ".join(conds)
    return line


@st.composite
def requests(draw):
    ctx = {}
    for key in draw(st.lists(st.sampled_from(sorted(CONTEXT_VALUES)), max_size=4, unique=True)):
        ctx[key] = draw(st.sampled_from(CONTEXT_VALUES[key]))
    return draw(st.sampled_from(ACTIONS)), draw(st.sampled_from(RESOURCES)), ctx


def _compile(lines: list[str]):
    return compile_sources([("p.rules", "\n".join(lines) + "\n")])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_lines(), min_size=1, max_size=5), st.lists(requests(), min_size=1, max_size=8))
def test_trie_agrees_with_all_rules_on_resources_except_and_operators(lines, reqs) -> None:
    """trie ≡ all_rules (its oracle) ≡ explain ≡ the RAM evaluator reading the emitted JSON,
    over resources (absent ones included), NotAction and every operator family, with absent
    and malformed values."""
    policy = _compile(lines)
    evaluator = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    for action, resource, ctx in reqs:
        got = policy.trie.decide(action, ctx, resource)
        assert got == policy.trie.all_rules(action, ctx, resource), (lines, action, resource, ctx)
        ram = evaluator.decide(action, ctx, resource)
        assert ram == got.decision, (lines, action, resource, ctx)
        assert policy.trie.denies(action, ctx, resource) == got.denied
        traced = explain(policy, action, ctx, resource=resource, all_rules=True).decision
        assert traced == got, (lines, action, resource, ctx)
        # A second ask is answered from the memo and must not change.
        assert policy.trie.decide(action, ctx, resource) == got


# -- decisions a user would check by hand ---------------------------------------------------

GUARDRAILS = """\
deny ECS DeleteInstance on acs:ecs:*:*:instance/i-prod*
deny ECS DeleteInstance when resource_tag:env in [prod]
deny * * except [ram:Get*, ecs:Describe*] unless principal like [acs:ram:*:*:role/breakglass]
deny RDS DeleteDBInstance when time at or after 2026-12-01T08:00:00+08:00
"""


@pytest.fixture(scope="module")
def guardrails():
    return compile_sources([("g.rules", GUARDRAILS)])


@pytest.mark.parametrize(
    ("action", "resource", "context", "lines"),
    [
        (
            "ecs:DeleteInstance",
            "acs:ecs:cn-hangzhou:1:instance/i-prod7",
            _breakglass := {"principal": "acs:ram::1:role/breakglass"},
            [1],
        ),
        ("ecs:DeleteInstance", "acs:ecs:cn-hangzhou:1:instance/i-dev7", _breakglass, []),
        (
            "ecs:DeleteInstance",
            "acs:ecs:cn-hangzhou:1:instance/i-dev7",
            {**_breakglass, "resource_tag:env": "prod"},
            [2],
        ),
        ("ecs:DescribeInstances", None, {}, []),
        ("ram:GetUser", None, {}, []),
        ("ram:CreateUser", None, {}, [3]),
        ("ram:CreateUser", None, _breakglass, []),
        ("rds:DeleteDBInstance", None, {**_breakglass, "time": "2026-12-01T00:00:00Z"}, [4]),
        ("rds:DeleteDBInstance", None, {**_breakglass, "time": "2026-11-30T23:59:59Z"}, []),
    ],
    ids=[
        "arn-glob",
        "other-arn",
        "tag",
        "except-describe",
        "except-get",
        "not-excepted",
        "breakglass",
        "time-offset-boundary",
        "before-time",
    ],
)
def test_guardrail_decisions(guardrails, action, resource, context, lines) -> None:
    got = guardrails.decide(action, context, resource)
    assert [m.line for m in got.matched] == lines


def test_unknown_resource_names_the_rules_it_could_not_decide(guardrails) -> None:
    got = guardrails.decide("ecs:DeleteInstance", {"principal": "acs:ram::1:role/breakglass"})
    assert got.decision == "allow"
    assert [m.line for m in got.resource_unknown] == [1]
    assert got.to_dict()["resource_unknown"][0]["line"] == 1


def test_emitted_statements_for_the_new_forms(guardrails) -> None:
    (doc,) = guardrails.ram_documents()
    by_first = {json.dumps(s.get("Action") or s.get("NotAction")): s for s in doc["Statement"]}
    assert by_first['["ecs:DeleteInstance"]']["Resource"] in (
        ["acs:ecs:*:*:instance/i-prod*"],
        "*",
    )
    arn = [s for s in doc["Statement"] if s["Resource"] != "*"]
    assert arn == [
        {
            "Effect": "Deny",
            "Action": ["ecs:DeleteInstance"],
            "Resource": ["acs:ecs:*:*:instance/i-prod*"],
        }
    ]
    (not_action,) = [s for s in doc["Statement"] if "NotAction" in s]
    assert not_action["NotAction"] == ["ecs:Describe*", "ram:Get*"]
    assert not_action["Condition"] == {
        "StringNotLike": {"acs:PrincipalARN": ["acs:ram:*:*:role/breakglass"]}
    }
    (timed,) = [s for s in doc["Statement"] if "DateGreaterThanEquals" in s.get("Condition", {})]
    assert timed["Condition"]["DateGreaterThanEquals"] == {
        "acs:CurrentTime": "2026-12-01T00:00:00Z"
    }


def test_region_shorthand_becomes_resource_patterns() -> None:
    policy = compile_sources(
        [("r.rules", "deny ECS DeleteInstance in region [cn-shanghai, cn-hangzhou]\n")]
    )
    (statement,) = policy.ram_documents()[0]["Statement"]
    assert statement["Resource"] == ["acs:ecs:cn-hangzhou:*:*", "acs:ecs:cn-shanghai:*:*"]


def test_except_under_one_service_expands_with_a_warning() -> None:
    policy = compile_sources([("e.rules", "deny ECS * except [ecs:Describe*]\n")])
    (statement,) = policy.ram_documents()[0]["Statement"]
    assert "Action" in statement and "NotAction" not in statement
    assert "ecs:DeleteInstance" in statement["Action"]
    assert not any(a.startswith("ecs:Describe") for a in statement["Action"])
    (w,) = [d for d in policy.warnings if d.code == "W0240"]
    assert "operations added to the service later are not covered" in w.message


def test_glob_in_an_equality_value_warns_and_suggests_like() -> None:
    policy = compile_sources([("v.rules", "deny * * when vpc in [vpc-*]\n")])
    (w,) = [d for d in policy.warnings if d.code == "W0230"]
    assert (w.span.line, w.span.col) == (1, 23)
    assert "like" in w.help


def test_unchecked_keys_take_their_kind_from_the_operator() -> None:
    policy = compile_sources(
        [
            (
                "n.rules",
                'deny ECS RunInstances when unchecked "acme:Count" > 5\n'
                'deny ECS DeleteInstance when unchecked "acme:Size" != 2.50\n'
                'deny ECS StopInstance when unchecked "acme:Flag" = TRUE\n',
            )
        ]
    )
    conds = {s["Action"][0]: s["Condition"] for s in policy.ram_documents()[0]["Statement"]}
    assert conds["ecs:RunInstances"] == {"NumericGreaterThan": {"acme:Count": "5"}}
    assert conds["ecs:DeleteInstance"] == {"NumericNotEquals": {"acme:Size": "2.5"}}
    assert conds["ecs:StopInstance"] == {"Bool": {"acme:Flag": "true"}}
    cases = [
        ("ecs:RunInstances", {"acme:Count": "6"}, True),
        ("ecs:RunInstances", {"acme:Count": "5"}, False),
        ("ecs:RunInstances", {"acme:Count": "5.0001"}, True),
        ("ecs:RunInstances", {"acme:Count": "lots"}, False),  # malformed: positive fails
        ("ecs:RunInstances", {"acme:Count": "inf"}, False),
        ("ecs:RunInstances", {}, False),
        ("ecs:DeleteInstance", {"acme:Size": "2.5"}, False),
        ("ecs:DeleteInstance", {"acme:Size": "3"}, True),
        ("ecs:DeleteInstance", {"acme:Size": "big"}, True),  # malformed: negated matches
        ("ecs:DeleteInstance", {}, True),  # absent: negated matches
    ]
    for action, ctx, denied in cases:
        assert policy.decide(action, ctx).denied is denied, (action, ctx)
        assert policy.trie.all_rules(action, ctx).denied is denied


def test_a_bad_number_is_an_error() -> None:
    with pytest.raises(CompileError) as info:
        compile_sources([("n.rules", 'deny ECS * when unchecked "acme:N" < five\n')])
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("E0244", 1, 38)
    assert "is not a number" in d.message


# -- bad inputs: FILE:LINE:COL, message, help; never a traceback ----------------------------

BAD = [
    (
        "double-equal",
        "deny ECS RunInstances when mfa == false\n",
        "1:32",
        "`==` is not an operator",
        "write `=`",
    ),
    (
        "or",
        "deny ECS RunInstances when mfa = true or vpc in [a]\n",
        "1:39",
        "unexpected `or`",
        "write two rules",
    ),
    (
        "key-case",
        "deny ECS RunInstances when MFA = false\n",
        "1:28",
        "unknown condition key `MFA`",
        "did you mean mfa?",
    ),
    (
        "bool-yes",
        "deny ECS RunInstances when mfa = yes\n",
        "1:34",
        "`yes` is not a boolean",
        "true or false",
    ),
    (
        "year-1-offset",
        "deny ECS * when time after 0001-01-01T00:00:00+01:00\n",
        "1:28",
        "outside the years 1 to 9999",
        "0001-01-01",
    ),
    (
        "year-9999-west",
        "deny ECS * when time after 9999-12-31T23:59:59.999999-01:00\n",
        "1:28",
        "outside the years 1 to 9999",
        "",
    ),
    (
        "no-offset",
        "deny ECS * when time after 2026-12-01T00:00:00\n",
        "1:28",
        "has no UTC offset",
        "+08:00",
    ),
    (
        "like-on-ip",
        "deny ECS * when source_ip like [10.*]\n",
        "1:27",
        "is an ip key and does not take `like`",
        "CIDR",
    ),
    ("lt-on-string", "deny ECS * when resource_tag:env < 5\n", "1:34", "does not take `<`", "like"),
    (
        "tag-family",
        "deny ECS * when bad_tag:env in [x]\n",
        "1:17",
        "is not a tag key family",
        "resource_tag:KEY",
    ),
    (
        "arn-prefix",
        "deny ECS DeleteInstance on ecs:instance/i-1\n",
        "1:28",
        "is not an ARN pattern",
        "acs:",
    ),
    (
        "arn-parts",
        "deny ECS DeleteInstance on acs:ecs:instance\n",
        "1:28",
        "is not an ARN pattern",
        "five parts",
    ),
    (
        "arn-service",
        "deny ECS DeleteInstance on acs:rds:*:*:x\n",
        "1:28",
        "names service `rds`",
        "acs:ecs:",
    ),
    (
        "arn-empty-resource",
        "deny ECS DeleteInstance on acs:ecs:*:*:\n",
        "1:28",
        "is not an ARN pattern",
        "resource part",
    ),
    (
        "region",
        "deny ECS DeleteInstance in region [CN_x]\n",
        "1:36",
        "is not a region ID",
        "cn-hangzhou",
    ),
    (
        "on-and-region",
        "deny ECS DeleteInstance on acs:ecs:*:*:* in region [cn-hangzhou]\n",
        "1:42",
        "unexpected `in`",
        "",
    ),
    (
        "except-not-action",
        "deny * * except [foo]\n",
        "1:18",
        "is not a RAM action",
        "CODE:Operation",
    ),
    (
        "except-glob-service",
        "deny E* * except [ecs:Describe*]\n",
        "1:19",
        "`except` needs `* *`",
        "NotAction",
    ),
    (
        "quoted-unknown-acs",
        'deny ECS * when "acs:SourceIpp" in [10.0.0.0/8]\n',
        "1:17",
        "unknown condition key",
        "did you mean acs:SourceIp?",
    ),
    (
        "quoted-other-service",
        'deny ECS * when "oss:Prefix" like [a]\n',
        "1:17",
        "is not a key of ECS",
        "unchecked",
    ),
    (
        "quoted-not-a-key",
        'deny ECS * when "Prefix" like [a]\n',
        "1:17",
        "is not a RAM condition key",
        "PREFIX:Name",
    ),
    (
        "number-list-single-op",
        "deny ECS * when time after [2026-01-01T00:00:00Z, 2027-01-01T00:00:00Z]\n",
        "1:29",
        "takes one value",
        "",
    ),
    ("unclosed-on", "deny ECS DeleteInstance on [acs:ecs:*:*:*\n", "1:28", "unclosed `[`", ""),
    (
        "arn-template-type",
        "deny SLS DeleteProject on acs:log:*:*:logstore/x\n",
        "1:27",
        "matches no resource of Sls DeleteProject",
        "acs:log:{#regionId}:{#accountId}:project/{#project}",
    ),
    (
        "unchecked-not-a-number",
        'deny ECS * when unchecked "ecs:Cores" < many\n',
        "1:41",
        "`many` is not a number",
        "e.g. 10 or 2.5",
    ),
    (
        "unchecked-not-a-key",
        'deny ECS * when unchecked "Cores" < 5\n',
        "1:27",
        "`Cores` is not a RAM condition key",
        "PREFIX:Name",
    ),
    ("bool-list", "deny ECS * when mfa = [true, false]\n", "1:24", "a boolean takes one value", ""),
    (
        "time-word",
        "deny ECS * when time after yesterday\n",
        "1:28",
        "`yesterday` is not a valid time",
        "ISO 8601",
    ),
    (
        "time-month-13",
        "deny ECS * when time at or before 2026-13-01T00:00:00Z\n",
        "1:35",
        "is not a valid time",
        "with an offset",
    ),
    (
        "cidr-prefix",
        "deny ECS * when source_ip in [10.0.0.0/33]\n",
        "1:31",
        "`10.0.0.0/33` is not a valid CIDR block",
        "10.0.0.0/8",
    ),
    ("like-on-bool", "deny ECS * when mfa like [t*]\n", "1:21", "does not take `like`", "= true"),
    (
        "ignorecase-on-ip",
        "deny ECS * when source_ip in ignorecase [10.0.0.0/8]\n",
        "1:27",
        "does not take `in ignorecase`",
        "in [CIDR, …]",
    ),
    (
        "time-word-on-string",
        "deny ECS * when vpc at 2026-01-01T00:00:00Z\n",
        "1:21",
        "is a string key and does not take `at`",
        "like",
    ),
    (
        "comparison-on-tag-family",
        'deny ECS * when "ecs:tag/env" < 3\n',
        "1:31",
        "is a string key and does not take `<`",
        "not like",
    ),
    ("empty-region-list", "deny ECS DeleteInstance in region []\n", "1:36", "unexpected `]`", ""),
    (
        "arn-with-space",
        'deny ECS DeleteInstance on "acs:ecs:*:*:instance/i 1"\n',
        "1:28",
        "is not an ARN pattern",
        "no spaces",
    ),
    ("empty-tag-key", "deny ECS * when resource_tag: in [x]\n", "1:29", "unexpected `:`", "`in`"),
    (
        "same-operator-twice",
        "deny ECS * when mfa = false unless mfa = false\n",
        "1:1",
        "tests `acs:MFAPresent` with Bool twice in one case",
        "one value list per operator and key",
    ),
    (
        "risk-low",
        "deny * * risk=low\n",
        "1:15",
        "`low` is not a risk tag ramguard can select",
        "risk=high",
    ),
    (
        "risk-with-except",
        "deny * * risk=high except [ram:Get*]\n",
        "1:15",
        "`risk=high` and `except` cannot be combined",
        "",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "message", "help_text"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_new_forms(tmp_path, text, where, message, help_text) -> None:
    path = tmp_path / "bad.rules"
    path.write_text(text)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{where}: error: "), first
    assert message in first
    assert help_text in result.stderr


def test_caret_sits_under_double_equal(tmp_path) -> None:
    path = tmp_path / "c.rules"
    path.write_text("deny ECS RunInstances when mfa == false\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.stderr.splitlines()[2].endswith(" " * 31 + "^~")


# -- fmt: every new form round-trips, comments kept, idempotent -----------------------------

FORMS = """\
# resources
deny ECS DeleteInstance   on   [acs:ecs:*:*:instance/i-prod*,acs:ecs:*:*:instance/i-core*]  # two
deny ECS DeleteInstance in region [ cn-hangzhou , cn-shanghai ]
deny * * except [sts:AssumeRole,
    ram:Get*]   # kept
deny ECS * when "ecs:tag/env"   like [pr*] and unchecked "acme:X" in ignorecase [a]
deny RDS * when time  at or after 2026-12-01T08:00:00+08:00 unless resource_group not in [rg-1]
"""


def test_fmt_round_trips_the_new_forms() -> None:
    once = format_source("f.rules", FORMS)
    assert format_source("f.rules", once) == once
    assert "# two" in once and "# kept" in once
    assert "on [acs:ecs:*:*:instance/i-prod*, acs:ecs:*:*:instance/i-core*]" in once
    assert "in region [cn-hangzhou, cn-shanghai]" in once
    assert 'when "ecs:tag/env" like [pr*] and unchecked "acme:X" in ignorecase [a]' in once
    before = compile_sources([("f.rules", FORMS)])
    after = compile_sources([("f.rules", once)])
    assert before.ram_documents() == after.ram_documents()


# -- decide: one value parser for rules, .tests and CLI contexts ----------------------------


def _decide(*args: str):
    return CliRunner().invoke(main, ["decide", "--rules", "g.rules", *args])


@pytest.fixture
def in_rules_dir(tmp_path, monkeypatch):
    (tmp_path / "g.rules").write_text(GUARDRAILS)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("mfa=yes", "is not a boolean"),
        ("time=yesterday", "is not a valid time"),
        ("source_ip=notanip", "is not an IP address"),
    ],
)
def test_cli_context_values_are_parsed_as_rules_are(in_rules_dir, pair, words) -> None:
    result = _decide("ecs:RunInstances", "-c", pair)
    assert result.exit_code == 2
    assert words in result.stderr
    assert "Traceback" not in result.output


def test_cli_decide_with_a_resource_and_a_tag(in_rules_dir) -> None:
    result = _decide(
        "ecs:DeleteInstance",
        "--resource",
        "acs:ecs:cn-hangzhou:123:instance/i-dev1",
        "-c",
        "resource_tag:env=prod",
        "-c",
        "principal=acs:ram::1:role/breakglass",
        "-c",
        "mfa=False",
        "-c",
        "time=2026-12-01T08:00:00+08:00",
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["resource"] == "acs:ecs:cn-hangzhou:123:instance/i-dev1"
    assert [m["line"] for m in got["matched"]] == [2]


def test_cli_decide_warns_on_an_action_outside_the_catalog(in_rules_dir) -> None:
    result = _decide("ecs:DeleteInstanse")
    assert result.exit_code == 0
    assert "did you mean ecs:DeleteInstance?" in result.stderr
    assert json.loads(result.stdout)["action"] == "ecs:DeleteInstanse"


def test_python_context_values_are_converted_one_documented_way(guardrails) -> None:
    when = datetime(2026, 12, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    at = guardrails.decide("rds:DeleteDBInstance", {"time": when})
    assert [m.line for m in at.matched] == [3, 4]
    assert guardrails.decide("ram:CreateUser", {"mfa": False}).denied
    for bad in (math.nan, math.inf, datetime(2026, 1, 1), object()):
        with pytest.raises(ValueError):
            guardrails.decide("rds:DeleteDBInstance", {"time": bad})
    assert guardrails.decide(
        "rds:DeleteDBInstance", {"time": datetime(2027, 1, 1, tzinfo=UTC)}
    ).denied


# -- the examples: issue 10's guardrails, fresh and tested on both engines -------------------

EXAMPLES = __import__("pathlib").Path(__file__).parent.parent / "examples"


def test_examples_are_fresh_and_their_tests_pass() -> None:
    runner = CliRunner()
    fresh = runner.invoke(
        main, ["compile", str(EXAMPLES), "--out", str(EXAMPLES / "generated"), "--check"]
    )
    assert fresh.exit_code == 0, fresh.output
    tested = runner.invoke(main, ["test", str(EXAMPLES / "guardrails")])
    assert tested.exit_code == 0, tested.output
    assert "17 passed, 0 failed" in tested.output


# -- ARN templates: a pattern no template of the action can match is an error ---------------


def test_arn_patterns_are_checked_against_the_catalog_templates(monkeypatch) -> None:
    import compiler.model.resolve_resources as resolve_resources

    templates = {"DeleteInstance": ("acs:ecs:{#regionId}:{#accountId}:instance/{#instanceId}",)}
    monkeypatch.setattr(resolve_resources, "arn_templates", lambda svc, op: templates.get(op))
    ok = compile_sources(
        [("a.rules", "deny ECS DeleteInstance on acs:ecs:*:*:instance/i-?prod*\n")]
    )
    assert ok.rules[0].resources == ("acs:ecs:*:*:instance/i-?prod*",)
    # No template for RunInstances: any well-formed ARN is accepted.
    compile_sources([("b.rules", "deny ECS RunInstances on acs:ecs:*:*:whatever/x\n")])
    with pytest.raises(CompileError) as info:
        compile_sources([("c.rules", "deny ECS DeleteInstance on acs:ecs:*:*:disk/d-1\n")])
    (d,) = info.value.diagnostics
    assert d.code == "E0262" and (d.span.line, d.span.col) == (1, 28)
    assert "acs:ecs:{#regionId}:{#accountId}:instance/{#instanceId}" in d.help


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("acs:ecs:*:*:instance/i-prod*", "acs:ecs:*:*:instance/*", True),
        ("acs:ecs:*:*:disk/*", "acs:ecs:*:*:instance/*", True),  # `*` spans separators
        ("acs:ecs:*:*:disk/*", "acs:ecs:\x00:\x00:instance/\x00", False),  # one ID each
        ("acs:ecs:*:*:instance/i-*", "acs:ecs:\x00:\x00:instance/\x00", True),
        ("acs:ecs:*:*:instance/a/b", "acs:ecs:\x00:\x00:instance/\x00", False),
        ("a?c", "*b*", True),
        ("abc", "ABC", False),  # case-sensitive
        ("*x", "y*", True),
        ("x" * 200 + "*", "*" + "y" * 200, True),
        ("a*b*c*d", "a?", False),
    ],
)
def test_globs_intersect(a, b, meet) -> None:
    from compiler.model.glob import globs_intersect

    assert globs_intersect(a, b) is meet
    assert globs_intersect(b, a) is meet


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_lines(), min_size=1, max_size=4), st.sampled_from(["  ", "\t", " "]))
def test_fmt_is_idempotent_on_random_new_forms(lines, gap) -> None:
    text = "\n".join(line.replace(" ", gap, 3) + "  # c" for line in lines) + "\n"
    once = format_source("p.rules", text)
    assert format_source("p.rules", once) == once
    assert once.count("# c") == len(lines)
    assert (
        _compile([ln for ln in once.splitlines()]).ram_documents()
        == _compile([ln for ln in text.splitlines()]).ram_documents()
    )


def test_service_keys_are_checked_against_the_catalog(monkeypatch) -> None:
    import compiler.model.resolve_conditions as resolve_conditions

    listed = {"ecs:tag/<tag-key>": "string", "ecs:Count": "number"}
    monkeypatch.setattr(resolve_conditions, "service_keys", lambda svc: listed)
    ok = compile_sources(
        [("k.rules", 'deny ECS * when "ecs:tag/env" in [prod] and "ecs:count" > 3\n')]
    )
    (cond,) = {c for conj in ok.rules[0].conditions for c in conj if c.key == "ecs:Count"}
    assert cond.operator == "NumericGreaterThan"
    with pytest.raises(CompileError) as info:
        compile_sources([("k.rules", 'deny ECS * when "ecs:Cuont" > 3\n')])
    assert info.value.diagnostics[0].help == "did you mean ecs:Count?"


def test_catalog_templates_and_types_are_read_in_their_spellings() -> None:
    from compiler.model.catalog_access import PLACEHOLDER, kind_name, template_glob

    ph = PLACEHOLDER
    assert template_glob("acs:ecs:{#regionId}:{#accountId}:instance/{#instanceId}") == (
        f"acs:ecs:{ph}:{ph}:instance/{ph}"
    )
    assert template_glob("acs:oss:*:${AccountId}:<bucket>/*") == f"acs:oss:*:{ph}:{ph}/*"
    types = ("String", "Boolean", "Numeric", "Date", "IPAddress")
    assert [kind_name(t) for t in types] == ["string", "bool", "number", "time", "ip"]
