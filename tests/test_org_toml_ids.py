"""org.toml: an `id` that is there but not a node id (a space, a dot, markup) is said to be
that, with the id shown; it read "[folder] needs an `id`", pointing at the id the user wrote."""

from __future__ import annotations

import pytest

RULES = "policy prod for control-policy\nallow ECS *\n"


@pytest.mark.parametrize(
    ("kind", "table"),
    [
        ("root", '[root]\nid = "r example"\n'),
        ("folder", '[root]\nid = "r-1"\n\n[[folder]]\nid = "fd.prod"\nparent = "r-1"\n'),
        ("account", '[root]\nid = "r-1"\n\n[[account]]\nid = "[bold]111"\nparent = "r-1"\n'),
    ],
)
def test_an_invalid_id_is_named_not_missing(run_cli, tmp_path, kind, table):
    (tmp_path / "prod.rules").write_text(RULES)
    (tmp_path / "org.toml").write_text(table)
    result = run_cli("check", tmp_path)
    assert result.exit_code == 1
    bad = table.rsplit('id = "', 1)[1].split('"', 1)[0]
    line = next(x for x in result.stderr.splitlines() if "E0904" in x)
    assert f"[{kind}] `id` `{bad}` is not a node id" in line, line
    assert "needs an `id`" not in line
    n = table.count("\n", 0, table.rindex('id = "')) + 1
    assert line.startswith(f"{tmp_path / 'org.toml'}:{n}:"), line


def test_a_missing_id_still_says_it_is_needed(run_cli, tmp_path):
    (tmp_path / "prod.rules").write_text(RULES)
    (tmp_path / "org.toml").write_text('[root]\nid = "r-1"\n\n[[folder]]\nparent = "r-1"\n')
    result = run_cli("check", tmp_path)
    assert result.exit_code == 1
    assert "[folder] needs an `id`: the folder's id (`fd-…`)" in result.stderr
