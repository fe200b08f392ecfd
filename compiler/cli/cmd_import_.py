"""``ramguard import``: RAM deny-policy JSON → rules text (``compiler.importer``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.analysis.importer import PolicyImportError, import_policies, valid_policy_name
from compiler.cli.common import (
    catalog_option,
    echo,
    fail_with_diagnostics,
    output_file,
    quiet_option,
    refuse_clashes,
    text_or_json_option,
)
from compiler.files import atomic_write
from compiler.language.diagnostics import Diagnostic, Severity, Span
from compiler.ram.evaluator import InexactNumber, exact_float, exact_int

_MAX_JSON_BYTES = 16 * 1024 * 1024


def default_name(path: Path) -> str:
    """``leaked.json`` → ``leaked``; a split document ``p.2.json`` → ``p``."""
    stem = path.stem
    head, _, tail = stem.rpartition(".")
    if head and tail.isdigit():
        stem = head
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in stem)


def _read(path: Path) -> object:
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            raise ValueError(f"larger than {_MAX_JSON_BYTES} bytes")
        # utf-8-sig: a BOM (as Windows editors save JSON) is accepted (issue 16, item 7).
        text = path.read_text(encoding="utf-8-sig")
        # A bare number a float cannot hold is refused, not rounded (the evaluator too).
        return json.loads(text, parse_float=exact_float, parse_int=exact_int)
    except InexactNumber as exc:
        line, col = exc.where(text)
        raise _JsonError(str(exc), line, col) from None
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _JsonError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None


class _JsonError(ValueError):
    def __init__(self, message: str, line: int | None, col: int | None):
        super().__init__(message)
        self.line, self.col = line or 0, col or 0


def _error(code: str, message: str, span: Span, help: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, help)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", help="Policy name for the header (default: the first file's stem).")
@click.option(
    "--out",
    "out",
    type=output_file(),
    help="Write the rules to this file (atomically) instead of stdout (`-`: stdout).",
)
@click.option(
    "--skip-unsupported",
    is_flag=True,
    help="Skip statements the rules language cannot state exactly, with a note, "
    "instead of failing.",
)
@click.option(
    "--control-policy",
    "control_policy",
    is_flag=True,
    help="The documents are Resource Directory control policies: Allow statements become "
    "`allow` rules (an allow list) under a `for control-policy` header.",
)
@text_or_json_option
@quiet_option
@catalog_option
def command(
    files: tuple[Path, ...],
    name: str | None,
    out: Path | None,
    skip_unsupported: bool,
    control_policy: bool,
    fmt: str,
    quiet: bool,
    catalog,
) -> None:
    """Turn RAM deny-policy JSON documents into rules text.

    The rules decide like the documents on every catalog action. Several files (a policy
    split into `p.1.json`, `p.2.json`) become one policy. Notes (skipped operations unknown
    to the catalog, rewritten patterns) go to stderr and into the text as comments.

    \b
    Examples:
      ramguard import current-deny.json --out policies/current-deny.rules
      ramguard import p.1.json p.2.json --name p --skip-unsupported
    """
    if out is not None:
        refuse_clashes([("--out", out)], [("FILE", f) for f in files])
    policy_name = name if name is not None else default_name(files[0])
    if not valid_policy_name(policy_name):
        raise click.BadParameter(
            f"`{policy_name}` is not a valid RAM policy name (letters, digits, hyphens)",
            param_hint="--name",
        )
    documents: list[tuple[str, object]] = []
    diags: list[Diagnostic] = []
    for path in files:
        try:
            documents.append((str(path), _read(path)))
        except _JsonError as exc:
            diags.append(_error("E0700", str(exc), Span(str(path), exc.line, exc.col)))
        except ValueError as exc:
            diags.append(_error("E0700", str(exc), Span(str(path))))
    if diags:
        fail_with_diagnostics(diags)
    try:
        result = import_policies(
            documents,
            policy_name,
            catalog,
            skip_unsupported=skip_unsupported,
            control_policy=control_policy,
        )
    except PolicyImportError as exc:
        fail_with_diagnostics(
            _error(
                "E0701" if p.unsupported else "E0702",
                p.render(),
                Span(p.source),
                "rerun with --skip-unsupported to skip it with a note" if p.unsupported else "",
            )
            for p in exc.problems
        )
    if out is not None:
        atomic_write(out, result.text.encode("utf-8"))
    if fmt == "json":
        # The rules text as a value (or where it was written), the notes as data.
        shown = {"policy": policy_name, "out": str(out) if out is not None else None}
        shown["rules"] = None if out is not None else result.text
        shown["notes"] = list(result.notes)
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    if not quiet:
        for note in result.notes:
            echo(f"note: {note}", err=True)
    if out is None:
        sys.stdout.write(result.text)
