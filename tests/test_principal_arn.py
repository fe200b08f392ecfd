"""Traces carry acs:PrincipalARN built from ActionTrail's userIdentity."""

from __future__ import annotations

import msgspec
import pytest

from compiler.replay.normalise import Event, principal_arn


@pytest.mark.parametrize(
    ("kind", "name", "want"),
    [
        (
            "assumed-role",
            "custom-role-for-actiontrail:u1",
            "acs:ram::159:role/custom-role-for-actiontrail",
        ),
        ("ram-user", "alice", "acs:ram::159:user/alice"),
        ("root-account", None, "acs:ram::159:root"),
        ("system", "x", None),
        ("ram-user", None, None),
    ],
)
def test_principal_arn(kind, name, want):
    assert principal_arn(kind, "159", name) == want
    assert principal_arn(kind, None, name) is None


def test_event_identity_fields_decode():
    ev = msgspec.json.decode(
        b'{"eventName":"X","userIdentity":{"type":"ram-user","accountId":"1","userName":"bob"}}',
        type=Event,
    )
    ident = ev.userIdentity
    assert principal_arn(ident.type, ident.accountId, ident.userName) == "acs:ram::1:user/bob"
