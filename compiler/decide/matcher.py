"""Matching action (and resource) strings against many glob patterns, cold and warm.

A first sighting of an action must cost about what a dict lookup does, whatever the number of
rules (issue 15): with resources in requests, actions are rarely warm. So patterns are not one
character trie walked as an NFA from the root; they are sorted by shape when the rules are
loaded, and each shape is matched the cheapest way that is still exact:

- **exact** names (no ``*`` or ``?``): one dict, keyed by the lowercased action;
- per **RAM code** (the text before the first ``:``, when it holds no glob), built the first
  time an action of that code is seen:
  - **prefix globs** (``ecs:Delete*``, ``ram:*``: one trailing ``*``): a dict per code from
    the first characters of their operation part (as many as the shortest has) to the
    prefixes that start so, probed with one slice, then ``startswith`` for each — or, when
    more than ``BUCKET`` prefixes start so (nested globs: ``Desc*`` ⊇ ``Descr*`` ⊇ …), a
    dict of the next characters, and so on (``_Nested``): a probe per distinct prefix length
    along the action, however many prefixes there are;
  - every other glob of the code: a **lazy DFA** over a character trie of those patterns
    (states are sets of trie nodes, transitions added the first time they are taken);
- **wild** patterns, whose code itself is a glob (``*``, ``*:Describe*``, ``ec?:Run*``): one
  lazy DFA over the full text; a pattern of only ``*`` matches everything and costs nothing.

Dispatch on the code is exact: a pattern whose code part is literal can only match a text
that starts with that code and its ``:``. The DFA is linear in the text whatever the globs
(one transition per character; a new state costs the live NFA nodes, at most the trie's
size), and its state table is bounded (``DFA_STATES``): past it, transitions are computed
without being stored, still linear.

``GlobTrie`` (the character trie) is also what ``decide.graph`` draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

STAR = "*"
ONE = "?"
DFA_STATES = 4096
"""States one lazy DFA keeps; hostile patterns beyond this run uncached (still linear)."""
_NOTHING: frozenset[int] = frozenset()
_CODES_MAX = 4096
"""Codes without patterns remembered as such; past this a code is looked up again."""
BUCKET = 8
"""Prefix globs one probe may leave to ``startswith`` each; more go one level deeper."""


class Node:
    __slots__ = ("children", "closure", "entries", "one", "star")

    def __init__(self, star: bool = False) -> None:
        self.children: dict[str, Node] = {}
        self.entries: list[int] = []
        self.star = star
        """Reached through a `*` edge: stays live on any character."""
        # Filled in by ``seal`` once every pattern is in: the `?` child, and the nodes live
        # as soon as this one is (itself plus what `*` edges reach without a character).
        self.one: Node | None = None
        self.closure: tuple[Node, ...] = ()


def fold_stars(pattern: str) -> str:
    while "**" in pattern:  # `**` means what `*` means
        pattern = pattern.replace("**", "*")
    return pattern


class GlobTrie:
    """Glob patterns in one character trie; ``step`` is one NFA move over it."""

    def __init__(self) -> None:
        self.root = Node()
        self.node_count = 1

    def insert(self, pattern: str) -> Node:
        """The node a pattern ends at, created as needed."""
        node = self.root
        for ch in fold_stars(pattern):
            children = node.children
            nxt = children.get(ch)
            if nxt is None:
                nxt = children[ch] = Node(star=ch == STAR)
                self.node_count += 1
            node = nxt
        return node

    def nodes(self) -> list[Node]:
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node.children.values())
        return out

    def seal(self) -> None:
        for node in self.nodes():
            node.one = node.children.get(ONE)
            chain = [node]
            star = node.children.get(STAR)
            while star is not None:  # `**` is folded on insert, so this runs at most once
                chain.append(star)
                star = star.children.get(STAR)
            node.closure = tuple(chain)


def nfa_step(live: Iterable[Node], ch: str) -> tuple[Node, ...]:
    """The nodes live after reading ``ch``; in the text `*` and `?` are plain characters."""
    step: list[Node] = []
    glob_char = ch in (STAR, ONE)
    for node in live:
        nxt = None if glob_char else node.children.get(ch)
        if nxt is not None:
            step.extend(nxt.closure)
        if node.one is not None:
            step.extend(node.one.closure)
        if node.star:
            step.append(node)  # a `*` swallows this character too
    return tuple(dict.fromkeys(step))


class _State:
    __slots__ = ("entries", "next", "nodes")

    def __init__(self, nodes: tuple[Node, ...]) -> None:
        self.nodes = nodes
        self.next: dict[str, _State] = {}
        self.entries = frozenset(i for node in nodes for i in node.entries)


class LazyDfa:
    """A sealed ``GlobTrie`` run as a DFA built on demand (subset construction, one
    transition at a time); ``match`` gives the entries of every pattern matching the text."""

    __slots__ = ("dead", "start", "states")

    def __init__(self, trie: GlobTrie) -> None:
        self.states: dict[frozenset[Node], _State] = {}
        self.dead = _State(())
        self.start = self._state(trie.root.closure)

    def _state(self, nodes: tuple[Node, ...]) -> _State:
        if not nodes:
            return self.dead
        key = frozenset(nodes)
        state = self.states.get(key)
        if state is None:
            state = _State(nodes)
            if len(self.states) < DFA_STATES:
                self.states[key] = state
        return state

    def _move(self, state: _State, ch: str) -> _State:
        nxt = self._state(nfa_step(state.nodes, ch))
        if len(self.states) < DFA_STATES or nxt is self.dead:
            state.next[ch] = nxt
        return nxt

    def match(self, text: str) -> frozenset[int]:
        state = self.start
        dead = self.dead
        for ch in text:
            nxt = state.next.get(ch)
            if nxt is None:
                nxt = self._move(state, ch)
            if nxt is dead:
                return _NOTHING
            state = nxt
        return state.entries


_Prefixes = tuple[tuple[str, frozenset[int]], ...]
"""(operation prefix, entries) of a few prefix globs, each checked with ``startswith``."""


class _Nested:
    """More than ``BUCKET`` prefix globs sharing the characters a probe has just read, as the
    level below it: ``here``, the entries of the prefix those characters end (if one does),
    and the others by their next ``head`` characters (as many as the shortest has left). A
    first sighting reads a level per distinct prefix length along the action, each one slice
    and one probe, so nested globs by the thousand cost what a few do — and the characters
    read only go forward, so a lookup stays linear in the action."""

    __slots__ = ("head", "heads", "here")

    def __init__(self) -> None:
        self.here: frozenset[int] = _NOTHING
        self.head = 0
        self.heads: dict[str, _Nested | _Prefixes] = {}

    def walk(self, text: str, pos: int) -> tuple[_Prefixes, frozenset[int]]:
        """(the few prefixes left to ``startswith``, entries of the prefixes ended on the
        way) for ``text`` whose characters before ``pos`` led here. The entries are joined
        once at the end: a union per level would copy them over and over."""
        node = self
        ended: list[frozenset[int]] = []
        while True:
            if node.here:
                ended.append(node.here)
            bucket = node.heads.get(text[pos : pos + node.head])
            if bucket is None:
                return (), _NOTHING.union(*ended)
            if bucket.__class__ is tuple:
                return bucket, _NOTHING.union(*ended)  # type: ignore[return-value]
            pos += node.head
            node = bucket  # type: ignore[assignment]


def _buckets(
    prefixes: list[tuple[str, frozenset[int]]], depth: int
) -> tuple[int, dict[str, _Nested | _Prefixes]]:
    """(head, heads) for prefixes sharing their first ``depth`` characters and each longer
    than that: grouped by their next ``head`` characters (the shortest one's remainder), a
    group of at most ``BUCKET`` as a sorted tuple, a bigger one as a ``_Nested`` level.
    Built level by level from a work list, not by recursion: a chain of nested globs is as
    deep as the longest glob. Each level slices only the characters it groups by, so the
    build is linear in the patterns' total length."""
    root: dict[str, _Nested | _Prefixes] = {}
    root_head = min(len(body) for body, _ in prefixes) - depth
    work: list[tuple[dict[str, _Nested | _Prefixes], list[tuple[str, frozenset[int]]], int, int]]
    work = [(root, prefixes, depth, root_head)]
    while work:
        into, group, depth, head = work.pop()
        by_head: dict[str, list[tuple[str, frozenset[int]]]] = {}
        for body, hit in group:
            by_head.setdefault(body[depth : depth + head], []).append((body, hit))
        below = depth + head
        for key, members in by_head.items():
            if len(members) <= BUCKET:
                into[key] = tuple(sorted(members))
                continue
            nested = _Nested()
            longer = []
            for body, hit in members:
                if len(body) == below:  # the prefix these characters end (one: distinct)
                    nested.here = hit
                else:
                    longer.append((body, hit))
            nested.head = min(len(body) for body, _ in longer) - below
            into[key] = nested
            work.append((nested.heads, longer, below, nested.head))
    return root_head, root


class _CodeIndex:
    """The globs of one RAM code: prefix globs by the first characters of their operation
    part, the rest in a lazy DFA. ``match`` is inlined in ``PatternIndex.match`` (a call
    costs as much as the probe); this holds the tables."""

    __slots__ = ("always", "dfa", "head", "heads")

    def __init__(self, code: str, patterns: Iterable[tuple[str, tuple[int, ...]]]) -> None:
        start = len(code) + 1
        prefixes: dict[str, frozenset[int]] = {}
        trie: GlobTrie | None = None
        for pattern, indexes in patterns:
            body = pattern[start:-1]
            if pattern.endswith(STAR) and STAR not in body and ONE not in body:
                prefixes[body] = prefixes.get(body, _NOTHING) | frozenset(indexes)
            else:
                if trie is None:
                    trie = GlobTrie()
                trie.insert(pattern).entries.extend(indexes)
        # `code:*`: every action of the code. The other prefixes are found by their first
        # ``head`` characters (the shortest prefix's length): one slice and one probe, then
        # a ``startswith`` for each of the few prefixes sharing those characters, or the
        # levels of a ``_Nested`` when many do — however many prefix lengths the code's
        # rules use.
        self.always: frozenset[int] = prefixes.pop("", _NOTHING)
        self.head = 0
        self.heads: dict[str, _Nested | _Prefixes] = {}
        if prefixes:
            self.head, self.heads = _buckets(list(prefixes.items()), 0)
        self.dfa: LazyDfa | None = None
        if trie is not None:
            trie.seal()
            self.dfa = LazyDfa(trie)


_EMPTY_CODE = _CodeIndex("", ())


class PatternIndex:
    """Lowercased glob patterns → rule indexes, matched by shape (see the module docstring).

    ``patterns`` keeps every (pattern, indexes) as inserted, so that analysis can read back
    exactly what lookups use."""

    def __init__(self, patterns: Iterable[tuple[str, Iterable[int]]]) -> None:
        self.patterns: dict[str, tuple[int, ...]] = {}
        for pattern, indexes in patterns:
            pattern = fold_stars(pattern)
            known = self.patterns.get(pattern, ())
            self.patterns[pattern] = known + tuple(i for i in indexes if i not in known)
        self.exact: dict[str, frozenset[int]] = {}
        self.always: frozenset[int] = _NOTHING
        by_code: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
        wild = GlobTrie()
        has_wild = False
        for pattern, indexes in self.patterns.items():
            if STAR not in pattern and ONE not in pattern:
                self.exact[pattern] = frozenset(indexes)
                continue
            if pattern == STAR:
                self.always |= frozenset(indexes)
                continue
            code, colon, _ = pattern.partition(":")
            if colon and STAR not in code and ONE not in code:
                by_code.setdefault(code, []).append((pattern, indexes))
            else:
                wild.insert(pattern).entries.extend(indexes)
                has_wild = True
        # Built on first sight of an action of the code: a big rule set answers its first
        # request without compiling every service's globs.
        self._pending = by_code
        self._codes: dict[str, _CodeIndex] = {}
        self._wild: LazyDfa | None = None
        if has_wild:
            wild.seal()
            self._wild = LazyDfa(wild)

    def _code(self, code: str) -> _CodeIndex:
        index = self._codes.get(code)
        if index is None:
            pending = self._pending.get(code)
            if pending is None:
                # No pattern of this code: remembered as such, up to a bound (junk codes).
                if len(self._codes) < _CODES_MAX:
                    self._codes[code] = _EMPTY_CODE
                return _EMPTY_CODE
            index = self._codes[code] = _CodeIndex(code, pending)
        return index

    def match(self, text: str) -> frozenset[int]:
        """Entries of every pattern matching ``text`` as given (lowercase it first)."""
        found = self.exact.get(text)
        colon = text.find(":")
        if colon >= 0:
            index = self._codes.get(text[:colon])
            if index is None:
                index = self._code(text[:colon])
            if index is not _EMPTY_CODE:
                if index.always:
                    found = index.always if found is None else found | index.always
                start = colon + 1
                heads = index.heads.get(text[start : start + index.head])
                if heads is not None:
                    if heads.__class__ is not tuple:  # many prefixes share those: nested
                        heads, hit = heads.walk(text, start + index.head)  # type: ignore[union-attr]
                        if hit:
                            found = hit if found is None else found | hit
                    for body, hit in heads:  # type: ignore[union-attr]
                        if text.startswith(body, start):
                            found = hit if found is None else found | hit
                if index.dfa is not None:
                    hit = index.dfa.match(text)
                    if hit:
                        found = hit if found is None else found | hit
        if self._wild is not None:
            hit = self._wild.match(text)
            if hit:
                found = hit if found is None else found | hit
        if self.always:
            found = self.always if found is None else found | self.always
        return _NOTHING if found is None else found

    def items(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        return iter(self.patterns.items())
