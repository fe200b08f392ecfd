"""Allow lists in the exact engine (issue 12 item 2): `diff`'s headline over the whole
comparison, `prove --policy` on Allow statements, and W0306 decided exactly."""

from __future__ import annotations

import json

ALLOW = "policy prod for control-policy attach [fd-prod]\nallow ECS *\ndeny ECS DeleteInstance\n"


def _sides(tmp_path, old_text: str, new_text: str):
    old, new = tmp_path / "old", tmp_path / "new"
    for side, text in ((old, old_text), (new, new_text)):
        side.mkdir()
        (side / "prod.rules").write_text(text)
    return old, new


# --- diff: the headline is the whole comparison's ------------------------------------------


def test_diff_headline_when_only_an_allow_list_narrows(run_cli, tmp_path):
    # The headline said "equivalent (proved)" before the allow-list change, then exit 3.
    old, new = _sides(tmp_path, ALLOW, ALLOW.replace("allow ECS *", "allow ECS Describe*"))
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert "equivalent (proved)" not in result.stdout.replace("Deny statements: equivalent", "")
    assert lines[-2] == "tightens: some requests allowed before are denied now, none the other way"
    assert lines[-1] == (
        "  Deny statements: equivalent (proved); allow list changed: `prod` (1 no longer "
        "allowed) — deciding the requests of the accounts below the nodes where it is attached "
        "with FullAliyunAccess detached"
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert (data["status"], data["equivalent"], data["verdict"]) == ("different", False, "tightens")
    assert data["deny"]["equivalent"] is True and data["deny"]["verdict"] == "equivalent"


def test_diff_headline_when_an_allow_list_widens_and_a_deny_tightens(run_cli, tmp_path):
    widened = ALLOW.replace("allow ECS *", "allow ECS *\nallow FC *") + "deny ECS StopInstance\n"
    old, new = _sides(tmp_path, ALLOW, widened)
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines[-2] == "tightens and loosens: requests change decision both ways"
    assert lines[-1].startswith(
        "  Deny statements: tightens; allow list changed: `prod` (1 newly allowed)"
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert (data["verdict"], data["deny"]["verdict"]) == ("both", "tightens")


def test_diff_headline_unchanged_when_nothing_or_only_denies_change(run_cli, tmp_path):
    old, new = _sides(tmp_path, ALLOW, ALLOW.replace("deny ECS DeleteInstance\n", ""))
    same = run_cli("diff", old, old)
    assert same.exit_code == 0
    assert same.stdout.splitlines()[-1].startswith("equivalent (proved): no request")
    loosened = run_cli("diff", old, new)
    assert loosened.exit_code == 3
    assert loosened.stdout.splitlines()[-1].startswith("loosens:")
    assert "Deny statements:" not in loosened.stdout
    data = json.loads(run_cli("diff", old, old, "--format", "json").stdout)
    assert (data["equivalent"], data["verdict"], data["allow_lists"]) == (True, "equivalent", [])


# --- prove --policy: Allow statements too --------------------------------------------------

LIST = (
    "policy prod for control-policy\n"
    "allow ECS *\n"
    "allow Oss * when source_ip in [10.0.0.0/8]\n"
    "allow RDS * on [acs:rds:cn-hangzhou:*:*]\n"
    "deny Oss DeleteBucket\n"
)


def _compiled(run_cli, tmp_path, text: str = LIST):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "prod.rules").write_text(text)
    result = run_cli("compile", rules, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.stderr
    doc = tmp_path / "out" / "prod.json"
    return rules, doc, json.loads(doc.read_text())


def _planted(tmp_path, data: dict, edit, name: str = "prod.json"):
    statements = [e for s in data["Statement"] if (e := edit(s)) is not None]
    path = tmp_path / name
    path.write_text(json.dumps({**data, "Statement": statements}))
    return path


def test_prove_policy_equal_allow_lists(run_cli, tmp_path):
    rules, doc, _ = _compiled(run_cli, tmp_path)
    result = run_cli("prove", "--rules", rules, "--policy", doc)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "equivalent (proved): 1 rule and the JSON deny the same requests",
        "equivalent (proved): 3 allow rules and the JSON's Allow statements allow the same "
        "requests (allow list `prod`)",
    ]
    args = ("prove", "--rules", rules, "--policy", doc, "--format", "json")
    data = json.loads(run_cli(*args).stdout)
    assert data["status"] == "equivalent" and data["deny"] == "equivalent"
    assert data["allow_lists"] == [{"allow_rules": 3, "policy": "prod", "status": "equivalent"}]


def _widen_cidr(s):
    cond = s.get("Condition", {}).get("IpAddress")
    if cond:
        return {**s, "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/7"]}}}
    return s


def _drop_rds(s):
    return None if s["Action"] == ["rds:*"] else s


def test_prove_policy_finds_a_planted_allow_difference(run_cli, tmp_path):
    # Before, `prove --policy` compared the Deny statements only and said equivalent.
    rules, _, data = _compiled(run_cli, tmp_path)
    doc = _planted(tmp_path, data, _widen_cidr)
    result = run_cli("prove", "--rules", rules, "--policy", doc)
    assert result.exit_code == 1
    head, witness = result.stdout.splitlines()
    assert head == (
        "differ: allow list of `prod`: the rules' allow rules do not allow and the JSON's Allow "
        "statements allow this request"
    )
    w = json.loads(witness)
    assert w["action"].startswith("oss:") and (w["rules"], w["json"]) == ("implicit-deny", "allow")
    assert w["context"] == {"acs:SourceIp": "11.0.0.0"}  # in 10.0.0.0/7, not in 10.0.0.0/8
    out = json.loads(run_cli("prove", "--rules", rules, "--policy", doc, "--format", "json").stdout)
    assert (out["status"], out["deny"]) == ("different", "equivalent")
    assert out["witness"]["statements"] == "allow" and out["witness"]["policy"] == "prod"
    assert out["repro"] is None


def test_prove_policy_allow_witness_is_decided_by_both_engines(run_cli, tmp_path):
    from compiler.policy import compile_rules
    from compiler.ram.evaluator import RamEvaluator

    rules, _, data = _compiled(run_cli, tmp_path)
    doc = _planted(tmp_path, data, _drop_rds)
    result = run_cli("prove", "--rules", rules, "--policy", doc, "--format", "json")
    assert result.exit_code == 1
    w = json.loads(result.stdout)["witness"]
    assert w["action"].startswith("rds:") and w["resource"].startswith("acs:rds:cn-hangzhou:")
    # The rules' allow list matches the request; the JSON's Allow statements do not.
    (allow_list,) = [p for p in compile_rules([rules]).policies if p.allows]
    from compiler.decide.trie import DecisionTrie

    assert DecisionTrie(allow_list.allows).decide(w["action"], w["context"], w["resource"]).denied
    found = RamEvaluator.from_files([doc]).evaluate(w["action"], w["context"], w["resource"])
    assert not any(ref.effect == "Allow" for ref in found.matched)


def test_prove_policy_downloaded_name_and_missing_allow_list(run_cli, tmp_path):
    rules, doc, data = _compiled(run_cli, tmp_path)
    downloaded = tmp_path / "cp.json"
    downloaded.write_text(doc.read_text())
    assert run_cli("prove", "--rules", rules, "--policy", downloaded).exit_code == 0
    # The Deny statements alone: the rules allow what the JSON does not mention.
    deny_only = _planted(tmp_path, data, lambda s: s if s["Effect"] == "Deny" else None, "d.json")
    result = run_cli("prove", "--rules", rules, "--policy", deny_only)
    assert result.exit_code == 1
    assert "the rules' allow rules allow and the JSON's Allow statements do not allow" in (
        result.stdout
    )


def test_prove_policy_cannot_decide_says_so(run_cli, tmp_path):
    rules, _, data = _compiled(run_cli, tmp_path)
    odd = _planted(
        tmp_path, data, lambda s: {**s, "Action": ["ecs:Désc*"]} if s["Action"] == ["rds:*"] else s
    )
    result = run_cli("prove", "--rules", rules, "--policy", odd)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("could not decide: non-ASCII action pattern `ecs:Désc*`")
    assert "Traceback" not in result.stderr


# --- W0306, exactly -------------------------------------------------------------------------

ORG = """\
[root]
id = "r-1"

[[folder]]
id = "fd-prod"
parent = "r-1"
full_aliyun_access = false

[[folder]]
id = "fd-team"
parent = "fd-prod"
full_aliyun_access = false

[[account]]
id = "111"
parent = "fd-team"
"""
OPEN = "allow RAM *\nallow Sts AssumeRole\nallow ResourceManager *\n"
HEAD = "policy prod for control-policy attach [fd-prod, fd-team]\nallow ECS *\n"
BASE = "policy base for control-policy attach [r-1]\ndeny ECS StopInstance\n"


def _w0306(run_cli, tmp_path, prod: str, base: str = BASE) -> list[dict]:
    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "prod.rules").write_text(prod)
    (tmp_path / "base.rules").write_text(base)
    result = run_cli("check", tmp_path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return [d for d in json.loads(result.stdout) if d["code"] == "W0306"]


def test_w0306_quiet_when_the_admin_path_is_open(run_cli, tmp_path):
    assert _w0306(run_cli, tmp_path, HEAD + OPEN) == []
    scoped = OPEN.replace(
        "allow RAM *",
        "allow RAM * when principal like [acs:ram:*:*:role/resourcedirectoryaccountaccessrole]",
    )
    assert _w0306(run_cli, tmp_path, HEAD + scoped) == []
    exempt = "deny RAM DeleteRole unless principal like [acs:ram:*:*:role/*]\n"
    assert _w0306(run_cli, tmp_path, HEAD + OPEN + exempt) == []


def test_w0306_example_is_quiet(run_cli):
    result = run_cli("check", "examples/org-allowlist", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_w0306_a_condition_the_role_does_not_meet(run_cli, tmp_path):
    # The one-probe check (no context) read a negated condition as open: its probe had no
    # source address, and `NotIpAddress` matches an absent key.
    prod = HEAD + OPEN.replace("allow RAM *", "allow RAM * when source_ip not in [10.0.0.0/8]")
    (w,) = _w0306(run_cli, tmp_path, prod)
    assert w["line"] == 5 and w["file"].endswith("org.toml")  # the topmost node only
    assert w["message"].startswith(
        "the allow list of folder `fd-prod` does not allow all of `ram:*` for the RD access role"
    )
    assert w["help"].startswith(
        "`ram:GetRole` by `acs:ram::111:role/resourcedirectoryaccountaccessrole` with "
        "acs:SourceIp=10.0.0.0 is implicitly denied (no Allow rule matches) at `fd-prod`"
    )
    # MFA required: the fewest keys is MFA absent (a Bool test on an absent key fails).
    (w,) = _w0306(
        run_cli, tmp_path, HEAD + OPEN.replace("allow RAM *", "allow RAM * when mfa = true")
    )
    assert w["help"].startswith(
        "`ram:GetRole` by `acs:ram::111:role/resourcedirectoryaccountaccessrole` is "
        "implicitly denied"
    )


def test_w0306_a_partial_list_and_a_resource_scoped_allow(run_cli, tmp_path):
    # Exactly the old probes' three actions: the probe check was quiet.
    probes = (
        "allow RAM AttachPolicyToRole\nallow Sts AssumeRole\nallow ResourceManager GetAccount\n"
    )
    (w,) = _w0306(run_cli, tmp_path, HEAD + probes)
    assert "does not allow all of `ram:*`, `resourcemanager:*` for" in w["message"]
    action = w["help"].split("`")[1]
    assert action.startswith("ram:") and action != "ram:AttachPolicyToRole"
    scoped = HEAD + OPEN.replace("allow RAM *", "allow RAM * on [acs:ram:*:*:role/*]")
    (w,) = _w0306(run_cli, tmp_path, scoped)
    assert w["help"].startswith('`ram:GetRole` on "" by `acs:ram::111:role/')


def test_w0306_a_deny_up_the_chain(run_cli, tmp_path):
    # The old probe looked at the node's own Allow rules only.
    base = "policy base for control-policy attach [r-1]\ndeny Sts AssumeRole when mfa = false\n"
    (w,) = _w0306(run_cli, tmp_path, HEAD + OPEN, base)
    assert w["message"].startswith(
        "the chain down to folder `fd-prod` refuses some of `sts:AssumeRole` to the RD access role"
    )
    assert w["help"].startswith(
        "`sts:AssumeRole` by `acs:ram::111:role/resourcedirectoryaccountaccessrole` with "
        "acs:MFAPresent=false is denied by a Deny rule at `r-1`; exempt the role"
    )


def test_w0306_witness_is_what_the_chain_engines_decide(tmp_path):
    from compiler.analysis.org_lockout import admin_lockout
    from compiler.policy import compile_rules
    from compiler.ram.chain import ChainEvaluator

    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "prod.rules").write_text(HEAD + "allow RAM Get*\nallow Sts AssumeRole\n")
    policy = compile_rules([tmp_path])
    org = policy.load_org(tmp_path / "org.toml")
    node = next(n for n in org.nodes if n.id == "fd-prod")
    found = admin_lockout(policy, org, node)
    assert [r.part for r in found.requests] == ["ram:*", "resourcemanager:*"]
    for r in found.requests:
        trie = policy.decide_chain(org, "fd-prod", r.action, r.context, r.resource)
        json_ = ChainEvaluator(policy.chain_nodes(org, "fd-prod"))
        assert trie.denied and json_.decide(r.action, r.context, r.resource) == "deny"
    opened = compile_rules([tmp_path])
    (tmp_path / "prod.rules").write_text(HEAD + OPEN)
    opened = compile_rules([tmp_path])
    assert admin_lockout(opened, opened.load_org(tmp_path / "org.toml"), node) is None


# --- diff along the org: what the accounts' chains decide ----------------------------------

CHAIN_ORG = ORG.replace(
    'id = "fd-team"\nparent = "fd-prod"\nfull_aliyun_access = false\n',
    'id = "fd-team"\nparent = "fd-prod"\n',
)
LISTED = "policy prod for control-policy attach [fd-prod]\nallow ECS *\n" + OPEN


def _org_sides(tmp_path, old_rules, new_rules, old_org=CHAIN_ORG, new_org=CHAIN_ORG):
    old, new = _sides(tmp_path, old_rules, new_rules)
    (old / "org.toml").write_text(old_org)
    (new / "org.toml").write_text(new_org)
    return old, new


def test_diff_chains_name_the_account_an_allow_list_change_reaches(run_cli, tmp_path):
    from compiler.policy import compile_rules

    old, new = _org_sides(tmp_path, LISTED, LISTED.replace("allow ECS *", "allow ECS Describe*"))
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    assert f"chains ({new}/org.toml): 1 of 1 account decides some request differently:" in (
        result.stdout
    )
    assert (
        "  account 111: newly denied: ecs:AddTags  [no condition keys]  (allow → deny at fd-prod)\n"
        in result.stdout
    )
    assert result.stdout.splitlines()[-1].endswith(
        f"chains ({new}/org.toml): 1 of 1 account decides some request differently"
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    chains = data["chains"]
    assert (chains["status"], chains["changed_accounts"]) == ("different", ["111"])
    (change,) = chains["changes"]
    w = change["witness"]
    # Both sides' chain deciders decide the witness as reported.
    for side, word in ((old, "old"), (new, "new")):
        policy = compile_rules([side])
        org = policy.load_org(side / "org.toml")
        decided = policy.decide_chain(org, "111", w["action"], w["context"], w["resource"])
        assert decided.decision == w[word]


def test_diff_chains_masked_by_fullaliyunaccess(run_cli, tmp_path):
    # The allow list changes, but the node it is attached to keeps FullAliyunAccess: no
    # account decides anything differently (still exit 3: the policy changed).
    kept = CHAIN_ORG.replace("full_aliyun_access = false\n", "")
    old, new = _org_sides(
        tmp_path, LISTED, LISTED.replace("allow ECS *", "allow ECS Describe*"), kept, kept
    )
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    assert "no account's chain decides any request differently (proved, 1 account)" in (
        result.stdout
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert data["chains"]["status"] == "equal" and data["chains"]["changes"] == []


def test_diff_chains_an_org_change_alone(run_cli, tmp_path):
    # The same rules; the new org.toml detaches FullAliyunAccess from fd-prod. Before, diff
    # compared rules only and said equivalent, exit 0.
    kept = CHAIN_ORG.replace("full_aliyun_access = false\n", "")
    old, new = _org_sides(tmp_path, LISTED, LISTED, kept, CHAIN_ORG)
    result = run_cli("diff", old, new)
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines[-2] == "tightens: some requests allowed before are denied now, none the other way"
    assert lines[-1].startswith(
        "  Deny statements: equivalent (proved); allow lists: equivalent (proved); chains ("
    )
    data = json.loads(run_cli("diff", old, new, "--format", "json").stdout)
    assert (data["verdict"], data["deny"]["verdict"], data["allow_lists"]) == (
        "tightens",
        "equivalent",
        [],
    )
    (change,) = data["chains"]["changes"]
    assert change["kind"] == "newly_denied" and change["new_stopped_at"] == "fd-prod"
    assert change["witness"]["action"] and not change["witness"]["action"].startswith(
        ("ecs:", "ram:", "sts:", "resourcemanager:")
    )


def test_diff_without_control_policies_has_no_chains(run_cli, repo):
    seed = repo / "policies" / "leaked-accesskey-protection.rules"
    data = json.loads(run_cli("diff", seed, seed, "--format", "json").stdout)
    assert data["chains"] is None and data["equivalent"] is True


def test_diff_chains_not_compared_is_said(run_cli, tmp_path):
    # The old rules lack the policy the org.toml lists: the chains cannot be bound there, and
    # diff says so instead of comparing the rules alone in silence.
    org = CHAIN_ORG.replace('parent = "r-1"\nfull', 'parent = "r-1"\npolicies = ["extra"]\nfull')
    extra = "policy extra for control-policy\nallow Vpc *\n"
    old, new = _org_sides(tmp_path, LISTED, LISTED, org, org)
    (new / "extra.rules").write_text(extra)
    result = run_cli("diff", old, new)
    assert result.exit_code == 3  # the allow list of `extra` is new
    assert "note: chains not compared: " in result.stderr
    assert "no policy `extra` in the compiled rules" in result.stderr
    compiled = run_cli("compile", new, "--out", tmp_path / "json", "-q")
    assert compiled.exit_code == 0, compiled.stderr
    side = run_cli("diff", tmp_path / "json", new, "--org", new / "org.toml")
    assert "note: chains not compared: --org needs rules on both sides" in side.stderr


def test_w0305_and_w0306_have_sarif_descriptions(run_cli, tmp_path):
    # They fell back to "ramguard warning W0306" in SARIF's shortDescription.
    (tmp_path / "org.toml").write_text(
        ORG + '\n[[folder]]\nid = "fd-empty"\nparent = "r-1"\nfull_aliyun_access = false\n'
    )
    (tmp_path / "prod.rules").write_text(HEAD)
    result = run_cli("check", tmp_path, "--format", "sarif")
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    shown = {r["id"]: r["shortDescription"]["text"] for r in rules}
    assert shown["W0305"] == "FullAliyunAccess detached and nothing on the node allows"
    assert shown["W0306"].startswith("the chain to an allow-list node refuses")


def test_prove_policy_names_parts_and_the_union(run_cli, tmp_path):
    two = LIST + "\n"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "prod.rules").write_text(two)
    (rules / "dev.rules").write_text("policy dev for control-policy\nallow FC *\n")
    assert run_cli("compile", rules, "--out", tmp_path / "out", "-q").exit_code == 0
    prod = json.loads((tmp_path / "out" / "prod.json").read_text())
    # prod.1.json and prod.2.json are the parts of policy `prod` (compile's names).
    first, *rest = prod["Statement"]
    for n, statements in ((1, [first]), (2, rest)):
        (tmp_path / f"prod.{n}.json").write_text(json.dumps({**prod, "Statement": statements}))
    parts = ["--policy", tmp_path / "prod.1.json", "--policy", tmp_path / "prod.2.json"]
    dev = ["--policy", tmp_path / "out" / "dev.json"]
    result = run_cli("prove", "--rules", rules, *parts, *dev)
    assert result.exit_code == 0, result.stdout
    assert "(allow lists `dev`, `prod`)" in result.stdout
    # Named otherwise (downloaded): two lists each side, proved as one union.
    for name, src in (
        ("a.json", tmp_path / "out" / "prod.json"),
        ("b.json", tmp_path / "out" / "dev.json"),
    ):
        (tmp_path / name).write_text(src.read_text())
    args = ["--policy", tmp_path / "a.json", "--policy", tmp_path / "b.json"]
    result = run_cli("prove", "--rules", rules, *args)
    assert result.exit_code == 0 and "(allow list `every allow list`)" in result.stdout
    # The union holds FC's list: without b.json it differs, on an fc: request.
    alone = run_cli("prove", "--rules", rules, "--policy", tmp_path / "a.json", "--format", "json")
    data = json.loads(alone.stdout)
    assert alone.exit_code == 1 and data["witness"]["policy"] == "every allow list"
    assert data["witness"]["action"].startswith("fc:")


# --- property: the chains' diff is exact ----------------------------------------------------


def _chain_diff_case():
    from hypothesis import strategies as st
    from test_org_chain import _org_case

    return st.tuples(_org_case(), _org_case())


def _bound(files, org_text):
    from compiler.language.diagnostics import CompileError
    from compiler.model.org import bind_org, parse_org
    from compiler.policy import compile_sources

    try:
        policy = compile_sources(files)
        return policy, bind_org(parse_org("org.toml", org_text), policy.ruleset, policy.sources)
    except CompileError:
        return None


def test_chain_diff_is_exact_on_random_orgs():
    # "equal" must mean every request of every account is decided alike (here: random
    # requests never tell the sides apart); a change must be what both deciders say.
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_org_chain import _REQUEST

    from compiler.analysis.diff_chain import _WANT, _node_of, chain_diff
    from compiler.catalog import default_catalog

    actions = default_catalog().actions()

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(_chain_diff_case(), st.lists(_REQUEST, min_size=1, max_size=10))
    def check(sides, requests):
        (old_files, old_org), (new_files, new_org) = sides
        old, new = _bound(old_files, old_org), _bound(new_files, new_org)
        if old is None or new is None:
            return
        found = chain_diff(*old, *new, actions)
        assert found.status in ("equal", "different")
        kinds = {(c.account, c.kind) for c in found.changes}

        # An account is decided along its own chain where described, else the Root's.
        def decide(side, account, action, context, resource):
            policy, org = side
            return policy.decide_chain(org, _node_of(org, account), action, context, resource)

        for c in found.changes:
            a = decide(old, c.account, c.action, c.context, c.resource)
            b = decide(new, c.account, c.action, c.context, c.resource)
            assert (a.denied, b.denied) == _WANT[c.kind]
        for account, action, context, resource in requests:
            if account not in found.accounts:
                continue
            a = decide(old, account, action, context, resource).denied
            b = decide(new, account, action, context, resource).denied
            if a != b:
                kind = "newly_denied" if b else "no_longer_denied"
                assert (account, kind) in kinds, (account, action, context, resource)

    check()


def test_w0306_is_exact_on_random_orgs():
    # No lockout found must mean no admin request by the RD access role is refused (random
    # ones here); every one found must be refused by the chain decider.
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_org_chain import _org_case

    from compiler.analysis.org_lockout import admin_lockout

    role = "acs:ram::111:role/resourcedirectoryaccountaccessrole"
    admin = st.tuples(
        st.sampled_from(["ram:GetRole", "sts:AssumeRole", "resourcemanager:GetAccount"]),
        st.fixed_dictionaries(
            {"acs:PrincipalARN": st.just(role)},
            optional={
                "acs:MFAPresent": st.sampled_from(["true", "false"]),
                "acs:SourceIp": st.sampled_from(["10.1.2.3", "192.0.2.1"]),
            },
        ),
        st.sampled_from([None, "acs:ram::111:role/x"]),
    )

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(_org_case(), st.lists(admin, min_size=1, max_size=8))
    def check(case, requests):
        bound = _bound(*case)
        if bound is None:
            return
        policy, org = bound
        for node in org.nodes:
            if node.full_aliyun_access:
                continue
            found = admin_lockout(policy, org, node)
            assert found is None or not found.undecided
            for r in found.requests if found else ():
                decided = policy.decide_chain(org, node.id, r.action, r.context, r.resource)
                assert decided.stopped_at == r.stopped_at is not None
            if found is None:
                for action, context, resource in requests:
                    decided = policy.decide_chain(org, node.id, action, context, resource)
                    assert decided.stopped_at is None, (node.id, action, context, resource)

    check()


def test_w0306_says_when_it_cannot_decide(tmp_path, monkeypatch):
    # Past the engine's budget W0306 says it could not decide; it never passes in silence.
    import compiler.analysis.org_lockout as org_lockout
    from compiler.analysis.org_lockout import check_org
    from compiler.policy import compile_rules

    real = org_lockout.find_request
    monkeypatch.setattr(
        org_lockout, "find_request", lambda groups, holds: real(groups, holds, state_budget=1)
    )
    (tmp_path / "org.toml").write_text(ORG)
    (tmp_path / "prod.rules").write_text(HEAD + OPEN)
    policy = compile_rules([tmp_path])
    org = policy.load_org(tmp_path / "org.toml")
    found = [d for d in check_org(policy, org) if d.code == "W0306"]
    (w,) = found
    assert w.message.startswith(
        "could not decide whether the chain down to folder `fd-prod` lets the RD access role "
        "use the admin path: more than 1 automaton states"
    )
