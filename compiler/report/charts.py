"""Charts as geometry: bars with x, y, width and height, computed here and drawn by the template
as SVG. Nothing is rendered in the browser, so the page needs no charting library."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from compiler.language.diagnostics import counted
from compiler.report.values import fmt, is_num, part

TOP = 10
"""Bars in a top-N chart."""
MAX_BINS = 240
"""Bars in the denials-over-time chart at most: hours are merged into wider bins past it."""
LABEL_CHARS = 48
"""A chart label is cut to this many characters (the full text is in its tooltip and table)."""

_CHART_W, _CHART_H = 960, 200
_PAD_L, _PAD_B, _PAD_T = 56, 28, 10


def timeline(over_time: dict | None) -> dict | None:
    """Bars for events and denies per time bin, dense from the first bucket to the last."""
    if not isinstance(over_time, dict) or not over_time.get("series"):
        return None
    step = timedelta(hours=1) if over_time.get("bucket") == "hour" else timedelta(days=1)
    points = []
    for index, row in enumerate(over_time["series"]):
        try:
            start = datetime.fromisoformat(row["start"])
        except (TypeError, ValueError, KeyError):
            continue
        points.append((start, row["events"], row["denied"], index))
    if not points:
        return None
    first, last = points[0][0], points[-1][0]
    buckets = int((last - first) / step) + 1
    per_bin = max(1, math.ceil(buckets / MAX_BINS))
    width = step * per_bin
    count = math.ceil(buckets / per_bin)
    bins: list[list] = [[0, 0, []] for _ in range(count)]
    for start, events, denied, index in points:
        slot = bins[min(count - 1, int((start - first) / width))]
        slot[0] += events
        slot[1] += denied
        slot[2].append(index)
    top = max(b[0] for b in bins) or 1
    plot_w = _CHART_W - _PAD_L - 8
    plot_h = _CHART_H - _PAD_B - _PAD_T
    bar_w = plot_w / count
    bars = []
    for i, (events, denied, members) in enumerate(bins):
        eh = plot_h * events / top
        dh = plot_h * denied / top
        bars.append(
            {
                "x": round(_PAD_L + i * bar_w, 2),
                "w": round(max(bar_w - (1 if bar_w > 3 else 0), 0.5), 2),
                "ey": round(_PAD_T + plot_h - eh, 2),
                "eh": round(eh, 2),
                "dy": round(_PAD_T + plot_h - dh, 2),
                "dh": round(dh, 2),
                "events": events,
                "denied": denied,
                "series": ",".join(map(str, members)),
                "title": f"{_when(first + width * i, width)}: {counted(events, 'event')}, "
                f"{denied:,} denied",
            }
        )
    ticks = [
        {"y": round(_PAD_T + plot_h - plot_h * f, 2), "text": fmt(round(top * f))}
        for f in (0, 0.5, 1)
    ]
    labels = []
    for i in sorted({0, count // 3, 2 * count // 3, count - 1}):
        # The first and last labels hang inwards: centred, they would be cut at the edges.
        anchor = "start" if i == 0 else "end" if i == count - 1 else "middle"
        x = _PAD_L + i * bar_w + {"start": 0, "middle": bar_w / 2, "end": bar_w}[anchor]
        labels.append({"x": round(x, 2), "text": _when(first + width * i, step), "anchor": anchor})
    return {
        "kind": "timeline",
        "width": _CHART_W,
        "height": _CHART_H,
        "base": _PAD_T + plot_h,
        "left": _PAD_L,
        "right": _CHART_W - 8,
        "bars": bars,
        "ticks": ticks,
        "labels": labels,
        "bin": _duration(width),
        "total_events": fmt(sum(b[0] for b in bins)),
        "total_denied": fmt(sum(b[1] for b in bins)),
    }


def _when(start: datetime, width: timedelta) -> str:
    if width < timedelta(days=1):
        return start.strftime("%Y-%m-%d %H:%M UTC")
    return start.strftime("%Y-%m-%d")


def _duration(width: timedelta) -> str:
    hours = int(width / timedelta(hours=1))
    if hours % 24 == 0:
        days = hours // 24
        return "1 day" if days == 1 else f"{days} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


_BAR_ROW = 22
_BAR_LABEL_W = 330
_BAR_W = 960


def short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def bar_chart(
    rows: list[dict],
    path: str,
    label_of: Callable[[dict], str],
    value_key: str,
    *,
    unit: str = "",
    scale: float | None = None,
    tone: str = "deny",
) -> dict | None:
    """Horizontal bars for the first ``TOP`` rows with a non-zero ``value_key``; ``scale``
    fixes the full width (100 for percentages), else the largest value fills it; ``tone``
    is the bars' colour class (``deny`` red, ``allow`` green, ``plain`` grey)."""
    shown = [(i, r) for i, r in enumerate(rows) if is_num(r.get(value_key)) and r[value_key]]
    shown = shown[:TOP]
    if not shown:
        return None
    top = scale or max(r[value_key] for _, r in shown) or 1
    room = _BAR_W - _BAR_LABEL_W - 90
    bars = []
    for n, (i, row) in enumerate(shown):
        name = label_of(row)
        value = row[value_key]
        bars.append(
            {
                "y": n * _BAR_ROW,
                "w": round(max(room * min(value, top) / top, 1), 2),
                "label": short(name),
                "title": f"{name}: {fmt(value)}{unit}",
                "value": fmt(value),
                "unit": unit,
                "path": f"{path}.{i}.{part(value_key)}",
            }
        )
    return {
        "kind": "bars",
        "tone": tone,
        "width": _BAR_W,
        "height": len(bars) * _BAR_ROW + 4,
        "left": _BAR_LABEL_W,
        "bars": bars,
    }
