"""The Cedar target: the translation's text, and cedarpy deciding what the trie decides."""

from __future__ import annotations

import random

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.emit.cedar import cedar_context, cedar_policies, cedar_request
from compiler.language.diagnostics import CompileError

GOLDEN = [
    (
        "literal-and-glob",
        "deny ECS [RunInstances, DeleteInstance]\ndeny RDS Delete*\n",
        [
            'when { ["ecs:deleteinstance", "ecs:runinstances"].contains(context.action) };',
            'when { context.action like "rds:delete*" };',
        ],
    ),
    (
        "ip-not-in-and-mfa",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8] and mfa = false\n",
        [
            'when { context.action == "ecs:runcommand" && (context has mfa && context.mfa == '
            "false) && (!(context has source_ip) || "
            '!(context.source_ip.isInRange(ip("10.0.0.0/8")))) };'
        ],
    ),
    (
        "unless-conjunction-is-a-disjunction",
        "deny RAM CreateUser unless source_ip in [10.0.0.0/8] and secure_transport = true\n",
        [
            'when { context.action == "ram:createuser" && ((context has secure_transport && '
            "context.secure_transport == false) || (!(context has source_ip) || "
            '!(context.source_ip.isInRange(ip("10.0.0.0/8"))))) };'
        ],
    ),
    (
        "time-as-microseconds",
        "deny RDS DeleteDBInstance when time after 2026-12-01T00:00:00Z\n",
        [
            'when { context.action == "rds:deletedbinstance" && (context has time_us && '
            "context.time_us > 1796083200000000) };"
        ],
    ),
    (
        "access-key-any-action",
        "deny * * when access_key in [LTAI5tB, LTAI5tA]\n",
        [
            'when { (context has access_key && ["LTAI5tA", "LTAI5tB"]'
            ".contains(context.access_key)) };"
        ],
    ),
]


@pytest.mark.parametrize(("rules", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_translation(compile_text, rules, expected):
    policy = compile_text(rules)
    (cedar,) = cedar_policies(policy.policies)
    assert cedar.filename == "t.cedar"
    whens = [line for line in cedar.text.splitlines() if line.startswith("when")]
    assert whens == expected
    assert cedar.text.rstrip().endswith("permit (principal, action, resource);")


def test_question_mark_is_an_error_naming_the_rule(compile_text):
    policy = compile_text("deny ECS RunInstances\ndeny ECS Delete?nstance\n")
    with pytest.raises(CompileError) as info:
        cedar_policies(policy.policies, policy.sources)
    (diag,) = info.value.diagnostics
    assert diag.render().startswith(
        "t.rules:2:1: error: `ecs:Delete?nstance` uses `?`, which Cedar cannot express"
    )


CONTEXTS = [
    ({}, {}),
    # Values are read as the trie reads them (reviewer finding 2): a padded address or time
    # is none, a time without an offset is UTC, a scoped IPv6 address is its address.
    ({"source_ip": " 10.1.2.3 "}, {}),
    ({"source_ip": "10.1.2.3"}, {"source_ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}}),
    ({"source_ip": "fe80::1%eth0"}, {"source_ip": {"__extn": {"fn": "ip", "arg": "fe80::1"}}}),
    ({"time": " 2026-12-01T00:00:00Z"}, {}),
    ({"time": "2026-12-02"}, {"time_us": 1796169600000000}),
    ({"acs:SourceIp": "Internal"}, {}),
    ({"mfa": "TRUE", "secure_transport": False}, {"mfa": True, "secure_transport": False}),
    ({"mfa": "maybe"}, {}),
    ({"time": "2026-12-01T00:00:00.000001Z"}, {"time_us": 1796083200000001}),
    ({"time": "2026-12-01T00:00:00"}, {"time_us": 1796083200000000}),
    # A number or boolean for a string key is the text the trie's string operators read.
    ({"vpc": "vpc-a", "access_key": 7}, {"vpc": "vpc-a", "access_key": "7"}),
    ({"principal": True, "access_key": [1]}, {"principal": "true"}),
]


@pytest.mark.parametrize(("given", "expected"), CONTEXTS, ids=[str(c[0]) for c in CONTEXTS])
def test_request_context_keeps_only_values_that_parse(given, expected):
    assert cedar_context(given) == expected


POLICY = """\
deny ECS [RunInstances, DeleteInstance]
deny RDS Delete*
deny ECS RunCommand when source_ip not in [10.0.0.0/8, 192.168.0.0/16] and mfa = false
deny RAM * unless secure_transport = true
deny RAM CreateUser unless source_ip in [10.0.0.0/8] and mfa = true
deny RDS DescribeDBInstances when time after 2026-03-05T00:00:00Z
deny ECS DescribeInstances when vpc not in [vpc-a]
deny * * when access_key in [LTAI5tLeaked]
"""
ACTIONS = [
    "ecs:RunInstances",
    "ECS:deleteinstance",
    "rds:DeleteDBInstance",
    "rds:DescribeDBInstances",
    "ecs:RunCommand",
    "ram:CreateUser",
    "ram:ListUsers",
    "ecs:DescribeInstances",
    "sms:SendSms",
    "ecs:*",
    "rds:Delete",
]


def _contexts(n: int):
    rng = random.Random(7)
    for _ in range(n):
        ctx: dict[str, object] = {}
        if rng.random() < 0.8:
            ctx["acs:SourceIp"] = rng.choice(
                ["10.0.0.1", "192.168.3.4", "47.96.1.1", "Internal", "::1", "2001:db8::1"]
            )
        if rng.random() < 0.8:
            ctx["acs:MFAPresent"] = rng.choice([True, False, "true", "false", "junk"])
        if rng.random() < 0.8:
            ctx["acs:SecureTransport"] = rng.choice([True, False])
        if rng.random() < 0.8:
            ctx["acs:CurrentTime"] = rng.choice(
                ["2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z", "2026-03-05T00:00:01Z", "bad"]
            )
        if rng.random() < 0.5:
            ctx["acs:SourceVpc"] = rng.choice(["vpc-a", "vpc-b"])
        if rng.random() < 0.5:
            ctx["acs:AccessId"] = rng.choice(["LTAI5tLeaked", "LTAI5tFine"])
        yield ctx


def _cedar_denies(policy, requests):
    texts = [c.text for c in cedar_policies(policy.policies)]
    policies = cedarpy.PolicySet.from_str("\n".join(texts))
    entities = cedarpy.Entities.from_json_str("[]")
    results = cedarpy.is_authorized_batch(
        [cedar_request(a, c) for a, c in requests], policies, entities
    )
    assert all(not r.diagnostics.errors for r in results)
    return [r.decision == cedarpy.Decision.Deny for r in results]


def test_cedar_agrees_with_the_trie_on_conditional_rules(compile_text):
    policy = compile_text(POLICY)
    requests = [(a, c) for c in _contexts(60) for a in ACTIONS]
    trie = [policy.trie.decide(a, c).denied for a, c in requests]
    assert 0 < sum(trie) < len(trie)  # both answers occur, so agreement means something
    assert _cedar_denies(policy, requests) == trie


def test_cedar_agrees_with_the_trie_on_the_seed_policy(repo):
    from compiler import compile_rules
    from compiler.catalog import default_catalog

    policy = compile_rules([repo / "policies" / "leaked-accesskey-protection.rules"])
    actions = default_catalog().actions()[::3]
    requests = [(a.upper() if i % 2 else a, None) for i, a in enumerate(actions)]
    trie = [policy.decide(a).denied for a, _ in requests]
    assert 0 < sum(trie) < len(trie)
    assert _cedar_denies(policy, requests) == trie


def test_compile_target_cedar_writes_cedar_files(run_cli, repo, tmp_path):
    result = run_cli(
        "compile",
        repo / "policies" / "leaked-accesskey-protection.rules",
        "--target",
        "cedar",
        "--out",
        tmp_path,
        "-q",
    )
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".ramguard-outputs", "leaked-accesskey-protection.cedar"]
    again = run_cli(
        "compile",
        repo / "policies" / "leaked-accesskey-protection.rules",
        "--target",
        "cedar",
        "--out",
        tmp_path,
        "--check",
        "-q",
    )
    assert again.exit_code == 0


def test_compile_target_cedar_refuses_question_mark(run_cli, tmp_path):
    rules = tmp_path / "q.rules"
    rules.write_text("deny ECS Delete?nstance\n")
    result = run_cli("compile", rules, "--target", "cedar", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "q.rules:1:1: error: `ecs:Delete?nstance` uses `?`" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "path, header",
    [
        ("t.rules", 'policy p "guard\\nforbid (principal, action, resource);"\n'),
        ("x\rforbid (principal, action, resource);\r//.rules", "policy p\n"),
        ("x\u2028forbid (principal, action, resource);\u2028//.rules", "policy p\n"),
        ("x\nforbid (principal, action, resource);\n//.rules", "policy p\n"),
    ],
    ids=["lf-in-description", "cr-in-file-name", "u2028-in-file-name", "lf-in-file-name"],
)
def test_newline_in_description_or_file_name_cannot_start_a_cedar_policy(
    compile_text, path, header
):
    # Issue 16 F4: the description and file name are written in `//` comments; a line break
    # in them used to end the comment and start a live `forbid` that denied everything.
    policy = compile_text(header + "deny ECS RunInstances\n", path)
    requests = [
        ("ecs:RunInstances", None),
        ("ecs:DescribeInstances", None),
        ("oss:GetObject", None),
    ]
    trie = [policy.decide(a).denied for a, _ in requests]
    assert trie == [True, False, False]
    assert _cedar_denies(policy, requests) == trie
    text = cedar_policies(policy.policies)[0].text
    live = [line for line in text.splitlines() if not line.startswith("//")]
    assert sum(line.startswith("forbid") for line in live) == 1


# --- principal patterns, resources and `except` (issue 12: the org baseline in Cedar) ------

RD = "acs:ram:*:*:role/resourcedirectoryaccountaccessrole"
PRINCIPALS = [
    None,
    "acs:ram::1234567890123456:role/resourcedirectoryaccountaccessrole",
    "acs:ram::1234567890123456:role/ResourceDirectoryAccountAccessRole",  # case matters
    "acs:ram::1234567890123456:role/resourcedirectoryaccountaccessrole-x",
    "acs:ram::1234567890123456:user/alice",
    "acs:ram::1234567890123456:root",
    True,  # a boolean for a string key: the trie reads `true`, so does the Cedar context
]
RESOURCES = [
    None,
    "acs:ram::1234567890123456:role/ResourceDirectoryAccountAccessRole",
    "acs:ram::1234567890123456:role/resourcedirectoryaccountaccessrole",
    "acs:ecs:ap-southeast-1:1234567890123456:instance/i-1",
    "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1",
    "acs:oss:*:1234567890123456:bucket",
]
BASELINE_ACTIONS = [
    "resourcemanager:DeleteAccount",
    "ram:DeleteRole",
    "RAM:deleterole",
    "ram:CreateAccessKey",
    "ram:ListUsers",
    "ecs:RunInstances",
    "sts:AssumeRole",
    "kms:DisableKey",
    "oss:PutBucketAcl",
]


def _baseline_requests():
    rng = random.Random(12)
    for action in BASELINE_ACTIONS:
        for principal in PRINCIPALS:
            for resource in RESOURCES:
                ctx: dict[str, object] = {}
                if principal is not None:
                    ctx["acs:PrincipalARN"] = principal
                if rng.random() < 0.7:
                    ctx["acs:MFAPresent"] = rng.choice([True, False])
                if rng.random() < 0.7:
                    ctx["acs:SecureTransport"] = rng.choice([True, False])
                yield action, ctx, resource


def _cedar_denies_on(policy, requests):
    texts = [c.text for c in cedar_policies(policy.policies)]
    policies = cedarpy.PolicySet.from_str("\n".join(texts))
    entities = cedarpy.Entities.from_json_str("[]")
    results = cedarpy.is_authorized_batch(
        [cedar_request(a, c, r) for a, c, r in requests], policies, entities
    )
    assert all(not r.diagnostics.errors for r in results)
    return [r.decision == cedarpy.Decision.Deny for r in results]


def test_cedar_agrees_with_the_trie_on_the_org_baseline(repo):
    # Principal exemptions (StringNotLike acs:PrincipalARN), `principal like` (StringLike),
    # `on [...]`, `in region [...]` and `except [...]` all in one real policy.
    from compiler import compile_rules

    policy = compile_rules([repo / "policies" / "org-baseline"])
    requests = list(_baseline_requests())
    trie = [policy.decide(a, c, r).denied for a, c, r in requests]
    assert 0 < sum(trie) < len(trie)
    assert _cedar_denies_on(policy, requests) == trie


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            f"deny RAM DeleteRole unless principal like [{RD}]\n",
            'when { context.action == "ram:deleterole" && (!(context has principal) || '
            f'!(context.principal like "{RD}")) }};',
        ),
        (
            "deny RAM CreateAccessKey when principal like [acs:ram:*:*:root, *:user/b*]\n",
            'when { context.action == "ram:createaccesskey" && (context has principal && '
            '(context.principal like "*:user/b*" || context.principal like "acs:ram:*:*:root")) };',
        ),
        (
            "deny ECS Delete* on [acs:ecs:*:*:instance/prod-*]\n",
            'when { context.action like "ecs:delete*" && (context has resource && '
            '(context.resource like "acs:ecs:*:*:instance/prod-*")) };',
        ),
        (
            "deny * * except [ram:*, sts:AssumeRole]\n",
            'when { !(context.action == "sts:assumerole" || context.action like "ram:*") };',
        ),
    ],
    ids=["not-like-exemption", "like", "on-resource", "except"],
)
def test_principal_patterns_resources_and_except_translate(compile_text, rules, expected):
    (cedar,) = cedar_policies(compile_text(rules).policies)
    assert [line for line in cedar.text.splitlines() if line.startswith("when")] == [expected]


def test_compile_target_cedar_takes_the_org_baseline(run_cli, repo, tmp_path):
    result = run_cli("compile", repo / "policies", "--target", "cedar", "--out", tmp_path, "-q")
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "org-baseline.cedar").read_text(encoding="utf-8")
    assert text.count("forbid (principal, action, resource)") == 11
    cedarpy.PolicySet.from_str(text)  # Cedar parses what was written


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "deny RAM DeleteRole unless principal like [acs:ram:*:*:role/admin?]",
            "error: `acs:ram:*:*:role/admin?` uses `?`, which Cedar cannot express: its "
            "`like` has only `*`",
        ),
        (
            "deny ECS DeleteInstance on [acs:ecs:*:*:instance/i-?]",
            "error: `acs:ecs:*:*:instance/i-?` uses `?`, which Cedar cannot express",
        ),
        (
            "deny RAM DeleteRole when principal in ignorecase [acs:ram::1:role/Admin]",
            "error: Cedar output cannot state the StringEqualsIgnoreCase operator: Cedar has no "
            "case-insensitive comparison or case folding",
        ),
    ],
    ids=["question-mark-in-principal", "question-mark-in-resource", "ignorecase"],
)
def test_what_cedar_cannot_express_is_refused_at_the_rule(run_cli, tmp_path, rule, message):
    rules = tmp_path / "x.rules"
    rules.write_text(f"deny ECS RunInstances\n{rule}\n", encoding="utf-8")
    result = run_cli("compile", rules, "--target", "cedar", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{rules}:2:1: {message}"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# -- the three engines on the value shapes a trace can hold (reviewer finding 2) -------------

ODD_IPS = [
    "10.0.0.1",
    " 10.0.0.1",
    "10.0.0.1\n",
    "::ffff:10.0.0.1",
    "fe80::1%eth0",
    "fe80::1",
    "2001:db8::1%1",
    "Internal",
    "",
]
ODD_TIMES = [
    "2026-12-01T00:00:01Z",
    "2026-12-01T00:00:01",
    " 2026-12-01T00:00:01Z",
    "2026-12-01T00:00:01Z ",
    "2026-12-01",
    "2026-12-02",
    "2026-11-30T23:59:59-00:30",
    "2026-12-01T00:00:00.000001+00:00",
    "0001-01-01T00:00:00+00:01",
    "bad",
]
ODD_BOOLS = ["true", "TRUE", " true", "false", "False", "1", True, False]
ODD_CONDITIONS = [
    "source_ip in [10.0.0.0/8]",
    "source_ip not in [10.0.0.0/8, fe80::/10]",
    "source_ip in [fe80::/10, 2001:db8::/32]",
    "time after 2026-12-01T00:00:00Z",
    "time before 2026-12-01T00:00:00Z",
    "mfa = true",
    "secure_transport = false",
]


@st.composite
def _odd_policy(draw) -> str:
    lines = []
    for op in ("RunInstances", "StopInstance", "DeleteInstance"):
        # One condition per key: a rule testing one key twice is refused.
        conds = draw(
            st.lists(
                st.sampled_from(ODD_CONDITIONS),
                min_size=1,
                max_size=3,
                unique_by=lambda c: c.split()[0],
            )
        )
        word = draw(st.sampled_from(["when", "unless"]))
        lines.append(f"deny ECS {op} {word} " + " and ".join(conds))
    return "\n".join(lines) + "\n"


@st.composite
def _odd_context(draw) -> dict:
    ctx: dict[str, object] = {}
    if draw(st.booleans()):
        ctx["acs:SourceIp"] = draw(st.sampled_from(ODD_IPS))
    if draw(st.booleans()):
        ctx["acs:CurrentTime"] = draw(st.sampled_from(ODD_TIMES))
    if draw(st.booleans()):
        ctx["acs:MFAPresent"] = draw(st.sampled_from(ODD_BOOLS))
    if draw(st.booleans()):
        ctx["acs:SecureTransport"] = draw(st.sampled_from(ODD_BOOLS))
    return ctx


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_odd_policy(), contexts=st.lists(_odd_context(), min_size=1, max_size=12))
def test_trie_json_and_cedar_read_odd_values_alike(text, contexts):
    # Padded addresses and times, times without an offset or a time of day, scoped and
    # IPv4-mapped IPv6 addresses: Cedar read some of them otherwise than the trie (it
    # stripped, dropped naive times, and answered NoDecision on a zone id).
    from compiler import compile_sources
    from compiler.ram import RamEvaluator

    policy = compile_sources([("odd.rules", text)])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    requests = [(f"ecs:{op}", c) for c in contexts for op in ("RunInstances", "StopInstance")]
    trie = [policy.decide(a, c).denied for a, c in requests]
    assert trie == [ram.decide(a, c) == "deny" for a, c in requests], text
    assert _cedar_denies(policy, requests) == trie, text
