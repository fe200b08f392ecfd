"""Decision ratios with their peers in the same run, in interleaved rounds (``interleave``).

Each test measures its peers side by side and records every round in ``extra_info``;
``python -m bench`` turns them into rows (median round, spread of all rounds). The
pytest-benchmark timing of each test is a no-op: what matters is in ``extra_info``.

- warm decisions against a bare ``dict.get`` on the same action strings (seed; 100 rules with
  conditions), and per decision at 10,000 rules with conditions; warm decisions with a
  resource against the same requests without one;
- first sightings (every action decided once after ``DecisionTrie.forget``) against a regex
  union of the same patterns, and their growth from 100 to 10,000 rules on the same actions;
- ``Policy.decide`` against the trie's ``decider()`` on RAM-keyed string contexts;
- the RAM evaluator and Cedar (``cedarpy``) on the same rules and requests; Rego (regorus)
  has no translation in ramguard, so it has no row;
- ``ramguard decide`` start-up against ``ramguard --version``, as processes;
- compiling the seed with the whole-cloud catalog against the first release's nine-service
  catalog, each loaded afresh (issue 9), and the size of the built wheel and of the catalog
  data inside it (built with ``pip wheel``; no row when it cannot be built here).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import workloads
from bench.interleave import interleaved
from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.policy import compile_rules
from compiler.ram import RamEvaluator

BIG_RULES = 10_000
REQUESTS = 2_000
REPEAT = 5


def _record(benchmark, **info) -> None:
    benchmark.extra_info.update(info)
    benchmark.pedantic(lambda: None, rounds=1)


def _stringly(context: dict | None) -> dict | None:
    """The context as a Python caller writes it: RAM keys, every value a string."""
    if context is None:
        return None
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in context.items()}


@pytest.fixture(scope="module")
def big_policy(tmp_path_factory):
    return compile_rules([workloads.write_rules(tmp_path_factory.mktemp("big"), BIG_RULES)])


@pytest.fixture(scope="module")
def big_requests(big_policy):
    return [(r.action, r.context) for r in workloads.requests(big_policy, REQUESTS)]


def _floor_and_trie(policy, requests):
    actions = [a for a, _ in requests]
    get = {a: a for a in actions}.get
    decide = policy.trie.decider()

    def floor():
        for a in actions:
            get(a)

    def trie():
        for a, c in requests:
            decide(a, c)

    trie()  # warm: every action's answer remembered
    return floor, trie


@pytest.mark.parametrize("which", ["seed", "mixed", "big"])
def test_warm(benchmark, which, seed_policy, mixed_policy, seed_requests, mixed_requests, request):
    if which == "seed":
        policy, requests = seed_policy, seed_requests
    elif which == "mixed":
        policy, requests = mixed_policy, mixed_requests
    else:
        policy, requests = (
            request.getfixturevalue("big_policy"),
            request.getfixturevalue("big_requests"),
        )
    floor, trie = _floor_and_trie(policy, requests)
    times = interleaved({"floor": floor, "trie": trie}, repeat=REPEAT)
    _record(benchmark, rounds=times, per=len(requests))


def test_warm_resource(benchmark, resource_policy, resource_requests):
    """Warm decisions carrying a resource against the same requests without one (unknown),
    on the mixed rules plus resource-scoped ones (issue 10: at most 1.5x), interleaved like
    every other ratio here: two separate pytest-benchmark runs, minutes apart on a shared
    machine, once printed 1.63x for what interleaved rounds measure at 1.02-1.06x."""
    decide = resource_policy.trie.decider()
    with_resource = resource_requests
    without = [(a, c) for a, c, _ in resource_requests]

    def resource():
        for a, c, r in with_resource:
            decide(a, c, r)

    def none():
        for a, c in without:
            decide(a, c)

    resource()  # warm: both request lists' answers remembered
    none()
    times = interleaved({"resource": resource, "none": none}, repeat=REPEAT)
    _record(benchmark, rounds=times, per=len(with_resource))


def _regex_union(policy) -> re.Pattern:
    """The rules' action patterns as one case-insensitive regex alternation (`*` → `.*`)."""
    patterns = sorted({p.lower() for r in policy.rules if not r.not_actions for p in r.actions})
    parts = [re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns]
    return re.compile("|".join(parts), re.IGNORECASE)


def test_first_sighting_vs_regex(benchmark, seed_policy, seed_requests):
    actions = list(dict.fromkeys(a for a, _ in seed_requests))
    trie = seed_policy.trie
    decide = trie.decide
    fullmatch = _regex_union(seed_policy).fullmatch

    def cold():
        for a in actions:
            decide(a)

    def regex():
        for a in actions:
            fullmatch(a)

    cold()  # indexes of every code built; only the answers are forgotten before each round
    times = interleaved({"trie": cold, "regex": regex}, repeat=REPEAT, before={"trie": trie.forget})
    _record(benchmark, rounds=times, per=len(actions))


def _covered_by_conditions(trie, action: str) -> bool:
    """A rule with conditions (or a resource scope) covers ``action`` in ``trie``: its first
    sighting evaluates them, not only looks the action up."""
    return any(
        not trie.rule(i).unconditional or not trie.rule(i).any_resource
        for i in trie.match_indexes(action)
    )


def test_first_sighting_growth(benchmark, mixed_policy, mixed_requests, big_policy):
    """The same actions (no context) on 100 and on 10,000 rules, first sightings; and, in
    the same rounds, those of them answered alike at both sizes (like with like): no rule
    with conditions covers them, and rules match them at both sizes or at neither. At
    10,000 rules 635 of the 1,509 actions are conditional, against 92 at 100, and 277 more
    are denied where no rule names them at 100. A conditional first sighting also builds a
    leaf and evaluates the conditions: about 2.5 µs against 1 µs for an allowed or denied
    action at 10,000 rules, so most of the growth is those 543 more leaves. Since the leaf's
    memo by values and warm entry wait for its second sighting, cachegrind counts 15,700
    instructions a first sighting at 10,000 rules (18,000 before) against 11,000 at 100
    (11,400). A denied action's list of matched rules is not rebuilt in the
    rounds: it is kept per set of rules, which ``forget`` keeps (as it keeps the DFAs'
    states), and the untimed first pass builds it. What is left is the bigger tables a
    lookup reads (before the lazy leaf, 2.5x the L1 data misses at 10,000 rules)."""
    actions = list(dict.fromkeys(a for a, _ in mixed_requests))
    small, big = mixed_policy.trie, big_policy.trie
    alike = [
        a
        for a in actions
        if not _covered_by_conditions(small, a)
        and not _covered_by_conditions(big, a)
        and bool(small.match_indexes(a)) == bool(big.match_indexes(a))
    ]

    def run(trie, batch):
        decide = trie.decide

        def go():
            for a in batch:
                decide(a)

        go()
        return go

    times = interleaved(
        {
            "small": run(small, actions),
            "big": run(big, actions),
            "small_alike": run(small, alike),
            "big_alike": run(big, alike),
        },
        repeat=REPEAT,
        before={
            "small": small.forget,
            "big": big.forget,
            "small_alike": small.forget,
            "big_alike": big.forget,
        },
    )
    conditional = [sum(_covered_by_conditions(t, a) for a in actions) for t in (small, big)]
    _record(
        benchmark,
        rounds=times,
        per=len(actions),
        alike=len(alike),
        conditional=conditional,
        rules=[len(small.rules), len(big.rules)],
    )


NESTED_GLOBS = (20, 2_000)


def test_first_sighting_nested_prefixes(benchmark):
    """Every ECS action of the catalog once after ``forget()``, on 2,000 nested ECS prefix
    globs (`Acc*` ⊇ `Acce*` ⊇ …, ``workloads.nested_ecs_globs``) against 20 of them, one rule
    each: nested globs share their first characters by the hundred, which a first sighting
    once paid one ``startswith`` each for (issue 15 item 2): on 2,000 the Describe actions
    shared their first three characters with 790 of them. Now an action reads a
    level per distinct glob length along it; the work left grows with the answer, not the
    rule count: 235 of the actions are denied at 2,000, each with every glob it ends (up to
    45), against 1 at 20."""
    ops = sorted(default_catalog().service("ECS").operations())
    actions = [f"ecs:{op}" for op in ops]
    tries = {}
    for n in NESTED_GLOBS:
        text = "".join(f"deny ECS {g}\n" for g in workloads.nested_ecs_globs(n))
        tries[n] = compile_sources([(f"nested-{n}.rules", text)]).trie

    def run(trie, batch):
        decide = trie.decide

        def go():
            for a in batch:
                decide(a)

        go()  # the code's index built; only the answers are forgotten before each round
        return go

    few, many = (tries[n] for n in NESTED_GLOBS)
    times = interleaved(
        {"few": run(few, actions), "many": run(many, actions)},
        repeat=REPEAT,
        before={"few": few.forget, "many": many.forget},
    )
    _record(
        benchmark,
        rounds=times,
        per=len(actions),
        denied=[sum(tries[n].decide(a).denied for a in actions) for n in NESTED_GLOBS],
    )


def _conditional(policy, action: str) -> bool:
    """A rule with conditions covers ``action``: its answer (the rules it lists, at least)
    reads the context. Worked out from the rules, not from the trie being measured; an
    unconditional rule's ``conditions`` is one empty conjunction."""
    from compiler.model.glob import glob_match

    return any(
        any(r.conditions) and any(glob_match(p, action) for p in r.actions)
        for r in policy.trie.rules
    )


def test_policy_decide_vs_decider(benchmark, mixed_policy, mixed_requests):
    """Every request, and the conditional ones alone (issue 15 item 5): since 90ed349 an
    action no condition covers is answered without reading the context, and they are most of
    the mix, so the whole list hides what a request that reads its context costs."""
    requests = [(a, _stringly(c)) for a, c in mixed_requests]
    conditional = [(a, c) for a, c in requests if _conditional(mixed_policy, a)]
    decider = mixed_policy.trie.decider()
    api = mixed_policy.decide

    def run(decide, batch):
        def go():
            for a, c in batch:
                decide(a, c)

        go()
        return go

    times = interleaved(
        {
            "decider": run(decider, requests),
            "api": run(api, requests),
            "decider_conditional": run(decider, conditional),
            "api_conditional": run(api, conditional),
        },
        repeat=REPEAT,
    )
    _record(benchmark, rounds=times, per=len(requests), conditional=len(conditional))


@pytest.mark.parametrize("which", ["seed", "mixed"])
def test_engines(benchmark, which, seed_policy, mixed_policy, seed_requests, mixed_requests):
    from compiler.emit.cedar import cedar_policies, cedar_request

    policy, requests = (
        (seed_policy, seed_requests) if which == "seed" else (mixed_policy, mixed_requests)
    )
    _, trie = _floor_and_trie(policy, requests)
    ram_decide = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents]).decide

    def ram():
        for a, c in requests:
            ram_decide(a, c)

    def nothing(action, context=None, resource=None):
        return None

    def call():
        # The least any Python decider costs: a function of the decider's signature doing
        # nothing. RAM evaluator / this bounds what "RAM evaluator vs trie" can read.
        for a, c in requests:
            nothing(a, c)

    peers = {"trie": trie, "ram": ram, "call": call}
    try:
        import cedarpy
    except ImportError:
        cedarpy = None
    if cedarpy is not None:
        cedar_set = cedarpy.PolicySet.from_str(
            "\n".join(c.text for c in cedar_policies(policy.policies, policy.sources))
        )
        entities = cedarpy.Entities.from_json_str("[]")
        cedar_requests = [cedar_request(a, c) for a, c in requests]
        peers["cedar"] = lambda: cedarpy.is_authorized_batch(cedar_requests, cedar_set, entities)
    times = interleaved(peers, repeat=3)
    _record(benchmark, rounds=times, per=len(requests))


def test_seed_compile_vs_seed_catalog(benchmark):
    """The seed compiled with the whole cloud in the catalog vs with only its nine services."""
    whole, seed = workloads.seed_compilers()
    assert whole() == seed()
    times = interleaved({"whole": whole, "seed": seed}, repeat=REPEAT)
    _record(benchmark, rounds=times)


def test_wheel_size(benchmark, tmp_path):
    """Build the wheel as a user's pip would and weigh it, and the catalog data in it."""
    import zipfile

    repo = Path(__file__).resolve().parent.parent
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    wheels = sorted(tmp_path.glob("ramguard-*.whl"))
    if built.returncode != 0 or not wheels:
        _record(benchmark, wheel_error=(built.stderr or "no wheel")[-300:])
        return
    with zipfile.ZipFile(wheels[0]) as wheel:
        catalog = sum(
            i.file_size
            for i in wheel.infolist()
            if i.filename.startswith("compiler/catalog/") and not i.filename.endswith(".py")
        )
    _record(benchmark, wheel_bytes=wheels[0].stat().st_size, catalog_bytes=catalog)


def test_startup(benchmark):
    """Wall time of `ramguard decide` on the seed against `ramguard --version`."""
    exe = str(Path(sys.executable).with_name("ramguard"))
    rules = str(workloads.SEED_POLICY)

    def run(*args):
        # Not check=True: `decide` may exit 3 on a deny by contract; the time is what counts.
        return lambda: subprocess.run([exe, *args], check=False, capture_output=True)

    version, decide = run("--version"), run("decide", "--rules", rules, "ecs:RunInstances")
    decide()  # the grammar cache exists before timing, as after any first run
    times = interleaved({"version": version, "decide": decide}, repeat=3)
    _record(benchmark, rounds=times)
