"""Replay against the floor: decoding the same JSON-lines file alone; and replay memory as
the trace grows (tracemalloc peak, recorded as extra_info, not timed). Issue 13: ``simulate``
with both engines, attribution and a ``--baseline`` plan against the bare decode, in
interleaved rounds, and its memory at 1x and 4x events."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from bench import workloads
from bench.interleave import interleaved
from compiler.catalog import default_catalog
from compiler.policy import compile_rules
from compiler.replay.bench import decode_file, replay_file
from compiler.replay.chain_replay import ChainRules, OrgReplay
from compiler.replay.impact import Baseline
from compiler.replay.simulate import Engines, simulate

SEED_RULES = workloads.SEED_POLICY


def planted_engines(directory: Path) -> Engines:
    """Both engines on the seed with one ECS operation added and one removed, and the seed
    itself as the baseline: a plan with changes in both directions."""
    text = SEED_RULES.read_text()
    changed = text.replace(
        "  RunInstances, CreateInstance,", "  CreateInstance, DescribeInstances,"
    )
    assert changed != text
    path = directory / "planted.rules"
    path.write_text(changed)
    baseline = Baseline((str(SEED_RULES),), policy=compile_rules([SEED_RULES]))
    return Engines.for_policy(compile_rules([path]), baseline=baseline)


def simulate_peak(engines: Engines, path: Path) -> int:
    tracemalloc.start()
    try:
        simulate([str(path)], engines)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


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


def test_simulate_with_plan(benchmark, tmp_path, trace_file):
    """``simulate`` (both engines, attribution, a baseline plan) vs the bare decode of the
    same file, and vs ``simulate`` without a baseline, in interleaved rounds."""
    engines = planted_engines(tmp_path)
    plain = Engines.for_policy(engines.policy)
    simulate([str(trace_file)], engines)
    times = interleaved(
        {
            "decode": lambda: decode_file(trace_file),
            "simulate": lambda: simulate([str(trace_file)], plain),
            "plan": lambda: simulate([str(trace_file)], engines),
        },
        rounds=3,
    )
    benchmark.extra_info.update(rounds=times, per=workloads_lines(trace_file))
    benchmark.pedantic(lambda: None, rounds=1)


def test_simulate_plan_memory(benchmark, tmp_path, seed_policy):
    """tracemalloc peak of ``simulate`` with a plan on N and 4N events (after a warm-up)."""
    engines = planted_engines(tmp_path)
    small = workloads.write_jsonl_trace(tmp_path / "small.jsonl", 20_000, seed_policy, seed=5)
    large = workloads.write_jsonl_trace(tmp_path / "large.jsonl", 80_000, seed_policy, seed=7)
    warm = workloads.write_jsonl_trace(tmp_path / "warm.jsonl", 2_000, seed_policy, seed=3)
    simulate([str(warm)], engines)
    benchmark.extra_info.update(
        peak_small=simulate_peak(engines, small),
        peak_large=simulate_peak(engines, large),
        events_small=20_000,
        events_large=80_000,
    )
    benchmark.pedantic(lambda: None, rounds=1)


ORG_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "org-allowlist"


def _org_trace(trace_file: Path, out: Path) -> Path:
    """The bench trace with its callers moved into the example org: three described member
    accounts (one on an allow list) and one it does not describe, by caller."""
    import json

    accounts = ("1111111111111111", "2222222222222222", "3333333333333333", "4444")
    with trace_file.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for line in src:
            event = json.loads(line)
            ident = event.get("userIdentity")
            if isinstance(ident, dict):
                name = str(ident.get("userName", ""))
                ident["accountId"] = accounts[sum(map(ord, name)) % len(accounts)]
            dst.write(json.dumps(event) + "\n")
    return out


def test_simulate_with_org(benchmark, tmp_path, trace_file):
    """``simulate`` deciding every event along its account's org.toml chain (both engines)
    vs the same rules without the org (Deny rules only), in interleaved rounds."""
    trace = _org_trace(trace_file, tmp_path / "org.jsonl")
    policy = compile_rules([ORG_EXAMPLE])
    org = OrgReplay(ChainRules(policy, policy.load_org(ORG_EXAMPLE / "org.toml")), str(ORG_EXAMPLE))
    flat = Engines.for_policy(policy)
    chained = Engines.for_policy(policy, org=org)
    simulate([str(trace)], chained)
    times = interleaved(
        {
            "decode": lambda: decode_file(trace),
            "flat": lambda: simulate([str(trace)], flat),
            "org": lambda: simulate([str(trace)], chained),
        },
        rounds=3,
    )
    benchmark.extra_info.update(rounds=times, per=workloads_lines(trace))
    benchmark.pedantic(lambda: None, rounds=1)
