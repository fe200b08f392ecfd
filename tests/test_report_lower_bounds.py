"""The source-IP table's counts past 512 addresses are lower bounds, and the reports say so.

``who.tables.source_ip`` is an ``impact.BoundedTable``: past 2 × 256 distinct addresses in a
split it drops the least-counted ones, and a kept address's counts start when it was last
taken in. The JSON says ``"approximate": true`` with ``max_uncounted_calls`` and the rest; the
text summary (``--by source_ip``) and the HTML page must not show those counts as if exact:
each is ``≥ N``, with a line saying by how much it may be short, in the JSON's numbers. An
exact table (fewer addresses) reads as before. Every number on the page still reads back
as the JSON's at its ``data-path``.
"""

from __future__ import annotations

import json
import re

import pytest
from test_html_report import at, parse, shown_number

RULES = "deny ECS RunInstances\n"
COUNTS = re.compile(r"\.rows\.\d+\.(events|denied)$")


def _event(n: int, ip: str) -> dict:
    name = "RunInstances" if n % 3 else "DescribeInstances"
    return {
        "eventId": f"e{n}",
        "eventName": name,
        "eventSource": "ecs.cn-hangzhou.aliyuncs.com",
        "serviceName": "Ecs",
        "eventTime": f"2026-03-02T00:{n % 60:02d}:00Z",
        "acsRegion": "cn-hangzhou",
        "sourceIpAddress": ip,
        "userIdentity": {"type": "ram-user", "accountId": "1", "userName": f"u{n % 7}"},
    }


def _run(tmp_path, run_cli, addresses: int) -> dict:
    """A trace of 1,200 calls: every fourth from 10.9.0.1, the rest from ``addresses``
    addresses in turn; replayed with --by source_ip, --report and --html."""
    ips = [f"203.0.{i // 250}.{i % 250 + 1}" for i in range(addresses)]
    others = (ips[k % addresses] for k in range(900))
    events = [_event(n, "10.9.0.1" if n % 4 == 0 else next(others)) for n in range(1200)]
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    rules = tmp_path / "r.rules"
    rules.write_text(RULES)
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    args = ["simulate", "--rules", rules, "--trace", trace, "--by", "source_ip", "--top", "5"]
    result = run_cli(*args, "--report", report, "--html", page)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    return {"stdout": result.stdout, "report": data, "html": page.read_text("utf-8")}


@pytest.fixture
def many(tmp_path, run_cli) -> dict:
    run = _run(tmp_path, run_cli, 899)
    table = run["report"]["who"]["tables"]["source_ip"]
    assert table["approximate"] is True and table["distinct"] == 900
    assert table["max_uncounted_calls"] >= 1 and table["kept_values"] < 900
    return run


@pytest.fixture
def few(tmp_path, run_cli) -> dict:
    run = _run(tmp_path, run_cli, 99)
    table = run["report"]["who"]["tables"]["source_ip"]
    assert table["approximate"] is False and table["distinct"] == 100
    return run


def _note(table: dict) -> str:
    return (
        f"counts are lower bounds: up to {table['max_uncounted_calls']:,} calls "
        f"({table['max_uncounted_denied']:,} denied) per address were made before it entered "
        f"the table and are not counted; {table['kept_values']:,} of {table['distinct']:,} "
        f"addresses kept, {table['other']['calls']:,} calls ({table['other']['denied']:,} "
        "denied) by the others are in no row"
    )


def _text_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """The source-IP table of the summary: address → (events cell, denied cell)."""
    table = stdout.split("Calls by source IP")[1]
    rows = {}
    for line in table.splitlines()[4:]:
        if not line.startswith("│"):
            break
        cells = [c.strip() for c in line.strip("│").split("│")]
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_text_summary_shows_lower_bounds_and_by_how_much(many):
    table = many["report"]["who"]["tables"]["source_ip"]
    rows = _text_rows(many["stdout"])
    assert len(rows) == 5 and "10.9.0.1" in rows
    for row in table["rows"][:5]:
        assert rows[row["key"]] == (f"≥ {row['events']:,}", f"≥ {row['denied']:,}")
    assert _note(table) + "\n" in many["stdout"]
    # The count the top address really had: its row may be short, never over.
    assert table["rows"][0]["key"] == "10.9.0.1" and table["rows"][0]["events"] <= 300


def test_text_summary_of_an_exact_table_is_unchanged(few):
    table = few["report"]["who"]["tables"]["source_ip"]
    rows = _text_rows(few["stdout"])
    assert rows["10.9.0.1"] == ("300", f"{table['rows'][0]['denied']:,}")
    for row in table["rows"][:5]:
        assert rows[row["key"]] == (f"{row['events']:,}", f"{row['denied']:,}")
    assert "≥" not in few["stdout"] and "lower bounds" not in few["stdout"]


def test_page_shows_lower_bounds_where_the_json_says_approximate(many):
    report = many["report"]
    dom = parse(many["html"])
    bounded = [(p, t) for p, t in dom.numbers if p.startswith("who.tables.source_ip.rows.")]
    assert any(p.endswith(".events") for p, _ in bounded)
    assert any(p.endswith(".denied") for p, _ in bounded)  # in the bars and the table
    for path, text in dom.numbers:
        if path.startswith("who.tables.source_ip.") and COUNTS.search(path):
            assert text.startswith("≥ "), path
            assert shown_number(text.removeprefix("≥ ")) == at(report, path), path
        else:
            assert "≥" not in text, path
            assert shown_number(text) == at(report, path), path
    assert _note(report["who"]["tables"]["source_ip"]) in "".join(dom.text)
    assert many["html"].count("counts are lower bounds") == 1


def test_page_of_an_exact_table_shows_plain_counts(few):
    dom = parse(few["html"])
    assert any(p.startswith("who.tables.source_ip.rows.") for p, _ in dom.numbers)
    for path, text in dom.numbers:
        assert shown_number(text) == at(few["report"], path), path
    assert "≥" not in few["html"] and "lower bounds" not in few["html"]
