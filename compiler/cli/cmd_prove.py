"""``ramguard prove``: the trie against RAM documents, exactly, over every request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.cli.common import (
    FILE,
    answer_only_option,
    catalog_option,
    decide_command,
    fail,
    fail_at,
    find_org_for,
    org_option,
    printable,
    rules_option,
    text_or_json_option,
)
from compiler.language.diagnostics import counted


@click.command("prove")
@rules_option
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=FILE,
    help="RAM policy JSON to prove against (repeatable); default: the documents the rules emit.",
)
@org_option
@text_or_json_option
@answer_only_option
@catalog_option
def command(
    rules: tuple[Path, ...],
    policies: tuple[Path, ...],
    org_path: Path | None,
    fmt: str,
    quiet: bool,
    catalog,
) -> None:
    """Prove the decision trie of the rules and the RAM documents deny exactly the same
    requests — every action and resource string, every condition value — and that the
    control policies' `allow` rules and the documents' Allow statements allow exactly the
    same requests, allow list by allow list. Exit 0 "equivalent (proved)"; 1 with the
    shortest request decided differently (for the Deny part as a `ramguard decide`
    command), or when the proof could not be decided.

    \b
    Example:
      ramguard prove --rules policies
      ramguard prove --rules policies --policy generated/leaked-accesskey-protection.json
      ramguard prove --rules policies --format json
      ramguard prove --rules examples/org-allowlist      # and its org.toml, node by node

    With an org.toml (beside the rules, or --org), each node's Deny and Allow rules are also
    proved against the Deny and Allow statements emitted for the policies attached there:
    equal at every node, the Root → folders → account chains decide every request alike.
    """
    from compiler.analysis.prove import compare, from_documents, from_trie, polished
    from compiler.analysis.prove_allows import (
        emitted_allow_lists,
        file_allow_lists,
        prove_allow_lists,
    )
    from compiler.catalog import default_catalog
    from compiler.policy import compile_rules
    from compiler.ram.document import PolicyDocumentError
    from compiler.ram.evaluator import RamEvaluator

    policy = compile_rules(rules, catalog)
    org_file = find_org_for(rules, org_path)
    if org_file is not None and policies:
        raise click.UsageError(
            "an org.toml is proved against the documents the rules emit; leave out --policy "
            "(or prove those documents without the org)"
        )
    try:
        if policies:
            evaluator = RamEvaluator.from_files(policies)
            lists = file_allow_lists(policies)
        else:
            docs = policy.ram_documents()
            evaluator = RamEvaluator([(f"emitted#{i + 1}", d) for i, d in enumerate(docs)])
            lists = emitted_allow_lists(policy)
    except PolicyDocumentError as exc:
        # DESIGN.md's error line: the file (and line:col of a JSON syntax error) first.
        fail_at(exc.location, exc.detail)
    except ValueError as exc:  # JSON that does not parse
        fail(str(exc))
    deciders = from_trie("rules", policy.trie), from_documents("json", evaluator)
    verdict = compare(*deciders)
    allows = prove_allow_lists(policy, lists, evaluator)
    parts = [("deny", verdict), *((a.policy, a.verdict) for a in allows)]
    statuses = {v.status for _, v in parts}
    whole = next((s for s in ("different", "unknown") if s in statuses), "equal")
    if whole == "equal" and org_file is not None:
        _prove_org(policy, org_file, rules, fmt, quiet)
    # What is shown: the first part (Deny, then each allow list) that answers as the whole.
    part, problem = next((name, v) for name, v in parts if v.status == whole)
    w = problem.witness
    if w is not None and problem.status == "different":
        # The witness on a catalog action where one is in the difference, else on `x:Y`,
        # confirmed again: the repro line is a request `decide` takes, and an allow list's
        # request is what the user can check (no `decide` command shows one without an org).
        sides = deciders
        if part != "deny":
            proof = next(a for a in allows if a.policy == part)
            sides = proof.rules, proof.json
        w = polished(*sides, w, (catalog or default_catalog()).actions())
    command = None
    if w is not None and part == "deny":
        overlays = click.get_current_context().meta.get("ramguard.catalog_paths", ())
        command = decide_command(rules, w.action, w.resource, w.context, overlays)
    code = 0 if whole == "equal" else 1
    if quiet:
        if whole == "unknown" and w is None:
            click.echo(f"could not decide: {problem.reason}", err=True)
        sys.exit(code)
    words = _word if part == "deny" else _allow_word
    witness = None
    if w is not None:
        witness = {
            "action": w.action,
            "resource": w.resource,
            "context": w.context,
            "rules": words(w.a_denies),
            "json": words(w.b_denies),
        }
    n_allows = sum(a.allow_rules for a in allows)
    if fmt == "json":
        status = {"equal": "equivalent", "different": "different"}.get(whole, "unknown")
        data: dict = {"status": status, "rules": len(policy.rules)}
        data["deny"] = {"equal": "equivalent"}.get(verdict.status, verdict.status)
        if allows:
            data["allow_lists"] = [
                {
                    "policy": a.policy,
                    "allow_rules": a.allow_rules,
                    "status": {"equal": "equivalent"}.get(a.verdict.status, a.verdict.status),
                }
                for a in allows
            ]
        if whole == "unknown":
            data["reason"] = problem.reason
        if witness is not None:
            data["witness"] = {**witness, "statements": "deny" if part == "deny" else "allow"}
            if part != "deny":
                data["witness"]["policy"] = part
            data["repro"] = command
        click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        sys.exit(code)
    if whole == "equal":
        click.echo(
            f"equivalent (proved): {counted(len(policy.rules), 'rule', grouped=False)} and the "
            "JSON deny the same requests"
        )
        if allows:
            names = ", ".join(f"`{printable(a.policy)}`" for a in allows)
            click.echo(
                f"equivalent (proved): {counted(n_allows, 'allow rule', grouped=False)} and the "
                "JSON's Allow statements "
                f"allow the same requests (allow list{'s' * (len(allows) != 1)} {names})"
            )
        return
    if witness is None:
        click.echo(f"could not decide: {problem.reason}", err=True)
        sys.exit(1)
    head = "differ" if problem.status == "different" else f"could not decide ({problem.reason})"
    if part == "deny":
        click.echo(f"{head}: the rules {witness['rules']} and the JSON {witness['json']}")
        click.echo("  " + (command or ""))
    else:
        click.echo(
            f"{head}: allow list of `{printable(part)}`: the rules' allow rules "
            f"{_allow_verb(w.a_denies)} and the JSON's Allow statements "
            f"{_allow_verb(w.b_denies)} this request"
        )
    click.echo(json.dumps(witness, ensure_ascii=False))
    sys.exit(1)


def _prove_org(policy, org_file: Path, rules: tuple[Path, ...], fmt: str, quiet: bool) -> None:
    """The node-by-node proof of the org (``analysis.prove_chain``); exits 1 on a difference
    or an undecided node, else returns to report the whole-set proof as usual."""
    from compiler.analysis.prove_chain import prove_chain

    org = policy.load_org(org_file)
    proof = prove_chain(policy, org)
    problem = proof.first_problem
    if problem is None:
        if fmt == "text" and not quiet:
            nodes = len({p.node for p in proof.proofs})
            where = "at its one node" if nodes == 1 else f"at each of {nodes} nodes"
            click.echo(
                f"equivalent (proved): {org_file}: {where} the Deny and Allow "
                "statements match the rules (every account's chain decides alike)"
            )
        return
    w = problem.verdict.witness
    if quiet:
        sys.exit(1)
    if w is None:
        click.echo(
            f"could not decide: {org_file}: node `{problem.node}` ({problem.part}): "
            f"{problem.verdict.reason}",
            err=True,
        )
        sys.exit(1)
    overlays = click.get_current_context().meta.get("ramguard.catalog_paths", ())
    command = decide_command(rules, w.action, w.resource, w.context, overlays)
    command += f" --account {problem.account}"
    trie, json_ = problem.chain or ("?", "?")
    matched = {True: "match", False: "do not match"}
    data = {
        "status": "different",
        "org": str(org_file),
        "node": problem.node,
        "statements": problem.part,
        "witness": {
            "action": w.action,
            "resource": w.resource,
            "context": w.context,
            "rules": matched[w.a_denies],
            "json": matched[w.b_denies],
        },
        "chain": {"account": problem.account, "rules": trie, "json": json_},
        "repro": command,
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        sys.exit(1)
    click.echo(
        f"differ: {org_file}: at node `{problem.node}` the {problem.part} rules "
        f"{matched[w.a_denies]} and the JSON's {problem.part.title()} statements "
        f"{matched[w.b_denies]}; along {problem.account}'s chain the rules {trie}, the JSON "
        f"{json_}"
    )
    click.echo("  " + command)
    sys.exit(1)


def _word(denies: bool) -> str:
    return "deny" if denies else "allow"


def _allow_word(allows: bool) -> str:
    """An allow list's answer at its node, in the chain's words."""
    return "allow" if allows else "implicit-deny"


def _allow_verb(allows: bool) -> str:
    return "allow" if allows else "do not allow"
