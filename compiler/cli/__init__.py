"""The ``ramguard`` command: a thin layer that parses arguments, calls the Python API, and
prints. Results go to stdout, diagnostics to stderr.

Exit codes: 0 success; 1 errors in the input, a stale output, a mismatch or a failed test;
2 bad usage; 3 ``simulate --fail-on-deny`` saw a denied event; 130 interrupted (Ctrl-C);
141 stdout's reader went away (``ramguard catalog list | head -1``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import NoReturn

import click

from compiler import __version__
from compiler.cli.common import CONFIG_WARNINGS, fail_at, fail_with_diagnostics
from compiler.language.diagnostics import CompileError

# A closed pipe and Ctrl-C end a run as they end git's or cat's: quietly, with the status a
# shell reports for a process the signal killed (128 + SIGPIPE, 128 + SIGINT). 141, not 0 as
# ripgrep exits: a verb cut off before its end did not pass its gate (`simulate
# --fail-on-deny | head` must not read as "nothing denied" under `set -o pipefail`).
EXIT_PIPE_CLOSED = 141
EXIT_INTERRUPTED = 130

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
        console = sys.modules.get("rich.console")
        if console is not None:
            # rich's own answer to a closed pipe is SystemExit(1): make it ours.
            console.Console.on_broken_pipe = _raise_broken_pipe
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
            _pipe_closed()
        except KeyboardInterrupt:
            _interrupted()
        except OSError as exc:
            # An output path that cannot be written (`--report dir/`, `--out a-file/x`): the
            # user's input, so a message, not a traceback.
            where = exc.filename if exc.filename is not None else "ramguard"
            reason = (exc.strerror or str(exc)).lower()
            fail_at(str(where), reason)  # the path escaped whole, on one line

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:  # `ramguard --help | head -1`
            _pipe_closed()
        except KeyboardInterrupt:
            _interrupted()

    def main(self, *args, **kwargs):
        """click's main, and what it leaves: stdout flushed here (a closed pipe at the flush
        Python does on exit was "Exception ignored … BrokenPipeError" and exit 120), Ctrl-C
        outside a verb's run."""
        try:
            value = super().main(*args, **kwargs)
        except SystemExit:
            _flush_stdout()
            raise
        except KeyboardInterrupt:
            _interrupted()
        _flush_stdout()
        return value


def _raise_broken_pipe(console) -> NoReturn:
    raise BrokenPipeError


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _pipe_closed()
    except (OSError, ValueError):  # closed or detached: nothing left to write
        pass


def _pipe_closed() -> NoReturn:
    """`ramguard … | head`: the reader went away; that is not an error of ours. Nothing
    more can reach it, so stdout and stderr point at /dev/null for the flush at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
    sys.exit(EXIT_PIPE_CLOSED)


def _interrupted() -> NoReturn:
    """Ctrl-C: no traceback and no "Aborted!"; a file being written was not renamed into
    place (atomic_writer removes its temporary file on the way out)."""
    sys.exit(EXIT_INTERRUPTED)


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
