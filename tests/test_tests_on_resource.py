"""`.tests` lines take `on ARN`; a line the catalog cannot resolve does not stop the file."""

from __future__ import annotations

from compiler.testing.runner import run_tests

RULES = 'policy p "prod instances"\ndeny ECS DeleteInstance on acs:ecs:*:*:instance/i-prod*\n'


def _run(tmp_path, tests: str):
    (tmp_path / "p.rules").write_text(RULES, encoding="utf-8")
    (tmp_path / "p.tests").write_text(tests, encoding="utf-8")
    return run_tests([tmp_path])


def test_on_arn_is_the_requests_resource_on_both_engines(tmp_path):
    run = _run(
        tmp_path,
        "expect deny ecs:DeleteInstance on acs:ecs:cn-hangzhou:123:instance/i-prod1\n"
        "expect allow ecs:DeleteInstance on acs:ecs:cn-hangzhou:123:instance/i-dev1\n"
        # No resource: unknown, so the scoped rule cannot deny.
        "expect allow ecs:DeleteInstance\n",
    )
    assert (run.passed, run.failed, run.all_diagnostics) == (3, 0, [])
    first = run.suites[0].results[0]
    assert (first.trie, first.json) == ("deny", "deny")
    wrong = _run(tmp_path, "expect allow ecs:DeleteInstance on acs:ecs:x:1:instance/i-prod9\n")
    assert (wrong.passed, wrong.failed) == (0, 1)


def test_unknown_action_is_reported_on_its_line_and_the_rest_runs(tmp_path):
    run = _run(
        tmp_path,
        "expect deny ecs:DeleteInstance on acs:ecs:cn-hangzhou:123:instance/i-prod1\n"
        "expect deny zzq:DeleteBucket\n"
        "expect allow ecs:DeleteInstance on acs:ecs:cn-hangzhou:123:instance/i-dev1\n",
    )
    assert (run.passed, run.failed) == (2, 0)
    assert not run.ok  # the bad line is an error: exit 1
    [diag] = run.all_diagnostics
    assert (diag.span.line, diag.span.col) == (2, 13)
    assert "unknown RAM code `zzq`" in diag.message


def test_bad_resources_are_positioned(tmp_path):
    run = _run(
        tmp_path,
        "expect deny ecs:DeleteInstance on acs:ecs:*:123:instance/i-prod1\n"
        "expect deny ecs:DeleteInstance on i-prod1\n"
        'expect deny ecs:DeleteInstance on "acs:ecs:cn-hangzhou:123:instance/i-prod1"\n',
    )
    assert (run.passed, run.failed) == (1, 0)
    got = [(d.code, d.span.line, d.span.col) for d in run.all_diagnostics]
    assert got == [("E0514", 1, 35), ("E0515", 2, 35)]
