"""Org-wide replay (issue 14): inputs where ActionTrail delivers them, plans, and the same
report from one process, ``--jobs 2``, a Dask LocalCluster, a cluster that loses a worker
mid-run, and an S3-compatible server."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.catalog import default_catalog
from compiler.cli import main
from compiler.policy import compile_rules
from compiler.replay import TraceError, read_events
from compiler.replay.cluster import local_cluster, process_runner, run_on
from compiler.replay.generate import generate_events, write_delivery_tree
from compiler.replay.simulate import Engines, Window, plan, report_dict, simulate
from compiler.replay.sources import Source, delivery_info, expand, prune

ROOT = Path(__file__).resolve().parent.parent
CATALOG = default_catalog()
EVENTS = 12_000
SPLIT_EVENTS = 1_000


@pytest.fixture(scope="module")
def policy():
    return compile_rules([ROOT / "policies"])


@pytest.fixture(scope="module")
def tree(tmp_path_factory, policy):
    root = tmp_path_factory.mktemp("trail")

    def denied(action: str) -> bool:
        return policy.decide(action).denied

    events = generate_events(EVENTS, 11, CATALOG, denied)
    files = write_delivery_tree(
        root, events, accounts=3, days=2, seed=11, per_file=150, total=EVENTS
    )
    return root, files


@pytest.fixture(scope="module")
def engines(policy):
    return Engines.for_policy(policy)


def without_timing(data: dict) -> dict:
    """The report minus what a clock measured (DESIGN: byte-identical, timing aside)."""
    out = json.loads(json.dumps(data))
    for stats in out["engines"].values():
        for key in ("seconds", "decisions_per_second", "p50_ns", "p99_ns"):
            stats.pop(key)
    return out


@pytest.fixture(scope="module")
def one_process(tree, engines):
    sources = expand([str(tree[0])]).sources
    result = simulate(sources, engines, split_events=SPLIT_EVENTS)
    return sources, without_timing(report_dict(result, sources, engines))


# --- the layout and the plan -------------------------------------------------------------


def test_delivery_paths_give_region_account_time_and_count():
    single = (
        "oss://b/p/AliyunLogs/Actiontrail/cn-hangzhou/2026/03/02/"
        "Actiontrail_cn-hangzhou_20260302101500_1002_42_1234_0123456789abcdef0123456789abcdef.gz"
    )
    multi = single.replace(
        "Actiontrail/cn-hangzhou", "Actiontrail/rd-ab12cd/1234567890123456/cn-hangzhou"
    )
    s, m = delivery_info(single), delivery_info(multi)
    assert (s.region, s.account, s.stamp, s.count, s.size) == (
        "cn-hangzhou",
        None,
        "20260302101500",
        42,
        1234,
    )
    assert (m.region, m.account, m.count) == ("cn-hangzhou", "1234567890123456", 42)
    assert delivery_info("/x/trace.jsonl.gz") == Source("/x/trace.jsonl.gz")


def test_generated_tree_is_the_multi_account_layout(tree):
    _, files = tree
    assert len(files) > 40
    infos = [delivery_info(p.as_posix()) for p in files]
    assert {i.account for i in infos} and None not in {i.account for i in infos}
    assert len({i.account for i in infos}) == 3
    assert sum(i.count for i in infos) == EVENTS
    assert {i.stamp[:8] for i in infos} == {"20260302", "20260303"}
    assert all(p.stat().st_size == i.size for p, i in zip(files, infos, strict=True))


def test_account_is_taken_from_the_path_when_the_event_lacks_it(tree):
    _, files = tree
    data = files[0]
    info = delivery_info(data.as_posix())
    events = list(read_events(data, 0, CATALOG, account=info.account, region=info.region))
    arns = {e.context.get("acs:PrincipalARN") for e in events}
    assert all(a is None or f":{info.account}:" in a for a in arns)
    bare = list(read_events(data, 0, CATALOG))
    lacking = sum(1 for a, b in zip(events, bare, strict=True) if a.context != b.context)
    assert lacking > 0  # some events had no accountId and got the path's


def test_plan_is_sized_by_counts_and_independent_of_anything_else(tree):
    sources = expand([str(tree[0])]).sources
    splits = plan(sources, split_events=SPLIT_EVENTS)
    assert plan(list(reversed(sources)), split_events=SPLIT_EVENTS) == splits
    assert sum(len(s.parts) for s in splits) == len(sources)
    assert all(s.events <= SPLIT_EVENTS for s in splits)
    assert len(splits) >= EVENTS // SPLIT_EVENTS


def test_planning_a_hundred_thousand_names_needs_no_file(tmp_path):
    names = [
        f"oss://b/AliyunLogs/Actiontrail/rd-x/{1000000000000000 + a}/cn-hangzhou/2026/03/02/"
        f"Actiontrail_cn-hangzhou_20260302{i:06d}_1002_500_40000_{'0' * 32}.gz"
        for a in range(10)
        for i in range(10_000)
    ]
    splits = plan([delivery_info(n) for n in names])
    assert sum(s.events for s in splits) == 500 * 100_000
    assert sum(len(s.parts) for s in splits) == 100_000


def test_since_until_prune_files_by_name_and_events_by_time(tree, engines):
    root, _ = tree
    sources = expand([str(root)]).sources
    # Every file is named on 2 or 3 March; pruning keeps a day of slack either side.
    kept, pruned = prune(sources, datetime.fromisoformat("2026-03-05T00:00:00Z"), None)
    assert kept == [] and pruned == len(sources)
    kept, pruned = prune(sources, None, datetime.fromisoformat("2026-03-01T12:00:00Z"))
    assert 0 < len(kept) < len(sources) and pruned == len(sources) - len(kept)
    day_two = Window(
        since=datetime.fromisoformat("2026-03-03T00:00:00Z"),
        until=datetime.fromisoformat("2026-03-04T00:00:00Z"),
    )
    result = simulate(sources, engines, window=day_two, split_events=SPLIT_EVENTS)
    assert 0 < result.events < EVENTS
    assert result.events + result.outside_window == EVENTS
    assert result.events == result.decided + result.malformed


def test_directories_globs_and_skipped_files(tmp_path, tree):
    root, files = tree
    (tmp_path / "notes.txt").write_text("not a trace")
    link = tmp_path / "linked"
    link.symlink_to(root, target_is_directory=True)
    got = expand([str(tmp_path)])
    assert len(got.sources) == len(files)  # through the symlinked directory
    assert got.skipped == [str(tmp_path / "notes.txt")]
    globbed = expand([str(root / "AliyunLogs" / "**" / "*.gz")]).sources
    assert [s.path for s in globbed] == sorted(str(f) for f in files)
    result = CliRunner().invoke(
        main,
        ["simulate", "--rules", str(ROOT / "policies"), "--trace", str(tmp_path / "nope*")],
    )
    assert result.exit_code == 1 and "no file matches this pattern" in result.output


# --- engines: the same report everywhere -------------------------------------------------


def test_jobs_2_gives_the_same_report_as_one_process(tree, engines, one_process):
    sources, expected = one_process
    result = simulate(sources, engines, split_events=SPLIT_EVENTS, runner=process_runner(2))
    assert without_timing(report_dict(result, sources, engines)) == expected
    assert expected["events"] == EVENTS and expected["decided"] == EVENTS


def test_jobs_2_on_the_command_line_writes_the_same_report(tmp_path, tree, one_process):
    _, expected = one_process
    out = tmp_path / "r.json"
    args = ["simulate", "--rules", str(ROOT / "policies"), "--trace", str(tree[0])]
    args += ["--split-events", str(SPLIT_EVENTS), "--jobs", "2", "--report", str(out), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    got = without_timing(json.loads(out.read_text()))
    got.pop("files")
    assert got == expected


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        local_cluster(2) as c,
        distributed.Client(c) as client,
    ):
        yield client


def test_dask_local_cluster_gives_the_same_report(cluster, tree, engines, one_process):
    sources, expected = one_process
    splits = plan(sources, split_events=SPLIT_EVENTS)
    result = run_on(cluster, splits, engines)
    assert without_timing(report_dict(result, sources, engines)) == expected
    # Both workers took part, and the rules were sent as one graph literal.
    assert len(cluster.scheduler_info()["workers"]) == 2


def test_on_dask_the_earliest_failing_split_is_the_error(cluster, tmp_path, tree, engines):
    sources = expand([str(tree[0])]).sources
    bad = []
    for at in (len(sources) // 3, 2 * len(sources) // 3):  # sorted just after these
        path = Path(sources[at].path + "x.gz")
        path.write_bytes(b"\x1f\x8b\x08\x00" + b"not gzip" * 20)
        bad.append(path)
    try:
        files = expand([str(tree[0])]).sources
        with pytest.raises(TraceError) as serial:
            simulate(files, engines, split_events=SPLIT_EVENTS)
        with pytest.raises(TraceError) as dask:
            run_on(cluster, plan(files, split_events=SPLIT_EVENTS), engines)
        assert str(dask.value) == str(serial.value) and str(bad[0]) in str(dask.value)
    finally:
        for path in bad:
            path.unlink()


def test_a_worker_killed_mid_run_is_retried_and_the_report_is_the_same(
    cluster, tree, engines, one_process
):
    sources, expected = one_process
    splits = plan(sources, split_events=SPLIT_EVENTS)
    pids = cluster.run(os.getpid)
    killed: list[tuple[str, int]] = []

    def kill_one(_n: int) -> None:
        if killed:
            return
        # A worker that is running a split right now: its result must be recomputed.
        for _ in range(200):
            busy = [w for w, keys in cluster.processing().items() if keys]
            if busy:
                break
            time.sleep(0.01)
        worker = busy[0]
        killed.append((worker, len(cluster.processing()[worker])))
        os.kill(pids[worker], signal.SIGKILL)

    result = run_on(cluster, splits, engines, progress=kill_one)
    assert killed and killed[0][1] >= 1
    assert without_timing(report_dict(result, sources, engines)) == expected
    assert result.events == EVENTS  # none lost, none counted twice
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarted it


# --- URLs: an S3-compatible server on 127.0.0.1 ------------------------------------------


@pytest.fixture
def s3(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    fsspec = pytest.importorskip("fsspec")
    pytest.importorskip("s3fs")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setitem(
        fsspec.config.conf, "s3", {"client_kwargs": {"endpoint_url": f"http://{host}:{port}"}}
    )
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    try:
        yield fs
    finally:
        fsspec.filesystem("s3").clear_instance_cache()
        server.stop()


def _no_files(value):
    """A report part without its examples' file names (a trail's place differs)."""
    if isinstance(value, dict):
        return {k: _no_files(v) for k, v in value.items() if k != "file"}
    if isinstance(value, list):
        return [_no_files(v) for v in value]
    return value


def test_a_trail_in_an_s3_bucket_replays_like_the_local_tree(s3, tree, engines, one_process):
    root, files = tree
    s3.mkdir("trail")
    for f in files:
        s3.put_file(str(f), "trail/" + f.relative_to(root).as_posix())
    got = expand(["s3://trail/AliyunLogs/"])
    assert len(got.sources) == len(files)
    assert {s.account for s in got.sources} == {delivery_info(f.as_posix()).account for f in files}
    result = simulate(got.sources, engines, split_events=SPLIT_EVENTS)
    data = without_timing(report_dict(result, got.sources, engines))
    _, expected = one_process
    # Same counts; file names differ only by where they live.
    for key in ("events", "decided", "denied", "allowed", "recorded", "by_rule", "by_access_key"):
        assert _no_files(data[key]) == _no_files(expected[key]), key
    assert data["sources"][0].startswith("s3://trail/AliyunLogs/")


def test_a_local_cluster_starts_beside_another_one_holding_port_8787():
    # A user's own Dask dashboard (or a second ramguard run) holds 8787; the scheduler's
    # HTTP endpoints used to fall back with a warning, which is an error under -W error.
    import socket

    pytest.importorskip("distributed")
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # someone else already holds it: the condition under test
    try:
        with local_cluster(1) as c:
            assert c.scheduler_address.startswith("tcp://127.0.0.1:")
    finally:
        holder.close()
