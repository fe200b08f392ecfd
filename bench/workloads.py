"""Workloads the benchmark suites share: generated rules, request sets, traces.

Everything is generated into a temporary directory from a fixed seed — nothing bulky is
committed, and the same arguments give the same bytes. Rules are drawn from the catalog with a
mix of globs and conditions (no `?`: Cedar cannot express it, and every engine must decide the
same rules), ten rules to a file, because one policy is at most 10 RAM documents.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from compiler.catalog import Catalog, default_catalog
from compiler.policy import Policy, compile_rules
from compiler.replay import generate_events, write_trace

SEED = 20260302
RULES_PER_FILE = 10
# The seed alone: policies/ also holds the org baseline (policies/org-baseline/, issue 12),
# and every bench row is stated on the seed's rules.
SEED_POLICY = (
    Path(__file__).resolve().parent.parent / "policies" / "leaked-accesskey-protection.rules"
)

# (weight, condition text): about half the rules are unconditional, as in real guardrails.
_CONDITIONS = (
    (10, ""),
    (2, " when source_ip not in [10.0.0.0/8, 192.168.0.0/16]"),
    (2, " unless mfa = true"),
    (1, " when secure_transport = false"),
    (1, " when access_key in [LTAI5tBenchKey0001, LTAI5tBenchKey0002]"),
    (1, " when time after 2026-03-05T00:00:00Z"),
    (1, " when source_ip not in [10.0.0.0/8] and mfa = false"),
    (1, " when vpc not in [vpc-bench-a, vpc-bench-b]"),
    (1, " unless source_ip in [47.96.0.0/16] and secure_transport = true"),
)
_GLOB_PREFIXES = ("Delete", "Create", "Modify", "Describe", "Start", "Stop", "Run")


@dataclass(frozen=True, slots=True)
class Request:
    action: str
    context: dict[str, object]


def _service_ops(catalog: Catalog) -> list[tuple[str, list[str]]]:
    return [(s.name, sorted(s.operations())) for s in catalog.services if s.operations()]


def rule_lines(n: int, seed: int = SEED, catalog: Catalog | None = None) -> list[str]:
    """``n`` rules drawn from the catalog: one to four operations or a glob, some conditions."""
    catalog = catalog or default_catalog()
    rng = random.Random(seed)
    services = _service_ops(catalog)
    weights = [w for w, _ in _CONDITIONS]
    texts = [t for _, t in _CONDITIONS]
    out = []
    for _ in range(n):
        name, ops = services[rng.randrange(len(services))]
        roll = rng.random()
        if roll < 0.15:
            prefix = rng.choice(_GLOB_PREFIXES)
            matching = [op for op in ops if op.startswith(prefix)]
            target = f"{prefix}*" if matching else rng.choice(ops)
        else:
            target = "[" + ", ".join(rng.sample(ops, min(len(ops), rng.randint(1, 4)))) + "]"
        out.append(f"deny {name} {target}{rng.choices(texts, weights)[0]}")
    return out


def nested_ecs_globs(n: int) -> list[str]:
    """``n`` distinct nested ECS prefix globs: every prefix of one operation name after
    another, from three characters on (`Acc*` ⊇ `Acce*` ⊇ …), operations in name order."""
    ops = sorted(default_catalog().service("ECS").operations())
    nested: list[str] = []
    seen: set[str] = set()
    for op in ops:
        for k in range(3, len(op)):
            if op[:k].lower() not in seen:
                seen.add(op[:k].lower())
                nested.append(op[:k] + "*")
    return nested[:n]


def ecs_globs(n: int) -> str:
    """One rules file of ``n`` distinct ECS globs (issue 16 F7): half nested prefixes
    (``nested_ecs_globs``), half disjoint (`Describe*00001?`, each covering no other)."""
    globs = nested_ecs_globs(n // 2) + [f"Describe*{i:05d}?" for i in range(n - n // 2)]
    return "".join(f"deny ECS {g}\n" for g in globs)


def write_rules(directory: Path, n: int, seed: int = SEED) -> Path:
    """``n`` rules in files of ``RULES_PER_FILE`` under ``directory``; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = rule_lines(n, seed)
    for start in range(0, n, RULES_PER_FILE):
        chunk = lines[start : start + RULES_PER_FILE]
        name = f"gen-{start // RULES_PER_FILE:05d}"
        body = f'policy {name} "generated for benchmarks"\n' + "\n".join(chunk) + "\n"
        (directory / f"{name}.rules").write_text(body, encoding="utf-8")
    return directory


def seed_policy() -> Policy:
    return compile_rules([SEED_POLICY])


def seed_compilers():
    """(whole, seed): compile the seed policy with a freshly loaded catalog — the packaged
    whole-cloud one (issue 9), or the nine services the seed names as they were before it
    (``sdk.json``, the catalog of the first release) — so the ratio is what the whole cloud
    costs a compile, catalog loading included. Both give byte-identical documents."""
    import json
    from importlib import resources

    from compiler import compile_sources
    from compiler.catalog import Catalog, load_packaged

    sdk = resources.files("compiler.catalog").joinpath("sdk.json")
    rules = [SEED_POLICY]
    sources = [(str(p), p.read_text(encoding="utf-8")) for p in rules]

    def run(catalog):
        policy = compile_sources(sources, catalog)
        policy.trie  # noqa: B018 — built lazily; a compile includes it
        return [d.text for d in policy.documents]

    # Each side reads its file in the timer, as a CLI run does (the packaged one the way
    # default_catalog does: only the index and the services it needs read).
    return (
        lambda: run(load_packaged()),
        lambda: run(Catalog.from_dict(json.loads(sdk.read_bytes()))),
    )


def _contexts(rng: random.Random) -> Iterator[dict[str, object]]:
    while True:
        ctx: dict[str, object] = {}
        roll = rng.random()
        if roll < 0.5:
            ctx["acs:SourceIp"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.7"
        elif roll < 0.9:
            ctx["acs:SourceIp"] = f"47.96.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if rng.random() < 0.9:
            ctx["acs:MFAPresent"] = rng.random() < 0.3
        if rng.random() < 0.8:
            ctx["acs:SecureTransport"] = rng.random() < 0.9
        ctx["acs:CurrentTime"] = f"2026-03-0{rng.randint(2, 8)}T{rng.randrange(24):02d}:00:00Z"
        ctx["acs:AccessId"] = f"LTAI5tBenchKey000{rng.randint(1, 6)}"
        if rng.random() < 0.3:
            ctx["acs:SourceVpc"] = rng.choice(("vpc-bench-a", "vpc-bench-c"))
        yield ctx


def requests(policy: Policy, n: int, seed: int = SEED, catalog: Catalog | None = None):
    """``n`` requests: about a third hit a rule's literal action, the rest are catalog actions
    (mostly allowed), in mixed case as traces and users write them."""
    catalog = catalog or default_catalog()
    rng = random.Random(seed)
    everything = catalog.actions()
    literal = sorted({a for r in policy.rules for a in r.actions if "*" not in a})
    contexts = _contexts(rng)
    out = []
    for _ in range(n):
        pool = literal if literal and rng.random() < 0.33 else everything
        out.append(Request(pool[rng.randrange(len(pool))], next(contexts)))
    return out


def write_jsonl_trace(path: Path, n: int, policy: Policy, seed: int = SEED) -> Path:
    """An ActionTrail JSON-lines trace of ``n`` events; denied calls follow ``policy``."""
    events = generate_events(n, seed, default_catalog(), lambda a: policy.decide(a).denied)
    write_trace(path, events, "jsonl")
    return path
