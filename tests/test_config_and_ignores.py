"""Silencing warnings (``# ramguard: ignore[CODE]``, ``--ignore``, the configuration's
``ignore``) and the project configuration (``ramguard.toml`` / ``[tool.ramguard]``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.analysis.lint import check_paths, check_sources
from compiler.cli import config as config_module
from compiler.cli.config import find_config, load_config
from compiler.language.diagnostics import CompileError
from compiler.language.suppress import line_ignores

SEED = Path("policies/leaked-accesskey-protection.rules").absolute()
VERSIONED = "deny ECD@2020-09-30 StartDesktops\n"
ACCESS_KEY = "deny OSS GetObject when access_key in [LTAI5tExampleKey1]\n"


@pytest.mark.parametrize(
    ("line", "codes"),
    [
        ("deny * *  # ramguard: ignore[W0105]", {"W0105"}),
        ("deny * *  # ramguard: ignore[w0105, W0201]", {"W0105", "W0201"}),
        ("deny * *  #ramguard:ignore[W0201]", {"W0201"}),
        ("deny * *  # see ramguard docs", set()),
        ('policy p "# ramguard: ignore[W0106]"', set()),  # inside a string: not a comment
        ('policy p "a \\" # ramguard: ignore[W0106]"', set()),  # escaped quote
        ('policy p "x"  # ramguard: ignore[W0106]', {"W0106"}),
        ("deny * *", set()),
    ],
)
def test_line_ignores(line, codes):
    assert line_ignores(line) == codes


def _codes(result):
    return [(d.code, d.span.line) for d in result.diagnostics]


def test_a_line_comment_silences_its_code_on_its_line_only():
    text = (
        "deny ECD@2020-09-30 StartDesktops  # ramguard: ignore[W0201]\n"
        "deny ECD@2020-09-30 CreateDesktops\n"
        "deny ECD@2020-09-30 RebootDesktops  # ramguard: ignore[W0105]\n"
    )
    assert _codes(check_sources([("a.rules", text)])) == [("W0201", 2), ("W0201", 3)]


def test_the_ignore_list_silences_a_code_everywhere_but_never_an_error():
    text = VERSIONED + ACCESS_KEY + "deny ECS RunInstance  # ramguard: ignore[E0220]\n"
    found = check_sources([("a.rules", text)], ignore=["W0201", "E0220"])
    assert [d.code for d in found.diagnostics] == ["E0220"]
    assert found.exit_code() == 1


def test_check_paths_takes_the_ignore_list(tmp_path):
    path = tmp_path / "a.rules"
    path.write_text(VERSIONED + ACCESS_KEY)
    assert [d.code for d in check_paths([path]).diagnostics] == ["W0201", "W0105"]
    assert [d.code for d in check_paths([path], ignore=["w0201"]).diagnostics] == ["W0105"]


def test_compile_leaves_out_ignored_warnings(run_cli, tmp_path):
    path = tmp_path / "a.rules"
    path.write_text(VERSIONED + "deny ECD@2020-09-30 CreateDesktops  # ramguard: ignore[W0201]\n")
    out = tmp_path / "out"
    shown = run_cli("compile", path, "--out", out)
    assert shown.exit_code == 0
    assert shown.stderr.count("[W0201]") == 1
    quiet = run_cli("compile", path, "--out", out, "--ignore", "W0201")
    assert "warning" not in quiet.stderr
    assert run_cli("compile", path, "--out", out, "--ignore", "nope").exit_code == 2


def _ramguard_stdin(*args: str, text: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "ramguard"
    return subprocess.run(
        [str(exe), *args], input=text, capture_output=True, text=True, timeout=60, check=False
    )


def test_check_reads_stdin():
    text = SEED.read_text()
    done = _ramguard_stdin("check", "-", "--strict", text=text)
    assert (done.returncode, done.stdout) == (0, "0 errors, 0 warnings in 1 file\n")
    broken = _ramguard_stdin("check", "-", "--format", "json", text="deny ECS RunInstance\n")
    assert broken.returncode == 1
    (item,) = json.loads(broken.stdout)
    assert (item["file"], item["line"], item["code"]) == ("-", 1, "E0220")
    assert broken.stderr == ""


def test_check_quiet_prints_only_errors(run_cli, tmp_path):
    path = tmp_path / "a.rules"
    path.write_text(VERSIONED)
    result = run_cli("check", path, "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


# ---------------------------------------------------------------------------- config


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory with the seed in policies/, the working directory for the test."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "seed.rules").write_text(
        SEED.read_text().replace("  # ramguard: ignore[W0201]", "")
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_pyproject_table_gives_rules_and_ignore(run_cli, project):
    assert run_cli("check", "--strict").exit_code == 2  # no paths and no configuration
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.ramguard]\nrules = ["policies"]\nignore = ["W0201"]\n'
    )
    result = run_cli("check", "--strict")
    assert (result.exit_code, result.stdout) == (0, "0 errors, 0 warnings in 1 file\n")
    decided = run_cli("decide", "ecs:RunInstances")
    assert json.loads(decided.stdout)["decision"] == "deny"
    # The command line wins over the configuration.
    other = project / "other.rules"
    other.write_text("deny OSS GetObject\n")
    assert json.loads(run_cli("decide", "--rules", other, "ecs:RunInstances").stdout)[
        "decision"
    ] == ("allow")


def test_ramguard_toml_wins_and_paths_are_relative_to_it(run_cli, project):
    (project / "pyproject.toml").write_text('[tool.ramguard]\nrules = ["nowhere"]\n')
    (project / "ramguard.toml").write_text('rules = ["policies"]\nout = "build"\ntarget = "ram"\n')
    sub = project / "sub"
    sub.mkdir()
    os.chdir(sub)
    result = run_cli("compile")
    assert result.exit_code == 0, result.stderr
    assert (project / "build" / "leaked-accesskey-protection.json").is_file()
    assert "[W0201]" in result.stderr


def test_a_pyproject_without_the_table_is_passed_over(project):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(project) is None


def test_catalog_overlay_from_the_configuration(run_cli, project):
    (project / "overlay.toml").write_text(
        '[services.Acme]\nram_codes = ["acme"]\noperations = ["Launch"]\n'
    )
    (project / "policies" / "acme.rules").write_text("deny Acme Launch\n")
    assert run_cli("check", "policies").exit_code == 1  # Acme is not in the catalog
    (project / "ramguard.toml").write_text('catalog = ["overlay.toml"]\n')
    result = run_cli("check", "policies")
    assert result.exit_code == 0, result.stderr


def test_configuration_reaches_nested_subcommands(run_cli, project):
    """`traces generate` and `catalog show` are subcommands of a group: the configuration's
    rules and catalog reached only the group, which has neither option."""
    (project / "guard").mkdir()
    (project / "guard" / "all.rules").write_text("deny * *\n")
    os.rename(project / "policies", project / "elsewhere")  # no ./policies default
    (project / "overlay.toml").write_text(
        '[services.Acme]\nram_codes = ["acme"]\noperations = ["Launch"]\n'
    )
    (project / "ramguard.toml").write_text('rules = ["guard"]\ncatalog = ["overlay.toml"]\n')
    result = run_cli("traces", "generate", "--events", "200", "--out", project / "t.jsonl")
    assert result.exit_code == 0, result.stderr
    assert "no rules" not in result.stderr
    assert "Forbidden" in (project / "t.jsonl").read_text()  # leaked keys' calls blocked
    shown = run_cli("catalog", "show", "Acme")
    assert shown.exit_code == 0, shown.stderr
    assert "Launch" in shown.stdout


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ('rules = ["p"]\nignores = ["W0201"]\n', 2, 1, "unknown key `ignores` in ramguard.toml"),
        ('rules = "policies"\n', 1, 1, "`rules` must be a non-empty list of paths"),
        ('ignore = ["nope"]\n', 1, 1, "`ignore` holds `nope`, which is not a code such as W0201"),
        ('target = "arm"\n', 1, 1, "`target` must be one of ram, control-policy, terraform"),
        ("rules = [\n", 2, 1, "invalid TOML"),
        # A table or dotted key is found where it is written, not reported on the file alone.
        ('rules = ["p"]\n[tool]\nx = 1\n', 2, 2, "unknown key `tool` in ramguard.toml"),
        ('rules = ["p"]\ncatalogs.x = 1\n', 2, 1, "unknown key `catalogs` in ramguard.toml"),
    ],
)
def test_configuration_errors_name_file_line_col(run_cli, project, text, line, col, message):
    (project / "ramguard.toml").write_text(text)
    result = run_cli("check", "policies")
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"ramguard.toml:{line}:{col}: error: {message}"), first
    assert "Traceback" not in result.stderr


def test_unknown_key_in_pyproject(project):
    (project / "pyproject.toml").write_text('[tool.ramguard]\nrule = ["policies"]\n')
    with pytest.raises(CompileError) as caught:
        load_config(project / "pyproject.toml")
    (diag,) = caught.value.diagnostics
    assert (diag.span.line, diag.message) == (2, "unknown key `rule` in [tool.ramguard]")


def test_help_lists_the_verbs_even_when_the_configuration_is_broken(run_cli, project):
    (project / "ramguard.toml").write_text("nonsense = 1\n")
    assert run_cli("--help").exit_code == 0


def test_config_targets_are_compile_targets():
    from compiler.cli.cmd_compile import TARGETS

    assert config_module.TARGETS == TARGETS


def test_shell_completion_as_documented():
    exe = Path(sys.executable).parent / "ramguard"
    env = {**os.environ, "_RAMGUARD_COMPLETE": "bash_complete", "COMP_WORDS": "ramguard ch"}
    env["COMP_CWORD"] = "1"
    done = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["plain,check"]
    assert "_RAMGUARD_COMPLETE=bash_source ramguard" in Path("README.md").read_text()


def test_pre_commit_hooks_run_real_commands(run_cli):
    import yaml

    hooks = yaml.safe_load(Path(".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["ramguard-fmt", "ramguard-check", "ramguard-test"]
    for hook in hooks:
        argv = hook["entry"].split()[1:] + hook.get("args", [])
        if hook["pass_filenames"]:
            argv.append(str(SEED))
        assert run_cli(*argv).exit_code == 0, hook["id"]


# ------------------------------------------------- ignore comments that silence nothing


@pytest.mark.parametrize(
    ("line", "col", "message", "help"),
    [
        ("deny ECS RunInstances  # ramguard: ignore[W201]", 43,
         "`W201` is not a ramguard warning code: it silences nothing", "did you mean W0201?"),
        ("deny ECS RunInstances  # ramguard: ignore[W0201, w01o2]", 50,
         "`w01o2` is not a ramguard warning code: it silences nothing", "did you mean W0102?"),
        ("deny ECS RunInstances  # ramguard: ignore[]", 26,
         "`ignore[]` names no code: it silences nothing",
         "name the warnings to silence, e.g. `# ramguard: ignore[W0201]`"),
        ("deny ECS RunInstances  # ramguard: igonre[W0201]", 36,
         "`igonre` is not a ramguard directive", "did you mean ignore[…]?"),
        ("deny ECS RunInstances  # ramguard: ignore[W0999]", 43,
         "`W0999` is not a ramguard warning code: it silences nothing",
         "ramguard reports no such warning; `ramguard check` shows each warning's code"),
    ],
)  # fmt: skip
def test_an_ignore_comment_naming_no_warning_is_warned_about(line, col, message, help):
    found = [d for d in check_sources([("a.rules", line + "\n")]).diagnostics if d.code == "W0107"]
    assert [(d.span.line, d.span.col, d.message, d.help) for d in found] == [
        (1, col, message, help)
    ]


@pytest.mark.parametrize(
    "line",
    [
        "deny ECD@2020-09-30 StartDesktops  # ramguard: ignore[W0201]",
        "deny ECS RunInstance  # ramguard: ignore[E0220]",  # an error: it stands, as documented
        'policy p "# ramguard: ignore[W1]"',  # inside a string: not a comment
        "deny ECS RunInstances  # see ramguard: the docs",
    ],
)
def test_ignore_comments_that_name_warnings_are_not_warned_about(line):
    found = check_sources([("a.rules", line + "\n")]).diagnostics
    assert "W0107" not in [d.code for d in found]


def test_an_unknown_code_in_the_configuration_is_warned_about_at_its_place(run_cli, project):
    (project / "ramguard.toml").write_text(
        'rules = ["policies"]\nignore = [\n  "W0201",\n  "W0999",\n]\n'
    )
    for verb in (("check",), ("compile", "--out", project / "out")):
        result = run_cli(*verb)
        assert result.exit_code == 0, result.stderr
        assert (
            "ramguard.toml:4:3: warning: `W0999` in `ignore` is not a ramguard warning code: "
            "it silences nothing [W0107]"
        ) in result.stderr
    assert run_cli("check", "--strict").exit_code == 1
    (project / "ramguard.toml").write_text('ignore = ["W201"]\n')
    result = run_cli("check", "policies")
    assert result.exit_code == 1
    assert "help: did you mean W0201?" in result.stderr


def test_the_silenceable_codes_are_the_warnings_the_sources_report():
    import re

    from compiler.language.suppress import SILENCEABLE

    root = Path(__file__).resolve().parent.parent / "compiler"
    emitted = set()
    for path in root.rglob("*.py"):
        emitted |= set(re.findall(r"[\"']([WN][0-9]{4})[\"']", path.read_text(encoding="utf-8")))
    assert emitted == SILENCEABLE


def test_an_unknown_code_on_the_command_line_is_warned_about(run_cli, tmp_path):
    path = tmp_path / "a.rules"
    path.write_text(VERSIONED)
    result = run_cli("check", path, "--ignore", "W0201,W0999")
    assert result.exit_code == 0
    assert "ramguard: warning: --ignore W0999 silences nothing" in result.stderr
    bad = run_cli("check", path, "--ignore", "W201")
    assert bad.exit_code == 2
    assert "(did you mean W0201?)" in bad.stderr


def test_the_configurations_codes_are_warned_about_once(run_cli, project):
    (project / "ramguard.toml").write_text('rules = ["policies"]\nignore = ["W0999"]\n')
    result = run_cli("check")
    assert result.stderr.count("silences nothing") == 1, result.stderr  # at its place
