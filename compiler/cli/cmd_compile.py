"""``ramguard compile``: rules → RAM policy documents in a directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.analysis.lockout import directory_count
from compiler.analysis.shadowing import check_dead
from compiler.cli.common import (
    catalog_option,
    config_warnings,
    echo,
    fail_at,
    find_org_for,
    ignore_option,
    org_option,
    output_dir,
    print_diagnostics,
    printable,
    text_or_json_option,
)
from compiler.emit.cedar import cedar_policies
from compiler.emit.deploy import attachments_from, ros_files, terraform_files
from compiler.emit.output import MANIFEST, STAGE, STAGE_NEW, apply_output, plan_output, roll_forward
from compiler.emit.ram import Document, document_size, documents_for
from compiler.language.diagnostics import CompileError, Severity, counted
from compiler.language.suppress import unsilenced
from compiler.policy import compile_rules

TARGETS = ("ram", "control-policy", "terraform", "ros", "cedar")


@click.command("compile")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=output_dir("--out is the directory the documents are written to"),
    default=Path("generated"),
    show_default=True,
    help="Directory for the emitted documents. A file an earlier compile wrote there (listed "
    "in its manifest, .ramguard-outputs) that the rules no longer produce is removed (and "
    "is stale for --check); no other file is touched.",
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="ram",
    show_default=True,
    help="ram: policy JSON, each held to the limits of its `for` header (RAM by default); "
    "control-policy: the same JSON held to control-policy limits (4,096 characters, 10 per "
    "node); terraform: `<policy>.tf`; ros: `<policy>.ros.json`; cedar: `<policy>.cedar` "
    "(no `?` globs).",
)
@click.option(
    "--minify",
    is_flag=True,
    help="Shorter documents for every target: literal actions merged into `prefix*` globs, "
    "covered ones dropped; proved to deny exactly the same catalog actions before anything "
    "is written. Prints the globs, which may also match operations the catalog lacks.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when DIR is stale.")
@org_option
@click.option("--quiet", "-q", is_flag=True, help="Print no warnings or summary.")
@ignore_option
@text_or_json_option
@catalog_option
def command(
    paths: tuple[Path, ...],
    out_dir: Path,
    target: str,
    minify: bool,
    check: bool,
    org_path: Path | None,
    quiet: bool,
    ignore: tuple[str, ...],
    fmt: str,
    catalog,
) -> None:
    """Compile rules files (or directories of *.rules) into RAM policy JSON.

    One document per policy, `<policy>.json`; a policy over RAM's 6,144-character limit is
    split into `<policy>.1.json`, `<policy>.2.json`, … Files are written only when every rule
    compiles, each atomically. With `--target cedar`, one `<policy>.cedar` per policy instead
    (a rule using `?` is an error there: Cedar's `like` has only `*`). A policy headed
    `policy NAME "…" for control-policy` is a Resource Directory control policy: packed
    against 4,096 characters (2,048 with `--target ros`, the limit ROS documents), deployed
    by `--target terraform` / `--target ros` with an attachment per node it is attached to:
    with an org.toml beside the rules (or `--org`), every node that lists it or that its
    header's `attach [...]` names; without one, the header's nodes. Targets that deploy
    control policies (control-policy, terraform, ros) warn (W0307) when the documents would
    be more than the 1,500 custom control policies one resource directory holds.

    \b
    Examples:
      ramguard compile policies --out generated
      ramguard compile policies --out generated --check   # in CI
      ramguard compile policies/leaked-accesskey-protection.rules --target cedar --out cedar
      ramguard compile policies --target terraform --out generated/terraform
      ramguard compile examples/org-allowlist --target ros --out ros   # attached per org.toml
    """
    if org_path is not None and target not in ("terraform", "ros"):
        raise click.UsageError(
            "--org says where control policies are attached: it is for --target terraform "
            "or --target ros"
        )
    policy = compile_rules(paths, catalog)
    warnings = [*config_warnings(), *unsilenced(policy.warnings, ignore, policy.sources)]
    # A rule that denies nothing (E0110) is an error here as in `check`: nothing is written.
    dead = check_dead(policy)
    # N0110 (the engine could not decide) is a note: said, and the rule still compiled.
    notes = [d for d in dead if d.severity is not Severity.ERROR]
    warnings += unsilenced(notes, ignore, policy.sources)
    if any(d.severity is Severity.ERROR for d in dead):
        raise CompileError([*warnings, *dead])
    if not quiet and fmt == "text":
        print_diagnostics(warnings)
    if minify:  # before any target lays the documents out, so every target gets it
        # With --format json stdout is data: the minify report goes to stderr.
        policy = _minified(policy, catalog, quiet, err=fmt != "text")
    sized: list[Document] = []
    documents: list
    attach = None
    if target in ("terraform", "ros"):
        # The org is read (and checked against the rules) only where it decides the output.
        org_file = find_org_for(paths, org_path)
        if org_file is not None:
            org = policy.load_org(org_file)
            attach = attachments_from(policy.policies, org)
            detached = [n.id for n in org.nodes if not n.full_aliyun_access]
            if detached and not quiet:
                # Neither Terraform's nor ROS's resources detach a system policy, and with
                # FullAliyunAccess left on, an allow list there allows everything. "If an
                # object has only one access control policy attached, the policy cannot be
                # detached" (DetachControlPolicy, https://www.alibabacloud.com/help/en/doc-detail/208331.htm).
                click.echo(
                    f"note: {org_file} detaches FullAliyunAccess from {', '.join(detached)}: "
                    f"the {target} output attaches their policies but does not detach it; "
                    "detach it after applying (DetachControlPolicy; a node's last policy "
                    "cannot be detached, so the allow list goes on first)",
                    err=True,
                )
    if target == "cedar":
        documents = cedar_policies(policy.policies, policy.sources)
    elif target == "control-policy":
        sized = documents = [d for p in policy.policies for d in documents_for(p, target)]
    else:
        sized = policy.documents
        if target == "terraform":
            documents = terraform_files(policy.policies, sized, attach)
        elif target == "ros":
            # ROS documents a control policy's PolicyDocument as at most 2,048 characters
            # (emit/ram.py, ROS_CONTROL_POLICY_LIMITS): packed against that here.
            sized = [d for p in policy.policies for d in documents_for(p, "ros")]
            documents = ros_files(policy.policies, sized, attach)
        else:
            documents = sized
    if target in ("control-policy", "terraform", "ros"):
        # Each control-policy document these targets deploy is a custom control policy
        # created in the directory, which holds 1,500 (W0307; `check` says it too).
        control = {p.name for p in policy.policies if p.deploy == "control-policy"}
        created = [d for d in sized if target == "control-policy" or d.policy in control]
        over = unsilenced(directory_count(policy, created), ignore, policy.sources)
        if over and not quiet and fmt == "text":
            print_diagnostics(over)
        warnings = [*warnings, *over]
    try:
        if not check:
            roll_forward(out_dir)  # an interrupted compile's set is finished before planning
        plan = plan_output(documents, out_dir)
        if not check:
            apply_output(plan)
    except OSError as exc:
        fail_at(str(exc.filename or out_dir), (exc.strerror or str(exc)).lower())
    written = [path for path, _ in plan.write if path.name != MANIFEST]
    if fmt == "json":
        _print_json(policy, out_dir, check, documents, sized, written, plan, warnings)
        if check and plan.stale:
            sys.exit(1)
        return
    if check:
        if plan.write and not out_dir.is_dir():
            # Not each file "differs": there is nothing there (exit 1 all the same).
            echo(f"{printable(str(out_dir))}: stale: missing: no such directory", err=True)
        for path, _ in plan.write if out_dir.is_dir() else ():
            if path.name == MANIFEST:
                why = "missing" if not path.exists() else "does not list what the rules compile to"
            elif not path.exists():
                why = "missing: the rules compile to it"
            else:
                why = "differs from what the rules compile to"
            echo(f"{printable(str(path))}: stale: {why}", err=True)
        for path in plan.remove:
            echo(f"{printable(str(path))}: stale: no longer produced by the rules", err=True)
        for path in plan.leftovers:
            what = "an interrupted compile's" + (" uncommitted" if path.name == STAGE_NEW else "")
            kind = "files" if path.name in (STAGE, STAGE_NEW) else "temporary file"
            echo(f"{printable(str(path))}: stale: {what} {kind}", err=True)
        if plan.stale:
            click.echo("run `ramguard compile` to update it", err=True)
            sys.exit(1)
        if not quiet:
            _print_sizes(sized)
            shown = counted(len(documents), "document", grouped=False)
            echo(f"{printable(str(out_dir))}: up to date ({shown})")
        return
    if not quiet:
        _print_sizes(sized)
        n_rules = len(policy.rules) + len(policy.ruleset.allows)  # allow lists count too
        unchanged = len(documents) - len(written)
        click.echo(
            f"compiled {counted(n_rules, 'rule', grouped=False)} in "
            f"{counted(len(policy.policies), 'policy', 'policies', grouped=False)} → "
            f"{counted(len(documents), 'document', grouped=False)} in {out_dir} "
            f"({len(written)} written, {unchanged} unchanged, {len(plan.remove)} removed)"
        )


def _print_json(policy, out_dir, check, documents, sized, written, plan, warnings) -> None:
    """``--format json``: what was (or, with --check, would be) written, on stdout."""
    import json

    result = {
        "out": str(out_dir),
        "check": check,
        "rules": len(policy.rules),
        "policies": len(policy.policies),
        "documents": len(documents),
        "sizes": [
            {"file": d.filename, "characters": document_size(d.text), "limit": d.limit}
            for d in sized
        ],
        ("stale" if check else "written"): sorted(
            str(p) for p, _ in plan.write if check or p.name != MANIFEST
        ),
        "unchanged": len(documents) - len(written),
        "removed": sorted(str(p) for p in plan.remove),
        "leftovers": sorted(str(p) for p in plan.leftovers),
        "warnings": [d.to_dict() for d in warnings],
    }
    if check:
        result["up_to_date"] = not plan.stale
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


def _print_sizes(documents: list[Document]) -> None:
    """Each policy document against the limit it was packed for (characters or UTF-8 bytes,
    whichever is more)."""
    for doc in documents:
        size = document_size(doc.text)
        click.echo(
            f"  {doc.filename}: {size:,} / {doc.limit:,} characters ({size * 100 // doc.limit}%)"
        )


def _minified(policy, catalog, quiet: bool, err: bool = False):
    from compiler.analysis.minify import minify

    done = minify(policy, catalog)
    for p in done.policies if not quiet else ():
        click.echo(
            err=err,
            message=f"minified {p.name}: {p.actions_before} → "
            f"{counted(p.actions_after, 'action', grouped=False)}, "
            f"{p.chars_before:,} → {p.chars_after:,} characters; proved to deny the same "
            "catalog actions (any resource, any condition value)",
        )
        if p.beyond_catalog:
            shown = ", ".join(p.added)
            example = p.proof.changes[0].shortest_action
            click.echo(
                err=err,
                message=f"  beyond the catalog it also denies names these globs match: {shown} "
                f"(e.g. `{example}`); compile without --minify if that is not wanted",
            )
    return done.policy
