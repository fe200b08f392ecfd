"""A batch of events as columns: what the replay counts, read without a TraceEvent per event.

The replay counts every event in several tables (caller, AccessKey, address, region, action,
recorded outcome, hour) and decides it once per distinct decision-relevant projection
(``replay.memo``). Building a ``TraceEvent`` (a context dict, a struct) per event cost several
times the typed decode itself, and nearly every event of a real trace differs from the others
in something (its address, its time), so aggregating whole events does not help. What the
replay reads is a handful of fields per event, each of which repeats: so a ``Batch`` holds
one list per field, filled by C-level ``map``/``zip`` over the decoded events and lookups of
what they share (the service of a host, the caller of a ``userIdentity``) in the
``Mapper``'s bounded tables. Python runs per distinct value, per error and per example, not
per event.

``batch[i]`` is event ``i``'s own ``TraceEvent``, built by the ``Mapper`` on demand: for a
decision not seen before, a timed sample, and first examples. So every answer and every
example is exactly what the per-event path (``read_events``) gives; ``Batch.of_events``
wraps TraceEvents already built (the path with resources), with the same columns.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import compress, repeat
from operator import add, attrgetter, is_not, itemgetter

from msgspec.structs import astuple

from compiler.replay.events import TraceEvent
from compiler.replay.normalise import (
    ACCESS_ID_KEY,
    CURRENT_TIME_KEY,
    MFA_KEY,
    PRINCIPAL_KEY,
    SECURE_KEY,
    SOURCE_IP_KEY,
    VPC_KEY,
    ColumnEvent,
    Mapper,
    is_ip,
    mfa_of,
    secure_of,
    trace_event,
)

_IP = attrgetter("sourceIpAddress")
_VPC_OF = attrgetter("vpcId")
_EXTRA = attrgetter("additionalEventData")
# Where ``msgspec.structs.astuple`` puts an event's fields: ``ColumnEvent``'s are the first
# of ``Event``'s and ``FastEvent``'s, in the same order.
_NAME_AT, _HOST_AT, _TRAIL_AT, _IDENT_AT, _IP_AT, _TIME_AT, _ERROR_AT = map(
    ColumnEvent.__struct_fields__.index,
    (
        "eventName",
        "eventSource",
        "serviceName",
        "userIdentity",
        "sourceIpAddress",
        "eventTime",
        "errorCode",
    ),
)
_0, _1 = itemgetter(0), itemgetter(1)

# The columns every batch has, as TraceEvent names them.
FIELDS = (
    "action",
    "service",
    "event_name",
    "who",
    "access_key",
    "source_ip",
    "region",
    "recorded",
    "why",
    "error_code",
    "time",
)
_GETTERS = {name: attrgetter(name) for name in FIELDS if name != "time"}


def value_of(v: object) -> object:
    """A context value as the memo keys on it: a value other than a string enters with its
    type and repr, since True == 1 and 0.0 == -0.0 would otherwise share an answer the
    operators tell apart (as the trie's leaf memo)."""
    return v if v.__class__ is str else (v.__class__, repr(v))


class Batch:
    """Events ``0 … n-1`` of a split's batch, one list per field (``FIELDS``), and each
    event's TraceEvent on demand (``batch[i]``)."""

    __slots__ = (
        "_built",
        "_idents",
        "_decoded",
        "_segments",
        "events",
        *FIELDS,
    )

    def __init__(self) -> None:
        for name in FIELDS:
            setattr(self, name, [])
        self._built: dict[int, TraceEvent] = {}
        self._segments: list[tuple[int, Mapper, int, list, list, list]] = []
        self._decoded: list = []
        self._idents: list = []
        """Each event's decoded ``userIdentity`` (None: none), for the caller's context keys."""
        self.events: list[TraceEvent] | None = None
        """The TraceEvents when built already (``of_events``), else None."""

    def __len__(self) -> int:
        return len(self.action)

    def __getitem__(self, i: int) -> TraceEvent:
        if self.events is not None:
            return self.events[i]
        ev = self._built.get(i)
        if ev is None:
            ev = self._built[i] = self._event(i)
        return ev

    def _event(self, i: int) -> TraceEvent:
        """Event ``i``'s TraceEvent, built as the normaliser builds it (``trace_event``,
        which ``Mapper.assemble`` calls too) from its decoded event and the columns, which
        hold what ``assemble`` would work out again (action, caller, outcome, region):
        calling ``assemble`` itself cost 1.17x per event built, and with a rule that reads
        the time nearly every event is built (a memo miss each)."""
        start, mapper, source, lines, decoded, regions = self._segment(i)
        k = i - start
        ev = decoded[k]
        if mapper.resources:  # ``where`` too: the normaliser's own path
            return mapper.assemble(ev, regions[k], source, lines[k])
        return trace_event(
            ev,
            source,
            lines[k],
            self.action[i],
            self.service[i],
            self.access_key[i],
            self.who[i],
            self.recorded[i],
            None,
            self.region[i],
            self.error_code[i],
            self.why[i],
        )

    def _segment(self, i: int) -> tuple:
        """The segment (run) event ``i`` belongs to: the last one starting at or before it."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._segments[bisect_right(self._segments, i, key=_0) - 1]

    def origin(self, i: int) -> tuple[int, int, str]:
        """(source, line, event id) of event ``i``, as its TraceEvent has them, without
        building it: what an example needs besides the columns (``impact.example_at``)."""
        ev = self._built.get(i) if self.events is None else self.events[i]
        if ev is not None:
            return ev.source, ev.line, ev.event_id
        start, _mapper, source, lines, decoded, _regions = self._segment(i)
        return source, lines[i - start], decoded[i - start].eventId or ""

    @classmethod
    def of_events(cls, events: list[TraceEvent]) -> Batch:
        """The columns of TraceEvents already built (``batch[i]`` is ``events[i]``)."""
        batch = cls()
        batch.events = events
        for name, getter in _GETTERS.items():
            setattr(batch, name, list(map(getter, events)))
        batch.time = [ev.context.get(CURRENT_TIME_KEY) for ev in events]
        return batch

    def extend(self, mapper: Mapper, source: int, lines, decoded: list, regions: list):
        """Add consecutive events of one input, decoded (``reader.Run``), normalised as
        ``mapper`` normalises each of them. Each column is one C-level pass over the events
        (a lookup per event of what they share, built once per distinct value), no list in
        between where a pass can feed the next."""
        n = len(decoded)
        if not n:
            return
        self._segments.append((len(self), mapper, source, lines, decoded, regions))
        self._decoded.extend(decoded)
        # Each event as a tuple of its fields (one C call each), transposed into one tuple
        # per field by zip: a third of the cost of an attrgetter pass per field (measured).
        # Not strict: an ``Event``'s tuple is longer than a ``ColumnEvent``'s, and the
        # columns read only the fields both have, first.
        fields = list(zip(*map(astuple, decoded), strict=False))
        names = fields[_NAME_AT]
        services = mapper.services(fields[_HOST_AT], fields[_TRAIL_AT])
        self.action.extend(map(add, map(_0, services), names))
        self.service.extend(map(_1, services))
        self.event_name.extend(names)
        idents = fields[_IDENT_AT]
        keys, callers = mapper.callers(idents)
        self.access_key.extend(keys)
        self.who.extend(callers)
        self._idents.extend(idents)
        ips = fields[_IP_AT]
        self.source_ip.extend([ip or None for ip in ips] if "" in ips else ips)
        default = mapper.region
        self.region.extend(regions if default is None else [r or default for r in regions])
        times = fields[_TIME_AT]
        self.time.extend([t or None for t in times] if "" in times else times)
        codes = fields[_ERROR_AT]
        if codes.count(None) == n:  # no error recorded: nearly every chunk
            self.recorded.extend(repeat("allow", n))
            self.why.extend(repeat(None, n))
            self.error_code.extend(repeat(None, n))
            return
        recorded = ["allow"] * n
        why: list = [None] * n
        errors: list = [None] * n
        for k in compress(range(n), codes):
            _, _, denied, sure = services[k]
            errors[k], recorded[k], why[k] = mapper.outcome(decoded[k], denied, sure)
        self.recorded.extend(recorded)
        self.why.extend(why)
        self.error_code.extend(errors)

    def context_column(self, key: str) -> list:
        """Each event's value of context key ``key`` (RAM spelling, as the normaliser writes
        it) as the memo keys on it (``value_of``), None when the event has none."""
        decoded = self._decoded
        if key == CURRENT_TIME_KEY:
            return self.time
        if key == SOURCE_IP_KEY:
            return [ip if ip and is_ip(ip) else None for ip in map(_IP, decoded)]
        if key == VPC_KEY:
            return [v or None for v in map(_VPC_OF, decoded)]
        if key == SECURE_KEY:
            out = [None] * len(decoded)
            extras = list(map(_EXTRA, decoded))
            for i in compress(range(len(extras)), map(is_not, extras, repeat(None))):
                secure = secure_of(extras[i])
                if secure is not None:
                    out[i] = value_of(secure)
            return out
        # The caller's keys, as ``trace_event`` writes them from the identity.
        if key == ACCESS_ID_KEY:
            return self.access_key
        if key == PRINCIPAL_KEY:
            return [None if who is None else who.principal for who in self.who]
        if key == MFA_KEY:
            mfa = [None if i is None else mfa_of(i) for i in self._idents]
            return [None if v is None else value_of(v) for v in mfa]
        return [None] * len(decoded)  # the normaliser writes no other key

    def take(self, n: int) -> tuple[Batch, Batch]:
        """(the first ``n`` events, the rest) as two batches."""
        head, rest = Batch(), Batch()
        for name in FIELDS:
            column = getattr(self, name)
            setattr(head, name, column[:n])
            setattr(rest, name, column[n:])
        head._decoded, rest._decoded = self._decoded[:n], self._decoded[n:]
        head._idents, rest._idents = self._idents[:n], self._idents[n:]
        for start, mapper, source, lines, decoded, regions in self._segments:
            end = start + len(decoded)
            if start < n:
                cut = min(end, n) - start
                head._segments.append(
                    (start, mapper, source, lines[:cut], decoded[:cut], regions[:cut])
                )
            if end > n:
                skip = max(n - start, 0)
                rest._segments.append(
                    (
                        max(start - n, 0),
                        mapper,
                        source,
                        lines[skip:],
                        decoded[skip:],
                        regions[skip:],
                    )
                )
        return head, rest


class Batches:
    """Consecutive runs of events (``reader.Run``) cut into batches of ``size`` events. A
    run is cut where a batch fills (slices of the run's lists, a few hundred events), never
    a filled batch: cutting a batch (``take``) copied every column of it, and each copy and
    its release touched every value once more."""

    __slots__ = ("pending", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.pending = Batch()
        """The events of a batch not yet full."""

    def add(self, mapper: Mapper, source: int, lines, decoded: list, regions: list):
        """Add a run (as ``Batch.extend``); yields each batch it fills, in order."""
        while decoded:
            pending = self.pending
            room = self.size - len(pending)
            if len(decoded) < room:
                pending.extend(mapper, source, lines, decoded, regions)
                return
            pending.extend(mapper, source, lines[:room], decoded[:room], regions[:room])
            lines, decoded, regions = lines[room:], decoded[room:], regions[room:]
            self.pending = Batch()
            yield pending
