"""``simulate`` along the org.toml chain (issue 12 item 2): every event decided along its
account's ``Root → folders → account`` by both engines, the denied ones said where the chain
stopped them (an explicit Deny at a node by a rule, or an allow list's implicit deny), events
of accounts org.toml does not describe counted as unplaced; with ``--baseline`` too.

Counts are checked against a hand count: every kind of call below states by hand the outcome
``examples/org-allowlist`` gives it (read off its rules and org.toml), and the trace repeats
the kinds a random number of times."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from functools import reduce
from pathlib import Path

import pytest

from compiler import compile_rules
from compiler.replay.chain_replay import ChainRules, OrgReplay
from compiler.replay.cluster import process_runner
from compiler.replay.impact import Baseline
from compiler.replay.simulate import (
    Engines,
    PartialReport,
    plan,
    replay_split,
    simulate,
)

EXAMPLE = Path("examples/org-allowlist")
PROD, SANDBOX, CHINA, STRAY = "1111111111111111", "2222222222222222", "3333333333333333", "42"
GUARD = "org-guardrails.rules"
PROD_RULES = "prod-services.rules"
G4, G8 = f"{GUARD}:4", f"{GUARD}:8"
OWNER = "owner-of-1111111111111111"  # a root-account call of PROD (see _event)
ROLE = "rd-role-of-1111111111111111"  # PROD's RD access role (see _event)

# (account, service, host, operation, region) → (decision, outcome, node, rule file:line) by
# hand: fd-prod allows ECS/Vpc/Oss/RAM/… and denies Oss DeleteBucket (prod-services.rules:23);
# the Root denies RemoveCloudAccount (org-guardrails.rules:4) and StopLogging/DeleteTrail
# (:8); fd-sandbox keeps FullAliyunAccess; an account not in org.toml gets the Root alone.
KINDS = {
    (PROD, "Ecs", "ecs", "RunInstances"): ("allow", None, None, None),
    (PROD, "Oss", "oss", "DeleteBucket"): ("deny", "deny", "fd-prod", f"{PROD_RULES}:23"),
    (PROD, "FC", "fc", "CreateFunction"): ("deny", "implicit-deny", "fd-prod", None),
    (PROD, "Actiontrail", "actiontrail", "StopLogging"): ("deny", "deny", "r-example", G8),
    # The same call by the RD access role: the Root's Deny is `unless principal like` it, so
    # the call passes the Root, and fd-prod allows Actiontrail. Its answer must not be the
    # one alice's calls get: the caller is the only difference between the two.
    (ROLE, "Actiontrail", "actiontrail", "StopLogging"): ("allow", None, None, None),
    (SANDBOX, "FC", "fc", "CreateFunction"): ("allow", None, None, None),
    (SANDBOX, "ResourceManager", "resourcemanager", "RemoveCloudAccount"): (
        "deny", "deny", "r-example", G4),
    (STRAY, "FC", "fc", "CreateFunction"): ("allow", None, None, None),
    (STRAY, "Actiontrail", "actiontrail", "DeleteTrail"): ("deny", "deny", "r-example", G8),
    (None, "Actiontrail", "actiontrail", "DeleteTrail"): ("deny", "deny", "r-example", G8),
    (None, "Ecs", "ecs", "DeleteInstance"): ("allow", None, None, None),
    # The account's own call (root-account): no control policy binds it, the Root's Deny
    # of StopLogging included, and there are no RAM guardrails here.
    (OWNER, "Actiontrail", "actiontrail", "StopLogging"): ("allow", None, None, None),
    (OWNER, "FC", "fc", "CreateFunction"): ("allow", None, None, None),
}  # fmt: skip


def _event(i: int, account: str | None, service: str, host: str, name: str) -> dict:
    out = {
        "eventId": f"e{i}",
        "eventName": name,
        "eventSource": f"{host}.aliyuncs.com",
        "serviceName": service,
        "eventTime": f"2026-03-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "acsRegion": "cn-hangzhou",
        "sourceIpAddress": "10.0.0.1",
    }
    if account == OWNER:
        out["userIdentity"] = {"type": "root-account", "accountId": PROD, "userName": "root"}
    elif account == ROLE:
        out["userIdentity"] = {
            "type": "assumed-role",
            "accountId": PROD,
            "userName": "resourcedirectoryaccountaccessrole:admin",
        }
    elif account is not None:
        out["userIdentity"] = {
            "type": "ram-user",
            "accountId": account,
            "accessKeyId": "LTAI5tA",
            "userName": "alice",
        }
    return out


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> tuple[Path, Counter]:
    rng = random.Random(5)
    kinds = list(KINDS)
    picked = [rng.choice(kinds) for _ in range(700)]
    path = tmp_path_factory.mktemp("org") / "t.jsonl"
    path.write_text("".join(json.dumps(_event(i, *k)) + "\n" for i, k in enumerate(picked)))
    return path, Counter(picked)


def _hand(counts: Counter) -> dict:
    denied = sum(n for k, n in counts.items() if KINDS[k][0] == "deny")
    stops: Counter = Counter()
    for k, n in counts.items():
        _d, outcome, node, rule = KINDS[k]
        if outcome is not None:
            stops[(outcome, node, rule)] += n
    unplaced = Counter()
    for k, n in counts.items():
        if k[0] not in (PROD, SANDBOX, CHINA, OWNER, ROLE):
            unplaced[k[0]] += n
    exempt = sum(n for k, n in counts.items() if k[0] == OWNER)
    return {"denied": denied, "stops": stops, "unplaced": unplaced, "exempt": exempt}


def _stops(org: dict) -> Counter:
    out: Counter = Counter()
    for row in org["stopped"]:
        rules = [Path(r["file"]).name + f":{r['line']}" for r in row["rules"]]
        out[(row["outcome"], row["node"], rules[0] if rules else None)] += row["calls"]
    return out


def test_each_event_is_decided_along_its_accounts_chain_as_counted_by_hand(
    run_cli, trace, tmp_path
):
    path, counts = trace
    out = tmp_path / "r.json"
    result = run_cli("simulate", "--rules", EXAMPLE, "--trace", path, "--report", out)
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text())
    hand = _hand(counts)
    assert (data["decided"], data["denied"]) == (700, hand["denied"])
    assert data["mismatches"]["count"] == 0
    org = data["org"]
    assert org["path"] == str(EXAMPLE / "org.toml")
    assert _stops(org) == hand["stops"]
    assert org["denied"] == {
        "explicit_deny": sum(n for (o, *_), n in hand["stops"].items() if o == "deny"),
        "implicit_deny": sum(n for (o, *_), n in hand["stops"].items() if o == "implicit-deny"),
        "guardrail": 0,
    }
    unplaced = org["unplaced"]
    assert org["exempt"]["count"] == hand["exempt"] > 0 and org["exempt"]["denied"] == 0
    assert org["placed"] + unplaced["count"] + org["exempt"]["count"] == 700
    assert {a["account"]: a["events"] for a in unplaced["accounts"]} == dict(hand["unplaced"])
    assert "Root's chain alone (r-example)" in unplaced["decided_as"]
    # fd-prod's allow list by hand: `allow ECS *` (line 15) let every RunInstances of PROD
    # pass; `allow Actiontrail *` (line 11) its StopLogging, which the Root then denies (but
    # for the RD access role's); its DeleteBucket is denied at fd-prod before any Allow is
    # asked.
    allowed = {
        (Path(r["file"]).name, r["line"]): r["allowed"]
        for r in org["allow_rules"]
        if r["status"] == "allowed"
    }
    assert allowed == {
        (PROD_RULES, 15): counts[(PROD, "Ecs", "ecs", "RunInstances")],
        (PROD_RULES, 11): counts[(PROD, "Actiontrail", "actiontrail", "StopLogging")]
        + counts[(ROLE, "Actiontrail", "actiontrail", "StopLogging")],
    }
    prod_list = next(a for a in org["allow_lists"] if a["policy"] == "prod-services")
    assert (prod_list["allowed"], prod_list["allow_rules"]) == (2, 9)
    assert "prod-services 2/9 (22.2%)" in result.stdout
    implicit = next(r for r in org["stopped"] if r["outcome"] == "implicit-deny")
    assert implicit["text"].startswith("not allowed at folder fd-prod (implicit deny")
    explicit = next(r for r in org["stopped"] if r["node"] == "fd-prod" and r["outcome"] == "deny")
    assert explicit["text"] == f"denied at folder fd-prod by rule {EXAMPLE / PROD_RULES}:23"
    # The summary and stderr say it too, the unplaced never silently.
    assert "not allowed at folder fd-prod" in result.stdout
    assert "denied at folder fd-prod by rule" in result.stdout
    n = sum(hand["unplaced"].values())
    assert f"note: {n:,} events of 2 accounts that {EXAMPLE / 'org.toml'} does not" in (
        result.stderr
    )
    assert "allow lists" not in result.stderr  # they are replayed now


def _engines(rules=EXAMPLE, baseline_rules=None) -> Engines:
    policy = compile_rules([rules])
    org_path = Path(rules) / "org.toml"
    base = chain = None
    if baseline_rules is not None:
        old = compile_rules([baseline_rules])
        base = Baseline((str(baseline_rules),), policy=old)
        chain = ChainRules(old, old.load_org(org_path))
    org = OrgReplay(ChainRules(policy, policy.load_org(org_path)), str(org_path), chain)
    return Engines.for_policy(policy, baseline=base, org=org)


def test_the_same_report_for_any_jobs_and_split_order(timeless_report, trace):
    path, _ = trace
    engines = _engines()
    sources = [str(path)]
    splits = plan(sources, split_bytes=8192, split_events=50)
    assert len(splits) > 5
    per_split = [replay_split(s, engines) for s in splits]
    merged = reduce(PartialReport.merge, reversed(per_split), PartialReport())
    expected = timeless_report(merged, sources, engines, drop=("evaluated",))
    assert expected["org"]["stopped_total"] == 4
    assert (
        timeless_report(
            simulate(sources, engines, split_bytes=8192, split_events=50),
            sources,
            engines,
            drop=("evaluated",),
        )
        == expected
    )
    runner = process_runner(2, here=False)
    got = simulate(sources, engines, split_bytes=8192, split_events=50, runner=runner)
    assert timeless_report(got, sources, engines, drop=("evaluated",)) == expected


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory) -> Path:
    """The example with `allow ECS *` taken out of fd-prod's allow list."""
    root = tmp_path_factory.mktemp("narrowed") / "org"
    shutil.copytree(EXAMPLE, root)
    rules = root / PROD_RULES
    text = rules.read_text()
    assert "allow ECS *\n" in text
    rules.write_text(text.replace("allow ECS *\n", ""))
    return root


def test_a_plan_with_an_org_names_the_node_that_no_longer_allows(run_cli, trace, narrowed):
    path, counts = trace
    out = narrowed / "r.json"
    result = run_cli(
        "simulate", "--rules", narrowed, "--baseline", EXAMPLE, "--trace", path, "--report", out
    )
    assert result.exit_code == 3, result.stderr
    data = json.loads(out.read_text())
    prod_ecs = counts[(PROD, "Ecs", "ecs", "RunInstances")]
    plan_ = data["plan"]
    assert (plan_["newly_denied"], plan_["no_longer_denied"]) == (prod_ecs, 0)
    (line,) = plan_["lines"]
    assert line["rules"] == [{"where": "not allowed at fd-prod", "node": "fd-prod", "rule": None}]
    assert plan_["engine_mismatches"]["count"] == 0
    assert plan_["baseline_engines"] == ["trie", "ram"]
    said = " ".join(result.stdout.split())
    assert (
        f"+ {prod_ecs} calls by user alice would be denied (ecs:RunInstances in cn-hangzhou) "
        "— not allowed at fd-prod"
    ) in said
    back = run_cli(
        "simulate", "--rules", EXAMPLE, "--baseline", narrowed, "--trace", path, "--format", "json"
    )
    assert back.exit_code == 3, back.stderr
    (line,) = json.loads(back.stdout)["plan"]["lines"]
    assert (line["change"], line["calls"]) == ("-", prod_ecs)
    assert line["rules"][0]["where"] == "not allowed at fd-prod"


@pytest.mark.parametrize(
    "extra",
    [("--policy", "examples/generated/org-guardrails.json"), ("--baseline-policy", "x.json")],
    ids=["policy", "baseline-policy"],
)
def test_documents_that_cannot_be_placed_on_the_chain_are_a_usage_error(run_cli, trace, extra):
    path, _ = trace
    result = run_cli("simulate", "--rules", EXAMPLE, "--trace", path, *extra)
    assert result.exit_code == 2, result.stderr
    assert "org.toml" in result.stderr


def test_without_an_org_the_allow_lists_are_said_not_replayed(run_cli, trace, tmp_path):
    path, _ = trace
    for rules in EXAMPLE.glob("*.rules"):
        shutil.copy(rules, tmp_path)
    # The headers attach to nodes: with no org.toml they are not placed, and simulate says
    # so rather than reading a member's call its allow list shuts out as allowed.
    result = run_cli("simulate", "--rules", tmp_path, "--trace", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "are not replayed" in result.stderr and "--org" in result.stderr
    assert "org" not in json.loads(result.stdout)
    with_org = run_cli(
        "simulate", "--rules", tmp_path, "--org", EXAMPLE / "org.toml", "--trace", path, "-q"
    )
    assert with_org.exit_code == 0, with_org.stderr
    assert "are not replayed" not in with_org.stderr


def test_account_text_is_data_in_the_summary(run_cli, tmp_path):
    hostile = "[bold red]x[/bold red]<script>"
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps(_event(1, hostile, "Actiontrail", "actiontrail", "DeleteTrail")))
    result = run_cli("simulate", "--rules", EXAMPLE, "--trace", trace)
    assert result.exit_code == 0, result.stderr
    assert f"{hostile} (1)" in result.stdout.replace("\n", "")


def test_the_html_page_shows_the_org_section_escaped(run_cli, tmp_path):
    from compiler.report import render_html

    hostile = "<script>alert(1)</script>{{ 7*7 }}"
    trace = tmp_path / "t.jsonl"
    events = [
        _event(1, hostile, "Actiontrail", "actiontrail", "DeleteTrail"),
        _event(2, PROD, "FC", "fc", "CreateFunction"),
    ]
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = run_cli("simulate", "--rules", EXAMPLE, "--trace", trace, "--format", "json")
    assert result.exit_code == 0, result.stderr
    page = render_html(json.loads(result.stdout))
    assert "Org chain: Root → folders → account" in page
    assert "not allowed at folder fd-prod" in page
    assert "Allow lists" in page and "Allow rules" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in page
    assert hostile not in page


def test_ram_guardrails_are_decided_after_the_chain(run_cli, tmp_path):
    # A `for ram` policy binds principals, not nodes: after the chain, deny-wins; and it is
    # all that decides an account's own call.
    root = tmp_path / "org"
    shutil.copytree(EXAMPLE, root)
    (root / "guard.rules").write_text('policy guard "RAM guardrail"\ndeny FC CreateFunction\n')
    trace = tmp_path / "t.jsonl"
    events = [
        _event(1, SANDBOX, "FC", "fc", "CreateFunction"),  # the chain allows: guardrail
        _event(2, PROD, "FC", "fc", "CreateFunction"),  # implicit deny at fd-prod, and guard
        _event(3, OWNER, "FC", "fc", "CreateFunction"),  # exempt from the chain: guard
        _event(4, OWNER, "Actiontrail", "actiontrail", "StopLogging"),  # exempt: allowed
    ]
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = run_cli("simulate", "--rules", root, "--trace", trace, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["denied"], data["allowed"], data["mismatches"]["count"]) == (3, 1, 0)
    org = data["org"]
    assert org["denied"] == {"explicit_deny": 0, "implicit_deny": 1, "guardrail": 2}
    assert org["exempt"] == {**org["exempt"], "count": 2, "denied": 1}
    texts = {row["text"]: row["calls"] for row in org["stopped"]}
    guard = f"{root / 'guard.rules'}:2"
    assert texts == {
        f"denied by RAM guardrail rule {guard} (the chain allowed it)": 2,
        "not allowed at folder fd-prod (implicit deny: no Allow matched, FullAliyunAccess "
        f"detached); also denied by RAM guardrail rule {guard}": 1,
    }


def test_a_baseline_the_org_cannot_bind_is_an_error_at_its_line(run_cli, trace, tmp_path):
    path, _ = trace
    for rules in EXAMPLE.glob("*.rules"):
        shutil.copy(rules, tmp_path)
    prod = tmp_path / PROD_RULES
    prod.write_text(prod.read_text().replace("attach [fd-prod]", "attach [fd-nope]"))
    result = run_cli("simulate", "--rules", EXAMPLE, "--baseline", tmp_path, "--trace", path)
    assert result.exit_code == 1
    assert f"{prod}:4:8: error: policy `prod-services` is attached to `fd-nope`" in result.stderr
    assert "Traceback" not in result.stderr
