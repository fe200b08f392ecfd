"""ActionTrail traces: reading events into requests (streaming), and generating traces.

``read_events`` yields a ``TraceEvent`` (action, RAM context keys, recorded outcome) or a
``Malformed`` note per event; ``split_points`` / ``read_jsonl_range`` cut big JSON-lines files
into byte ranges for the replay's splits; ``generate_events`` / ``write_trace`` make
deterministic, realistic traces.
"""

from compiler.traces.events import (
    LEAKED_KEY_MESSAGE,
    Malformed,
    Recorded,
    TraceEvent,
    classify_outcome,
)
from compiler.traces.generate import generate_events, write_trace
from compiler.traces.reader import (
    TraceError,
    is_plain_jsonl,
    read_events,
    read_jsonl_range,
    split_points,
)

__all__ = [
    "LEAKED_KEY_MESSAGE",
    "Malformed",
    "Recorded",
    "TraceError",
    "TraceEvent",
    "classify_outcome",
    "generate_events",
    "is_plain_jsonl",
    "read_events",
    "read_jsonl_range",
    "split_points",
    "write_trace",
]
