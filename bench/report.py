"""Rows for the interleaved suites (``bench_ratios.py``, ``bench_scale.py``) and the printed
projection for 10⁹ events.

Each ratio is the median of its per-round ratios (``interleave``), with every round shown in
the note; targets are DESIGN.md's (Performance) and the issues' (14: speed-ups and planning;
15: first sightings, conditions, ``Policy.decide``, end to end).
"""

from __future__ import annotations

from bench.interleave import median, per_round, spread
from compiler.replay.bench import Row
from compiler.replay.planning import SPLIT_EVENTS

# Link speed assumed for reading from OSS in the projection: not measured here (no bucket).
OSS_LINK_BYTES_PER_S = 125e6  # 1 Gbit/s
# Dask's scheduler costs on the order of a millisecond a task (its docs: "about 1ms").
SCHEDULER_SECONDS_PER_TASK = 1e-3
PROJECTED_EVENTS = 10**9


def _info(b: dict, name: str) -> dict | None:
    bench = b.get(name)
    return None if bench is None else bench["extra_info"]


def _ratio_row(b, bench, top, bottom, title, target, higher, note) -> Row | None:
    info = _info(b, bench)
    if info is None or top not in info["rounds"] or bottom not in info["rounds"]:
        return None
    values = per_round(info["rounds"], top, bottom)
    return Row(title, median(values), target, higher, note=f"{note}; {spread(values)}")


def _mix(b: dict, bench: str) -> str:
    """How many of a row's requests read their context: the others are answered without it."""
    info = _info(b, bench) or {}
    per, conditional = info.get("per"), info.get("conditional")
    if not per or conditional is None:
        return "mix unknown"
    return (
        f"{per - conditional:,} of {per:,} requests ({(per - conditional) / per:.0%}) are "
        "actions no condition covers, answered without reading the context"
    )


def _growth_mix(b: dict) -> str:
    """How many of the growth row's actions a rule with conditions covers at each size."""
    info = _info(b, "test_first_sighting_growth") or {}
    per, conditional = info.get("per"), info.get("conditional")
    if not per or not conditional:
        return "mix unknown"
    small, big = conditional
    return (
        f"conditional actions (conditions evaluated on first sight): {small:,} of {per:,} at "
        f"100 rules, {big:,} at 10,000"
    )


def _ram_bound(b: dict, bench: str) -> str:
    """The most the RAM row could read with a decider that is a Python function: the
    evaluator against one of the decider's signature that does nothing, in the same rounds
    (a C-level callable could read more; the trie's decider is a Python closure)."""
    info = _info(b, bench) or {}
    if "call" not in info.get("rounds", {}):
        return "bound unknown"
    bound = median(per_round(info["rounds"], "ram", "call"))
    return (
        f"the evaluator is {bound:,.1f}x an empty Python call of the decider's signature, "
        "the most a decider written as a Python function could read here"
    )


def _nested_note(b: dict) -> str:
    """What the nested-prefix row's actions are and how many each size denies."""
    info = _info(b, "test_first_sighting_nested_prefixes") or {}
    per, denied = info.get("per"), info.get("denied")
    if not per or not denied:
        return "mix unknown"
    few, many = denied
    return (
        f"every ECS action ({per:,}) once after forget(); `Acc*` ⊇ `Acce*` ⊇ …, one rule "
        f"each; denied: {few:,} at 20 globs, {many:,} at 2,000, each with every glob it "
        "ends (the work left grows with the answer); no target: before the nested levels "
        "(issue 15 item 2) this row read 32x, one startswith per glob sharing the "
        "action's first characters"
    )


def _alike(b: dict) -> str:
    alike = (_info(b, "test_first_sighting_growth") or {}).get("alike")
    return "?" if alike is None else f"{alike:,}"


def decision_rows(b: dict) -> list[Row]:
    rows: list[Row | None] = [
        _ratio_row(
            b,
            "test_warm[seed]",
            "trie",
            "floor",
            "warm decision vs dict.get (seed, no conditions)",
            2.0,
            False,
            "interleaved",
        ),
        _ratio_row(
            b,
            "test_warm[mixed]",
            "trie",
            "floor",
            "warm decision vs dict.get (100 rules, conditions)",
            3.0,
            False,
            "contexts as in traces",
        ),
    ]
    big = _info(b, "test_warm[big]")
    if big is not None:
        ns = [t / big["per"] * 1e9 for t in big["rounds"]["trie"]]
        rows.append(
            Row(
                "warm decision with conditions, 10,000 rules",
                median(ns),
                2000.0,
                False,
                unit=" ns",
                note=spread(ns, " ns"),
            )
        )
    rows += [
        _ratio_row(
            b,
            "test_warm_resource",
            "resource",
            "none",
            "warm decision with a resource vs without (same rules)",
            1.5,
            False,
            "mixed rules + resource-scoped ones; issue 10 target 1.5x",
        ),
        _ratio_row(
            b,
            "test_first_sighting_vs_regex",
            "trie",
            "regex",
            "first sighting vs regex union of the patterns (seed)",
            1.0,
            False,
            "every action once after forget(); re.fullmatch, IGNORECASE",
        ),
        _ratio_row(
            b,
            "test_first_sighting_growth",
            "big",
            "small",
            "first sighting: 10,000 rules vs 100 (same actions)",
            2.0,
            False,
            "log growth: ≤ log(10⁴)/log(10²); " + _growth_mix(b),
        ),
        _ratio_row(
            b,
            "test_first_sighting_growth",
            "big_alike",
            "small_alike",
            "first sighting: 10,000 rules vs 100, actions answered alike at both",
            None,
            False,
            f"like with like: {_alike(b)} of the actions above: no condition covers them, "
            "rules match them at both sizes or at neither (the same work per action); no "
            "target: it leaves out the actions whose work grows with the rules, so the row "
            "above, not this one, is held to log growth",
        ),
        _ratio_row(
            b,
            "test_first_sighting_nested_prefixes",
            "many",
            "few",
            "first sighting: 2,000 nested ECS prefix globs vs 20",
            None,
            False,
            _nested_note(b),
        ),
        _ratio_row(
            b,
            "test_policy_decide_vs_decider",
            "api",
            "decider",
            "Policy.decide vs trie.decider() (100 rules)",
            1.3,
            False,
            "RAM-keyed string contexts (checked, not rebuilt); "
            + _mix(b, "test_policy_decide_vs_decider"),
        ),
        _ratio_row(
            b,
            "test_policy_decide_vs_decider",
            "api_conditional",
            "decider_conditional",
            "Policy.decide vs trie.decider(), conditional actions (100 rules)",
            1.3,
            False,
            "the requests of the row above whose action a rule with conditions covers",
        ),
    ]
    for w, label in (("seed", "seed"), ("mixed", "100 rules")):
        rows.append(
            _ratio_row(
                b,
                f"test_engines[{w}]",
                "ram",
                "trie",
                f"RAM evaluator vs trie ({label})",
                50.0,
                True,
                "times faster; same requests; " + _ram_bound(b, f"test_engines[{w}]"),
            )
        )
        rows.append(
            _ratio_row(
                b,
                f"test_engines[{w}]",
                "cedar",
                "trie",
                f"Cedar (cedarpy batch) vs trie ({label})",
                1000.0,
                True,
                "times faster; cedarpy optional",
            )
        )
    rows.append(
        Row(
            "Rego (regorus) vs trie",
            None,
            100.0,
            True,
            note="not measured: ramguard has no Rego translation, regorus not installed",
        )
    )
    rows.append(
        _ratio_row(
            b,
            "test_startup",
            "decide",
            "version",
            "`ramguard decide` start-up vs `ramguard --version`",
            1.3,
            False,
            "wall time of the processes, seed rules",
        )
    )
    rows.append(
        _ratio_row(
            b,
            "test_seed_compile_vs_seed_catalog",
            "whole",
            "seed",
            "compile the seed: whole-cloud catalog vs its 9 services (issue 9)",
            1.2,
            False,
            "in process, catalog loaded afresh each round",
        )
    )
    wheel = _info(b, "test_wheel_size")
    if wheel is not None and "wheel_bytes" in wheel:
        rows.append(
            Row(
                "catalog data in the wheel (uncompressed)",
                wheel["catalog_bytes"] / 1e6,
                5.0,
                False,
                unit=" MB",
                note=f"wheel {wheel['wheel_bytes'] / 1e6:.2f} MB, built with pip wheel",
            )
        )
    elif wheel is not None:
        rows.append(
            Row(
                "catalog data in the wheel",
                None,
                5.0,
                False,
                unit=" MB",
                note="not measured: the wheel did not build here",
            )
        )
    return [r for r in rows if r is not None]


def scale_rows(b: dict) -> list[Row]:
    rows: list[Row | None] = []
    info = _info(b, "test_replay_end_to_end")
    if info is not None:
        n = f"{info['events']:,} events"
        rows += [
            _ratio_row(
                b,
                "test_replay_end_to_end",
                "decode",
                "one",
                f"simulate, both engines, vs typed decode ({n})",
                0.6,
                True,
                "speed; 1 = as fast as decoding",
            ),
            _ratio_row(
                b,
                "test_replay_end_to_end",
                "one",
                "jobs2",
                f"--jobs 2 vs one process ({n}, {info['cores']} cores)",
                1.6,
                True,
                f"{info['splits']} splits; pool start inside",
            ),
            _ratio_row(
                b,
                "test_replay_end_to_end",
                "one",
                "dask2",
                f"Dask LocalCluster, 2 workers, vs one process ({n})",
                1.4,
                True,
                "cluster started outside the rounds",
            ),
        ]
        rate = [info["events"] / t for t in info["rounds"]["one"]]
        rows.append(
            Row(
                "events/s per core (simulate, both engines)",
                median(rate),
                None,
                unit="",
                note=spread(rate, " ev/s"),
            )
        )
    plan = _info(b, "test_plan_names")
    if plan is not None:
        seconds = plan["rounds"]["plan"]
        rows.append(
            Row(
                f"plan {plan['names']:,} delivery file names",
                median(seconds),
                1.0,
                False,
                unit=" s",
                note=spread(seconds, " s"),
            )
        )
        rows.append(
            _ratio_row(
                b,
                "test_plan_names",
                "plan",
                "floor",
                "plan vs sorting and splitting the names",
                None,
                False,
                "the floor any planner pays",
            )
        )
    mem = _info(b, "test_cli_peak_memory")
    if mem is not None:
        small, large = mem["peak_kib"]["small"], mem["peak_kib"]["large"]
        rows.append(
            Row(
                f"`ramguard simulate` peak RSS, {mem['events']['large']:,} vs "
                f"{mem['events']['small']:,} events",
                large / small,
                1.25,
                False,
                note=f"{large / 1024:,.0f} MiB vs {small / 1024:,.0f} MiB; flat = 1",
            )
        )
    return [r for r in rows if r is not None]


def impact_rows(b: dict) -> list[Row]:
    """Issue 13: simulate with attribution and a --baseline plan, against the bare decode
    (interleaved rounds) and against simulate without a plan; its memory at 4x events."""
    rows: list[Row | None] = [
        _ratio_row(
            b,
            "test_simulate_with_plan",
            "decode",
            "plan",
            "simulate, both engines + attribution + plan, vs decode",
            0.4,
            True,
            "speed; 1 = as fast as decoding",
        ),
        _ratio_row(
            b,
            "test_simulate_with_plan",
            "simulate",
            "plan",
            "simulate with a --baseline plan vs without",
            None,
            True,
            "the plan's cost: the baseline decided on every event",
        ),
    ]
    rows.append(
        _ratio_row(
            b,
            "test_simulate_with_org",
            "flat",
            "org",
            "simulate along org.toml chains vs the same rules without the org",
            None,
            True,
            "the chain's cost (examples/org-allowlist, both engines); 1 = none",
        )
    )
    mem = _info(b, "test_simulate_plan_memory")
    if mem is not None:
        rows.append(
            Row(
                "simulate + plan peak memory, 4x events vs 1x",
                mem["peak_large"] / mem["peak_small"],
                1.25,
                False,
                note=f"tracemalloc peak, {mem['events_large']:,} vs {mem['events_small']:,}",
            )
        )
    return [r for r in rows if r is not None]


def projection(b: dict) -> list[str]:
    """What 10⁹ events would take at the measured rate, and what bounds it."""
    info = _info(b, "test_replay_end_to_end")
    if info is None:
        return []
    events = info["events"]
    one = median(info["rounds"]["one"])
    decode = median(info["rounds"]["decode"])
    jobs2 = median(info["rounds"]["jobs2"])
    cores = info["cores"] or 1
    per_core = events / one
    hours = PROJECTED_EVENTS / (per_core * cores) / 3600
    measured_hours = PROJECTED_EVENTS / (events / jobs2) / 3600
    us = 1e6 / events
    engine = info["engine_seconds"]
    parts = {
        "decode (typed)": decode,
        "trie": engine["trie"],
        "RAM evaluator": engine["ram"],
    }
    parts["normalise + bookkeeping"] = max(one - sum(parts.values()), 0.0)
    bound = max(parts, key=parts.__getitem__)
    gz = info["gzip"]
    gunzip_us = gz["seconds"] / gz["events"] * 1e6
    packed_per_event = gz["packed"] / gz["events"]
    oss_bytes = PROJECTED_EVENTS * packed_per_event
    link_events = OSS_LINK_BYTES_PER_S / packed_per_event
    tasks = PROJECTED_EVENTS // SPLIT_EVENTS
    scheduler_ms = SCHEDULER_SECONDS_PER_TASK * 1e3
    scheduler_s = tasks * SCHEDULER_SECONDS_PER_TASK
    return [
        f"Projection for 10⁹ events (measured on {events:,}):",
        f"  {per_core:,.0f} events/s per core × {cores} cores = {per_core * cores:,.0f} events/s"
        f" → {hours:,.1f} h if cores scaled perfectly; at the measured --jobs {cores} rate"
        f" {measured_hours:,.1f} h.",
        "  Per event in one process: "
        + ", ".join(f"{k} {v * us:.2f} µs ({v / one:.0%})" for k, v in parts.items())
        + f" → bound by {bound} on a core.",
        f"  ActionTrail delivers gzip: +{gunzip_us:.2f} µs/event to gunzip (measured),"
        f" {packed_per_event:.0f} B/event, {oss_bytes / 1e9:,.0f} GB to read from OSS.",
        f"  At {OSS_LINK_BYTES_PER_S * 8 / 1e9:g} Gbit/s (assumed, not measured) a link carries"
        f" {link_events:,.0f} events/s: OSS bandwidth binds past"
        f" {link_events / per_core:,.1f} cores per link.",
        f"  Dask: {tasks:,} splits of {SPLIT_EVENTS:,} events, ~{scheduler_ms:g} ms each on the"
        f" scheduler (its documented overhead) = {scheduler_s:,.0f} s: not the bound.",
    ]
