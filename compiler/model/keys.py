"""Condition keys and their values: the rules language's names, the RAM keys they stand for,
each key's kind, and the one value parser that rules, ``.tests`` files and ``decide``
contexts share.

A request's context is a mapping from RAM key (``acs:SourceIp``) to a value. Values are plain
data — strings and booleans — never code: an IP is parsed with ``ipaddress``, a time with
``datetime.fromisoformat``, nothing is evaluated.

Global keys (``ram/policy-elements``, ``ram/conditional-operator``; see
``shared/reference/ram-policy-facts.md``): ``acs:CurrentTime``, ``acs:SecureTransport``,
``acs:SourceIp``, ``acs:MFAPresent``, ``acs:SourceVpc``, ``acs:AccessId``,
``acs:PrincipalARN``, ``acs:ResourceGroupId``, and the tag families ``acs:ResourceTag/<k>``
and ``acs:RequestTag/<k>``.

Booleans (decided once, applied everywhere): ``true``/``false`` in any case, as RAM's ``Bool``
reads them; anything else (``yes``, ``1``) is an error in rules, ``.tests`` and contexts.

Key names are case-insensitive, as the RAM evaluator reads them: a context key that equals,
ignoring case, a key the decision reads is read under the rule's spelling (``fold_keys``).

Over 400 lines: the key table, the value parsers and the context spelling share the one
notion of a key's spelling and kind, and every engine's entry point calls into it; split, the
halves would import each other.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from decimal import MAX_EMAX, MIN_EMIN, Decimal, InvalidOperation, localcontext
from enum import StrEnum


class KeyKind(StrEnum):
    IP = "ip"
    BOOL = "bool"
    TIME = "time"
    NUMBER = "number"
    STRING = "string"


# language name → (RAM key, kind)
LANGUAGE_KEYS: dict[str, tuple[str, KeyKind]] = {
    "source_ip": ("acs:SourceIp", KeyKind.IP),
    "mfa": ("acs:MFAPresent", KeyKind.BOOL),
    "secure_transport": ("acs:SecureTransport", KeyKind.BOOL),
    "time": ("acs:CurrentTime", KeyKind.TIME),
    "vpc": ("acs:SourceVpc", KeyKind.STRING),
    "access_key": ("acs:AccessId", KeyKind.STRING),
    "principal": ("acs:PrincipalARN", KeyKind.STRING),
    "resource_group": ("acs:ResourceGroupId", KeyKind.STRING),
}
# `resource_tag:env` → `acs:ResourceTag/env`; tag keys are case-sensitive strings.
TAG_KEYS: dict[str, str] = {
    "resource_tag": "acs:ResourceTag/",
    "request_tag": "acs:RequestTag/",
}
GLOBAL_KEYS: dict[str, KeyKind] = {ram: kind for ram, kind in LANGUAGE_KEYS.values()}

RAM_KEY_TO_NAME: dict[str, str] = {ram.lower(): name for name, (ram, _) in LANGUAGE_KEYS.items()}
_CANONICAL_RAM_KEY: dict[str, str] = {ram.lower(): ram for ram in GLOBAL_KEYS}
# Characters a tag key may hold after `resource_tag:` (letters, digits and `_.:/=+-@`).
TAG_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/=+-@")


def tag_key(ram: str) -> tuple[str, str] | None:
    """``acs:ResourceTag/env`` → (``acs:ResourceTag/``, ``env``); None for other keys."""
    low = ram.lower()
    for prefix in TAG_KEYS.values():
        if low.startswith(prefix.lower()) and len(ram) > len(prefix):
            return prefix, ram[len(prefix) :]
    return None


def ram_key(name: str) -> str | None:
    """``source_ip``, ``acs:sourceip``, ``resource_tag:env`` → the RAM key; None if unknown."""
    low = name.lower()
    if low in LANGUAGE_KEYS:
        return LANGUAGE_KEYS[low][0]
    family, sep, tag = name.partition(":")
    if sep and family in TAG_KEYS and tag and set(tag) <= TAG_KEY_CHARS:
        return TAG_KEYS[family] + tag
    tagged = tag_key(name)
    if tagged is not None:
        return tagged[0] + tagged[1]
    return _CANONICAL_RAM_KEY.get(low)


def unknown_key(key: object, reads: Collection[str] = ()) -> str | None:
    """Why ``key`` is no context key, or None when it is one: ``ramguard decide --context``
    and ``explain``, ``.tests`` contexts, ``Policy.decide`` and ``Policy.decide_chain`` refuse
    the same keys with this message (a misspelt key would otherwise read as absent and
    silently flip a condition, issue 15). Known: the rules language's names, the global
    ``acs:`` keys and tag families in any case, and any other ``prefix:Name`` (service keys
    such as ``oss:Prefix``, ``ecs:tag/env``), which no table here lists. An ``acs:`` key
    outside the global ones is refused (RAM defines them all) unless it is in ``reads``, the
    keys the request's decision reads: an ``unchecked "acs:Key"`` rule covering the action
    tests it, exactly as written (the trie reads it so)."""
    if type(key) is not str:
        return f"context key {_short(repr(key))} is not a string"
    if ram_key(key) is not None:
        return None
    prefix, sep, name = key.partition(":")
    family = prefix.lower()
    if sep and family != "acs" and family not in TAG_KEYS and prefix and name:
        return None
    if key in reads:
        return None
    if sep and family == "acs" and any(k.lower() == key.lower() for k in reads):
        return None  # another spelling of an unchecked rule's key: read as it (``fold_keys``)
    if sep and family in TAG_KEYS:
        # `resource_tag:` with no tag key, one no rule can write, or another case of the
        # family (`Resource_Tag:env`): taken as a service key, no rule would ever read it.
        fixed = f"{family}:{name}"
        hint = f"did you mean {fixed}? " if ram_key(fixed) else ""
        return (
            f"unknown key `{_short(key)}`: {hint}a tag key follows `{family}:` and is letters, "
            "digits and _.:/=+-@"
        )
    if sep and family != "acs":
        return f"unknown key `{_short(key)}`: a service key is CODE:Name, e.g. oss:Prefix"
    from compiler.catalog import suggest  # the error path only: keeps the catalog unloaded

    if sep:
        # An unchecked acs: key the decision reads is the likelier meaning of a near miss.
        read = sorted(k for k in reads if k[:4].lower() == "acs:" and k not in GLOBAL_KEYS)
        close = suggest(key, [*read, *GLOBAL_KEYS])
        hint = f"did you mean {close}? " if close else ""
        return (
            f"unknown key `{_short(key)}`: {hint}the acs: keys are {', '.join(GLOBAL_KEYS)}, "
            "acs:ResourceTag/KEY and acs:RequestTag/KEY"
        )
    close = suggest(key, LANGUAGE_KEYS)
    hint = f"did you mean {close}? " if close else ""
    return (
        f"unknown key `{_short(key)}`: {hint}keys are {', '.join(LANGUAGE_KEYS)} or RAM keys "
        "such as acs:SourceIp"
    )


def key_kind(ram: str) -> KeyKind:
    """The kind of a RAM key; keys this table does not type (tags, service keys) are strings."""
    return GLOBAL_KEYS.get(ram, KeyKind.STRING)


class ValueProblem(ValueError):
    """A value that is not of its key's kind: ``message`` and ``help`` for the diagnostic."""

    def __init__(self, message: str, help: str = ""):
        super().__init__(message)
        self.message = message
        self.help = help


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def parse_value(kind: KeyKind, text: str, *, cidr: bool = True) -> str:
    """``text`` as a value of ``kind`` in its canonical RAM spelling; raises ValueProblem.

    ``cidr``: IP values may be CIDR blocks (rules) or must be one address (a request)."""
    if kind is KeyKind.IP:
        return _parse_ip(text, cidr)
    if kind is KeyKind.BOOL:
        low = text.lower()
        if low in ("true", "false"):
            return low
        raise ValueProblem(f"`{_short(text)}` is not a boolean", "write true or false")
    if kind is KeyKind.TIME:
        return parse_utc_time(text)
    if kind is KeyKind.NUMBER:
        return parse_number(text)
    if not text or not text.isprintable():
        raise ValueProblem("empty or unprintable value")
    return text


def _parse_ip(text: str, cidr: bool) -> str:
    if not cidr:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValueProblem(
                f"`{_short(text)}` is not an IP address", "write an address, e.g. 203.0.113.7"
            ) from None
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        help_text = "write an IP address or a CIDR block, e.g. 10.0.0.0/8"
        try:
            loose = ipaddress.ip_network(text, strict=False)
            help_text = f"host bits are set; did you mean {loose}?"
        except ValueError:
            pass
        raise ValueProblem(f"`{_short(text)}` is not a valid CIDR block", help_text) from None
    full = net.prefixlen == net.max_prefixlen
    return str(net.network_address) if full and "/" not in text else str(net)


_NUMBER_CHARS = frozenset("0123456789+-.eE")
# A fixed, anchored pattern over decimal text (never built from user text): linear.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# RAM documents no range or precision for a number (``ram/conditional-operator``); what it
# does bound is a custom policy document, 1 to 6,144 characters (``shared/reference/``,
# Limits), so no number RAM reads is longer. This is the one limit, on the text a rule
# writes and on the spelling emitted (import reads what compile writes with this function).
MAX_NUMBER_CHARS = 6144


def parse_number(text: str) -> str:
    """A finite decimal number, canonical (``1.50`` → ``1.5``, ``10`` stays ``10``), exact.

    Canonical and idempotent: ``parse_number(parse_number(t)) == parse_number(t)``, so
    ``import`` of what ``compile`` emitted writes a rule that compiles to the same JSON."""
    bad = ValueProblem(f"`{_short(text)}` is not a number", "write a number, e.g. 10 or 2.5")
    if not text or not set(text) <= _NUMBER_CHARS or not _NUMBER.fullmatch(text):
        raise bad
    if len(text) > MAX_NUMBER_CHARS:
        raise _too_long(text)
    try:
        exact = Decimal(text)
    except InvalidOperation:  # an exponent past Decimal's ±999999999999999999
        raise bad from None
    canonical = _canonical_number(text, exact)
    if len(canonical) > MAX_NUMBER_CHARS:
        raise _too_long(text)
    return canonical


def _too_long(text: str) -> ValueProblem:
    return ValueProblem(
        f"the number `{_short(text)}` is longer than a RAM policy document can hold "
        f"({MAX_NUMBER_CHARS} characters)",
        "write it with fewer digits, or with an exponent (1e-50)",
    )


def _canonical_number(text: str, exact: Decimal) -> str:
    if set(text) <= frozenset("0123456789+-"):
        # An integer as written less its sign and leading zeros (`+0012` → `12`, `-0` → `0`):
        # through Decimal, as str(int(...)) refuses more than 4,300 digits.
        return format(exact, "f") if exact else "0"
    # The float's shortest repr when it is the same number (`1.50` → `1.5`, `1e3` →
    # `1000.0`), else the exact decimal: a float would round 9007199254740993.5 (issue 16).
    number = float(text)
    if math.isfinite(number):
        shown = repr(number)
        if Decimal(shown) == exact:
            return shown
    # normalize() rounds to the context's precision (28 digits by default), and
    # `1.5000000000000000000000000000001` came out as `1.5`: a context as wide as the
    # number keeps every digit (only trailing zeros go).
    with localcontext() as ctx:
        ctx.prec = max(len(exact.as_tuple().digits), 1)
        ctx.Emin, ctx.Emax = MIN_EMIN, MAX_EMAX
        trimmed = exact.normalize()
    # Positional within 40 places of the point, else with an exponent: `1E-400`, not 400
    # zeros.
    return format(trimmed, "f") if abs(exact.adjusted()) < 40 else str(trimmed)


def iso_time(text: str) -> datetime | None:
    """An ISO 8601 date and time; a bare date is not a time (it would mean midnight)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if "T" in text else None


def parse_utc_time(text: str) -> str:
    """An ISO 8601 time with an offset (``Z``, ``+08:00``, …) → the same instant in UTC, as
    RAM compares times (``ram/conditional-operator``: ISO 8601, UTC). Raises ValueProblem for
    no offset, more than microseconds, or an instant outside years 1–9999 in UTC."""
    when = iso_time(text)
    if when is None:
        raise ValueProblem(
            f"`{_short(text)}` is not a valid time",
            "write an ISO 8601 time with an offset, e.g. 2026-12-01T00:00:00Z or "
            "2026-12-01T08:00:00+08:00",
        )
    if when.tzinfo is None:
        raise ValueProblem(
            f"`{_short(text)}` has no UTC offset",
            "end the time with Z or an offset such as +08:00",
        )
    _, _, clock = text.partition("T")
    _, dot, fraction = clock.partition(".")
    digits = len(fraction) - len(fraction.lstrip("0123456789"))
    if dot and digits > 6:
        # datetime keeps microseconds; silently cutting the rest would move the boundary.
        raise ValueProblem(
            f"`{_short(text)}` has {digits} fractional digits; at most 6 are kept",
            "write the time to the microsecond at most",
        )
    return format_utc(when, text)


def format_utc(when: datetime, text: str | None = None) -> str:
    """An aware time as RAM takes it: ISO 8601 in UTC ending in Z, the year always four
    digits (strftime's %Y is not padded below 1000), microseconds only when there are any.
    Raises ValueProblem when the instant falls outside years 1–9999 in UTC (year 1 with a
    positive offset), which datetime cannot hold."""
    try:
        utc = when.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        shown = _short(text if text is not None else when.isoformat())
        raise ValueProblem(
            f"`{shown}` is outside the years 1 to 9999 once converted to UTC",
            "write a time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z",
        ) from None
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"


def context_value(key: str, value: object, *, parse_strings: bool = True) -> str:
    """A request value given to ``decide`` (CLI or Python) → the canonical string the trie
    and the RAM evaluator both read. Strings go through ``parse_value`` (with
    ``parse_strings``; without it — the Python API — a string is request data, kept as given,
    and a value not of the key's kind fails positive operators as in a trace); a ``bool`` is
    ``true``/``false``; an int or a finite float is a number; an aware ``datetime`` is its
    UTC time. NaN, infinities, naive datetimes and any other type are refused (ValueProblem),
    so the two engines never see a value one of them would read differently."""
    kind = key_kind(key)
    if isinstance(value, str):
        return parse_value(kind, value, cidr=False) if parse_strings else value
    if isinstance(value, bool):
        if kind in (KeyKind.BOOL, KeyKind.STRING):
            return "true" if value else "false"
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueProblem(f"`{key}` is {value!r}; a context value must be finite")
        if kind in (KeyKind.NUMBER, KeyKind.STRING):
            return str(value) if isinstance(value, int) else repr(value)
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueProblem(
                f"`{key}` is a datetime without a time zone",
                "give an aware datetime (tzinfo=datetime.UTC) or an ISO 8601 string",
            )
        if kind in (KeyKind.TIME, KeyKind.STRING):
            return format_utc(value)
    raise ValueProblem(
        f"`{key}` is a {kind} key; {type(value).__name__} {_short(repr(value))} is not a {kind}"
    )


def normalise_context(
    context: Mapping[str, object] | None, *, strict: bool = False, convert: bool = False
) -> dict[str, object]:
    """Context with every key spelled as the RAM key; unknown keys kept as given.

    With ``strict`` every value is parsed by ``context_value`` (``ramguard decide -c``): a
    bad value raises ValueProblem. With ``convert`` (``Policy.decide``) strings are kept and
    other values converted or refused by ``context_value``. Raises KeyError naming a key given
    twice under two spellings, since which one wins would otherwise depend on dict order.
    """
    if not context:
        return {}
    out: dict[str, object] = {}
    spelling = _SPELLING.get
    for key, value in context.items():
        canonical = spelling(key) if type(key) is str else None
        if canonical is None:
            canonical = canonical_key(key)
        if canonical in out:
            raise KeyError(f"context key `{canonical}` given twice")
        # A str is kept as given unless ``strict`` (``context_value`` would return it): no
        # call for the common value.
        if strict or (convert and type(value) is not str):
            value = context_value(canonical, value, parse_strings=strict)
        out[canonical] = value
    return out


_SPELLING: dict[str, str] = {}
"""Key string → ``ram_key(key) or key``, for ``normalise_context``: contexts repeat a few keys,
and spelling one out (case folding, the tag families) cost more than the rest of normalising
a context together. Exact ``str`` keys only (a subclass's equality is not ours to vouch for);
bounded like ``SPELLED_AS_RAM``, past which keys are spelled out each time."""


def canonical_key(key: str) -> str:
    """``ram_key(key) or key``, remembered (``_SPELLING``)."""
    canonical = ram_key(key) or key
    if type(key) is str and len(_SPELLING) < _SPELLED_LIMIT:
        _SPELLING[key] = canonical
    return canonical


SPELLED_AS_RAM: set[str] = set()
"""Keys ``normalise_context`` keeps as they are, once checked; bounded (keys are few). A
context whose keys are all in it is already spelled as ``normalise_context`` would spell it:
the check ``DecisionTrie.decider(checked=True)`` makes in C before reading a conditional
action's keys, falling back on ``spelled_context``."""
_SPELLED_LIMIT = 4096


def spelled_context(
    context: Mapping[str, object], reads: tuple[str, ...] = ()
) -> Mapping[str, object]:
    """``context`` with every key spelled as its RAM key: itself when it already is, else
    ``normalise_context(context)``, which raises KeyError on one key given in two spellings.
    Raises KeyError (``unknown_key``'s message) for a key that is no context key, unless the
    decision reads it (in ``reads``: an ``unchecked "acs:Key"`` rule's key). Values are not
    looked at."""
    if SPELLED_AS_RAM.issuperset(context):
        return context
    # Only known keys join SPELLED_AS_RAM: the warm closure's one set test then also refuses
    # a misspelt key (``sorce_ip``), sending it here to raise.
    read_only: set[object] = set()
    for key in context:
        if key not in SPELLED_AS_RAM and unknown_key(key) is not None:
            problem = unknown_key(key, reads)
            if problem is not None:
                raise KeyError(problem)
            read_only.add(key)
    for key in context:
        if canonical_key(key) != key:  # type: ignore[arg-type]
            return fold_keys(normalise_context(context), reads)
    context = fold_keys(context, reads)
    # A key only ``reads`` allows (or its rule's spelling, once folded) stays out: the set
    # is shared by every rule set.
    unread = {key.lower() for key in read_only} if read_only else ()  # type: ignore[attr-defined]
    for key in context:
        if key not in SPELLED_AS_RAM and (not unread or key.lower() not in unread):
            _admit(key)
    return context


_READ_SPELLINGS: dict[str, set[str]] = {}
"""Lower-cased key → the spellings the conditions of every ``DecisionTrie`` built in this
process read it in (``note_read_keys``). The RAM evaluator matches key names ignoring case
(``compiler.ram.conditions``) and the trie reads a rule's key as the rule spells it, so a
context key spelled otherwise (``oss:prefix`` for a rule's ``oss:Prefix``) is folded to the
rule's spelling (``fold_keys``) and may not join ``SPELLED_AS_RAM``, where the warm closure
would read it as given. Grows with the distinct condition keys of the rules compiled, which
are few; never evicted, since a trie built once may decide at any time."""
_SPELLED_FOLDS: dict[str, str] = {}
"""Lower-cased key → its one spelling in ``SPELLED_AS_RAM``: two spellings of one key there
would let a context naming the key twice pass the warm closure's set test unrefused."""


def note_read_keys(keys: Collection[str]) -> None:
    """Record the keys a ``DecisionTrie``'s conditions read, before it decides anything: a
    key of ``SPELLED_AS_RAM`` that is another spelling of one of them (or one of two rules'
    spellings of it) leaves the set, so the warm closure sends a context holding it to
    ``spelled_context``, which folds it."""
    for key in keys:
        low = key.lower()
        spellings = _READ_SPELLINGS.setdefault(low, set())
        if key in spellings:
            continue
        spellings.add(key)
        admitted = _SPELLED_FOLDS.get(low)
        if admitted is not None and spellings != {admitted}:
            SPELLED_AS_RAM.discard(admitted)
            del _SPELLED_FOLDS[low]


def _admit(key: str) -> None:
    """``key`` joins ``SPELLED_AS_RAM`` unless another spelling of it is there or some
    trie's rules read it in a spelling other than this one alone (``_READ_SPELLINGS``)."""
    if key in SPELLED_AS_RAM or len(SPELLED_AS_RAM) >= _SPELLED_LIMIT:
        return
    low = key.lower()
    read = _READ_SPELLINGS.get(low)
    if _SPELLED_FOLDS.get(low, key) != key or (read is not None and read != {key}):
        return
    SPELLED_AS_RAM.add(key)
    _SPELLED_FOLDS[low] = key


_FOLD_INDEX: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
"""``reads`` → (lower-cased key → the spellings ``reads`` holds it in), for ``fold_keys``:
the same few ``reads`` tuples (one per shape of matching rules) come back on every call."""


def fold_keys(context: Mapping[str, object], reads: Collection[str] = ()) -> Mapping[str, object]:
    """``context`` (RAM-keyed) with each key that equals, ignoring case, a key in ``reads``
    spelled as ``reads`` spells it — under each spelling when rules spell it two ways — so
    the trie, which reads a rule's key exactly, reads the value the RAM evaluator (key names
    case-insensitive, ``compiler.ram.conditions``) reads: ``oss:prefix`` for a rule's
    ``oss:Prefix``, ``acs:ResourceTag/ENV`` for ``resource_tag:env``. Raises KeyError for one
    key given in two spellings (``oss:Prefix`` and ``oss:prefix``), read or not, as the RAM
    evaluator refuses it: which value applies would otherwise depend on dict order. Itself
    when nothing changes."""
    # The keys of SPELLED_AS_RAM are one spelling per key and none another spelling of a key
    # some rule reads (``_admit``): only the others need looking at, and most contexts on
    # this path have one or none (a language name, already spelled by ``normalise_context``).
    if SPELLED_AS_RAM.issuperset(context):
        return context
    odd = [key for key in context if key not in SPELLED_AS_RAM]
    index = _fold_index(reads)
    seen: dict[str, str] = {}
    out: dict[str, object] | None = None
    for key in odd:
        if type(key) is not str:
            continue
        low = key.lower()
        other = seen.get(low)
        if other is None:
            admitted = _SPELLED_FOLDS.get(low)
            if admitted is not None and admitted in context:
                other = admitted
        if other is not None:
            raise KeyError(
                f"context key `{_short(key)}` given twice, also as `{_short(other)}` "
                "(key names are case-insensitive)"
            )
        seen[low] = key
        spellings = index.get(low)
        if spellings is not None and spellings != (key,):
            if out is None:
                out = dict(context)
            value = out.pop(key)
            for spelling in spellings:
                out[spelling] = value
    return context if out is None else out


def _fold_index(reads: Collection[str]) -> dict[str, tuple[str, ...]]:
    key = reads if isinstance(reads, tuple) else tuple(sorted(reads))
    index = _FOLD_INDEX.get(key)
    if index is None:
        grouped: dict[str, list[str]] = {}
        for spelling in key:
            grouped.setdefault(spelling.lower(), []).append(spelling)
        index = {low: tuple(sorted(set(s))) for low, s in grouped.items()}
        if len(_FOLD_INDEX) < _SPELLED_LIMIT:
            _FOLD_INDEX[key] = index
    return index


def checked_context(
    context: Mapping[str, object], reads: tuple[str, ...] | None = None
) -> Mapping[str, object]:
    """What ``Policy.decide`` reads: ``context`` spelled (``spelled_context``) with the values
    of the RAM keys in ``reads`` — all of them when None — kept when a str, else converted or
    refused by ``context_value`` (ValueProblem). A value of a key not in ``reads`` is left as
    given: no condition of the decision reads it, so no engine can read it differently."""
    context = spelled_context(context, reads or ())
    if reads is None:
        reads = tuple(context)
    out: dict[str, object] | None = None
    for key in reads:
        if key in context:
            value = context[key]
            if type(value) is not str:
                if out is None:
                    out = dict(context)
                out[key] = context_value(key, value, parse_strings=False)
    return context if out is None else out


def parse_bool(value: object) -> bool | None:
    """RAM's Bool values: true/false, case-insensitive, as bool or string; else None.

    No whitespace is stripped: the RAM evaluator reads `" true"` as no boolean, and the two
    engines must agree."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None
