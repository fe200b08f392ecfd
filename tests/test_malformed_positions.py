"""A malformed event is placed at ``file:LINE:COL``, the first byte of its element, in every
report: an array written on one line (ActionTrail's download) had all its malformed events at
``file:1``.

The reader gives each array element's line and column (``arrays.stream_array``), checked here
against the element's offset in the text for arrays laid out every way (one line, pretty,
blank lines, ``{"Events": …}``) and read through windows small enough that every element
straddles a cut. Then the CLI on a one-line array: the JSON report's ``malformed.first``
(``col``), the text summary's table, the HTML page's examples, ``--strict``'s error and the
"no event could be decided" error name the same places. A JSON line is at column 1.
"""

from __future__ import annotations

import gzip
import json
import random

import pytest
from test_html_report import parse

from compiler.replay import arrays
from compiler.replay.arrays import stream_array


def _event(n: int) -> dict:
    return {
        "eventId": f"e{n}",
        "eventName": "RunInstances",
        "eventSource": "ecs.cn-hangzhou.aliyuncs.com",
        "serviceName": "Ecs",
        "eventTime": "2026-03-02T00:00:00Z",
        "acsRegion": "cn-hangzhou",
        "userIdentity": {"type": "ram-user", "accountId": "1", "userName": f"u{n}ü"},
    }


# Malformed elements, each for another reason, and what the report says of them.
BAD = {
    3: ({"eventId": "no-name"}, "missing"),
    7: ({**_event(7), "eventName": 12}, "eventName"),
    11: ({**_event(11), "eventTime": "yesterday"}, "eventTime"),
}


def _elements(count: int) -> list[str]:
    return [json.dumps(BAD[n][0] if n in BAD else _event(n)) for n in range(count)]


def _position(text: bytes, offset: int) -> tuple[int, int]:
    line = text.count(b"\n", 0, offset) + 1
    return line, offset - (text.rfind(b"\n", 0, offset) + 1) + 1


def _layout(elements: list[str], style: str, rng: random.Random) -> tuple[str, list[int]]:
    """The array as text and the character offset where each element starts."""
    out: list[str] = ["[" if style != "events" else '{"Events": [']
    starts: list[int] = []
    for i, e in enumerate(elements):
        if i:
            out.append(",")
        if style == "pretty":
            out.append("\n  ")
        elif style == "ragged":
            out.append(rng.choice(["", " ", "\n", "\n\n   ", "\t", " \r\n "]))
        starts.append(sum(map(len, out)))
        out.append(e)
    out.append("\n]" if style == "pretty" else "]" if style != "events" else "]}")
    return "".join(out), starts


@pytest.mark.parametrize("window", [arrays._WINDOW, 300, 64])
@pytest.mark.parametrize("style", ["line", "pretty", "ragged", "indented"])
def test_each_element_comes_with_the_line_and_column_of_its_first_byte(monkeypatch, window, style):
    monkeypatch.setattr(arrays, "_WINDOW", window)
    rng = random.Random(f"{window}{style}")
    text, starts = _layout(_elements(40), "ragged" if style == "indented" else style, rng)
    head_pad = "  \n   " if style == "indented" else ""  # the `[` not at 1:1
    data = (head_pad + text).encode()
    offset = len(head_pad.encode())
    # Offsets in bytes: the user names hold a two-byte character.
    byte_starts = [len((head_pad + text[:s]).encode()) for s in starts]
    size = max(1, window // 3)
    chunks = iter([data[i : i + size] for i in range(offset + size, len(data), size)])
    line, col = _position(data, offset)
    items = stream_array(chunks, data[: offset + size], offset, line, col)
    got = [(ln, c) for ln, c, _raw in items]
    assert got == [_position(data, s) for s in byte_starts]


def _run(tmp_path, run_cli, text: str, *more: str, name: str = "trail.json"):
    trace = tmp_path / name
    if name.endswith(".gz"):
        trace.write_bytes(gzip.compress(text.encode()))
    else:
        trace.write_text(text, "utf-8")
    rules = tmp_path / "r.rules"
    rules.write_text("deny ECS RunInstances\n")
    return trace, run_cli("simulate", "--rules", rules, "--trace", trace, *more)


@pytest.mark.parametrize("style", ["line", "events"])
def test_reports_place_malformed_elements_of_a_one_line_array(tmp_path, run_cli, style):
    text, starts = _layout(_elements(14), style, random.Random(0))
    assert "\n" not in text
    cols = {n: len(text[: starts[n]].encode()) + 1 for n in BAD}
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    trace, result = _run(tmp_path, run_cli, text, "--report", report, "--html", page)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    first = data["malformed"]["first"]
    assert [(m["line"], m["col"]) for m in first] == [(1, cols[n]) for n in sorted(BAD)]
    for m, n in zip(first, sorted(BAD), strict=True):
        assert m["file"] == str(trace) and BAD[n][1] in m["reason"]
    # The text summary's table: `file:1:COL` and the reason, one row each.
    rows = [line for line in result.stdout.splitlines() if f"{trace}:1:" in line]
    assert len(rows) == 3
    for row, n in zip(rows, sorted(BAD), strict=True):
        assert f"{trace}:1:{cols[n]} " in row and BAD[n][1] in row, row
    # The page's examples: one row per malformed element (they share a line), with its col.
    examples = json.loads(parse(page.read_text("utf-8")).scripts[0])
    columns = examples["columns"]
    bad = [r for r in examples["rows"] if r[0] == "malformed"]
    at = [(r[columns.index("line")], r[columns.index("col")]) for r in bad]
    assert at == [(1, cols[n]) for n in sorted(BAD)]


def test_strict_and_nothing_decided_name_the_same_place(tmp_path, run_cli):
    text, starts = _layout(_elements(14), "line", random.Random(0))
    col = len(text[: starts[3]].encode()) + 1
    trace, result = _run(tmp_path, run_cli, text, "--strict", name="trail.json.gz")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{trace}:1:{col}: error: malformed event: "), result.stderr
    assert "missing" in result.stderr and "Traceback" not in result.stderr
    only_bad = "[" + ", ".join(json.dumps(BAD[n][0]) for n in sorted(BAD)) + "]"
    trace, result = _run(tmp_path, run_cli, only_bad, name="bad.json")
    assert result.exit_code == 1
    assert f"3 malformed (first at {trace}:1:2: " in result.stderr, result.stderr


def test_a_json_line_is_at_column_one(tmp_path, run_cli):
    lines = [json.dumps(_event(0)), json.dumps(BAD[3][0]), json.dumps(_event(1))]
    report = tmp_path / "r.json"
    trace, result = _run(tmp_path, run_cli, "\n".join(lines) + "\n", "--report", report)
    assert result.exit_code == 0, result.stderr
    first = json.loads(report.read_text())["malformed"]["first"]
    assert [(m["line"], m["col"]) for m in first] == [(2, 1)]
    assert f"{trace}:2:1" in result.stdout
    trace, result = _run(tmp_path, run_cli, "\n".join(lines) + "\n", "--strict")
    assert result.stderr.startswith(f"{trace}:2:1: error: malformed event: ")
