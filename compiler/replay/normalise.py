"""A decoded ActionTrail event → a ``TraceEvent`` request: action, RAM context keys, outcome.

``Event`` is the typed msgspec view of the fields the normaliser reads (everything else in
an event is skipped by the decoder, never materialised); ``Mapper`` maps the event's service
(by ``eventSource`` host, then ``serviceName``) to its RAM code through the catalog and fills
the context keys rules can test.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import msgspec

from compiler.model.keys import LANGUAGE_KEYS, parse_bool
from compiler.replay.events import INFERRED_CODE_MARK, TraceEvent, Where, Who, deny_reason

# Per-reader caches are bounded so that adversarial input (a new host on every line) cannot
# make memory grow with the file.
_CACHE_MAX = 4096

_SOURCE_IP = LANGUAGE_KEYS["source_ip"][0]
_CURRENT_TIME = LANGUAGE_KEYS["time"][0]
_ACCESS_ID = LANGUAGE_KEYS["access_key"][0]
_MFA = LANGUAGE_KEYS["mfa"][0]
_VPC = LANGUAGE_KEYS["vpc"][0]
_SECURE = LANGUAGE_KEYS["secure_transport"][0]


class _Attributes(msgspec.Struct, gc=False):
    mfaAuthenticated: str | bool | None = None


class _SessionContext(msgspec.Struct, gc=False):
    attributes: _Attributes | None = None


class _UserIdentity(msgspec.Struct, gc=False):
    accessKeyId: str | None = None
    sessionContext: _SessionContext | None = None
    type: str | None = None
    accountId: str | None = None
    userName: str | None = None


_PRINCIPAL = LANGUAGE_KEYS["principal"][0]


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
def _region(raw: bytes) -> str | None:
    """``acsRegion`` as text; anything but a JSON string is no region (never malformed)."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, str) and value else None


class _Additional(msgspec.Struct, gc=False):
    Scheme: str | None = None


class Event(msgspec.Struct, gc=False):
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
    # The resource's whereabouts (issue 10): skipped over as raw JSON, read only when a rule
    # needs a resource (compiler.replay.resources).
    acsRegion: msgspec.Raw = msgspec.Raw()
    recipientAccountId: msgspec.Raw = msgspec.Raw()
    referencedResources: msgspec.Raw = msgspec.Raw()
    requestParameters: msgspec.Raw = msgspec.Raw()
    resourceType: msgspec.Raw = msgspec.Raw()
    resourceName: msgspec.Raw = msgspec.Raw()
    # RAM's diagnostic on a denial (issue 13 item 3): only whether it is there matters.
    AccessDeniedDetail: msgspec.Raw = msgspec.Raw()
    accessDeniedDetail: msgspec.Raw = msgspec.Raw()


class EventsDocument(msgspec.Struct):
    Events: list[msgspec.Raw]


# A dotted quad as ipaddress reads one: each part 0-255 in ASCII digits, no leading zero.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


@lru_cache(maxsize=_CACHE_MAX)
def _is_ip(text: str) -> bool:
    # `Internal` and service host names are not addresses: acs:SourceIp stays absent for them.
    # Cached: a trace repeats its clients' addresses. A miss costs one fixed-shape regex for
    # a dotted quad (ipaddress costs ~15 µs a miss), ipaddress only for IPv6.
    if _QUAD.fullmatch(text) is not None:
        return True
    if text.count(".") == 3 or ":" not in text:
        return False
    return _is_ipv6(text)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# The spellings seen in practice, looked up without a call; others go through parse_bool.
_BOOLS: dict[object, bool] = {"true": True, "false": False, True: True, False: False}


class Mapper:
    """Turns a decoded event into a TraceEvent; caches the service lookup per (host, name)."""

    __slots__ = ("_catalog", "_services", "account", "region")

    def __init__(self, catalog, account: str | None = None, region: str | None = None) -> None:
        self._catalog = catalog
        # From an ActionTrail delivery path (sources.Source): used when an event lacks its
        # own userIdentity.accountId / acsRegion.
        self.account = account
        self.region = region
        self._services: dict[tuple[str | None, str | None], tuple] = {}

    def _service(self, host: str | None, trail: str | None) -> tuple:
        """(action prefix, service name, permission-denied error codes, the documented ones
        among them) for a host/name."""
        key = (host, trail)
        hit = self._services.get(key)
        if hit is not None:
            return hit
        svc = self._catalog.service_for_host(host) if host else None
        if svc is None and trail:
            svc = self._catalog.service_for_trail_name(trail)
        codes = self._catalog.denied_error_codes(svc)
        sure = codes - self._catalog.guessed_denied_error_codes(svc)
        if svc is not None and svc.ram_codes:
            hit: tuple = (f"{svc.ram_codes[0]}:", svc.name, codes, sure)
        else:
            # Unmapped: still decide it, on the best guess at its RAM code, so that rules for
            # every service (`deny * *`, `deny * Delete*`) see it; counted as unmapped.
            hit = (f"{_guess_code(host, trail)}:", None, codes, sure)
        if len(self._services) < _CACHE_MAX:
            self._services[key] = hit
        return hit

    def build(self, ev: Event, source: int, line: int) -> TraceEvent:
        hit = self._services.get((ev.eventSource, ev.serviceName))
        if hit is None:
            hit = self._service(ev.eventSource, ev.serviceName)
        prefix, service, denied_codes, sure_codes = hit
        context: dict[str, object] = {}
        ip = ev.sourceIpAddress
        if ip and _is_ip(ip):
            context[_SOURCE_IP] = ip
        if ev.eventTime:
            context[_CURRENT_TIME] = ev.eventTime
        access_key = None
        account = self.account
        who = None
        ident = ev.userIdentity
        if ident is not None:
            account = ident.accountId or account
            who = _who(ident.type, account, ident.userName)
            access_key = ident.accessKeyId or None
            if access_key:
                context[_ACCESS_ID] = access_key
            if who.principal is not None:
                context[_PRINCIPAL] = who.principal
            session = ident.sessionContext
            if session is not None and session.attributes is not None:
                flag = session.attributes.mfaAuthenticated
                if flag is not None:
                    mfa = _BOOLS.get(flag)
                    if mfa is None:
                        mfa = parse_bool(flag)
                    if mfa is not None:
                        context[_MFA] = mfa
        if ev.vpcId:
            context[_VPC] = ev.vpcId
        extra = ev.additionalEventData
        if extra is not None and extra.Scheme:
            context[_SECURE] = extra.Scheme.strip().lower() == "https"
        where = None
        if ev.referencedResources or ev.requestParameters or ev.resourceName:
            where = Where(
                account,
                self.region,
                ev.acsRegion,
                ev.recipientAccountId,
                ev.referencedResources,
                ev.requestParameters,
                ev.resourceType,
                ev.resourceName,
            )
        region = (_region(bytes(ev.acsRegion)) if ev.acsRegion else None) or self.region
        code = ev.errorCode or None
        recorded = "allow"
        why = None
        if code is not None:
            detail = bool(ev.AccessDeniedDetail or ev.accessDeniedDetail)
            # Sure signs first (the leaked-key block, a sourced code, RAM's diagnostic): a
            # guessed code is the reason only when nothing else says the call was denied.
            why = deny_reason(code, ev.errorMessage, sure_codes, detail)
            if why is None and code in denied_codes:
                why = code + INFERRED_CODE_MARK
            recorded = "error" if why is None else "deny"
        # Positional: source, line, event_id, action, service, event_name, context,
        # access_key, recorded, where, who, region, error_code, why, source_ip (keywords
        # cost measurably at one event per call).
        return TraceEvent(
            source,
            line,
            ev.eventId or "",
            prefix + ev.eventName,
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


def _guess_code(host: str | None, trail: str | None) -> str:
    """``Oss`` → ``oss``; ``oss-cn-hangzhou.aliyuncs.com`` → ``oss``; nothing → ``unknown``."""
    if trail and trail.strip():
        return trail.strip().lower()
    if host and host.strip():
        return host.strip().lower().split(".", 1)[0].split("-", 1)[0] or "unknown"
    return "unknown"
