"""What every verb shares: printing diagnostics and the exit that follows."""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from click.core import ParameterSource

from compiler.catalog import suggest
from compiler.language.diagnostics import (
    Diagnostic,
    Severity,
    printable,
    shorten,
    sorted_capped,
)
from compiler.model.keys import ValueProblem, fold_keys, normalise_context, unknown_key

if TYPE_CHECKING:
    from compiler.files import Named

# -- user text on the terminal --------------------------------------------------------------
# ``printable`` (``compiler.language.diagnostics``) shows every control character of user text
# escaped: the terminal and the HTML report show trace text through that one function.


def echo(text: str, err: bool = False, nl: bool = True) -> None:
    """click.echo of user-bearing text, escaped, and encodable on any stream: a character
    the stream's encoding (``PYTHONIOENCODING=ascii``) cannot write is shown as ``\\uXXXX``
    rather than raising UnicodeEncodeError."""
    text = printable(text, keep_lines=True)
    stream = sys.stderr if err else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = text.encode(encoding, "backslashreplace").decode(encoding, "replace")
    click.echo(text, err=err, nl=nl)


class _FilePath(click.Path):
    """A path that must name a file. A directory there is an error in the input (exit 1,
    ``PATH: error: is a directory, not a file``), as a missing file is, not bad usage (exit
    2): ``--catalog DIR`` and ``--policy DIR`` answered differently (issue 16)."""

    def __init__(self) -> None:
        super().__init__(path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if Path(path).is_dir():
            fail_at(str(path), "is a directory, not a file")
        return path


FILE = _FilePath()


class _OutputPath(click.Path):
    """A path a verb writes. ``-`` is stdout where stdout is free for it (``dash`` None: the
    value becomes None, the verb's own "print it" default); where stdout already carries the
    verb's result (``--format``), or the path is a directory, ``-`` is refused as bad usage
    (exit 2) saying ``dash``. It was written to a file named ``-`` (``simulate --report -``).
    A file option's value that is a directory is an input error, as for ``FILE``."""

    def __init__(self, dash: str | None, *, directory: bool = False) -> None:
        super().__init__(path_type=Path, file_okay=not directory)
        self.dash = dash
        self.directory = directory

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value == "-":
            if self.dash is None:
                return None
            self.fail(f"`-` is not stdout here: {self.dash}", param, ctx)
        path = super().convert(value, param, ctx)
        if not self.directory and Path(path).is_dir():
            fail_at(str(path), "is a directory, not a file")
        return path


def output_file(dash: str | None = None) -> click.ParamType:
    """The type of an output file option: ``-`` is stdout (``dash`` None) or refused (why)."""
    return _OutputPath(dash)


def output_dir(dash: str) -> click.ParamType:
    """The type of an output directory option (``compile --out``): ``-`` refused (why)."""
    return _OutputPath(dash, directory=True)


# The options several verbs share, declared once so their spelling and help cannot drift.
rules_option = click.option(
    "--rules",
    "rules",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Rules file or directory (repeatable).",
)


def _an_action(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from compiler.model.glob import MAX_ACTION

    if len(value) > MAX_ACTION:  # as Policy.decide refuses it
        raise click.BadParameter(f"the action is {len(value):,} characters; no API is so long")
    if ":" not in value:
        raise click.BadParameter(
            f"`{value}` is not an action: expected CODE:Operation, e.g. ecs:RunInstances"
        )
    return value


def _overlaid(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]):
    """``--catalog FILE…`` → the packaged catalog with those overlays applied, or None (the
    packaged one). A bad overlay is a CompileError, reported as FILE:LINE:COL."""
    ctx.meta["ramguard.catalog_paths"] = value  # for commands that print commands (diff)
    if not value:
        return None
    from compiler.catalog import with_overlays

    return with_overlays(value)


catalog_option = click.option(
    "--catalog",
    "catalog",
    multiple=True,
    type=FILE,
    metavar="FILE",
    callback=_overlaid,
    help="A catalog overlay (TOML, or JSON by name) adding or overriding services, "
    "operations, RAM codes and ARN templates (repeatable, applied in order).",
)


def _codes(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from compiler.language.suppress import is_code, unknown_code_help

    codes = tuple(c.strip().upper() for v in value for c in v.split(",") if c.strip())
    for code in codes:
        if not is_code(code):
            help = unknown_code_help(code)
            hint = f" ({help})" if help.startswith("did you mean") else ""
            raise click.BadParameter(f"`{code}` is not a code such as W0201{hint}")
    # The configuration's codes are warned about at their place in the file (W0107).
    if ctx.get_parameter_source(param.name or "") is not ParameterSource.DEFAULT_MAP:
        for code in codes:
            help = unknown_code_help(code)
            if help:
                echo(f"ramguard: warning: --ignore {code} silences nothing: {help}", err=True)
    return codes


ignore_option = click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="CODE",
    callback=_codes,
    help="Leave out warnings with this code, e.g. W0201 (repeatable; default: the "
    "configuration's `ignore`). Errors cannot be ignored.",
)


def read_stdin_rules() -> str:
    """Rules text from stdin (``check -``), within the rules-file limit; a CompileError
    names ``-`` when it is too big or not UTF-8."""
    from compiler.language.diagnostics import CompileError, Span, error
    from compiler.language.sources import MAX_RULES_FILE_BYTES, decode_source

    data = sys.stdin.buffer.read(MAX_RULES_FILE_BYTES + 1)
    if len(data) > MAX_RULES_FILE_BYTES:
        raise CompileError(
            [error("E0003", f"stdin holds more than {MAX_RULES_FILE_BYTES} bytes", Span("-"))]
        )
    return decode_source("-", data)


answer_only_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print nothing: the exit code is the answer (errors are still reported on stderr).",
)
quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="No summary on stderr; errors are still reported."
)
action_argument = click.argument("action", callback=_an_action)
text_or_json_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format on stdout.",
)
context_option = click.option(
    "--context",
    "-c",
    "context",
    multiple=True,
    metavar="KEY=VALUE",
    help="Request context, e.g. source_ip=1.2.3.4 or acs:MFAPresent=true (repeatable).",
)


def _a_resource(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # A request's resource is one ARN, as a `.tests` file's `on ARN` is: `--resource foo` or
    # `--resource ''` matched no rule scoped to resources and read as a decision about it.
    if value is None:
        return None
    from compiler.model.resolve_resources import request_arn_problem

    problem = request_arn_problem(value)
    if problem is not None:
        _, message, help_text = problem
        raise click.BadParameter(f"{message} ({help_text})")
    return value


resource_option = click.option(
    "--resource",
    "resource",
    default=None,
    callback=_a_resource,
    metavar="ARN",
    help="The request's resource: one ARN, e.g. acs:ecs:cn-hangzhou:123:instance/i-1, no "
    "glob (default: unknown, so rules scoped to resources cannot match).",
)


def warn_unknown_action(action: str, catalog=None) -> None:
    """A did-you-mean on stderr for an action the catalog does not know (still decided)."""
    from compiler.catalog import default_catalog

    catalog = catalog or default_catalog()
    # The owners of the action's code first: every catalog action is enough only when this
    # one is not there, and listing them loads every service (0.14 s of a 0.3 s decide).
    low = action.lower()
    code, _, operation = action.partition(":")
    for svc in catalog.services_for_code(code):
        name = svc.canonical_operation(operation)
        if name is not None and low in {a.lower() for a in svc.ram_actions(name)}:
            return
    actions = catalog.actions()
    if low in {a.lower() for a in actions}:
        return
    close = suggest(action, actions)
    hint = f"; did you mean {close}?" if close else ""
    # The action is user text: escaped (``echo``) so that no control sequence reaches the
    # terminal, and cut as every message cuts it.
    echo(f"ramguard: warning: `{shorten(action)}` is not a catalog action{hint}", err=True)


def parse_context(pairs: tuple[str, ...], reads: Collection[str] = ()) -> dict[str, object]:
    """``KEY=VALUE`` options → a RAM-keyed context. Keys are the rules language's names
    (``source_ip``) or RAM keys (``acs:SourceIp``, any ``prefix:Name`` but an ``acs:`` one RAM
    does not define and no rule of the decision reads: ``reads``, ``Policy.reads``);
    anything else is a usage error (``compiler.model.keys.unknown_key``, shared with
    ``Policy.decide``), so a typo is not silently a request without that key. Values are
    parsed as rules parse them (``compiler.model.keys.parse_value``): ``mfa=yes``,
    ``time=yesterday``, ``source_ip=notanip`` are usage errors."""
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"`{pair}`: expected KEY=VALUE", param_hint="--context")
        problem = unknown_key(key, reads)
        if problem is not None:
            raise click.BadParameter(problem, param_hint="--context")
        if key in given:
            raise click.BadParameter(f"`{key}` given twice", param_hint="--context")
        given[key] = value
    try:
        # Spelled as the rules spell the keys the decision reads, as both engines read them.
        return dict(fold_keys(normalise_context(given, strict=True), reads))
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="--context") from None
    except ValueProblem as exc:
        text = exc.message + (f" ({exc.help})" if exc.help else "")
        raise click.BadParameter(text, param_hint="--context") from None


CONFIG_WARNINGS = "ramguard.config_warnings"
"""``click.Context.meta`` key: the configuration file's warnings (unknown ignore codes)."""


def config_warnings() -> list[Diagnostic]:
    """The configuration's warnings, for the verbs that apply its ``ignore`` list."""
    ctx = click.get_current_context(silent=True)
    return list(ctx.meta.get(CONFIG_WARNINGS, ())) if ctx is not None else []


def rendered(d: Diagnostic, show_code: bool | None = None) -> str:
    """``d.render()`` with its file name escaped whole, newlines too: ``echo`` keeps the
    rendering's own lines, so a newline in a file name would start a line of its own — a
    forged ``FILE:LINE:COL: error:`` line or CI annotation."""
    shown = printable(d.span.file)
    if shown != d.span.file:
        d = dataclasses.replace(d, span=dataclasses.replace(d.span, file=shown))
    return d.render(show_code)


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for d in sorted_capped(diagnostics):
        echo(rendered(d), err=True)


def fail_with_diagnostics(
    diagnostics: Iterable[Diagnostic], error_count: int | None = None
) -> NoReturn:
    """Print (at most MAX_DIAGNOSTICS) diagnostics and exit 1; the count is of all errors."""
    diags = list(diagnostics)
    print_diagnostics(diags)
    errors = error_count
    if errors is None:
        errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    if errors > 1:
        click.echo(f"ramguard: {errors} errors", err=True)
    sys.exit(1)


def fail_at(location: str, message: str) -> NoReturn:
    """An input error that has a place but no Diagnostic: ``LOCATION: error: MESSAGE``.
    The location is escaped whole (a file name's newline too), the message as ``echo`` does."""
    echo(f"{printable(location)}: error: {message}", err=True)
    sys.exit(1)


def fail(message: str, code: int = 1) -> NoReturn:
    echo(f"ramguard: error: {message}", err=True)
    sys.exit(code)


def refuse_clashes(outputs: Iterable[Named], inputs: Iterable[Named] = ()) -> None:
    """Bad usage (exit 2), before anything is read or written, when an output is one of the
    inputs (under any spelling, hard link or symlink) or another output: ``simulate --trace
    t.jsonl --report ./t.jsonl`` wrote the report over the trace it had replayed."""
    from compiler.files import first_clash  # tempfile's import: not on `decide`'s start

    clash = first_clash(
        [(o, p) for o, p in outputs if p is not None], [(o, p) for o, p in inputs if p]
    )
    if clash is None:
        return
    (option, path), (other, other_path) = clash.output, clash.other
    why = (
        "the output would be written over that input"
        if clash.other_is_input
        else "one output would be written over the other"
    )
    fail(
        f"{option} {printable(str(path))} and {other} {printable(str(other_path))} are the "
        f"same file: {why}; give the output a file of its own",
        2,
    )


def decide_command(
    rules: Sequence[str | os.PathLike],
    action: str,
    resource: str | None,
    context: Mapping[str, object],
    overlays: Sequence[str | os.PathLike] = (),
) -> str:
    """The ``ramguard decide`` command a user can paste to see one request decided (the
    repro line of ``prove`` and ``diff``), shell-quoted."""
    argv = ["ramguard", "decide"]
    for path in rules:
        argv += ["--rules", str(path)]
    for path in overlays:
        argv += ["--catalog", str(path)]
    argv.append(action)
    if resource is not None:
        argv += ["--resource", resource]
    for key, value in context.items():
        argv += ["-c", f"{key}={value}"]
    return shlex.join(argv)


# -- Resource Directory (issue 12 item 2) ---------------------------------------------------

org_option = click.option(
    "--org",
    "org_path",
    type=FILE,
    default=None,
    help="The resource directory: an org.toml of nodes, parents and FullAliyunAccess "
    "(default: org.toml in a directory of the rules, if there is one).",
)
account_option = click.option(
    "--account",
    default=None,
    metavar="ID",
    help="Decide as a request of this member account (or folder) of the org: along its "
    "chain Root → folders → account, each level must allow and none deny.",
)


def find_org_for(rules: Iterable[Path], org_path: Path | None) -> Path | None:
    """``--org``, else the one ``org.toml`` in the directories the rules are in."""
    if org_path is not None:
        return org_path
    from compiler.model.org import find_org

    found = {
        p.resolve(): p for r in rules if (p := find_org(r if r.is_dir() else r.parent)) is not None
    }
    if len(found) > 1:
        raise click.UsageError(
            "the rules sit beside several org.toml files: name one with --org "
            f"({', '.join(sorted(map(str, found.values())))})"
        )
    return next(iter(found.values()), None)


_NODES_SHOWN = 12
"""Nodes an unknown ``--account`` error lists (the Root first, in file order)."""


def org_for_account(policy, rules: Iterable[Path], org_path: Path | None, account: str | None):
    """The bound org when ``--account`` is given (None without it); usage errors otherwise."""
    if account is None:
        if org_path is not None:
            raise click.UsageError("--org needs --account: the request's member account")
        return None
    path = find_org_for(rules, org_path)
    if path is None:
        raise click.UsageError("--account needs an org.toml: beside the rules, or --org FILE")
    org = policy.load_org(path)
    if org.node(account) is None:
        # The Root first, named as such: `--account r-example` decides along the Root alone,
        # and an org.toml of a Root only has no other node to offer. A directory may hold
        # 1,500 nodes: the first few are shown, and the nearest id to a mistyped one.
        shown = [
            f"{printable(n.id)} (the Root)" if n.kind == "root" else printable(n.id)
            for n in org.nodes[:_NODES_SHOWN]
        ]
        if len(org.nodes) > _NODES_SHOWN:
            shown.append(f"and {len(org.nodes) - _NODES_SHOWN:,} more")
        # The id is cut as every message quotes user text: a 100,000-character one is not
        # echoed in full.
        message = f"`{shorten(account)}` is not a node of it (its nodes: {', '.join(shown)})"
        close = suggest(account, [n.id for n in org.nodes], sorted_ties=True)
        if close is not None:
            message += f"; did you mean `{printable(close)}`?"
        fail_at(str(path), message)
    return org
