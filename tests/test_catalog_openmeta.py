"""The catalog built from OpenMeta: the whole cloud, deterministic, with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import compile_sources
from compiler.catalog import default_catalog, load_catalog
from compiler.catalog.merge import build_from_openmeta
from compiler.catalog.openmeta import OpenMetaError, read_openmeta
from compiler.cli import main
from compiler.language.diagnostics import CompileError

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "data" / "openmeta"
SNAPSHOT = REPO.parent / "shared" / "openmeta"
PACKAGED = REPO / "compiler" / "catalog" / "catalog.json"


def test_the_packaged_catalog_is_the_whole_cloud():
    catalog = default_catalog()
    assert len(catalog.service_names) >= 300
    assert sum(len(s.operations()) for s in catalog.services) >= 24_000
    assert PACKAGED.stat().st_size < 5 * 1024 * 1024


@pytest.mark.skipif(not SNAPSHOT.is_dir(), reason=f"no OpenMeta snapshot at {SNAPSHOT}")
def test_rebuilding_from_the_snapshot_gives_the_committed_catalog(tmp_path):
    out = tmp_path / "catalog.json"
    summary = build_from_openmeta(SNAPSHOT, out)
    assert out.read_bytes() == PACKAGED.read_bytes()
    assert summary["services"] >= 300 and summary["operations"] >= 24_000


def test_building_from_a_fixture_is_deterministic(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    build_from_openmeta(FIXTURE, a)
    build_from_openmeta(str(FIXTURE) + "/", b)
    assert a.read_bytes() == b.read_bytes()
    catalog = load_catalog(a.read_bytes())
    oss = catalog.service("oss")
    assert oss.name == "Oss" and oss.ram_codes == ("oss",)
    assert oss.ram_code_provenance == {"oss": "override"}
    assert "oss-{region}.aliyuncs.com" in oss.endpoints
    assert catalog.service_for_host("oss-cn-hangzhou.aliyuncs.com") is oss
    # The seed's services from sdk.json are kept, even though the fixture lacks them.
    assert catalog.service("ECS").ram_codes == ("ecs",)
    assert "RDS" in catalog.service_names


def test_operations_carry_openmeta_facts(tmp_path):
    out = tmp_path / "c.json"
    build_from_openmeta(FIXTURE, out)
    catalog = load_catalog(out.read_bytes())
    trail = catalog.service("ActionTrail")
    assert trail.ram_code_provenance["actiontrail"] == "openmeta"
    assert "DeleteTrail" in trail.operations()
    pvtz = catalog.service("pvtz")
    # PrivateZone authorises many APIs under coarse RAM actions, not `pvtz:<Name>`.
    coarse = {a for op in pvtz.operations() for a in pvtz.ram_actions(op)}
    assert {"pvtz:read", "pvtz:update"} <= coarse
    high = catalog.high_risk_operations()
    assert high and all(catalog.service(s).risk(op) == "high" for s, op in high)


def test_a_broken_snapshot_names_the_file(tmp_path):
    (tmp_path / "products.json").write_text("[{", encoding="utf-8")
    with pytest.raises(OpenMetaError, match=r"products\.json:1:\d+: error: not JSON"):
        list(read_openmeta(tmp_path))
    with pytest.raises(OpenMetaError, match="no such file"):
        list(read_openmeta(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    ("rule", "actions"),
    [
        ("deny OSS DeleteBucket", ("oss:DeleteBucket",)),
        (
            "deny ActionTrail DeleteTrail, StopLogging",
            ("actiontrail:DeleteTrail", "actiontrail:StopLogging"),
        ),
        ("deny KMS ScheduleKeyDeletion", ("kms:ScheduleKeyDeletion",)),
        ("deny SLS DeleteProject", ("log:DeleteProject",)),
        ("deny STS AssumeRole", ("sts:AssumeRole",)),
        # issue 16 F15: a service glob emits only the actions that exist
        ("deny EC? MoveCdsFile", ("ecd:MoveCdsFile",)),
    ],
)
def test_the_guardrails_teams_write_first_compile_to_the_right_codes(rule, actions):
    policy = compile_sources([("g.rules", rule + "\n")])
    assert policy.rules[0].actions == actions


def test_a_typo_suggests_the_service_and_an_operation_the_services_that_have_it():
    with pytest.raises(CompileError) as err:
        compile_sources([("g.rules", "deny OSSS DeleteBucket\ndeny ECS PutBucketLifecycle\n")])
    helps = [d.help for d in err.value.diagnostics]
    assert "did you mean Oss?" in helps[0]
    assert helps[1] == (
        "Oss and Ens have `PutBucketLifecycle`: did you mean `deny Oss PutBucketLifecycle` or "
        "`deny Ens PutBucketLifecycle`?"
    )


def test_catalog_cli_list_show_search_diff(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(main, ["catalog", "list", "--format", "json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert len(rows) >= 300 and sum(r["operations"] for r in rows) >= 24_000
    shown = runner.invoke(main, ["catalog", "show", "SLS", "--format", "json"])
    assert json.loads(shown.output)["ram_codes"] == ["log"]
    found = runner.invoke(main, ["catalog", "search", "ScheduleKeyDeletion", "--format", "json"])
    assert {"service": "Kms", "operation": "ScheduleKeyDeletion"}.items() <= json.loads(
        found.output
    )[0].items()
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    build_from_openmeta(FIXTURE, old)
    new.write_bytes(PACKAGED.read_bytes())
    diffed = runner.invoke(main, ["catalog", "diff", str(old), str(new), "--format", "json"])
    assert diffed.exit_code == 0
    result = json.loads(diffed.output)
    assert "Oss DeleteBucket" not in result["added"]  # in both
    assert any(item.startswith("Vpc ") for item in result["added"])
    unknown = runner.invoke(main, ["catalog", "show", "OSSS"])
    assert unknown.exit_code == 1 and "did you mean Oss?" in unknown.output
