"""A user's catalog overlay (issue 9 item 5): services, operations, RAM codes and ARN
templates added without editing the package, through the Python API (``with_overlays``)
and ``--catalog FILE`` on every verb that reads rules; bad overlays fail at FILE:LINE:COL."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from compiler import catalog_with_overlays, compile_sources
from compiler.catalog import default_catalog
from compiler.language.diagnostics import CompileError
from compiler.replay.cluster import process_runner
from compiler.replay.simulate import Engines, report_dict, simulate

TEAM = """\
# A team's additions
[services.Acme]
title = "Acme internal service"
ram_codes = ["acme"]
endpoints = ["acme.{region}.aliyuncs.com"]
operations = ["CreateWidget", "DeleteWidget"]

[services.Acme.operation.DeleteWidget]
risk = "high"
arns = ["acs:acme:{#regionId}:{#accountId}:widget/{#WidgetId}"]

[services.advisor]        # an existing service, by any spelling: its code confirmed
ram_codes = ["advisor"]

[services.OSS]
operations = ["PutBucketFrobnication"]
"""

RULES = """\
deny Acme DeleteWidget on acs:acme:*:*:widget/prod-*
deny Advisor *
deny OSS PutBucketFrobnication
"""


@pytest.fixture
def team(tmp_path: Path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(TEAM)
    return path


def test_an_overlay_adds_services_operations_and_codes(team):
    catalog = catalog_with_overlays([team])
    policy = compile_sources([("r.rules", RULES)], catalog)
    statements = [s for doc in policy.ram_documents() for s in doc["Statement"]]
    assert {a for s in statements for a in s["Action"]} == {
        "acme:DeleteWidget",
        "advisor:*",
        "oss:PutBucketFrobnication",
    }
    # The confirmed code is no longer a guess: no W0202.
    assert [d.code for d in policy.warnings] == []
    advisor = catalog.service("Advisor")
    assert advisor.ram_code_provenance == {"advisor": "override"}
    assert advisor.ram_code_source == f"catalog overlay {team}"
    acme = catalog.service("acme")
    assert acme.risk("DeleteWidget") == "high"
    assert catalog.service_for_host("acme.cn-beijing.aliyuncs.com") is acme
    # The packaged catalog is untouched.
    assert default_catalog().service("Acme") is None
    assert "PutBucketFrobnication" not in default_catalog().service("OSS").operations()


def test_the_overlays_arn_templates_check_resource_patterns(team):
    catalog = catalog_with_overlays([team])
    with pytest.raises(CompileError) as info:
        compile_sources([("r.rules", "deny Acme DeleteWidget on acs:acme:*:*:gadget/x\n")], catalog)
    (d,) = info.value.diagnostics
    assert d.span.line == 1 and "acs:acme:{#regionId}:{#accountId}:widget/{#WidgetId}" in d.help


def test_json_overlays_read_like_toml(tmp_path):
    path = tmp_path / "team.json"
    path.write_text(
        json.dumps({"services": {"Acme": {"ram_codes": ["acme"], "operations": ["X"]}}})
    )
    policy = compile_sources([("r.rules", "deny Acme X\n")], catalog_with_overlays([path]))
    assert policy.ram_documents()[0]["Statement"][0]["Action"] == ["acme:X"]


def test_later_overlays_win(tmp_path, team):
    second = tmp_path / "second.toml"
    second.write_text('[services.Acme]\nram_codes = ["acme2"]\n')
    catalog = catalog_with_overlays([team, second])
    assert catalog.service("Acme").ram_codes == ("acme2",)


BAD = [
    pytest.param(
        '[services.Acme]\nram_code = ["acme"]\n',
        "bad.toml:2:1: error: unknown key `ram_code`",
        "did you mean `ram_codes`?",
        id="unknown-key",
    ),
    pytest.param(
        '[services.Acme]\nram_codes = ["acme"]\noperations = ["Delete Widget"]\n',
        "bad.toml:3:16: error: `Delete Widget` is not an API operation name",
        "in `operations`",
        id="bad-operation-name",
    ),
    pytest.param(
        '[services.Acme]\nram_codes = ["acme"]\n[services.Acme.operation.X]\nrisk = "extreme"\n',
        "bad.toml:4:1: error: `extreme` is not a risk tag",
        "high or none",
        id="bad-risk",
    ),
    pytest.param(
        '[services.Acme]\nram_codes = ["acme"]\n[services.Acme.operation.X]\n'
        'arns = ["arn:aws:s3:::b"]\n',
        "bad.toml:4:1: error: `arn:aws:s3:::b` is not an ARN template",
        "acs:SERVICE:REGION:ACCOUNT:RESOURCE",
        id="bad-arn-template",
    ),
    pytest.param(
        '[services.Acme]\nram_codes = ["ACME"]\n',
        "bad.toml:2:15: error: `ACME` is not a RAM code (lowercase, e.g. `oss`)",
        "in `ram_codes`",
        id="uppercase-code",
    ),
    pytest.param(
        '[services.Acme]\nram_codes = ["acme"]\ncondition_keys = { "acme:Env" = "Text" }\n',
        "bad.toml:3:21: error: `Text` is not a key type",
        "String, Boolean, Numeric, Date, IPAddress",
        id="bad-key-type",
    ),
    pytest.param(
        '[services.Acme]\nram_codes = ["acme"]\nversion = "2024-13-01"\n',
        "bad.toml:3:1: error: `2024-13-01` is not an API version",
        "dates",
        id="bad-version",
    ),
    pytest.param(
        '[services.Brandnew]\noperations = ["X"]\n',
        "bad.toml:1:11: error: new service `Brandnew` needs `ram_codes`",
        "RAM authorization",
        id="new-service-without-codes",
    ),
    pytest.param(
        "[services.X\n",
        "bad.toml:1:12: error: not valid TOML: expected ']' at the end of a table declaration",
        "a catalog overlay is TOML",
        id="toml-syntax",
    ),
    pytest.param(
        '[servics.Acme]\nram_codes = ["acme"]\n',
        "bad.toml:1:2: error: unknown key `servics`",
        "did you mean `services`?",
        id="top-level-typo",
    ),
]


@pytest.mark.parametrize(("text", "first", "help"), BAD)
def test_bad_overlays_name_file_line_col(tmp_path, monkeypatch, text, first, help):
    monkeypatch.chdir(tmp_path)
    Path("bad.toml").write_text(text)
    with pytest.raises(CompileError) as info:
        catalog_with_overlays(["bad.toml"])
    rendered = info.value.diagnostics[0].render()
    assert rendered.splitlines()[0] == first
    assert help in rendered


def test_a_bad_overlay_on_the_command_line_is_a_clean_error(run_cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[services.Acme]\nram_code = ["acme"]\n')
    rules = tmp_path / "r.rules"
    rules.write_text("deny ECS DeleteInstance\n")
    result = run_cli("compile", rules, "--out", tmp_path / "out", "--catalog", bad)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:2:1: error: unknown key `ram_code`")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


VERBS = {
    "compile": lambda r, t: ["compile", r, "--out", t / "out"],
    "check": lambda r, t: ["check", r],
    "decide": lambda r, t: ["decide", "--rules", r, "acme:DeleteWidget"],
    "explain": lambda r, t: ["explain", "--rules", r, "acme:DeleteWidget"],
    "graph": lambda r, t: ["graph", "--rules", r],
    "prove": lambda r, t: ["prove", "--rules", r],
    "test": lambda r, t: ["test", r.parent],
    "diff": lambda r, t: ["diff", r, r],
    "simulate": lambda r, t: ["simulate", "--rules", r, "--trace", t / "trace.jsonl", "-q"],
    "catalog show": lambda r, t: ["catalog", "show", "Acme"],
    "catalog search": lambda r, t: ["catalog", "search", "widget"],
    "catalog list": lambda r, t: ["catalog", "list"],
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_that_reads_the_catalog_takes_the_overlay(verb, run_cli, tmp_path, team):
    rules = tmp_path / "policies" / "acme.rules"
    rules.parent.mkdir()
    rules.write_text("deny Acme DeleteWidget\n")
    (rules.parent / "acme.tests").write_text("expect deny acme:DeleteWidget\n")
    (tmp_path / "trace.jsonl").write_text(json.dumps(_acme_event("w-1")) + "\n")
    without = run_cli(*VERBS[verb](rules, tmp_path))
    result = run_cli(*VERBS[verb](rules, tmp_path), "--catalog", team)
    assert result.exit_code == 0, result.stderr
    if verb in ("catalog list", "catalog search"):  # listings succeed either way
        assert "Acme" in result.stdout and "Acme" not in without.stdout
    else:
        assert without.exit_code == 1, without.stderr  # Acme is unknown without the overlay
    if verb == "decide":
        assert json.loads(result.stdout)["decision"] == "deny"
        assert "not a catalog action" not in result.stderr
    if verb == "catalog search":
        assert "Acme DeleteWidget  risk=high" in result.stdout


def _acme_event(widget: str) -> dict:
    return {
        "eventId": widget,
        "eventName": "DeleteWidget",
        "eventSource": "acme.cn-beijing.aliyuncs.com",
        "eventTime": "2026-12-01T08:00:00Z",
        "acsRegion": "cn-beijing",
        "userIdentity": {"type": "ram-user", "accountId": "42", "userName": "bob"},
        "requestParameters": {"WidgetId": widget},
    }


def test_the_replay_maps_and_scopes_events_through_the_overlay_in_every_process(tmp_path, team):
    catalog = catalog_with_overlays([team])
    assert pickle.loads(pickle.dumps(catalog)).service("Acme").risk("DeleteWidget") == "high"
    policy = compile_sources([("r.rules", RULES)], catalog)
    engines = Engines.for_policy(policy)
    engines.catalog = catalog
    files = []
    for n, widget in enumerate(["prod-1", "dev-1", "prod-2"]):
        path = tmp_path / f"t{n}.jsonl"
        path.write_text(json.dumps(_acme_event(widget)) + "\n")
        files.append(str(path))
    one = report_dict(simulate(files, engines, split_events=1), files, engines)
    two = report_dict(
        simulate(files, engines, split_events=1, runner=process_runner(2)), files, engines
    )
    assert (one["denied"], one["unmapped"], one["mismatches"]["count"]) == (2, 0, 0)
    del one["engines"], two["engines"]
    assert one == two
