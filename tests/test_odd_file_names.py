"""Odd file names (issue 16 F11): a byte that is not UTF-8 and a control character in a name.

SARIF raised UnicodeEncodeError on `x\\xff.rules`; GraphML and JUnit XML with ESC in a name
did not parse.
"""

from __future__ import annotations

import json
import os
import xml.dom.minidom
from pathlib import Path

import pytest

RULES = 'policy p "x"\ndeny ECS RunInstances\ndeny ECS RunInstances\n'  # a duplicate: a warning


@pytest.mark.skipif(os.name != "posix", reason="needs byte file names")
def test_sarif_on_a_non_utf8_file_name(tmp_path: Path, run_ramguard) -> None:
    name = os.fsdecode(b"x\xff.rules")
    (tmp_path / name).write_text(RULES, encoding="utf-8")
    proc = run_ramguard("check", "--format", "sarif", name, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    sarif = json.loads(proc.stdout)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for loc in result["locations"]
    }
    assert uris == {"x%FF.rules"}


def test_graphml_and_junit_with_escape_in_a_file_name(tmp_path: Path, run_cli) -> None:
    rules = tmp_path / "e\x1b[2J.rules"
    rules.write_text('policy p "x"\ndeny ECS RunInstances\n', encoding="utf-8")
    out = tmp_path / "trie.graphml"
    result = run_cli("graph", "--rules", rules, "--format", "graphml", "--out", out)
    assert result.exit_code == 0, result.stderr
    doc = xml.dom.minidom.parse(str(out))  # raised ExpatError: not well-formed
    assert "e\\x1b[2J.rules" in doc.toxml()
    tests = tmp_path / "e\x1b.tests"
    tests.write_text("expect deny ecs:RunInstances\nexpect allow ecs:RunInstances\n")
    junit = tmp_path / "j.xml"
    run = run_cli("test", tmp_path, "--junit", junit)
    assert run.exit_code == 1  # the second expectation fails
    report = xml.dom.minidom.parse(str(junit))
    names = [s.getAttribute("name") for s in report.getElementsByTagName("testsuite")]
    assert any("e\\x1b.tests" in n for n in names)
