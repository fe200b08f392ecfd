"""Traces carry resources (issue 10 item 6): the normaliser keeps what an event says about
its resource, the replay builds the ARN(s) through the catalog and decides resource-scoped
rules on them with both engines; an event whose resource cannot be built is decided on the
``*``-resource rules and counted as ``resource_unknown``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.replay import read_events
from compiler.replay.cluster import process_runner
from compiler.replay.resources import build_resources
from compiler.replay.simulate import Engines, report_dict, simulate

ACCOUNT = "1234567890123456"


def _event(name: str, source: str, **extra) -> dict:
    event = {
        "eventId": f"e-{name}",
        "eventName": name,
        "eventSource": source,
        "eventTime": "2026-12-01T08:00:00Z",
        "acsRegion": "cn-beijing",
        "userIdentity": {"type": "ram-user", "accountId": ACCOUNT, "userName": "alice"},
    }
    event.update(extra)
    return event


def _arns(tmp_path: Path, event: dict) -> tuple[str, ...] | None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(event))
    (item,) = read_events(str(path), 0, default_catalog())
    return build_resources(item, default_catalog())


ECS = "ecs.cn-beijing.aliyuncs.com"
INSTANCE = f"acs:ecs:cn-beijing:{ACCOUNT}:instance"

CASES = [
    pytest.param(
        # The documented DeleteDisk sample: two types referenced, the event name picks one.
        _event(
            "DeleteDisk",
            ECS,
            referencedResources={"ACS::ECS::Instance": ["i-1"], "ACS::ECS::Disk": ["d-1"]},
        ),
        (f"acs:ecs:cn-beijing:{ACCOUNT}:disk/d-1",),
        id="referenced-type-named-by-the-event",
    ),
    pytest.param(
        _event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-prod1"}),
        (f"{INSTANCE}/i-prod1",),
        id="request-parameter-type-id",
    ),
    pytest.param(
        _event("DeleteInstances", ECS, referencedResources={"ACS::ECS::Instance": ["i-2", "i-1"]}),
        (f"{INSTANCE}/i-1", f"{INSTANCE}/i-2"),
        id="several-ids-several-arns",
    ),
    pytest.param(
        _event(
            "DeleteBucket",
            "oss-cn-beijing.aliyuncs.com",
            referencedResources={"ACS::OSS::Bucket": ["prod-logs"]},
        ),
        (f"acs:oss:cn-beijing:{ACCOUNT}:prod-logs",),
        id="oss-bucket-has-no-type-prefix",
    ),
    pytest.param(
        # SLS has OpenMeta templates: acs:log:{#regionId}:{#accountId}:project/{#ProjectName}.
        _event(
            "DeleteProject",
            "cn-beijing.log.aliyuncs.com",
            serviceName="Sls",
            requestParameters={"ProjectName": "audit"},
        ),
        (f"acs:log:cn-beijing:{ACCOUNT}:project/audit",),
        id="catalog-template-filled-from-parameters",
    ),
    pytest.param(
        _event("DeleteInstance", ECS, resourceType="ACS::ECS::Instance", resourceName="i-9"),
        (f"{INSTANCE}/i-9",),
        id="resource-type-and-name",
    ),
    pytest.param(
        _event(
            "DeleteInstance",
            ECS,
            referencedResources={"ACS::ECS::Instance": ["acs:ecs:cn-x:1:instance/i-7"]},
        ),
        ("acs:ecs:cn-x:1:instance/i-7",),
        id="an-id-that-is-an-arn-is-kept",
    ),
    pytest.param(
        {
            **_event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-3"}),
            "userIdentity": {"type": "system"},
            "recipientAccountId": "42",
        },
        ("acs:ecs:cn-beijing:42:instance/i-3",),
        id="account-from-recipientAccountId",
    ),
    pytest.param(
        # Only the parameter whose type the event name mentions; an empty one is passed
        # over for the next by name (DiskName), and RegionId names no resource.
        _event(
            "DeleteInstance",
            ECS,
            requestParameters={
                "RegionId": "cn-beijing",
                "DiskId": "d-1",
                "InstanceName": "web",
                "InstanceId": "",
            },
        ),
        (f"{INSTANCE}/web",),
        id="parameter-named-by-the-event-in-name-order",
    ),
]


@pytest.mark.parametrize(("event", "arns"), CASES)
def test_arns_are_built_from_the_event(tmp_path, event, arns):
    assert _arns(tmp_path, event) == arns


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_event("DeleteInstance", ECS), id="names-no-resource"),
        pytest.param(
            {
                **_event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-1"}),
                "userIdentity": None,
            },
            id="no-account",
        ),
        pytest.param(
            _event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-*"}),
            id="glob-in-an-id",
        ),
        pytest.param(
            _event("DeleteInstance", ECS, requestParameters={"InstanceId": "i 1\n"}),
            id="whitespace-in-an-id",
        ),
        pytest.param(
            _event("DeleteInstance", ECS, referencedResources=["i-1"], requestParameters=7),
            id="wrong-shapes-are-unknown-not-malformed",
        ),
        pytest.param(
            _event(
                "DeleteDisk",
                ECS,
                referencedResources={"ACS::ECS::Instance": ["i-1"], "ACS::ECS::Image": ["m-1"]},
            ),
            id="two-types-none-named",
        ),
    ],
)
def test_arns_that_cannot_be_built_are_none(tmp_path, event):
    assert _arns(tmp_path, event) is None


RULES = """\
deny ECS DeleteInstance, DeleteInstances on acs:ecs:*:*:instance/i-prod*
deny OSS DeleteBucket on acs:oss:*:*:prod-*
deny ECS StopInstance
"""


def _trace(tmp_path: Path) -> Path:
    events = [
        _event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-prod1"}),  # deny
        _event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-dev1"}),  # allow
        # One of two instances is production: RAM checks each, so the request is denied.
        _event(
            "DeleteInstances",
            ECS,
            referencedResources={"ACS::ECS::Instance": ["i-dev2", "i-prod2"]},
        ),
        _event("DeleteInstance", ECS),  # resource unknown: decided on * rules, counted
        _event("StopInstance", ECS),  # a *-resource rule: denied without a resource
        _event(
            "DeleteBucket",
            "oss-cn-beijing.aliyuncs.com",
            referencedResources={"ACS::OSS::Bucket": ["prod-logs"]},
        ),  # deny
        _event("DescribeInstances", ECS),  # no rule at all: not resource_unknown
    ]
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.fixture
def engines():
    return Engines.for_policy(compile_sources([("r.rules", RULES)]))


def test_simulate_decides_resource_scoped_rules_on_both_engines(tmp_path, engines):
    trace = _trace(tmp_path)
    report = report_dict(simulate([str(trace)], engines), [str(trace)], engines)
    assert report["mismatches"]["count"] == 0
    assert (report["decided"], report["denied"], report["allowed"]) == (7, 4, 3)
    assert report["resource_unknown"] == 1
    denied_lines = {r["line"]: r["denied"] for r in report["by_rule"]}
    assert denied_lines == {1: 2, 2: 1, 3: 1}


def test_without_resource_rules_no_arn_is_built(tmp_path):
    engines = Engines.for_policy(compile_sources([("r.rules", "deny ECS DeleteInstance\n")]))
    assert engines.scoped is False
    trace = _trace(tmp_path)
    report = report_dict(simulate([str(trace)], engines), [str(trace)], engines)
    assert (report["denied"], report["resource_unknown"]) == (3, 0)


def _without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "engines"}


def test_resource_counts_merge_the_same_across_processes(tmp_path, engines):
    trace = _trace(tmp_path)
    files = []
    for n in range(4):  # several files → several splits
        copy = tmp_path / f"t{n}.jsonl"
        copy.write_bytes(trace.read_bytes())
        files.append(str(copy))
    one = report_dict(simulate(files, engines, split_events=1), files, engines)
    two = report_dict(
        simulate(files, engines, split_events=1, runner=process_runner(2)), files, engines
    )
    assert json.dumps(_without_timing(one), sort_keys=True) == json.dumps(
        _without_timing(two), sort_keys=True
    )
    assert one["resource_unknown"] == 4 and one["denied"] == 16


def test_building_arns_keeps_no_catalog_alive(tmp_path):
    """A long-lived process (the Python API, a Dask worker) that replays with many catalogs in
    turn — one per overlay, per job — must not keep each one, and its open catalog.json
    descriptor, for its whole life: 200 catalogs in turn once ran out of descriptors under
    `ulimit -n 64`. The ARNs are the same from every catalog."""
    import gc
    import os
    import weakref

    from compiler.catalog import load_packaged

    path = tmp_path / "one.json"
    path.write_text(
        json.dumps(_event("DeleteInstance", ECS, requestParameters={"InstanceId": "i-1"}))
    )
    (item,) = read_events(str(path), 0, default_catalog())
    gc.collect()
    descriptors = len(os.listdir("/proc/self/fd"))
    gone = []
    for _ in range(20):
        catalog = load_packaged()
        assert build_resources(item, catalog) == (f"{INSTANCE}/i-1",)
        gone.append(weakref.ref(catalog))
        del catalog
    gc.collect()
    assert [ref() for ref in gone] == [None] * 20
    assert len(os.listdir("/proc/self/fd")) == descriptors


def test_a_catalog_remembers_only_so_many_operations(monkeypatch):
    """The per-catalog table of ARN templates stays bounded and answers the same across
    its generations."""
    import compiler.catalog as catalog_module
    from compiler.catalog import load_packaged

    monkeypatch.setattr(catalog_module, "_TEMPLATES_MAX", 4)
    catalog = load_packaged()
    service = catalog.service("Actiontrail")  # one whose operations have ARN templates
    names = [n for n in sorted(service.operations()) if service.arn_templates(n)][:12]
    first = [catalog.operation_arn_templates("Actiontrail", n) for n in names]
    again = [catalog.operation_arn_templates("Actiontrail", n) for n in reversed(names)][::-1]
    assert first == again
    assert first == [service.arn_templates(n) for n in names]
    assert len(names) == 12 and all(first)
    assert catalog.operation_arn_templates("Actiontrail", names[0].lower()) == first[0]
    assert len(catalog._templates) <= 4 and len(catalog._templates_old) <= 4
