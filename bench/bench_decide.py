"""Decisions: the floor (bare dict.get), the trie warm and cold, the RAM evaluator on the
emitted JSON, and Cedar through cedarpy — the same rules and requests for every engine.

Each round decides the whole request list; ``extra_info["per"]`` says how many decisions a
round holds, so ``python -m bench`` divides and compares per decision.
"""

from __future__ import annotations

import cedarpy
import pytest

from compiler.decide.trie import DecisionTrie
from compiler.emit.cedar import cedar_policies, cedar_request
from compiler.ram import RamEvaluator

WORKLOADS = ("seed", "mixed")


@pytest.fixture(params=WORKLOADS)
def workload(request, seed_policy, mixed_policy, seed_requests, mixed_requests):
    if request.param == "seed":
        return "seed", seed_policy, seed_requests
    return "mixed", mixed_policy, mixed_requests


def _per(benchmark, name: str, n: int) -> None:
    benchmark.extra_info["per"] = n
    benchmark.extra_info["workload"] = name


def test_floor(benchmark, workload):
    name, _, requests = workload
    actions = [a for a, _ in requests]
    get = {a: a for a in actions}.get

    def run():
        for a in actions:
            get(a)

    _per(benchmark, name, len(actions))
    benchmark(run)


def test_trie_warm(benchmark, workload):
    name, policy, requests = workload
    decide = policy.trie.decider()
    for a, c in requests:
        decide(a, c)

    def run():
        for a, c in requests:
            decide(a, c)

    _per(benchmark, name, len(requests))
    benchmark(run)


def test_trie_warm_resource(benchmark, resource_policy, resource_requests):
    """Warm decisions that carry a resource, on rules scoped to resources."""
    decide = resource_policy.trie.decider()
    for a, c, r in resource_requests:
        decide(a, c, r)

    def run():
        for a, c, r in resource_requests:
            decide(a, c, r)

    _per(benchmark, "resources", len(resource_requests))
    benchmark(run)


def test_trie_warm_no_resource(benchmark, resource_policy, resource_requests):
    """The same requests and rules without a resource (unknown): the peer of the above."""
    decide = resource_policy.trie.decider()
    plain = [(a, c) for a, c, _ in resource_requests]
    for a, c in plain:
        decide(a, c)

    def run():
        for a, c in plain:
            decide(a, c)

    _per(benchmark, "resources", len(plain))
    benchmark(run)


def test_trie_cold(benchmark, workload):
    """Every action decided once on a fresh trie: the walk, not the memo."""
    name, policy, requests = workload
    first: dict[str, tuple] = {}
    for a, c in requests:
        first.setdefault(a, (a, c))
    cold = list(first.values())

    def setup():
        return (DecisionTrie(policy.rules).decide,), {}

    def run(decide):
        for a, c in cold:
            decide(a, c)

    _per(benchmark, name, len(cold))
    benchmark.pedantic(run, setup=setup, rounds=10)


def test_ram_evaluator(benchmark, workload):
    name, policy, requests = workload
    decide = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents]).decide

    def run():
        for a, c in requests:
            decide(a, c)

    _per(benchmark, name, len(requests))
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


def test_cedar(benchmark, workload):
    """Cedar's batch call on pre-translated requests: the conversion is outside the timer."""
    name, policy, requests = workload
    policies = cedarpy.PolicySet.from_str(
        "\n".join(c.text for c in cedar_policies(policy.policies, policy.sources))
    )
    entities = cedarpy.Entities.from_json_str("[]")
    cedar_requests = [cedar_request(a, c) for a, c in requests]

    def run():
        cedarpy.is_authorized_batch(cedar_requests, policies, entities)

    _per(benchmark, name, len(requests))
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
