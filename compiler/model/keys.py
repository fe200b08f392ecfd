"""Condition keys: the rules language's names and the RAM keys they stand for.

A request's context is a mapping from RAM key (``acs:SourceIp``) to a value. Values are plain
data — strings and booleans — never code: an IP is parsed with ``ipaddress``, a time with
``datetime.fromisoformat``, nothing is evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum


class KeyKind(StrEnum):
    IP = "ip"
    BOOL = "bool"
    TIME = "time"
    STRING = "string"


# language name → (RAM key, kind)
LANGUAGE_KEYS: dict[str, tuple[str, KeyKind]] = {
    "source_ip": ("acs:SourceIp", KeyKind.IP),
    "mfa": ("acs:MFAPresent", KeyKind.BOOL),
    "secure_transport": ("acs:SecureTransport", KeyKind.BOOL),
    "time": ("acs:CurrentTime", KeyKind.TIME),
    "vpc": ("acs:SourceVpc", KeyKind.STRING),
    "access_key": ("acs:AccessId", KeyKind.STRING),
}

RAM_KEY_TO_NAME: dict[str, str] = {ram.lower(): name for name, (ram, _) in LANGUAGE_KEYS.items()}
_CANONICAL_RAM_KEY: dict[str, str] = {ram.lower(): ram for ram, _ in LANGUAGE_KEYS.values()}


def ram_key(name: str) -> str | None:
    """``source_ip`` or ``acs:sourceip`` → ``acs:SourceIp``; None for an unknown key."""
    low = name.lower()
    if low in LANGUAGE_KEYS:
        return LANGUAGE_KEYS[low][0]
    return _CANONICAL_RAM_KEY.get(low)


def normalise_context(context: Mapping[str, object] | None) -> dict[str, object]:
    """Context with every key spelled as the RAM key; unknown keys kept as given.

    Raises KeyError naming a key given twice under two spellings, since which one wins would
    otherwise depend on dict order.
    """
    if not context:
        return {}
    out: dict[str, object] = {}
    for key, value in context.items():
        canonical = ram_key(key) or key
        if canonical in out:
            raise KeyError(f"context key `{canonical}` given twice")
        out[canonical] = value
    return out


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


def iso_time(text: str) -> datetime | None:
    """An ISO 8601 date and time; a bare date is not a time (it would mean midnight)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if "T" in text else None


def format_utc(when: datetime) -> str:
    """An aware time as RAM takes it: ISO 8601 in UTC ending in Z, the year always four
    digits (strftime's %Y is not padded below 1000), microseconds only when there are any."""
    utc = when.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"
