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


class Where(msgspec.Struct, frozen=True, gc=False):
    """What an event says about the resource it acted on, kept undecoded (``msgspec.Raw``)
    until a rule needs a resource: ``compiler.replay.resources.build_resources`` reads it.
    A field of the wrong type then means "resource unknown", never a malformed event."""

    account: str | None
    """``userIdentity.accountId``, else the delivery path's account."""
    region: str | None
    """The delivery path's region (``acs_region`` wins when the event has one)."""
    acs_region: msgspec.Raw
    recipient: msgspec.Raw
    """``recipientAccountId``: the account when the identity has none."""
    referenced: msgspec.Raw
    parameters: msgspec.Raw
    resource_type: msgspec.Raw
    resource_name: msgspec.Raw


class Malformed(msgspec.Struct, frozen=True, gc=False):
    source: int
    line: int
    reason: str


def classify_outcome(error_code: str | None, error_message: str | None) -> Recorded:
    """``deny`` for the leaked-AccessKey block, ``error`` for any other error, else ``allow``.

    An empty ``errorCode`` counts as absent: some exporters write ``""`` for no error.
    """
    if not error_code:
        return "allow"
    if (
        error_code == LEAKED_KEY_CODE
        and error_message
        and LEAKED_KEY_PHRASE in error_message.lower()
    ):
        return "deny"
    return "error"
