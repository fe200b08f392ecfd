"""``ramguard prove``: the trie against RAM documents, exactly, over every request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.cli.common import (
    answer_only_option,
    catalog_option,
    decide_command,
    fail,
    rules_option,
    text_or_json_option,
)


@click.command("prove")
@rules_option
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="RAM policy JSON to prove against (repeatable); default: the documents the rules emit.",
)
@text_or_json_option
@answer_only_option
@catalog_option
def command(
    rules: tuple[Path, ...], policies: tuple[Path, ...], fmt: str, quiet: bool, catalog
) -> None:
    """Prove the decision trie of the rules and the RAM documents deny exactly the same
    requests — every action and resource string, every condition value. Exit 0
    "equivalent"; 1 with the shortest request decided differently, as a `ramguard decide`
    command, or when the proof could not be decided.

    \b
    Example:
      ramguard prove --rules policies
      ramguard prove --rules policies --policy generated/leaked-accesskey-protection.json
      ramguard prove --rules policies --format json
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
    w = verdict.witness
    command = None
    if w is not None:
        overlays = click.get_current_context().meta.get("ramguard.catalog_paths", ())
        command = decide_command(rules, w.action, w.resource, w.context, overlays)
    code = 0 if verdict.status == "equal" else 1
    if quiet:
        if verdict.status == "unknown" and w is None:
            click.echo(f"could not decide: {verdict.reason}", err=True)
        sys.exit(code)
    if fmt == "json":
        status = {"equal": "equivalent", "different": "different"}.get(verdict.status, "unknown")
        data: dict = {"status": status, "rules": len(policy.rules)}
        if verdict.status == "unknown":
            data["reason"] = verdict.reason
        if w is not None and command is not None:
            data["witness"] = {
                "action": w.action,
                "resource": w.resource,
                "context": w.context,
                "rules": _word(w.a_denies),
                "json": _word(w.b_denies),
            }
            data["repro"] = command
        click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        sys.exit(code)
    if verdict.status == "equal":
        click.echo(f"equivalent: {len(policy.rules)} rules and the JSON deny the same requests")
        return
    if w is None or command is None:
        click.echo(f"could not decide: {verdict.reason}", err=True)
        sys.exit(1)
    head = "differ" if verdict.status == "different" else f"could not decide ({verdict.reason})"
    click.echo(f"{head}: the rules {_word(w.a_denies)} and the JSON {_word(w.b_denies)}")
    click.echo("  " + command)
    click.echo(
        json.dumps(
            {
                "action": w.action,
                "resource": w.resource,
                "context": w.context,
                "rules": _word(w.a_denies),
                "json": _word(w.b_denies),
            },
            ensure_ascii=False,
        )
    )
    sys.exit(1)


def _word(denies: bool) -> str:
    return "deny" if denies else "allow"
