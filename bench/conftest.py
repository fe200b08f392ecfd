"""Workloads shared by the suites, built once per session in a temporary directory."""

from __future__ import annotations

import pytest

from bench import workloads
from compiler.policy import compile_rules

# The suites are small enough to run whole in `python -m bench`; the gate picks the fast ones.
MIXED_RULES = 100
REQUESTS = 2_000
TRACE_EVENTS = 20_000


@pytest.fixture(scope="session")
def seed_policy():
    return workloads.seed_policy()


@pytest.fixture(scope="session")
def mixed_policy(tmp_path_factory):
    """100 generated rules, about half of them conditional, in ten policy files."""
    directory = tmp_path_factory.mktemp("mixed")
    return compile_rules([workloads.write_rules(directory, MIXED_RULES)])


@pytest.fixture(scope="session")
def seed_requests(seed_policy):
    return [(r.action, None) for r in workloads.requests(seed_policy, REQUESTS)]


@pytest.fixture(scope="session")
def mixed_requests(mixed_policy):
    return [(r.action, r.context) for r in workloads.requests(mixed_policy, REQUESTS)]


@pytest.fixture(scope="session")
def trace_file(tmp_path_factory, seed_policy):
    path = tmp_path_factory.mktemp("trace") / "trace.jsonl"
    return workloads.write_jsonl_trace(path, TRACE_EVENTS, seed_policy)
