"""Every problem of a catalog overlay in one run, each at FILE:LINE:COL (issue 9 leftovers):
the file's own checks and the ones only the catalog can tell (a new service without RAM
codes, E0611) used to come in two passes — fix one, rerun, see the next."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import catalog_with_overlays
from compiler.cli import main
from compiler.language.diagnostics import CompileError

ONE_FILE = """\
[services.Brandnew]
operations = ["X"]

[services.Acme]
ram_codes = ["acme"]
endpoints = ["BAD HOST"]

[services.OSS]
operations = ["Bad Name"]

[services.Typo]
ram_code = ["typo"]
"""


def _errors(paths) -> list[str]:
    with pytest.raises(CompileError) as info:
        catalog_with_overlays(paths)
    return [d.render().splitlines()[0] for d in info.value.diagnostics]


def test_one_run_reports_the_files_checks_and_the_catalogs_together(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("team.toml").write_text(ONE_FILE)
    assert _errors(["team.toml"]) == [
        "team.toml:1:11: error: new service `Brandnew` needs `ram_codes`",
        "team.toml:6:15: error: `BAD HOST` is not an endpoint host",
        "team.toml:9:16: error: `Bad Name` is not an API operation name",
        # One typo, one error: no E0611 on top for the table that misspelt ram_codes.
        "team.toml:12:1: error: unknown key `ram_code`",
    ]


def test_every_overlay_file_is_checked_in_the_same_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.toml").write_text('[services.Acme]\nram_codes = ["acme"]\nendpoints = ["BAD HOST"]\n')
    # Acme is new to the package but a.toml adds it: b.toml's patch is no E0611.
    Path("b.toml").write_text(
        '[services.Acme]\noperations = ["X"]\n[services.Other]\ntitle = "o"\n'
    )
    Path("c.toml").write_text("[services.X\n")
    Path("d.toml").write_text('[services.Late]\ntitle = "l"\n')
    assert _errors(["a.toml", "b.toml", "c.toml", "d.toml"]) == [
        "a.toml:3:15: error: `BAD HOST` is not an endpoint host",
        "b.toml:3:11: error: new service `Other` needs `ram_codes`",
        "c.toml:1:12: error: not valid TOML: expected ']' at the end of a table declaration",
        # After a file that cannot be parsed, which services exist is unknown: d.toml's
        # `Late` might be one c.toml meant to add, so it is not called new.
    ]


def test_the_command_line_prints_them_all(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text(ONE_FILE)
    rules = tmp_path / "r.rules"
    rules.write_text("deny ECS DeleteInstance\n")
    result = CliRunner().invoke(main, ["check", str(rules), "--catalog", str(team)])
    assert result.exit_code == 1
    lines = [x for x in result.output.splitlines() if ": error: " in x]
    assert [x.split(": error:")[0] for x in lines] == [
        f"{team}:1:11",
        f"{team}:6:15",
        f"{team}:9:16",
        f"{team}:12:1",
    ]
    assert "Traceback" not in result.output


def test_a_valid_overlay_still_applies(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[services.Acme]\nram_codes = ["acme"]\noperations = ["X"]\n')
    assert catalog_with_overlays([good]).service("acme").ram_codes == ("acme",)
