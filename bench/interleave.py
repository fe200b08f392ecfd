"""Interleaved rounds: the way every ratio ``python -m bench`` prints is measured.

In each round every peer runs once, one after the other (each as the best of ``repeat``
calls, so a context switch inside one call does not count); there are ``ROUNDS`` rounds. A
ratio is then computed per round — both sides measured within the same second, so load from
other processes on a shared machine hits both — and the table shows the median round with
the spread of all rounds, never one lucky run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

ROUNDS = 3


def interleaved(
    peers: Mapping[str, Callable[[], object]],
    rounds: int = ROUNDS,
    repeat: int = 1,
    before: Mapping[str, Callable[[], object]] | None = None,
) -> dict[str, list[float]]:
    """Seconds per round for each peer. ``before[name]`` runs untimed ahead of each timed
    call of that peer (resetting a memo, say)."""
    before = before or {}
    times: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(rounds):
        for name, fn in peers.items():
            best = float("inf")
            for _ in range(repeat):
                if name in before:
                    before[name]()
                t0 = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t0)
            times[name].append(best)
    return times


def per_round(times: Mapping[str, list[float]], top: str, bottom: str) -> list[float]:
    """``top / bottom`` in each round."""
    return [a / b for a, b in zip(times[top], times[bottom], strict=True) if b > 0]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def spread(values: list[float], unit: str = "x") -> str:
    """``rounds 1.02 / 1.10 / 1.31x``: every round, sorted, for the table's note."""
    return "rounds " + " / ".join(f"{v:,.2f}" for v in sorted(values)) + unit
