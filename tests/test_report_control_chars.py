"""Control characters from a trace are shown escaped on the HTML page, as the text summary
shows them, and kept in the JSON report.

A user name holding U+202E (RIGHT-TO-LEFT OVERRIDE) reorders what follows it on a page as on a
terminal, and an ESC or a BEL renders as nothing. The text summary shows them as ``\\u202e``
and ``\\x1b`` (``printable``); the page must too, in its markup and in the examples' data
(which its script puts on the page as text), while the JSON report, which is data, keeps the
strings as recorded.
"""

from __future__ import annotations

import json

import pytest
from test_html_report import browse, console, parse

NAME = "\u202eevil\x1b[31m"
EVENT_ID = "e\x07\u2066id"
KEY = "LTAI\x1b]0;title\x07"
SHOWN = {NAME: "\\u202eevil\\x1b[31m", EVENT_ID: "e\\x07\\u2066id", KEY: "LTAI\\x1b]0;title\\x07"}
RAW = ("\u202e", "\u2066", "\x1b", "\x07")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    from click.testing import CliRunner

    from compiler.cli import main

    root = tmp_path_factory.mktemp("ctl")
    event = {
        "eventId": EVENT_ID,
        "eventName": "RunInstances",
        "eventSource": "ecs.cn-hangzhou.aliyuncs.com",
        "serviceName": "Ecs",
        "eventTime": "2026-03-02T00:00:00Z",
        "acsRegion": "cn-hangzhou",
        "sourceIpAddress": "10.0.0.1",
        "userIdentity": {
            "type": "ram-user",
            "accountId": "1",
            "userName": NAME,
            "accessKeyId": KEY,
        },
    }
    trace = root / "t.jsonl"
    trace.write_text(json.dumps(event) + "\n")
    rules = root / "r.rules"
    rules.write_text("deny ECS RunInstances\n")
    report, page = root / "r.json", root / "r.html"
    args = ["simulate", "--rules", str(rules), "--trace", str(trace), "--by", "name"]
    result = CliRunner().invoke(main, [*args, "--report", str(report), "--html", str(page)])
    assert result.exit_code == 0, result.output
    return {
        "stdout": result.output,
        "report": json.loads(report.read_text("utf-8")),
        "html": page.read_text("utf-8"),
    }


def test_json_report_keeps_the_recorded_strings(run):
    tables = run["report"]["who"]["tables"]
    assert [r["key"] for r in tables["name"]["rows"]] == [NAME]
    assert [r["key"] for r in tables["access_key"]["rows"]] == [KEY]
    assert tables["name"]["rows"][0]["first_denied"]["event_id"] == EVENT_ID
    assert run["report"]["by_access_key"][0]["access_key"] == KEY


def test_text_summary_shows_them_escaped(run):
    out = run["stdout"]
    assert not any(ch in out for ch in RAW)
    name_row = next(line for line in out.splitlines() if "evil" in line)
    assert SHOWN[NAME] in name_row and SHOWN[EVENT_ID] in name_row
    assert SHOWN[KEY] in out


def test_page_shows_them_escaped_as_the_text_summary_does(run):
    html = run["html"]
    assert [ch for ch in RAW if ch in html] == []
    dom = parse(html)
    shown = "".join(dom.text)
    for value in (NAME, KEY):  # the who tables, AccessKeys, chart labels
        assert SHOWN[value] in shown
    # The examples' data: the strings the script writes into the table as text.
    data = json.loads(dom.scripts[0])
    cells = {c for row in data["rows"] for c in row if isinstance(c, str)}
    assert {SHOWN[EVENT_ID], f"acs:ram::1:user/{SHOWN[NAME]}"} <= cells
    assert not any(ch in c for c in cells for ch in RAW)


def test_page_after_its_script_ran_shows_them_escaped(run, tmp_path):
    """In Chromium: the examples table the script fills holds the escaped text too."""
    page = tmp_path / "r.html"
    page.write_text(run["html"], "utf-8")
    dumped = browse(page, tmp_path, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert console(dumped.stderr) == []
    body = dumped.stdout.split('<tbody id="examples-body">')[1].split("</tbody>")[0]
    assert SHOWN[EVENT_ID] in body and SHOWN[NAME] in body
    assert [ch for ch in RAW if ch in dumped.stdout] == []
