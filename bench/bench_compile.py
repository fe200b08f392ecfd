"""Compile time (parse, check, trie, emit) for 10 to 10,000 generated rules, ten to a file."""

from __future__ import annotations

import pytest

from bench import workloads
from compiler.policy import _can_fork, compile_rules

SIZES = (10, 100, 1_000, 10_000)


def compile_all(directory) -> int:
    policy = compile_rules([directory])
    policy.trie  # noqa: B018 — built lazily; the benchmark must include it
    return len(policy.documents)


@pytest.mark.parametrize("rules", SIZES, ids=[f"{n}-rules" for n in SIZES])
def test_compile(benchmark, tmp_path, rules):
    directory = workloads.write_rules(tmp_path / "rules", rules)
    compile_rules([workloads.SEED_POLICY])  # grammar and catalog loaded before timing
    benchmark.extra_info["rules"] = rules
    # Whether this compile may split the front end over two processes as `ramguard compile`
    # does (no fork beside other threads): the 10,000-rule row says which it measured.
    benchmark.extra_info["forked"] = _can_fork()
    benchmark.pedantic(
        compile_all, args=(directory,), rounds=3 if rules < 10_000 else 1, warmup_rounds=0
    )
