"""The public face of the pipeline: files → parse → check → trie and documents.

``compile_rules`` is the one place the stages are glued together, in order:

    read (bytes → text) → parse (lark) → check (catalog) → RuleSet
    RuleSet → DecisionTrie (decide)      RuleSet → RAM documents (emit)
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import operator
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from compiler.catalog import Catalog, default_catalog
from compiler.decide.trie import Decision, DecisionTrie
from compiler.decide.warm import too_long
from compiler.emit.ram import Document, Statement, documents_for
from compiler.language.diagnostics import CompileError, Diagnostic, Severity, Span, error
from compiler.language.parser import parse_text
from compiler.language.sources import (
    expand_paths,
    read_rules,
)
from compiler.language.suppress import directive_problems
from compiler.model.glob import MAX_ACTION
from compiler.model.ir import Condition, PolicyIR, Rule, RuleSet
from compiler.model.keys import checked_context
from compiler.model.resolve import check_file

if TYPE_CHECKING:
    # Imported where used: `ramguard decide` without --account must not pay for them (its
    # start-up is held to 1.3x `ramguard --version`).
    from compiler.decide.chain import ChainDecider, ChainDecision
    from compiler.model.org import Org
    from compiler.ram.chain import ChainNode


@dataclass(eq=False)
class Policy:
    """Compiled rules: decide requests, emit RAM documents.

    Holds every policy of the files it was compiled from; ``decide`` answers for all of them
    together (deny wins across policies, as RAM does across attached policies).
    """

    ruleset: RuleSet
    warnings: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    emitted: dict[str, list[Document] | CompileError] = field(default_factory=dict, repr=False)
    """Documents (or the emit error) per policy name, when the front end already made them."""
    _chains: dict[Org, ChainDecider] = field(default_factory=dict, repr=False)

    @cached_property
    def trie(self) -> DecisionTrie:
        # Many small acyclic objects, as in the front end: the cyclic collector's passes over
        # them (and the compiled rules already alive) were most of building 10,000 rules' trie.
        with _collector_paused():
            return DecisionTrie(self.ruleset.rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.ruleset.rules

    @property
    def policies(self) -> tuple[PolicyIR, ...]:
        return self.ruleset.policies

    @cached_property
    def decide(self) -> Callable[..., Decision]:
        """``decide(action, context=None, resource=None) -> Decision``: decide one request on
        ``resource`` (an ARN; None: unknown, so rules scoped to resources do not match and
        are listed in ``Decision.resource_unknown``). When a rule scoped to resources covers
        the action, a resource not shaped as an ARN (``"foo"``, ``""``:
        ``acs:<service>:<region>:<account>:<resource>``) raises ``ValueError``: matching
        none of the rules, it was answered as a request on it. ``*`` and ``?`` in it are
        characters, as in a trace (``decide --resource`` refuses them: typed, they are
        most likely a pattern).

        The context is read as far as the decision reads it. When a rule covering the action
        has conditions, context keys may be RAM keys or the rules language's names, in any
        case (a service or tag key spelled otherwise than the rule spells it — ``oss:prefix``
        for ``"oss:Prefix"`` — is read as the rule's, as RAM matches key names ignoring case;
        one key given in two spellings raises ``KeyError``; so does a key that is no
        key — ``sorce_ip``, ``acs:Source_Ip`` — with the message of ``ramguard decide -c``,
        ``compiler.model.keys.unknown_key``: read as absent it would silently flip a
        condition. Service keys (``oss:Prefix``, ``ecs:tag/env``), tag keys and an ``acs:``
        key an ``unchecked`` rule of the action tests are keys), and the values of the keys
        those conditions test are checked: strings are request data, as in a trace (a value
        not of the key's kind fails positive operators); ``bool``, finite numbers and aware
        ``datetime`` (converted to UTC) are converted as ``compiler.model.keys.context_value``
        documents; None, NaN, infinities, naive datetimes and other types raise
        ``ValueError`` — so the trie and the RAM evaluator never read a value differently.
        Values of keys no such condition tests are not looked at, and when no rule covering
        the action has conditions (its answer is fixed) the context is not read at all: no
        engine reads them, so none can read them differently, and checking every key and
        value of every context cost several times the decision (issue 15). (``ramguard
        decide -c`` parses every value strictly, as rules do.) An action longer than
        ``compiler.model.glob.MAX_ACTION`` raises ``ValueError`` too, as ``ramguard decide``
        refuses it and a trace holds it malformed.

        A function made once per Policy (the trie's checked ``decider``), not a method: a
        method calling the trie would cost twice the decision itself (issue 15: within 1.3×
        the ``decider``). Pickling leaves it out (``__getstate__``)."""
        return self.trie.decider(checked=True)

    def __getstate__(self) -> dict:
        # ``decide`` is a closure over this process's trie: rebuilt where it is unpickled.
        state = dict(self.__dict__)
        state.pop("decide", None)
        return state

    def decide_many(
        self, requests: Iterable[tuple[str, Mapping[str, object] | None]]
    ) -> list[bool]:
        """Deny (True) or not for each (action, context): ``decide``'s answers, the context
        read by the same function (keys in any spelling, ``bool``/number/aware ``datetime``
        values converted, a bad key or value raising as ``decide`` raises). It called the
        trie's unchecked ``denies``, which took a context already in the trie's form: a
        miscased key or a ``datetime`` value read as absent, so a request ``decide`` (and
        the RAM evaluator) denied was answered not denied."""
        decide = self.decide
        return [decide(action, ctx).decision == "deny" for action, ctx in requests]

    @cached_property
    def documents(self) -> list[Document]:
        out: list[Document] = []
        with _collector_paused():  # as for the trie
            for policy in self.ruleset.policies:
                done = self.emitted.get(policy.name)
                if isinstance(done, CompileError):
                    raise done
                out.extend(done if done is not None else documents_for(policy))
        return out

    def ram_documents(self) -> list[dict]:
        """Every emitted RAM policy document, as parsed JSON, in file-name order."""
        return [doc.as_dict() for doc in self.documents]

    # -- Resource Directory (issue 12 item 2): requests decided along an org.toml chain ------

    def load_org(self, path: str | os.PathLike) -> Org:
        """Read ``org.toml`` and bind it to these rules (attachments checked and completed
        with the headers' ``attach [...]``). Raises ``CompileError``."""
        from compiler.model.org import bind_org, read_org

        return bind_org(read_org(path), self.ruleset, self.sources)

    def chain_decider(self, org: Org) -> ChainDecider:
        from compiler.decide.chain import ChainDecider

        decider = self._chains.get(org)
        if decider is None:
            decider = self._chains[org] = ChainDecider(self.ruleset, org)
        return decider

    def decide_chain(
        self,
        org: Org,
        account: str,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> ChainDecision:
        """Decide a request of ``account`` (a node of ``org``; KeyError if not described)
        along ``Root → folders → account``: each level must allow and none deny; then the
        rule set's RAM guardrails (``for ram``), deny-wins. Context as for ``decide``, with
        the rules covering the action along the chain (``ChainDecider.reads``: each node's
        Deny and Allow rules and the guardrails) in place of the rule set's; an action over
        ``MAX_ACTION`` raises ``ValueError`` as there."""
        if len(action) > MAX_ACTION:
            raise too_long(action)
        decider = self.chain_decider(org)
        if context:
            reads = decider.reads(account, action)
            context = None if reads is None else checked_context(context, reads)
        return decider.decide(account, action, context or None, resource)

    def reads(
        self, action: str, org: Org | None = None, account: str | None = None
    ) -> tuple[str, ...]:
        """The context keys a decision of ``action`` reads, sorted — along ``account``'s chain
        in ``org`` when both are given (``ChainDecider.reads``), else the rules'
        (``DecisionTrie.reads``): where ``decide`` and ``decide_chain`` take an ``acs:`` key
        RAM does not define (an ``unchecked`` rule covering the action tests it), so that
        ``ramguard decide -c`` and ``.tests`` contexts take it too
        (``compiler.model.keys.unknown_key``)."""
        if org is not None and account is not None:
            found = self.chain_decider(org).reads(account, action)
        else:
            found = self.trie.reads(action)
        return found or ()

    def chain_nodes(self, org: Org, account: str) -> list[ChainNode]:
        """The chain of ``account`` as the RAM evaluator's ``ChainEvaluator`` takes it: per
        node, FullAliyunAccess or not and the emitted documents of its control policies."""
        from compiler.ram.chain import ChainNode

        control = {p.name for p in self.policies if p.deploy == "control-policy"}
        out = []
        for node in org.chain(account):
            attached = [n for n in node.policies if n in control]
            docs = tuple(
                (doc.filename, doc.as_dict()) for doc in self.documents if doc.policy in attached
            )
            out.append(ChainNode(node.id, node.full_aliyun_access, docs))
        return out

    def guardrail_documents(self) -> list[tuple[str, dict]]:
        """The documents of the RAM guardrails (not control policies): decided after the
        chain, deny-wins."""
        ram = {p.name for p in self.policies if p.deploy != "control-policy"}
        return [(doc.filename, doc.as_dict()) for doc in self.documents if doc.policy in ram]


# Rule indexes are file number × stride + position in the file, so that files can be checked
# independently (in parallel) and still number their rules in one global order.
_INDEX_STRIDE = 1 << 24
# Below this much source, a second process costs more than it saves.
_PARALLEL_MIN_BYTES = 256 * 1024
# This process checks a little more than half: the forked one also pickles its results
# (about 6 % of its share's time, measured on 10,000 rules), so both finish together.
_PARENT_SHARE = 0.53


@dataclass(frozen=True, slots=True)
class _Checked:
    path: str
    text: str
    policy: PolicyIR | None
    diagnostics: tuple[Diagnostic, ...]
    documents: list[Document] | CompileError | None = None


def _front_end(
    batch: Sequence[tuple[int, str, str]], catalog: Catalog | None, emit: bool = False
) -> list[_Checked]:
    """Parse and check each (file number, path, text) — the per-file, independent stages —
    and, with ``emit``, lay out its documents too."""
    catalog = catalog or default_catalog()
    out: list[_Checked] = []
    for number, path, text in batch:
        try:
            parsed = parse_text(path, text)
        except CompileError as exc:
            out.append(_Checked(path, text, None, tuple(exc.diagnostics)))
            continue
        policy, found = check_file(parsed, catalog, first_index=number * _INDEX_STRIDE)
        found = [*found, *directive_problems(path, text)]
        documents: list[Document] | CompileError | None = None
        if emit and policy is not None:
            try:
                documents = documents_for(policy)
            except CompileError as exc:
                documents = exc  # raised when someone asks for the documents, as without emit
        out.append(_Checked(path, text, policy, tuple(found), documents))
    return out


def _fast_reducers() -> None:
    """The second half's results come back pickled; a frozen, slotted dataclass pickles
    through dataclasses' per-field ``__getstate__``/``__setstate__`` in Python, a third of
    the transfer. These (the bulk of a checked file) travel as ``cls(*fields)`` instead, read
    by one ``attrgetter``: the same values, rebuilt by their own ``__init__``. Registered with
    multiprocessing's pickler only, so nothing else's pickling changes."""
    from multiprocessing.reduction import ForkingPickler

    for cls in (Rule, Condition, PolicyIR, Span, Diagnostic, Document, Statement):
        names = [f.name for f in dataclasses.fields(cls)]
        assert all(f.init for f in dataclasses.fields(cls)) and len(names) > 1, cls
        fields_of = operator.attrgetter(*names)
        ForkingPickler.register(cls, lambda obj, cls=cls, get=fields_of: (cls, get(obj)))


def _can_fork() -> bool:
    return (
        (os.cpu_count() or 1) > 1
        and os.environ.get("RAMGUARD_JOBS", "") != "1"
        and "fork" in multiprocessing.get_all_start_methods()
        # fork() in a threaded process can deadlock on a lock another thread held.
        and threading.active_count() == 1
    )


def _check_all(sources: Sequence[tuple[str, str]], catalog: Catalog | None) -> list[_Checked]:
    """``_front_end`` over every file; a big rule set is split in two by size and the second
    part checked in a forked process while this one checks the first."""
    items = [(n, path, text) for n, (path, text) in enumerate(sources)]
    total = sum(len(text) for _, _, text in items)
    if len(items) < 2 or total < _PARALLEL_MIN_BYTES or not _can_fork():
        return _front_end(items, catalog)
    default_catalog()  # loaded once here, inherited by the fork
    seen, cut = 0, len(items)
    for k, (_, _, text) in enumerate(items):
        seen += len(text)
        if seen >= total * _PARENT_SHARE:
            cut = k + 1
            break
    # A rule set this big is being compiled to be emitted (or replayed, which emits too), so
    # the documents are laid out on both cores now rather than on one later.
    _fast_reducers()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        second = pool.submit(_front_end, items[cut:], catalog, True)
        first = _front_end(items[:cut], catalog, True)
        return first + second.result()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The front end allocates hundreds of thousands of small acyclic objects; the cyclic
    collector's passes over them find nothing and cost a tenth of a big compile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def compile_sources(sources: Sequence[tuple[str, str]], catalog: Catalog | None = None) -> Policy:
    """Compile (path, text) pairs — the in-memory entry point the tests and tools use."""
    with _collector_paused():
        return _compile_sources(sources, catalog)


def _compile_sources(sources: Sequence[tuple[str, str]], catalog: Catalog | None) -> Policy:
    diags: list[Diagnostic] = []
    policies: list[PolicyIR] = []
    names: dict[str, str] = {}
    folded_names: dict[str, tuple[str, str]] = {}
    emitted: dict[str, list[Document] | CompileError] = {}
    for checked in _check_all(sources, catalog):
        diags.extend(checked.diagnostics)
        policy = checked.policy
        if policy is None:
            continue
        if policy.name in names:
            diags.append(
                error(
                    "E0203",
                    f"policy `{policy.name}` is also defined in {names[policy.name]}",
                    policy.span or Span(checked.path, 1, 1, 1, 1),
                    help="policy names become file names and must be unique",
                    source=checked.text,
                )
            )
            continue
        folded = policy.name.casefold()
        if folded in folded_names and folded_names[folded][0] != policy.name:
            other, where = folded_names[folded]
            diags.append(
                error(
                    "E0205",
                    f"policy `{policy.name}` differs from `{other}` in {where} only in case",
                    policy.span or Span(checked.path, 1, 1, 1, 1),
                    help="their files would collide on a case-insensitive file system "
                    "(macOS, Windows); rename one",
                    source=checked.text,
                )
            )
            continue
        folded_names[folded] = (policy.name, checked.path)
        names[policy.name] = checked.path
        policies.append(policy)
        if checked.documents is not None:
            emitted[policy.name] = checked.documents
    errors = [d for d in diags if d.severity is Severity.ERROR]
    if errors:
        raise CompileError(diags)
    policies.sort(key=lambda p: p.name)
    return Policy(RuleSet(tuple(policies)), diags, dict(sources), emitted)


def compile_rules(paths: Iterable[str | os.PathLike], catalog: Catalog | None = None) -> Policy:
    """Compile rules files (directories are searched for ``*.rules``).

    Raises ``CompileError`` carrying every diagnostic when any file has an error.
    """
    files = expand_paths(paths)
    if not files:
        raise CompileError(
            [error("E0007", "no rules files found", Span(", ".join(map(str, paths)) or "."))]
        )
    sources: list[tuple[str, str]] = []
    diags: list[Diagnostic] = []
    for path in files:
        try:
            sources.append((str(path), read_rules(path)))
        except CompileError as exc:
            diags.extend(exc.diagnostics)
    if diags:
        raise CompileError(diags)
    return compile_sources(sources, catalog)
