"""W0202: a rule that relies on a RAM code the catalog only guessed is warned about, once,
at the service name; documented codes (OpenMeta or the reviewed table) are not."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.model.glob import glob_match


def _warnings(text: str) -> list:
    policy = compile_sources([("g.rules", text)])
    return [d for d in policy.warnings if d.code == "W0202"]


def test_the_warning_names_the_code_and_renders_at_the_service():
    svc = default_catalog().service("Advisor")
    assert svc is not None and svc.inferred  # the premise: Advisor's code is a guess
    (warning,) = _warnings("deny Advisor *\n")
    assert warning.render() == (
        "g.rules:1:6: warning: RAM code `advisor` (Advisor) is inferred from the product "
        "code, not documented [W0202]\n"
        "   1 | deny Advisor *\n"
        "     |      ^~~~~~~\n"
        "  help: if RAM uses another code the rule denies nothing; check the service's "
        '"RAM authorization" page and state the code in a catalog overlay (--catalog)'
    )


@pytest.mark.parametrize(
    "text",
    [
        "deny OSS DeleteBucket\n",  # reviewed table (override)
        "deny SLS DeleteProject\n",  # OpenMeta's own ram block
        "deny * Delete*\n",  # every service: no one code is relied on
        "deny ECS DeleteInstance\n",
    ],
)
def test_documented_codes_are_not_warned_about(text):
    assert _warnings(text) == []


def test_a_service_glob_lists_each_inferred_code_once_and_caps_the_list():
    catalog = default_catalog()
    guessed = [
        code
        for s in catalog.services
        if any(glob_match("A*", n) for n in s.names())
        for code in s.all_codes
        if s.ram_code_provenance.get(code) == "inferred"
    ]
    assert len(guessed) > 5
    (warning,) = _warnings("deny A* *\n")
    assert warning.message.startswith("RAM codes `")
    assert warning.message.endswith(
        f"and {len(guessed) - 5} more are inferred from the product code, not documented"
    )
    assert warning.message.count("`") == 10


def test_the_seed_relies_on_no_inferred_code():
    from pathlib import Path

    seed = Path(__file__).parent.parent / "policies" / "leaked-accesskey-protection.rules"
    assert _warnings(seed.read_text()) == []
