"""One loop that lexes and runs lark's LALR tables: the parse ``rules.lark`` gets on every
compile, about 1.5x faster than lark's own loop (issue 15, compile budget).

lark's LALR parse is a contextual lexer (a generator per token, a line counter object, a
token built through a deprecation shim) feeding ``ParserState.feed_token`` through our
bracket post-lexer: three Python frames and a dozen attribute lookups per token, which is
most of a compile of 10,000 rules. ``FusedParser`` runs the same machine in one function
over lark's own parts, taken from the built ``Lark`` object:

- the parse table (``states``, start and end state) and the tree builder's callbacks, so
  every reduction calls the same transformer method with the same children;
- per parser state, the contextual lexer's terminals in lark's order (priority, then
  length), as one regex with whitespace skipped in front (``_skip_prefix``), and the same
  callbacks (the keyword ``unless`` retyping, the comment sink);
- the post-lexer's one rule: a newline inside ``[ ]`` is dropped.

Tokens are lark ``Token`` values with the positions lark's line counter gives. Whatever
the driver cannot take (a character no terminal matches, a token the table has no action
for) raises ``Fallback`` before anything is returned: ``parse_text`` then parses the text
with lark itself, so every syntax error and its message are lark's, as before.
``tests/test_fastlalr.py`` parses a corpus both ways and compares tokens and trees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token

# lark's insides, read once; a lark without them (not 1.2-1.3) leaves both None and
# ``FusedParser`` refuses to build, so lark alone parses instead of the import failing.
try:
    from lark.parsers.lalr_analysis import Shift
except ImportError:  # pragma: no cover - depends on the installed lark
    Shift = None
# Token(...) without the ``type_`` deprecation shim
_new_token = getattr(Token, "_future_new", None)


class Fallback(Exception):
    """The fused driver does not take this input; lark's own parse will say why."""


@dataclass(frozen=True, slots=True)
class _StateLexer:
    match: Callable[[str, int], re.Match | None]
    ignore: frozenset[str]
    newlines: frozenset[str]
    callbacks: Mapping[str, Callable[[Token], Token]]


def _skip_prefix(lexer: Any) -> tuple[str, frozenset[str]]:
    """A regex prefix that skips the ignored terminals without callbacks (whitespace), and
    their names. Exact only because no terminal of the grammar can start with what they match;
    ``tests/test_fastlalr.py`` proves that for every terminal (interegular)."""
    skipped = [
        t
        for t in lexer.scanner.terminals
        if t.name in lexer.ignore_types
        and t.name not in lexer.callback
        and t.name not in lexer.newline_types  # lines are counted on tokens only
    ]
    if not skipped:
        return "", frozenset()
    alternatives = "|".join(t.pattern.to_regexp() for t in skipped)
    return f"(?:{alternatives})*+", frozenset(t.name for t in skipped)


class FusedParser:
    """lark's LALR parse of one grammar as a single loop; see the module docstring."""

    def __init__(
        self, lark: Lark, start: str = "start", skip_newline_in: tuple[str, str] = ("LSQB", "RSQB")
    ):
        if Shift is None or _new_token is None:
            raise AttributeError("this lark has no LALR Shift action or Token._future_new")
        frontend = lark.parser
        contextual = getattr(frontend.lexer, "lexer", frontend.lexer)  # under PostLexConnector
        parser = frontend.parser.parser
        table = parser.parse_table
        self._start = table.start_states[start]
        self._end = table.end_states[start]
        callbacks = parser.callbacks
        self._terminal_callbacks = {k: v for k, v in callbacks.items() if isinstance(k, str)}
        # Per state and terminal: (state to shift to, None) or (None, the reduction: length of
        # its expansion, the non-terminal it makes, its callback); no lark Rule is hashed
        # while parsing.
        reductions: dict[Any, tuple[int, str, Callable]] = {}
        self._actions: dict[Any, dict[str, tuple[Any, tuple[int, str, Callable] | None]]] = {}
        for state, actions in table.states.items():
            row = self._actions[state] = {}
            for name, (action, arg) in actions.items():
                if action is Shift:
                    row[name] = (arg, None)
                else:
                    if arg not in reductions:
                        reductions[arg] = (len(arg.expansion), arg.origin.name, callbacks[arg])
                    row[name] = (None, reductions[arg])
        self._open, self._close = skip_newline_in
        self._lexers: dict[Any, _StateLexer] = {}
        built: dict[int, _StateLexer] = {}
        flags = lark.lexer_conf.g_regex_flags
        prefix, _ = _skip_prefix(contextual.root_lexer)
        self._skip_to_end = re.compile(prefix + r"\Z", flags).match if prefix else None
        for state, lexer in contextual.lexers.items():
            if id(lexer) not in built:
                prefix, skipped = _skip_prefix(lexer)
                alternatives = "|".join(
                    f"(?P<{t.name}>{t.pattern.to_regexp()})"
                    for t in lexer.scanner.terminals
                    if t.name not in skipped
                )
                built[id(lexer)] = _StateLexer(
                    re.compile(f"{prefix}(?:{alternatives})", flags).match,
                    frozenset(lexer.ignore_types) - skipped,
                    frozenset(lexer.newline_types),
                    dict(lexer.callback),
                )
            self._lexers[state] = built[id(lexer)]

    def parse(self, text: str) -> Any:
        """What ``lark.parse(text)`` returns, or ``Fallback``."""
        actions, lexers = self._actions, self._lexers
        terminal_callbacks = self._terminal_callbacks
        open_, close = self._open, self._close
        stack = [self._start]
        values: list = []
        pos, line, line_start, size, depth = 0, 1, 0, len(text), 0
        last: Token | None = None
        while True:
            if pos < size:
                lexer = lexers[stack[-1]]
                m = lexer.match(text, pos)
                if m is None:
                    if self._skip_to_end is not None and self._skip_to_end(text, pos):
                        pos = size  # only whitespace left
                        continue
                    raise Fallback
                kind = m.lastgroup
                start = m.start(kind)
                value = m.group(kind)
                column = start - line_start + 1
                start_line = line
                pos = start + len(value)
                if kind in lexer.newlines and "\n" in value:
                    line += value.count("\n")
                    line_start = start + value.rindex("\n") + 1
                end_column = pos - line_start + 1
                tok = _new_token(kind, value, start, start_line, column, line, end_column, pos)
                if kind in lexer.callbacks:
                    ignored = kind in lexer.ignore  # as lark: by the type before the callback
                    tok = lexer.callbacks[kind](tok)
                    if ignored:
                        continue
                    kind = tok.type
                if kind == open_:
                    depth += 1
                elif kind == close:
                    if depth:
                        depth -= 1
                elif kind == "_NL" and depth:
                    continue
                last = tok
                is_end = False
            else:
                tok = Token.new_borrow_pos("$END", "", last) if last else Token("$END", "", 0, 1, 1)
                kind = "$END"
                is_end = True
            while True:
                try:
                    shift, reduction = actions[stack[-1]][kind]
                except KeyError:
                    raise Fallback from None
                if reduction is None:
                    if is_end:
                        raise Fallback
                    stack.append(shift)
                    if kind in terminal_callbacks:
                        tok = terminal_callbacks[kind](tok)
                    values.append(tok)
                    break
                width, origin, callback = reduction
                if width:
                    children = values[-width:]
                    del stack[-width:]
                    del values[-width:]
                else:
                    children = []
                values.append(callback(children))
                stack.append(actions[stack[-1]][origin][0])
                if is_end and stack[-1] == self._end:
                    return values[-1]
