"""Emitted RAM JSON: grouping, actions, conditions, splitting, safety, writing, determinism."""

from __future__ import annotations

import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from compiler import CompileError
from compiler.catalog import default_catalog
from compiler.emit.ram import MAX_DOCUMENT_CHARS, MAX_DOCUMENTS

T0 = "2026-12-01T00:00:00Z"


def _statements(policy) -> list[dict]:
    (doc,) = policy.ram_documents()
    return doc["Statement"]


# --- statements and actions -----------------------------------------------------------------


def test_rules_with_equal_conditions_share_a_statement(compile_text):
    policy = compile_text(
        "deny ECS RunInstances when mfa = false\n"
        "deny RAM *\n"
        "deny RDS DeleteBackup when mfa = false\n"
        "deny ECS DeleteInstance\n"
        "deny SMS SendSms when mfa = true\n"
        "deny ECI DeleteContainerGroup when mfa=false and source_ip not in [10.0.0.0/8]\n"
    )
    statements = _statements(policy)
    assert statements[0] == {
        "Effect": "Deny",
        "Action": ["ecs:DeleteInstance", "ram:*"],
        "Resource": "*",
    }
    rest = sorted((st["Action"], json.dumps(st["Condition"])) for st in statements[1:])
    assert rest == sorted(
        [
            (
                ["ecs:RunInstances", "rds:DeleteBackup"],
                json.dumps({"Bool": {"acs:MFAPresent": "false"}}),
            ),
            (["dysms:SendSms"], json.dumps({"Bool": {"acs:MFAPresent": "true"}})),
            (
                ["eci:DeleteContainerGroup"],
                json.dumps(
                    {
                        "Bool": {"acs:MFAPresent": "false"},
                        "NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]},
                    }
                ),
            ),
        ]
    )


def test_unless_conjunction_gives_one_statement_per_negated_condition(compile_text):
    statements = _statements(
        compile_text("deny RAM * unless secure_transport = true and source_ip in [10.0.0.0/8]")
    )
    assert sorted(json.dumps(st["Condition"]) for st in statements) == sorted(
        [
            json.dumps({"Bool": {"acs:SecureTransport": "false"}}),
            json.dumps({"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}),
        ]
    )
    assert all(st["Action"] == ["ram:*"] for st in statements)


def test_actions_sorted_deduplicated_and_pruned_under_a_covering_glob(compile_text):
    policy = compile_text(
        "deny RAM CreateUser\n"
        "deny RDS DeleteDBInstance, DeleteDatabase\n"
        "deny ECS DeleteInstance\n"
        "deny ECS runinstances\n"
        "deny ECS RunInstances\n"
        "deny RAM *\n"
        "deny ECS Delete*\n"
        "deny ECS DeleteIns*\n"
    )
    (statement,) = _statements(policy)
    assert statement["Action"] == [
        "ecs:Delete*",
        "ecs:RunInstances",
        "ram:*",
        "rds:DeleteDatabase",  # sorted ignoring case: "deletedatabase" < "deletedbinstance"
        "rds:DeleteDBInstance",
    ]


def test_pruning_stays_within_one_statement(compile_text):
    statements = _statements(compile_text("deny RAM * when mfa = false\ndeny RAM CreateUser\n"))
    assert [st["Action"] for st in statements] == [["ram:CreateUser"], ["ram:*"]]


def test_pruned_json_decides_like_the_trie(compile_text, json_denies):
    policy = compile_text(
        "deny RAM CreateUser\ndeny RAM *\ndeny ECS Delete*\ndeny ECS DeleteInstance\n"
        "deny ECS Describe*s when mfa = false\ndeny ECS DescribeInstances when mfa = false\n"
        "deny IMS Create*\n"
    )
    docs = policy.ram_documents()
    for action in default_catalog().actions():
        for ctx in (None, {"acs:MFAPresent": "false"}):
            assert json_denies(docs, action, ctx) == policy.decide(action, ctx).denied, action


# --- conditions: the DESIGN table -------------------------------------------------------------

CONDITION_BLOCKS = [
    (
        "source_ip-in",
        "source_ip in [10.0.0.0/8, 192.168.0.0/16]",
        {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
    ),
    (
        "source_ip-not-in",
        "source_ip not in [10.0.0.0/8]",
        {"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}},
    ),
    ("mfa", "mfa = true", {"Bool": {"acs:MFAPresent": "true"}}),
    ("secure_transport", "secure_transport = false", {"Bool": {"acs:SecureTransport": "false"}}),
    ("time-before", f"time before {T0}", {"DateLessThan": {"acs:CurrentTime": T0}}),
    ("time-after", f"time after {T0}", {"DateGreaterThan": {"acs:CurrentTime": T0}}),
    (
        "vpc-in",
        "vpc in [vpc-b, vpc-a, vpc-b]",
        {"StringEquals": {"acs:SourceVpc": ["vpc-a", "vpc-b"]}},
    ),
    ("vpc-not-in", "vpc not in [vpc-a]", {"StringNotEquals": {"acs:SourceVpc": ["vpc-a"]}}),
    ("access_key-in", "access_key in [K1]", {"StringEquals": {"acs:AccessId": ["K1"]}}),
    ("access_key-not-in", "access_key not in [K1]", {"StringNotEquals": {"acs:AccessId": ["K1"]}}),
    (
        "two-operators",
        "mfa = false and time after 2026-12-01T00:00:00Z",
        {"Bool": {"acs:MFAPresent": "false"}, "DateGreaterThan": {"acs:CurrentTime": T0}},
    ),
    (
        "two-keys-one-operator",
        "vpc not in [v] and access_key not in [k]",
        {"StringNotEquals": {"acs:AccessId": ["k"], "acs:SourceVpc": ["v"]}},
    ),
]


@pytest.mark.parametrize(
    ("clause", "block"), [c[1:] for c in CONDITION_BLOCKS], ids=[c[0] for c in CONDITION_BLOCKS]
)
def test_condition_block(compile_text, clause, block):
    (statement,) = _statements(compile_text(f"deny ECS RunInstances when {clause}"))
    assert statement["Condition"] == block


def test_condition_keys_and_operators_are_sorted_in_the_text(compile_text):
    (doc,) = compile_text(
        "deny ECS RunInstances when vpc not in [v] and access_key not in [k] and mfa = false"
    ).documents
    text = doc.text
    assert text.index('"Bool"') < text.index('"StringNotEquals"')
    assert text.index('"acs:AccessId"') < text.index('"acs:SourceVpc"')


def test_service_with_two_ram_codes_is_denied_under_each(compile_text, json_denies):
    policy = compile_text("deny IMS CreateUser")
    (statement,) = _statements(policy)
    assert statement["Action"] == ["ims:CreateUser", "ram:CreateUser"]
    docs = policy.ram_documents()
    for action in ("ims:CreateUser", "ram:CreateUser"):
        assert json_denies(docs, action) and policy.decide(action).denied
    assert not json_denies(docs, "ram:CreatePolicy")


# --- splitting --------------------------------------------------------------------------------


def _big_policy_text(name: str = "big") -> str:
    ops = sorted(default_catalog().service("ECS").operations())
    listed = "".join(f"  {op},\n" for op in ops)
    return (
        f"policy {name}\ndeny ECS [\n{listed}]\n"
        "deny RDS Delete* when mfa = false\n"
        "deny RAM CreateUser when source_ip not in [10.0.0.0/8]\n"
    )


def test_large_policy_is_split_within_the_limit(compile_text, json_denies):
    policy = compile_text(_big_policy_text())
    docs = policy.documents
    assert 2 <= len(docs) <= MAX_DOCUMENTS
    assert [d.filename for d in docs] == [f"big.{n}.json" for n in range(1, len(docs) + 1)]
    assert all(len(d.text) <= MAX_DOCUMENT_CHARS for d in docs)
    parsed = policy.ram_documents()
    actions = [*default_catalog().actions(), "ecs:NotAnOperation", "rds:Delete"]
    contexts = [None, {"acs:MFAPresent": "false"}, {"acs:SourceIp": "10.0.0.1"}]
    for action in actions:
        for ctx in contexts:
            assert json_denies(parsed, action, ctx) == policy.decide(action, ctx).denied, action
    # Each piece stands alone as a valid document.
    assert all(d["Version"] == "1" and d["Statement"] for d in parsed)


def test_split_files_are_written_and_old_ones_replaced(tmp_path, run_cli):
    src = tmp_path / "big.rules"
    src.write_text(_big_policy_text(), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "big.json").write_text("{}", encoding="utf-8")  # from when it fitted in one
    (out / "big.9.json").write_text("{}", encoding="utf-8")  # from when it was longer
    (out / "package.json").write_text("{}", encoding="utf-8")  # not ours: left alone
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # not ours: left alone
    result = run_cli("compile", src, "--out", out)
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    n = len(names) - 3
    documents = [f"big.{i}.json" for i in range(1, n + 1)]
    assert names == sorted([*documents, ".ramguard-outputs", "package.json", "notes.txt"])
    assert (out / ".ramguard-outputs").read_text() == "".join(f"{name}\n" for name in documents)
    for i in range(1, n + 1):
        text = (out / f"big.{i}.json").read_text(encoding="utf-8")
        assert len(text) <= MAX_DOCUMENT_CHARS
        json.loads(text)


def _too_many_documents_text() -> str:
    return "policy many\n" + "".join(
        f"deny ECS RunInstances, CreateInstance when access_key in [LTAI5tExampleKey{i:05d}]\n"
        for i in range(400)
    )


def test_more_than_ten_documents_is_refused(tmp_path, run_cli, compile_text):
    with pytest.raises(CompileError) as info:
        compile_text(_too_many_documents_text()).documents  # noqa: B018
    assert f"at most {MAX_DOCUMENTS} can be attached" in str(info.value)
    src = tmp_path / "many.rules"
    src.write_text(_too_many_documents_text(), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("compile", src, "--out", out)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{src}:1:8: error: policy `many` needs more than 10 ")
    assert "Traceback" not in result.stderr
    assert not out.exists()


def _unsplittable_text() -> str:
    return f"deny ECS RunInstances when access_key in [{'k' * 7000}]\n"


def test_a_statement_too_big_to_split_is_refused(tmp_path, run_cli):
    src = tmp_path / "huge.rules"
    src.write_text(_unsplittable_text(), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("compile", src, "--out", out)
    assert result.exit_code == 1
    assert "6144" in result.stderr
    assert not out.exists()


def test_a_statement_too_big_to_split_says_why(tmp_path, run_cli):
    src = tmp_path / "huge.rules"
    src.write_text(_unsplittable_text(), encoding="utf-8")
    result = run_cli("compile", src, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "needs 1 RAM documents" not in result.stderr
    assert f"{src}:1:1: error: this rule makes a RAM statement of" in result.stderr


# --- safety: user text only ever enters JSON as encoded values --------------------------------

NASTY = ['a"b', "c\\d", "</script>", "é中😀", "'single'", "{}[]:,", '"},{"Effect":"Allow']


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_injection_attempts_in_values_stay_values(compile_text):
    values = ", ".join(_quote(v) for v in NASTY)
    policy = compile_text(f"deny ECS RunInstances when vpc in [{values}]")
    (doc,) = policy.documents
    parsed = json.loads(doc.text)
    (statement,) = parsed["Statement"]
    assert sorted(statement["Condition"]["StringEquals"]["acs:SourceVpc"]) == sorted(NASTY)
    assert set(statement) == {"Effect", "Action", "Resource", "Condition"}
    assert doc.text.isascii()
    assert policy.decide("ecs:RunInstances", {"acs:SourceVpc": "</script>"}).denied


def test_injection_attempts_in_the_description(compile_text):
    description = 'say "no" \\ </script> é中😀 "},{"Effect":"Allow'
    policy = compile_text(f"policy p {_quote(description)}\ndeny ECS RunInstances\n")
    assert policy.policies[0].description == description
    plain = compile_text("policy p\ndeny ECS RunInstances\n")
    assert [d.text for d in policy.documents] == [d.text for d in plain.documents]
    json.loads(policy.documents[0].text)


def test_decide_output_is_valid_json_for_nasty_rules(tmp_path, run_cli):
    src = tmp_path / "n.rules"
    values = ", ".join(_quote(v) for v in NASTY)
    src.write_text(f"deny ECS RunInstances when vpc not in [{values}]\n", encoding="utf-8")
    result = run_cli("decide", "--rules", src, "ecs:RunInstances")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["decision"] == "deny"
    rule = out["matched"][0]["rule"]
    assert all(_quote(v) in rule for v in NASTY)


# --- writing ----------------------------------------------------------------------------------


def test_atomic_write_leaves_only_the_documents(tmp_path, run_cli, repo):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "leaked-accesskey-protection.json"
    target.write_text("old", encoding="utf-8")
    with target.open(encoding="utf-8") as reader:  # a reader with the old file open
        result = run_cli(
            "compile", repo / "policies" / "leaked-accesskey-protection.rules", "--out", out, "-q"
        )
        assert result.exit_code == 0, result.stderr
        assert reader.read() == "old"  # replaced by rename, not rewritten in place
    assert sorted(os.listdir(out)) == [".ramguard-outputs", "leaked-accesskey-protection.json"]
    assert target.read_bytes() == (repo / "generated" / target.name).read_bytes()


def test_compile_reports_what_it_did(tmp_path, run_cli, repo):
    out = tmp_path / "out"
    first = run_cli(
        "compile", repo / "policies" / "leaked-accesskey-protection.rules", "--out", out
    )
    assert first.exit_code == 0
    assert "1 written, 0 unchanged, 0 removed" in first.stdout
    assert first.stderr == ""  # the seed silences its version warnings on their lines
    again = run_cli(
        "compile", repo / "policies" / "leaked-accesskey-protection.rules", "--out", out
    )
    assert "0 written, 1 unchanged, 0 removed" in again.stdout


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


@pytest.fixture
def compiled_out(tmp_path, run_cli) -> tuple[Path, Path]:
    src = tmp_path / "g.rules"
    src.write_text("deny ECS RunInstances\ndeny RAM * when mfa = false\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("compile", src, "--out", out).exit_code == 0
    return src, out


def test_check_fresh(compiled_out, run_cli):
    src, out = compiled_out
    result = run_cli("compile", src, "--out", out, "--check")
    assert result.exit_code == 0, result.stderr
    assert f"{out}: up to date (1 document)" in result.stdout


STALE = [
    (
        "edited",
        lambda out: (out / "g.json").write_text("{}\n", encoding="utf-8"),
        "g.json: stale: differs",
    ),
    ("missing", lambda out: (out / "g.json").unlink(), "g.json: stale: missing"),
    (
        "extra-split-piece",
        lambda out: (out / "g.2.json").write_text("{}\n", encoding="utf-8"),
        "g.2.json: stale: no longer produced",
    ),
]


@pytest.mark.parametrize(("damage", "message"), [s[1:] for s in STALE], ids=[s[0] for s in STALE])
def test_check_stale(compiled_out, run_cli, damage, message):
    src, out = compiled_out
    damage(out)
    before = _snapshot(out)
    result = run_cli("compile", src, "--out", out, "--check")
    assert result.exit_code == 1
    assert message in result.stderr
    assert _snapshot(out) == before  # --check writes nothing


def test_check_stale_when_rules_change(compiled_out, run_cli):
    src, out = compiled_out
    src.write_text("deny ECS RunInstances\n", encoding="utf-8")
    result = run_cli("compile", src, "--out", out, "--check")
    assert result.exit_code == 1
    assert "stale" in result.stderr


# --- determinism ------------------------------------------------------------------------------

RICH = (
    'policy rich "conditions of every kind"\n'
    "deny ECS RunCommand when source_ip not in [192.168.0.0/16, 10.0.0.0/8, 172.16.0.0/12] "
    "and mfa = false\n"
    "deny RAM * unless secure_transport = true and source_ip in [10.0.0.0/8]\n"
    f"deny RDS DeleteDBInstance, DeleteBackup when time after {T0} unless vpc in [v3, v1, v2]\n"
    "deny * * when access_key in [KZ, KA, KM, KB]\n"
    "deny EC? Delete*\n"
    "deny IMS Create*, Delete*\n"
    "deny ECS StopInstance when vpc not in [b, a] and access_key not in [y, x]\n"
)


def test_output_is_independent_of_rule_order(compile_text):
    lines = RICH.splitlines()
    header, rules = lines[0], lines[1:]
    texts = set()
    for seed in range(5):
        random.Random(seed).shuffle(rules)
        policy = compile_text("\n".join([header, *rules]) + "\n", "rich.rules")
        texts.add(tuple(d.text for d in policy.documents))
    assert len(texts) == 1


def test_compile_twice_same_bytes(tmp_path, run_cli, repo):
    src = tmp_path / "rules"
    src.mkdir()
    (src / "rich.rules").write_text(RICH, encoding="utf-8")
    (src / "big.rules").write_text(_big_policy_text(), encoding="utf-8")
    outs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        assert run_cli("compile", src, repo / "policies", "--out", out).exit_code == 0
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outs[0] == outs[1]
    assert len(outs[0]) > 3


def test_same_bytes_across_hash_seeds(tmp_path, run_ramguard, repo):
    src = tmp_path / "rules"
    src.mkdir()
    (src / "rich.rules").write_text(RICH, encoding="utf-8")
    (src / "big.rules").write_text(_big_policy_text(), encoding="utf-8")
    seeds = ("0", "1", "12345")

    def run(seed: str):
        out = tmp_path / f"out-{seed}"
        env = {"PYTHONHASHSEED": seed}
        return out, run_ramguard("compile", src, repo / "policies", "--out", out, "-q", env=env)

    with ThreadPoolExecutor(len(seeds)) as pool:  # three interpreters at once: faster
        runs = list(pool.map(run, seeds))
    outs = []
    for out, proc in runs:
        assert proc.returncode == 0, proc.stderr
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outs[0] == outs[1] == outs[2]
    assert (repo / "generated" / "leaked-accesskey-protection.json").read_bytes() == outs[0][
        "leaked-accesskey-protection.json"
    ]


def test_check_sees_the_documents_of_a_deleted_policy(tmp_path, run_cli):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.rules").write_text("deny ECS RunInstances\n", encoding="utf-8")
    (rules / "b.rules").write_text("deny RDS DeleteDBInstance\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("compile", rules, "--out", out).exit_code == 0
    (rules / "b.rules").unlink()
    result = run_cli("compile", rules, "--out", out, "--check")
    assert result.exit_code == 1
    assert f"{out / 'b.json'}: stale: no longer produced by the rules" in result.stderr
    (out / "package.json").write_text("{}", encoding="utf-8")  # someone else's file
    assert run_cli("compile", rules, "--out", out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [".ramguard-outputs", "a.json", "package.json"]


@pytest.mark.parametrize("make_out", ["file-in-the-way", "directory-named-like-a-document"])
def test_an_unusable_out_directory_is_a_clean_error(tmp_path, run_cli, make_out):
    src = tmp_path / "p.rules"
    src.write_text("deny ECS RunInstances\n", encoding="utf-8")
    if make_out == "file-in-the-way":
        (tmp_path / "afile").write_text("x", encoding="utf-8")
        out = tmp_path / "afile" / "sub"
    else:
        out = tmp_path / "out"
        (out / "p.json").mkdir(parents=True)
    result = run_cli("compile", src, "--out", out)
    assert result.exit_code == 1
    assert ": error: " in result.stderr and "Traceback" not in result.stderr


def test_documents_are_filled_action_by_action(compile_text):
    # Every operation of seven services, one rule each: 1,341 actions in one statement. Cut
    # into halves, two pieces never shared a document and it "needed" 11; filled action by
    # action it takes 9, each but the last nearly full.
    catalog = default_catalog()
    services = ["ECS", "RDS", "ECD", "DBS", "ECI", "SMS", "PTS"]
    lines = [
        f"deny {svc} {op}" for svc in services for op in sorted(catalog.service(svc).operations())
    ]
    policy = compile_text("policy all\n" + "\n".join(lines) + "\n")
    sizes = [len(d.text) for d in policy.documents]
    assert len(sizes) <= MAX_DOCUMENTS
    assert all(size <= MAX_DOCUMENT_CHARS for size in sizes)
    assert all(size > MAX_DOCUMENT_CHARS - 100 for size in sizes[:-1])
    emitted = sorted(a for doc in policy.ram_documents() for a in doc["Statement"][0]["Action"])
    assert emitted == sorted(a for r in policy.rules for a in r.actions)
