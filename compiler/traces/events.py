"""What a trace reader yields: one normalised request per ActionTrail event, or a note that a
line could not be read.

Both carry their position (input file index, line) so that reports can point at the event
and so that the first N examples of a merged report are chosen by input position, whatever
order the splits were replayed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Recorded = Literal["allow", "deny", "error"]

# The leaked-AccessKey block: errorCode `Forbidden` with this phrase in the message
# (facts: "The leaked-AccessKey block"). Compared case-insensitively: the phrase is what
# identifies the block, the casing of a log line is not.
LEAKED_KEY_CODE = "Forbidden"
LEAKED_KEY_PHRASE = "risk of leakage of this accesskey"
LEAKED_KEY_MESSAGE = "Forbidden : There is a risk of leakage of this AccessKey."


@dataclass(frozen=True, slots=True)
class TraceEvent:
    source: int
    """Index of the input file in the sorted list of sources."""
    line: int
    """1-based line in a JSON-lines file; 1-based index in a JSON array / ``Events`` list."""
    event_id: str
    """``eventId``; empty when the event has none."""
    action: str | None
    """``<ram-code>:<eventName>`` with the service's first owned RAM code; None: unmapped."""
    service: str | None
    """Catalog service name (``ECS``); None when neither host nor serviceName is known."""
    event_name: str
    context: dict[str, object]
    """RAM condition keys (``acs:SourceIp``…) → value; a key is absent when the event does
    not say, never present with a made-up default."""
    access_key: str | None
    recorded: Recorded
    """What ActionTrail recorded: the leaked-key block (``deny``), another error, or not."""


@dataclass(frozen=True, slots=True)
class Malformed:
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
