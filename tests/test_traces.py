"""compiler.traces: reading ActionTrail traces (every format, malformed input, byte ranges,
memory) and the deterministic trace generator."""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import itertools
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import msgspec
import pytest

from compiler.catalog import default_catalog
from compiler.replay import (
    LEAKED_KEY_MESSAGE,
    Malformed,
    TraceError,
    TraceEvent,
    classify_outcome,
    generate_events,
    read_events,
    read_jsonl_range,
    split_points,
    write_trace,
)
from compiler.replay import normalise as reader_module
from compiler.replay import reader as replay_reader

CATALOG = default_catalog()
ROOT = Path(__file__).resolve().parent.parent


def event(**fields) -> dict:
    base = {
        "eventId": "e-1",
        "eventName": "RunInstances",
        "eventSource": "ecs.cn-hangzhou.aliyuncs.com",
        "serviceName": "Ecs",
        "eventTime": "2026-03-02T10:00:00Z",
        "eventType": "ApiCall",
        "sourceIpAddress": "42.120.74.96",
        "userIdentity": {"type": "ram-user", "accessKeyId": "LTAI5tAAA", "userName": "alice"},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


SAMPLE = [
    event(eventId="a"),
    event(eventId="b", eventName="CreateGroup", eventSource="ram.aliyuncs.com", serviceName="Ram"),
    event(eventId="c", eventSource="oss-cn-hangzhou.aliyuncs.com", serviceName="Oss"),
    event(eventId="d", errorCode="Forbidden", errorMessage=LEAKED_KEY_MESSAGE),
]
EXPECTED_ACTIONS = ["ecs:RunInstances", "ram:CreateGroup", "oss:RunInstances", "ecs:RunInstances"]


def read_all(path, source: int = 0) -> list[TraceEvent | Malformed]:
    return list(read_events(path, source, CATALOG))


def encode(fmt: str, events: list[dict]) -> bytes:
    if fmt == "array":
        return msgspec.json.format(msgspec.json.encode(events), indent=2)
    if fmt == "events":
        doc = {"RequestId": "r", "Events": events, "NextToken": "t"}
        return msgspec.json.format(msgspec.json.encode(doc), indent=2)
    return b"".join(msgspec.json.encode(e) + b"\n" for e in events)


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("fmt", ["array", "events", "jsonl"])
def test_every_format_reads_the_same_events(tmp_path, fmt, gz):
    data = encode(fmt, SAMPLE)
    # gzip is recognised by its magic bytes even without the .gz suffix.
    path = tmp_path / f"trace.{fmt}{'.gz' if gz and fmt == 'jsonl' else ''}"
    path.write_bytes(gzip.compress(data) if gz else data)
    got = read_all(path, source=3)
    assert [e.action for e in got] == EXPECTED_ACTIONS
    # Real line numbers: the line each element starts on (issue 16 item 5), not its index.
    lines = [
        i + 1 for i, ln in enumerate(data.split(b"\n")) if ln.strip() == b"{" and ln[:1] == b" "
    ]
    if fmt == "jsonl":
        lines = [1, 2, 3, 4]
    assert len(lines) == 4
    assert [(e.source, e.line, e.event_id) for e in got] == [
        (3, line, ident) for line, ident in zip(lines, "abcd", strict=True)
    ]
    assert [e.recorded for e in got] == ["allow", "allow", "allow", "deny"]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_stdin_is_read_as_binary(monkeypatch, gz):
    data = encode("jsonl", SAMPLE)
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(data) if gz else data))
    )
    assert [e.action for e in read_all("-")] == EXPECTED_ACTIONS


def test_single_line_events_document_and_single_event_line(tmp_path):
    doc = tmp_path / "doc.json"
    doc.write_bytes(msgspec.json.encode({"Events": SAMPLE[:2]}) + b"\n")
    assert [e.line for e in read_all(doc)] == [1, 1]  # both on line 1, where they are
    one = tmp_path / "one.jsonl"
    one.write_bytes(msgspec.json.encode(SAMPLE[0]))  # no trailing newline
    assert [e.event_id for e in read_all(one)] == ["a"]


def test_blank_lines_are_skipped_and_keep_line_numbers(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b"\n  \n" + msgspec.json.encode(SAMPLE[0]) + b"\r\n\t\n" + msgspec.json.encode(SAMPLE[1])
    )
    assert [(type(e).__name__, e.line) for e in read_all(path)] == [
        ("TraceEvent", 3),
        ("TraceEvent", 5),
    ]


def test_empty_input_has_no_events(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"  \n\n")
    assert read_all(path) == []


# --- malformed events ----------------------------------------------------------------------

MALFORMED_LINES = [
    (b'{"eventName": "DescribeInstances", "eventSource": "ecs.aliyuncs.com"}', None),
    (b'{"eventName": ', "invalid JSON: truncated"),
    (b"[1, 2]", "expected `object`, got `array`"),
    (b'{"eventId": "x"}', "missing required field `eventName`"),
    (b'{"eventName": 5}', "expected `str`, got `int` - at `$.eventName`"),
    (b'{"eventName": "A", "userIdentity": "alice"}', "expected `object | null`, got `str`"),
    (b'{"eventName": "A", "eventTime": 1}', "expected `str | null`, got `int`"),
    (b"", None),
    (b"null", "expected `object`, got `null`"),
    (b'{"eventName": "\xff"}', "invalid UTF-8"),
    (b'{"eventName": "A"} trailing', "invalid JSON: trailing characters"),
    (b'{"eventName": "A", "additionalEventData": {"Scheme": 1}}', "expected `str | null`"),
    (b'{"eventName": "DeleteInstance", "serviceName": "Ecs"}', None),
]


def test_malformed_lines_are_reported_with_exact_lines_and_never_stop(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in MALFORMED_LINES))  # last has no newline
    got = read_all(path)
    bad = [e for e in got if isinstance(e, Malformed)]
    good = [e for e in got if isinstance(e, TraceEvent)]
    assert [e.line for e in good] == [1, 13]
    assert [e.action for e in good] == ["ecs:DescribeInstances", "ecs:DeleteInstance"]
    assert [e.line for e in bad] == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12]
    assert len(bad) == 10 and len(got) == 12  # the blank line 8 is neither
    for e in bad:
        expected = MALFORMED_LINES[e.line - 1][1]
        assert e.reason.startswith(expected), (e.line, e.reason)


def test_broken_first_line_of_json_lines_is_one_malformed_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"eventName": \n' + msgspec.json.encode(SAMPLE[0]) + b"\n")
    got = read_all(path)
    assert [(type(e).__name__, e.line) for e in got] == [("Malformed", 1), ("TraceEvent", 2)]


def test_malformed_array_elements_are_numbered_by_their_real_line(tmp_path):
    path = tmp_path / "t.json"
    items = [SAMPLE[0], 5, {"eventId": "x"}, {"eventName": "A", "userIdentity": []}, SAMPLE[1]]
    # One element per line after a `[` line and a blank one: lines 3..7, not indexes 1..5.
    path.write_bytes(b"[\n\n" + b",\n".join(msgspec.json.encode(i) for i in items) + b"\n]\n")
    got = read_all(path)
    assert [(type(e).__name__, e.line) for e in got] == [
        ("TraceEvent", 3),
        ("Malformed", 4),
        ("Malformed", 5),
        ("Malformed", 6),
        ("TraceEvent", 7),
    ]


# --- file-level errors ---------------------------------------------------------------------


def test_missing_file_is_a_trace_error(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(TraceError) as info:
        read_all(path)
    assert str(info.value) == f"{path}: error: no such file"


def test_broken_array_reports_line_and_column(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'[\n  {"eventName": "A"},\n  {"eventName": "B"} x\n]')
    with pytest.raises(TraceError) as info:
        read_all(path)
    assert str(info.value) == f"{path}:3:22: error: invalid JSON: expected ',' or ']'"


def test_object_without_events_is_not_a_trace(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'{\n  "NextToken": "x"\n}\n')
    with pytest.raises(TraceError, match="an object with `Events`, or JSON lines"):
        read_all(path)


@pytest.mark.parametrize(
    "data",
    [b"not gzip at all", gzip.compress(b'{"eventName": "A"}\n' * 100)[:-12]],
    ids=["garbage", "truncated"],
)
def test_corrupt_gzip_is_a_trace_error(tmp_path, data):
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(data)
    with pytest.raises(TraceError, match=r"t\.jsonl\.gz: error: cannot decompress"):
        read_all(path)


# --- mapping and context -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name", "action", "service"),
    [
        ("ecs.cn-hangzhou.aliyuncs.com", "Ecs", "ecs:X", "ECS"),
        (None, "Ecs", "ecs:X", "ECS"),  # by serviceName when the host is missing
        ("gateway.example.com", "Rds", "rds:X", "RDS"),  # … or unknown
        ("ims.aliyuncs.com", "Ims", "ims:X", "IMS"),  # the first owned code, not `ram`
        ("dysmsapi.aliyuncs.com", None, "dysms:X", "SMS"),
        ("dbs-api.cn-shanghai.aliyuncs.com", None, "dbs:X", "DBS"),
        # Unmapped services keep a best-guess action so `deny * *` still sees them.
        ("oss-cn-hangzhou.aliyuncs.com", "Oss", "oss:X", "Oss"),  # OpenMeta's endpoints
        ("zzq-cn-hangzhou.example.com", "Zzq", "zzq:X", None),
        ("zzq-cn-hangzhou.example.com", None, "zzq:X", None),
        (None, None, "unknown:X", None),
    ],
)
def test_service_mapping_and_unmapped(tmp_path, source, name, action, service):
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        msgspec.json.encode(event(eventName="X", eventSource=source, serviceName=name))
    )
    (got,) = read_all(path)
    assert (got.action, got.service, got.event_name) == (action, service, "X")


BASE_CONTEXT = {
    "acs:SourceIp": "42.120.74.96",
    "acs:CurrentTime": "2026-03-02T10:00:00Z",
    "acs:AccessId": "LTAI5tAAA",
}


def with_mfa(flag) -> dict:
    return {
        "accessKeyId": "LTAI5tAAA",
        "sessionContext": {"attributes": {"mfaAuthenticated": flag}},
    }


@pytest.mark.parametrize(
    ("fields", "changes"),
    [
        ({}, {}),
        ({"sourceIpAddress": "Internal"}, {"acs:SourceIp": None}),
        ({"sourceIpAddress": "ecs.aliyuncs.com"}, {"acs:SourceIp": None}),
        ({"sourceIpAddress": "256.1.1.1"}, {"acs:SourceIp": None}),
        ({"sourceIpAddress": "10.0.0.1"}, {"acs:SourceIp": "10.0.0.1"}),
        ({"sourceIpAddress": "2408:4005:3c0::1"}, {"acs:SourceIp": "2408:4005:3c0::1"}),
        ({"eventTime": None}, {"acs:CurrentTime": None}),
        ({"userIdentity": None}, {"acs:AccessId": None}),
        ({"userIdentity": with_mfa("true")}, {"acs:MFAPresent": True}),
        ({"userIdentity": with_mfa("FALSE")}, {"acs:MFAPresent": False}),
        ({"userIdentity": with_mfa(True)}, {"acs:MFAPresent": True}),
        ({"userIdentity": with_mfa(False)}, {"acs:MFAPresent": False}),
        ({"userIdentity": with_mfa("maybe")}, {}),
        ({"vpcId": "vpc-bp1abc"}, {"acs:SourceVpc": "vpc-bp1abc"}),
        ({"additionalEventData": {"Scheme": "HTTPS"}}, {"acs:SecureTransport": True}),
        ({"additionalEventData": {"Scheme": "http"}}, {"acs:SecureTransport": False}),
        ({"additionalEventData": {"isMFAChecked": "true"}}, {}),
    ],
    ids=lambda v: msgspec.json.encode(v).decode()[:60],
)
def test_context_keys(tmp_path, fields, changes):
    path = tmp_path / "t.jsonl"
    path.write_bytes(msgspec.json.encode(event(**fields)))
    (got,) = read_all(path)
    expected = {**BASE_CONTEXT, **changes}
    assert got.context == {k: v for k, v in expected.items() if v is not None}
    assert got.access_key == got.context.get("acs:AccessId")


ECS_DENIED = CATALOG.denied_error_codes(CATALOG.service("ECS"))
SLS = {"eventSource": "cn-hangzhou.log.aliyuncs.com", "serviceName": "Sls"}


@pytest.mark.parametrize(
    ("code", "message", "extra", "recorded", "why"),
    [
        (None, None, {}, "allow", None),
        ("", None, {}, "allow", None),
        ("Forbidden", LEAKED_KEY_MESSAGE, {}, "deny", "leaked AccessKey"),
        (
            "Forbidden",
            "there is a RISK OF LEAKAGE of this accesskey",
            {},
            "deny",
            "leaked AccessKey",
        ),
        (
            "Forbidden",
            "User not authorized to operate on the specified resource.",
            {},
            "error",
            None,
        ),
        ("Forbidden", None, {}, "error", None),
        # Issue 13 item 3: the catalog's permission-denied codes, every service's…
        ("Forbidden.RAM", LEAKED_KEY_MESSAGE, {}, "deny", "Forbidden.RAM"),
        ("NoPermission", "You are not authorized.", {}, "deny", "NoPermission"),
        # A code the catalog only guesses (no page, no OpenMeta entry) says so in the reason…
        ("ForbiddenByRam", None, {}, "deny", "ForbiddenByRam (inferred code)"),
        # … unless a sure sign says the same (RAM's diagnostic), or the service lists it.
        ("AccessDenied", "denied", {"AccessDeniedDetail": "x"}, "deny", "AccessDeniedDetail"),
        ("AccessDenied", "denied", SLS, "deny", "AccessDenied"),
        # … a service's own (SLS's InvalidRAM), and not another service's.
        ("InvalidRAM", "denied", SLS, "deny", "InvalidRAM"),
        ("InvalidRAM", "denied", {}, "error", None),
        # RAM's diagnostic, as a field of the event or named in the message.
        (
            "Forbidden",
            "denied",
            {"AccessDeniedDetail": {"AuthAction": "ecs:RunInstances"}},
            "deny",
            "AccessDeniedDetail",
        ),
        ("Forbidden", "denied", {"accessDeniedDetail": "x"}, "deny", "AccessDeniedDetail"),
        (
            "Forbidden",
            'no permission, EncodedDiagnosticMessage: "AQEAAA"',
            {},
            "deny",
            "AccessDeniedDetail",
        ),
        ("Throttling", "Request was denied due to request throttling.", {}, "error", None),
    ],
)
def test_recorded_outcome(tmp_path, code, message, extra, recorded, why):
    detail = bool(extra.get("AccessDeniedDetail") or extra.get("accessDeniedDetail"))
    codes = CATALOG.denied_error_codes(
        CATALOG.service("SLS") if extra is SLS else CATALOG.service("ECS")
    )
    assert classify_outcome(code, message, codes, detail) == recorded
    path = tmp_path / "t.jsonl"
    path.write_bytes(msgspec.json.encode(event(errorCode=code, errorMessage=message, **extra)))
    (got,) = read_all(path)
    assert (got.recorded, got.why, got.error_code) == (recorded, why, code or None)


def test_recorded_outcome_without_catalog_codes_is_the_leaked_key_only():
    assert classify_outcome("Forbidden.RAM", "x") == "error"
    assert classify_outcome("Forbidden", LEAKED_KEY_MESSAGE) == "deny"
    assert "Forbidden.RAM" in ECS_DENIED


def test_events_carry_who_and_region(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [
        event(
            userIdentity={"type": "assumed-role", "accountId": "123", "userName": "ci:s1"},
            acsRegion="cn-beijing",
        ),
        event(userIdentity={"type": "assumed-role", "accountId": "123", "userName": "ci:s2"}),
        event(userIdentity=None, acsRegion=7),
    ]
    path.write_bytes(b"\n".join(msgspec.json.encode(r) for r in rows))
    a, b, c = read_all(path)
    assert a.who == b.who and a.who.name == "ci" and a.who.label == "role ci"
    assert a.who.principal == "acs:ram::123:role/ci" == a.who.key
    assert (a.region, b.region, c.region) == ("cn-beijing", None, None)
    assert c.who is None


# --- byte ranges ---------------------------------------------------------------------------


def denied(action: str) -> bool:
    code, _, op = action.partition(":")
    return code in ("ram", "ims") or op in ("RunInstances", "DeleteInstance", "SendSms")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "trace.jsonl"
    write_trace(path, generate_events(3000, 7, CATALOG, denied))
    # Blank and broken lines in the middle, so ranges must number around them.
    lines = path.read_bytes().split(b"\n")
    lines[100:100] = [b"", b"{broken", b"   "]
    path.write_bytes(b"\n".join(lines))
    return path


@pytest.mark.parametrize("target", [1, 997, 64 * 1024, 10**9])
def test_split_ranges_reproduce_the_whole_read(generated, target):
    ranges = split_points(generated, target)
    size = generated.stat().st_size
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    data = generated.read_bytes()
    assert all(start == 0 or data[start - 1 : start] == b"\n" for start, _, _ in ranges)
    pieces = [e for r in ranges for e in read_jsonl_range(generated, 2, *r, CATALOG)]
    assert pieces == read_all(generated, source=2)
    assert sum(isinstance(e, Malformed) for e in pieces) == 1


def test_gzip_and_array_are_one_range(tmp_path):
    for name, fmt in [("t.jsonl.gz", "jsonl"), ("t.json", "array")]:
        path = tmp_path / name
        write_trace(path, generate_events(50, 1, CATALOG, denied), fmt=fmt)
        ranges = split_points(path, 100)
        assert ranges == [(0, path.stat().st_size, 1)]
        assert list(read_jsonl_range(path, 0, *ranges[0], CATALOG)) == read_all(path)


# --- the generator -------------------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["t.jsonl", "t.jsonl.gz", "t.json"])
def test_generator_is_deterministic(tmp_path, name):
    fmt = "array" if name == "t.json" else "jsonl"
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    write_trace(a / name, generate_events(400, 11, CATALOG, denied), fmt=fmt)
    write_trace(b / name, generate_events(400, 11, CATALOG, denied), fmt=fmt)
    write_trace(c / name, generate_events(400, 12, CATALOG, denied), fmt=fmt)
    assert digest(a / name) == digest(b / name) != digest(c / name)
    if name.endswith(".gz"):
        header = (a / name).read_bytes()[:10]
        assert header[3] == 0 and header[4:8] == b"\0\0\0\0"  # no file name, mtime 0
    assert sum(isinstance(e, TraceEvent) for e in read_all(a / name)) == 400


GEN_SCRIPT = """
import hashlib, msgspec, sys
from compiler.catalog import default_catalog
from compiler.replay import generate_events
deny = lambda a: a.startswith(("ram:", "ims:")) or a.endswith(":RunInstances")
h = hashlib.sha256()
for e in generate_events(300, 5, default_catalog(), deny):
    h.update(msgspec.json.encode(e))
print(h.hexdigest())
"""


def test_generator_ignores_hash_seed():
    outputs = {
        subprocess.run(
            [sys.executable, "-c", GEN_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_generated_events_look_like_real_traffic():
    events = list(generate_events(6000, 3, CATALOG, denied))
    users = {e["userIdentity"]["userName"] for e in events}
    keys = {e["userIdentity"]["accessKeyId"] for e in events}
    assert len(users) >= 100 and len(keys) > len(users)
    assert all(k.startswith(("LTAI5t", "STS.")) for k in keys)
    assert len({e["eventId"] for e in events}) == len(events)
    times = [e["eventTime"] for e in events]
    assert times == sorted(times) and times[0].startswith("2026-")

    leaks = [e for e in events if e.get("errorMessage") == LEAKED_KEY_MESSAGE]
    assert leaks and all(e["errorCode"] == "Forbidden" for e in leaks)
    leaked_keys = {e["userIdentity"]["accessKeyId"] for e in leaks}
    for e in events:
        svc = CATALOG.service_for_host(e["eventSource"])
        action = f"{svc.ram_codes[0]}:{e['eventName']}"
        is_leak = e.get("errorMessage") == LEAKED_KEY_MESSAGE
        # A leaked-key block exactly where a leaked key calls a denied action.
        assert is_leak == (denied(action) and e["userIdentity"]["accessKeyId"] in leaked_keys)
    other_errors = {e["errorCode"] for e in events if "errorCode" in e} - {"Forbidden"}
    assert {"Throttling", "InvalidParameter"} <= other_errors

    ips = [e["sourceIpAddress"] for e in events if e["sourceIpAddress"] != "Internal"]
    corp = ipaddress.ip_network("10.0.0.0/8")
    inside = sum(ipaddress.ip_address(ip) in corp for ip in ips)
    assert 0 < inside < len(ips)
    assert len(ips) < len(events)  # some `Internal`
    assert any(":" in ip for ip in ips)
    reads = sum(e["eventName"].startswith(("Describe", "List", "Get")) for e in events)
    assert reads > len(events) / 2
    flags = {
        str(e["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"])
        for e in events
        if "sessionContext" in e["userIdentity"]
    }
    assert {"true", "false", "True", "False"} <= flags
    assert any("vpcId" in e for e in events) and any("vpcId" not in e for e in events)


def test_generated_trace_reads_back_with_leak_denies(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    write_trace(path, generate_events(2000, 4, CATALOG, denied))
    got = read_all(path)
    assert all(isinstance(e, TraceEvent) and e.action is not None for e in got)
    assert all(denied(e.action) for e in got if e.why == "leaked AccessKey")
    assert any(e.recorded == "deny" for e in got)


# --- memory --------------------------------------------------------------------------------


def peak_bytes(path: Path) -> tuple[int, int]:
    # Start each run from the same cache state.
    reader_module._is_ip.cache_clear()
    replay_reader._minute_ok.cache_clear()
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_events(path, 0, CATALOG))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_reader_memory_is_flat(tmp_path):
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    write_trace(small, generate_events(10_000, 9, CATALOG, denied))
    data = small.read_bytes()
    big.write_bytes(data * 4)  # 40k events: the reader, not the generator, is under test
    n_small, peak_small = peak_bytes(small)
    n_big, peak_big = peak_bytes(big)
    assert (n_small, n_big) == (10_000, 40_000)
    # Proportional growth would be 4x (a reader keeping events would hold ~40 MB here; the
    # peak is ~1.7 MB either way, mostly the 256 KiB chunk and its split lines).
    assert peak_big < 1.5 * peak_small + 256 * 1024, (peak_small, peak_big)


def test_byte_order_mark_is_ignored_whole_and_in_ranges(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + encode("jsonl", SAMPLE))
    whole = read_all(path)
    assert [e.action for e in whole] == EXPECTED_ACTIONS
    ranges = split_points(path, 10)
    assert len(ranges) == 4
    assert [e for r in ranges for e in read_jsonl_range(path, 0, *r, CATALOG)] == whole


def test_one_event_pretty_printed_in_an_events_document(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'{"Events": [\n' + msgspec.json.encode(SAMPLE[0]) + b"\n]}\n")
    assert [(e.line, e.event_id) for e in read_all(path)] == [(2, "a")]


def test_huge_one_line_document_is_sniffed_in_linear_time(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(msgspec.json.encode({"Events": [SAMPLE[0]] * 40_000}))  # ~8 MB, one line
    assert sum(1 for _ in read_all(path)) == 40_000


@pytest.mark.parametrize(
    "head",
    [
        [b'{"eventName": "RunInst', b'{"eventName": "Cre'],  # two broken lines first
        [b"[1, 2]"],  # a first line that is JSON but not an event
        [b'{"eventName": "RunInst'],  # one broken line, then good ones
    ],
    ids=["two-broken-first-lines", "array-first-line", "one-broken-first-line"],
)
def test_broken_first_lines_are_malformed_events_not_a_broken_file(tmp_path, head):
    good = [msgspec.json.encode(e) for e in SAMPLE[:3]]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([*head, *good]) + b"\n")
    got = read_all(path)
    assert [type(e).__name__ for e in got] == ["Malformed"] * len(head) + ["TraceEvent"] * 3
    assert [e.line for e in got] == list(range(1, len(head) + 4))
