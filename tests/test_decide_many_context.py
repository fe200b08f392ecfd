"""``Policy.decide_many`` reads a context exactly as ``Policy.decide`` does: a miscased key
or an aware ``datetime`` value was read as absent by it, so a request ``decide`` and the RAM
evaluator denied came back not denied (reviewer finding 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from compiler import compile_sources
from compiler.ram import RamEvaluator

RULES = (
    "deny RDS DeleteDBInstance when time after 2026-12-01T00:00:00Z\n"
    'deny OSS GetObject when unchecked "oss:Prefix" in [logs/a]\n'
)


@pytest.fixture
def policy():
    return compile_sources([("p.rules", RULES)])


@pytest.mark.parametrize(
    ("action", "context"),
    [
        ("rds:DeleteDBInstance", {"acs:CurrentTime": datetime(2026, 12, 2, tzinfo=UTC)}),
        (
            "rds:DeleteDBInstance",
            {"acs:CurrentTime": datetime(2026, 12, 2, 3, tzinfo=timezone(timedelta(hours=3)))},
        ),
        ("rds:DeleteDBInstance", {"acs:currenttime": "2026-12-02T00:00:00Z"}),
        ("rds:DeleteDBInstance", {"ACS:CURRENTTIME": "2026-12-02T00:00:00Z"}),
        ("oss:GetObject", {"oss:prefix": "logs/a"}),
    ],
    ids=["aware-utc", "aware-offset", "lower-key", "upper-key", "service-key-case"],
)
def test_decide_many_denies_what_decide_denies(policy, action, context):
    assert policy.decide(action, context).decision == "deny"
    # Twice: the second answer comes from the warm memo.
    assert policy.decide_many([(action, context), (action, context)]) == [True, True]
    # The RAM evaluator (reading the emitted JSON, string values as a trace holds them)
    # denies the same request.
    ram = RamEvaluator([(d.filename, json.loads(d.text)) for d in policy.documents])
    as_text = {
        k: v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else v
        for k, v in context.items()
    }
    assert ram.decide(action, as_text) == "deny"


def test_decide_many_refuses_what_decide_refuses(policy):
    naive = {"acs:CurrentTime": datetime(2026, 12, 2)}
    with pytest.raises(ValueError):
        policy.decide("rds:DeleteDBInstance", naive)
    with pytest.raises(ValueError):
        policy.decide_many([("rds:DeleteDBInstance", naive)])
    twice = {"oss:Prefix": "logs/a", "oss:prefix": "logs/a"}
    with pytest.raises(KeyError):
        policy.decide_many([("oss:GetObject", twice)])


def test_an_earlier_time_is_still_allowed(policy):
    early = {"acs:CurrentTime": datetime(2026, 11, 30, tzinfo=UTC)}
    assert policy.decide_many([("rds:DeleteDBInstance", early)]) == [False]
