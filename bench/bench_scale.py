"""Replay at scale (issues 14 and 15): ``simulate`` end to end with both engines on 10⁶ events,
in one process, ``--jobs 2`` and a Dask LocalCluster of 2 workers, against the bare typed
decode of the same file; planning 10⁵ delivery file names; peak memory of the CLI.

Long: these belong to ``make bench``, never to the CI gate. ``RAMGUARD_BENCH_EVENTS`` makes
the trace smaller for a quick look (the rows then say how many events they ran on).

Every peer runs in each of three interleaved rounds (``interleave``), so the machine's load
hits all of them alike; the Dask cluster is started once, outside the rounds (its start-up
is a fixed cost, not a rate), the helpers of ``--jobs`` are started inside (as the CLI
does: ``--jobs 2`` is this process and one helper). ``python -m bench`` prints the rows
and the projection for 10⁹ events.
"""

from __future__ import annotations

import gzip
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import workloads
from bench.interleave import interleaved
from compiler.catalog import default_catalog
from compiler.replay.bench import typed_decode_file
from compiler.replay.cluster import local_cluster, process_runner, run_on
from compiler.replay.simulate import Engines, plan, report_dict, simulate

EVENTS = int(os.environ.get("RAMGUARD_BENCH_EVENTS", "1000000"))
SMALL_EVENTS = max(1, EVENTS // 10)
NAMES = 100_000
GZIP_SAMPLE = 20_000


def _record(benchmark, **info) -> None:
    benchmark.extra_info.update(info)
    benchmark.pedantic(lambda: None, rounds=1)


@pytest.fixture(scope="module")
def big_trace(tmp_path_factory, seed_policy):
    directory = tmp_path_factory.mktemp("scale")
    path = workloads.write_jsonl_trace(directory / "trace.jsonl", EVENTS, seed_policy)
    # The first tenth, for peak memory at 1x against 10x.
    small = directory / "small.jsonl"
    with open(path, "rb") as src, open(small, "wb") as out:
        out.writelines(itertools.islice(src, SMALL_EVENTS))
    return path, small


def test_replay_end_to_end(benchmark, big_trace, seed_policy):
    path, _ = big_trace
    from distributed import Client

    engines = Engines.for_policy(seed_policy)
    default_catalog()
    reports = {}

    def one():
        reports["one"] = simulate([str(path)], engines)

    def jobs2():
        reports["jobs2"] = simulate([str(path)], engines, runner=process_runner(2))

    with (
        local_cluster(2) as cluster,
        Client(cluster) as client,
    ):

        def dask2():
            splits = plan([str(path)])
            reports["dask2"] = run_on(client, splits, engines)

        dask2()  # workers import ramguard and unpickle the rules once, as a cluster would
        times = interleaved(
            {"decode": lambda: typed_decode_file(path), "one": one, "jobs2": jobs2, "dask2": dask2}
        )
    one_report = reports["one"]
    expected = _untimed(one_report, path, engines)
    for name in ("jobs2", "dask2"):  # the speed-ups count only if the answers are the same
        assert _untimed(reports[name], path, engines) == expected, name
    stats = {n: s.to_dict() for n, s in one_report.engines.items()}
    _record(
        benchmark,
        rounds=times,
        events=one_report.events,
        splits=len(plan([str(path)])),
        cores=os.cpu_count(),
        engine_seconds={n: s["seconds"] for n, s in stats.items()},
        gzip=_gunzip_cost(path),
    )


def _untimed(report, path: Path, engines) -> dict:
    """The report's JSON without what a clock measured: it must be the same bytes."""
    data = report_dict(report, [str(path)], engines)
    data["engines"] = {n: e["decisions"] for n, e in data["engines"].items()}
    return data


def _gunzip_cost(path: Path) -> dict:
    """Seconds to gunzip GZIP_SAMPLE events (ActionTrail delivers gzip) and their sizes."""
    with open(path, "rb") as fh:
        raw = b"".join(itertools.islice(fh, GZIP_SAMPLE))
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        gzip.decompress(packed)
        best = min(best, time.perf_counter() - t0)
    lines = raw.count(b"\n")
    return {"events": lines, "seconds": best, "raw": len(raw), "packed": len(packed)}


# Started from a small Python that forks: Linux keeps a process's peak RSS across exec
# (``ru_maxrss``), and a child spawned straight from this process (vfork, then exec) starts
# from this process's own peak — the bench's heap, hundreds of MiB after the other rows,
# which the row then reported for 10^5 and 10^6 events alike. The fork of a small process
# starts from a few MiB.
_MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _peak_kib(args: list[str]) -> int:
    """Peak resident memory of one run of ``args`` (KiB), from wait4's rusage."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "0", f"{args[:2]} exited {out[0]}"
    return int(out[1])


def test_cli_peak_memory(benchmark, big_trace):
    """`ramguard simulate` (both engines, one process) on 1x and 10x events: flat = 1."""
    path, small = big_trace
    exe = str(Path(sys.executable).with_name("ramguard"))
    rules = str(workloads.SEED_POLICY)
    peaks = {
        name: _peak_kib([exe, "simulate", "--rules", rules, "--trace", str(p), "-q"])
        for name, p in (("small", small), ("large", path))
    }
    _record(benchmark, peak_kib=peaks, events={"small": SMALL_EVENTS, "large": EVENTS})


def _delivery_names(n: int) -> list[str]:
    """``n`` ActionTrail delivery paths of a multi-account trail, in no particular order."""
    regions = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1")
    out = []
    for i in range(n):
        account = 1_000_000_000_000_000 + i % 37
        region = regions[i % len(regions)]
        day = 1 + i % 28
        stamp = f"202611{day:02d}{i % 24:02d}{i % 60:02d}{(i * 7) % 60:02d}"
        count = 200 + i % 300
        name = f"Actiontrail_{region}_{stamp}_1002_{count}_{count * 130}_{i:032x}.gz"
        out.append(
            f"oss://trail/AliyunLogs/Actiontrail/rd-abc123/{account}/{region}/"
            f"2026/11/{day:02d}/{name}"
        )
    out.reverse()
    return out


def test_plan_names(benchmark):
    """plan() on 10⁵ delivery names against the floor: sorting them and splitting each name
    into its fields (what any planner must at least do)."""
    names = _delivery_names(NAMES)

    def floor():
        for name in sorted(names):
            name.rsplit("/", 1)[-1].split("_")

    times = interleaved({"floor": floor, "plan": lambda: plan(names)})
    _record(benchmark, rounds=times, names=NAMES, splits=len(plan(names)))
