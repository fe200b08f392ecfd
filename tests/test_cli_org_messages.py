"""The CLI's messages about org.toml name what the user can type instead (issue 12)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "org-allowlist")


def test_an_undescribed_account_is_offered_every_node_the_root_first(run_cli):
    result = run_cli("decide", "--rules", EXAMPLE, "--account", "999", "ecs:RunInstances")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{EXAMPLE}/org.toml: error: `999` is not a node of it (its nodes: r-example (the Root), "
        "fd-prod, fd-sandbox, fd-china, 1111111111111111, 2222222222222222, 3333333333333333)\n"
    )
    # What the message offers is accepted: the Root decides along the Root alone.
    root = run_cli("decide", "--rules", EXAMPLE, "--account", "r-example", "ecs:RunInstances")
    assert root.exit_code == 0 and '"account": "r-example"' in root.stdout


def test_an_org_of_a_root_only_names_the_root(run_cli, tmp_path):
    (tmp_path / "guard.rules").write_text("deny ECS DeleteInstance\n")
    (tmp_path / "org.toml").write_text('[root]\nid = "r-only"\n')
    result = run_cli("decide", "--rules", tmp_path, "--account", "111", "ecs:RunInstances")
    assert result.exit_code == 1
    assert result.stderr.endswith("`111` is not a node of it (its nodes: r-only (the Root))\n")


def test_a_policy_attached_twice_is_reported_at_the_second_copy(run_cli, tmp_path):
    (tmp_path / "guard.rules").write_text("deny ECS DeleteInstance\n")
    (tmp_path / "org.toml").write_text(
        '[root]\nid = "r-1"\n\n[[account]]\nid = "111"\nparent = "r-1"\n'
        'policies = [\n    "guard",\n    "audit",\n    \'guard\',\n]\n'
    )
    result = run_cli("decide", "--rules", tmp_path, "--account", "111", "ecs:RunInstances")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{tmp_path}/org.toml:10:5: error: policy `guard` is attached twice here\n"
        "  10 |     'guard',\n"
        "     |     ^~~~~~~\n"
        "  help: first at line 8, column 5: delete this copy\n"
    )


def test_a_mistyped_account_gets_the_nearest_id_and_a_big_org_a_short_list(run_cli, tmp_path):
    typo = run_cli(
        "decide", "--rules", EXAMPLE, "--account", "1111111111111112", "ecs:RunInstances"
    )
    assert typo.exit_code == 1
    assert typo.stderr.endswith("; did you mean `1111111111111111`?\n")
    (tmp_path / "guard.rules").write_text("deny ECS DeleteInstance\n")
    accounts = "".join(f'[[account]]\nid = "{100 + i}"\nparent = "r-1"\n' for i in range(40))
    (tmp_path / "org.toml").write_text('[root]\nid = "r-1"\n' + accounts)
    big = run_cli("decide", "--rules", tmp_path, "--account", "x", "ecs:RunInstances")
    assert big.exit_code == 1
    assert big.stderr.endswith(
        "(its nodes: r-1 (the Root), 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, "
        "and 29 more)\n"
    )


def _folders_org(tmp_path, count: int = 15) -> Path:
    (tmp_path / "guard.rules").write_text("deny ECS DeleteInstance\n")
    folders = "".join(
        f'[[folder]]\nid = "fd-{i:02d}"\nparent = "r-1"\n' for i in range(1, count + 1)
    )
    (tmp_path / "org.toml").write_text('[root]\nid = "r-1"\n' + folders)
    return tmp_path


def test_equally_close_ids_suggest_the_nearest_length_then_the_first_sorted(run_cli, tmp_path):
    # difflib alone broke the tie by reverse string order: `fd-1` got `fd-15` (issue 13).
    rules = _folders_org(tmp_path)
    got = run_cli("decide", "--rules", rules, "--account", "fd-1", "ecs:RunInstances")
    assert got.exit_code == 1 and got.stderr.endswith("; did you mean `fd-01`?\n")
    # Of `fd-010`'s ties (fd-01, fd-10 score alike) both are one shorter: sorted, fd-01.
    got = run_cli("decide", "--rules", rules, "--account", "fd-010", "ecs:RunInstances")
    assert got.stderr.endswith("; did you mean `fd-01`?\n")
    got = run_cli("decide", "--rules", rules, "--account", "fd-1x", "ecs:RunInstances")
    assert got.stderr.endswith("; did you mean `fd-01`?\n")


def test_a_huge_unknown_account_is_quoted_short(run_cli, tmp_path):
    rules = _folders_org(tmp_path, 2)
    account = "9" * 100_000
    got = run_cli("decide", "--rules", rules, "--account", account, "ecs:RunInstances")
    assert got.exit_code == 1
    assert got.stderr == (
        f"{rules}/org.toml: error: `{'9' * 60}…` is not a node of it "
        "(its nodes: r-1 (the Root), fd-01, fd-02)\n"
    )
