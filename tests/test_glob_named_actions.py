"""W0103 ("an operation glob matches no catalog operation") is not given for a glob that
matches a RAM action the catalog lists: `deny pvtz rea*` is emitted as ``pvtz:rea*``, which
denies ``pvtz:read`` (OpenMeta's action for PrivateZone's custom-line reads), yet ``ramguard
check`` warned, because the glob was tried against API names only. A glob matching neither
an API name nor such an action still warns, and an exact unknown name is still E0220."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.analysis.lint import check_paths
from compiler.catalog import default_catalog


def _check(tmp_path, text: str) -> list[tuple[str, int, str]]:
    path = tmp_path / "g.rules"
    path.write_text(text)
    result = check_paths([path])
    return [(d.code, d.span.line, d.message) for d in result.diagnostics]


@pytest.mark.parametrize(
    "rule",
    [
        "deny pvtz rea*",  # pvtz:read
        "deny pvtz REA?",  # case aside, as RAM matches actions
        "deny pvtz *pdate",  # pvtz:update
        "deny * rea?",  # `*:rea?`: any code's action named `read`
    ],
)
def test_a_glob_matching_a_listed_action_is_not_warned(tmp_path, rule):
    assert _check(tmp_path, rule + "\n") == []
    # … and the action it matches is what the rule denies.
    policy = compile_sources([("g.rules", rule + "\n")])
    action = "pvtz:update" if "pdate" in rule else "pvtz:read"
    assert action in default_catalog().actions()
    assert policy.decide(action).denied


def test_a_glob_matching_nothing_still_warns(tmp_path):
    assert _check(tmp_path, "deny pvtz zzz*\ndeny * zzzz?zz*\n") == [
        ("W0103", 1, "`zzz*` matches no operation of pvtz"),
        ("W0103", 2, "`zzzz?zz*` matches no operation of any catalog service"),
    ]


def test_an_exact_unknown_name_is_still_an_error(tmp_path):
    found = _check(tmp_path, "deny pvtz zzz\n")
    assert [(code, line) for code, line, _ in found] == [("E0220", 1)]
    assert "unknown operation `zzz` for pvtz" in found[0][2]


def test_the_cli_shows_no_warning_for_the_reviewers_rule(run_cli, tmp_path):
    path = tmp_path / "g.rules"
    path.write_text("deny pvtz rea*\ndeny pvtz zzz*\n")
    result = run_cli("check", path)
    assert result.exit_code == 0, result.stderr
    assert "`rea*`" not in result.stderr
    assert "g.rules:2:11: warning: `zzz*` matches no operation of pvtz [W0103]" in result.stderr
    assert "0 errors, 1 warning in 1 file" in result.stdout + result.stderr


def test_a_glob_matching_only_apis_authorised_by_another_action_warns(run_cli, tmp_path):
    """`deny pvtz DescribeCustom*` matches the API names DescribeCustomLines and
    DescribeCustomLineInfo, but is emitted ``pvtz:DescribeCustom*``, and RAM authorises those
    APIs as ``pvtz:read``: the rule denies no request, and check said nothing."""
    path = tmp_path / "g.rules"
    path.write_text("deny pvtz DescribeCustom*\n")
    result = run_cli("check", path)
    assert result.exit_code == 0, result.stderr
    assert (
        "g.rules:1:11: warning: `DescribeCustom*` matches no RAM action of pvtz [W0103]"
        in result.stderr
    )
    assert "pvtz:read authorises DescribeCustomLineInfo, DescribeCustomLines" in result.stderr
    policy = compile_sources([("g.rules", "deny pvtz DescribeCustom*\n")])
    # What the pattern matches is no action RAM evaluates; the one it does is not denied.
    assert "pvtz:DescribeCustomLines" not in default_catalog().actions()
    assert not policy.decide("pvtz:read").denied


@pytest.mark.parametrize(
    "rule",
    [
        "deny pvtz DescribeCustom*",
        "deny pvtz DescribeCustomLine?",
        "deny pvtz Describe*",  # DescribeRegions and others are `pvtz:Name`
        "deny pvtz rea*",
        "deny pvtz *pdate",
        "deny pvtz zzz*",
        "deny * rea?",
        "deny * DescribeCustom*",  # alidns:DescribeCustomLines
        "deny * zzzz?zz*",
        "deny ims Get*",  # IMS also emits under a shared code (`ram`)
        "deny ims zz*",
    ],
)
def test_the_warning_is_given_exactly_when_the_rule_denies_no_listed_action(tmp_path, rule):
    warned = [code for code, _, _ in _check(tmp_path, rule + "\n")] == ["W0103"]
    policy = compile_sources([("g.rules", rule + "\n")])
    denies_some = any(policy.decide(a).denied for a in default_catalog().actions())
    assert warned is not denies_some
