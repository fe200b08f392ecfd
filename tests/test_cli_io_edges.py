"""What the CLI does at the edges of its input and output: what is at an output path (a
symlink, a FIFO, a device), an output that is also an input, the same trace named twice, URLs
that cannot be read, a closed pipe and Ctrl-C."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from compiler.files import atomic_write

SAMPLE = Path(__file__).parent / "data" / "sample-trace.jsonl.gz"


def _simulate(run_cli, repo, *extra):
    return run_cli(
        "simulate", "--rules", repo / "policies", "--trace", SAMPLE, "-q", *map(str, extra)
    )


# --- what is at the output path -------------------------------------------------------------


def test_a_report_through_a_symlink_replaces_the_target_and_keeps_the_link(run_cli, repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "x.json"
    target.write_text("old\n")
    target.chmod(0o640)
    generated = tmp_path / "generated"
    generated.mkdir()
    link = generated / "x.json"
    link.symlink_to("../elsewhere/x.json")
    result = _simulate(run_cli, repo, "--report", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "../elsewhere/x.json"
    assert json.loads(target.read_text())["events"] > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the target's mode, kept
    assert sorted(os.listdir(elsewhere)) == ["x.json"]  # no temporary file left
    assert sorted(os.listdir(generated)) == ["x.json"]


def test_a_dangling_symlink_is_written_at_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made" / "x.json")
    atomic_write(link, b"{}\n")
    assert link.is_symlink() and (tmp_path / "made" / "x.json").read_bytes() == b"{}\n"


def test_a_report_to_a_fifo_is_written_through_and_the_fifo_stays(run_cli, repo, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            got.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = _simulate(run_cli, repo, "--report", fifo)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not replaced by a regular file
    assert json.loads(got[0])["events"] > 0
    assert os.listdir(tmp_path) == ["report.fifo"]


def test_writing_to_dev_null_leaves_the_device(tmp_path):
    atomic_write(Path("/dev/null"), b"discarded\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # Through a symlink too (the link is followed to the device, then written through).
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    atomic_write(link, b"discarded\n")
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_regular_file_is_still_replaced_whole_or_not_at_all(tmp_path):
    from compiler.files import atomic_writer

    out = tmp_path / "r.json"
    out.write_bytes(b"old\n")
    out.chmod(0o600)
    with pytest.raises(RuntimeError), atomic_writer(out) as fh:
        fh.write(b"half")
        raise RuntimeError("killed half-way")
    assert out.read_bytes() == b"old\n" and os.listdir(tmp_path) == ["r.json"]
    atomic_write(out, b"new\n")
    assert out.read_bytes() == b"new\n" and stat.S_IMODE(out.stat().st_mode) == 0o600
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, b"x")


def test_missing_directories_of_a_report_path_are_created(run_cli, repo, tmp_path):
    # As compile --out DIR makes DIR (and pytest's --junitxml its directories): README,
    # "Output files".
    report = tmp_path / "a" / "b" / "r.json"
    result = _simulate(run_cli, repo, "--report", report)
    assert result.exit_code == 0, result.stderr
    assert json.loads(report.read_text())["events"] > 0


def test_dev_stdout_is_the_stream_not_a_file_to_replace(tmp_path):
    # /dev/stdout → /proc/self/fd/1 → `pipe:[…]`: resolving it would name no file at all.
    import subprocess
    import sys

    code = "from pathlib import Path; from compiler.files import atomic_write; "
    code += "atomic_write(Path('/dev/stdout'), b'through\\n')"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"through\n", b"")


# --- an output that is an input, or another output -------------------------------------------


@pytest.fixture
def trace(tmp_path) -> Path:
    import gzip

    path = tmp_path / "t.jsonl"
    path.write_bytes(gzip.decompress(SAMPLE.read_bytes()))
    return path


def _refused(result, *named: str) -> None:
    assert result.exit_code == 2, result.stderr
    assert "are the same file" in result.stderr and "Traceback" not in result.stderr
    for text in named:
        assert text in result.stderr


@pytest.mark.parametrize("spelling", ["dot", "hard link", "symlink"])
def test_a_report_over_its_own_trace_is_refused_and_the_trace_kept(
    run_cli, repo, trace, spelling, monkeypatch
):
    monkeypatch.chdir(trace.parent)
    if spelling == "dot":
        report = "./t.jsonl"
    elif spelling == "hard link":
        os.link(trace, trace.parent / "hard.jsonl")
        report = "hard.jsonl"
    else:
        (trace.parent / "link.json").symlink_to("t.jsonl")
        report = "link.json"
    before = trace.read_bytes()
    result = run_cli(
        "simulate", "--rules", repo / "policies", "--trace", "t.jsonl", "--report", report
    )
    _refused(result, "--report", "--trace")
    assert result.stdout == "" and trace.read_bytes() == before


def test_the_same_file_as_report_and_page_is_refused(run_cli, repo, tmp_path):
    result = _simulate(run_cli, repo, "--report", tmp_path / "r", "--html", f"{tmp_path}/./r")
    _refused(result, "--html", "--report")
    assert not (tmp_path / "r").exists()
    # Two streams are no clash: /dev/null takes both.
    assert _simulate(run_cli, repo, "--report", "/dev/null", "--html", "/dev/null").exit_code == 0


def test_a_report_left_in_a_trace_directory_is_not_written_over(run_cli, repo, trace):
    # The earlier run's report is now one of the files `--trace DIR` would replay.
    old = trace.parent / "r.json"
    old.write_text("{}\n")
    result = run_cli(
        "simulate", "--rules", repo / "policies", "--trace", trace.parent, "--report", old, "-q"
    )
    _refused(result, "--report", "--trace")
    assert old.read_text() == "{}\n"


def test_a_junit_report_over_a_tests_file_is_refused(run_cli, repo, tmp_path):
    import shutil

    shutil.copytree(repo / "policies", tmp_path / "policies")
    tests = next((tmp_path / "policies").glob("*.tests"))
    before = tests.read_bytes()
    result = run_cli("test", tmp_path / "policies", "--junit", tests)
    _refused(result, "--junit", "PATH")
    assert tests.read_bytes() == before
    assert run_cli("test", tmp_path / "policies", "--junit", tmp_path / "j.xml").exit_code == 0


@pytest.mark.parametrize("verb", ["graph", "import", "traces generate"])
def test_other_verbs_refuse_an_output_that_is_an_input(run_cli, repo, tmp_path, verb):
    rules = tmp_path / "p.rules"
    rules.write_text("deny ECS RunInstances\n")
    doc = tmp_path / "p.json"
    doc.write_text('{"Version": "1", "Statement": []}\n')
    args = {
        "graph": ["graph", "--rules", rules, "--out", rules],
        "import": ["import", doc, "--out", doc],
        "traces generate": [
            "traces",
            "generate",
            "--events",
            "3",
            "--rules",
            rules,
            "--out",
            rules,
        ],
    }[verb]
    result = run_cli(*args)
    _refused(result, "--out")
    assert rules.read_text() == "deny ECS RunInstances\n"
    assert doc.read_text() == '{"Version": "1", "Statement": []}\n'


# --- the same trace named twice ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["two spellings", "directory and file", "symlink", "hard link"])
def test_one_trace_named_twice_is_replayed_once(run_cli, repo, trace, form, monkeypatch):
    from compiler.replay.sources import expand

    monkeypatch.chdir(trace.parent)
    if form == "two spellings":
        given = ["t.jsonl", "./t.jsonl"]
    elif form == "directory and file":
        given = ["t.jsonl", "."]
    elif form == "symlink":
        (trace.parent / "link.jsonl").symlink_to("t.jsonl")
        given = ["t.jsonl", "link.jsonl"]
    else:
        os.link(trace, trace.parent / "hard.jsonl")
        given = ["t.jsonl", "hard.jsonl"]
    assert [s.path for s in expand(given).sources] == ["t.jsonl"]  # the first name given

    def events(*traces: str) -> int:
        args = [a for t in traces for a in ("--trace", t)]
        result = run_cli("simulate", "--rules", repo / "policies", *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["events"]

    assert events(*given) == events("t.jsonl") > 0


def test_urls_are_told_apart_by_their_text():
    import fsspec

    from compiler.replay.sources import expand

    fs = fsspec.filesystem("memory")
    fs.pipe("/cliio/a.jsonl", b"{}\n")
    try:
        got = expand(["memory://cliio/a.jsonl", "memory://cliio/a.jsonl", "memory://cliio/"])
        assert [s.path for s in got.sources] == ["memory://cliio/a.jsonl"]
    finally:
        fs.rm("/cliio", recursive=True)


# --- URLs that cannot be read ------------------------------------------------------------------


@pytest.fixture
def failing_filesystems():
    """Two protocols like s3fs's failures, with no network: `nocreds://` cannot list
    (botocore's NoCredentialsError), `denied://` lists but cannot open (a ClientError)."""
    fsspec = pytest.importorskip("fsspec")
    botocore = pytest.importorskip("botocore.exceptions")
    from fsspec.implementations.memory import MemoryFileSystem

    class NoCredentials(MemoryFileSystem):
        protocol = ("nocreds",)

        def isdir(self, path):
            raise botocore.NoCredentialsError()

    class Denied(MemoryFileSystem):
        protocol = ("denied",)

        @classmethod
        def _strip_protocol(cls, path):
            return MemoryFileSystem._strip_protocol(path.replace("denied://", "memory://", 1))

        def _open(self, path, mode="rb", **kwargs):
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise botocore.ClientError(error, "GetObject")

    fsspec.register_implementation("nocreds", NoCredentials, clobber=True)
    fsspec.register_implementation("denied", Denied, clobber=True)
    fsspec.register_implementation(
        "cliiomissing",
        "no_such_package_cliio.FS",
        clobber=True,
        errtxt="Install no_such_package_cliio to read cliiomissing",
    )
    memory = fsspec.filesystem("memory")
    memory.pipe("/cliio-denied/t.jsonl", SAMPLE.read_bytes())
    yield
    memory.rm("/cliio-denied", recursive=True)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "nocreds://bucket/trail/",
            "cannot list: NoCredentialsError: Unable to locate credentials",
        ),
        (
            "denied://cliio-denied/t.jsonl",
            "cannot open: ClientError: An error occurred (AccessDenied)",
        ),
        ("cliiomissing://bucket/x", "Install no_such_package_cliio to read cliiomissing"),
    ],
)
def test_a_url_that_cannot_be_read_is_an_error_naming_it(
    run_cli, repo, failing_filesystems, url, says
):
    result = run_cli("simulate", "--rules", repo / "policies", "--trace", url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{url}: error: ") and says in result.stderr


def test_an_oss_url_without_the_extra_says_which_extra(run_cli, repo):
    import importlib.util

    if importlib.util.find_spec("ossfs") is not None:
        pytest.skip("ossfs is installed")
    result = run_cli("simulate", "--rules", repo / "policies", "--trace", "oss://bucket/trail/")
    assert result.exit_code == 1
    assert result.stderr.startswith("oss://bucket/trail/: error: ")
    assert "pip install 'ramguard[oss]'" in result.stderr


def test_an_s3_endpoint_that_does_not_answer_is_an_error_naming_the_url(run_ramguard, repo):
    pytest.importorskip("s3fs")
    env = {
        "AWS_ACCESS_KEY_ID": "cliio",  # else botocore asks the instance metadata service
        "AWS_SECRET_ACCESS_KEY": "cliio",
        "FSSPEC_S3_ENDPOINT_URL": "http://127.0.0.1:9",  # the discard port: refused
    }
    done = run_ramguard("simulate", "--rules", repo / "policies", "--trace", "s3://b/x", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("s3://b/x: error: cannot list: ")


# --- bench on a malformed line ----------------------------------------------------------------


def test_bench_names_the_line_the_decode_floor_cannot_read(run_cli, repo, trace):
    lines = trace.read_bytes().splitlines(keepends=True)
    lines.insert(2, b'{"eventId": "x", "eventName": \n')  # line 3: not JSON
    trace.write_bytes(b"".join(lines))
    result = run_cli("bench", "--rules", repo / "policies", "--trace", trace, "--no-cedar")
    assert result.exit_code == 1
    assert result.stderr == f"{trace}:3:1: error: malformed event: invalid JSON: truncated\n"


def test_the_typed_floor_names_its_line_too(trace):
    from compiler.replay import TraceError
    from compiler.replay.bench import typed_decode_file

    trace.write_bytes(trace.read_bytes() + b'{"eventName": 5}\n')
    n = len(trace.read_bytes().splitlines())
    with pytest.raises(TraceError) as caught:
        typed_decode_file(trace)
    assert str(caught.value).startswith(f"{trace}:{n}:1: error: malformed event: expected `str")


# --- a closed pipe and Ctrl-C -------------------------------------------------------------------


def _closed_pipe_run(*args: str, cwd: Path) -> tuple[int, str]:
    """Run ramguard with stdout a pipe whose reader has gone (as `| head -1` after its line):
    every write gets EPIPE, whenever it comes (Python ignores SIGPIPE)."""
    import subprocess

    from tests.conftest import RAMGUARD

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [str(RAMGUARD), *args], stdout=write, stderr=subprocess.PIPE, cwd=cwd, timeout=120
        )
    finally:
        os.close(write)
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [
        ["catalog", "list"],  # rich's console
        ["traces", "generate", "--events", "20000", "--out", "-", "-q"],  # bytes to stdout.buffer
        ["import", "-q", "tests/data/import/ims-ram.json"],  # written, flushed only at exit
        ["decide", "--rules", "policies", "ecs:RunInstances"],  # click.echo
    ],
    ids=["catalog list", "traces generate", "import", "decide"],
)
def test_a_closed_stdout_pipe_exits_141_quietly(repo, args):
    code, stderr = _closed_pipe_run(*args, cwd=repo)
    assert (code, stderr) == (141, "")


def test_a_reader_that_leaves_early_ends_the_run_quietly(repo):
    import subprocess

    from tests.conftest import RAMGUARD

    run = subprocess.Popen(
        [str(RAMGUARD), "traces", "generate", "--events", "200000", "--out", "-", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=repo,
    )
    assert run.stdout.readline().startswith(b"{")  # `| head -1`
    run.stdout.close()
    with run.stderr:
        err = run.stderr.read()
    assert (run.wait(timeout=120), err) == (141, b"")


def _interrupt(args: list[str], cwd: Path, ready, stdin=None) -> tuple[int, str]:
    """Start ramguard in a session of its own, wait until ``ready()``, then Ctrl-C it as a
    terminal does (SIGINT to the whole process group, helpers too)."""
    import signal
    import subprocess
    import time

    from tests.conftest import RAMGUARD

    run = subprocess.Popen(
        [str(RAMGUARD), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, "it ended before it could be interrupted"
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=60)
    return run.returncode, err.decode()


def test_ctrl_c_on_a_long_simulate_exits_130_and_writes_no_report(run_cli, repo, tmp_path):
    import threading
    import time

    trace = tmp_path / "g.jsonl"
    assert run_cli("traces", "generate", "--events", "20000", "--out", trace, "-q").exit_code == 0
    report = tmp_path / "out" / "r.json"
    # The generated trace through a stdin that stays open: the replay is still reading.
    read, write = os.pipe()
    fed = threading.Event()

    def feed() -> None:
        with open(trace, "rb") as fh:
            while chunk := fh.read(1 << 16):
                os.write(write, chunk)
        fed.set()

    threading.Thread(target=feed, daemon=True).start()
    started = time.monotonic()
    try:
        code, err = _interrupt(
            ["simulate", "--rules", "policies", "--trace", "-", "--report", str(report)],
            repo,
            lambda: fed.is_set() and time.monotonic() - started > 1.5,
            stdin=read,
        )
    finally:
        os.close(read)
        os.close(write)
    assert (code, err) == (130, "")  # no traceback, no "Aborted!"
    assert not report.parent.exists() or os.listdir(report.parent) == []


def test_ctrl_c_while_a_trace_is_written_leaves_no_half_file(repo, tmp_path):
    out = tmp_path / "big.jsonl"
    code, err = _interrupt(
        ["traces", "generate", "--events", "5000000", "--out", str(out), "-q"],
        repo,
        lambda: any(tmp_path.iterdir()),  # its temporary file is being written
    )
    assert (code, err) == (130, "")
    assert os.listdir(tmp_path) == []  # neither big.jsonl nor .big.jsonl.*.tmp


# --- compile --check on a directory that is not there --------------------------------------------


def test_check_of_a_missing_directory_says_missing(run_cli, repo, tmp_path):
    out = tmp_path / "nowhere"
    result = run_cli("compile", repo / "policies", "--out", out, "--check")
    assert result.exit_code == 1  # as for any stale directory
    assert result.stderr.splitlines()[0] == f"{out}: stale: missing: no such directory"
    assert "differs" not in result.stderr and not out.exists()


def test_check_names_a_missing_document_as_missing(run_cli, repo, tmp_path):
    out = tmp_path / "out"
    assert run_cli("compile", repo / "policies", "--out", out, "-q").exit_code == 0
    gone = next(out.glob("*.json"))
    gone.unlink()
    result = run_cli("compile", repo / "policies", "--out", out, "--check")
    assert result.exit_code == 1
    assert f"{gone}: stale: missing: the rules compile to it" in result.stderr.splitlines()


def _simulate_to_stdout(tmp_path, out, *extra):
    root = Path(__file__).resolve().parent.parent
    code = "import sys; sys.path.insert(0, sys.argv.pop(1)); from compiler.cli import main; main()"
    args = [sys.executable, "-c", code, str(root), "simulate", "--rules"]
    args += [str(root / "policies" / "leaked-accesskey-protection.rules"), "--trace"]
    args += [str(root / "tests" / "data" / "sample-trace.jsonl.gz"), "--report", "/dev/stdout"]
    return subprocess.run([*args, *extra], stdout=out, stderr=subprocess.PIPE, check=False)


def test_report_to_dev_stdout_appends_to_a_log_it_is_redirected_to(tmp_path):
    """`--report /dev/stdout >> log` writes through the descriptor the shell opened (its
    offset, O_APPEND): reopening /proc/self/fd/1 truncated the log to the report alone."""
    log = tmp_path / "log.txt"
    log.write_text("earlier 1\nearlier 2\n")
    with open(log, "ab") as out:
        proc = _simulate_to_stdout(tmp_path, out, "-q")
    assert proc.returncode == 0, proc.stderr
    text = log.read_text()
    assert text.startswith("earlier 1\nearlier 2\n{")
    assert json.loads(text[len("earlier 1\nearlier 2\n") :])["events"] == 1000


def test_report_and_summary_to_one_redirected_stdout_follow_each_other(tmp_path):
    """`--report /dev/stdout > out`: the report, then the summary after it, not over it."""
    path = tmp_path / "out.txt"
    with open(path, "wb") as out:
        proc = _simulate_to_stdout(tmp_path, out)
    assert proc.returncode == 0, proc.stderr
    text = path.read_text()
    report, end = json.JSONDecoder().raw_decode(text)
    assert report["events"] == 1000
    assert "Replay" in text[end:] and "Replay" not in text[:end]
