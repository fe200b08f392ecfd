"""The README's catalog figures and first guardrails are what the code computes (issue 9):
the service and operation counts, the `risk=high` selection, and the guardrails' JSON."""

from __future__ import annotations

import re
from pathlib import Path

from compiler import compile_sources
from compiler.catalog import default_catalog

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _block(marker: str) -> str:
    """The fenced block right after ``<!-- marker -->``."""
    m = re.search(re.escape(f"<!-- {marker} -->") + r"\n```[a-z]*\n(.*?)```", README, re.S)
    assert m, f"README has no block after <!-- {marker} -->"
    return m.group(1)


def test_first_guardrails_compile_to_the_json_the_readme_shows():
    policy = compile_sources([("first-guardrails.rules", _block("first-guardrails.rules"))])
    (document,) = policy.documents
    assert document.text == _block("first-guardrails.json")
    assert policy.warnings == []  # every code here is documented (no W0202)


def test_catalog_counts_in_the_readme():
    catalog = default_catalog()
    services = len(catalog.service_names)
    operations = sum(len(s.operations()) for s in catalog.services)
    assert f"{services} services and {operations:,} API" in README
    assert f"# {services} services, {operations} operations" in README


def test_risk_high_figures_in_the_readme():
    policy = compile_sources([("r.rules", "deny * * risk=high\n")])
    (note,) = [d for d in policy.warnings if d.code == "N0201"]
    m = re.search(r"selects (\d+) actions of (\d+) services", note.message)
    assert m
    assert f"`deny * * risk=high`: {m.group(1)} actions of {m.group(2)} services" in README
