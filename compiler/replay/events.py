"""What a trace reader yields: one normalised request per ActionTrail event, or a note that a
line could not be read.

Both carry their position (input file index, line) so that reports can point at the event
and so that the first N examples of a merged report are chosen by input position, whatever
order the splits were replayed in.

They are frozen ``msgspec.Struct`` classes rather than frozen dataclasses: the same immutable,
slotted value with ``==`` and ``repr``, but built ten times faster (0.15 µs against 1.7 µs
here, measured), and one is built per event — the replay must keep up with bare decoding.
``gc=False``: they hold only strings, numbers and a dict of those, never a cycle.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Recorded = Literal["allow", "deny", "error"]

# The leaked-AccessKey block: errorCode `Forbidden` with this phrase in the message
# (facts: "The leaked-AccessKey block"). Compared case-insensitively: the phrase is what
# identifies the block, the casing of a log line is not.
LEAKED_KEY_CODE = "Forbidden"
LEAKED_KEY_PHRASE = "risk of leakage of this accesskey"
LEAKED_KEY_MESSAGE = "Forbidden : There is a risk of leakage of this AccessKey."
LEAKED_KEY_REASON = "leaked AccessKey"
DETAIL_REASON = "AccessDeniedDetail"
INFERRED_CODE_MARK = " (inferred code)"
"""Ends a reason that is an error code the catalog only guesses means permission denied
(``Catalog.guessed_denied_error_codes``): nothing else said the call was denied."""
# RAM's own denials carry a diagnostic (``AccessDeniedDetail`` with its
# ``EncodedDiagnosticMessage``, decodable by ram:DecodeDiagnosticMessage); an exporter that
# flattens the response keeps one of these names in the message.
_DETAIL_MARKERS = ("accessdenieddetail", "encodeddiagnosticmessage")


class Who(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    """Who made a call, from ``userIdentity``: one value per identity, shared by its events
    (built once per (type, account, userName) by the normaliser). Its hash is cached: the
    replay counts calls per caller, one dict update per event."""

    kind: str | None
    """``userIdentity.type``: ``ram-user``, ``assumed-role``, ``root-account``…"""
    account: str | None
    name: str | None
    """The user's or the role's name (an assumed role's ``:session`` dropped)."""
    principal: str | None
    """``acs:PrincipalARN`` as ``normalise.principal_arn`` builds it; None when it cannot be."""

    @property
    def key(self) -> str:
        """The principal's identity in reports: its ARN, else what the event says."""
        if self.principal is not None:
            return self.principal
        return f"{self.kind or '?'}:{self.account or '?'}:{self.name or '?'}"

    @property
    def label(self) -> str:
        """``role ci-deployer``, ``user alice``, ``root 1234…``: how a plan names it."""
        if self.kind == "assumed-role" and self.name:
            return f"role {self.name}"
        if self.kind == "ram-user" and self.name:
            return f"user {self.name}"
        if self.kind == "root-account":
            return f"root {self.account or '?'}"
        return f"{self.kind or 'unknown'} {self.name or self.account or '?'}"


class TraceEvent(msgspec.Struct, frozen=True, gc=False):
    source: int
    """Index of the input file in the sorted list of sources."""
    line: int
    """1-based line in a JSON-lines file; 1-based index in a JSON array / ``Events`` list."""
    event_id: str
    """``eventId``; empty when the event has none."""
    action: str
    """``<ram-code>:<eventName>`` with the service's first owned RAM code; for an unmapped
    service, a guessed code (``serviceName`` lowercased, else the host's first label)."""
    service: str | None
    """Catalog service name (``ECS``); None when neither host nor serviceName is known: the
    event is *unmapped*."""
    event_name: str
    context: dict[str, object]
    """RAM condition keys (``acs:SourceIp``…) → value; a key is absent when the event does
    not say, never present with a made-up default."""
    access_key: str | None
    recorded: Recorded
    """What ActionTrail recorded: the leaked-key block (``deny``), another error, or not."""
    where: Where | None = None
    """Where the resource's ARN can be built from; None when the event names no resource."""
    who: Who | None = None
    """The caller; None when the event has no ``userIdentity``."""
    region: str | None = None
    """``acsRegion``, else the delivery path's region."""
    error_code: str | None = None
    why: str | None = None
    """Why the outcome is a recorded deny: the error code that says so, ``leaked AccessKey``
    or ``AccessDeniedDetail``; None for any other outcome."""
    source_ip: str | None = None
    """``sourceIpAddress`` as recorded (``Internal`` too; ``acs:SourceIp`` holds addresses only)."""


class Where(msgspec.Struct, frozen=True, gc=False):
    """What an event says about the resource it acted on, kept undecoded (``msgspec.Raw``)
    until a rule needs a resource: ``compiler.replay.resources.build_resources`` reads it.
    A field of the wrong type then means "resource unknown", never a malformed event."""

    account: str | None
    """``userIdentity.accountId``, else the delivery path's account."""
    region: str | None
    """The delivery path's region (``acs_region`` wins when the event has one)."""
    acs_region: str | None
    """``acsRegion`` when it is a non-empty string (decoded: the reader reads it anyway)."""
    recipient: msgspec.Raw
    """``recipientAccountId``: the account when the identity has none."""
    referenced: msgspec.Raw
    parameters: msgspec.Raw
    resource_type: msgspec.Raw
    resource_name: msgspec.Raw


class Malformed(msgspec.Struct, frozen=True, gc=False):
    """An event that is no event: where it starts (1-based line and column, in bytes) and
    why. A JSON line starts at column 1; an array's elements anywhere (one line often holds
    a whole array: ActionTrail's download)."""

    source: int
    line: int
    reason: str
    col: int = 1


def classify_outcome(
    error_code: str | None,
    error_message: str | None,
    denied_codes: frozenset[str] | set[str] = frozenset(),
    detail: bool = False,
) -> Recorded:
    """``deny`` when the call was refused for want of permission, ``error`` for any other
    error, else ``allow``; ``deny_reason`` says which of the signs below it was.

    A recorded deny is: the leaked-AccessKey block; an error code in ``denied_codes`` (the
    catalog's permission-denied codes, every service's and the event's own); or an error
    carrying RAM's diagnostic (``detail``: the event has an ``AccessDeniedDetail``; or the
    message names it or its ``EncodedDiagnosticMessage``). An empty ``errorCode`` counts as
    absent: some exporters write ``""`` for no error.
    """
    if not error_code:
        return "allow"
    return "deny" if deny_reason(error_code, error_message, denied_codes, detail) else "error"


def deny_reason(
    error_code: str,
    error_message: str | None,
    denied_codes: frozenset[str] | set[str] = frozenset(),
    detail: bool = False,
) -> str | None:
    """Why an error is a recorded deny (see ``classify_outcome``), or None when it is not."""
    if (
        error_code == LEAKED_KEY_CODE
        and error_message
        and LEAKED_KEY_PHRASE in error_message.lower()
    ):
        return LEAKED_KEY_REASON
    if error_code in denied_codes:
        return error_code
    if detail:
        return DETAIL_REASON
    if error_message:
        low = error_message.lower()
        if any(marker in low for marker in _DETAIL_MARKERS):
            return DETAIL_REASON
    return None
