"""A realistic, deterministic ActionTrail trace generator, for demos, tests and benchmarks.

Realistic where it matters to the simulator: hundreds of principals with several AccessKeys
each, a skewed mix of operations (reads dominate, high-risk calls are rare), source IPs inside
and outside corporate ranges plus ``Internal``, MFA both ways and in both spellings (string
and bool), some VPC and scheme fields, and a few leaked keys whose calls to denied actions
carry the leaked-AccessKey ``Forbidden`` error. Deterministic: every choice comes from one
``random.Random(seed)`` and every collection is walked in sorted order, never in hash order,
so the same arguments give the same bytes under any PYTHONHASHSEED. A generator: memory does
not grow with ``n``.

Over 400 lines: each event family's generator draws from the one seeded Random in a fixed
order; moving families apart would make that order harder to keep.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import random
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal

import msgspec

from compiler.files import atomic_writer
from compiler.replay.events import LEAKED_KEY_CODE, LEAKED_KEY_MESSAGE

# Compact JSON, keys in insertion order: the same event always gives the same bytes.
_encode = msgspec.json.Encoder().encode

# 2026-03-02T00:00:00Z; a trace spans about a week whatever its size (gaps are clamped).
_START = 1772409600.0
_SPAN_SECONDS = 7 * 86400
_REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "ap-southeast-1")
_REGION_WEIGHTS = (40, 25, 15, 10, 10)
# The services a generated trace calls, with their share of the calls; the rest of the cloud
# stays out, so a trace reads like one organisation's and stays the same as the catalog grows.
_SERVICE_WEIGHTS = {
    "ECS": 40,
    "RDS": 15,
    "SMS": 10,
    "Oss": 10,
    "RAM": 8,
    "IMS": 6,
    "ECI": 6,
    "ECD": 5,
    "Sls": 5,
    "Vpc": 4,
    "Kms": 3,
    "Sts": 3,
    "PTS": 3,
    "DBS": 3,
    "Actiontrail": 2,
    "ResourceManager": 2,
}
_READ_PREFIXES = ("Describe", "List", "Get", "Query", "Check", "Search")
_PUBLIC_PREFIXES = ("42.120", "47.96", "115.236", "120.55", "203.119", "8.139", "101.37")
_ATTACKER_PREFIXES = ("185.220", "45.133", "193.42", "91.241")
_AGENTS = (
    "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.3.3 TeaDSL/1",
    "aliyun-cli/3.0.204",
    "Terraform/1.7.5 terraform-provider-alicloud/1.220.0",
    "AlibabaCloud (Darwin; arm64) Go/1.22.1 Core/1.62.671 TeaDSL/1",
    "ALIYUN-CONSOLE",
    "Java/1.8.0_392 aliyun-java-sdk-core/4.6.4",
)
_ATTACKER_AGENTS = ("python-requests/2.31.0", "aliyun-cli/3.0.160", "Go-http-client/1.1")
_FIRST = ("alice", "bob", "chen", "li", "wang", "zhang", "liu", "yang", "zhao", "huang", "zhou")
_LAST = ("wang", "li", "zhang", "liu", "chen", "yang", "wu", "xu", "sun", "ma", "hu", "guo")
_TEAMS = ("ci", "deploy", "backup", "monitor", "etl", "billing", "sms", "ops", "web", "batch")
_ALNUM = string.ascii_letters + string.digits
# (errorCode, errorMessage, cumulative probability) for errors other than the leaked-key block.
# A plain `Forbidden` that is not the leaked-key block is there on purpose: readers must look
# at the message, not only the code.
_ERRORS = (
    ("Throttling", "Request was denied due to request throttling.", 0.004),
    ("InvalidParameter", "The specified parameter is not valid.", 0.008),
    ("Forbidden.RAM", "User not authorized to operate on the specified resource.", 0.011),
    ("Forbidden", "User not authorized to operate on the specified resource.", 0.012),
)
_ATTACK_RATE = 0.01
# RFC 4122 version 4: version nibble 4, variant bits 10.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)
_DAYS: dict[int, str] = {}
_LEAKED_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class _Op:
    name: str
    version: str
    action: str
    denied: bool
    read: bool
    endpoint: str
    trail_name: str


@dataclass(frozen=True, slots=True)
class _Principal:
    kind: str
    principal_id: str
    account_id: str
    user_name: str
    keys: tuple[str, ...]
    ips: tuple[str, ...]
    vpcs: tuple[str, ...]
    region: str
    mfa: bool
    agent: str


def _ops(catalog, denied: Callable[[str], bool], rng: random.Random):
    """Every catalog operation with a Zipf-like weight, as (ops, cumulative weights)."""
    ops: list[_Op] = []
    weights: list[float] = []
    for service_name in sorted(_SERVICE_WEIGHTS):
        svc = catalog.service(service_name)
        if svc is None or not svc.ram_codes or not svc.endpoints:
            continue
        versions = sorted(svc.versions)
        names = sorted(svc.operations())
        rng.shuffle(names)  # a seeded popularity rank, different per service
        endpoint = next((e for e in svc.endpoints if "{region}" in e), svc.endpoints[0])
        trail = svc.trail_names[0] if svc.trail_names else svc.name.capitalize()
        share = _SERVICE_WEIGHTS[service_name]
        for rank, name in enumerate(names):
            version = [v for v in versions if name in svc.versions[v]][-1]
            action = f"{svc.ram_codes[0]}:{name}"
            op = _Op(
                name,
                version,
                action,
                bool(denied(action)),
                name.startswith(_READ_PREFIXES),
                endpoint,
                trail,
            )
            kind = 20.0 if op.read else (0.3 if op.denied else 2.0)
            ops.append(op)
            weights.append(share * kind / (rank + 1))
    if not ops:
        raise ValueError("the catalog has no operations to generate events from")
    total = 0.0
    cumulative = []
    for w in weights:
        total += w
        cumulative.append(total)
    return ops, cumulative


def _uuid4(rng: random.Random) -> str:
    # uuid.UUID(int=..., version=4) formatted by hand: the same text, a third of the cost.
    x = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _timestamp(seconds: int) -> str:
    """``2026-03-02T00:03:36Z``; the date part from datetime once per day, the rest by hand."""
    day, rest = divmod(seconds, 86400)
    date = _DAYS.get(day)
    if date is None:
        date = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
        if len(_DAYS) < 4096:
            _DAYS[day] = date
    hours, rest = divmod(rest, 3600)
    return f"{date}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


def _key(rng: random.Random, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choice(_ALNUM) for _ in range(length))


def _ip(rng: random.Random, kind: str) -> str:
    if kind == "corp10":
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if kind == "corp192":
        return f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if kind == "v6":
        a, b, c = rng.randrange(65536), rng.randrange(65536), rng.randrange(1, 65536)
        return f"240e:3b7:{a:x}:{b:x}::{c:x}"
    prefixes = _ATTACKER_PREFIXES if kind == "attacker" else _PUBLIC_PREFIXES
    return f"{rng.choice(prefixes)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _principals(rng: random.Random) -> list[_Principal]:
    accounts = [str(rng.randrange(10**15, 10**16)) for _ in range(3)]
    out: list[_Principal] = []
    for i in range(360):
        account = accounts[i % 3]
        if i < 3:
            kind, name = "root-account", "root"
        elif i % 12 == 0:
            kind, name = "assumed-role", f"role-{rng.choice(_TEAMS)}-{i}"
        elif i % 3 == 0:
            kind, name = "ram-user", f"svc-{rng.choice(_TEAMS)}-{i:03d}"
        else:
            kind, name = "ram-user", f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{i}"
        count = rng.choices((1, 2, 3, 4), (50, 30, 15, 5))[0]
        if kind == "assumed-role":
            keys = tuple(_key(rng, "STS.NU", 22) for _ in range(count))
            principal = f"{rng.randrange(10**17, 10**18)}:{name}"
        else:
            keys = tuple(_key(rng, "LTAI5t", 18) for _ in range(count))
            principal = account if kind == "root-account" else str(rng.randrange(10**14, 10**15))
        home = rng.choices(("corp10", "corp192", "public", "v6"), (55, 20, 20, 5))[0]
        out.append(
            _Principal(
                kind=kind,
                principal_id=principal,
                account_id=account,
                user_name=name,
                keys=keys,
                ips=tuple(_ip(rng, home) for _ in range(rng.randint(1, 3))),
                vpcs=tuple(f"vpc-bp1{_key(rng, '', 17).lower()}" for _ in range(2)),
                region=rng.choices(_REGIONS, _REGION_WEIGHTS)[0],
                mfa=rng.random() < 0.5,
                agent=rng.choice(_AGENTS),
            )
        )
    return out


def generate_events(n: int, seed: int, catalog, denied: Callable[[str], bool]) -> Iterator[dict]:
    """``n`` ActionTrail event dicts; the same arguments give the same events, byte for byte."""
    rng = random.Random(seed)
    ops, cumulative = _ops(catalog, denied, rng)
    total = cumulative[-1]
    denied_ops = [i for i, op in enumerate(ops) if op.denied]
    principals = _principals(rng)
    # Activity is skewed too: a few principals (CI, monitoring) make most of the calls.
    activity: list[float] = []
    acc = 0.0
    for rank in range(len(principals)):
        acc += 1.0 / (rank + 1) ** 0.8
        activity.append(acc)
    ak_keys = sorted(k for p in principals for k in p.keys if k.startswith("LTAI"))
    leaked = frozenset(rng.sample(ak_keys, max(2, round(len(ak_keys) * _LEAKED_SHARE))))
    leaked_owner = sorted((k, p) for p in principals for k in p.keys if k in leaked)
    mean_gap = min(max(_SPAN_SECONDS / max(n, 1), 0.01), 300.0)
    clock = _START
    for _ in range(n):
        clock += rng.expovariate(1.0 / mean_gap)
        if rng.random() < _ATTACK_RATE:
            # Someone else holding a leaked key: mostly high-risk calls, from outside.
            key, who = leaked_owner[int(rng.random() * len(leaked_owner))]
            if denied_ops and rng.random() < 0.6:
                op = ops[denied_ops[int(rng.random() * len(denied_ops))]]
            else:
                op = ops[bisect.bisect(cumulative, rng.random() * total)]
            ip, agent, region = _ip(rng, "attacker"), rng.choice(_ATTACKER_AGENTS), who.region
        else:
            who = principals[bisect.bisect(activity, rng.random() * acc)]
            key = who.keys[int(rng.random() * len(who.keys))]
            op = ops[bisect.bisect(cumulative, rng.random() * total)]
            roll = rng.random()
            if roll < 0.80:
                ip = who.ips[int(rng.random() * len(who.ips))]
            elif roll < 0.90:
                ip = _ip(rng, "corp10")
            elif roll < 0.97:
                ip = _ip(rng, "public")
            else:
                ip = "Internal"
            agent = who.agent
            region = who.region if rng.random() < 0.9 else rng.choice(_REGIONS)
        yield _event(rng, op, who, key, ip, agent, region, clock, key in leaked)


def _event(
    rng,
    op: _Op,
    who: _Principal,
    key: str,
    ip: str,
    agent: str,
    region: str,
    clock: float,
    leaked: bool,
) -> dict:
    console = agent == "ALIYUN-CONSOLE"
    event: dict = {
        "eventId": _uuid4(rng),
        "eventVersion": "1",
        "eventType": "ApiCall",
        "eventName": op.name,
        "eventSource": op.endpoint.replace("{region}", region),
        "serviceName": op.trail_name,
        "apiVersion": op.version,
        "eventTime": _timestamp(int(clock)),
        "acsRegion": region,
        "sourceIpAddress": ip,
        "userAgent": agent,
        "requestId": _uuid4(rng).upper(),
        "requestParameters": {"RegionId": region},
    }
    identity: dict = {
        "type": who.kind,
        "principalId": who.principal_id,
        "accountId": who.account_id,
        "accessKeyId": key,
        "userName": who.user_name,
    }
    roll = rng.random()
    if roll < 0.9:
        # Console sessions of MFA users are MFA-authenticated; API keys never are. Most
        # exporters write the flag as a string, a few as a JSON bool.
        mfa = console and who.mfa
        flag: object = mfa if roll < 0.05 else ("true" if mfa else "false")
        identity["sessionContext"] = {
            "attributes": {"creationDate": event["eventTime"], "mfaAuthenticated": flag}
        }
    event["userIdentity"] = identity
    if ip.startswith(("10.", "192.168.")) and rng.random() < 0.6:
        event["vpcId"] = who.vpcs[int(rng.random() * len(who.vpcs))]
    roll = rng.random()
    if roll < 0.8:
        event["additionalEventData"] = {"Scheme": "https" if roll < 0.75 else "http"}
    if leaked and op.denied:
        event["errorCode"] = LEAKED_KEY_CODE
        event["errorMessage"] = LEAKED_KEY_MESSAGE
    else:
        roll = rng.random()
        for code, message, upto in _ERRORS:
            if roll < upto:
                event["errorCode"] = code
                event["errorMessage"] = message
                break
    return event


def write_trace(
    path: str | Path, events: Iterable[dict], fmt: Literal["jsonl", "array"] = "jsonl"
) -> int:
    """Write events as JSON lines or a JSON array, gzip'd when ``path`` ends in ``.gz``;
    atomically (temp file, then ``os.replace``) and byte-for-byte reproducibly. Returns the
    number of events written."""
    if fmt not in ("jsonl", "array"):
        raise ValueError(f"unknown trace format `{fmt}`")
    path = Path(path)
    with atomic_writer(path) as raw:
        if not path.name.endswith(".gz"):
            return write_events(raw, events, fmt)
        # No file name and mtime 0 in the gzip header: the bytes depend on the events only.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as out:
            return write_events(out, events, fmt)


def write_events(
    out: BinaryIO, events: Iterable[dict], fmt: Literal["jsonl", "array"] = "jsonl"
) -> int:
    """``events`` as JSON lines or a JSON array on ``out`` (``traces generate --out -``:
    stdout), the bytes ``write_trace`` writes to a file; returns the number written."""
    if fmt not in ("jsonl", "array"):
        raise ValueError(f"unknown trace format `{fmt}`")
    count = 0
    batch: list[bytes] = []
    size = 0
    sep = b"\n" if fmt == "jsonl" else b",\n"
    if fmt == "array":
        batch.append(b"[\n")
    for event in events:
        if count and fmt == "array":
            batch.append(sep)
        line = _encode(event)
        batch.append(line)
        if fmt == "jsonl":
            batch.append(sep)
        count += 1
        size += len(line)
        # Batched: one gzip/OS write per ~1 MiB, not one per event.
        if size > 1 << 20:
            out.write(b"".join(batch))
            batch, size = [], 0
    if fmt == "array":
        batch.append(b"\n]\n")
    out.write(b"".join(batch))
    return count


# --- ActionTrail's OSS delivery layout -------------------------------------------------------


def _account_ids(rng: random.Random, n: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < n:
        candidate = str(rng.randrange(10**15, 10**16))
        if candidate not in ids:
            ids.append(candidate)
    return ids


def write_delivery_tree(
    root: str | Path,
    events: Iterable[dict],
    *,
    accounts: int = 1,
    days: int = 1,
    seed: int = 0,
    per_file: int = 500,
    total: int | None = None,
) -> list[Path]:
    """Write ``events`` as ActionTrail delivers them to OSS: gzip'd JSON arrays under
    ``root/AliyunLogs/Actiontrail/[<rd_id>/<accountid>/]<region>/<YYYY>/<MM>/<DD>/
    Actiontrail_<region>_<YYYYMMDDHHMMSS>_1002_<count>_<size>_<md5>.gz`` (the account pair
    for ``accounts > 1``, a multi-account trail; layout as in sources.py's citation).

    Events are spread over ``days`` days from the generator's start (their ``eventTime``
    moved onto that day, time of day kept) and over ``accounts`` accounts (their
    ``userIdentity.accountId`` set; one event in ten has none, so readers must take it from
    the path). A file holds at most ``per_file`` events of one account, region and day, and
    is named by its last event's time. ``total`` (the number of events) spreads the days
    evenly; without it every event lands on day one. Deterministic: same arguments, same
    bytes. Returns the files written, sorted.
    """
    rng = random.Random(seed ^ 0x5EED)
    ids = _account_ids(rng, max(1, accounts))
    rd_id = "rd-" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    base = Path(root) / "AliyunLogs" / "Actiontrail"
    open_files: dict[tuple[str, str], list[dict]] = {}
    written: list[Path] = []
    day_of_group: dict[tuple[str, str], int] = {}

    def flush(key: tuple[str, str]) -> None:
        batch = open_files.pop(key, None)
        if not batch:
            return
        account, region = key
        last = batch[-1]["eventTime"]
        stamp = last[:19].replace("-", "").replace("T", "").replace(":", "")
        folder = base / (f"{rd_id}/{account}" if accounts > 1 else "") / region
        folder = folder / last[:4] / last[5:7] / last[8:10]
        body = b"[" + b",".join(_encode(e) for e in batch) + b"]"
        data = gzip.compress(body, compresslevel=6, mtime=0)
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        name = f"Actiontrail_{region}_{stamp}_1002_{len(batch)}_{len(data)}_{digest}.gz"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        with atomic_writer(path) as out:
            out.write(data)
        written.append(path)

    for i, event in enumerate(events):
        day = i * days // total if total else 0
        account = ids[int(rng.random() * len(ids))]
        region = event.get("acsRegion") or "cn-hangzhou"
        when = event["eventTime"]
        moved = datetime.fromtimestamp(_START + day * 86400, UTC).strftime("%Y-%m-%d")
        event["eventTime"] = moved + when[10:]
        identity = event.get("userIdentity")
        if isinstance(identity, dict):
            if rng.random() < 0.1:
                identity.pop("accountId", None)
            else:
                identity["accountId"] = account
        key = (account, region)
        if day_of_group.get(key, day) != day:
            flush(key)
        day_of_group[key] = day
        batch = open_files.setdefault(key, [])
        batch.append(event)
        if len(batch) >= per_file:
            flush(key)
    for key in sorted(open_files):
        flush(key)
    return sorted(written)
