"""Decide requests against RAM policy documents the way RAM does.

The simulator's second opinion: it reads only policy JSON and shares no matching code with the
decision trie (its glob and condition code live in this package). RAM's rules, as documented in
``ram/policy-evaluation-process``: a request is denied by default; a statement matches when its
action patterns (``Action``, or the complement of ``NotAction``) and its whole condition block
match; an explicit Deny overrides any Allow.

``decide`` gives this project's guardrail meaning: ``"deny"`` when an explicit Deny matches,
otherwise ``"allow"`` — "not denied by these rules". An implicit deny (no Allow matched) is
``"allow"`` there, because guardrail documents hold only Deny statements and the principal's
grants live in other policies. ``evaluate`` keeps the full three-way RAM answer.

Resources: ``Resource`` patterns are matched case-sensitively (ARNs hold case-sensitive IDs
such as OSS object names) with this package's own glob. A request's resource is one ARN, a
sequence of ARNs (the request touches each; a statement matches when any of them matches) or
``None`` — unknown. With an unknown resource a statement whose Resource is not ``"*"`` does
not match: it cannot be decided, and ``Evaluation.resource_unknown`` lists the statements that
would have matched on action and condition, so a caller reports them instead of calling the
request allowed by them.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from compiler.ram.conditions import Condition, fold_context
from compiler.ram.document import Effect, PolicyDocument, PolicyDocumentError
from compiler.ram.glob import GlobPattern

Outcome = Literal["Deny", "Allow", "ImplicitDeny"]


@dataclass(frozen=True, slots=True)
class StatementRef:
    document: str
    statement: int  # 1-based
    effect: Effect


@dataclass(frozen=True, slots=True)
class Evaluation:
    effect: Outcome
    matched: tuple[StatementRef, ...]  # statements whose action and condition matched, in order
    # Statements whose action and condition matched but whose Resource could not be checked
    # because the request's resource was unknown (resource=None); they are not in `matched`.
    resource_unknown: tuple[StatementRef, ...] = ()

    @property
    def decision(self) -> Literal["deny", "allow"]:
        return "deny" if self.effect == "Deny" else "allow"


@dataclass(frozen=True, slots=True)
class _CompiledStatement:
    ref: StatementRef
    any_action: bool  # a bare "*" among the patterns
    literals: frozenset[str]  # wildcard-free patterns, lower-cased: a set lookup decides
    patterns: tuple[GlobPattern, ...]  # the rest, compiled from lower-cased text
    not_action: bool
    condition: Condition | None
    any_resource: bool  # a bare "*" among the Resource patterns
    resources: tuple[GlobPattern, ...]  # case-sensitive ARN globs (empty when any_resource)

    def resource_matches(self, resource: str | Sequence[str] | None) -> bool | None:
        """True/False, or None when the resource is unknown and the statement needs one."""
        if self.any_resource:
            return True
        if resource is None:
            return None
        arns = (resource,) if isinstance(resource, str) else resource
        for arn in arns:
            for pattern in self.resources:
                if pattern.matches(arn):
                    return True
        return False

    def action_matches(self, folded_action: str) -> bool:
        hit = self.any_action or folded_action in self.literals
        if not hit:
            for pattern in self.patterns:  # a loop, not any(<genexpr>): decide's hot path
                if pattern.matches(folded_action):
                    hit = True
                    break
        return hit != self.not_action  # NotAction applies to actions matching none of them


def _compile(document: PolicyDocument) -> list[_CompiledStatement]:
    out = []
    for statement in document.statements:
        # Fold once here and match the pre-folded action case-sensitively: the same answer as
        # ignore_case=True, without lower-casing the action again for every pattern.
        folded = [action.lower() for action in statement.actions]
        globs = [GlobPattern(action) for action in folded if action != "*"]
        out.append(
            _CompiledStatement(
                ref=StatementRef(document.name, statement.index, statement.effect),
                any_action="*" in folded,
                literals=frozenset(g.source for g in globs if g.is_literal),
                patterns=tuple(g for g in globs if not g.is_literal),
                not_action=statement.not_action,
                condition=statement.condition,
                any_resource="*" in statement.resources,
                resources=()
                if "*" in statement.resources
                else tuple(GlobPattern(r, ignore_case=False) for r in statement.resources),
            )
        )
    return out


class RamEvaluator:
    """Evaluates requests against documents given as ``(name, parsed JSON)`` pairs.

    Everything is validated and compiled at construction; a bad document raises
    ``PolicyDocumentError`` (or ``UnsupportedPolicyError``) naming it.
    """

    __slots__ = ("_denies", "_statements", "documents")

    def __init__(self, documents: Sequence[tuple[str, dict]]) -> None:
        self.documents: tuple[PolicyDocument, ...] = tuple(
            PolicyDocument.parse(name, data) for name, data in documents
        )
        statements = [s for document in self.documents for s in _compile(document)]
        self._statements: tuple[_CompiledStatement, ...] = tuple(statements)
        # decide() needs only the Deny statements: an Allow can never change its answer.
        self._denies = tuple(s for s in statements if s.ref.effect == "Deny")

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]]) -> RamEvaluator:
        return cls([(str(path), _read_json(Path(path))) for path in paths])

    def evaluate(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | Sequence[str] | None = None,
    ) -> Evaluation:
        folded_action = action.lower()
        folded_context: dict[str, object] | None = None  # folded on first need
        matched: list[StatementRef] = []
        unknown: list[StatementRef] = []
        for statement in self._statements:
            if not statement.action_matches(folded_action):
                continue
            if statement.condition is not None:
                if folded_context is None:
                    folded_context = fold_context(context)
                if not statement.condition.matches(folded_context):
                    continue
            hit = statement.resource_matches(resource)
            if hit is None:
                unknown.append(statement.ref)
            elif hit:
                matched.append(statement.ref)
        effects = {ref.effect for ref in matched}
        effect: Outcome = (
            "Deny" if "Deny" in effects else "Allow" if "Allow" in effects else "ImplicitDeny"
        )
        return Evaluation(effect, tuple(matched), tuple(unknown))

    def decide(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | Sequence[str] | None = None,
    ) -> str:
        """``"deny"`` if an explicit Deny matches, else ``"allow"`` (not denied by these rules).

        With ``resource=None`` statements scoped to resources do not match; ``evaluate`` says
        which of them could not be decided.
        """
        folded_action = action.lower()
        folded_context: dict[str, object] | None = None
        for statement in self._denies:
            if not statement.action_matches(folded_action):
                continue
            if not statement.any_resource and not statement.resource_matches(resource):
                continue
            condition = statement.condition
            if condition is None:
                return "deny"
            if folded_context is None:
                folded_context = fold_context(context)
            if condition.matches(folded_context):
                return "deny"
        return "allow"


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads keeps the last of two equal keys; RAM would not silently drop one, so neither
    # do we (a duplicated "Effect" could flip a statement).
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    pass


class InexactNumber(ValueError):
    """A bare JSON number the reader cannot hold exactly: a fraction or exponent a float
    rounds (`1.5000000000000000000000000000001`), or an integer of more digits than Python
    converts (4,300)."""

    def __init__(self, literal: str) -> None:
        shown = literal if len(literal) <= 60 else f"{literal[:40]}… ({len(literal)} characters)"
        why = (
            "a JSON number is read as a float, which holds about 17 digits"
            if any(ch in literal for ch in ".eE")
            else "a JSON integer is read with at most 4,300 digits"
        )
        super().__init__(
            f"the number {shown} cannot be read exactly ({why}): write it as a string, "
            + (f'"{literal}"' if len(literal) <= 60 else "in double quotes")
        )
        self.literal = literal

    def where(self, text: str) -> tuple[int | None, int | None]:
        """Line and column of the number the decoder refused: the first number token (outside
        strings) that is this literal. The decoder reads in document order and stops at the
        first number it refuses, so an earlier token with the same text was read without
        error and cannot be it; the same digits inside a string (a Sid, an ARN) are no token
        at all. ``text.find`` found those and reported their position."""
        at = _number_token(text, self.literal)
        if at < 0:
            return None, None
        return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


# Fixed patterns over JSON's own grammar, never built from user text, each tried once at a
# known offset (match, not search), so locating a number is one linear pass over the text.
_NEXT_TOKEN = re.compile(r'["0-9-]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _number_token(text: str, literal: str) -> int:
    """The offset of the first JSON number token in ``text`` spelled ``literal``, or -1."""
    at = 0
    while (found := _NEXT_TOKEN.search(text, at)) is not None:
        start = found.start()
        if text[start] == '"':
            rest = _STRING_REST.match(text, start + 1)
            if rest is None:
                return -1  # an unterminated string: past where the decoder stopped
            at = rest.end()
            continue
        number = _JSON_NUMBER.match(text, start)
        if number is None:
            at = start + 1
            continue
        if number.group() == literal:
            return start
        at = number.end()
    return -1


def exact_float(literal: str) -> float:
    """``json.loads``'s ``parse_float``: the float, refused (``InexactNumber``) when it is not
    the number written — rounding it silently would make the evaluator and ``import`` read
    `> 1.5000000000000000000000000000001` as `> 1.5`, where a string keeps every digit."""
    value = float(literal)
    if not math.isfinite(value) or Decimal(repr(value)) != Decimal(literal):
        raise InexactNumber(literal)
    return value


def exact_int(literal: str) -> int:
    """``json.loads``'s ``parse_int``: refused (``InexactNumber``) past the 4,300 digits
    int() converts, where json.loads raised a bare ValueError with no position."""
    try:
        return int(literal)
    except ValueError:
        raise InexactNumber(literal) from None


def _read_json(path: Path) -> object:
    name = str(path)
    try:
        # utf-8-sig: editors on Windows save JSON with a BOM, which json.loads rejects.
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise PolicyDocumentError(name, None, None, f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyDocumentError(name, None, None, "not UTF-8 text") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_float=exact_float,
            parse_int=exact_int,
        )
    except InexactNumber as error:
        line, column = error.where(text)
        raise PolicyDocumentError(name, None, None, str(error), line=line, column=column) from None
    except json.JSONDecodeError as error:
        raise PolicyDocumentError(
            name, None, None, f"invalid JSON: {error.msg}", line=error.lineno, column=error.colno
        ) from None
    except _DuplicateKey as error:
        raise PolicyDocumentError(name, None, None, f"duplicate key `{error.args[0]}`") from None
