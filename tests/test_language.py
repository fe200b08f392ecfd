"""Every form of the rules language parses, and means what DESIGN.md says it means."""

from __future__ import annotations

import pytest

from compiler import CompileError
from compiler.catalog import default_catalog
from compiler.language.parser import parse_text
from compiler.model.ir import Condition

IP = "acs:SourceIp"
MFA = "acs:MFAPresent"
TLS = "acs:SecureTransport"
TIME = "acs:CurrentTime"
VPC = "acs:SourceVpc"
AK = "acs:AccessId"
T0 = "2026-12-01T00:00:00Z"


# --- forms → RAM action patterns ------------------------------------------------------------

FORMS = [
    ("positional", "deny ECS RunInstances", [("ecs:RunInstances",)]),
    ("keyword", "deny service=RAM op=*", [("ram:*",)]),
    ("keyword-spaced", "deny service = ECS op = RunInstances", [("ecs:RunInstances",)]),
    (
        "several-ops",
        "deny ECS RunInstances, CreateInstance",
        [("ecs:CreateInstance", "ecs:RunInstances")],
    ),
    (
        "keyword-several-ops",
        "deny service=ECS op=RunInstances, CreateInstance",
        [("ecs:CreateInstance", "ecs:RunInstances")],
    ),
    (
        "keyword-bracketed",
        "deny service=ECS op=[RunInstances, CreateInstance]",
        [("ecs:CreateInstance", "ecs:RunInstances")],
    ),
    (
        "bracketed-multiline-trailing-comma-comments",
        "deny ECS [            # the list may span lines\n"
        "  DeleteInstance, DeleteInstances,   # a comment inside\n"
        "  # a comment line inside\n"
        "\n"
        "  DeleteSnapshot,\n"
        "]",
        [("ecs:DeleteInstance", "ecs:DeleteInstances", "ecs:DeleteSnapshot")],
    ),
    ("glob-op-suffix", "deny RDS Delete*", [("rds:Delete*",)]),
    ("glob-op-anywhere", "deny ECS ?un*nstance?", [("ecs:?un*nstance?",)]),
    # Service globs match every service name and alias of the whole cloud: Cloud Phone is `ECP`.
    (
        "glob-service-question",
        "deny EC? Delete*",
        [("cloudphone:Delete*", "ecd:Delete*", "eci:Delete*", "ecs:Delete*")],
    ),
    ("glob-service-alias", "deny Sm? Send*", [("dysms:Send*", "mns:Send*", "smc:Send*")]),
    ("glob-service-star-suffix", "deny PT* Start*", [("pts:Start*",)]),
    ("every-service-every-op", "deny * *", [("*",)]),
    ("every-service-one-op", "deny * RunInstances", [("*:RunInstances",)]),
    ("service-lowercase", "deny ram *", [("ram:*",)]),
    ("service-mixed-case", "deny Ecs RunInstances", [("ecs:RunInstances",)]),
    ("service-alias", "deny dysms SendSms", [("dysms:SendSms",)]),
    ("op-lowercase-canonicalised", "deny ECS runinstances", [("ecs:RunInstances",)]),
    ("op-uppercase-canonicalised", "deny ECS RUNINSTANCES", [("ecs:RunInstances",)]),
    ("version-at", "deny PTS@2019-08-10 StartJMeterTesting", [("pts:StartJMeterTesting",)]),
    (
        "version-keyword",
        "deny service=PTS version=2019-08-10 op=StartJMeterTesting",
        [("pts:StartJMeterTesting",)],
    ),
    (
        "version-at-keyword-form",
        "deny service=PTS@2020-10-20 op=StartPtsScene",
        [("pts:StartPtsScene",)],
    ),
    (
        "two-rules-with-comments",
        "# leading comment\n\ndeny ECS RunInstances   # trailing comment\n# between\ndeny RAM *\n",
        [("ecs:RunInstances",), ("ram:*",)],
    ),
    (
        "crlf-line-ends",
        "deny ECS RunInstances\r\ndeny ECS CreateInstance\r\n",
        [("ecs:RunInstances",), ("ecs:CreateInstance",)],
    ),
    ("no-final-newline", "deny ECS RunInstances", [("ecs:RunInstances",)]),
]


@pytest.mark.parametrize(("source", "actions"), [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_form_resolves_to_ram_actions(compile_text, source, actions):
    policy = compile_text(source)
    assert [r.actions for r in policy.rules] == actions
    assert all(r.conditions == ((),) for r in policy.rules)


def test_operations_keep_catalog_spelling(compile_text):
    rule = compile_text("deny ecs runinstances, CREATEINSTANCE").rules[0]
    assert rule.service == "ECS"
    assert rule.operations == ("RunInstances", "CreateInstance")


def test_versions_are_recorded_and_warned_about(compile_text):
    policy = compile_text(
        "deny PTS@2019-08-10 StartJMeterTesting\n"
        "deny service=PTS version=2020-10-20 op=StartPtsScene\n"
        "deny PTS StartPtsScene\n"
    )
    assert [r.version for r in policy.rules] == ["2019-08-10", "2020-10-20", None]
    warned = [(w.code, w.span.line) for w in policy.warnings]
    assert warned == [("W0201", 1), ("W0201", 2)]
    assert "every version of PTS" in policy.warnings[0].message


def test_version_scopes_the_catalog_check(compile_text):
    # StartPtsScene exists only in PTS 2020-10-20.
    compile_text("deny PTS@2020-10-20 StartPtsScene")
    with pytest.raises(CompileError) as info:
        compile_text("deny PTS@2019-08-10 StartPtsScene")
    assert "it is in version 2020-10-20" in str(info.value)


# --- header, comments -----------------------------------------------------------------------

HEADERS = [
    (
        "with-description",
        'policy guard "Deny risky things"\ndeny ECS RunInstances',
        "guard",
        "Deny risky things",
    ),
    ("without-description", "policy guard\ndeny ECS RunInstances", "guard", None),
    (
        "escaped-description",
        'policy guard "say \\"no\\" \\\\ done"\ndeny ECS RunInstances',
        "guard",
        'say "no" \\ done',
    ),
    ("after-comments", '# c\n\n# d\npolicy guard "x"\ndeny ECS RunInstances', "guard", "x"),
    ("default-is-file-stem", "deny ECS RunInstances", "my-guard", None),
]


@pytest.mark.parametrize(
    ("source", "name", "description"), [h[1:] for h in HEADERS], ids=[h[0] for h in HEADERS]
)
def test_policy_header(compile_text, source, name, description):
    policy = compile_text(source, "dir/my-guard.rules")
    (only,) = policy.policies
    assert (only.name, only.description) == (name, description)
    assert policy.documents[0].filename == f"{name}.json"


def test_comments_are_kept_with_positions():
    parsed = parse_text("c.rules", "# one\ndeny ECS RunInstances  # two\n")
    assert [(c.text, c.span.line, c.span.col) for c in parsed.comments] == [
        ("# one", 1, 1),
        ("# two", 2, 24),
    ]
    assert len(parsed.rules) == 1


def test_rule_positions_point_at_the_deny(compile_text):
    policy = compile_text("# c\n\n  deny ECS RunInstances\ndeny RAM *\n")
    assert [(r.line, r.span.col) for r in policy.rules] == [(3, 3), (4, 1)]


# --- conditions → RAM conditions --------------------------------------------------------------

CONDITIONS = [
    (
        "source_ip-in",
        "source_ip in [10.0.0.0/8, 192.168.0.0/16]",
        [[Condition("IpAddress", IP, ("10.0.0.0/8", "192.168.0.0/16"))]],
    ),
    (
        "source_ip-in-single-unbracketed",
        "source_ip in 203.0.113.9",
        [[Condition("IpAddress", IP, ("203.0.113.9",))]],
    ),
    (
        "source_ip-not-in",
        "source_ip not in [10.0.0.0/8]",
        [[Condition("NotIpAddress", IP, ("10.0.0.0/8",))]],
    ),
    (
        "source_ip-ipv6",
        "source_ip in [2001:db8::/32]",
        [[Condition("IpAddress", IP, ("2001:db8::/32",))]],
    ),
    ("mfa-true", "mfa = true", [[Condition("Bool", MFA, ("true",))]]),
    ("mfa-false", "mfa = false", [[Condition("Bool", MFA, ("false",))]]),
    ("secure_transport", "secure_transport = false", [[Condition("Bool", TLS, ("false",))]]),
    ("time-before", f"time before {T0}", [[Condition("DateLessThan", TIME, (T0,))]]),
    ("time-after", f"time after {T0}", [[Condition("DateGreaterThan", TIME, (T0,))]]),
    (
        "time-after-offset-zero",
        "time after 2026-12-01T00:00:00+00:00",
        [[Condition("DateGreaterThan", TIME, (T0,))]],
    ),
    ("vpc-in", "vpc in [vpc-b, vpc-a]", [[Condition("StringEquals", VPC, ("vpc-a", "vpc-b"))]]),
    ("vpc-not-in", "vpc not in [vpc-a]", [[Condition("StringNotEquals", VPC, ("vpc-a",))]]),
    ("vpc-quoted", 'vpc in ["vpc a"]', [[Condition("StringEquals", VPC, ("vpc a",))]]),
    (
        "access_key-in",
        "access_key in [LTAI5tExampleKey1, LTAI5tExampleKey2]",
        [[Condition("StringEquals", AK, ("LTAI5tExampleKey1", "LTAI5tExampleKey2"))]],
    ),
    ("access_key-not-in", "access_key not in [K1]", [[Condition("StringNotEquals", AK, ("K1",))]]),
    (
        "and",
        "source_ip not in [10.0.0.0/8] and mfa = false",
        [[Condition("Bool", MFA, ("false",)), Condition("NotIpAddress", IP, ("10.0.0.0/8",))]],
    ),
    (
        "and-not-in-merges",
        "vpc not in [a] and vpc not in [b]",
        [[Condition("StringNotEquals", VPC, ("a", "b"))]],
    ),
    ("unless-bool", "unless secure_transport = true", [[Condition("Bool", TLS, ("false",))]]),
    (
        "unless-ip",
        "unless source_ip in [10.0.0.0/8]",
        [[Condition("NotIpAddress", IP, ("10.0.0.0/8",))]],
    ),
    ("unless-not-in", "unless vpc not in [v]", [[Condition("StringEquals", VPC, ("v",))]]),
    (
        "unless-time-after",
        f"unless time after {T0}",
        [[Condition("DateLessThanEquals", TIME, (T0,))]],
    ),
    (
        "unless-time-before",
        f"unless time before {T0}",
        [[Condition("DateGreaterThanEquals", TIME, (T0,))]],
    ),
    (
        "unless-conjunction-one-case-per-condition",
        "unless source_ip in [10.0.0.0/8] and mfa = true",
        [[Condition("Bool", MFA, ("false",))], [Condition("NotIpAddress", IP, ("10.0.0.0/8",))]],
    ),
    (
        "when-unless",
        f"when time after {T0} unless vpc in [v1] and mfa = true",
        [
            [Condition("Bool", MFA, ("false",)), Condition("DateGreaterThan", TIME, (T0,))],
            [Condition("DateGreaterThan", TIME, (T0,)), Condition("StringNotEquals", VPC, ("v1",))],
        ],
    ),
]


@pytest.mark.parametrize(
    ("clause", "dnf"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS]
)
def test_condition_resolves_to_ram_conditions(compile_text, clause, dnf):
    if not clause.startswith(("unless", "when")):
        clause = "when " + clause
    rule = compile_text(f"deny ECS RunInstances {clause}").rules[0]
    assert sorted(sorted(conj) for conj in rule.conditions) == sorted(dnf)


# --- meaning: Policy.decide -----------------------------------------------------------------

# (id, rules, action, context, decision). Absent keys: positive operators do not match,
# `not in` (NotIpAddress / StringNotEquals) matches.
DECISIONS = [
    ("exact-denied", "deny ECS RunInstances", "ecs:RunInstances", None, "deny"),
    ("exact-case-insensitive", "deny ECS RunInstances", "ECS:runinstances", None, "deny"),
    ("exact-other-op-allowed", "deny ECS RunInstances", "ecs:RunInstance", None, "allow"),
    ("exact-other-service-allowed", "deny ECS RunInstances", "eci:RunInstances", None, "allow"),
    ("exact-no-prefix-match", "deny ECS RunInstances", "ecs:RunInstancesX", None, "allow"),
    ("glob-star-empty-run", "deny RDS Delete*", "rds:Delete", None, "deny"),
    ("glob-star-run", "deny RDS Delete*", "rds:DeleteDBInstance", None, "deny"),
    ("glob-star-other", "deny RDS Delete*", "rds:DescribeDBInstances", None, "allow"),
    ("glob-question-one", "deny ECS ?unInstances", "ecs:RunInstances", None, "deny"),
    ("glob-question-not-zero", "deny ECS ?unInstances", "ecs:unInstances", None, "allow"),
    ("glob-service-eci", "deny EC? Delete*", "eci:DeleteContainerGroup", None, "deny"),
    ("glob-service-ecd", "deny EC? Delete*", "ecd:DeleteDesktops", None, "deny"),
    ("glob-service-not-rds", "deny EC? Delete*", "rds:DeleteDBInstance", None, "allow"),
    ("every-service", "deny * RunInstances", "anything:RunInstances", None, "deny"),
    ("every-action", "deny * *", "sts:AssumeRole", None, "deny"),
    (
        "versioned-rule-covers-all-versions",
        "deny PTS@2019-08-10 CreateScene",
        "pts:CreateScene",
        None,
        "deny",
    ),
    # source_ip
    (
        "ip-in-inside",
        "deny ECS RunCommand when source_ip in [10.0.0.0/8]",
        "ecs:RunCommand",
        {IP: "10.1.2.3"},
        "deny",
    ),
    (
        "ip-in-outside",
        "deny ECS RunCommand when source_ip in [10.0.0.0/8]",
        "ecs:RunCommand",
        {IP: "11.1.2.3"},
        "allow",
    ),
    (
        "ip-in-absent",
        "deny ECS RunCommand when source_ip in [10.0.0.0/8]",
        "ecs:RunCommand",
        None,
        "allow",
    ),
    (
        "ip-not-in-outside",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8]",
        "ecs:RunCommand",
        {IP: "203.0.113.9"},
        "deny",
    ),
    (
        "ip-not-in-inside",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8]",
        "ecs:RunCommand",
        {IP: "10.0.0.1"},
        "allow",
    ),
    (
        "ip-not-in-absent",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8]",
        "ecs:RunCommand",
        None,
        "deny",
    ),
    (
        "ip-language-key",
        "deny ECS RunCommand when source_ip in [10.0.0.0/8]",
        "ecs:RunCommand",
        {"source_ip": "10.0.0.1"},
        "deny",
    ),
    # bools
    ("mfa-true-present", "deny RAM * when mfa = true", "ram:CreateUser", {MFA: "true"}, "deny"),
    ("mfa-true-other", "deny RAM * when mfa = true", "ram:CreateUser", {MFA: "false"}, "allow"),
    ("mfa-true-absent", "deny RAM * when mfa = true", "ram:CreateUser", None, "allow"),
    ("mfa-false-absent", "deny RAM * when mfa = false", "ram:CreateUser", None, "allow"),
    ("mfa-bool-value", "deny RAM * when mfa = false", "ram:CreateUser", {MFA: False}, "deny"),
    (
        "tls-false",
        "deny RAM * when secure_transport = false",
        "ram:CreateUser",
        {TLS: "false"},
        "deny",
    ),
    # time
    (
        "before-earlier",
        f"deny RDS DeleteDBInstance when time before {T0}",
        "rds:DeleteDBInstance",
        {TIME: "2026-11-30T23:59:59Z"},
        "deny",
    ),
    (
        "before-equal",
        f"deny RDS DeleteDBInstance when time before {T0}",
        "rds:DeleteDBInstance",
        {TIME: T0},
        "allow",
    ),
    (
        "after-later",
        f"deny RDS DeleteDBInstance when time after {T0}",
        "rds:DeleteDBInstance",
        {TIME: "2026-12-01T00:00:01Z"},
        "deny",
    ),
    (
        "after-equal",
        f"deny RDS DeleteDBInstance when time after {T0}",
        "rds:DeleteDBInstance",
        {TIME: T0},
        "allow",
    ),
    (
        "after-absent",
        f"deny RDS DeleteDBInstance when time after {T0}",
        "rds:DeleteDBInstance",
        None,
        "allow",
    ),
    # strings
    (
        "vpc-in-match",
        "deny ECS RunInstances when vpc in [vpc-a]",
        "ecs:RunInstances",
        {VPC: "vpc-a"},
        "deny",
    ),
    (
        "vpc-in-case-sensitive",
        "deny ECS RunInstances when vpc in [vpc-a]",
        "ecs:RunInstances",
        {VPC: "VPC-A"},
        "allow",
    ),
    (
        "vpc-in-absent",
        "deny ECS RunInstances when vpc in [vpc-a]",
        "ecs:RunInstances",
        None,
        "allow",
    ),
    (
        "vpc-not-in-absent",
        "deny ECS RunInstances when vpc not in [vpc-a]",
        "ecs:RunInstances",
        None,
        "deny",
    ),
    ("ak-in", "deny * * when access_key in [K1, K2]", "ecs:RunInstances", {AK: "K2"}, "deny"),
    (
        "ak-in-other",
        "deny * * when access_key in [K1, K2]",
        "ecs:RunInstances",
        {AK: "K3"},
        "allow",
    ),
    (
        "ak-not-in-other",
        "deny * * when access_key not in [K1]",
        "ecs:RunInstances",
        {AK: "K3"},
        "deny",
    ),
    # and
    (
        "and-both",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8] and mfa = false",
        "ecs:RunCommand",
        {IP: "1.2.3.4", MFA: "false"},
        "deny",
    ),
    (
        "and-one",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8] and mfa = false",
        "ecs:RunCommand",
        {IP: "1.2.3.4", MFA: "true"},
        "allow",
    ),
    (
        "and-absent-ip",
        "deny ECS RunCommand when source_ip not in [10.0.0.0/8] and mfa = false",
        "ecs:RunCommand",
        {MFA: "false"},
        "deny",
    ),
    # unless: `when not C`
    (
        "unless-holds",
        "deny RAM * unless secure_transport = true",
        "ram:CreateUser",
        {TLS: "true"},
        "allow",
    ),
    (
        "unless-fails",
        "deny RAM * unless secure_transport = true",
        "ram:CreateUser",
        {TLS: "false"},
        "deny",
    ),
    # Documented choice (compiler/ir.py): `unless K = true` is RAM's `Bool K false`, which an
    # absent key does not match.
    (
        "unless-bool-absent",
        "deny RAM * unless secure_transport = true",
        "ram:CreateUser",
        None,
        "allow",
    ),
    (
        "unless-ip-absent",
        "deny RAM * unless source_ip in [10.0.0.0/8]",
        "ram:CreateUser",
        None,
        "deny",
    ),
    (
        "unless-and-first-fails",
        "deny RAM * unless source_ip in [10.0.0.0/8] and mfa = true",
        "ram:CreateUser",
        {IP: "1.1.1.1", MFA: "true"},
        "deny",
    ),
    (
        "unless-and-second-fails",
        "deny RAM * unless source_ip in [10.0.0.0/8] and mfa = true",
        "ram:CreateUser",
        {IP: "10.1.1.1", MFA: "false"},
        "deny",
    ),
    (
        "unless-and-both-hold",
        "deny RAM * unless source_ip in [10.0.0.0/8] and mfa = true",
        "ram:CreateUser",
        {IP: "10.1.1.1", MFA: "true"},
        "allow",
    ),
    (
        "when-unless-deny",
        f"deny RDS * when time after {T0} unless vpc in [v1]",
        "rds:DeleteBackup",
        {TIME: "2027-01-01T00:00:00Z", VPC: "v2"},
        "deny",
    ),
    (
        "when-unless-exempt",
        f"deny RDS * when time after {T0} unless vpc in [v1]",
        "rds:DeleteBackup",
        {TIME: "2027-01-01T00:00:00Z", VPC: "v1"},
        "allow",
    ),
    (
        "when-unless-when-fails",
        f"deny RDS * when time after {T0} unless vpc in [v1]",
        "rds:DeleteBackup",
        {TIME: "2020-01-01T00:00:00Z", VPC: "v2"},
        "allow",
    ),
    # deny wins across rules
    (
        "deny-wins",
        "deny ECS RunInstances when mfa = true\ndeny ECS Run*",
        "ecs:RunInstances",
        {MFA: "false"},
        "deny",
    ),
]


@pytest.mark.parametrize(
    ("rules", "action", "context", "decision"),
    [d[1:] for d in DECISIONS],
    ids=[d[0] for d in DECISIONS],
)
def test_decide(compile_text, json_denies, rules, action, context, decision):
    policy = compile_text(rules)
    got = policy.decide(action, context)
    assert got.decision == decision
    assert got.denied == (decision == "deny")
    assert bool(got.matched) == got.denied
    # The emitted JSON says the same thing (context given with RAM keys there).
    ram_ctx = {("acs:SourceIp" if k == "source_ip" else k): v for k, v in (context or {}).items()}
    assert json_denies(policy.ram_documents(), action, ram_ctx) == got.denied


def test_decision_names_the_matching_rules(compile_text):
    policy = compile_text(
        "policy guard\n"
        "deny ECS [\n  RunInstances,\n  CreateInstance,\n]\n"
        "deny ECS Run*\n"
        "deny RAM *\n",
        "p/guard.rules",
    )
    got = policy.decide("ecs:RunInstances")
    assert [m.to_dict() for m in got.matched] == [
        {
            "policy": "guard",
            "file": "p/guard.rules",
            "line": 2,
            "rule": "deny ECS RunInstances, CreateInstance",
        },
        {"policy": "guard", "file": "p/guard.rules", "line": 6, "rule": "deny ECS Run*"},
    ]


# --- IMS: two RAM codes ---------------------------------------------------------------------


def _ims_and_ram_ops() -> tuple[str, str, str]:
    catalog = default_catalog()
    ims, ram = catalog.service("IMS"), catalog.service("RAM")
    both = sorted(ims.operations() & ram.operations())[0]
    ims_only = sorted(ims.operations() - ram.operations())[0]
    ram_only = sorted(ram.operations() - ims.operations())[0]
    return both, ims_only, ram_only


def test_ims_star_denies_ims_and_ram_codes_for_ims_operations_only(compile_text):
    both, ims_only, ram_only = _ims_and_ram_ops()
    policy = compile_text("deny IMS *")
    assert policy.decide(f"ims:{ram_only}").denied  # ims:* covers any name
    assert policy.decide(f"ims:{both}").denied
    assert policy.decide(f"ram:{both}").denied
    assert policy.decide(f"ram:{ims_only}").denied
    assert not policy.decide(f"ram:{ram_only}").denied
    assert "ram:*" not in policy.rules[0].actions


def test_ims_rule_is_not_blamed_for_ram_only_operations(compile_text):
    _, _, ram_only = _ims_and_ram_ops()
    policy = compile_text("deny service=RAM op=*\ndeny service=IMS op=*\n")
    got = policy.decide(f"ram:{ram_only}")
    assert [m.line for m in got.matched] == [1]
    both = _ims_and_ram_ops()[0]
    assert [m.line for m in policy.decide(f"ram:{both}").matched] == [1, 2]
    assert [m.line for m in policy.decide(f"ims:{both}").matched] == [2]


def test_ims_glob_lists_matching_ims_operations_under_ram(compile_text):
    policy = compile_text("deny IMS Create*")
    actions = policy.rules[0].actions
    assert "ims:Create*" in actions
    assert "ram:Create*" not in actions
    ims_creates = {
        f"ram:{op}"
        for op in default_catalog().service("IMS").operations()
        if op.startswith("Create")
    }
    assert ims_creates and ims_creates <= set(actions)
    assert not policy.decide("ram:CreatePolicy").denied  # a RAM-only operation


def test_a_glob_that_matches_no_operation_is_a_compile_warning(tmp_path, run_cli):
    src = tmp_path / "typo.rules"
    src.write_text("deny ECS Delte*\n", encoding="utf-8")
    result = run_cli("compile", src, "--out", tmp_path / "out")
    assert result.exit_code == 0  # a warning: the rule is valid RAM, it just denies nothing
    assert f"{src}:1:10: warning: `Delte*` matches no operation of ECS" in result.stderr
