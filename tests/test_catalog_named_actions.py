"""Every action the catalog lists can be named by a rule (reviewer finding 4):
``default_catalog().actions()`` lists ``pvtz:read`` and ``pvtz:update`` — OpenMeta's RAM
actions for PrivateZone's custom-line APIs, which RAM policies name — and those lists feed
the "catalog actions" counts of diff, prove and minify, yet `deny pvtz read` was E0220
"unknown operation". A rule now names such an action by its name after the code."""

from __future__ import annotations

import json

import pytest

from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.language.diagnostics import CompileError

CATALOG = default_catalog()


def _unnameable_before() -> list[tuple[str, str]]:
    """(service, action) for each listed action whose name is no operation of a service
    holding its code: the ones rules could not name."""
    out = []
    for svc in CATALOG.services:
        for action in sorted({a for op in svc.operations() for a in svc.named_actions(op)}):
            code, _, name = action.partition(":")
            if code in svc.all_codes and svc.canonical_operation(name) is None:
                out.append((svc.name, action))
    return out


def test_pvtz_read_is_among_them():
    assert ("pvtz", "pvtz:read") in _unnameable_before()
    assert ("pvtz", "pvtz:update") in _unnameable_before()


@pytest.mark.parametrize(("service", "action"), _unnameable_before())
def test_a_rule_names_every_listed_action(service, action):
    name = action.partition(":")[2]
    policy = compile_sources([("n.rules", f"deny {service} {name.upper()}\n")])
    emitted = {
        a for d in policy.documents for s in json.loads(d.text)["Statement"] for a in s["Action"]
    }
    assert emitted == {action}
    assert policy.decide(action).decision == "deny"
    assert action in CATALOG.actions()


def test_every_other_listed_action_is_nameable_too():
    # The rest are `code:Operation` (including elasticsearch:createInstance and
    # scsp:createTicketWithBizData, API names with a lower-case initial): the operation
    # resolves under its service.
    for svc_name, action in (
        ("elasticsearch", "elasticsearch:createInstance"),
        ("scsp", "scsp:createTicketWithBizData"),
    ):
        policy = compile_sources([("n.rules", f"deny {svc_name} {action.partition(':')[2]}\n")])
        assert policy.decide(action).decision == "deny"


def test_a_name_that_is_neither_is_still_unknown():
    with pytest.raises(CompileError, match="unknown operation `reed` for pvtz"):
        compile_sources([("n.rules", "deny pvtz reed\n")])
