"""The seed policy denies exactly the seed's operations: by the trie and by the emitted JSON.

The seed table (``tests/data/seed-table.txt``, copied from the shared seed document) is the
independent statement of what must be denied; the rules file is what we wrote; the JSON is
read by the tests' own tiny reader (``conftest.ram_json_denies``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import compile_rules
from compiler.catalog import default_catalog

DATA = Path(__file__).parent / "data"
SEED_RULES = "policies/leaked-accesskey-protection.rules"
SEED_JSON = "generated/leaked-accesskey-protection.json"

# Seed table service column → RAM codes (facts file, "RAM codes" table).
CODES = {
    "Resource Access Management (RAM)": ("ram",),
    "Identity Management Service (IMS)": ("ims", "ram"),
    "Elastic Compute Service (ECS)": ("ecs",),
    "Elastic Container Instance": ("eci",),
    "Short Message Service (SMS)": ("dysms",),
    "Elastic Desktop Service (2020-09-30)": ("ecd",),
    "Performance Testing Service (2019-08-10)": ("pts",),
    "Performance Testing Service (2020-10-20)": ("pts",),
    "ApsaraDB RDS (2014-08-15)": ("rds",),
    "Database Backup (2021-01-01)": ("dbs",),
}
# "All" rows: every catalog operation of the service, plus names no catalog knows yet.
ALL_SERVICE = {
    "Resource Access Management (RAM)": "RAM",
    "Identity Management Service (IMS)": "IMS",
}


def seed_rows() -> list[tuple[str, str]]:
    """(service column, operation) for every row of the table."""
    rows: list[tuple[str, str]] = []
    service = None
    lines = (DATA / "seed-table.txt").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if not line.strip() or line.startswith("#") or line.startswith("Cloud service |"):
            continue
        cells = [c.strip() for c in line.split("|")]
        while cells and not cells[-1]:
            cells.pop()
        if len(cells) == 3:
            service, op = cells[0], cells[1]
        else:
            assert len(cells) == 2 and service is not None, line
            op = cells[0]
        rows.append((service, op))
    return rows


def seed_actions() -> list[str]:
    catalog = default_catalog()
    out: set[str] = set()
    for service, op in seed_rows():
        if op == "All":
            svc = catalog.service(ALL_SERVICE[service])
            names = {*svc.operations(), "SomeFutureOperation"}
            out.update(f"ims:{n}" for n in names if service.endswith("(IMS)"))
            if service.endswith("(RAM)"):
                out.update(f"ram:{n}" for n in names)
            else:  # IMS operations are authorised under `ram:` too
                out.update(f"ram:{n}" for n in svc.operations())
            continue
        out.update(f"{code}:{op}" for code in CODES[service])
    return sorted(out)


def test_seed_table_reads_whole():
    rows = seed_rows()
    assert len(rows) == 58
    assert {s for s, _ in rows} == set(CODES)
    assert rows[0] == ("Resource Access Management (RAM)", "All")
    assert rows[-1] == ("Database Backup (2021-01-01)", "DescribeDownloadBackupSetStorageInfo")


@pytest.fixture(scope="module")
def seed(repo):
    return compile_rules([repo / SEED_RULES])


@pytest.fixture(scope="module")
def seed_documents(repo):
    import json

    return [json.loads((repo / SEED_JSON).read_text(encoding="utf-8"))]


SEED_ACTIONS = seed_actions()


def test_every_seed_operation_is_denied_by_the_trie(seed):
    allowed = [a for a in SEED_ACTIONS if not seed.decide(a).denied]
    assert allowed == []
    # ... whatever the context: the seed rules are unconditional.
    ctx = {"acs:SourceIp": "10.0.0.1", "acs:MFAPresent": "true", "acs:SecureTransport": "true"}
    assert all(seed.decide(a, ctx).denied for a in SEED_ACTIONS)


def test_every_seed_operation_is_denied_by_the_committed_json(seed_documents, json_denies):
    allowed = [a for a in SEED_ACTIONS if not json_denies(seed_documents, a)]
    assert allowed == []


@pytest.mark.parametrize("action", ["ECS:runinstances", "RAM:CREATEUSER", "Rds:deletedbinstance"])
def test_seed_matching_ignores_case(seed, seed_documents, json_denies, action):
    assert seed.decide(action).denied
    assert json_denies(seed_documents, action)


NEIGHBOURS = [
    # real operations of the same services, not in the table
    "ecs:DescribeInstances",
    "ecs:StopInstance",
    "ecs:StopInstances",
    "ecs:RebootInstance",
    "ecs:CreateSnapshot",
    "ecs:CreateImage",
    "ecs:DeleteKeyPairs",
    "eci:DescribeContainerGroups",
    "eci:UpdateContainerGroup",
    "dysms:QuerySendDetails",
    "dysms:DeleteSmsTemplate",
    "ecd:StopDesktops",
    "ecd:DescribeDesktops",
    "ecd:DeleteDesktops",
    "pts:GetPtsScene",
    "pts:StopPtsScene",
    "rds:DescribeDBInstances",
    "rds:CreateDBInstance",
    "rds:DescribeBackupPolicy",
    "dbs:DescribeBackupPlanList",
    "dbs:CreateBackupPlan",
    # near misses of listed names: prefixes, suffixes, other codes
    "ecs:RunInstance",
    "ecs:RunInstancesX",
    "ecs:StartInstancesNow",
    "eci:RunInstances",
    "sms:SendSms",
    "ecs:RunCommandX",
    "ramx:CreateUser",
    "ra:CreateUser",
    "imsx:CreateUser",
    "xram:CreateUser",
    "ram",
    "oss:PutObject",
    "sts:AssumeRole",
]


@pytest.mark.parametrize("action", NEIGHBOURS)
def test_neighbouring_operations_are_allowed(seed, seed_documents, json_denies, action):
    assert seed.decide(action).decision == "allow"
    assert not json_denies(seed_documents, action)


def test_neighbours_are_not_seed_actions():
    lowered = {a.lower() for a in SEED_ACTIONS}
    assert not [n for n in NEIGHBOURS if n.lower() in lowered]


def test_committed_json_is_what_compile_produces(seed, repo):
    (doc,) = seed.documents
    assert doc.filename == "leaked-accesskey-protection.json"
    assert (repo / SEED_JSON).read_bytes() == doc.text.encode("utf-8")


def test_ci_check_passes_on_the_committed_tree(run_cli, repo):
    result = run_cli("compile", repo / "policies", "--out", repo / "generated", "--check")
    assert result.exit_code == 0, result.stderr
    assert "up to date" in result.stdout
