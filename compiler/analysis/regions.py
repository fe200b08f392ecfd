"""One representative value per region of a condition key's values.

The listed values of every condition on a key cut its values into finitely many regions on
which every condition gives one answer: absent; malformed (not an IP, number, time or bool);
and the cells the CIDRs, numbers, times, strings and globs cut out. ``representatives``
returns one value from each region (``ABSENT`` for the absent key), so evaluating the
conditions on these values alone is evaluating them on every value there is.

- IP: membership changes only at a CIDR's first and last address, so each CIDR's first, last
  and their outer neighbours cover every interval (IPv4 and IPv6 apart).
- Numbers and times: each listed value, a value just below and just above it (a time ± 1 µs;
  none past year 1 or 9999 — no OverflowError, issue 16 F8), which covers every open interval.
- Strings: the glob classes (``globsets.classes``) of the StringLike patterns together with the
  StringEquals values as literals, each class's shortest string, plus upper/lower-case
  variants for the IgnoreCase operators.
- Bool: true, false, an upper-case TRUE and a non-bool.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from compiler.analysis.globsets import Literal, classes


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
MALFORMED = "not-a-value"


def _ip_reps(values: Iterable[str]) -> list[str]:
    out: set[str] = {"0.0.0.0", "::"}
    for value in values:
        try:
            net = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            continue
        top = (1 << net.max_prefixlen) - 1
        first, last = int(net.network_address), int(net.broadcast_address)
        cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
        for n in (first - 1, first, last, last + 1):
            if 0 <= n <= top:
                out.add(str(cls(n)))
    return sorted(out)


def _number_reps(values: Iterable[str]) -> list[str]:
    nums = set()
    for value in values:
        try:
            nums.add(Decimal(str(value)))
        except InvalidOperation:
            continue
    out: set[Decimal] = {Decimal(0)}
    ordered = sorted(nums)
    for i, n in enumerate(ordered):
        out.add(n)
        below = ordered[i - 1] if i else n - 1
        above = ordered[i + 1] if i + 1 < len(ordered) else n + 1
        out.add((below + n) / 2)
        out.add((n + above) / 2)
    return [str(n) for n in sorted(out)]


def _parse_time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _time_reps(values: Iterable[str]) -> list[str]:
    out: set[datetime] = set()
    step = timedelta(microseconds=1)
    for value in values:
        t = _parse_time(value)
        if t is None:
            continue
        out.add(t)
        for delta in (-step, step):
            # Nothing before year 1 or after 9999: no region there.
            with contextlib.suppress(OverflowError):
                out.add(t + delta)
    if not out:
        out.add(datetime(2000, 1, 1, tzinfo=UTC))
    return [t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(27, "0") for t in sorted(out)]


def _string_reps(likes: list[str], equals: list[str], ignorecase: bool) -> list[str]:
    patterns: list[str | Literal] = [*likes, *(Literal(v) for v in equals)]
    reps = {text for _, text in classes(patterns, fold=False)} if patterns else {""}
    if ignorecase:
        reps |= {r.lower() for r in reps} | {r.upper() for r in reps} | {r.swapcase() for r in reps}
        reps |= {v.lower() for v in equals} | {v.upper() for v in equals}
    return sorted(reps)


def representatives(conditions: Iterable[tuple[str, tuple[str, ...]]]) -> list[object]:
    """``conditions``: (RAM operator, listed values) of every condition on one key."""
    likes: list[str] = []
    equals: list[str] = []
    ignorecase = False
    ips: list[str] = []
    nums: list[str] = []
    times: list[str] = []
    bools = False
    for operator, values in conditions:
        vals = [str(v) for v in values]
        if operator in ("StringLike", "StringNotLike"):
            likes += vals
        elif operator.startswith("String"):
            equals += vals
            ignorecase = ignorecase or operator.endswith("IgnoreCase")
        elif operator in ("IpAddress", "NotIpAddress"):
            ips += vals
        elif operator.startswith("Numeric"):
            nums += vals
        elif operator.startswith("Date"):
            times += vals
        elif operator == "Bool":
            bools = True
    reps: set[str] = {MALFORMED}
    if likes or equals:
        reps |= set(_string_reps(likes, equals, ignorecase))
    if ips:
        reps |= set(_ip_reps(ips))
    if nums:
        reps |= set(_number_reps(nums))
    if times:
        reps |= set(_time_reps(times))
    if bools:
        reps |= {"true", "false", "TRUE", "False"}
    return [ABSENT, *sorted(reps, key=lambda r: (len(r), r))]
