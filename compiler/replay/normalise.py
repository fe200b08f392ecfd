"""A decoded ActionTrail event → a ``TraceEvent`` request: action, RAM context keys, outcome.

``Event`` is the typed msgspec view of the fields the normaliser reads (everything else in
an event is skipped by the decoder, never materialised); ``Mapper`` maps the event's service
(by ``eventSource`` host, then ``serviceName``) to its RAM code through the catalog and fills
the context keys rules can test.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import Annotated

import msgspec
from msgspec.structs import astuple

from compiler.model.glob import MAX_NAME
from compiler.model.keys import LANGUAGE_KEYS, parse_bool
from compiler.replay.events import INFERRED_CODE_MARK, TraceEvent, Where, Who, deny_reason

# Per-reader caches are bounded so that adversarial input (a new host on every line) cannot
# make memory grow with the file.
_CACHE_MAX = 4096

# The RAM keys an event's context is filled under (``columns`` fills the same ones).
SOURCE_IP_KEY = LANGUAGE_KEYS["source_ip"][0]
CURRENT_TIME_KEY = LANGUAGE_KEYS["time"][0]
ACCESS_ID_KEY = LANGUAGE_KEYS["access_key"][0]
MFA_KEY = LANGUAGE_KEYS["mfa"][0]
VPC_KEY = LANGUAGE_KEYS["vpc"][0]
SECURE_KEY = LANGUAGE_KEYS["secure_transport"][0]
PRINCIPAL_KEY = LANGUAGE_KEYS["principal"][0]


class _Attributes(msgspec.Struct, frozen=True, gc=False):
    mfaAuthenticated: str | bool | None = None


class _SessionContext(msgspec.Struct, frozen=True, gc=False):
    attributes: _Attributes | None = None


class _UserIdentity(msgspec.Struct, frozen=True, gc=False):
    accessKeyId: str | None = None
    sessionContext: _SessionContext | None = None
    type: str | None = None
    accountId: str | None = None
    userName: str | None = None


@lru_cache(maxsize=4096)
def principal_arn(kind: str | None, account: str | None, name: str | None) -> str | None:
    """acs:PrincipalARN from ActionTrail's userIdentity, or None when it cannot be built.

    ActionTrail's sample events (alibabacloud.com/help/doc-detail/286997.htm) give
    ``type: assumed-role`` with ``userName: <role>:<session>`` and the role's ``accountId``;
    the assumed role's ARN there is ``acs:ram::<account>:role/<role>``. ``ram-user`` →
    ``acs:ram::<account>:user/<name>``; ``root-account`` → ``acs:ram::<account>:root``.
    Cached: a trace repeats a few identities, and this is the replay's hot path.
    """
    if not account or not kind:
        return None
    if kind == "root-account":
        return f"acs:ram::{account}:root"
    if not name:
        return None
    if kind == "assumed-role":
        return f"acs:ram::{account}:role/{name.partition(':')[0]}"
    if kind == "ram-user":
        return f"acs:ram::{account}:user/{name}"
    return None


@lru_cache(maxsize=4096)
def _who(kind: str | None, account: str | None, name: str | None) -> Who:
    """One shared ``Who`` per identity (a trace repeats a few): attribution keys on it."""
    role = name.partition(":")[0] if kind == "assumed-role" and name else name
    return Who(kind, account, role, principal_arn(kind, account, name))


@lru_cache(maxsize=_CACHE_MAX)
def region_of(raw: bytes) -> str | None:
    """``acsRegion`` as text; anything but a JSON string is no region (never malformed)."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, str) and value else None


class _Additional(msgspec.Struct, frozen=True, gc=False):
    Scheme: str | None = None


class _Fields(msgspec.Struct, gc=False):
    """The fields of an event every replay reads: ``Event``'s first ones, in this order
    (``columns`` reads them by position, whichever of the event types it is given)."""

    eventName: str
    eventId: str | None = None
    eventSource: str | None = None
    serviceName: str | None = None
    eventTime: str | None = None
    sourceIpAddress: str | None = None
    vpcId: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    userIdentity: _UserIdentity | None = None
    additionalEventData: _Additional | None = None
    # A string (or null) on every event ActionTrail writes: decoded as such by the fast
    # decoders (``FastEvent``, ``ColumnEvent``); anything else is no region, never a
    # malformed event.
    acsRegion: msgspec.Raw = msgspec.Raw()
    # RAM's diagnostic on a denial (issue 13 item 3): only whether it is there matters.
    AccessDeniedDetail: msgspec.Raw = msgspec.Raw()
    accessDeniedDetail: msgspec.Raw = msgspec.Raw()


class Event(_Fields):
    # The resource's whereabouts (issue 10): skipped over as raw JSON, read only when a rule
    # needs a resource (compiler.replay.resources).
    recipientAccountId: msgspec.Raw = msgspec.Raw()
    referencedResources: msgspec.Raw = msgspec.Raw()
    requestParameters: msgspec.Raw = msgspec.Raw()
    resourceType: msgspec.Raw = msgspec.Raw()
    resourceName: msgspec.Raw = msgspec.Raw()


class FastEvent(Event):
    """``Event`` with ``acsRegion`` a string: what the reader tries first. An event it
    rejects is decoded again as an ``Event``, so every answer (and every malformed event's
    reason) is ``Event``'s; this one only saves decoding the region apart."""

    acsRegion: str | None = None  # type: ignore[assignment]
    # Longer is malformed (``reader``, F9): refused here in C, so the reader's check of a
    # chunk it decoded whole need not measure every name.
    eventName: Annotated[str, msgspec.Meta(max_length=MAX_NAME)]  # type: ignore[assignment]


class ColumnEvent(_Fields):
    """``FastEvent`` without the resource's fields: what the reader tries first when no rule
    needs a resource (``read_runs(resources=False)``). The fields it leaves out are raw
    JSON, which takes any value, so it refuses exactly what ``FastEvent`` refuses; not
    declaring them saves a ``Raw`` per event (``requestParameters`` is on nearly every
    one), and each ``Raw`` held the event's whole line alive as long as the event."""

    acsRegion: str | None = None  # type: ignore[assignment]
    eventName: Annotated[str, msgspec.Meta(max_length=MAX_NAME)]  # type: ignore[assignment]


class EventsDocument(msgspec.Struct):
    Events: list[msgspec.Raw]


# A dotted quad as ipaddress reads one: each part 0-255 in ASCII digits, no leading zero.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


@lru_cache(maxsize=_CACHE_MAX)
def is_ip(text: str) -> bool:
    # `Internal` and service host names are not addresses: acs:SourceIp stays absent for them.
    # Cached: a trace repeats its clients' addresses. A miss costs one fixed-shape regex for
    # a dotted quad (ipaddress costs ~15 µs a miss), ipaddress only for IPv6.
    if _QUAD.fullmatch(text) is not None:
        return True
    if text.count(".") == 3 or ":" not in text:
        return False
    return _is_ipv6(text)


_is_ip = is_ip


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# The spellings seen in practice, looked up without a call; others go through parse_bool.
_BOOLS: dict[object, bool] = {"true": True, "false": False, True: True, False: False}


def mfa_of(ident: _UserIdentity) -> bool | None:
    """``acs:MFAPresent`` from ``sessionContext.attributes.mfaAuthenticated``; None when the
    identity does not say (or says something that is not a boolean)."""
    session = ident.sessionContext
    if session is None or session.attributes is None:
        return None
    flag = session.attributes.mfaAuthenticated
    if flag is None:
        return None
    mfa = _BOOLS.get(flag)
    return parse_bool(flag) if mfa is None else mfa


# ``secure_of``'s answers for the spellings seen in practice, looked up without a call.
_SCHEMES: dict[str, bool] = {"https": True, "http": False, "HTTPS": True, "HTTP": False}


def secure_of(extra: _Additional | None) -> bool | None:
    """``acs:SecureTransport`` from ``additionalEventData.Scheme``: whether it says HTTPS
    (in any case, spaces around it ignored); None when the event names no scheme."""
    if extra is None:
        return None
    scheme = extra.Scheme
    if not scheme:
        return None
    secure = _SCHEMES.get(scheme)
    return scheme.strip().lower() == "https" if secure is None else secure


def trace_event(
    ev: Event,
    source: int,
    line: int,
    action: str,
    service: str | None,
    access_key: str | None,
    who: Who | None,
    recorded: str,
    where: Where | None,
    region: str | None,
    code: str | None,
    why: str | None,
) -> TraceEvent:
    """A decoded event's TraceEvent, given what the normaliser worked out from it: its
    action and service, the access key and caller (``Who``) of its ``userIdentity``, the
    recorded outcome, ``where`` and the region. Its context is made here from
    ``sourceIpAddress``, ``eventTime``, the identity, ``vpcId`` and
    ``additionalEventData`` (an empty string is as absent).

    The one place a TraceEvent is built and an event becomes the keys rules test: the
    per-event normaliser (``Mapper.assemble``) and a batch's events built from its columns
    (``columns.Batch``) both call it, so that a replay's examples and timed samples are
    decided on the context its counts were. Keys in the order contexts have always had
    (reports print them so): address, time, the caller's (AccessKey, principal, MFA), VPC,
    transport."""
    context: dict[str, object] = {}
    ip = ev.sourceIpAddress
    if ip and is_ip(ip):
        context[SOURCE_IP_KEY] = ip
    when = ev.eventTime
    if when:
        context[CURRENT_TIME_KEY] = when
    ident = ev.userIdentity
    if ident is not None:
        if access_key:
            context[ACCESS_ID_KEY] = access_key
        if who is not None and who.principal is not None:
            context[PRINCIPAL_KEY] = who.principal
        mfa = mfa_of(ident)
        if mfa is not None:
            context[MFA_KEY] = mfa
    vpc = ev.vpcId
    if vpc:
        context[VPC_KEY] = vpc
    extra = ev.additionalEventData
    if extra is not None and extra.Scheme:
        # ``_SCHEMES`` holds secure_of's answers for the usual spellings: a call fewer per
        # event on the per-event path (measured 1.05x the inline code with the call).
        secure = _SCHEMES.get(extra.Scheme)
        context[SECURE_KEY] = secure_of(extra) if secure is None else secure
    # Positional: source, line, event_id, action, service, event_name, context,
    # access_key, recorded, where, who, region, error_code, why, source_ip (keywords
    # cost measurably at one event per call).
    return TraceEvent(
        source,
        line,
        ev.eventId or "",
        action,
        service,
        ev.eventName,
        context,
        access_key,
        recorded,
        where,
        who,
        region,
        code,
        why,
        ip or None,
    )


_0, _1 = itemgetter(0), itemgetter(1)


_PIECES_MAX = 1024
"""Entries per Mapper cache: past it, new values are built every time, not remembered (a
trace's hot operations and callers come first; memory stays bounded and flat)."""


def _remember(table: dict, key, value) -> None:
    if len(table) < _PIECES_MAX:
        table[key] = value


# Where ``msgspec.structs.astuple`` puts an identity's fields.
_ACCESS_KEY_AT, _TYPE_AT, _ACCOUNT_AT, _USER_AT = map(
    _UserIdentity.__struct_fields__.index, ("accessKeyId", "type", "accountId", "userName")
)


class Mapper:
    """Turns a decoded event into a TraceEvent. What an event shares with others is cached:
    per (host, serviceName) the action's prefix, the service and its denied codes; the
    caller (``Who``) per (type, account, userName), by ``_who``. What is the event's own
    (id, time, address, VPC, scheme, error, resource, AccessKey, MFA) is read from it every
    time."""

    __slots__ = (
        "_callers",
        "_catalog",
        "_services",
        "account",
        "region",
        "resources",
    )

    def __init__(
        self,
        catalog,
        account: str | None = None,
        region: str | None = None,
        resources: bool = True,
    ) -> None:
        self._catalog = catalog
        # From an ActionTrail delivery path (sources.Source): used when an event lacks its
        # own userIdentity.accountId / acsRegion.
        self.account = account
        self.region = region
        # False: no rule needs a resource, so ``where`` is never filled in.
        self.resources = resources
        # Per reader (one file or range), not per process: what a run keeps is what it
        # reads, and memory measured over a run stays flat as the trace grows.
        self._services: dict = {}
        # (type, accountId, userName) as the event says them → the caller, this reader's
        # account filled in: a trace's ~1,500 identities fit (``_CACHE_MAX``).
        self._callers: dict = {}

    def _service(self, host: str | None, trail: str | None) -> tuple:
        """(action prefix, service name, permission-denied error codes, the documented ones
        among them) for a host/name; cached, so that events share the code sets."""
        hit = self._services.get((host, trail))
        if hit is None:
            hit = self._new_service(host, trail)
            _remember(self._services, (host, trail), hit)
        return hit

    def _new_service(self, host: str | None, trail: str | None) -> tuple:
        svc = self._catalog.service_for_host(host) if host else None
        if svc is None and trail:
            svc = self._catalog.service_for_trail_name(trail)
        codes = self._catalog.denied_error_codes(svc)
        sure = codes - self._catalog.guessed_denied_error_codes(svc)
        if svc is not None and svc.ram_codes:
            return (f"{svc.ram_codes[0]}:", svc.name, codes, sure)
        # Unmapped: still decide it, on the best guess at its RAM code, so that rules for
        # every service (`deny * *`, `deny * Delete*`) see it; counted as unmapped.
        return (f"{_guess_code(host, trail)}:", None, codes, sure)

    def caller(self, ident: _UserIdentity) -> tuple[str | None, Who]:
        """(access key, who) of one ``userIdentity``."""
        account = ident.accountId or self.account
        return ident.accessKeyId or None, _who(ident.type, account, ident.userName)

    def services(self, hosts: Sequence, trails: Sequence) -> list[tuple]:
        """``_service`` of each event's (host, serviceName) (two columns), looked up in one
        C-level pass; a chunk with a pair not seen before is looked up pair by pair."""
        try:
            return list(map(self._services.__getitem__, zip(hosts, trails, strict=True)))
        except KeyError:
            return list(map(self._service, hosts, trails))

    def callers(self, idents: list) -> tuple[list, list]:
        """The access key and the caller (``Who``) of each event's ``userIdentity`` (None:
        none), as two columns filled by C-level passes: the caller is one dict lookup per
        event on the (type, accountId, userName) the identity holds, built once per distinct
        one. A decoded identity is a fresh struct, so it is never the key itself: its hash
        and equality cost most of building its columns."""
        if None in idents:  # events without a userIdentity: rare, one by one
            pairs = [(None, None) if i is None else self.caller(i) for i in idents]
            return list(map(_0, pairs)), list(map(_1, pairs))
        # Each identity as a tuple of its fields (one C call each), transposed into columns
        # by zip: a third of the cost of an attrgetter pass per field (measured).
        fields = list(zip(*map(astuple, idents), strict=True))
        keys = fields[_ACCESS_KEY_AT]
        if "" in keys:
            keys = [k or None for k in keys]
        table = self._callers
        kinds, accounts, users = fields[_TYPE_AT], fields[_ACCOUNT_AT], fields[_USER_AT]
        try:
            return keys, list(map(table.__getitem__, zip(kinds, accounts, users, strict=True)))
        except KeyError:  # an identity not seen before: the others are still looked up
            pass
        whos = list(map(table.get, zip(kinds, accounts, users, strict=True)))
        for i in compress(range(len(whos)), map(is_, whos, repeat(None))):
            ident = idents[i]
            whos[i] = _who(ident.type, ident.accountId or self.account, ident.userName)
            if len(table) < _CACHE_MAX:
                table[ident.type, ident.accountId, ident.userName] = whos[i]
        return keys, whos

    @staticmethod
    def outcome(ev: Event, denied_codes: frozenset, sure_codes: frozenset) -> tuple:
        """(error code, recorded outcome, why a deny) of an event with an ``errorCode``."""
        code = ev.errorCode
        detail = bool(ev.AccessDeniedDetail or ev.accessDeniedDetail)
        # Sure signs first (the leaked-key block, a sourced code, RAM's diagnostic): a
        # guessed code is the reason only when nothing else says the call was denied.
        why = deny_reason(code, ev.errorMessage, sure_codes, detail)
        if why is None and code in denied_codes:
            why = code + INFERRED_CODE_MARK
        return code, "error" if why is None else "deny", why

    def build(self, ev: Event, source: int, line: int) -> TraceEvent:
        """An ``Event`` (``acsRegion`` undecoded) → its TraceEvent."""
        region = region_of(bytes(ev.acsRegion)) if ev.acsRegion else None
        return self.assemble(ev, region, source, line)

    def build_fast(self, ev: FastEvent, source: int, line: int) -> TraceEvent:
        """A ``FastEvent`` (``acsRegion`` a string) → its TraceEvent, as ``build`` gives."""
        return self.assemble(ev, ev.acsRegion or None, source, line)

    def assemble(self, ev: Event, acs_region: str | None, source: int, line: int) -> TraceEvent:
        """An event and its ``acsRegion`` (already a string or None) → its TraceEvent."""
        # Per service (a trace has tens), not per (service, operation): a trace's thousands
        # of (host, operation) pairs overflowed such a table, and the action is one concat.
        host, trail = ev.eventSource, ev.serviceName
        hit = self._services.get((host, trail))
        if hit is None:
            hit = self._service(host, trail)
        prefix, service, denied_codes, sure_codes = hit
        action = prefix + ev.eventName
        access_key = None
        account = self.account
        who = None
        ident = ev.userIdentity
        if ident is not None:
            account = ident.accountId or account
            who = _who(ident.type, account, ident.userName)
            access_key = ident.accessKeyId or None
        where = None
        if self.resources and (ev.referencedResources or ev.requestParameters or ev.resourceName):
            where = Where(
                account,
                self.region,
                acs_region,
                ev.recipientAccountId,
                ev.referencedResources,
                ev.requestParameters,
                ev.resourceType,
                ev.resourceName,
            )
        region = acs_region or self.region
        code = None
        recorded = "allow"
        why = None
        if ev.errorCode:
            code, recorded, why = self.outcome(ev, denied_codes, sure_codes)
        return trace_event(
            ev, source, line, action, service, access_key, who, recorded, where, region, code, why
        )


def _guess_code(host: str | None, trail: str | None) -> str:
    """``Oss`` → ``oss``; ``oss-cn-hangzhou.aliyuncs.com`` → ``oss``; nothing → ``unknown``."""
    if trail and trail.strip():
        return trail.strip().lower()
    if host and host.strip():
        return host.strip().lower().split(".", 1)[0].split("-", 1)[0] or "unknown"
    return "unknown"
