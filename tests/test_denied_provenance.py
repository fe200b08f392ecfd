"""Permission-denied error codes carry their provenance, as RAM codes do (issue 9 leftovers):
``openmeta`` (the product's errorCodes), ``documented`` (a page in denied.toml) or
``inferred`` (a guess). ``catalog show`` marks the guesses; ``simulate`` says how many
recorded denies it counted by a guess alone, and which codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from compiler.catalog import default_catalog
from compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "policies" / "leaked-accesskey-protection.rules"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_each_denied_code_has_a_provenance_per_service():
    catalog = default_catalog()
    ecs, sls, ess = catalog.service("ECS"), catalog.service("SLS"), catalog.service("ess")
    assert catalog.denied_code_provenance("NoPermission", ecs) == "documented"
    # A common spelling no page names: a guess for ECS, OpenMeta's own entry for SLS.
    assert catalog.denied_code_provenance("AccessDenied", ecs) == "inferred"
    assert catalog.denied_code_provenance("AccessDenied", sls) == "openmeta"
    assert catalog.denied_code_provenance("Forbidden.Unauthorized", ess) == "documented"
    assert catalog.denied_code_provenance("Throttling", ecs) is None
    assert catalog.guessed_denied_error_codes(ecs) == {
        "AccessDenied",
        "Forbidden.NoPermission",
        "ForbiddenByRam",
        "PermissionDenied",
    }
    assert catalog.guessed_denied_error_codes(sls) == {"Forbidden.NoPermission", "ForbiddenByRam"}


def test_catalog_show_marks_the_guessed_codes():
    text = run("catalog", "show", "ECS")
    assert text.exit_code == 0
    line = next(x for x in text.output.splitlines() if "permission-denied error codes" in x)
    codes = line.split(": ", 1)[1].split(", ")
    assert "AccessDenied (inferred)" in codes and "NoPermission" in codes
    data = json.loads(run("catalog", "show", "SLS", "--format", "json").output)
    assert data["denied_error_code_provenance"]["AccessDenied"] == "openmeta"
    assert data["denied_error_code_provenance"]["ForbiddenByRam"] == "inferred"


def _event(i: int, code: str, **fields) -> dict:
    return {
        "eventId": f"e{i}",
        "eventName": "DescribeInstances",
        "eventSource": "ecs.aliyuncs.com",
        "serviceName": "Ecs",
        "eventTime": f"2026-03-02T10:00:{i:02d}Z",
        "errorCode": code,
        "userIdentity": {"type": "ram-user", "accountId": "111", "accessKeyId": "LTAI5tAAA"},
        **fields,
    }


def test_simulate_says_which_recorded_denies_rest_on_a_guessed_code(tmp_path):
    sls = {"eventSource": "cn-hangzhou.log.aliyuncs.com", "serviceName": "Sls"}
    events = [
        _event(1, "AccessDenied"),  # ECS: a guess
        _event(2, "AccessDenied"),
        _event(3, "PermissionDenied"),
        _event(4, "NoPermission"),  # documented
        _event(5, "AccessDenied", eventName="GetLogStore", **sls),  # SLS lists it
        _event(6, "ForbiddenByRam", AccessDeniedDetail={"AuthAction": "ecs:X"}),  # a sure sign
    ]
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    out = tmp_path / "r.json"
    result = run("simulate", "--rules", str(SEED), "--trace", str(trace), "--report", str(out))
    assert result.exit_code == 0, result.output
    recorded = json.loads(out.read_text())["recorded"]
    assert recorded["recorded_denies"] == 6
    assert recorded["inferred_codes"]["recorded_denies"] == 3
    assert recorded["inferred_codes"]["codes"] == {"AccessDenied": 2, "PermissionDenied": 1}
    reasons = {r["reason"]: r["recorded_denies"] for r in recorded["reasons"]}
    assert reasons == {
        "AccessDenied (inferred code)": 2,
        "PermissionDenied (inferred code)": 1,
        "NoPermission": 1,
        "AccessDenied": 1,
        "AccessDeniedDetail": 1,
    }
    assert (
        "note: 3 recorded denies counted only by error codes the catalog infers mean "
        "permission denied: AccessDenied (2), PermissionDenied (1)"
    ) in result.output
    quiet = run("simulate", "-q", "--rules", str(SEED), "--trace", str(trace))
    assert "note:" not in quiet.output
