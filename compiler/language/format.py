"""``ramguard fmt``: one canonical layout for rules files, keeping every comment where it was.

The layout is rebuilt from the AST; the original text is consulted only to place comments, to
find brackets and line breaks the AST does not record, and to keep blank lines.

Canonical layout
----------------
* The ``policy NAME "description"`` header, then the rules, one statement per line:
  ``deny SERVICE[@VERSION] OP, OP when COND and COND unless COND``.
* The keyword form ``deny service=SVC op=OPS`` is kept when it was written (no spaces around
  its ``=``). An API version is always shown as ``SVC@VERSION``, in both forms:
  ``service=PTS version=2019-08-10 op=X`` becomes ``service=PTS@2019-08-10 op=X`` (the two
  spellings mean the same; one is canonical).
* Operations are a plain comma list (``A, B``); a one-line bracketed list ``[A, B]`` loses its
  brackets. They become a bracketed block when the list was written across lines, holds a
  comment, or the rule would be longer than 100 columns (comments not counted; and the list has
  two items or more):
  ``[`` ends the first line, the items follow indented two spaces, as many to a line as fit in
  100 columns, each followed by a comma (so the last one too), and ``]`` opens the line that
  carries the rest of the rule (``] when …``). A block keeps the user's line breaks between
  items (they are often groups: creates, then deletes) and only adds breaks where a line would
  pass 100 columns; so a block stays a block, and formatting twice changes nothing.
* Condition values: ``key in [a, b]``, single spaces around every operator and after each
  comma. A value written bare (``source_ip in 10.0.0.0/8``) stays bare and a bracketed one
  stays bracketed (the AST records which). A bracketed value list is laid out as a block like
  operations when it was written across lines, holds a comment, or its line would still pass
  100 columns after the operations were broken.
* Quoted values and descriptions are re-quoted: ``\\`` and ``"`` escaped, and a newline or tab
  written as ``\\n`` / ``\\t`` (so a value never spills onto a second line).
* Blank lines: none at the start, at most one in a row between statements and comments, none
  inside a bracketed block; the file ends with exactly one newline (an empty file stays empty).
  Trailing spaces go. A file keeps its line endings (CRLF when its first line ends so) and its
  UTF-8 byte-order mark, if it had one: ``format_file`` restores both around the canonical
  ``\\n`` text, so fmt does not fight an editor's or a platform's convention.
* fmt parses exactly the text compile parses (``decode_source``, then the parser): a file
  compile rejects (two byte-order marks, a stray ``\\r``) is rejected here too, never
  "repaired" into a different policy.
* Comments never move relative to the code: a comment on its own line stays on its own line
  before the same statement (column 0) or, inside a bracketed block, after the same item
  (indented two spaces); a comment at the end of a line stays at the end of the same line after
  two spaces: after the statement (its last line, if it is broken), after ``[``, or after the
  item it followed. Comments after the last statement stay at the end. Their text is kept,
  less trailing whitespace.

Over 400 lines: the layout rules and comment placement must agree item by item (a comment
follows the item it was after), so they are kept together.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compiler.files import atomic_write
from compiler.language.ast import (
    ConditionNode,
    PolicyHeader,
    RuleNode,
    SourceFile,
    Value,
    ValueList,
)
from compiler.language.diagnostics import CompileError, Diagnostic, Span, error
from compiler.language.parser import parse_text
from compiler.language.sources import decode_source, expand_paths, read_rules_bytes

WIDTH = 100
INDENT = "  "
_COMMENT_GAP = "  "

__all__ = [
    "WIDTH",
    "FormatReport",
    "FormattedFile",
    "format_bytes",
    "format_file",
    "format_paths",
    "format_source",
    "unified_diff",
    "write_formatted",
]


# --------------------------------------------------------------------------- layout pieces


@dataclass(frozen=True, slots=True)
class _Note:
    """A comment placed relative to code."""

    text: str
    own_line: bool


@dataclass(frozen=True, slots=True)
class _List:
    """Operations or condition values: inline, or a bracketed block."""

    items: tuple[str, ...]
    bracketed: bool  # shown with [ ] when inline
    breaks: frozenset[int]  # a block line must end after these item indexes
    notes: tuple[tuple[int, _Note], ...]  # comments after item k (-1: right after `[`)
    multiline: bool  # written across lines: stays a block

    def notes_at(self, k: int) -> tuple[str | None, list[str]]:
        trailing = None
        own: list[str] = []
        for at, note in self.notes:
            if at != k:
                continue
            if note.own_line or trailing is not None:
                # A second end-of-line comment after the same item (`b, # x` then `, # y`
                # on the next line) goes on its own line: one line has room for one.
                own.append(note.text)
            else:
                trailing = note.text
        return trailing, own


_Piece = str | _List


# --------------------------------------------------------------------------- source geometry


class _Source:
    """Offsets of the normalised text, and where its comments are."""

    def __init__(self, sf: SourceFile, text: str):
        self.text = text
        self.starts = [0]
        i = text.find("\n")
        while i >= 0:
            self.starts.append(i + 1)
            i = text.find("\n", i + 1)
        self.comments = sorted(
            (
                self.offset(c.span.line, c.span.col),
                self.offset(c.span.end_line, c.span.end_col),
                c.text.rstrip(),
                c.span.line,
            )
            for c in sf.comments
        )
        self.comment_starts = [start for start, _, _, _ in self.comments]
        self._comment_by_end = {end: start for start, end, _, _ in self.comments}
        self._comment_by_start = {start: end for start, end, _, _ in self.comments}

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def own_line(self, pos: int) -> bool:
        """Is only whitespace between the start of this line and ``pos``?"""
        line_start = self.text.rfind("\n", 0, pos) + 1
        return self.text[line_start:pos].strip() == ""

    def back(self, pos: int) -> int:
        """Index of the last character before ``pos`` that is neither space nor comment."""
        j = pos - 1
        while j >= 0:
            if j + 1 in self._comment_by_end:
                j = self._comment_by_end[j + 1] - 1
            elif self.text[j].isspace():
                j -= 1
            else:
                return j
        return -1

    def forward(self, pos: int, skip: str = "") -> int:
        """Index of the first character from ``pos`` that is not space, comment or ``skip``."""
        j = pos
        while j < len(self.text):
            if j in self._comment_by_start:
                j = self._comment_by_start[j]
            elif self.text[j].isspace() or self.text[j] in skip:
                j += 1
            else:
                return j
        return len(self.text)

    def span_start(self, span: Span) -> int:
        return self.offset(span.line, span.col)

    def span_end(self, span: Span) -> int:
        return self.offset(span.end_line, span.end_col)


def _make_list(
    src: _Source, items: list[tuple[str, Span]], open_at: int | None, close_at: int | None
) -> _List:
    texts = tuple(text for text, _ in items)
    if open_at is None or close_at is None:
        return _List(texts, False, frozenset(), (), False)
    starts = [src.span_start(span) for _, span in items]
    lines = [span.line for _, span in items]
    breaks = frozenset(i for i in range(len(lines) - 1) if lines[i + 1] != lines[i])
    notes: list[tuple[int, _Note]] = []
    # Only the comments between the brackets, found by bisection: a file of many commented
    # rules must not cost (rules × comments) (issue 16 F10).
    lo = bisect.bisect_right(src.comment_starts, open_at)
    hi = bisect.bisect_left(src.comment_starts, close_at)
    for start, _end, text, _line in src.comments[lo:hi]:
        k = bisect.bisect_left(starts, start) - 1
        notes.append((k, _Note(text, src.own_line(start))))
    multiline = src.text.count("\n", open_at, close_at) > 0
    return _List(texts, True, breaks, tuple(notes), multiline)


def _ops_list(src: _Source, rule: RuleNode) -> tuple[_List, int]:
    """The operations as a list piece, and the offset just past the list (past `]`)."""
    items = [(op.text, op.span) for op in rule.operations]
    first, last = rule.operations[0].span, rule.operations[-1].span
    before = src.back(src.span_start(first))
    after = src.forward(src.span_end(last), skip=",")
    if before >= 0 and src.text[before] == "[" and after < len(src.text) and src.text[after] == "]":
        # Inline, operations need no brackets: `[A, B]` on one line is written `A, B`.
        written = _make_list(src, items, before, after)
        return _List(
            written.items, False, written.breaks, written.notes, written.multiline
        ), after + 1
    return _make_list(src, items, None, None), src.span_end(last)


def _values_list(src: _Source, cond: ConditionNode | ValueList) -> _Piece:
    shown = [(_value(v), v.span) for v in cond.values]
    if not cond.bracketed:
        return shown[0][0]
    open_at = src.back(src.span_start(cond.values[0].span))
    close_at = src.span_end(cond.span) - 1
    return _make_list(src, shown, open_at, close_at)


def _key(cond: ConditionNode) -> str:
    if cond.key_form == "named":
        return cond.key.text
    quoted = _quote(cond.key.text)
    return quoted if cond.key_form == "quoted" else "unchecked " + quoted


# --------------------------------------------------------------------------- rendering


def _quote(text: str) -> str:
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{body}"'


def _value(v: Value) -> str:
    # Not Value.source(): it writes a newline inside quotes, which does not parse back.
    return _quote(v.text) if v.quoted else v.text


def _rule_pieces(src: _Source, rule: RuleNode) -> tuple[list[_Piece], int]:
    svc = rule.service.name.text
    if rule.service.version is not None:
        svc += "@" + rule.service.version.text
    ops, end = _ops_list(src, rule)
    word = rule.effect  # `deny`, or `allow` in a control policy's allow list
    head = f"{word} service={svc} op=" if rule.keyword_form else f"{word} {svc} "
    pieces: list[_Piece] = [head, ops]
    if rule.risk is not None:
        pieces.append(f" risk={_value(rule.risk)}")
        end = max(end, src.span_end(rule.risk.span))
    for word, clause in (
        ("except", rule.excepts),
        ("on", rule.resources),
        ("in region", rule.regions),
    ):
        if clause is not None:
            pieces.append(f" {word} ")
            pieces.append(_values_list(src, clause))
            end = max(end, src.span_end(clause.span))
    for word, conds in (("when", rule.when), ("unless", rule.unless)):
        for i, cond in enumerate(conds):
            pieces.append(f" {word} " if i == 0 else " and ")
            pieces.append(f"{_key(cond)} {cond.operator} ")
            pieces.append(_values_list(src, cond))
            end = max(end, src.span_end(cond.span))
    return pieces, max(end, src.span_end(rule.span))


def _render(pieces: list[_Piece], blocks: set[int]) -> tuple[list[str], list[list[int]]]:
    """Lay out pieces; also say which inline lists sit on each line (candidates to break)."""
    lines: list[str] = []
    inline: list[list[int]] = []
    cur, cur_inline = "", []
    for i, piece in enumerate(pieces):
        if isinstance(piece, str):
            cur += piece
            continue
        if i not in blocks:
            joined = ", ".join(piece.items)
            cur += f"[{joined}]" if piece.bracketed else joined
            cur_inline.append(i)
            continue
        trailing, own = piece.notes_at(-1)
        lines.append(cur + "[" + (_COMMENT_GAP + trailing if trailing else ""))
        inline.append(cur_inline)
        body = [INDENT + text for text in own]
        line = ""
        last = len(piece.items) - 1
        for k, item in enumerate(piece.items):
            entry = item + ","
            if line and len(INDENT + line + " " + entry) > WIDTH:
                body.append(INDENT + line)
                line = entry
            else:
                line = f"{line} {entry}" if line else entry
            trailing, own = piece.notes_at(k)
            if k == last or k in piece.breaks or trailing is not None or own:
                body.append(INDENT + line + (_COMMENT_GAP + trailing if trailing else ""))
                body.extend(INDENT + text for text in own)
                line = ""
        lines.extend(body)
        inline.extend([] for _ in body)
        cur, cur_inline = "]", []
    lines.append(cur)
    inline.append(cur_inline)
    return lines, inline


def _breakable(piece: _Piece) -> bool:
    return isinstance(piece, _List) and len(piece.items) > 1


def _layout_rule(pieces: list[_Piece]) -> list[str]:
    blocks = {i for i, p in enumerate(pieces) if isinstance(p, _List) and (p.multiline or p.notes)}
    while True:
        lines, inline = _render(pieces, blocks)
        breakable = [
            i
            for line, on_line in zip(lines, inline, strict=True)
            if len(line) > WIDTH
            for i in on_line
            if _breakable(pieces[i])
        ]
        if not breakable:
            return lines
        blocks.add(breakable[0])


def _header_pieces(src: _Source, header: PolicyHeader) -> tuple[list[_Piece], int]:
    """The header as layout pieces (its ``attach`` list is laid out, comments included, as
    a rule's lists are), and the offset just past it."""
    line = f"policy {header.name.text}"
    if header.description is not None:
        line += " " + _quote(header.description)
    if header.deploy is not None:
        line += f" for {header.deploy.text}"
    pieces: list[_Piece] = [line]
    if header.attach is not None:
        pieces += [" attach ", _values_list(src, header.attach)]
    return pieces, src.span_end(header.span)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """A run of output lines that came from source lines ``first``..``last``."""

    first: int
    last: int
    lines: tuple[str, ...]


def format_source(path: str, text: str) -> str:
    """The canonical layout of one rules file's text. Raises CompileError if it does not parse.

    Idempotent: ``format_source(p, format_source(p, t)) == format_source(p, t)``.
    """
    sf = parse_text(path, text)
    src = _Source(sf, text)
    chunks: list[_Chunk] = []
    statement_ends: list[tuple[int, int, int]] = []  # (end offset, chunk index, end line)
    rule_starts: list[int] = []
    rule_ends: list[int] = []
    if sf.header is not None:
        h = sf.header
        pieces, end = _header_pieces(src, h)
        chunks.append(_Chunk(h.span.line, h.span.end_line, tuple(_layout_rule(pieces))))
        statement_ends.append((end, 0, h.span.end_line))
        # Comments inside its `attach [...]` are placed by the list, as a rule's are.
        rule_starts.append(src.span_start(h.span))
        rule_ends.append(end)
    for rule in sf.rules:
        pieces, end = _rule_pieces(src, rule)
        rule_starts.append(src.span_start(rule.span))
        rule_ends.append(end)
        end_line = bisect.bisect_right(src.starts, end)  # the line holding offset `end`
        statement_ends.append((end, len(chunks), end_line))
        chunks.append(_Chunk(rule.span.line, end_line, tuple(_layout_rule(pieces))))
    # Which statement ends on each line (the first that does): a comment after it on that
    # line is its trailing comment. A dict and a bisection keep this linear in the file
    # (issue 16 F10: it was comments × statements).
    ends_by_line: dict[int, list[tuple[int, int]]] = {}
    for s_end, idx, s_line in statement_ends:
        ends_by_line.setdefault(s_line, []).append((s_end, idx))
    for start, _end, comment, line in src.comments:
        # Rules do not overlap and come in order: only the last rule starting before this
        # comment can hold it inside its brackets.
        r = bisect.bisect_left(rule_starts, start) - 1
        if r >= 0 and rule_starts[r] < start < rule_ends[r]:
            continue  # inside a rule's brackets: the rule placed it
        owner = next(
            (idx for s_end, idx in ends_by_line.get(line, ()) if start >= s_end),
            None,
        )
        if owner is not None:
            c = chunks[owner]
            chunks[owner] = _Chunk(
                c.first, c.last, (*c.lines[:-1], c.lines[-1] + _COMMENT_GAP + comment)
            )
        else:
            chunks.append(_Chunk(line, line, (comment,)))
    chunks.sort(key=lambda c: c.first)
    out: list[str] = []
    previous_last = None
    for chunk in chunks:
        if previous_last is not None and chunk.first - previous_last > 1:
            out.append("")
        out.extend(line.rstrip() for line in chunk.lines)
        previous_last = chunk.last
    return "\n".join(out) + "\n" if out else ""


# --------------------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class FormattedFile:
    """One file's text before and after formatting; ``changed`` compares bytes on disk."""

    path: Path
    before: str
    after: str
    changed: bool
    bom: bool = False

    def after_bytes(self) -> bytes:
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.after.encode("utf-8")


def format_file(path: Path) -> FormattedFile:
    """Read and format one file (writes nothing). Raises CompileError."""
    return format_bytes(path, read_rules_bytes(path))


def format_bytes(path: Path, data: bytes) -> FormattedFile:
    """Format a file's bytes (``-``: stdin). The result keeps the file's byte-order mark and
    its line endings (CRLF when its first line ends with CRLF); ``before``/``after`` are the
    texts as they would be on disk, less the byte-order mark."""
    bom = data.startswith(b"\xef\xbb\xbf")
    text = decode_source(str(path), data)
    after = format_source(str(path), text)
    first_end = text.find("\n")
    if first_end > 0 and text[first_end - 1] == "\r":
        after = after.replace("\n", "\r\n")
    on_disk = (b"\xef\xbb\xbf" if bom else b"") + after.encode("utf-8")
    return FormattedFile(path, text, after, on_disk != data, bom)


@dataclass(frozen=True, slots=True)
class FormatReport:
    """What formatting a set of paths found: formatted files, and files that do not parse."""

    files: tuple[FormattedFile, ...]
    failed: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def changed(self) -> tuple[FormattedFile, ...]:
        return tuple(f for f in self.files if f.changed)


def format_paths(paths: Iterable[str | os.PathLike]) -> FormatReport:
    """Format every file (directories → their ``*.rules``); writes nothing."""
    files: list[FormattedFile] = []
    failed: list[Path] = []
    diagnostics: list[Diagnostic] = []
    paths = list(paths)
    found = expand_paths(paths)
    if not found:
        # As compile and check say it: an empty directory or a `*.rule` typo is an error.
        where = ", ".join(map(str, paths)) or "."
        diagnostics.append(error("E0007", "no rules files found", Span(where)))
        return FormatReport((), tuple(Path(p) for p in paths), tuple(diagnostics))
    for path in found:
        try:
            files.append(format_file(path))
        except CompileError as exc:
            failed.append(path)
            diagnostics.extend(exc.diagnostics)
    return FormatReport(tuple(files), tuple(failed), tuple(diagnostics))


def unified_diff(result: FormattedFile) -> str:
    """A unified diff from the file as it is to its canonical layout (``patch -p0`` applies)."""
    name = str(result.path)
    out: list[str] = []
    for line in difflib.unified_diff(
        _lines(result.before),
        _lines(result.after),
        fromfile=name,
        tofile=name,
    ):
        out.append(line)
        if not line.endswith("\n"):  # as diff(1) and patch(1) spell a missing final newline
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    """Lines as patch(1) counts them: only ``\\n`` ends one (``str.splitlines`` also splits on
    form feeds, U+0085 and others, and the diff would not apply)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def write_formatted(result: FormattedFile) -> bool:
    """Replace the file atomically when formatting changes it; say whether it was written."""
    if not result.changed:
        return False
    atomic_write(result.path, result.after_bytes())
    return True
