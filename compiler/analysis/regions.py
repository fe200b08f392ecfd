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
  Numbers are worked out exactly (``_midway``), never at the decimal context's 28 digits.
- Strings: the glob classes (``globsets.classes``) of the StringLike patterns together with the
  StringEquals values as literals, each class's shortest string (one pattern: built without
  the automaton, ``_one_glob_reps``); with IgnoreCase values, the classes of the product
  with their folded spellings (``folded.folded_classes``), mixed case included.
- Bool: true, false, an upper-case TRUE and a non-bool.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import MAX_EMAX, MIN_EMIN, Decimal, Inexact, InvalidOperation, localcontext
from itertools import count

from compiler.analysis.folded import folded_classes
from compiler.analysis.globsets import Literal, classes
from compiler.model.glob import glob_match


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


def _midway(a: Decimal, b: Decimal) -> Decimal:
    """A number strictly between ``a < b``, computed exactly: at the default context's 28
    digits ``(a + b) / 2`` of two 33-digit neighbours rounds onto one of them, and the gap
    between them (a region) was never tested — ``check`` called a satisfiable rule dead.
    The midpoint when it is short enough to write; else (operands of far-apart magnitudes,
    ``1e-999999999`` and ``1e999999999``) the next number after ``a`` at the fewest digits
    that stay below ``b``, so no operand makes the arithmetic huge."""
    exps = (a.as_tuple().exponent, b.as_tuple().exponent)
    span = max(a.adjusted(), b.adjusted()) - min(int(e) for e in exps) + 3
    with localcontext() as ctx:
        ctx.Emin, ctx.Emax = MIN_EMIN, MAX_EMAX
        ctx.traps[Inexact] = True  # never a rounded answer, whatever the context
        if span <= 1000 or not a or not b:
            # Exact: the sum has at most span - 2 digits and halving adds one; with a zero
            # operand the sum is the other one, whatever the span.
            ctx.prec = min(span, len((a or b).as_tuple().digits) + 2) if not a or not b else span
            return (a + b) / 2
        ctx.traps[Inexact] = False  # next_plus rounds by definition; the loop checks it
        digits = len(a.as_tuple().digits)
        while True:
            digits += 1
            ctx.prec = digits
            step = a.next_plus()
            if a < step < b:
                return step


def _outside(n: Decimal, sign: int) -> Decimal:
    """Some number below (``sign`` -1) or above (+1) ``n``, exactly: ``n ∓ 1`` when that is
    short to write, else a value of ``n``'s own digits (0 or 2n), never rounded."""
    with localcontext() as ctx:
        ctx.Emin, ctx.Emax = MIN_EMIN, MAX_EMAX
        ctx.traps[Inexact] = True
        if int(n.as_tuple().exponent) > -100 and n.adjusted() < 100:
            ctx.prec = 250
            return n + sign
        if (n > 0) == (sign > 0):
            ctx.prec = len(n.as_tuple().digits) + 1
            return n * 2
        return Decimal(0)


def _number_reps(values: Iterable[str]) -> list[str]:
    nums = set()
    for value in values:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            continue
        if number.is_finite():  # `NaN` or `Infinity` in a document is no number to RAM
            nums.add(number)
    out: set[Decimal] = {Decimal(0)}
    ordered = sorted(nums)
    for i, n in enumerate(ordered):
        out.add(n)
        below = ordered[i - 1] if i else _outside(n, -1)
        above = ordered[i + 1] if i + 1 < len(ordered) else _outside(n, 1)
        out.add(_midway(below, n))
        out.add(_midway(n, above))
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


def _filler(k: int) -> str:
    """The ``k``-th of distinct single characters (ASCII letters first)."""
    return chr(0x41 + k) if k < 26 else chr(0x100 + k)


def _one_glob_reps(pattern: str, equals: list[str]) -> list[str]:
    """The regions of one ``like`` pattern and some literal values, without an automaton:
    each literal (its own region), a string the pattern matches that is no literal, and one
    it does not match that is no literal — each where one exists. Subset construction would
    give the same regions, but it doubles with each `?` after a `*` (`role/*-` and 18 `?`
    ran past 200,000 states: a traceback in ``check``, "could not decide" in ``prove``).
    The candidates are built, not searched for: ``len(equals) + 1`` distinct strings on
    each side wherever the side has that many, so one is no literal, each confirmed by the
    linear-time matcher."""
    listed = set(equals)
    n = len(listed) + 1
    plain = pattern.replace("*", "")
    literal_chars = {c for c in plain if c != "?"}
    other = next(c for c in map(chr, count(0x78)) if c not in literal_chars)
    base = plain.replace("?", other)
    star = pattern.find("*")
    inside: list[str]
    if star >= 0:  # a run of `other` of each length at the first `*`
        cut = len(pattern[:star])
        inside = [base[:cut] + other * k + base[cut:] for k in range(n)]
    elif "?" in pattern:  # each filler for the first `?`
        q = pattern.index("?")
        inside = [base[:q] + _filler(k) + base[q + 1 :] for k in range(n)]
    else:
        inside = [pattern]  # its only match
    # Not matching: without a literal character of the pattern (when it has one); the
    # empty string and single characters (shorter than a `*`-pattern's fixed `?` run);
    # longer than a pattern without `*` matches.
    outside = [other * k for k in range(n)] if literal_chars else []
    outside += ["", *map(_filler, range(n))]
    outside += [base + other * (k + 1) for k in range(n)] if star < 0 else []
    reps = set(equals)
    for group, want in ((inside, True), (outside, False)):
        found = next(
            (
                t
                for t in group
                if t not in listed and glob_match(pattern, t, ignore_case=False) is want
            ),
            None,
        )
        if found is not None:
            reps.add(found)
    return sorted(reps) or [""]


def _string_reps(likes: list[str], exact: list[str], folded: list[str]) -> list[str]:
    if folded:  # ignorecase values: their spellings are regions too (``folded``)
        return folded_classes(likes, exact, folded)
    distinct = sorted(set(likes))
    if len(distinct) == 1:
        return _one_glob_reps(distinct[0], exact)
    patterns: list[str | Literal] = [*likes, *(Literal(v) for v in exact)]
    return sorted({text for _, text in classes(patterns, fold=False)} if patterns else {""})


def representatives(conditions: Iterable[tuple[str, tuple[str, ...]]]) -> list[object]:
    """``conditions``: (RAM operator, listed values) of every condition on one key."""
    likes: list[str] = []
    exact: list[str] = []
    folded: list[str] = []
    ips: list[str] = []
    nums: list[str] = []
    times: list[str] = []
    bools = False
    for operator, values in conditions:
        vals = [str(v) for v in values]
        if operator in ("StringLike", "StringNotLike"):
            likes += vals
        elif operator.endswith("IgnoreCase"):
            folded += vals
        elif operator.startswith("String"):
            exact += vals
        elif operator in ("IpAddress", "NotIpAddress"):
            ips += vals
        elif operator.startswith("Numeric"):
            nums += vals
        elif operator.startswith("Date"):
            times += vals
        elif operator == "Bool":
            bools = True
    reps: set[str] = {MALFORMED}
    if likes or exact or folded:
        reps |= set(_string_reps(likes, exact, folded))
    if ips:
        reps |= set(_ip_reps(ips))
    if nums:
        reps |= set(_number_reps(nums))
    if times:
        reps |= set(_time_reps(times))
    if bools:
        reps |= {"true", "false", "TRUE", "False"}
    return [ABSENT, *sorted(reps, key=lambda r: (len(r), r))]
