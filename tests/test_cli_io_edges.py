"""What the CLI does at the edges of its input and output: what is at an output path (a
symlink, a FIFO, a device), an output that is also an input, the same trace named twice, URLs
that cannot be read, a closed pipe and Ctrl-C."""

from __future__ import annotations

import json
import os
import stat
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
