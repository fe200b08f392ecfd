"""Stage 8, replay: ActionTrail traces replayed through both engines.

``read_events`` yields a ``TraceEvent`` (action, RAM context keys, recorded outcome) or a
``Malformed`` note per event; ``split_points`` / ``read_jsonl_range`` cut big JSON-lines files
into byte ranges for the replay's splits; ``generate_events`` / ``write_trace`` make
deterministic, realistic traces; ``simulate`` plans, replays and merges reports; ``bench``
measures the engines. May import every earlier stage and ``ram``; never ``testing`` or
``cli``.
"""

from compiler.replay.events import (
    LEAKED_KEY_MESSAGE,
    Malformed,
    Recorded,
    TraceEvent,
    classify_outcome,
)
from compiler.replay.generate import generate_events, write_events, write_trace
from compiler.replay.reader import (
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
    "write_events",
    "write_trace",
]
