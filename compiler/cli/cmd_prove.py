"""``ramguard prove``: the trie against RAM documents, exactly, over every request."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from compiler.cli.common import catalog_option, fail, rules_option


@click.command("prove")
@rules_option
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="RAM policy JSON to prove against (repeatable); default: the documents the rules emit.",
)
@catalog_option
def command(rules: tuple[Path, ...], policies: tuple[Path, ...], catalog) -> None:
    """Prove the decision trie of the rules and the RAM documents deny exactly the same
    requests — every action and resource string, every condition value. Exit 0
    "equivalent"; 1 with the shortest request decided differently, as a `ramguard decide`
    command, or when the proof could not be decided.

    \b
    Example:
      ramguard prove --rules policies
      ramguard prove --rules policies --policy generated/leaked-accesskey-protection.json
    """
    from compiler.analysis.prove import compare, from_documents, from_trie
    from compiler.policy import compile_rules
    from compiler.ram.document import PolicyDocumentError
    from compiler.ram.evaluator import RamEvaluator

    policy = compile_rules(rules, catalog)
    try:
        if policies:
            evaluator = RamEvaluator.from_files(policies)
        else:
            docs = policy.ram_documents()
            evaluator = RamEvaluator([(f"emitted#{i + 1}", d) for i, d in enumerate(docs)])
    except PolicyDocumentError as exc:
        fail(str(exc))
    except ValueError as exc:  # JSON that does not parse
        fail(str(exc))
    verdict = compare(from_trie("rules", policy.trie), from_documents("json", evaluator))
    if verdict.status == "equal":
        click.echo(f"equivalent: {len(policy.rules)} rules and the JSON deny the same requests")
        return
    if verdict.status == "unknown" and verdict.witness is None:
        click.echo(f"could not decide: {verdict.reason}", err=True)
        sys.exit(1)
    w = verdict.witness
    assert w is not None
    argv = ["ramguard", "decide"]
    for r in rules:
        argv += ["--rules", str(r)]
    argv.append(w.action)
    if w.resource is not None:
        argv += ["--resource", w.resource]
    for key, value in w.context.items():
        argv += ["-c", f"{key}={value}"]
    head = "differ" if verdict.status == "different" else f"could not decide ({verdict.reason})"
    click.echo(f"{head}: the rules {_word(w.a_denies)} and the JSON {_word(w.b_denies)}")
    click.echo("  " + shlex.join(argv))
    click.echo(
        json.dumps(
            {
                "action": w.action,
                "resource": w.resource,
                "context": w.context,
                "rules": "deny" if w.a_denies else "allow",
                "json": "deny" if w.b_denies else "allow",
            },
            ensure_ascii=False,
        )
    )
    sys.exit(1)


def _word(denies: bool) -> str:
    return "deny" if denies else "allow"
