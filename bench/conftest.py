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


# Rules scoped to resources, added to the mixed rules for the resource benchmarks: every ECS
# action's leaf then holds a resource test, so both sides of the ratio take the same path.
RESOURCE_RULES = """\
policy gen-resources "generated for benchmarks: resources"
deny ECS Delete* on [acs:ecs:*:*:instance/i-prod*, acs:ecs:*:*:disk/d-prod*]
deny ECS * in region [cn-hangzhou, cn-shanghai]
deny RDS * on acs:rds:*:*:dbinstance/rm-prod?
deny ECS Run* on acs:ecs:*:*:instance/* when resource_tag:env in [prod]
"""
RESOURCE_ARNS = (
    "acs:ecs:cn-hangzhou:123:instance/i-prod1",
    "acs:ecs:cn-beijing:123:instance/i-dev2",
    "acs:ecs:ap-southeast-1:123:disk/d-prod9",
    "acs:rds:cn-beijing:123:dbinstance/rm-prod1",
    "acs:ram::123:user/alice",
)


@pytest.fixture(scope="session")
def resource_policy(tmp_path_factory):
    """The mixed rules plus resource-scoped ones, compiled together."""
    directory = tmp_path_factory.mktemp("resources")
    workloads.write_rules(directory, MIXED_RULES)
    (directory / "gen-resources.rules").write_text(RESOURCE_RULES, encoding="utf-8")
    return compile_rules([directory])


@pytest.fixture(scope="session")
def resource_requests(mixed_requests):
    """The mixed requests, each with one of a few resource ARNs (a trace names few)."""
    return [
        (a, c, RESOURCE_ARNS[i % len(RESOURCE_ARNS)]) for i, (a, c) in enumerate(mixed_requests)
    ]


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
