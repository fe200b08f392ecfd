"""The ``ramguard`` command: a thin layer that parses arguments, calls the Python API, and
prints. Results go to stdout, diagnostics to stderr.

Exit codes: 0 success; 1 errors in the input, a stale output, a mismatch or a failed test;
2 bad usage; 3 ``simulate --fail-on-deny`` saw a denied event.
"""

from __future__ import annotations

import contextlib
import importlib
import sys

import click

from compiler import __version__
from compiler.cli.common import CONFIG_WARNINGS, fail_at, fail_with_diagnostics
from compiler.language.diagnostics import CompileError

# verb → module ``compiler.cli.cmd_<module>`` holding a click command named ``command``.
_VERBS = {
    "bench": "bench",
    "catalog": "catalog",
    "check": "check",
    "compile": "compile",
    "decide": "decide",
    "diff": "diff",
    "explain": "explain",
    "fmt": "fmt",
    "graph": "graph",
    "import": "import_",
    "prove": "prove",
    "simulate": "simulate",
    "test": "test",
    "traces": "traces",
}


class _Group(click.Group):
    """Loads each verb's module on first use, so ``ramguard decide`` never imports rich or
    the simulator."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_VERBS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = _VERBS.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"compiler.cli.cmd_{module_name}")
        return module.command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        # Only the verb being run reads the configuration (not `ramguard --help`'s listing).
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and command is not None:
            _configure(ctx, name, command)
        return name, command, rest

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CompileError as exc:
            fail_with_diagnostics(exc.diagnostics, exc.error_count)
        except BrokenPipeError:
            # `ramguard … | head`: the reader went away; that is not an error of ours.
            sys.stderr.close()
            sys.exit(1)
        except OSError as exc:
            # An output path that cannot be written (`--report dir/`, `--out a-file/x`): the
            # user's input, so a message, not a traceback.
            where = exc.filename if exc.filename is not None else "ramguard"
            reason = (exc.strerror or str(exc)).lower()
            fail_at(str(where), reason)  # the path escaped whole, on one line


def _configure(ctx: click.Context, name: str, command: click.Command) -> None:
    """The project's configuration (``compiler.cli.config``) as defaults for ``command``."""
    from compiler.cli.config import defaults_for, find_config, load_config

    path = find_config()
    if path is None:
        return
    try:
        config = load_config(path)
    except CompileError as exc:
        fail_with_diagnostics(exc.diagnostics, exc.error_count)
    # Shown by the verbs that read `ignore` (check, compile), with their own diagnostics.
    ctx.meta[CONFIG_WARNINGS] = config.warnings
    defaults = _nested_defaults(ctx, command, config, defaults_for)
    if defaults:
        ctx.default_map = {**(ctx.default_map or {}), name: defaults}


def _nested_defaults(ctx: click.Context, command: click.Command, config, defaults_for) -> dict:
    """``command``'s defaults, and for a group (``traces``, ``catalog``) each subcommand's
    under its name, as click reads a nested ``default_map`` (``traces generate --rules`` took
    nothing from the configuration, issue 16)."""
    params = {p.name: p for p in command.params if p.name}
    out: dict[str, object] = dict(defaults_for(config, params))
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None:
                found = _nested_defaults(ctx, sub, config, defaults_for)
                if found:
                    out[sub_name] = found
    return out


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ramguard")
def main() -> None:
    """Rules as code for Alibaba Cloud RAM deny policies.

    Write guardrails in a short rules language, compile them into the RAM deny policies you
    attach, decide requests, and replay recorded ActionTrail traces before a rollout.
    """
    _forgiving_streams()


def _forgiving_streams() -> None:
    """A character the output encoding cannot write (``PYTHONIOENCODING=ascii`` and `→`, or a
    file name's undecodable byte as a lone surrogate) is written as a backslash escape, never
    a UnicodeEncodeError traceback halfway through a report."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A closed or detached stream has nothing to protect.
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
