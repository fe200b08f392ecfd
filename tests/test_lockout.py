"""Lockout and breakage checks (issue 12 item 4): each fires on a planted mistake, names its
code and carries a help line; the repository's policies stay quiet."""

from __future__ import annotations

import pytest

from compiler.analysis.lint import lint
from compiler.policy import compile_rules

CP = "policy cp for control-policy attach [fd-1]\n"
RD = "acs:ram:*:*:role/resourcedirectoryaccountaccessrole"
GLOBALS = "ram:*, sts:*, actiontrail:*, resourcemanager:*, bss:*, cloudsso:*"

PLANTED = [
    # (id, rules, code expected on line 2 or None for quiet)
    ("ram-star", CP + "deny RAM *\n", "W0301"),
    ("assume-role", CP + "deny STS AssumeRole\n", "W0301"),
    ("sts-star", CP + "deny STS *\n", "W0301"),
    ("resourcemanager-star", CP + "deny ResourceManager *\n", "W0301"),
    ("everything", CP + "deny * * when mfa = false\n", "W0301"),
    ("not-action-missing-ram", CP + "deny * * except [ecs:*, sts:*, resourcemanager:*]\n", "W0301"),
    ("exempted", CP + f"deny RAM * unless principal like [{RD}]\n", None),
    ("exempted-by-glob", CP + "deny RAM * unless principal like [acs:ram:*:*:role/*]\n", None),
    (
        "exempted-by-arn",
        CP
        + "deny RAM * unless principal in [acs:ram::1:role/resourcedirectoryaccountaccessrole]\n",
        None,
    ),
    # An exemption that leaves the RD access role out still locks it out.
    (
        "other-role-exempted",
        CP + "deny RAM * unless principal like [acs:ram:*:*:role/breakglass]\n",
        "W0301",
    ),
    (
        "one-case-exempted",
        CP + f"deny RAM * unless principal like [{RD}] and mfa = true\n",
        "W0301",
    ),
    ("narrow-protection", CP + f"deny RAM DeleteRole, UpdateRole on [{RD}]\n", None),
    ("every-ram-resource", CP + "deny * * on [acs:ram:*:*:*]\n", "W0301"),
    ("every-resource-glob", CP + "deny RAM * on [acs:*:*:*:*]\n", "W0301"),
    ("region-scoped-ram", CP + "deny ECS * on [acs:ecs:*:*:*]\n", None),
    ("ram-policy-on-purpose", "policy p\ndeny RAM *\n", None),
    ("region-all-services", "deny * * in region [ap-southeast-1]\n", "W0302"),
    ("region-ram", "deny RAM Get* in region [cn-beijing]\n", "W0302"),
    ("region-not-action", "deny * * except [ram:*, sts:*] in region [cn-beijing]\n", "W0302"),
    ("region-exempted", f"deny * * except [{GLOBALS}] in region [cn-beijing]\n", None),
    ("region-regional-service", "deny ECS * in region [cn-beijing]\n", None),
    ("trail-star", CP + "deny Actiontrail *\n", "W0303"),
    ("log-star", CP + "deny Sls *\n", "W0303"),
    ("trail-not-on-its-resources", CP + "deny * * on [acs:ecs:*:*:*]\n", None),
    ("trail-narrow", CP + "deny Actiontrail DeleteTrail, StopLogging, UpdateTrail\n", None),
    ("trail-exempted", CP + f"deny Sls * unless principal like [{RD}]\n", None),
]


@pytest.mark.parametrize("rules, code", [p[1:] for p in PLANTED], ids=[p[0] for p in PLANTED])
def test_planted_mistakes(tmp_path, rules, code):
    path = tmp_path / "t.rules"
    path.write_text(rules, encoding="utf-8")
    found = [d for d in lint(compile_rules([path])) if d.code.startswith("W03")]
    if code is None:
        assert found == []
        return
    assert code in {d.code for d in found}
    hit = next(d for d in found if d.code == code)
    assert hit.help and str(hit.severity) == "warning"
    assert hit.span.line == rules.count("\n")  # the planted rule is the last line
    rendered = hit.render() if hasattr(hit, "render") else str(hit)
    assert f"[{code}]" in rendered or code in rendered


def test_exemption_help_names_the_rd_access_role(tmp_path):
    path = tmp_path / "t.rules"
    path.write_text(CP + "deny RAM *\n", encoding="utf-8")
    (hit,) = [d for d in lint(compile_rules([path])) if d.code == "W0301"]
    assert f"unless principal like [{RD}]" in hit.help


def test_too_many_policies_on_one_node(tmp_path):
    # 5 policies of 2 documents each on fd-1 = 10, plus FullAliyunAccess = 11 > 10.
    big = "".join(
        f"deny ECS RunInstances when access_key in [LTAI5tExampleKey{i:05d}]\n" for i in range(30)
    )
    for n in range(5):
        (tmp_path / f"p{n}.rules").write_text(
            f"policy p{n} for control-policy attach [fd-1, fd-{n + 10}]\n" + big,
            encoding="utf-8",
        )
    policy = compile_rules([tmp_path])
    assert len(policy.documents) == 10
    found = [d for d in lint(policy) if d.code == "W0304"]
    assert len(found) == 5  # one per policy attached to fd-1, none for the others' own nodes
    assert all("node `fd-1` would hold 11 control policies" in d.message for d in found)
    assert all("FullAliyunAccess" in d.help for d in found)


def test_control_policy_multi_document_names_its_limits(tmp_path):
    path = tmp_path / "t.rules"
    path.write_text(
        CP
        + "".join(
            f"deny ECS RunInstances when access_key in [LTAI5tExampleKey{i:05d}]\n"
            for i in range(30)
        ),
        encoding="utf-8",
    )
    (hit,) = [d for d in lint(compile_rules([path])) if d.code == "W0106"]
    assert hit.message == "policy `cp` needs 2 control-policy documents"
    assert "4096 characters" in hit.help and "folder or member account" in hit.help


@pytest.mark.parametrize("path", ["policies", "policies/org-baseline"])
def test_repository_policies_are_quiet(repo, path):
    policy = compile_rules([repo / path])
    assert lint(policy) == [] or path == "policies"  # the seed keeps its W0201 notes
    assert [d for d in lint(policy) if d.code.startswith("W03")] == []


def test_the_org_baseline_is_a_control_policy_of_at_least_ten_rules(repo):
    (ir,) = compile_rules([repo / "policies/org-baseline"]).policies
    assert ir.deploy == "control-policy" and ir.attach == ("r-example",)
    assert len(ir.rules) >= 10


ALLOW_LIST = "policy al for control-policy attach [fd-1]\n"
ALL_GLOBALS = "actiontrail, bss, cloudsso, ram, resourcemanager, sts"
ALLOW_PLANTED = [
    # (id, rules, the global services W0302 names on the region-held allow rule, or None)
    ("allow-regions-only", ALLOW_LIST + "allow * * in region [cn-hangzhou]\n", ALL_GLOBALS),
    (
        "allow-regions-some-globals",
        ALLOW_LIST + "allow RAM *\nallow Sts *\nallow * * in region [cn-hangzhou]\n",
        "actiontrail, bss, cloudsso, resourcemanager",
    ),
    (
        "allow-regions-globals-open",
        ALLOW_LIST
        + "".join(f"allow {c} *\n" for c in ("RAM", "Sts", "Actiontrail", "ResourceManager"))
        + "allow Bss *\nallow CloudSSO *\nallow * * in region [cn-hangzhou]\n",
        None,
    ),
    ("allow-regional-service", ALLOW_LIST + "allow ECS * in region [cn-hangzhou]\n", None),
]


@pytest.mark.parametrize(
    "rules, left", [p[1:] for p in ALLOW_PLANTED], ids=[p[0] for p in ALLOW_PLANTED]
)
def test_allow_list_held_to_regions_leaves_out_global_services(tmp_path, rules, left):
    # A region-held allow list shuts global services out (their ARNs name no region): the
    # region check looked at Deny rules only.
    path = tmp_path / "t.rules"
    path.write_text(rules, encoding="utf-8")
    found = [d for d in lint(compile_rules([path])) if d.code == "W0302"]
    if left is None:
        assert found == []
        return
    (hit,) = found
    assert hit.span.line == rules.count("\n")
    assert f"global services ({left}) name no region" in hit.message
    assert hit.help.startswith("allow them without a region: `allow ")
