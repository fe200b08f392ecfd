"""Reading source files: which files a path names, their bytes within a limit, their text.

Every error is a ``CompileError`` that names the file (missing, a directory, too big,
unreadable, not UTF-8, a NUL byte), so no verb ever shows an ``OSError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from compiler.language.diagnostics import CompileError, Span, error

RULES_SUFFIX = ".rules"
# A rules file is a few kilobytes; refusing huge inputs early keeps errors fast and bounded.
MAX_RULES_FILE_BYTES = 16 * 1024 * 1024


def _rules_files(top: Path) -> list[Path]:
    """``*.rules`` files under ``top``, recursively, symlinked directories followed as files
    are (each real directory once, so a link cycle ends), sorted."""
    found: list[Path] = []
    visited: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(root)
        if real in visited:
            dirs[:] = []
            continue
        visited.add(real)
        dirs.sort()
        for name in files:
            if name.endswith(RULES_SUFFIX) and os.path.isfile(os.path.join(root, name)):
                found.append(Path(root) / name)
    return sorted(found, key=str)


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; directories → their ``*.rules`` files, recursively (symlinked
    directories too), sorted. A file named twice (`policies policies/a.rules`) is read
    once."""
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        found = _rules_files(path) if path.is_dir() else [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                out.append(file)
    return out


def read_rules_bytes(path: Path) -> bytes:
    """A rules file's bytes, or a CompileError naming the file (missing, a directory, too
    big, unreadable)."""
    return read_source_bytes(path, "rules", MAX_RULES_FILE_BYTES)


def read_rules(path: Path) -> str:
    """A rules file as text (see ``read_rules_bytes``)."""
    return read_source(path, "rules", MAX_RULES_FILE_BYTES)


def read_source(path: Path, what: str, limit: int) -> str:
    """Read one source file as text; see ``read_source_bytes``. Raises CompileError."""
    return decode_source(str(path), read_source_bytes(path, what, limit))


def read_source_bytes(path: Path, what: str, limit: int) -> bytes:
    """Read one source file of at most ``limit`` bytes; ``what`` (rules, tests) names its kind
    in messages. Raises CompileError for a directory, a file too large or unreadable."""
    name = str(path)
    try:
        if path.is_dir():
            raise CompileError([error("E0002", f"is a directory, not a {what} file", Span(name))])
        size = path.stat().st_size
        if size > limit:
            raise CompileError(
                [
                    error(
                        "E0003",
                        f"file is {size} bytes; {what} files are limited to {limit}",
                        Span(name),
                    )
                ]
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise CompileError([error("E0004", "no such file", Span(name))]) from None
    except PermissionError:
        raise CompileError([error("E0005", "permission denied", Span(name))]) from None
    except OSError as exc:
        raise CompileError([error("E0006", f"cannot read: {exc.strerror}", Span(name))]) from None


def decode_source(path: str, data: bytes) -> str:
    """Bytes → text, or a CompileError pointing at the first byte that is not UTF-8 text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        # The column in characters, as every other diagnostic counts it, not in bytes.
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise CompileError(
            [
                error(
                    "E0001",
                    "file is not UTF-8 text",
                    Span(path, line, col, line, col + 1),
                    help="ramguard reads UTF-8 text; is this a binary file?",
                )
            ]
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise CompileError(
            [
                error(
                    "E0001",
                    "file contains a NUL byte",
                    Span(path, line, col, line, col + 1),
                    help="ramguard reads UTF-8 text; is this a binary file?",
                )
            ]
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    return text
