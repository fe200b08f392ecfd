"""Reading source files: which files a path names, their bytes within a limit, their text.

Every error is a ``CompileError`` that names the file (missing, a directory, too big,
unreadable, not UTF-8, a NUL byte, a character that hides text from a reviewer), so no verb
ever shows an ``OSError``.
"""

from __future__ import annotations

import os
import re
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


def read_source(path: Path, what: str, limit: int, *, toml: bool = False) -> str:
    """Read one source file as text; see ``read_source_bytes`` and ``decode_source``.
    Raises CompileError."""
    return decode_source(str(path), read_source_bytes(path, what, limit), toml=toml)


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


# Characters that make a file show differently from what the parser reads ("Trojan Source",
# CVE-2021-42574): C0 controls but tab and newline (a form feed, ESC), DEL and the C1 controls
# (U+0085 NEL), the line and paragraph separators, and the Unicode bidi controls. An editor,
# a terminal or a review tool draws them as a line break, as nothing, or reorders the text
# around them, so a rule can look commented out or two lines can look like one. NUL is here so
# one search finds whichever comes first; a carriage return is refused only when no line feed
# follows it (CRLF line endings are read as LF), by a search of its own (``_LONE_CR``), since
# the lookahead in the class's alternation made the one search ~3x slower (measured, 16 MB).
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_LONE_CR = re.compile("\r(?!\n)")

_NAMES = {
    "\x00": "a NUL byte",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\r": "a carriage return not followed by a line feed",
    "\x1b": "an escape character",
    "\x7f": "a delete character",
    "\x85": "a next-line character",
    "\u061c": "an Arabic letter mark",
    "\u200e": "a left-to-right mark",
    "\u200f": "a right-to-left mark",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
    "\u202a": "a left-to-right embedding",
    "\u202b": "a right-to-left embedding",
    "\u202c": "a pop directional formatting",
    "\u202d": "a left-to-right override",
    "\u202e": "a right-to-left override",
    "\u2066": "a left-to-right isolate",
    "\u2067": "a right-to-left isolate",
    "\u2068": "a first strong isolate",
    "\u2069": "a pop directional isolate",
}


def hidden_character(text: str) -> int:
    """The index of the first character ``refuse_hidden_characters`` refuses, or -1. Two
    searches of compiled character patterns: linear in the text."""
    found = _HIDDEN.search(text)
    end = found.start() if found else len(text)
    lone_cr = _LONE_CR.search(text, 0, end)
    if lone_cr:
        return lone_cr.start()
    return found.start() if found else -1


def _why(char: str) -> str:
    """How a reader is misled by ``char``, for the help."""
    if char == "\r":
        return "a terminal returns to the start of the line and draws over it"
    if char in "\x0b\x0c\x85\u2028\u2029":
        return "an editor may show a line break where ramguard reads none"
    if char < "\xa0":  # the other C0 controls, DEL and the C1 controls
        return "a terminal may act on it or show nothing"
    return "it reorders how the text around it is shown"


def refuse_hidden_characters(path: str, text: str, *, toml: bool = False) -> None:
    """A CompileError at the first character of ``text`` that hides text from a reader (see
    ``_HIDDEN``), if any: one per file, at its line and column as every diagnostic counts
    them (only "\\n" ends a line; columns in characters). ``toml``: the file is TOML, whose
    quoted strings can hold such a character as an escape; the rules and tests languages
    have no escape for them."""
    at = hidden_character(text)
    if at < 0:
        return
    char = text[at]
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    point = f"U+{ord(char):04X}"
    if char == "\x00":
        message, help = (
            "file contains a NUL byte",
            "ramguard reads UTF-8 text; is this a binary file?",
        )
    else:
        message = f"file contains {_NAMES.get(char, 'a control character')} ({point})"
        help = _why(char) + ", which can hide text from a reviewer"
        if char == "\r":
            help += "; end lines with LF or CRLF"
        elif toml:
            help += (
                "; remove it, or where it is meant to be text, write it in a "
                f'"double-quoted" string as the escape \\u{ord(char):04X}'
            )
        else:
            help += "; remove it (quoted strings have no escape for it)"
    span = Span(path, line, col, line, col + 1)
    raise CompileError([error("E0001", message, span, help=help, source=text)])


def decode_source(path: str, data: bytes, *, toml: bool = False) -> str:
    """Bytes → text, less a leading byte-order mark, or a CompileError pointing at the first
    byte that is not UTF-8 text, or at the first NUL or other character that hides text from
    a reader (``refuse_hidden_characters``; ``toml`` for TOML files)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        if line_start == 0 and data.startswith(b"\xef\xbb\xbf"):
            line_start = 3  # the byte-order mark is no column, as the parser never sees it
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
    text = text.removeprefix("\ufeff")
    refuse_hidden_characters(path, text, toml=toml)
    return text
