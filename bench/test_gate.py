"""The CI gate: a fast subset of the benchmarks, failing on ratios, never on absolute time.

Each check times two things in one process, interleaved (best of several alternating rounds),
so that load from other processes hits both sides; the thresholds in ``thresholds.json`` sit
with headroom past DESIGN.md's targets. Runs in well under a minute on two cores.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import cedarpy
import pytest

from bench import workloads
from bench.__main__ import exponent
from bench.bench_replay import planted_engines, simulate_peak
from compiler.catalog import default_catalog
from compiler.emit.cedar import cedar_policies, cedar_request
from compiler.policy import compile_rules
from compiler.ram import RamEvaluator
from compiler.replay.bench import decode_file, replay_file
from compiler.replay.simulate import simulate

THRESHOLDS = json.loads((Path(__file__).parent / "thresholds.json").read_text())
ROUNDS = 7


def _best_pair(a, b, rounds: int = ROUNDS) -> tuple[float, float]:
    """Best time of ``a`` and of ``b`` over alternating rounds."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        best_a, best_b = min(best_a, t1 - t0), min(best_b, t2 - t1)
    return best_a, best_b


def _check(name: str, value: float) -> None:
    print(f"{name} = {value:.3f}")  # shown with `pytest -rP`
    limit = THRESHOLDS[name]
    if "max" in limit:
        assert value <= limit["max"], f"{name} = {value:.2f}, above {limit['max']} ({limit['why']})"
    else:
        assert value >= limit["min"], f"{name} = {value:.2f}, below {limit['min']} ({limit['why']})"


def test_seed_compile_whole_cloud_vs_seed_catalog():
    whole, seed = workloads.seed_compilers()
    assert whole() == seed()  # the seed's JSON does not depend on the rest of the cloud
    # Each side is ~4 ms: 31 rounds cost a quarter of a second, and best of 9 once read 2.03
    # (limit 1.9) beside other jobs where reruns read 1.14-1.19.
    w, s = _best_pair(whole, seed, rounds=31)
    _check("seed_compile_vs_seed_catalog", w / s)


def _loop(decide, requests):
    def run():
        for a, c in requests:
            decide(a, c)

    return run


def test_warm_trie_vs_python_call(seed_policy, seed_requests):
    """The warm decider against the least a Python decider can be: a function of the same
    signature returning one dict subscript. Both sides are Python calls, so the ratio does
    not move with how a machine prices a Python call against a C one — the DESIGN figure,
    against a bare ``dict.get`` (a C call), does: 1.9-2.1x on the machines we measure on and
    3.35x on CI's runner, same code. ``make bench`` prints that figure; this fails when the
    warm path does more than its one subscript (a memo lookup by context, a method call,
    a check), which it did at 2-3x this floor before the closures."""
    actions = [a for a, _ in seed_requests]
    table = {a: a for a in actions}
    decide = seed_policy.trie.decider()

    def subscript(action, context=None, resource=None):
        return table[action]

    def floor():
        for a in actions:
            subscript(a)

    def trie():
        for a in actions:
            decide(a)

    trie()
    f, t = _best_pair(floor, trie, rounds=15)
    _check("trie_vs_python_call", t / f)


@pytest.mark.parametrize("which", ["seed", "mixed"])
def test_trie_vs_ram_evaluator(which, seed_policy, mixed_policy, seed_requests, mixed_requests):
    policy, requests = (
        (seed_policy, seed_requests) if which == "seed" else (mixed_policy, mixed_requests)
    )
    requests = requests[:1000]
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents]).decide
    trie = policy.trie.decider()
    _loop(trie, requests)()
    # 15 rounds: the trie's side is a quarter of a millisecond, easily disturbed (best of 5
    # read 28.9 in a fresh-clone run where it reads 37-57 alone; the floor is 20).
    t, r = _best_pair(_loop(trie, requests), _loop(ram, requests), rounds=15)
    _check(f"ram_vs_trie_{which}", r / t)


def test_trie_vs_cedar(mixed_policy, mixed_requests):
    requests = mixed_requests[:500]
    policies = cedarpy.PolicySet.from_str(
        "\n".join(c.text for c in cedar_policies(mixed_policy.policies))
    )
    entities = cedarpy.Entities.from_json_str("[]")
    cedar_requests = [cedar_request(a, c) for a, c in requests]
    trie = mixed_policy.trie.decider()
    _loop(trie, requests)()
    t, c = _best_pair(
        _loop(trie, requests),
        lambda: cedarpy.is_authorized_batch(cedar_requests, policies, entities),
        rounds=3,
    )
    _check("cedar_vs_trie", c / t)


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory, seed_policy):
    path = tmp_path_factory.mktemp("gate") / "trace.jsonl"
    return workloads.write_jsonl_trace(path, 10_000, seed_policy)


def test_replay_vs_decode(small_trace, seed_policy):
    catalog = default_catalog()
    replay_file(seed_policy, small_trace, catalog)
    d, r = _best_pair(
        lambda: decode_file(small_trace),
        lambda: replay_file(seed_policy, small_trace, catalog),
        # 9, not 3: on a runner shared with other jobs the best of 3 replays was still disturbed
        # (0.24-0.27 in fresh-clone runs at load average 6-7, 0.40-0.48 in the same minutes alone)
        rounds=9,
    )
    _check("replay_vs_decode", d / r)


def test_replay_memory_is_flat(tmp_path, seed_policy):
    catalog = default_catalog()
    warm = workloads.write_jsonl_trace(tmp_path / "w.jsonl", 2_000, seed_policy, seed=3)
    small = workloads.write_jsonl_trace(tmp_path / "s.jsonl", 5_000, seed_policy, seed=5)
    large = workloads.write_jsonl_trace(tmp_path / "l.jsonl", 20_000, seed_policy, seed=7)
    # Bounded caches (memo, address parsing) fill on a separate trace first: what must stay
    # flat is the growth with the trace, not the caches' one-off fill.
    replay_file(seed_policy, warm, catalog)
    peaks = []
    for path in (small, large):
        tracemalloc.start()
        try:
            replay_file(seed_policy, path, catalog)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    _check("replay_memory_growth", peaks[1] / peaks[0])


def test_simulate_with_plan_vs_decode(small_trace, tmp_path):
    """Issue 13: simulate with both engines, attribution and a baseline plan, end to end,
    against decoding the same file alone."""
    engines = planted_engines(tmp_path)
    simulate([str(small_trace)], engines)
    d, s = _best_pair(
        lambda: decode_file(small_trace),
        lambda: simulate([str(small_trace)], engines),
        rounds=3,
    )
    _check("simulate_plan_vs_decode", d / s)


def test_simulate_with_plan_memory_is_flat(tmp_path, seed_policy):
    """Issue 13: peak memory of simulate with attribution and a plan, 4x the events / 1x."""
    engines = planted_engines(tmp_path)
    warm = workloads.write_jsonl_trace(tmp_path / "w.jsonl", 2_000, seed_policy, seed=3)
    small = workloads.write_jsonl_trace(tmp_path / "s.jsonl", 5_000, seed_policy, seed=5)
    large = workloads.write_jsonl_trace(tmp_path / "l.jsonl", 20_000, seed_policy, seed=7)
    simulate([str(warm)], engines)
    _check(
        "simulate_plan_memory_growth", simulate_peak(engines, large) / simulate_peak(engines, small)
    )


def test_compile_grows_linearly(tmp_path):
    compile_rules([workloads.SEED_POLICY])
    points = []
    for n in (100, 1_000):
        directory = workloads.write_rules(tmp_path / str(n), n)
        best = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            policy = compile_rules([directory])
            policy.trie  # noqa: B018 — part of compiling
            policy.documents  # noqa: B018
            best = min(best, time.perf_counter() - t0)
        points.append((n, best))
    _check("compile_exponent", exponent(points))


def test_warm_decision_with_a_resource_vs_without(resource_policy, resource_requests):
    """Issue 10: a warm decision that carries a resource, on rules scoped to resources,
    against the same requests without one, on the same rules."""
    decide = resource_policy.trie.decider()
    with_resource = resource_requests[:2000]
    without = [(a, c) for a, c, _ in with_resource]

    def scoped():
        for a, c, r in with_resource:
            decide(a, c, r)

    plain = _loop(decide, without)
    scoped()
    plain()
    p, s = _best_pair(plain, scoped, rounds=9)
    _check("resource_vs_none", s / p)


def _prove(policy):
    from compiler.analysis.prove import compare, from_documents, from_trie

    evaluator = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    return compare(from_trie("rules", policy.trie), from_documents("json", evaluator))


def _compiled(paths):
    policy = compile_rules(paths)
    policy.trie  # noqa: B018 — part of compiling
    policy.documents  # noqa: B018
    return policy


def test_prove_seed_vs_compile_seed():
    """Issue 11: the exact proof on the seed against compiling the seed (parse, check, trie,
    emit), side by side; the proof must stay a small multiple of compiling."""
    paths = [workloads.SEED_POLICY]
    policy = _compiled(paths)
    assert _prove(policy).status == "equal"
    c, p = _best_pair(lambda: _compiled(paths), lambda: _prove(policy), rounds=5)
    _check("prove_seed_vs_compile", p / c)


def test_prove_grows_mildly(tmp_path):
    """Issue 11: how the proof's time grows with rules, 100 → 1,000 generated rules with
    conditions (the gate skips 10,000 for time; ``make bench`` measures it)."""
    points = []
    for n in (100, 1_000):
        policy = _compiled([workloads.write_rules(tmp_path / str(n), n)])
        best = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            verdict = _prove(policy)
            best = min(best, time.perf_counter() - t0)
        assert verdict.status == "equal"
        points.append((n, best))
    _check("prove_exponent", exponent(points))


def test_first_sighting_vs_regex_union(seed_policy, seed_requests):
    """Issue 15: an action's first decision costs no more than a regex union of the rules'
    patterns would (the memo dropped before each timed round, the indexes kept)."""
    from bench.bench_ratios import _regex_union

    actions = list(dict.fromkeys(a for a, _ in seed_requests))
    trie = seed_policy.trie
    decide = trie.decide
    fullmatch = _regex_union(seed_policy).fullmatch

    def regex():
        for a in actions:
            fullmatch(a)

    def cold():
        trie.forget()
        for a in actions:
            decide(a)

    cold()
    # forget() is inside the timed side: it only clears three dicts, a sliver of the round.
    # 15 rounds (each a few ms): a fresh-clone CI run at load average 7 measured 3.86 with 7
    r, c = _best_pair(regex, cold, rounds=15)
    _check("first_sighting_vs_regex", c / r)
