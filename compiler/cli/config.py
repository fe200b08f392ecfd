"""Project configuration: ``ramguard.toml``, or ``[tool.ramguard]`` in ``pyproject.toml``.

Found by walking up from the working directory; in each directory ``ramguard.toml`` wins over
``pyproject.toml``, and a ``pyproject.toml`` without ``[tool.ramguard]`` is passed over (as
ruff does). The values are defaults for the command line, which always wins; paths in the file
are relative to the file's directory. Keys (anything else is an error naming FILE:LINE:COL):

=========  ==============================  ================================================
rules      list of paths                   rules for compile, check, fmt, test (``PATHS``)
                                           and every ``--rules``
catalog    list of paths (or one)          ``--catalog`` overlays, wherever taken
ignore     list of codes (``"W0201"``)     warnings left out by check and compile
target     one of compile's targets        ``compile --target``
out        path                            ``compile --out``
=========  ==============================  ================================================

The configuration becomes click's ``default_map`` for the verb being run, so ``--help`` shows
the configured defaults and an explicit option replaces them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from compiler.language.diagnostics import CompileError, Diagnostic, Span, error, warning

KEYS = ("catalog", "ignore", "out", "rules", "target")
TARGETS = ("ram", "control-policy", "terraform", "ros", "cedar")


@dataclass(frozen=True, slots=True)
class Config:
    file: str
    rules: tuple[str, ...] = ()
    catalog: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    target: str | None = None
    out: str | None = None
    warnings: tuple[Diagnostic, ...] = ()
    """W0107 for each code in ``ignore`` that silences nothing (check and compile show them)."""


def find_config(start: Path | None = None) -> Path | None:
    """The configuration file that applies in ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).absolute()
    for directory in (here, *here.parents):
        own = directory / "ramguard.toml"
        if own.is_file():
            return own
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _mentions_table(pyproject):
            return pyproject
    return None


_TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*ramguard\s*[\].]", re.M)


def _mentions_table(path: Path) -> bool:
    try:
        return _TABLE.search(path.read_text(encoding="utf-8", errors="replace")) is not None
    except OSError:
        return False


def _where(file: str, text: str, key: str) -> Span:
    """The span of ``key = …`` in ``text`` (the first assignment of that name), or of a table
    or dotted key it heads (``[key]``, ``[key.x]``, ``key.x = …``), else the file."""
    match = re.search(rf"^[ \t]*(?:\[+[ \t]*)?(\"?)({re.escape(key)})\1[ \t]*[=.\]]", text, re.M)
    if match is None:
        return Span(file)
    start = match.start(2) - len(match.group(1))
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return Span(file, line, col, line, col + len(key))


def load_config(path: Path) -> Config:
    """Read and check one configuration file; a CompileError names what is wrong."""
    import tomllib

    from compiler.language.sources import decode_source

    name = _relative(Path.cwd(), str(path))
    try:
        # Not UTF-8, a NUL or a character that hides text from a reviewer: E0001 at its place.
        text = decode_source(name, path.read_bytes(), toml=True)
        data = tomllib.loads(text)
    except OSError as exc:
        raise CompileError([error("E0006", f"cannot read: {exc.strerror}", Span(name))]) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        span = Span(name, int(found[1]), int(found[2])) if found else Span(name)
        if "(at end of document)" in str(exc):
            last = text.rsplit("\n", 1)[-1]
            span = Span(name, text.count("\n") + 1, len(last) + 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise CompileError(
            [error("E0710", f"invalid TOML: {message[:1].lower()}{message[1:]}", span)]
        ) from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("ramguard", {})
        where = "[tool.ramguard]"
    else:
        table = data
        where = name
    if not isinstance(table, Mapping):
        raise CompileError([error("E0711", "`tool.ramguard` must be a table", Span(name))])
    base = path.parent
    diags = []
    notes: list[Diagnostic] = []
    values: dict[str, object] = {}
    for key, value in table.items():
        span = _where(name, text, key)
        if key not in KEYS:
            diags.append(
                error(
                    "E0711",
                    f"unknown key `{key}` in {where}",
                    span,
                    help=f"keys are {', '.join(KEYS)}",
                    source=text,
                )
            )
            continue
        problem = _value_problem(key, value)
        if problem:
            help = _ignore_help(value) if key == "ignore" else ""
            diags.append(error("E0712", f"`{key}` {problem}", span, help, source=text))
            continue
        if key == "ignore":
            notes.extend(_unknown_codes(name, text, span, value))  # type: ignore[arg-type]
        if key in ("rules", "catalog"):
            items = [value] if isinstance(value, str) else list(value)
            values[key] = tuple(_relative(base, item) for item in items)
        elif key == "ignore":
            values[key] = tuple(code.upper() for code in value)
        elif key == "out":
            values[key] = _relative(base, value)
        else:
            values[key] = value
    if diags:
        raise CompileError(diags)
    return Config(name, **values, warnings=tuple(notes))  # type: ignore[arg-type]


def _ignore_help(value: object) -> str:
    from compiler.language.suppress import is_code, unknown_code_help

    if not isinstance(value, list):
        return ""
    bad = [c for c in value if isinstance(c, str) and c and not is_code(c.upper())]
    return unknown_code_help(bad[0].upper()) if bad else ""


def _unknown_codes(name: str, text: str, key_span: Span, codes: list[str]) -> list[Diagnostic]:
    """W0107 at each code of the ``ignore`` list that names no warning (``W0999``)."""
    from compiler.language.suppress import unknown_code_help

    out = []
    for code in codes:
        help = unknown_code_help(code.upper())
        if not help:
            continue
        span = key_span
        # The code's own place: its first quoted occurrence after the key.
        start = _offset(text, key_span)
        found = (
            re.compile(rf"[\"']{re.escape(code)}[\"']").search(text, start) if start >= 0 else None
        )
        if found is not None:
            line = text.count("\n", 0, found.start()) + 1
            col = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
            span = Span(name, line, col, line, col + len(code) + 2)
        out.append(
            warning(
                "W0107",
                f"`{code}` in `ignore` is not a ramguard warning code: it silences nothing",
                span,
                help,
                source=text,
            )
        )
    return out


def _offset(text: str, span: Span) -> int:
    """The character offset of ``span``'s start in ``text`` (-1 without a line)."""
    if span.line <= 0:
        return -1
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: span.line - 1]) + span.col - 1


def _value_problem(key: str, value: object) -> str:
    from compiler.language.suppress import is_code

    def strings(v: object) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) and x for x in v)

    if key == "rules" and not (strings(value) and value):
        return "must be a non-empty list of paths"
    if key == "catalog" and not (strings(value) or (isinstance(value, str) and value)):
        return "must be a path or a list of paths"
    if key == "ignore":
        if not strings(value):
            return 'must be a list of codes, e.g. ["W0201"]'
        bad = [c for c in value if not is_code(c.upper())]  # type: ignore[union-attr]
        if bad:
            return f"holds `{bad[0]}`, which is not a code such as W0201"
    if key == "target" and value not in TARGETS:
        return f"must be one of {', '.join(TARGETS)}"
    if key == "out" and not (isinstance(value, str) and value):
        return "must be a path"
    return ""


def _relative(base: Path, item: str) -> str:
    """A path from the file, as the command line would name it from the working directory."""
    path = Path(item)
    if not path.is_absolute():
        path = base / path
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def defaults_for(config: Config, params: Mapping[str, object]) -> dict[str, object]:
    """click ``default_map`` entries for a command whose parameters are ``params`` (name →
    click Parameter)."""
    out: dict[str, object] = {}
    if config.rules:
        if "paths" in params:
            out["paths"] = list(config.rules)
        if "rules" in params:
            out["rules"] = list(config.rules)
    if config.catalog and "catalog" in params:
        out["catalog"] = list(config.catalog)
    if config.ignore and "ignore" in params:
        out["ignore"] = list(config.ignore)
    if config.target and "target" in params:
        out["target"] = config.target
    if config.out and "out_dir" in params:
        out["out_dir"] = config.out
    return out
