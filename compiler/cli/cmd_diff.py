"""``ramguard diff``: which requests two policies decide differently, exactly
(``compiler.analysis.diff``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.analysis.diff import CLASSES, Change, DiffResult, Side, load_side, semantic_diff
from compiler.analysis.diff_allows import whole_verdict
from compiler.cli.common import (
    answer_only_option,
    catalog_option,
    decide_command,
    fail_with_diagnostics,
    org_option,
    printable,
    text_or_json_option,
)
from compiler.language.diagnostics import Diagnostic, Severity, Span
from compiler.ram import PolicyDocumentError

_TITLES = {"newly_denied": "newly denied", "no_longer_denied": "no longer denied"}
_VERDICTS = {
    "tightens": "tightens: some requests allowed before are denied now, none the other way",
    "loosens": "loosens: some requests denied before are allowed now",
    "both": "tightens and loosens: requests change decision both ways",
    "equivalent": "equivalent (proved): no request — any action, resource or condition value — "
    "changes decision",
}
_SHOWN_ACTIONS = 10
_SHOWN_STATEMENTS = 3


def _load(path: Path, catalog) -> Side:
    try:
        return load_side(path, catalog)
    except PolicyDocumentError as exc:
        where = f"statement {exc.statement}: " if exc.statement is not None else ""
        element = f"{exc.element}: " if exc.element else ""
        span = Span(exc.document, exc.line or 0, exc.column or 0)
        fail_with_diagnostics(
            [Diagnostic("E0800", Severity.ERROR, f"{where}{element}{exc.message}", span)]
        )


def repro(side: Side, change: Change, overlays: tuple[Path, ...] = ()) -> str | None:
    """A ``ramguard decide`` command that shows this side's decision on the witness."""
    if not side.rules:
        return None
    w = change.witness
    return decide_command([side.label], w.action, w.resource, w.context, overlays)


def _shown(value: str) -> str:
    """A witness value as the bracket shows it: quoted (JSON) when it is empty or holds what
    would blur the list (`[resource ]` was the empty resource, issue 16)."""
    if value == "" or any(c in value for c in ' ,[]="') or not value.isprintable():
        return json.dumps(value)
    return value


def _context_text(change: Change) -> str:
    w = change.witness
    parts = [f"{k}={_shown(str(v))}" for k, v in w.context.items()]
    if w.resource is not None:
        parts.insert(0, f"resource {_shown(w.resource)}")
    return ", ".join(parts) or "no condition keys"


def render_text(result: DiffResult, old: Side, new: Side, overlays: tuple[Path, ...] = ()) -> None:
    from compiler.cli.render import stdout_console, text

    console = stdout_console()
    # File names, actions, rule text are user text: rich Text only (never markup), escaped.
    say = lambda s: console.print(text(s))  # noqa: E731
    say(f"{result.old} → {result.new}")
    for kind in CLASSES:
        changes = result.of(kind)
        affected = result.catalog_affected(kind)
        say(
            f"{_TITLES[kind]}: {len(changes)} change{'s' * (len(changes) != 1)}, "
            f"{len(affected)} catalog action{'s' * (len(affected) != 1)}"
        )
        for n, c in enumerate(changes, 1):
            w = c.witness
            say(
                f"  {n}. {w.action}: {_word(w.a_denies)} → {_word(w.b_denies)}  "
                f"[{_context_text(c)}]"
            )
            for label, stmts in (("old", c.old_statements), ("new", c.new_statements)):
                shown = [f"{s.label} `{_clip(s.text)}`" for s in stmts[:_SHOWN_STATEMENTS]]
                more = len(stmts) - len(shown)
                line = "; ".join(shown) + (f"; … {more} more" if more > 0 else "")
                say(f"     {label}: {line or 'no statement applies'}")
            acts = c.catalog_actions
            listed = ", ".join(acts[:_SHOWN_ACTIONS])
            more = f", … {len(acts) - _SHOWN_ACTIONS} more" if len(acts) > _SHOWN_ACTIONS else ""
            if acts:
                say(f"     catalog actions ({len(acts)}): {listed}{more}")
            else:
                say("     catalog actions (0): none — only names outside the catalog")
            for side, denied in ((old, w.a_denies), (new, w.b_denies)):
                cmd = repro(side, c, overlays)
                if cmd is not None:
                    say(f"     $ {cmd}   # {_word(denied)}")


def _clip(text: str, width: int = 100) -> str:
    """Rule text on one line of the report (``--format json`` keeps it whole)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _word(denied: bool) -> str:
    return "deny" if denied else "allow"


@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@org_option
@text_or_json_option
@answer_only_option
@catalog_option
def command(old: Path, new: Path, org_path: Path | None, fmt: str, quiet: bool, catalog) -> None:
    """Compare two policies by what they deny, exactly: every action and resource string
    and every condition value, not a sample.

    OLD and NEW are each a rules file or directory, or RAM policy JSON (a `.json` file, or
    a directory of them). Each change — newly denied, no longer denied — comes with a
    concrete request both policies decide as shown (and `ramguard decide` commands to see
    it), the statements behind it and the catalog actions it affects. Control policies'
    allow lists are compared too (newly / no longer allowed), and with an org.toml (beside
    either side's rules, or --org) every account's chain Root → folders → account: which
    accounts decide some request differently. The closing verdict covers every part.

    Exit 0 when the policies are proved equivalent, 3 when some request changes decision, 1
    on an error or when the engine could not decide.

    \b
    Examples:
      ramguard diff generated/leaked-accesskey-protection.json policies
      ramguard diff old/x.rules policies/x.rules --format json
    """
    overlays = click.get_current_context().meta.get("ramguard.catalog_paths", ())
    before, after = _load(old, catalog), _load(new, catalog)
    result = semantic_diff(before.decider, after.decider, catalog)
    if result.status == "unknown":
        click.echo(f"could not decide: {result.reason}", err=True)
        sys.exit(1)
    allows = _allow_lists(before, after, catalog)
    chains = _chains(before, after, old, new, org_path, catalog)
    changed = result.changed or bool(allows) or (chains is not None and chains.status != "equal")
    if quiet:
        sys.exit(3 if changed else 0)
    verdict = whole_verdict(result, allows, chains)
    if fmt == "json":
        data = result.to_dict()
        # The top-level answer is the whole comparison's (exit 3 and `equivalent: true` must
        # never meet); `deny` keeps what the Deny statements alone do.
        data["deny"] = {k: data[k] for k in ("status", "equivalent", "verdict")}
        data["status"] = "different" if changed else "equal"
        data["equivalent"] = not changed
        data["verdict"] = verdict
        data["allow_lists"] = [a.to_dict() for a in allows]
        data["chains"] = chains.to_dict() if chains is not None else None
        for kind in CLASSES:
            for entry, change in zip(data[kind], result.of(kind), strict=True):
                entry["repro"] = {
                    "old": repro(before, change, overlays),
                    "new": repro(after, change, overlays),
                }
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        render_text(result, before, after, overlays)
        _render_allow_lists(allows)
        _render_chains(chains)
        _render_headline(result, allows, verdict, chains)
    sys.exit(3 if changed else 0)


def _allow_lists(before: Side, after: Side, catalog) -> list:
    """The allow lists' changes (issue 12 item 2), rules or JSON on either side (a JSON
    side's Allow statements); exit 1 when the engine cannot decide one."""
    from compiler.analysis.diff_allows import side_allow_list_diffs

    found = side_allow_list_diffs(before, after, catalog)
    for item in found:
        if item.result.status == "unknown":
            click.echo(
                f"could not decide the allow list of `{item.policy}`: {item.result.reason}",
                err=True,
            )
            sys.exit(1)
    return found


def _render_allow_lists(allows: list) -> None:
    from compiler.analysis.diff import NEWLY, NO_LONGER

    for item in allows:
        click.echo("")
        click.echo(f"allow list of `{printable(item.policy)}` (control policy) changed:")
        for kind, word in ((NEWLY, "newly allowed"), (NO_LONGER, "no longer allowed")):
            changes = item.result.of(kind)
            if not changes:
                continue
            click.echo(f"  {word}: {len(changes)} change{'s' if len(changes) != 1 else ''}")
            for n, change in enumerate(changes[:_SHOWN_STATEMENTS], start=1):
                # The witness as the Deny changes show it (values quoted where they would
                # blur the bracket, issue 16).
                shown = f"{change.witness.action}  [{_context_text(change)}]"
                acts = len(change.catalog_actions)
                plural = "s" if acts != 1 else ""
                click.echo(f"    {n}. {printable(shown)}  ({acts} catalog action{plural})")


def _render_headline(result: DiffResult, allows: list, verdict: str, chains=None) -> None:
    """The last word summarises the whole comparison: the Deny statements, the allow lists
    (an allow list's change with the Deny part equivalent is a change, exit 3) and, with an
    org, what the accounts' chains decide."""
    from compiler.analysis.diff import NEWLY, NO_LONGER

    click.echo("")
    click.echo(_VERDICTS[verdict])
    if not allows and chains is None:
        return
    deny = "equivalent (proved)" if result.status == "equal" else _VERDICTS[result.verdict]
    deny = deny.split(":", 1)[0]
    parts = [f"Deny statements: {deny}"]
    if allows:
        lists = []
        for item in allows:
            counts = [
                f"{len(item.result.of(kind))} {word}"
                for kind, word in ((NEWLY, "newly allowed"), (NO_LONGER, "no longer allowed"))
                if item.result.of(kind)
            ]
            lists.append(f"`{printable(item.policy)}` ({', '.join(counts)})")
        n = len(allows)
        parts.append(
            f"allow list{'s' * (n != 1)} changed: {'; '.join(lists)}"
            + (
                ""
                if chains is not None
                else " — deciding the requests of the accounts below the nodes where "
                f"{'they are' if n != 1 else 'it is'} attached with FullAliyunAccess detached"
            )
        )
    elif chains is not None:
        parts.append("allow lists: equivalent (proved)")
    if chains is not None:
        where = printable(chains.org)
        if chains.status == "equal":
            parts.append(
                f"chains ({where}): no account's chain decides any request differently "
                f"(proved, {_accounts(len(chains.accounts))}), nor the Root's chain for accounts "
                "org.toml does not describe"
            )
        else:
            parts.append(f"chains ({where}): {_changed(chains)}")
    click.echo("  " + "; ".join(parts))


def _chains(before: Side, after: Side, old: Path, new: Path, org_path: Path | None, catalog):
    """The accounts' chains compared (``analysis.diff_chain``) when an org applies: ``--org``,
    else an org.toml beside either side's rules (one side's serves both). None when there is
    none, no control policy on either side, or a side that is JSON (said on stderr)."""
    from compiler.model.org import find_org

    if not (before.rules and after.rules):
        if org_path is not None:
            click.echo("note: chains not compared: --org needs rules on both sides", err=True)
        return None
    sides = (before.policy, after.policy)
    if not any(p.deploy == "control-policy" for side in sides for p in side.policies):
        return None
    if org_path is not None:
        paths = [org_path, org_path]
    else:
        paths = [find_org(p if p.is_dir() else p.parent) for p in (old, new)]
        if paths == [None, None]:
            return None
        paths = [p or next(q for q in paths if q is not None) for p in paths]
    from compiler.analysis.diff_chain import chain_diff
    from compiler.catalog import default_catalog
    from compiler.language.diagnostics import CompileError

    orgs = []
    for side, path in zip(sides, paths, strict=True):
        try:
            orgs.append(side.load_org(path))
        except CompileError as exc:
            first = exc.diagnostics[0] if exc.diagnostics else None
            why = first.message if first is not None else str(exc)
            click.echo(f"note: chains not compared: {printable(str(path))}: {why}", err=True)
            return None
    found = chain_diff(
        sides[0], orgs[0], sides[1], orgs[1], (catalog or default_catalog()).actions()
    )
    if found.status == "unknown":
        click.echo(f"could not decide the accounts' chains: {found.reason}", err=True)
        sys.exit(1)
    return found


def _accounts(n: int) -> str:
    return f"{n} account{'s' * (n != 1)}"


def _changed(chains) -> str:
    n = len(chains.changed_accounts)
    of = f"{n} of {_accounts(len(chains.accounts))}"
    if not chains.undescribed_changed:
        return f"{of} decide{'s' * (n == 1)} some request differently"
    # Their calls are decided along the Root's chain (simulate's unplaced accounts).
    who = "accounts org.toml does not describe (the Root's chain)"
    return f"{who} decide some request differently" + (f", and {of}" if n else "")


def _render_chains(chains) -> None:
    if chains is None or chains.status == "equal":
        return
    from compiler.analysis.diff_chain import NEWLY

    click.echo("")
    click.echo(f"chains ({printable(chains.org)}): {_changed(chains)}:")
    for c in chains.changes[:_SHOWN_ACTIONS]:
        kind = "newly denied" if c.kind == NEWLY else "no longer denied"
        keys = [f"{k}={_shown(str(v))}" for k, v in c.context.items()]
        if c.resource is not None:
            keys.insert(0, f"resource {_shown(c.resource)}")
        old = f"deny at {c.old_stopped_at}" if c.old_stopped_at else "allow"
        new = f"deny at {c.new_stopped_at}" if c.new_stopped_at else "allow"
        if c.kind == NEWLY and c.new_stopped_at is None:
            new = "deny (RAM guardrails)"
        if c.kind != NEWLY and c.old_stopped_at is None:
            old = "deny (RAM guardrails)"
        who = (
            "accounts org.toml does not describe (the Root's chain)"
            if c.account is None
            else f"account {c.account}"
        )
        shown = f"  {who}: {kind}: {c.action}  [{', '.join(keys) or 'no condition keys'}]"
        click.echo(printable(f"{shown}  ({old} → {new})"))
    if len(chains.changes) > _SHOWN_ACTIONS:
        more = len(chains.changes) - _SHOWN_ACTIONS
        click.echo(f"  … {more} more (--format json lists every one)")
    if chains.only_one_side:
        click.echo(
            "  described on one side only (the other side's Root chain decides them): "
            + printable(", ".join(chains.only_one_side))
        )
