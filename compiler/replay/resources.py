"""The resource ARN(s) of a recorded request, built from its ActionTrail event (issue 10).

An event names what it acted on in several places, none always present:

- ``referencedResources``: resource type → IDs, e.g. ``{"ACS::ECS::Instance": ["i-8vb0…"],
  "ACS::ECS::Disk": ["d-8vbf…"]}`` (the sample ``DeleteDisk`` event in
  alibabacloud.com/help/en/eventbridge/user-guide/actiontrail-events);
- ``resourceType`` / ``resourceName``: one such pair (alibabacloud.com/help/en/sls/log-fields-25);
- ``requestParameters``: the API's own parameters (``InstanceId``, ``BucketName``, ``ProjectName``);
- ``acsRegion`` and ``userIdentity.accountId`` (or ``recipientAccountId``, or the delivery
  path's account) for the ARN's region and account.

The ARN is built, in order of trust:

1. from the catalog's ARN templates for the operation (OpenMeta ``ramActions``, or a user's
   catalog overlay): ``{#regionId}`` and ``{#accountId}`` from the event, every other
   placeholder from the request parameter of that name (case-insensitively) or from the one
   referenced resource type whose name it starts with (``{#ProjectName}`` ← ``ACS::SLS::Project``);
2. from the referenced resources: ``acs:<code>:<region>:<account>:<type>/<id>`` with the type
   lowercased (``instance/i-1``: ECS's documented form), for the type the event name mentions
   (``DeleteDisk`` → the disk, not the instance), or the only type there is. OSS names buckets
   without a type: ``acs:oss:<region>:<account>:<bucket>`` (OSS's RAM resource format,
   ``acs:oss:{region}:{bucket_owner}:{bucket_name}/{object_name}``);
3. from a request parameter ``<Type>Id`` / ``<Type>Name`` whose type the event name mentions
   (``DeleteInstance`` with ``InstanceId``).

Anything else is "cannot be built" (None): the replay then decides the event against the
``*``-resource rules only and counts it as ``resource_unknown`` when a rule that needs a
resource would otherwise have matched — never silently allowed. An ID that is already an
ARN (``acs:…``) is used as it is. Several IDs give several ARNs: RAM checks each, so the
request is denied when any of them is.
"""

from __future__ import annotations

import re
from functools import lru_cache

import msgspec

from compiler.replay.events import TraceEvent

# Placeholders that stand for the event's own region and account, in the spellings the
# catalog's templates use (``{#regionId}``, ``${region}``, ``<account-id>``…), lowercased
# with non-letters dropped.
_REGION_NAMES = frozenset({"regionid", "region"})
_ACCOUNT_NAMES = frozenset({"accountid", "account", "uid", "owner", "bucketowner"})
# Resource types whose ARN names the resource without a `type/` prefix.
_UNTYPED = frozenset({("oss", "bucket")})
_MAX_ARNS = 64
"""An event listing thousands of IDs is decided on the first ones: bounded work per event."""

_PARAMS = msgspec.json.Decoder(dict[str, object])
_REFS = msgspec.json.Decoder(dict[str, object])


def _decoded(raw: msgspec.Raw, decoder: msgspec.json.Decoder) -> dict[str, object]:
    if not raw:
        return {}
    try:
        value = decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}  # a field of the wrong shape says nothing about the resource
    return value


def _text(raw: msgspec.Raw | str | None) -> str | None:
    if not raw:
        return None
    if raw.__class__ is str:  # decoded already (``Where.acs_region``)
        return raw  # type: ignore[return-value]
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, str) and value else None


def _ids(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = [v for v in items if isinstance(v, str) and v and _plain(v)]
    return out[:_MAX_ARNS]


_NOT_PLAIN = re.compile(r'[ \t"\\*?]')


def _plain(text: str) -> bool:
    # An ID goes into an ARN verbatim: one with whitespace, quotes or control characters
    # cannot be a real resource, and a glob character would read as a pattern to a reader.
    # One regex search, not a generator over the six characters: this runs at least twice
    # an event (its account and region) wherever rules are scoped to resources.
    return text.isprintable() and _NOT_PLAIN.search(text) is None


# The caches below hold what repeats from event to event (accounts, regions, parameter
# names; the catalog remembers its own ARN templates): building ARNs runs for every event
# wherever a rule is scoped to resources or an org decides along chains, and these were
# recomputed per event (a generator per character of each parameter name, the template
# parsed per event).
# Bounded (lru_cache), so a trace of unique names costs memory only up to the bound.

_plain_name = lru_cache(maxsize=4096)(_plain)
"""``_plain`` of an account or a region: a trace has few of each."""


@lru_cache(maxsize=4096)
def _norm(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


@lru_cache(maxsize=1024)
def _placeholders(template: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, name) of each ``{#x}`` / ``{x}`` / ``${x}`` / ``<x>`` in a template."""
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(template):
        ch = template[i]
        close = "}" if ch == "{" else ">" if ch == "<" else None
        if close is None:
            i += 1
            continue
        j = template.find(close, i + 1)
        if j < 0:
            break
        start = i - 1 if i > 0 and template[i - 1] == "$" else i
        out.append((start, j + 1, template[i + 1 : j].lstrip("#")))
        i = j + 1
    return tuple(out)


def _fill(
    template: str,
    region: str,
    account: str,
    params: dict[str, object],
    refs: dict[str, list[str]],
) -> list[str] | None:
    """Every ARN the template gives for this event, or None when a placeholder is unknown."""
    holes = _placeholders(template)
    if not holes:
        return None  # `*` or a fixed ARN: the template says nothing about this request
    lowered = {_norm(k): v for k, v in params.items()}
    choices: list[list[str]] = []
    for _, _, name in holes:
        key = _norm(name)
        if key in _REGION_NAMES:
            choices.append([region])
        elif key in _ACCOUNT_NAMES:
            choices.append([account])
        elif key in lowered and _ids(lowered[key]):
            choices.append(_ids(lowered[key]))
        else:
            typed = [ids for kind, ids in refs.items() if key.startswith(_norm(kind))]
            if len(typed) != 1:
                return None
            choices.append(typed[0])
    # One placeholder may take several IDs (DeleteInstances); the others take one value each.
    arns = [""]
    pos = 0
    for (start, end, _), values in zip(holes, choices, strict=True):
        fixed = template[pos:start]
        arns = [a + fixed + v for a in arns for v in values][:_MAX_ARNS]
        pos = end
    return [a + template[pos:] for a in arns]


def _referenced(raw: dict[str, object]) -> dict[str, list[str]]:
    """``ACS::ECS::Instance`` → ``instance`` (with its IDs); other key shapes are skipped."""
    out: dict[str, list[str]] = {}
    for key, value in raw.items():
        parts = key.split("::")
        if len(parts) == 3 and parts[0].upper() == "ACS" and parts[2]:
            ids = _ids(value)
            if ids:
                out.setdefault(parts[2].lower(), []).extend(ids)
    return out


def _pick(event_name: str, refs: dict[str, list[str]]) -> str | None:
    """The referenced type the request acts on: the one the event name mentions (the
    longest, so ``DeleteSnapshotGroup`` picks ``snapshotgroup`` over ``snapshot``), else
    the only one."""
    name = event_name.lower()
    mentioned = [kind for kind in refs if kind in name]
    if mentioned:
        return max(mentioned, key=lambda k: (len(k), k))
    if len(refs) == 1:
        return next(iter(refs))
    return None


def _arn(code: str, region: str, account: str, kind: str, resource_id: str) -> str:
    if resource_id.startswith("acs:"):
        return resource_id
    if (code, kind) in _UNTYPED:
        return f"acs:{code}:{region}:{account}:{resource_id}"
    return f"acs:{code}:{region}:{account}:{kind}/{resource_id}"


def build_resources(event: TraceEvent, catalog) -> tuple[str, ...] | None:
    """The request's resource ARN(s), sorted, or None when they cannot be built."""
    where = event.where
    if where is None:
        return None
    account = where.account or _text(where.recipient)
    if not account or not _plain_name(account):
        return None
    region = _text(where.acs_region) or where.region or ""
    if not _plain_name(region):
        return None
    # (An empty region is right for global services: acs:ram::<account>:role/x.)
    code = event.action.partition(":")[0]
    params = _decoded(where.parameters, _PARAMS)
    refs = _referenced(_decoded(where.referenced, _REFS))
    kind, name = _text(where.resource_type), _text(where.resource_name)
    if kind is not None and name is not None and _plain(name):
        extra = _referenced({kind: [name]})
        for k, ids in extra.items():
            refs.setdefault(k, ids)
    if event.service:
        for template in catalog.operation_arn_templates(event.service, event.event_name):
            arns = _fill(template, region, account, params, refs)
            if arns:
                return tuple(sorted(set(arns)))
    chosen = _pick(event.event_name, refs) if refs else None
    if chosen is not None:
        return tuple(sorted({_arn(code, region, account, chosen, i) for i in refs[chosen]}))
    lowered = event.event_name.lower()
    # Only the parameters whose type the event name mentions, in name order.
    for key in sorted(k for k in params if (kind := _param_kind(k)) and kind in lowered):
        ids = _ids(params[key])
        if ids:
            kind = _param_kind(key)
            return tuple(sorted({_arn(code, region, account, kind, i) for i in ids}))
    return None


@lru_cache(maxsize=4096)
def _param_kind(key: str) -> str:
    """``InstanceId`` / ``InstanceName`` → ``instance``; ``""`` for a parameter named
    otherwise (no name ends in both suffixes)."""
    for suffix in ("Id", "Name"):
        if key.endswith(suffix):
            return key[: -len(suffix)].lower()
    return ""
