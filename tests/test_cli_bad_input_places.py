"""Bad input the verbs took without naming its place, or echoed raw: ``catalog show`` and
``catalog diff`` printed click's ``Error: …`` with the user's text as given (an escape
sequence reached the terminal), ``decide``'s unknown-action warning echoed the action raw,
and ``simulate --trace DIR`` of a directory with no trace file said ``error: no trace file to
read`` without naming it. Each now says ``PLACE: error: MESSAGE`` (or ``ramguard: error:``
where there is no place) with user text escaped."""

from __future__ import annotations

import gzip

import pytest

ESC = "\x1b[31m"


def test_catalog_show_of_an_unknown_service_escapes_and_cuts_it(run_cli):
    result = run_cli("catalog", "show", f"{ESC}red")
    assert result.exit_code == 1
    assert result.stderr == "ramguard: error: unknown service `?[31mred`\n"
    long = run_cli("catalog", "show", "x" * 10_000)
    assert long.exit_code == 1 and len(long.stderr) < 200


def test_catalog_show_still_suggests(run_cli):
    result = run_cli("catalog", "show", "ecz")
    assert result.stderr == "ramguard: error: unknown service `ecz`; did you mean ECS?\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: no such file or directory"),
        (b"", "error: not a catalog.json: Input data was truncated"),
        (b"not json", "error: not a catalog.json: JSON is malformed"),
    ],
    ids=["missing", "empty", "not-json"],
)
def test_catalog_diff_names_the_file(run_cli, tmp_path, content, message):
    path = tmp_path / f"cat{ESC}alog.json"
    if content is not None:
        path.write_bytes(content)
    result = run_cli("catalog", "diff", path, path)
    assert result.exit_code == 1
    shown = str(path).replace("\x1b", "\\x1b")  # escaped, as every path on the terminal
    assert result.stderr.startswith(f"{shown}: {message}")
    assert "\x1b" not in result.stderr and "Traceback" not in result.stderr


def test_decide_warns_of_an_unknown_action_escaped(run_cli, tmp_path):
    (tmp_path / "a.rules").write_text("deny ECS RunInstances\n")
    result = run_cli("decide", "--rules", tmp_path, f"ecs:Run{ESC}X")
    assert result.exit_code == 0
    assert result.stderr == "ramguard: warning: `ecs:Run?[31mX` is not a catalog action\n"


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "a.rules"
    path.write_text("deny ECS RunInstances\n")
    return path


def test_simulate_names_a_directory_with_no_trace_file(run_cli, tmp_path, rules):
    empty = tmp_path / "trail"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a trace\n")
    for extra in (["-q"], [], ["--format", "json"]):
        result = run_cli("simulate", "--rules", rules, "--trace", empty, *extra)
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            f"{empty}: error: no trace file to read: none is named *.json, *.jsonl, *.ndjson, *.gz"
        )
        # The error alone: no report of zero events (text or JSON) printed before it.
        assert result.stdout == ""


def test_simulate_says_when_since_until_pruned_every_file_by_name(run_cli, tmp_path, rules):
    trail = tmp_path / "trail"
    trail.mkdir()
    name = "Actiontrail_cn-hangzhou_20261101000000_1002_1_100_abc.gz"
    event = b'{"eventId": "1", "eventName": "RunInstances", "serviceName": "Ecs"}\n'
    (trail / name).write_bytes(gzip.compress(event))
    args = ("simulate", "--rules", rules, "--trace", trail, "-q")
    result = run_cli(*args, "--since", "2026-12-01")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"{trail}: error: no trace file to read: 1 file outside --since/--until by name"
    )
    assert run_cli(*args).exit_code == 0  # the same file without the window is replayed


# A newline in a file name: the error line must stay one line, or the name forges lines of
# its own (a fake `FILE:LINE:COL: error:` line, or a CI annotation such as `::error ::`).
FORGED = "a\n::error file=x.rules,line=1::forged\n#"


def _one_line_each(stderr: str, *starts: str) -> None:
    lines = stderr.splitlines()
    assert not any(line.startswith("::error") for line in lines), stderr
    for start in starts:
        assert any(line.startswith(start) for line in lines), (start, stderr)


def test_a_rules_file_name_with_a_newline_stays_on_its_line(run_cli, tmp_path):
    (tmp_path / f"{FORGED}.rules").write_text("deny ECS RunInstances\n")
    shown = str(tmp_path / FORGED).replace("\n", "\\x0a")
    for verb in (("check",), ("compile", "--out", tmp_path / "out")):
        result = run_cli(*verb, tmp_path)
        assert result.exit_code == 1
        # The policy name comes from the file name, and is not a valid one: E0201 there.
        _one_line_each(result.stderr, f"{shown}.rules:1:1: error: ")
    assert not (tmp_path / "out").exists()


def test_a_trace_file_name_with_a_newline_stays_on_its_line(run_cli, tmp_path, rules):
    missing = tmp_path / f"{FORGED}.jsonl"
    shown = str(missing).replace("\n", "\\x0a")
    for verb in ("simulate", "bench"):
        result = run_cli(verb, "--rules", rules, "--trace", missing)
        assert result.exit_code == 1
        _one_line_each(result.stderr, f"{shown}: error: no such file")
    missing.write_text("not json\n")
    result = run_cli("simulate", "--rules", rules, "--trace", missing, "--strict")
    assert result.exit_code == 1
    _one_line_each(result.stderr, f"{shown}:1:1: error: malformed event: invalid JSON")
    result = run_cli("simulate", "--rules", rules, "--trace", missing, "-q")
    assert result.exit_code == 1
    _one_line_each(result.stderr, f"{shown}: error: no event could be decided: 1 malformed")
    assert f"(first at {shown}:1:1: invalid JSON" in result.stderr
    result = run_cli("bench", "--rules", rules, "--trace", missing)
    assert result.exit_code == 1
    _one_line_each(result.stderr, f"{shown}: error: no decidable events: 1 skipped")
    assert f"(first malformed at {shown}:1:1: invalid JSON" in result.stderr


def test_a_tests_file_name_with_a_newline_stays_on_its_line(run_cli, tmp_path):
    (tmp_path / "a.rules").write_text("deny ECS RunInstances\n")
    (tmp_path / f"{FORGED}.tests").write_text("expect allow ECS RunInstances\n")
    result = run_cli("test", tmp_path)
    assert result.exit_code == 1
    shown = str(tmp_path / FORGED).replace("\n", "\\x0a")
    lines = result.stdout.splitlines()
    assert f"{shown}.tests:1:1: FAILED: expect allow ECS RunInstances" in lines
    assert not any(line.startswith("::error") for line in lines)


def test_an_output_path_with_a_newline_stays_on_its_line(run_cli, tmp_path, rules):
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"eventId": "1", "eventName": "RunInstances", "serviceName": "Ecs"}\n')
    report = trace / f"{FORGED}.json"  # under a file: cannot be written
    result = run_cli("simulate", "--rules", rules, "--trace", trace, "--report", report, "-q")
    assert result.exit_code == 1
    _one_line_each(result.stderr, f"{trace}/a\\x0a::error file=x.rules,line=1::forged")
    out = tmp_path / FORGED
    assert run_cli("compile", rules, "--out", out, "-q").exit_code == 0
    (out / "a.json").write_text("{}\n")
    stale = run_cli("compile", rules, "--out", out, "--check")
    assert stale.exit_code == 1
    shown = str(out / "a.json").replace("\n", "\\x0a")
    _one_line_each(stale.stderr, f"{shown}: stale: differs from what the rules compile to")


@pytest.mark.parametrize(
    ("verb", "message"),
    [
        (("simulate", "--rules", "{rules}", "--trace", "{trace}", "-q", "--report"), ""),
        (("simulate", "--rules", "{rules}", "--trace", "{trace}", "-q", "--html"), ""),
        (("graph", "--rules", "{rules}", "--out"), "cannot write: "),
        (("test", "{dir}", "--junit"), "cannot write JUnit report: "),
        (("import", "{policy}", "--out"), ""),
        (("compile", "{rules}", "-q", "--out"), ""),
        (("traces", "generate", "--events", "3", "-q", "--out"), ""),
    ],
    ids=["report", "html", "graph", "junit", "import", "compile", "traces"],
)
def test_an_output_under_a_file_is_not_a_directory(run_cli, repo, tmp_path, verb, message):
    # mkdir's own words were "file exists", as if the output were there already.
    (tmp_path / "a.rules").write_text("deny ECS RunInstances\n")
    (tmp_path / "a.tests").write_text("expect deny ECS RunInstances\n")
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"eventId": "1", "eventName": "RunInstances", "serviceName": "Ecs"}\n')
    names = {
        "rules": tmp_path / "a.rules",
        "trace": trace,
        "dir": tmp_path,
        "policy": repo / "generated" / "leaked-accesskey-protection.json",
    }
    out = trace / "out"  # t.jsonl is a file
    result = run_cli(*(str(a).format(**names) for a in verb), out)
    assert result.exit_code == 1
    place, _, said = result.stderr.splitlines()[-1].partition(": error: ")
    assert place in (str(out), str(out.parent))  # the output, or the directory it needs
    assert said == f"{message}not a directory"
