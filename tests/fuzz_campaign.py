"""``make fuzz``: a mutation campaign against the parser, fmt and the trace reader (issue 16).

Not part of ``make test`` (minutes, not seconds). Run ``python tests/fuzz_campaign.py
[--rules N] [--traces N] [--seed S]``; it prints the counts and exits 1 on any finding:

- rules: each seed file (``policies/``, ``examples/``, ``tests/data/``) mutated at the byte
  level (flips, deletions, duplications, splices between files) and at the token level
  (keywords, brackets, quotes, globs, versions, BOMs, CR, form feeds, U+0085, bidi controls,
  long names); each mutant is compiled, formatted (``format_bytes``, as ``ramguard fmt``
  writes it) and, when it compiles, the formatted bytes are compiled again. Findings: an
  exception other than ``CompileError``; fmt accepting what compile rejects or the reverse;
  either accepting a file that holds a character hiding text from a reviewer (a form feed, a
  carriage return not followed by a line feed, U+0085, U+2028, a bidi control: E0001); the
  formatted text compiling to other RAM documents or other decisions (on every action the
  rules name and a sample of catalog actions, with and without a context); fmt not
  idempotent.
- traces: ActionTrail events (the sample trace and generated ones) as JSON lines, JSON arrays,
  ``Events`` documents and gzip, mutated the same way plus planted faults (deep nesting, long
  names and lines, wrong types, odd times, repeated keys, BOMs, truncation); each is replayed
  through both engines. Findings: an exception other than ``TraceError``; ``events !=
  decided + malformed``; a mismatch between the trie and the RAM evaluator.
- any case taking over 5 seconds (a SIGALRM timer interrupts it) is a hang.

Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import signal
import sys
import tempfile
import time
import traceback
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compiler import compile_sources  # noqa: E402
from compiler.catalog import default_catalog  # noqa: E402
from compiler.language.diagnostics import CompileError  # noqa: E402
from compiler.language.format import format_bytes  # noqa: E402
from compiler.language.parser import parse_text  # noqa: E402
from compiler.language.sources import decode_source, hidden_character  # noqa: E402
from compiler.replay.generate import generate_events  # noqa: E402
from compiler.replay.simulate import Engines, simulate  # noqa: E402
from compiler.replay.sources import TraceError  # noqa: E402

HANG_SECONDS = 5

TOKENS = [
    "deny ",
    "policy ",
    "when ",
    "unless ",
    " and ",
    " or ",
    " not in ",
    " in ",
    " = ",
    " == ",
    "[",
    "]",
    ",",
    '"',
    "#",
    "*",
    "?",
    "@2020-09-30",
    "@",
    ":",
    "\n",
    "\r\n",
    "\r",
    "\ufeff",
    "\x0c",
    "\u0085",
    "\u2028",
    "\u202e",
    "\u2066",
    "\x0b",
    "\x7f",
    "\t",
    "  ",
    "service=",
    "op=",
    "source_ip",
    "mfa",
    "true",
    "false",
    "10.0.0.0/8",
    "10.0.0.0/33",
    "time after ",
    "time before ",
    "2026-12-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "access_key",
    "vpc",
    "secure_transport",
    "ECS",
    "RAM",
    "*",
    "RunInstances",
    "Delete*",
    "on ",
    "acs:ecs:*:*:instance/*",
    "except ",
    "risk=high",
    "\x1b[2J",
    "[/oops]",
    "a" * 300,
    "*a" * 200,
    "\x00",
    "\\",
    '\\"',
    "for control-policy ",
    "attach [r-1]",
    "resource_tag/env",
    "request_tag/env",
    "StringLike",
    " > ",
    " >= ",
    "1e309",
]


DEEP = "__deep__"


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang


def timed(fn):
    """Run ``fn()`` with a HANG_SECONDS alarm; returns (result, seconds)."""
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    start = time.perf_counter()
    try:
        return fn(), time.perf_counter() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# --- mutation ------------------------------------------------------------------------------


GENTLE = [
    b"  ",
    b"\t",
    b"\n",
    b"\n\n",
    b'  # note [x] "q"\n',
    b" # ramguard: ignore[W0201]",
    b"\r\n",
]


def mutate_gently(rng: random.Random, data: bytes) -> bytes:
    """Layout-only changes (spaces, blank lines, comments, CRLF, reordered or repeated
    lines): most still compile, which is what the fmt-meaning check needs."""
    lines = data.split(b"\n")
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(5)
        i = rng.randrange(len(lines))
        if op == 0:
            at = rng.randrange(len(lines[i]) + 1)
            # Only next to a space or bracket: inside a name it would change the name.
            if at == 0 or lines[i][at - 1 : at] in (b" ", b"[", b","):
                lines[i] = lines[i][:at] + rng.choice(GENTLE) + lines[i][at:]
        elif op == 1:
            lines.insert(i, rng.choice([b"", b"# comment", b"   ", b"#"]))
        elif op == 2:
            lines.insert(i, lines[i])
        elif op == 3:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = lines[i].rstrip() + rng.choice([b"  # end", b" ", b"\r"])
    out = b"\n".join(lines)
    if rng.random() < 0.1:
        out = out.replace(b"\n", b"\r\n")
    if rng.random() < 0.05:
        out = b"\xef\xbb\xbf" + out
    return out


def mutate_bytes(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
        op = rng.randrange(8)
        n = len(buf)
        at = rng.randrange(n + 1) if n else 0
        if op == 0 and n:  # flip a byte
            buf[min(at, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # delete a run
            del buf[at : at + rng.randrange(1, 40)]
        elif op == 2 and n:  # duplicate a run
            end = min(n, at + rng.randrange(1, 80))
            buf[at:at] = buf[at:end]
        elif op == 3:  # splice from another file
            other = rng.choice(corpus)
            if other:
                i = rng.randrange(len(other))
                buf[at:at] = other[i : i + rng.randrange(1, 200)]
        elif op == 4:  # a token
            buf[at:at] = rng.choice(TOKENS).encode("utf-8")
        elif op == 5 and n:  # replace a run by a token
            buf[at : at + rng.randrange(1, 10)] = rng.choice(TOKENS).encode("utf-8")
        elif op == 6 and n:  # swap two lines
            lines = bytes(buf).split(b"\n")
            if len(lines) > 1:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                buf = bytearray(b"\n".join(lines))
        elif op == 7:  # a random byte
            buf[at:at] = bytes([rng.randrange(256)])
    return bytes(buf)


# --- rules ---------------------------------------------------------------------------------


def rules_corpus() -> list[tuple[str, bytes]]:
    files = sorted(
        p
        for d in ("policies", "examples", "tests/data")
        for p in (REPO / d).rglob("*.rules")
        if p.stat().st_size < 64 * 1024
    )
    return [(p.name, p.read_bytes()) for p in files]


def probe_actions(policy, rng: random.Random, catalog_actions: list[str]) -> list[str]:
    named = sorted({a for r in policy.rules for a in r.actions})[:40]
    concrete = [a.replace("*", "X").replace("?", "Y") for a in named]
    return concrete + rng.sample(catalog_actions, 30)


CONTEXTS = [
    None,
    {"acs:SourceIp": "10.1.2.3", "acs:MFAPresent": "false", "acs:SecureTransport": "true"},
    {
        "acs:SourceIp": "203.0.113.9",
        "acs:MFAPresent": "true",
        "acs:CurrentTime": "2027-01-01T00:00:00Z",
    },
]


def meaning(policy, actions: list[str]):
    documents = json.dumps(policy.ram_documents(), sort_keys=True)
    decisions = [policy.decide(a, c).decision for a in actions for c in CONTEXTS]
    return documents, decisions


def rules_case(name: str, data: bytes, rng: random.Random, catalog_actions: list[str]) -> str:
    """'' when the mutant behaves; else what went wrong."""
    try:
        text = decode_source(name, data)
        parse_text(name, text)
        parses = True
    except CompileError:
        parses = False
    try:
        policy = compile_sources([(name, text)]) if parses else None
        errors: list[tuple[str, str]] = []
    except CompileError as exc:
        policy, errors = None, sorted((d.code, d.message) for d in exc.errors)
    try:
        formatted = format_bytes(Path(name), data)
    except CompileError:
        formatted = None
    # fmt is syntactic (like black, it formats a file with an unknown name in it): it must
    # accept exactly what compile's parser accepts (F12).
    if parses != (formatted is not None):
        return f"parse {'accepts' if parses else 'rejects'} what fmt " + (
            "rejects" if parses else "accepts"
        )
    if formatted is None:
        return "rejected"
    if hidden_character(data.decode("utf-8", "replace")) >= 0:
        return "compile and fmt accept a character that hides text (E0001)"
    on_disk = (b"\xef\xbb\xbf" if formatted.bom else b"") + formatted.after.encode("utf-8")
    if format_bytes(Path(name), on_disk).changed:
        return "fmt is not idempotent"
    try:
        again = compile_sources([(name, decode_source(name, on_disk))])
        errors_again: list[tuple[str, str]] = []
    except CompileError as exc:
        again, errors_again = None, sorted((d.code, d.message) for d in exc.errors)
    if errors != errors_again:
        return f"fmt changed the errors: {errors[:3]} -> {errors_again[:3]}"
    if policy is None or again is None:
        return "rejected"
    actions = probe_actions(policy, rng, catalog_actions)
    if meaning(policy, actions) != meaning(again, actions):
        return "fmt changed meaning"
    return ""


# --- traces --------------------------------------------------------------------------------


def trace_corpus(rng: random.Random, policy) -> list[list[dict]]:
    sample = REPO / "tests" / "data" / "sample-trace.jsonl.gz"
    with gzip.open(sample, "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for _, line in zip(range(400), f, strict=False)]
    denied = lambda action: policy.decide(action).decision == "deny"  # noqa: E731
    generated = list(generate_events(200, rng.randrange(1 << 30), default_catalog(), denied))
    events = lines + [json.loads(json.dumps(e)) for e in generated]
    rng.shuffle(events)
    return [events[i : i + 25] for i in range(0, len(events), 25)]


def plant(rng: random.Random, event: dict) -> dict:
    e = dict(event)
    fault = rng.randrange(10)
    if fault == 0:
        e["requestParameters"] = DEEP  # replaced in the encoded bytes (json cannot build it)
    elif fault == 1:
        e["eventName"] = "Run" * rng.choice((10, 100, 10_000))
    elif fault == 2:
        e[rng.choice(list(e) or ["eventName"])] = rng.choice([1, None, [], {}, 1.5, True])
    elif fault == 3:
        e["eventTime"] = rng.choice(
            [
                "2026-12-01 00:00:01Z",
                "20261201T000001Z",
                "2026-12-01",
                "2026-12-01T00:00:01.123456789Z",
                "0001-01-01T00:00:00+05:00",
                "9999-12-31T23:59:59.999999-05:00",
                "2026-02-30T00:00:00Z",
                "",
            ]
        )
    elif fault == 4:
        e["sourceIpAddress"] = rng.choice(["notanip", "::1", "10.0.0.1", "", "1" * 500])
    elif fault == 5:
        e["userIdentity"] = {"accessKeyId": rng.choice(["[/oops]", "LTAI\x1b]0;x\x07", "a" * 9999])}
    elif fault == 6:
        e["acsRegion"] = "\u202e" * 50
    elif fault == 7:
        e.pop("eventName", None)
    elif fault == 8:
        e["additionalEventData"] = {"Scheme": rng.choice(["HTTPS", 1, None, "x"])}
    return e


def encode_trace(rng: random.Random, events: list[dict]) -> bytes:
    shape = rng.randrange(4)
    if shape == 0:
        data = b"\n".join(json.dumps(e).encode() for e in events) + b"\n"
    elif shape == 1:
        data = json.dumps(events, indent=rng.choice([None, 1])).encode()
    elif shape == 2:
        data = json.dumps({"Events": events, "NextToken": "x"}).encode()
    else:
        data = b"\n".join(json.dumps(e).encode() for e in events)
        # a repeated key, as a hand-edited or concatenated log could hold
        data = data.replace(b'{"', b'{"eventName": "X", "', 1)
    data = data.replace(f'"{DEEP}"'.encode(), b"[" * 2000 + b"]" * 2000)
    if rng.random() < 0.1:
        data = b"\xef\xbb\xbf" + data
    return data


def trace_case(tmp: Path, data: bytes, engines: Engines, gz: bool) -> str:
    path = tmp / ("t.json.gz" if gz else "t.json")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    try:
        report = simulate([str(path)], engines)
    except TraceError:
        return ""
    if report.events != report.decided + report.malformed:
        return f"events {report.events} != decided {report.decided} + malformed {report.malformed}"
    if report.mismatches:
        return f"{report.mismatches} mismatches, e.g. {report.mismatch_examples[0]}"
    return ""


# --- campaign ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=20_000)
    parser.add_argument("--traces", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _alarm)
    findings: list[tuple[str, str, bytes]] = []
    slowest = 0.0
    counts = {"rules": 0, "compiled": 0, "rejected": 0, "traces": 0, "hangs": 0, "crashes": 0}

    def record(kind: str, what: str, data: bytes) -> None:
        findings.append((kind, what, data))
        print(f"FINDING {kind}: {what[:300]}", flush=True)

    corpus = rules_corpus()
    corpus_bytes = [d for _, d in corpus]
    catalog_actions = sorted(default_catalog().actions())
    started = time.perf_counter()
    for i in range(args.rules):
        name, seed = corpus[i % len(corpus)]
        if rng.random() < 0.4:
            data = mutate_gently(rng, seed)
        else:
            data = mutate_bytes(rng, seed, corpus_bytes)
        case_rng = random.Random(rng.randrange(1 << 30))
        try:
            problem, seconds = timed(partial(rules_case, name, data, case_rng, catalog_actions))
            slowest = max(slowest, seconds)
            if problem == "rejected":
                counts["rejected"] += 1
            elif problem:
                record("rules", problem, data)
            else:
                counts["compiled"] += 1
        except Hang:
            counts["hangs"] += 1
            record("rules", f"hang > {HANG_SECONDS} s", data)
        except Exception:  # a traceback is exactly the finding
            counts["crashes"] += 1
            record("rules", traceback.format_exc(), data)
        counts["rules"] += 1
        if (i + 1) % 2000 == 0:
            print(f"rules: {i + 1} in {time.perf_counter() - started:.0f} s", flush=True)

    policy = compile_sources(
        [("seed.rules", (REPO / "policies" / "leaked-accesskey-protection.rules").read_text())]
    )
    engines = Engines.for_policy(policy)
    traces = trace_corpus(rng, policy)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for _ in range(args.traces):
            events = [plant(rng, e) if rng.random() < 0.2 else e for e in rng.choice(traces)]
            data = encode_trace(rng, events)
            if rng.random() < 0.5:
                data = mutate_bytes(rng, data, [data])
            gz = rng.random() < 0.15
            try:
                problem, seconds = timed(partial(trace_case, tmp, data, engines, gz))
                slowest = max(slowest, seconds)
                if problem:
                    record("trace", problem, data)
            except Hang:
                counts["hangs"] += 1
                record("trace", f"hang > {HANG_SECONDS} s", data)
            except Exception:
                counts["crashes"] += 1
                record("trace", traceback.format_exc(), data)
            counts["traces"] += 1
    elapsed = time.perf_counter() - started
    print(
        f"fuzz: {counts['rules']:,} mutated rules files, {counts['traces']:,} mutated traces in "
        f"{elapsed:.0f} s ({counts['compiled']:,} compiled and were formatted, "
        f"{counts['rejected']:,} rejected alike before and after fmt); {len(findings)} findings "
        f"({counts['crashes']} tracebacks, "
        f"{counts['hangs']} hangs over {HANG_SECONDS} s); slowest case {slowest:.2f} s; "
        f"seed {args.seed}"
    )
    if findings:
        args.out.mkdir(exist_ok=True)
        for n, (kind, what, data) in enumerate(findings):
            (args.out / f"{n:04d}-{kind}.bin").write_bytes(data)
            (args.out / f"{n:04d}-{kind}.txt").write_text(what)
        print(f"findings written to {args.out}/")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
