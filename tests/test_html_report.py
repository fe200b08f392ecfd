"""``simulate --html``: one self-contained page, opened in headless Chromium (issue 13 item 5).

The page is rendered from a trace whose access keys, event ids, file name, malformed lines and
rule text carry hostile text (rich markup, HTML, Jinja, ``</script>``), then loaded by
Chromium: the test reads the DOM after the script ran (``--dump-dom``) and a screenshot.
It asserts that the charts are SVG and painted (the deny red is on the screen), that no
console message was logged (an exception, a CSP refusal), that every number on the page
equals the JSON report at the place it names (``data-path``), that the examples table was
filled and filters, and that the hostile text is shown literally and created no element.

Chromium comes from Debian (``.ci/run`` installs it); the browser tests are skipped only when
it is absent outside CI, and fail in CI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compiler.replay.simulate import PartialReport, over_time
from compiler.report import render_html
from compiler.report.charts import MAX_BINS, timeline

HOSTILE = [
    "[/oops]",
    "[bold red]LTAI",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "</script><img src=x onerror=alert(2)>",
]
RULES = (
    'policy hostile "x"\n'
    'deny ECS RunInstances when vpc not in ["</script>{{ 7*7 }}", "[/oops]", "<b>v</b>"]\n'
    "deny RAM *\n"
)
# The page's own elements; a hostile value that became markup would add another.
_TAGS = "html head meta title style body header h1 h2 h3 p main section div span b ul li svg g"
_TAGS += " text tspan rect line table thead tbody tr th td input select option script"
ALLOWED_TAGS = frozenset(_TAGS.split(" "))


def _event(n: int, key: str, *, name: str = "RunInstances", hour: int = 0, **extra) -> dict:
    service = {
        "RunInstances": ("ecs", "Ecs"),
        "DescribeInstances": ("ecs", "Ecs"),
        "CreateUser": ("ram", "Ram"),
    }[name]
    return {
        "eventId": extra.pop("event_id", f"e{n}"),
        "eventVersion": "1",
        "eventType": "ApiCall",
        "eventName": name,
        "eventSource": f"{service[0]}.cn-shanghai.aliyuncs.com",
        "serviceName": service[1],
        "eventTime": extra.pop("time", f"2026-03-02T{hour:02d}:0{n % 10}:02Z"),
        "acsRegion": "cn-shanghai",
        "sourceIpAddress": "10.1.1.1",
        "userIdentity": {
            "type": "ram-user",
            "accessKeyId": key,
            "accountId": "1",
            "userName": extra.pop("user", key),
        },
        **extra,
    }


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> dict:
    """Rules, a trace and a RAM JSON document that disagrees with the rules on RAM calls (so
    the report has mismatch examples), replayed by the real CLI with --report and --html."""
    root = tmp_path_factory.mktemp("html")
    rules = root / "hostile.rules"
    rules.write_text(RULES)
    events = []
    for n in range(30):
        key = HOSTILE[n % len(HOSTILE)]
        name = "CreateUser" if n % 3 == 0 else "DescribeInstances" if n % 5 == 4 else "RunInstances"
        event_id = HOSTILE[n % len(HOSTILE)] if name == "CreateUser" else f"e{n}"
        events.append(_event(n, key, name=name, hour=n % 4, event_id=event_id))
    lines = [json.dumps(e) for e in events]
    lines.insert(7, json.dumps(_event(99, "k", time="<script>alert(3)</script>")))
    lines.insert(3, '{"eventId": "[/oops] {{ 7*7 }}", ')
    trace = root / "trace-<i>x&amp;.jsonl"
    trace.write_text("\n".join(lines) + "\n")
    # Denies ECS only: every RAM call the rules deny is a mismatch, with a hostile event id.
    policy = root / "ecs-only.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": ["ecs:RunInstances"],
                        "Resource": "*",
                        "Condition": {
                            "StringNotEquals": {
                                "acs:SourceVpc": ["</script>{{ 7*7 }}", "[/oops]", "<b>v</b>"]
                            }
                        },
                    }
                ],
            }
        )
    )
    # In place before: RAM and ECS DescribeInstances. The new rules tighten (RunInstances)
    # and loosen (DescribeInstances): the plan has + and - lines.
    baseline = root / "old.rules"
    baseline.write_text('policy hostile "x"\ndeny RAM *\ndeny ECS DescribeInstances\n')
    report, page = root / "report.json", root / "report.html"
    from click.testing import CliRunner

    from compiler.cli import main

    args = ["simulate", "--rules", str(rules), "--trace", str(trace), "--policy", str(policy)]
    args += ["--baseline", str(baseline)]
    result = CliRunner().invoke(main, [*args, "--report", str(report), "--html", str(page)])
    assert result.exit_code == 1, result.output  # the planted mismatches
    data = json.loads(report.read_text())
    assert data["mismatches"]["count"] == 10 and data["malformed"]["count"] == 2
    by_hand = {
        n: sum(e["eventName"] == n for e in events) for n in ("RunInstances", "DescribeInstances")
    }
    assert data["plan"]["newly_denied"] == by_hand["RunInstances"] == 16
    assert data["plan"]["no_longer_denied"] == by_hand["DescribeInstances"] == 4
    return {"root": root, "report": data, "page": page, "html": page.read_text("utf-8")}


# --- the page as text (no browser) ----------------------------------------------------------


class Dom(HTMLParser):
    """Elements, attributes, text outside scripts, and (data-path, text) of every number."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.numbers: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self.rows: dict[str, int] = {}
        """Rows under each element with an id (the nearest one)."""
        self.hidden: dict[str, int] = {}
        self._open: list[tuple[str, dict, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "tr":
            owner = next((a["id"] for _, a, _ in reversed(self._open) if "id" in a), "")
            self.rows[owner] = self.rows.get(owner, 0) + 1
            if "hidden" in attributes:
                self.hidden[owner] = self.hidden.get(owner, 0) + 1
        if tag not in ("meta", "input", "br"):
            self._open.append((tag, attributes, []))

    def handle_endtag(self, tag):
        while self._open:
            name, attributes, chunks = self._open.pop()
            content = "".join(chunks)
            if name == "script":
                self.scripts.append(content)
            elif "data-path" in attributes:
                self.numbers.append((attributes["data-path"], content))
            if self._open and name != "script":
                self._open[-1][2].append(content)
            if name == tag:
                break

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)
        if not self._open or self._open[-1][0] not in ("script", "style"):
            self.text.append(data)


def parse(html: str) -> Dom:
    dom = Dom()
    dom.feed(html)
    dom.close()
    return dom


def at(report: dict, path: str):
    """``data-path`` read back: dotted steps, ``~1`` for a ``.`` in a key, ``~0`` for ``~``."""
    node = report
    for step in path.split("."):
        step = step.replace("~1", ".").replace("~0", "~")
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def shown_number(text: str):
    text = text.strip().replace(",", "")
    if text == "–":
        return None
    return float(text) if "." in text or "e" in text else int(text)


def test_page_holds_no_reference_to_anything_outside_itself(hostile_run):
    dom = parse(hostile_run["html"])
    linked = [(t, k) for t, a in dom.tags for k in a if k in ("src", "href", "xlink:href")]
    assert linked == []
    assert "url(" not in hostile_run["html"] and "@import" not in hostile_run["html"]
    csp = next(a["content"] for t, a in dom.tags if a.get("http-equiv"))
    assert "default-src 'none'" in csp


def test_hostile_text_cannot_leave_the_json_block(hostile_run):
    html = hostile_run["html"]
    # our two script elements and nothing else, whatever the trace held
    assert html.count("<script") == 2 and html.count("</script>") == 2
    block = html.split('<script type="application/json" id="examples-data">')[1]
    block = block.split("</script>")[0]
    assert "<" not in block and ">" not in block and "&" not in block
    data = json.loads(block)
    assert HOSTILE[4] in {c for row in data["rows"] for c in row}


def test_the_script_is_allowed_by_its_hash_and_nothing_else_is():
    dom = parse(render_html({"events": 0}))
    csp = next(a["content"] for t, a in dom.tags if a.get("http-equiv"))
    assert f"script-src '{_csp_hash(dom.scripts[-1])}';" in csp


def test_a_key_with_dots_still_names_its_number():
    report = {"events": 1, "recorded": {"matrix": {}, "by_code": {"Forbidden.RAM": 3, "a~b": 4}}}
    numbers = dict(parse(render_html(report)).numbers)
    assert at(report, "recorded.by_code.Forbidden~1RAM") == 3
    assert numbers["recorded.by_code.Forbidden~1RAM"] == "3"
    assert numbers["recorded.by_code.a~0b"] == "4"


def test_sections_the_page_does_not_know_are_shown_with_their_numbers():
    report = {
        "events": 3,
        "denied": 2,
        "plan": {"newly_denied": 2, "examples": [{"event_id": "<x>", "action": "ecs:A"}]},
        "by_principal": [{"principal": "role/<ci>", "events": 3, "denied": 2}],
        "coverage": {"percent": 50.5, "unused": [{"file": "a.rules", "line": 3}]},
    }
    dom = parse(render_html(report))
    numbers = dict(dom.numbers)
    assert numbers["plan.newly_denied"] == "2"
    assert numbers["by_principal.0.denied"] == "2"
    assert numbers["coverage.percent"] == "50.5"
    assert numbers["coverage.unused.0.line"] == "3"
    assert "role/<ci>" in "".join(dom.text)
    data = json.loads(dom.scripts[0])
    assert data["rows"] == [["plan", "<x>", "ecs:A"]]


# --- denials over time ------------------------------------------------------------------------


def test_over_time_merges_by_addition_and_in_utc():
    a = PartialReport(by_hour={"2026-03-02T00": [3, 1]})
    b = PartialReport(by_hour={"2026-03-02T00": [2, 2], "2026-03-02T05": [1, 0]})
    c = PartialReport(by_hour={"2026-03-03T23": [4, 4]})
    assert a.merge(b).merge(c).by_hour == a.merge(b.merge(c)).by_hour == c.merge(b).merge(a).by_hour
    series = over_time(a.merge(b).merge(c).by_hour)
    assert series == {
        "bucket": "hour",
        "series": [
            {"start": "2026-03-02T00:00:00Z", "events": 5, "denied": 3},
            {"start": "2026-03-02T05:00:00Z", "events": 1, "denied": 0},
            {"start": "2026-03-03T23:00:00Z", "events": 4, "denied": 4},
        ],
    }
    # more than a month: by the day
    long = over_time({"2026-01-01T01": [1, 1], "2026-01-01T09": [2, 0], "2026-03-01T00": [1, 0]})
    assert long["bucket"] == "day"
    assert long["series"][0] == {"start": "2026-01-01T00:00:00Z", "events": 3, "denied": 1}


def test_event_times_with_an_offset_count_in_their_utc_hour(tmp_path, run_cli):
    trace = tmp_path / "t.jsonl"
    events = [
        _event(1, "k", time="2026-03-02T08:30:00+08:00"),  # 00:30 UTC
        _event(2, "k", time="2026-03-02T00:10:00Z"),
        _event(3, "k", time="2026-03-01T23:59:59-01:00"),  # 00:59:59 UTC
    ]
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    rules = tmp_path / "r.rules"
    rules.write_text("deny ECS RunInstances\n")
    out = tmp_path / "r.json"
    result = run_cli("simulate", "--rules", rules, "--trace", trace, "--report", out, "-q")
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["over_time"]["series"] == [
        {"start": "2026-03-02T00:00:00Z", "events": 3, "denied": 3}
    ]


def test_a_long_span_is_binned_and_every_deny_is_in_a_bar():
    by_hour = {f"2026-03-{1 + h // 24:02d}T{h % 24:02d}": [h % 7 + 1, h % 3] for h in range(720)}
    series = over_time(by_hour)
    chart = timeline(series)
    assert len(chart["bars"]) <= MAX_BINS
    assert sum(b["denied"] for b in chart["bars"]) == sum(d for _, d in by_hour.values())
    assert sum(b["events"] for b in chart["bars"]) == sum(n for n, _ in by_hour.values())


def test_json_on_stdout_is_the_report(hostile_run, run_cli):
    root = hostile_run["root"]
    args = ["simulate", "--rules", root / "hostile.rules", "--format", "json"]
    args += ["--trace", next(root.glob("trace-*")), "--policy", root / "ecs-only.json"]
    args += ["--baseline", root / "old.rules"]
    result = run_cli(*args)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    mine = json.loads(json.dumps(hostile_run["report"]))
    for stats in (*data["engines"].values(), *mine["engines"].values()):
        for key in ("seconds", "decisions_per_second", "p50_ns", "p99_ns"):
            stats.pop(key)
    assert data == mine


def test_an_html_path_that_cannot_be_written_is_an_error_naming_it(hostile_run, run_cli):
    root = hostile_run["root"]
    page = root / "hostile.rules" / "r.html"  # under a file
    args = ["simulate", "--rules", root / "hostile.rules", "-q", "--html", page]
    result = run_cli(*args, "--trace", next(root.glob("trace-*")))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{page}: error: "), result.stderr
    assert "Traceback" not in result.stderr


# --- in the browser ---------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI: .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium not found (apt-get install chromium)")


def browse(
    page: Path, tmp_path: Path, *flags: str, fragment: str = ""
) -> subprocess.CompletedProcess[str]:
    """Chromium headless on a file: URL; stdout is what a flag dumps, stderr its log."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
        *flags,
        page.as_uri() + fragment,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def rendered(hostile_run, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("chromium")
    dumped = browse(hostile_run["page"], tmp, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    shot = tmp / "shot.png"
    taken = browse(hostile_run["page"], tmp, f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    return {"dom": parse(dumped.stdout), "log": dumped.stderr + taken.stderr, "png": shot}


def test_the_page_loads_without_a_console_message(rendered):
    assert console(rendered["log"]) == []


def _csp_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


@pytest.mark.parametrize("fault", ["throws", "not-ours"])
def test_a_script_error_or_a_foreign_script_would_be_seen(tmp_path, fault):
    """The console check above can fail: a page whose script throws, or runs a script the
    page's CSP does not name (an injected one), logs a console message."""
    html = render_html({"events": 1})
    script = parse(html).scripts[-1]
    broken = script.replace('getElementById("examples-body")', "nope()")
    html = html.replace(script, broken)
    if fault == "throws":  # the page allows the changed script: it runs and throws
        html = html.replace(_csp_hash(script), _csp_hash(broken))
    page = tmp_path / "broken.html"
    page.write_text(html)
    messages = console(browse(page, tmp_path, "--dump-dom").stderr)
    expected = "document.nope is not a function" if fault == "throws" else "Content Security Policy"
    assert any(expected in line for line in messages), messages


def test_charts_are_svg_and_the_script_ran(rendered, hostile_run):
    dom = rendered["dom"]
    charts = {a.get("data-chart") for t, a in dom.tags if t == "svg"}
    assert {"over-time", "bars"} <= charts
    bars = [a for t, a in dom.tags if t == "g" and "data-denied" in a]
    series = hostile_run["report"]["over_time"]["series"]
    assert sum(int(b["data-denied"]) for b in bars) == sum(s["denied"] for s in series)
    assert sum(int(b["data-events"]) for b in bars) == sum(s["events"] for s in series)
    assert sum(s["events"] for s in series) == hostile_run["report"]["decided"]
    body = next(a for t, a in dom.tags if t == "body")
    assert body.get("data-ready") == "1"


def test_every_number_on_the_page_equals_the_report(rendered, hostile_run):
    report = hostile_run["report"]
    numbers = rendered["dom"].numbers
    paths = {p for p, _ in numbers}
    must = {"events", "decided", "denied", "allowed", "malformed.count", "mismatches.count"}
    assert must | {"by_rule.0.denied", "recorded.matrix.allow.deny"} <= paths
    for path, text in numbers:
        assert shown_number(text) == at(report, path), path


def example_events(report: dict) -> set[tuple]:
    """Every example event in the report, found here by its own walk: (file, line, id, change)."""
    found: set[tuple] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("examples", "first", "first_denied"):
                    for ex in v if isinstance(v, list) else [v]:
                        if isinstance(ex, dict):
                            found.add(
                                (ex["file"], ex["line"], ex.get("event_id"), ex.get("change"))
                            )
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(report)
    return found


def test_examples_table_is_filled_from_the_report(rendered, hostile_run):
    dom = rendered["dom"]
    report = hostile_run["report"]
    expected = example_events(report)
    assert len(expected) > 12  # mismatches, malformed lines, the plan's and every table's first
    assert dom.rows["examples-body"] == len(expected)
    text = " ".join("".join(dom.text).split())
    assert f"{len(expected)} of {len(expected)} shown" in text
    for example in report["mismatches"]["examples"] + report["plan"]["examples"]:
        assert example["event_id"] in text
    data = json.loads(dom.scripts[0])
    assert "plan" in data["sections"] and "mismatches" in data["sections"]


def test_the_examples_filter_hides_what_does_not_match(hostile_run, rendered, tmp_path):
    """``#q=`` sets the filter when the page opens (a link to a filtered view)."""
    dumped = browse(hostile_run["page"], tmp_path, "--dump-dom", fragment="#q=%3Cscript%3E")
    assert console(dumped.stderr) == []
    dom = parse(dumped.stdout)
    rows = json.loads(dom.scripts[0])["rows"]
    matching = sum("<script>" in "\0".join(map(str, r)).lower() for r in rows)
    assert 3 <= matching < len(rows)  # event ids, principals, a malformed line's time
    assert dom.hidden["examples-body"] == len(rows) - matching
    assert f"{matching} of {len(rows)} shown" in " ".join("".join(dom.text).split())


def test_the_plan_reads_like_a_plan_with_the_report_counts(rendered, hostile_run):
    dom, plan = rendered["dom"], hostile_run["report"]["plan"]
    numbers = dict(dom.numbers)
    assert numbers["plan.newly_denied"] == "16" and numbers["plan.no_longer_denied"] == "4"
    text = " ".join("".join(dom.text).split())
    for line in plan["lines"]:
        verb = "would be denied" if line["change"] == "+" else "would no longer be denied"
        who = line["principal"]["label"]
        shown = f"{line['change']} {line['calls']} calls by {who} {verb} ({line['action']}"
        assert shown in text
    assert {line["change"] for line in plan["lines"]} == {"+", "-"}


def test_a_malformed_filter_link_is_taken_as_text(hostile_run, tmp_path):
    dumped = browse(hostile_run["page"], tmp_path, "--dump-dom", fragment="#q=%E0%A4%A")
    assert console(dumped.stderr) == []
    dom = parse(dumped.stdout)
    assert dom.hidden["examples-body"] == dom.rows["examples-body"]  # nothing matches


def test_hostile_text_is_shown_literally_and_makes_no_element(rendered, hostile_run):
    dom = rendered["dom"]
    text = "".join(dom.text)
    for hostile in HOSTILE:
        assert hostile in text, hostile
    assert 'vpc not in ["</script>{{ 7*7 }}", "[/oops]", "<b>v</b>"]' in text
    assert "trace-<i>x&amp;.jsonl" in text
    assert "eventTime `<script>alert(3)</script>`" in text
    assert {t for t, _ in dom.tags} <= ALLOWED_TAGS
    assert len([t for t, _ in dom.tags if t == "script"]) == 2
    assert not [k for _, a in dom.tags for k in a if k.startswith("on")]
    assert [t for t, a in dom.tags if t == "b" and "data-chart-total" not in a] == []


def png_pixels(path: Path, rows: int) -> tuple[int, list[bytes]]:
    """The first ``rows`` rows of an 8-bit RGB(A) PNG as bytes, decoded with zlib alone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, head = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, color, _, _, interlace = head
    assert depth == 8 and interlace == 0 and color in (2, 6), head
    bpp = 3 if color == 2 else 4
    raw = zlib.decompressobj().decompress(b"".join(chunks), (width * bpp + 1) * rows)
    stride, prev, out = width * bpp, bytearray(width * bpp), []
    for y in range(min(rows, height)):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line))
        prev = line
    return bpp, out


def test_the_screenshot_shows_the_charts(rendered):
    bpp, rows = png_pixels(rendered["png"], 900)
    colours: dict[bytes, int] = {}
    for row in rows[::3]:
        for x in range(0, len(row), bpp * 3):
            colours[row[x : x + 3]] = colours.get(row[x : x + 3], 0) + 1
    assert len(colours) > 20  # not a blank page
    assert colours.get(bytes((0xD9, 0x53, 0x4F)), 0) > 50  # deny bars painted
    assert colours.get(bytes((0xC8, 0xD1, 0xDC)), 0) > 50  # event bars painted


# --- the impact sections (who, plan, coverage), in the shapes simulate gives them ---------------


def _example(n: int, principal: str, action: str = "ecs:RunInstances") -> dict:
    return {
        "file": "t.jsonl",
        "line": n,
        "event_id": f"e{n}",
        "time": "2026-03-02T00:00:0{n % 10}Z",
        "principal": principal,
        "action": action,
    }


def _who_row(key: str, events: int, denied: int, n: int) -> dict:
    return {
        "key": key,
        "events": events,
        "denied": denied,
        "type": "ram-user",
        "account": "1",
        "name": key.rsplit("/", 1)[-1],
        "label": f"user {key}",
        "first": _example(n, key),
        "first_denied": _example(n + 1, key) if denied else None,
    }


def impact_report(base: dict) -> dict:
    """``base`` plus who / plan / coverage sections whose names are the hostile strings."""
    names = [f"acs:ram::1:user/{h}" for h in HOSTILE]
    who_rows = [_who_row(k, 10 - i, 5 - i, 100 + 2 * i) for i, k in enumerate(names)]
    rule = {"policy": "hostile", "file": "hostile.rules", "line": 2, "rule": RULES.splitlines()[1]}
    return {
        **base,
        "who": {
            "top": 10,
            "tables": {
                "principal": {"distinct": 5, "rows": who_rows},
                "operation": {
                    "distinct": 1,
                    "rows": [{"key": "ecs:RunInstances", "events": 40, "denied": 15}],
                },
            },
        },
        "plan": {
            "baseline": ["old.rules"],
            "baseline_engine": "rules",
            "changed": 7,
            "newly_denied": 4,
            "no_longer_denied": 3,
            "lines": [
                {
                    "change": "+",
                    "calls": 4,
                    "principal": {"key": names[2], "label": f"user {HOSTILE[2]}"},
                    "action": "ecs:RunInstances",
                    "region": "cn-hangzhou",
                    "rules": [rule],
                    "first": _example(7, names[2]),
                },
                {
                    "change": "-",
                    "calls": 3,
                    "principal": {"key": names[3], "label": f"user {HOSTILE[3]}"},
                    "action": "ram:CreateUser",
                    "region": None,
                    "rules": [],
                    "first": _example(8, names[3], "ram:CreateUser"),
                },
            ],
            "lines_total": 2,
            "newly_denied_by": {
                "principal": [{"key": names[2], "label": f"user {HOSTILE[2]}", "calls": 4}],
                "operation": [{"action": "ecs:RunInstances", "calls": 4}],
                "rule": [{**rule, "calls": 4}],
            },
            "no_longer_denied_by": {
                "principal": [{"key": names[3], "label": f"user {HOSTILE[3]}", "calls": 3}],
                "operation": [{"action": "ram:CreateUser", "calls": 3}],
                "rule": [{"where": None, "calls": 3}],
            },
            "examples": [{"change": "+", **_example(7, names[2])}],
        },
        "org": {
            "path": "org.toml",
            "root": "r-1",
            "accounts": 2,
            "placed": 30,
            "exempt": {"count": 2, "denied": 0, "why": "root-account"},
            "unplaced": {
                "count": 8,
                "denied": 3,
                "distinct": 2,
                "decided_as": "along the Root's chain alone (r-1)",
                "accounts": [
                    {"account": HOSTILE[0], "events": 5, "denied": 2},
                    {"account": HOSTILE[1], "events": 3, "denied": 1},
                ],
            },
            "denied": {"explicit_deny": 6, "implicit_deny": 4, "guardrail": 1},
            "stopped": [
                {
                    "outcome": "implicit-deny",
                    "node": "fd-1",
                    "kind": "folder",
                    "policies": ["prod"],
                    "full_aliyun_access": False,
                    "rules": [],
                    "calls": 4,
                    "text": f"not allowed at folder fd-1 {HOSTILE[2]}",
                    "first": _example(11, names[1]),
                }
            ],
            "stopped_total": 1,
            "allow_lists": [
                {
                    "policy": "prod",
                    "allow_rules": 4,
                    "allowed": 1,
                    "never_allowed": 3,
                    "percent": 25.0,
                }
            ],
            "allow_rules": [{**rule, "policy": "prod", "status": "allowed", "allowed": 9}],
        },
        "coverage": {
            "policies": [
                {
                    "policy": "hostile",
                    "rules": 2,
                    "rules_denied": 1,
                    "rules_condition_never_held": 1,
                    "rules_never_matched": 0,
                    "patterns": 2,
                    "patterns_denied": 1,
                    "patterns_condition_never_held": 0,
                    "patterns_never_matched": 1,
                    "percent": 50.0,
                    "patterns_percent": 50.0,
                }
            ],
            "rules_condition_never_held": [
                {**rule, "status": "condition_never_held", "events": 3, "denied": 0}
            ],
            "rules_never_matched": [],
            "patterns_condition_never_held": [],
            "patterns_never_matched": [
                {**rule, "status": "never_matched", "events": 0, "denied": 0, "pattern": "Run*"}
            ],
            "high_risk_not_denied": [
                {
                    "service": "ECS",
                    "operation": "DeleteInstance",
                    "action": "ecs:DeleteInstance",
                    "calls": 2,
                    "not_denied": 2,
                    "why": ["riskType=high"],
                    "first": _example(9, names[4], "ecs:DeleteInstance"),
                }
            ],
            "high_risk_not_denied_total": 1,
        },
    }


@pytest.fixture(scope="module")
def impact_page(hostile_run, tmp_path_factory) -> dict:
    report = impact_report(hostile_run["report"])
    page = tmp_path_factory.mktemp("impact") / "impact.html"
    page.write_text(render_html(report), encoding="utf-8")
    dumped = browse(page, page.parent, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    return {"report": report, "dom": parse(dumped.stdout), "log": dumped.stderr}


def test_impact_sections_render_with_the_report_numbers(impact_page):
    dom, report = impact_page["dom"], impact_page["report"]
    assert console(impact_page["log"]) == []
    paths = {p for p, _ in dom.numbers}
    for path, text in dom.numbers:
        assert shown_number(text) == at(report, path), path
    assert {"plan.newly_denied", "plan.lines.0.calls", "coverage.policies.0.percent"} <= paths
    assert "who.tables.principal.rows.0.denied" in paths
    assert "plan.newly_denied_by.principal.0.calls" in paths
    assert {"org.placed", "org.unplaced.count", "org.denied.implicit_deny"} <= paths
    assert {"org.stopped.0.calls", "org.allow_lists.0.percent"} <= paths
    sections = {a.get("id") for t, a in dom.tags if t == "section"}
    assert {"plan", "who", "org", "coverage", "over-time", "examples"} <= sections
    text = " ".join("".join(dom.text).split())
    assert f"+ 4 calls by user {HOSTILE[2]} would be denied (ecs:RunInstances in cn-hangzhou)" in (
        text
    )
    assert "— rule hostile.rules:2 deny ECS RunInstances" in text
    assert f"- 3 calls by user {HOSTILE[3]} would no longer be denied (ram:CreateUser)" in text


def test_impact_examples_are_listed_once_with_every_section_they_came_from(impact_page):
    data = json.loads(impact_page["dom"].scripts[0])
    where = dict(zip([tuple(r[1:]) for r in data["rows"]], data["where"], strict=True))
    # e100: the first event of the first principal, in the principal table only
    first = next(w for row, w in where.items() if "e100" in row)
    assert first == ["who principal"]
    assert "plan" in data["sections"] and "coverage high_risk_not_denied" in data["sections"]
    assert len(data["rows"]) == len({tuple(r[1:]) for r in data["rows"]})


def test_impact_hostile_names_stay_text(impact_page):
    dom = impact_page["dom"]
    text = "".join(dom.text)
    for hostile in HOSTILE:
        assert f"user acs:ram::1:user/{hostile}" in text, hostile
    assert {t for t, _ in dom.tags} <= ALLOWED_TAGS
    assert len([t for t, _ in dom.tags if t == "script"]) == 2
