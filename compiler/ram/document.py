"""Parse and validate RAM policy documents (ours or anyone's) into frozen values.

Validation is strict on purpose: the evaluator is a second opinion, so anything it cannot
evaluate exactly is an error rather than a guess. ``Resource`` is ``"*"`` or ARN patterns
``acs:<service>:<region>:<account>:<relative-id>`` (``ram/policy-elements``; ``*`` and ``?``
anywhere), kept as written and matched case-sensitively by the evaluator. Every error names
the document, the 1-based statement index and the element.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from compiler.ram.conditions import Condition, ConditionError

Effect = Literal["Allow", "Deny"]

_TOP_ELEMENTS = ("Version", "Statement")
_STATEMENT_ELEMENTS = ("Effect", "Action", "NotAction", "Resource", "Condition")
# Elements RAM knows but this evaluator does not take, with the reason shown to the user.
_KNOWN_ELSEWHERE = {
    "Principal": "only valid in resource-based policies, which are not evaluated",
    "NotResource": "not in RAM's current documentation, not evaluated",
}


class PolicyDocumentError(ValueError):
    """A document that is not a valid RAM policy.

    ``statement`` is 1-based (None for document-level errors); ``line`` and ``column`` are set
    only for JSON syntax errors.
    """

    def __init__(
        self,
        document: str,
        statement: int | None,
        element: str | None,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.document = document
        self.statement = statement
        self.element = element
        self.message = message
        self.line = line
        self.column = column
        super().__init__(self._render())

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries when replays run in workers; the default reduce
        # would call __init__ with the rendered message alone.
        rebuild = partial(type(self), line=self.line, column=self.column)
        return (rebuild, (self.document, self.statement, self.element, self.message))

    @property
    def location(self) -> str:
        """``document`` or ``document:LINE:COL``: where a diagnostic line starts."""
        if self.line is not None:
            return f"{self.document}:{self.line}:{self.column}"
        return self.document

    @property
    def detail(self) -> str:
        """The message after the location: ``statement N: Element: message``."""
        where = f"statement {self.statement}: " if self.statement is not None else ""
        return where + self._what()

    def _what(self) -> str:
        return f"{self.element}: {self.message}" if self.element else self.message

    def _render(self) -> str:
        return f"{self.location}: {self.detail}"


class UnsupportedPolicyError(PolicyDocumentError):
    """Valid RAM, but outside what this evaluator decides (a ``Resource`` other than ``*``)."""

    def _what(self) -> str:
        # The message already reads "Resource `…` is not supported: …".
        return self.message


def _show(value: object) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class Statement:
    index: int  # 1-based, as errors and StatementRef report it
    effect: Effect
    actions: tuple[str, ...]  # the Action or NotAction patterns, as written
    not_action: bool
    condition: Condition | None
    resources: tuple[str, ...] = ("*",)  # "*" or ARN patterns, as written


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    name: str
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, name: str, data: object) -> PolicyDocument:
        """Validate parsed JSON; raises PolicyDocumentError or UnsupportedPolicyError."""

        def fail(element: str | None, message: str) -> PolicyDocumentError:
            return PolicyDocumentError(name, None, element, message)

        if not isinstance(data, dict):
            raise fail(None, f"expected a JSON object, got {_show(data)}")
        for element in data:
            if element not in _TOP_ELEMENTS:
                raise fail(element, _unknown_element(element))
        if "Version" not in data:
            raise fail("Version", 'missing (the only valid value is "1")')
        if data["Version"] != "1" or not isinstance(data["Version"], str):
            raise fail("Version", f'expected "1", got {_show(data["Version"])}')
        if "Statement" not in data:
            raise fail("Statement", "missing")
        raw = data["Statement"]
        if isinstance(raw, dict):  # a single statement object stands for a one-element list
            raw = [raw]
        if not isinstance(raw, list):
            raise fail(
                "Statement", f"expected a list of statements or one statement, got {_show(raw)}"
            )
        return cls(name, tuple(_statement(name, i, s) for i, s in enumerate(raw, start=1)))


def _unknown_element(element: str) -> str:
    reason = _KNOWN_ELSEWHERE.get(element)
    if reason:
        return f"unsupported element `{element}`: {reason}"
    for known in (*_TOP_ELEMENTS, *_STATEMENT_ELEMENTS):
        if known.lower() == element.lower():
            return (
                f"unknown element `{element}`: element names are case-sensitive,"
                f" did you mean `{known}`?"
            )
    return f"unknown element `{element}`"


def _statement(name: str, index: int, raw: object) -> Statement:
    def fail(element: str | None, message: str) -> PolicyDocumentError:
        return PolicyDocumentError(name, index, element, message)

    if not isinstance(raw, dict):
        raise fail(None, f"expected a statement object, got {_show(raw)}")
    for element in raw:
        if element not in _STATEMENT_ELEMENTS:
            raise fail(element, _unknown_element(element))

    if "Effect" not in raw:
        raise fail("Effect", "missing")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny") or not isinstance(effect, str):
        raise fail("Effect", f'expected "Allow" or "Deny", got {_show(effect)}')

    if "Action" in raw and "NotAction" in raw:
        raise fail("Action", "a statement takes Action or NotAction, not both")
    if "Action" not in raw and "NotAction" not in raw:
        raise fail("Action", "missing (a statement needs Action or NotAction)")
    element = "Action" if "Action" in raw else "NotAction"
    actions = _actions(fail, element, raw[element])

    if "Resource" not in raw:
        raise fail("Resource", 'missing (required; "*" matches every resource)')
    resources = _resource(name, index, raw["Resource"])

    condition = None
    if "Condition" in raw:
        try:
            condition = Condition.parse(raw["Condition"])
        except ConditionError as error:
            raise fail(error.element, error.message) from None
    return Statement(index, effect, actions, element == "NotAction", condition, resources)  # type: ignore[arg-type]


def _strings(value: object) -> list[object]:
    """A string and a one-element list are equivalent in RAM; return the items to check."""
    return [value] if isinstance(value, str) else value if isinstance(value, list) else [value]


def _actions(
    fail: Callable[[str | None, str], PolicyDocumentError], element: str, value: object
) -> tuple[str, ...]:
    items = _strings(value)
    if not items:
        raise fail(element, "expected at least one action")
    for item in items:
        if not isinstance(item, str):
            raise fail(element, f"expected a string or a list of strings, got {_show(item)}")
        # "<ram-code>:<action-name>" or a bare "*"; anything else cannot name an action and is
        # more likely a typo (a missing "ecs:") than an intent.
        if item != "*" and (":" not in item or item.startswith(":") or item.endswith(":")):
            raise fail(element, f"`{item}` is not `<ram-code>:<action-name>` or `*`")
    return tuple(items)  # type: ignore[arg-type]


def _resource(name: str, index: int, value: object) -> tuple[str, ...]:
    def fail(message: str) -> PolicyDocumentError:
        return PolicyDocumentError(name, index, "Resource", message)

    items = _strings(value)
    if not items:
        raise fail("expected at least one resource")
    for item in items:
        if not isinstance(item, str):
            raise fail(f"expected a string or a list of strings, got {_show(item)}")
        # An ARN is acs:<service>:<region>:<account>:<relative-id>: five fields, the last may
        # hold further colons. Anything else matches no real resource and is a typo.
        if item != "*" and (not item.startswith("acs:") or item.count(":") < 4):
            raise fail(
                f"`{item}` is not `*` or an ARN `acs:<service>:<region>:<account>:<resource>`"
            )
    return tuple(items)  # type: ignore[arg-type]
