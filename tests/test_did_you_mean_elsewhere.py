"""An operation unknown to the rule's service but known, as written, to others (issue 9 item
4): the help names those services first, each as the rule to write, then the nearest names in
the rule's own service. `deny ECS DeleteBucket` used to suggest only `DeleteVsc`."""

from __future__ import annotations

import pytest

from compiler import CompileError, compile_sources


def test_check_names_the_services_that_have_the_operation(run_cli, tmp_path):
    rules = tmp_path / "buckets.rules"
    rules.write_text('policy buckets "x"\n\ndeny ECS [\n  RunInstances,\n  deletebucket,\n]\n')
    result = run_cli("check", rules)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{rules}:5:3: error: unknown operation `deletebucket` for ECS [E0220]",
        "   5 |   deletebucket,",
        "     |   ^~~~~~~~~~~~",
        "  help: Oss and Ens have `DeleteBucket`: did you mean `deny Oss DeleteBucket` or "
        "`deny Ens DeleteBucket`? (the nearest in ECS: DeleteVsc)",
    ]
    assert result.stdout == "1 error, 0 warnings in 1 file\n"


def _help(rule: str) -> str:
    with pytest.raises(CompileError) as caught:
        compile_sources([("r.rules", rule + "\n")])
    (only,) = caught.value.errors
    return only.help


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # one service: `has`; an allow rule is suggested as an allow rule
        (
            'policy p "x" for control-policy\nallow Oss DeleteTrail',
            "Actiontrail has `DeleteTrail`: did you mean `allow Actiontrail DeleteTrail`?"
            " (the nearest in Oss: DeleteStyle)",
        ),
        # more than three: the services with a reviewed RAM code first, then by name (case
        # aside), the rest counted
        (
            "deny ECS UpdateWorkspace",
            "dms-enterprise, AIWorkSpace, EasyGene and 2 more have `UpdateWorkspace`: did you"
            " mean `deny dms-enterprise UpdateWorkspace` or `deny AIWorkSpace UpdateWorkspace`"
            " or `deny EasyGene UpdateWorkspace`?",
        ),
        # RAM is among the three shown, not behind seven services with guessed codes
        (
            "deny ECS CreateUser",
            "cloudsso, IMS, RAM and 7 more have `CreateUser`: did you mean `deny cloudsso"
            " CreateUser` or `deny IMS CreateUser` or `deny RAM CreateUser`? (the nearest in"
            " ECS: CreateHpcCluster)",
        ),
        # a one-character slip in the rule's own service wins over an exact name elsewhere
        # (Airec has RunInstance)
        ("deny ECS RunInstance", "did you mean RunInstances?"),
        # nothing anywhere: the near name alone, as before
        ("deny ECS RunInstanse", "did you mean RunInstances?"),
    ],
    ids=["allow", "many", "reviewed-first", "one-edit-slip", "near-only"],
)
def test_the_help_text(rule, expected):
    assert _help(rule) == expected
