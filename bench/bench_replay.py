"""Replay against the floor: decoding the same JSON-lines file alone; and replay memory as
the trace grows (tracemalloc peak, recorded as extra_info, not timed)."""

from __future__ import annotations

import tracemalloc

from bench import workloads
from compiler.catalog import default_catalog
from compiler.replay.bench import decode_file, replay_file


def test_decode(benchmark, trace_file):
    benchmark.extra_info["per"] = workloads_lines(trace_file)
    benchmark.pedantic(decode_file, args=(trace_file,), rounds=5, warmup_rounds=1)


def test_replay(benchmark, trace_file, seed_policy):
    catalog = default_catalog()
    benchmark.extra_info["per"] = workloads_lines(trace_file)
    benchmark.pedantic(
        replay_file, args=(seed_policy, trace_file, catalog), rounds=5, warmup_rounds=1
    )


def workloads_lines(path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _peak(policy, path, catalog) -> int:
    tracemalloc.start()
    try:
        replay_file(policy, path, catalog)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_replay_memory(benchmark, tmp_path, seed_policy):
    """Peak memory replaying N and 4N events: flat means the ratio stays near 1."""
    catalog = default_catalog()
    small = workloads.write_jsonl_trace(tmp_path / "small.jsonl", 20_000, seed_policy, seed=5)
    large = workloads.write_jsonl_trace(tmp_path / "large.jsonl", 80_000, seed_policy, seed=7)
    warm = workloads.write_jsonl_trace(tmp_path / "warm.jsonl", 2_000, seed_policy, seed=3)
    replay_file(seed_policy, warm, catalog)  # bounded caches filled before measuring
    peaks = {
        "small": _peak(seed_policy, small, catalog),
        "large": _peak(seed_policy, large, catalog),
    }
    benchmark.extra_info.update(
        peak_small=peaks["small"],
        peak_large=peaks["large"],
        events_small=20_000,
        events_large=80_000,
    )
    benchmark.pedantic(lambda: None, rounds=1)
