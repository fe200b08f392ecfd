"""Resource Directory chains (issue 12 item 2): org.toml, the trie's chain decider and the RAM
evaluator's chain over the emitted JSON, and `.tests` that name an account."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.language.diagnostics import CompileError
from compiler.model.org import parse_org
from compiler.policy import compile_sources
from compiler.ram.chain import ChainEvaluator
from compiler.testing.runner import run_tests

ORG = """\
[root]
id = "r-1"

[[folder]]
id = "fd-prod"
parent = "r-1"
full_aliyun_access = false

[[account]]
id = "111"
parent = "fd-prod"
"""

ALLOW = "policy prod for control-policy attach [fd-prod]\nallow ECS *\ndeny ECS DeleteInstance\n"
BASE = "policy base for control-policy attach [r-1]\ndeny RAM DeleteUser\ndeny ECS StopInstance\n"


def _policy(*files: tuple[str, str]):
    return compile_sources(list(files))


def _org(policy, text: str = ORG, path: str = "org.toml"):
    from compiler.model.org import bind_org

    return bind_org(parse_org(path, text), policy.ruleset, policy.sources)


def _both(policy, org, account, action, context=None, resource=None):
    trie = policy.decide_chain(org, account, action, context, resource)
    json = ChainEvaluator(policy.chain_nodes(org, account)).evaluate(action, context, resource)
    return trie, json


# --- the evaluation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, decision, stopped",
    [
        ("ecs:RunInstances", "allow", None),
        ("ecs:DeleteInstance", "deny", "fd-prod"),  # an explicit Deny in the allow-list node
        ("rds:CreateDBInstance", "deny", "fd-prod"),  # no Allow at fd-prod: implicit deny
        ("ecs:StopInstance", "deny", "r-1"),  # the Root's Deny binds below an allow list too
        # RD walks from the account up: fd-prod's implicit deny ends it before the Root's Deny.
        ("ram:DeleteUser", "deny", "fd-prod"),
    ],
)
def test_each_level_must_allow_and_a_deny_anywhere_wins(action, decision, stopped):
    policy = _policy(("prod.rules", ALLOW), ("base.rules", BASE))
    org = _org(policy)
    trie, json = _both(policy, org, "111", action)
    assert (trie.decision, trie.stopped_at) == (decision, stopped)
    assert (json.decision, json.stopped_at) == (decision, stopped)
    outcomes = {n.node: n.outcome for n in trie.nodes}
    assert outcomes["111"] == "allow"  # the account keeps FullAliyunAccess


def test_the_chain_names_who_allowed_and_who_denied():
    policy = _policy(("prod.rules", ALLOW), ("base.rules", BASE))
    org = _org(policy)
    trie = policy.decide_chain(org, "111", "ecs:DeleteInstance")
    fd = trie.to_dict()["chain"][1]
    assert fd["node"] == "fd-prod" and fd["outcome"] == "deny"
    assert [m["rule"] for m in fd["denied_by"]] == ["deny ECS DeleteInstance"]
    assert [m["rule"] for m in fd["allowed_by"]] == ["allow ECS *"]
    root = trie.to_dict()["chain"][0]
    assert root["allowed_by"] == [{"policy": "FullAliyunAccess"}]


def test_without_org_the_allow_list_changes_nothing():
    # FullAliyunAccess everywhere: only Deny rules decide, as Policy.decide always did.
    policy = _policy(("prod.rules", ALLOW))
    assert policy.decide("rds:CreateDBInstance").decision == "allow"
    assert policy.decide("ecs:DeleteInstance").decision == "deny"


def test_a_resource_scoped_allow_needs_the_resource():
    head = "policy prod for control-policy attach [fd-prod]\n"
    text = head + "allow RDS * on [acs:rds:cn-hangzhou:*:*]\n"
    policy = _policy(("prod.rules", text))
    org = _org(policy)
    arn = "acs:rds:cn-hangzhou:111:dbinstance/rm-1"
    for resource, want in ((arn, "allow"), ("acs:rds:us-west-1:111:dbinstance/rm-1", "deny")):
        trie, json = _both(policy, org, "111", "rds:CreateDBInstance", None, resource)
        assert trie.decision == json.decision == want
    trie, json = _both(policy, org, "111", "rds:CreateDBInstance")
    assert trie.decision == json.decision == "deny"
    (fd,) = [n for n in trie.nodes if n.node == "fd-prod"]
    assert fd.outcome == "implicit-deny" and [m.rule for m in fd.resource_unknown] == [
        "allow RDS * on [acs:rds:cn-hangzhou:*:*]"
    ]


# --- org.toml errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code, line, col",
    [
        ('[root]\nid = "r-1"\n[[folder]]\nid = "fd-1"\nparent = "fd-x"\n', "E0907", 5, 10),
        (
            '[root]\nid = "r-1"\n[[folder]]\nid = "fd-1"\nparent = "r-1"\ncolour = 1\n',
            "E0903",
            6,
            1,
        ),
        ('[root]\nid = "r-1"\nfull_aliyun_access = "no"\n', "E0905", 3, 1),
        ('[root]\nid = "r-1"\n[[account]]\nid = "r-1"\nparent = "r-1"\n', "E0906", 4, 6),
        ('[[folder]]\nid = "fd-1"\nparent = "r-1"\n', "E0902", 1, 1),
        ('folder = ["fd-1"]\n[root]\nid = "r-1"\n', "E0902", 1, 1),
        ('account = [{id = "1", parent = "r-1"}, 3]\n[root]\nid = "r-1"\n', "E0902", 1, 1),
        ('[root]\nid = "r-1"\n[nodes]\n', "E0901", 3, 2),
        ('[root]\nid = "r-1"\n[[folder]]\nid = "fd-1"\nparent = \n', "E0900", 5, 10),
        (
            '[root]\nid = "r-1"\n[[account]]\nid = "1"\nparent = "r-1"\n'
            '[[account]]\nid = "2"\nparent = "1"\n',
            "E0907",
            8,
            10,
        ),
        (
            '[root]\nid = "r"\n'
            + "".join(
                f'[[folder]]\nid = "f{i}"\nparent = "{"r" if i == 1 else f"f{i - 1}"}"\n'
                for i in range(1, 7)
            ),
            "E0909",
            19,
            6,
        ),
    ],
    ids=[
        "unknown-parent",
        "unknown-key",
        "bad-flag",
        "twice",
        "no-root",
        "folder-not-a-table",
        "account-item-not-a-table",
        "unknown-table",
        "toml-syntax",
        "account-parent",
        "too-deep",
    ],
)
def test_org_errors_name_file_line_col(text, code, line, col):
    with pytest.raises(CompileError) as info:
        parse_org("org.toml", text)
    diag = info.value.diagnostics[0]
    assert (diag.code, diag.span.file, diag.span.line, diag.span.col) == (
        code,
        "org.toml",
        line,
        col,
    )
    assert diag.render().startswith(f"org.toml:{line}:{col}: error: ")


def test_binding_checks_policy_names_and_header_attachments():
    policy = _policy(("prod.rules", ALLOW.replace("fd-prod", "fd-nowhere")))
    with pytest.raises(CompileError) as info:
        _org(policy)
    (diag,) = info.value.diagnostics
    assert diag.code == "E0910" and diag.span.file == "prod.rules" and diag.span.line == 1
    policy = _policy(("prod.rules", ALLOW), ("g.rules", "policy g\ndeny RAM DeleteUser\n"))
    text = ORG.replace('id = "r-1"\n', 'id = "r-1"\npolicies = ["prod", "g", "nope"]\n', 1)
    with pytest.raises(CompileError) as info:
        _org(policy, text)
    got = [(d.code, d.span.line, d.span.col, d.message) for d in info.value.diagnostics]
    assert got == [
        ("E0911", 3, 21, "policy `g` is not a control policy"),
        ("E0911", 3, 26, "no policy `nope` in the compiled rules"),
    ]


# --- .tests naming an account ---------------------------------------------------------------


def test_tests_file_names_the_account(tmp_path):
    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "prod.rules").write_text(ALLOW)
    (tmp_path / "base.rules").write_text(BASE)
    (tmp_path / "a.tests").write_text(
        "expect allow RDS CreateDBInstance\n"  # no account: FullAliyunAccess everywhere
        "account 111\n"
        "expect allow ECS RunInstances\n"
        "expect deny RDS CreateDBInstance\n"
        "expect deny RAM DeleteUser\n"
        "expect deny ECS RunInstances in fd-prod when mfa = true\n"
    )
    run = run_tests([tmp_path])
    assert (run.passed, run.failed, run.all_diagnostics) == (4, 1, [])
    (failed,) = [r for s in run.suites for r in s.results if not r.passed]
    assert failed.expectation.line == 6 and failed.trie == failed.json == "allow"
    data = failed.to_dict()
    assert [n["outcome"] for n in data["chain"]] == ["allow", "allow"]
    assert data["json_chain"] == [
        {"node": "r-1", "outcome": "allow"},
        {"node": "fd-prod", "outcome": "allow"},
    ]


def test_tests_naming_an_account_need_an_org(tmp_path):
    (tmp_path / "prod.rules").write_text(ALLOW)
    (tmp_path / "a.tests").write_text("expect allow ECS RunInstances in 111\n")
    run = run_tests([tmp_path])
    (diag,) = run.all_diagnostics
    assert (diag.code, diag.span.line, diag.span.col) == ("E0517", 1, 34)
    assert not run.ok


def test_engines_disagreeing_on_the_chain_fail_the_test(tmp_path):
    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "prod.rules").write_text(ALLOW)
    (tmp_path / "a.tests").write_text("account 111\nexpect allow ECS RunInstances\n")

    def drop_allows(docs):
        return [
            (name, {**d, "Statement": [s for s in d["Statement"] if s["Effect"] != "Allow"]})
            for name, d in docs
        ]

    run = run_tests([tmp_path], transform_documents=drop_allows)
    (result,) = [r for s in run.suites for r in s.results]
    assert (result.trie, result.json) == ("allow", "deny")
    assert "engines disagree" in " ".join(result.failures)


# --- property: the trie's chain and the RAM evaluator's chain agree ------------------------

_RULES = [
    "ECS *",
    "ECS Delete*",
    "ECS RunInstances",
    "Oss Get*",
    "Oss DeleteBucket",
    "* *",
    "* * except [ecs:*]",
]
_CLAUSES = [
    "",
    " when mfa = true",
    " unless mfa = true",
    " when source_ip in [10.0.0.0/8]",
    " on [acs:ecs:cn-hangzhou:*:*]",
]
_ACTIONS = [
    "ecs:RunInstances",
    "ecs:DeleteInstance",
    "ecs:DescribeInstances",
    "oss:GetObject",
    "oss:DeleteBucket",
    "rds:CreateDBInstance",
]
_RESOURCES = [None, "acs:ecs:cn-hangzhou:1:instance/i-1", "acs:ecs:us-west-1:1:instance/i-1"]
_NODES = ["r-1", "fd-a", "fd-b", "111", "222"]
_PARENTS = {"fd-a": "r-1", "fd-b": "fd-a", "111": "fd-b", "222": "fd-a"}


@st.composite
def _org_case(draw):
    policies = []
    for n in range(draw(st.integers(1, 3))):
        rules = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["allow", "deny"]),
                    st.sampled_from(_RULES),
                    st.sampled_from(_CLAUSES),
                ),
                min_size=1,
                max_size=4,
            )
        )
        attach = draw(st.lists(st.sampled_from(_NODES), min_size=1, max_size=2, unique=True))
        body = "".join(f"{effect} {target}{clause}\n" for effect, target, clause in rules)
        head = f"policy p{n} for control-policy attach [{', '.join(attach)}]\n"
        policies.append((f"p{n}.rules", head + body))
    detached = draw(st.sets(st.sampled_from(_NODES)))
    org = ['[root]\nid = "r-1"\n' + ("full_aliyun_access = false\n" if "r-1" in detached else "")]
    for node, parent in _PARENTS.items():
        kind = "account" if node.isdigit() else "folder"
        flag = "full_aliyun_access = false\n" if node in detached else ""
        org.append(f'[[{kind}]]\nid = "{node}"\nparent = "{parent}"\n{flag}')
    return policies, "\n".join(org)


_REQUEST = st.tuples(
    st.sampled_from(["111", "222", "fd-b"]),
    st.sampled_from(_ACTIONS),
    st.fixed_dictionaries(
        {},
        optional={
            "acs:MFAPresent": st.sampled_from(["true", "false"]),
            "acs:SourceIp": st.sampled_from(["10.1.2.3", "192.0.2.1"]),
        },
    ),
    st.sampled_from(_RESOURCES),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_org_case(), st.lists(_REQUEST, min_size=1, max_size=8))
def test_trie_chain_equals_ram_evaluator_chain(case, requests):
    files, org_text = case
    try:
        policy = compile_sources(files)
    except CompileError:
        return  # a generated combination the checker refuses (none expected, but harmless)
    org = _org(policy, org_text)
    for account, action, context, resource in requests:
        trie = policy.decide_chain(org, account, action, context, resource)
        json = ChainEvaluator(policy.chain_nodes(org, account)).evaluate(action, context, resource)
        node_json = {
            n.node: {"Deny": "deny", "Allow": "allow"}.get(n.evaluation.effect, "implicit-deny")
            for n in json.nodes
        }
        assert {n.node: n.outcome for n in trie.nodes} == node_json, (account, action, context)
        assert trie.decision == json.decision
        assert trie.stopped_at == json.stopped_at


# --- lints and the CLI ----------------------------------------------------------------------

EXAMPLE = "examples/org-allowlist"


def _org_dir(tmp_path, org_text: str, *rules: tuple[str, str]):
    (tmp_path / "org.toml").write_text(org_text)
    for name, text in rules:
        (tmp_path / name).write_text(text)
    return tmp_path


def test_w0305_a_detached_node_that_allows_nothing(run_cli, tmp_path):
    org = ORG + '[[folder]]\nid = "fd-empty"\nparent = "r-1"\nfull_aliyun_access = false\n'
    deny_only = "policy prod for control-policy attach [fd-prod]\ndeny ECS DeleteInstance\n"
    _org_dir(tmp_path, org, ("prod.rules", deny_only))
    result = run_cli("check", str(tmp_path))
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if "[W0305]" in line]
    assert lines == [
        f"{tmp_path}/org.toml:5:6: warning: FullAliyunAccess is detached from folder "
        "`fd-prod` and its policies (prod) allow nothing: every request below it is denied "
        "[W0305]",
        f"{tmp_path}/org.toml:13:6: warning: FullAliyunAccess is detached from folder "
        "`fd-empty` and nothing else is attached: every request below it would be denied "
        "(Resource Directory refuses to detach a node's last policy) [W0305]",
    ]
    assert "help: attach a policy with `allow` rules" in result.stderr


def test_w0306_an_allow_list_that_shuts_out_the_rd_access_role(run_cli, tmp_path):
    _org_dir(tmp_path, ORG, ("prod.rules", ALLOW))
    result = run_cli("check", str(tmp_path), "--format", "json")
    import json

    found = [(d["code"], d["line"], d["message"]) for d in json.loads(result.stdout)]
    assert found == [
        (
            "W0306",
            5,
            "the allow list of folder `fd-prod` does not allow all of `ram:*`, "
            "`sts:AssumeRole`, `resourcemanager:*` for the RD access role: the "
            "management account loses the accounts below it",
        )
    ]
    opened = ALLOW + "allow RAM *\nallow Sts AssumeRole\nallow ResourceManager *\n"
    (tmp_path / "prod.rules").write_text(opened)
    assert json.loads(run_cli("check", str(tmp_path), "--format", "json").stdout) == []


def test_the_example_is_quiet_and_its_org_errors_are_reported(run_cli, tmp_path):
    quiet = run_cli("check", EXAMPLE)
    assert quiet.exit_code == 0 and "0 errors, 0 warnings" in quiet.stdout
    _org_dir(tmp_path, ORG.replace('parent = "fd-prod"', 'parent = "fd-gone"'), ("p.rules", ALLOW))
    broken = run_cli("check", str(tmp_path))
    assert broken.exit_code == 1
    assert f"{tmp_path}/org.toml:11:10: error: parent `fd-gone` is not described" in broken.stderr


def test_decide_and_explain_along_the_chain(run_cli):
    import json

    args = ("--rules", EXAMPLE, "--account", "1111111111111111")
    decided = json.loads(run_cli("decide", *args, "fc:CreateFunction").stdout)
    assert (decided["decision"], decided["stopped_at"]) == ("deny", "fd-prod")
    assert [n["outcome"] for n in decided["chain"]] == ["allow", "implicit-deny", "allow"]
    explained = run_cli("explain", *args, "oss:DeleteBucket")
    assert explained.exit_code == 0
    assert "folder fd-prod  [prod-services]  deny — denied by" in explained.stdout
    assert "allow Oss *  ALLOWS" in explained.stdout
    assert "ends at `fd-prod`: an explicit Deny" in explained.stdout
    data = json.loads(run_cli("explain", *args, "ecs:RunInstances", "--format", "json").stdout)
    assert data["decision"] == "allow" and data["stopped_at"] is None
    assert [r["rule"] for r in data["chain"][1]["allow_rules"]] == ["allow ECS *"]


@pytest.mark.parametrize(
    "args, code, words",
    [
        (("--account", "999"), 1, "`999` is not a node of it"),
        (("--org", f"{EXAMPLE}/org.toml"), 2, "--org needs --account"),
    ],
    ids=["unknown-account", "org-without-account"],
)
def test_decide_chain_usage_errors(run_cli, args, code, words):
    result = run_cli("decide", "--rules", EXAMPLE, *args, "ecs:RunInstances")
    assert result.exit_code == code and words in result.stderr and result.stdout == ""


def test_decide_account_without_an_org_is_a_usage_error(run_cli):
    result = run_cli("decide", "--rules", "policies", "--account", "1", "ecs:RunInstances")
    assert result.exit_code == 2 and "--account needs an org.toml" in result.stderr


@settings(max_examples=40, deadline=None)
@given(_REQUEST)
def test_explain_chain_agrees_with_the_decider(request_):
    from compiler.decide.explain_chain import explain_chain
    from compiler.policy import compile_rules

    policy = compile_rules([EXAMPLE])
    org = policy.load_org(f"{EXAMPLE}/org.toml")
    account, action, context, resource = request_
    account = {"111": "1111111111111111", "222": "2222222222222222"}.get(account, "fd-prod")
    explained = explain_chain(policy, org, account, action, context, resource=resource)
    decided = policy.decide_chain(org, account, action, context, resource)
    assert explained.decision == decided
    assert [n.outcome for n in explained.nodes] == [n.outcome for n in decided.nodes]


# --- prove along the org --------------------------------------------------------------------


def test_prove_the_example_node_by_node(run_cli):
    result = run_cli("prove", "--rules", EXAMPLE)
    assert result.exit_code == 0, result.stderr
    assert "at each of 7 nodes the Deny and Allow statements match the rules" in result.stdout
    refused = run_cli("prove", "--rules", EXAMPLE, "--policy", "examples/generated/x.json")
    assert refused.exit_code == 2 and "leave out --policy" in refused.stderr


def _tampered(policy, edit):
    import json as json_

    from compiler.emit.ram import Document

    docs = []
    for doc in policy.documents:
        data = doc.as_dict()
        data["Statement"] = [e for s in data["Statement"] if (e := edit(s)) is not None]
        docs.append(Document(doc.policy, doc.filename, json_.dumps(data), doc.statements))
    policy.__dict__["documents"] = docs  # the cached property, as the emitter would have it
    return policy


@pytest.mark.parametrize(
    "edit, part, chain",
    [
        # ecs:* goes from the allow list's statement (the JSON no longer allows ECS)
        (
            lambda s: {**s, "Action": [a for a in s["Action"] if a != "ecs:*"]},
            "allow",
            ("allow", "deny"),
        ),
        # the Deny of oss:DeleteBucket goes
        (lambda s: None if s["Action"] == ["oss:DeleteBucket"] else s, "deny", ("deny", "allow")),
    ],
    ids=["allow-dropped", "deny-dropped"],
)
def test_prove_finds_a_node_whose_json_differs(edit, part, chain):
    from compiler.analysis.prove_chain import prove_chain
    from compiler.policy import compile_rules

    policy = compile_rules([EXAMPLE])
    org = policy.load_org(f"{EXAMPLE}/org.toml")
    assert prove_chain(policy, org).status == "equal"
    proof = prove_chain(_tampered(policy, edit), org)
    assert proof.status == "different"
    problem = proof.first_problem
    assert (problem.node, problem.part, problem.chain) == ("fd-prod", part, chain)
    assert problem.account == "1111111111111111"
    w = problem.verdict.witness
    assert w.a_denies and not w.b_denies


def test_readme_shows_what_the_example_prints(run_cli):
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for args in (
        ("check", EXAMPLE),
        ("test", EXAMPLE),
        ("prove", "--rules", EXAMPLE),
        ("explain", "--rules", EXAMPLE, "--account", "1111111111111111", "fc:CreateFunction"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 0 and result.stdout.strip()
        assert result.stdout in readme, args


# --- diff of allow lists --------------------------------------------------------------------


def test_diff_reports_allow_list_changes_exactly(run_cli, tmp_path):
    import json

    old, new = tmp_path / "old", tmp_path / "new"
    for side in (old, new):
        side.mkdir()
    (old / "prod.rules").write_text(ALLOW)
    # ECS narrowed to Describe*, FC added; the Deny is unchanged.
    (new / "prod.rules").write_text(ALLOW.replace("allow ECS *", "allow ECS Describe*\nallow FC *"))
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    assert "allow list of `prod` (control policy) changed:" in result.stdout
    assert "newly allowed: 1 change" in result.stdout
    assert "no longer allowed: 1 change" in result.stdout
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    # The whole comparison changed (exit 3); what the rules deny did not.
    assert (data["equivalent"], data["status"], data["verdict"]) == (False, "different", "both")
    assert data["deny"] == {"equivalent": True, "status": "equal", "verdict": "equivalent"}
    (lists,) = data["allow_lists"]
    newly = lists["newly_allowed"][0]["witness"]["action"]
    gone = lists["no_longer_allowed"][0]["witness"]["action"]
    assert newly.startswith("fc:") and gone.startswith("ecs:") and "Describe" not in gone
    same = run_cli("diff", old, old)
    assert same.exit_code == 0 and "allow list" not in same.stdout
    assert run_cli("diff", old, new, "-q").exit_code == 3


def test_allow_list_witnesses_are_quoted_as_the_deny_ones_are(run_cli, tmp_path):
    # A value holding a space or a comma blurs the bracket unless quoted (issue 16): the
    # allow-list lines showed `[acs:SourceVpc=a b]` while the Deny lines quote it.
    old, new = tmp_path / "old", tmp_path / "new"
    for side in (old, new):
        side.mkdir()
    (old / "p.rules").write_text("policy p for control-policy\nallow ECS RunInstances\n")
    (new / "p.rules").write_text(
        'policy p for control-policy\nallow ECS RunInstances when vpc not in ["a b", "c,d"]\n'
    )
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    assert '1. ecs:RunInstances  [acs:SourceVpc="a b"]  (1 catalog action)\n' in result.stdout


def test_diff_compares_allow_lists_against_emitted_json_too(run_cli, tmp_path):
    # `ramguard diff generated/prod.json policies/` (the CI gate on the deployed document)
    # said "equivalent (proved)", exit 0, with the allow list narrowed from ECS * to
    # ECS Describe*: a JSON side's Allow statements were not read.
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "prod.rules").write_text(ALLOW)
    compiled = run_cli("compile", tmp_path / "old", "--out", tmp_path / "json")
    assert compiled.exit_code == 0, compiled.stderr
    new = tmp_path / "new"
    new.mkdir()
    (new / "prod.rules").write_text(ALLOW.replace("allow ECS *", "allow ECS Describe*"))
    json_side = tmp_path / "json" / "prod.json"
    result = run_cli("diff", json_side, new)
    assert result.exit_code == 3, result.stdout
    assert "allow list of `prod` (control policy) changed:" in result.stdout
    assert "no longer allowed: 1 change" in result.stdout
    assert "newly allowed" not in result.stdout
    back = run_cli("diff", new, json_side, "--format", "json")
    assert back.exit_code == 3
    (lists,) = __import__("json").loads(back.stdout)["allow_lists"]
    assert lists["policy"] == "prod" and len(lists["newly_allowed"]) == 1
    assert run_cli("diff", json_side, tmp_path / "old").exit_code == 0  # the same allow list
    # A JSON file named otherwise (as downloaded) is still the one allow list it holds.
    renamed = tmp_path / "downloaded.json"
    renamed.write_text(json_side.read_text())
    assert run_cli("diff", renamed, tmp_path / "old").exit_code == 0
    moved = run_cli("diff", renamed, new)
    assert moved.exit_code == 3 and "allow list of `prod` (control policy)" in moved.stdout
    assert "newly allowed" not in moved.stdout


def test_w0304_counts_from_the_org_where_fullaliyunaccess_is_detached(run_cli, tmp_path):
    import json

    # Ten one-document policies on fd-prod: 10 + FullAliyunAccess is 11 by the headers
    # alone, but fd-prod has FullAliyunAccess detached, so it holds exactly 10.
    ops = ["DescribeInstances", "RunInstances", "StartInstance", "StopInstance"]
    ops += ["RebootInstance", "CreateImage", "DeleteImage", "CreateSnapshot", "DescribeImages"]
    head = "policy p{} for control-policy attach [fd-prod]\nallow ECS {}\n"
    rules = [(f"p{n}.rules", head.format(n, op)) for n, op in enumerate(ops)]
    rules.append(
        (
            "p9.rules",
            ALLOW.replace("policy prod", "policy p9")
            + "allow RAM *\nallow Sts AssumeRole\nallow ResourceManager *\n",
        )
    )
    for name, text in rules:
        (tmp_path / name).write_text(text)
    alone = json.loads(run_cli("check", str(tmp_path), "--format", "json").stdout)
    assert [d["code"] for d in alone] == ["W0304"] * 10  # header count: FullAliyunAccess added
    (tmp_path / "org.toml").write_text(ORG)
    with_org = json.loads(run_cli("check", str(tmp_path), "--format", "json").stdout)
    assert [d["code"] for d in with_org if d["code"] == "W0304"] == []
    kept = ORG.replace("full_aliyun_access = false\n", "")
    (tmp_path / "org.toml").write_text(kept)
    full = json.loads(run_cli("check", str(tmp_path), "--format", "json").stdout)
    (w,) = [d for d in full if d["code"] == "W0304"]
    assert w["file"].endswith("org.toml") and w["line"] == 5
    assert "folder `fd-prod` would hold 11 control policies" in w["message"]


def test_the_decide_path_does_not_import_the_chain():
    # `ramguard decide` start-up is held to 1.3x `--version` (DESIGN.md): the org reader,
    # tomllib and the RAM chain evaluator load only when a chain is asked for.
    import subprocess
    import sys

    code = (
        "import sys, compiler, compiler.policy, compiler.cli.cmd_decide\n"
        "bad = [m for m in ('compiler.model.org', 'compiler.decide.chain', 'compiler.ram.chain',"
        " 'tomllib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "verb", [("check",), ("test",), ("prove", "--rules"), ("decide", "--account", "111", "--rules")]
)
def test_an_org_toml_directory_beside_the_rules_is_an_error_not_ignored(run_cli, tmp_path, verb):
    # Ignored, `check` said "0 warnings" and `prove` "equivalent" without the chain's checks.
    (tmp_path / "p.rules").write_text(ALLOW)
    (tmp_path / "p.tests").write_text("account 111\nexpect allow ECS RunInstances\n")
    (tmp_path / "org.toml").mkdir()
    args = (*verb, str(tmp_path)) + (("ecs:RunInstances",) if verb[0] == "decide" else ())
    result = run_cli(*args)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert f"{tmp_path}/org.toml: error: is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_replays_the_allow_lists_along_the_chain(run_cli, tmp_path):
    # simulate decided the Deny rules only: a member below fd-prod calling FC was counted
    # "allow" though its chain denies it. With the org.toml beside the rules it is denied at
    # fd-prod (tests/test_simulate_org.py has the hand-counted trace).
    trace = tmp_path / "t.jsonl"
    call = {"eventName": "CreateFunction", "serviceName": "FC"}
    trace.write_text(
        json.dumps(call)
        + "\n"
        + json.dumps(
            {**call, "userIdentity": {"type": "ram-user", "accountId": "1111111111111111"}}
        )
        + "\n"
    )
    result = run_cli("simulate", "--rules", EXAMPLE, "--trace", trace, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["denied"], data["allowed"]) == (1, 1)
    assert data["org"]["stopped"][0]["text"].startswith("not allowed at folder fd-prod")
    assert data["org"]["unplaced"]["accounts"] == [{"account": None, "events": 1, "denied": 0}]
    assert "allow lists" not in result.stderr
    assert "note: 1 event of 1 account that " in result.stderr
    quiet = run_cli("simulate", "--rules", EXAMPLE, "--trace", trace, "-q")
    assert "note:" not in quiet.stderr
    seed = run_cli("simulate", "--rules", "policies", "--trace", trace, "--format", "json")
    assert "allow lists" not in seed.stderr and "org" not in json.loads(seed.stdout)
