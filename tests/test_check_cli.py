"""``ramguard check`` end to end: formats, exit codes, SARIF that code scanning accepts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from compiler.analysis.sarif import to_sarif
from compiler.language.diagnostics import Diagnostic, Severity, Span

SEED = "policies/leaked-accesskey-protection.rules"
BROKEN = "tests/data/broken/leaked-accesskey-protection.rules"
BROKEN_ERRORS = [
    (
        15,
        3,
        "E0220",
        "unknown operation `RunInstance` for ECS",
        "did you mean RunInstances?",
    ),
    (
        19,
        24,
        "E0240",
        "`10.0.0.0/33` is not a valid CIDR block",
        "write an IP address or a CIDR block, e.g. 10.0.0.0/8",
    ),
    (22, 6, "E0212", "unknown service `ECX`", "did you mean ECS?"),
]
FORMATS = ["text", "json", "sarif"]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch, repo):
    # Paths are given relative to the checkout, as CI does; SARIF URIs are relative to it.
    monkeypatch.chdir(repo)


# --------------------------------------------------------------- minimal SARIF 2.1.0 checks


def _require(obj: dict, where: str, *keys: str) -> None:
    assert isinstance(obj, dict), f"{where} is not an object"
    missing = [k for k in keys if k not in obj]
    assert not missing, f"{where} lacks {missing}"


def validate_sarif(log: dict) -> None:
    """The required properties and value rules of the SARIF 2.1.0 schema that a log of ours
    can break, plus what GitHub code scanning adds (relative URIs, a start line)."""
    _require(log, "sarifLog", "version", "runs", "$schema")
    assert log["version"] == "2.1.0"
    assert isinstance(log["runs"], list) and log["runs"], "runs must be a non-empty array"
    for r, run in enumerate(log["runs"]):
        _require(run, f"runs[{r}]", "tool")
        _require(run["tool"], f"runs[{r}].tool", "driver")
        driver = run["tool"]["driver"]
        _require(driver, "driver", "name")
        rules = driver.get("rules", [])
        ids = [rule["id"] for rule in rules]
        assert len(ids) == len(set(ids)), "rule ids must be unique"
        for rule in rules:
            _require(rule, "reportingDescriptor", "id")
            if "shortDescription" in rule:
                _require(rule["shortDescription"], "shortDescription", "text")
        for i, result in enumerate(run.get("results", [])):
            where = f"results[{i}]"
            _require(result, where, "message", "ruleId", "locations")
            msg = result["message"]
            assert "text" in msg or "id" in msg, f"{where}.message needs text or id"
            assert result.get("level", "warning") in ("none", "note", "warning", "error")
            if "ruleIndex" in result:
                assert ids[result["ruleIndex"]] == result["ruleId"], f"{where}.ruleIndex"
            else:
                assert result["ruleId"] in ids
            assert result["locations"], f"{where} has no location"
            for loc in result["locations"]:
                phys = loc["physicalLocation"]
                _require(phys, f"{where} physicalLocation", "artifactLocation", "region")
                uri = phys["artifactLocation"]["uri"]
                assert uri and not uri.startswith("/") and "\\" not in uri and ":" not in uri
                region = phys["region"]
                _require(region, f"{where} region", "startLine")
                assert region["startLine"] >= 1 and region.get("startColumn", 1) >= 1
                if "endLine" in region:
                    assert region["endLine"] >= region["startLine"]
                if "endColumn" in region:
                    assert region["endColumn"] >= 1


def _sarif_sample() -> dict:
    diag = Diagnostic("E0220", Severity.ERROR, "bad", Span("a.rules", 2, 3, 2, 9), "help")
    return to_sarif([diag], Path.cwd())


BREAKAGES = {
    "no-version": lambda log: log.pop("version"),
    "wrong-version": lambda log: log.update(version="2.0.0"),
    "no-driver-name": lambda log: log["runs"][0]["tool"]["driver"].pop("name"),
    "no-message-text": lambda log: log["runs"][0]["results"][0]["message"].pop("text"),
    "bad-level": lambda log: log["runs"][0]["results"][0].update(level="fatal"),
    "absolute-uri": lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "artifactLocation"
    ].update(uri="/abs/a.rules"),
    "line-zero": lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "region"
    ].update(startLine=0),
    "wrong-rule-index": lambda log: log["runs"][0]["results"][0].update(ruleIndex=5),
}


def test_sarif_validator_accepts_ours():
    validate_sarif(_sarif_sample())


@pytest.mark.parametrize("breakage", sorted(BREAKAGES), ids=sorted(BREAKAGES))
def test_sarif_validator_rejects_broken_logs(breakage):
    log = copy.deepcopy(_sarif_sample())
    BREAKAGES[breakage](log)
    with pytest.raises((AssertionError, KeyError, IndexError)):
        validate_sarif(log)


# ----------------------------------------------------------------------- the broken copy


def test_broken_copy_text(run_cli):
    result = run_cli("check", BROKEN)
    assert result.exit_code == 1
    assert result.stdout == "3 errors, 5 warnings in 1 file\n"
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"{BROKEN}:{line}:{col}: error: {msg} [{code}]" for line, col, code, msg, _ in BROKEN_ERRORS
    ]
    assert "  help: did you mean RunInstances?" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


def test_broken_copy_json(run_cli):
    result = run_cli("check", BROKEN, "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    items = json.loads(result.stdout)
    errors = [
        (d["line"], d["col"], d["code"], d["message"], d["help"])
        for d in items
        if d["severity"] == "error"
    ]
    assert errors == BROKEN_ERRORS
    assert {d["file"] for d in items} == {BROKEN}
    assert sum(d["severity"] == "warning" for d in items) == 5


def test_broken_copy_sarif(run_cli):
    result = run_cli("check", BROKEN, "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    validate_sarif(log)
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "ramguard"
    errors = [
        (
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["ruleId"],
            r["message"]["text"],
        )
        for r in run["results"]
        if r["level"] == "error"
    ]
    assert errors == [
        (line, col, code, f"{msg}\nhelp: {help}") for line, col, code, msg, help in BROKEN_ERRORS
    ]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {BROKEN}
    first = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert first == {"startLine": 15, "startColumn": 3, "endLine": 15, "endColumn": 14}


# ------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize("fmt", FORMATS)
def test_seed_policy_passes_strict_its_version_warnings_silenced_on_their_lines(run_cli, fmt):
    plain = run_cli("check", SEED, "--format", fmt)
    strict = run_cli("check", SEED, "--format", fmt, "--strict")
    assert (plain.exit_code, strict.exit_code) == (0, 0)
    assert plain.stdout == strict.stdout
    assert "W0201" not in plain.stdout + plain.stderr


def test_seed_policy_text_output(run_cli, tmp_path):
    # The seed's own ignore comments removed: the five version warnings, with their code.
    bare = tmp_path / "seed.rules"
    bare.write_text(Path(SEED).read_text().replace("  # ramguard: ignore[W0201]", ""))
    strict = run_cli("check", bare, "--strict")
    assert strict.exit_code == 1
    result = run_cli("check", bare)
    assert result.exit_code == 0
    assert result.stdout == "0 errors, 5 warnings in 1 file\n"
    assert result.stderr.count("[W0201]") == 5
    SEED_ = str(bare)
    heads = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert [h.split(": warning: ")[0] for h in heads] == [
        f"{SEED_}:{line}:10" for line in (28, 34, 40, 46, 53)
    ]


LINT_FILES = sorted(p.name for p in (Path(__file__).parent / "data" / "lint").glob("*.rules"))


@pytest.mark.parametrize("name", LINT_FILES, ids=LINT_FILES)
def test_lint_fixtures_warn_exit_zero_strict_one(run_cli, name):
    path = f"tests/data/lint/{name}"
    plain = run_cli("check", path, "--format", "json")
    strict = run_cli("check", path, "--format", "json", "--strict")
    items = json.loads(plain.stdout)
    if name == "contradiction.rules":  # whole rules that deny nothing are errors (E0110)
        assert {d["severity"] for d in items} == {"warning", "error"}
        assert {d["code"] for d in items if d["severity"] == "error"} == {"E0110"}
        assert (plain.exit_code, strict.exit_code) == (1, 1)
        return
    assert items and {d["severity"] for d in items} == {"warning"}
    assert (plain.exit_code, strict.exit_code) == (0, 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_file_is_an_error_in_every_format(run_cli, fmt):
    result = run_cli("check", "tests/data/no-such.rules", "--format", fmt)
    assert result.exit_code == 1
    shown = result.stderr if fmt == "text" else result.stdout
    assert "no such file" in shown
    if fmt == "sarif":
        validate_sarif(json.loads(result.stdout))


def test_clean_directory_is_silent_and_strict_passes(run_cli, tmp_path):
    (tmp_path / "ok.rules").write_text("deny ECS RunInstances\n")
    result = run_cli("check", tmp_path, "--strict")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "0 errors, 0 warnings in 1 file\n",
        "",
    )


@pytest.mark.parametrize(
    "args",
    [["check"], ["check", SEED, "--format", "xml"], ["check", SEED, "--bogus"]],
    ids=["no-paths", "bad-format", "bad-option"],
)
def test_bad_usage_exits_2(run_cli, args):
    assert run_cli(*args).exit_code == 2


def test_installed_entry_point_sarif(run_ramguard):
    proc = run_ramguard("check", "tests/data/lint", BROKEN, "--format", "sarif")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    log = json.loads(proc.stdout)
    validate_sarif(log)
    rule_ids = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(rule_ids)
    assert {"E0220", "W0101", "W0102", "W0103", "W0104", "W0105", "W0106", "W0201"} <= set(rule_ids)
