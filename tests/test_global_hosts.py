"""ActionTrail events from a service's global (region-less) endpoint host are mapped to that
service, not decided on a guessed RAM code and counted unmapped (issue 9 item 2).

OpenMeta lists only regional hosts for VPC, OSS, ActionTrail, FC, KMS, SLS (``vpc.{region}.
aliyuncs.com``, ``oss-{region}.aliyuncs.com``, ``{region}.log.aliyuncs.com``); the catalog
reads each such pattern as also naming its global form (``vpc.aliyuncs.com``)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from compiler.catalog import default_catalog
from compiler.cli import main
from compiler.replay import read_events

CATALOG = default_catalog()


@pytest.mark.parametrize(
    ("host", "service", "action"),
    [
        ("vpc.aliyuncs.com", "Vpc", "vpc:DeleteVpc"),
        ("oss.aliyuncs.com", "Oss", "oss:DeleteVpc"),
        ("actiontrail.aliyuncs.com", "Actiontrail", "actiontrail:DeleteVpc"),
        ("kms.aliyuncs.com", "Kms", "kms:DeleteVpc"),
        ("log.aliyuncs.com", "Sls", "log:DeleteVpc"),  # from `{region}.log.aliyuncs.com`
        # FC 3.0 (`{region}.fc.aliyuncs.com`) and FC 2.0 (`fc.{region}.aliyuncs.com`) both
        # imply it; both are RAM code `fc`, the name order picks FC.
        ("fc.aliyuncs.com", "FC", "fc:DeleteVpc"),
        ("VPC.aliyuncs.com", "Vpc", "vpc:DeleteVpc"),  # hosts are case-insensitive
        # A host two services list: the one whose RAM code names the host wins, not the
        # first by name (`ADBAI`, inferred code `adbai`, also lists adb.aliyuncs.com).
        ("adb.aliyuncs.com", "adb", "adb:DeleteVpc"),
        ("ecd.cn-hangzhou.aliyuncs.com", "ECD", "ecd:DeleteVpc"),
    ],
)
def test_an_event_from_a_global_host_is_mapped(tmp_path, host, service, action):
    # No serviceName: the host alone must say which service it is.
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(msgspec.json.encode({"eventName": "DeleteVpc", "eventSource": host}))
    (got,) = read_events(trace, 0, CATALOG)
    assert (got.service, got.action) == (service, action)


@pytest.mark.parametrize(
    "host",
    [
        "aliyuncs.com",  # no service label at all
        "cn-hangzhou.aliyuncs.com",  # a region, no service
        "vpc.aliyuncs.com.evil.example",
        "vpcx.aliyuncs.com",
        "-internal.aliyuncs.com",
    ],
)
def test_hosts_that_are_no_global_form_stay_unmapped(host):
    assert CATALOG.service_for_host(host) is None, host


def test_simulate_counts_a_global_host_event_as_mapped_and_denies_it(tmp_path):
    rules = tmp_path / "guard.rules"
    rules.write_text("deny VPC DeleteVpc\ndeny ActionTrail DeleteTrail\n")
    events = [
        {"eventId": "a", "eventName": "DeleteVpc", "eventSource": "vpc.aliyuncs.com"},
        {"eventId": "b", "eventName": "DeleteTrail", "eventSource": "actiontrail.aliyuncs.com"},
    ]
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(b"\n".join(msgspec.json.encode(e) for e in events) + b"\n")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        main,
        ["simulate", "--rules", str(rules), "--trace", str(trace), "--report", str(out)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    report = json.loads(Path(out).read_text())
    assert (report["unmapped"], report["denied"], report["mismatches"]["count"]) == (0, 2, 0)


def test_catalog_show_lists_each_host_once_without_whitespace():
    # OpenMeta writes a few hosts with a trailing tab; `catalog show FC` listed
    # `fcv3.{region}.aliyuncs.com` twice, once with the tab.
    res = CliRunner().invoke(main, ["catalog", "show", "FC", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["endpoints"] == [
        "fcv3.{region}.aliyuncs.com",
        "{region}.fc.aliyuncs.com",
    ]
    hosts = [h for s in CATALOG.services for h in s.endpoints]
    assert [h for h in hosts if h != h.strip()] == []


@pytest.mark.parametrize(
    ("service", "host"),
    [
        ("vpc", "vpc.aliyuncs.com"),
        ("oss", "oss.aliyuncs.com"),
        ("actiontrail", "actiontrail.aliyuncs.com"),
        ("kms", "kms.aliyuncs.com"),
        ("fc", "fc.aliyuncs.com"),
        ("log", "log.aliyuncs.com"),
    ],
)
def test_catalog_show_names_the_global_hosts_events_are_mapped_by(tmp_path, service, host):
    # The global host is in no endpoint list: without this a user cannot see why a replay
    # attributed an event from it to the service.
    text = CliRunner().invoke(main, ["catalog", "show", service])
    assert text.exit_code == 0, text.output
    (line,) = [ln for ln in text.output.splitlines() if ln.startswith("  event hosts")]
    assert host in line.partition(": ")[2].split(", ")
    shown = CliRunner().invoke(main, ["catalog", "show", service, "--format", "json"])
    hosts = json.loads(shown.output)["event_hosts"]
    assert host in hosts["hosts"]
    name = json.loads(shown.output)["service"]
    # The same table the replay reads: each host and pattern listed maps back to the service.
    for listed in hosts["hosts"]:
        assert CATALOG.service_for_host(listed).name == name
    for pattern in hosts["patterns"]:
        assert CATALOG.service_for_host(pattern.replace("{region}", "cn-shanghai")).name == name
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(msgspec.json.encode({"eventName": "DeleteVpc", "eventSource": host}))
    (event,) = read_events(trace, 0, CATALOG)
    assert event.service == name


def test_a_host_two_services_list_is_shown_under_the_one_events_go_to():
    def event_hosts(service):
        res = CliRunner().invoke(main, ["catalog", "show", service, "--format", "json"])
        return json.loads(res.output)["event_hosts"]["hosts"]

    # ADBAI also lists adb.aliyuncs.com; a replay attributes it to adb (its RAM code).
    assert "adb.aliyuncs.com" in event_hosts("adb")
    assert "adb.aliyuncs.com" not in event_hosts("ADBAI")
    assert "adb.aliyuncs.com" in CATALOG.service("ADBAI").endpoints
