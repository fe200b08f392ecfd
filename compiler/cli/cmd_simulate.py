"""``ramguard simulate``: replay ActionTrail traces through the trie and the RAM JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from compiler.cli.common import (
    catalog_option,
    echo,
    fail,
    fail_at,
    find_org_for,
    org_option,
    output_file,
    printable,
    refuse_clashes,
    rules_option,
    text_or_json_option,
)
from compiler.cli.report import print_summary
from compiler.files import atomic_write
from compiler.language.diagnostics import counted
from compiler.language.sources import expand_paths
from compiler.model.keys import ValueProblem, parse_utc_time
from compiler.policy import compile_rules
from compiler.ram import PolicyDocumentError, RamEvaluator
from compiler.replay import TraceError
from compiler.replay.impact import DIMENSIONS, TOP, Baseline
from compiler.replay.simulate import (
    SPLIT_EVENTS,
    Engines,
    StrictModeError,
    Window,
    report_dict,
    simulate,
)
from compiler.replay.sources import TRACE_SUFFIXES, expand, is_url, prune

EXIT_MISMATCH = 1
EXIT_DENIED = 3
EXIT_CHANGED = 3


@click.command("simulate")
@rules_option
@click.option(
    "--policy",
    "policy_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="RAM policy JSON for the evaluator (repeatable); default: the rules' "
    "emitted documents, compiled in memory.",
)
@click.option(
    "--baseline",
    "baseline_rules",
    multiple=True,
    type=click.Path(path_type=Path),
    help="The rules in place (file or directory, repeatable): report what changing them to "
    "--rules would newly deny and stop denying, as a plan; exit 3 when a decision changes.",
)
@click.option(
    "--baseline-policy",
    "baseline_policies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="The RAM policy JSON in place (repeatable), instead of --baseline rules.",
)
@click.option(
    "--fail-on-new-deny",
    is_flag=True,
    help="With a baseline: exit 3 only when a call would be newly denied.",
)
@click.option(
    "--by",
    "by",
    type=click.Choice(DIMENSIONS),
    default="principal",
    show_default=True,
    help="The attribution table the summary prints.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=TOP,
    show_default=True,
    help="Rows per table (report and summary).",
)
@click.option(
    "--trace",
    "traces",
    multiple=True,
    required=True,
    help='ActionTrail events: JSON array, {"Events": …}, or JSON lines; .gz too; '
    "'-' for stdin; a directory (recursive), a glob, or a URL (oss://, s3://… via fsspec) "
    "(repeatable).",
)
@click.option(
    "--since",
    metavar="TIME",
    help="Only events at or after TIME (ISO 8601 with an offset, or a date: midnight UTC); "
    "delivery files named before it are not opened.",
)
@click.option(
    "--until",
    metavar="TIME",
    help="Only events before TIME (as --since); delivery files named after it are not opened.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes replaying splits in parallel, this one included (--engine local).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: this process (or --jobs processes); dask: a Dask cluster.",
)
@click.option("--scheduler", metavar="ADDR", help="Dask scheduler address (--engine dask).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Start a local Dask cluster of N worker processes (--engine dask, no --scheduler).",
)
@click.option(
    "--split-events",
    type=click.IntRange(min=1),
    default=SPLIT_EVENTS,
    show_default=True,
    help="About this many events to a split (the unit of parallel work).",
)
@click.option(
    "--report",
    "report_path",
    type=output_file(
        "stdout carries the summary; --format json prints this same JSON report there"
    ),
    help="Write the full report as JSON (the bytes --format json prints on stdout).",
)
@click.option(
    "--html",
    "html_path",
    type=output_file("stdout carries the summary (--format); give the page a file name"),
    help="Write the report as one self-contained HTML page (charts, tables, filterable "
    "examples; works offline).",
)
@text_or_json_option
@click.option("--strict", is_flag=True, help="Stop at the first malformed event (exit 1).")
@click.option("--fail-on-deny", is_flag=True, help="Exit 3 when any event is denied.")
@click.option("--quiet", "-q", is_flag=True, help="No summary table.")
@org_option
@catalog_option
def command(
    rules,
    policy_files,
    baseline_rules,
    baseline_policies,
    fail_on_new_deny,
    by,
    top,
    traces,
    since,
    until,
    jobs,
    engine,
    scheduler,
    workers,
    split_events,
    report_path,
    html_path,
    fmt,
    strict,
    fail_on_deny,
    quiet,
    org_path,
    catalog,
) -> None:
    """Replay recorded API calls through both engines and compare.

    Every event is decided by the decision trie and by an independent RAM policy evaluator
    reading the JSON documents; they must agree. The report also sets the predictions against
    what ActionTrail recorded (the leaked-AccessKey `Forbidden` counts as a recorded deny).

    Each call is attributed to its caller (principal, AccessKey, source IP, region), its
    operation and the rules that deny it; the summary prints the table --by picks. With
    --baseline (rules) or --baseline-policy (RAM JSON) every event is decided under the rules
    in place too, and the summary reads as a plan: what --rules would newly deny and what it
    would stop denying, by caller, operation and rule.

    With an org.toml (beside the rules, or --org) each event is decided along its account's
    chain Root → folders → account (userIdentity.accountId): a Deny at any node, or a node
    whose allow list does not allow it, denies; accounts org.toml does not describe are
    decided along the Root's chain alone and counted as unplaced (the report's `org`).

    Exit: 0 no mismatch (and, with a baseline, no decision changed); 1 a mismatch of either
    rule set's two engines (or an error); 3 with a baseline when a decision changes
    (--fail-on-new-deny: when a call is newly denied), or with --fail-on-deny when an event
    is denied.
    """
    if baseline_rules and baseline_policies:
        fail("give --baseline or --baseline-policy, not both", 2)
    if fail_on_new_deny and not (baseline_rules or baseline_policies):
        fail("--fail-on-new-deny needs --baseline or --baseline-policy", 2)
    if engine != "dask" and (scheduler or workers):
        fail("--scheduler and --workers need --engine dask", 2)
    if engine == "dask" and jobs > 1:
        fail("--jobs is for --engine local; give a Dask cluster --workers", 2)
    outputs = [("--report", report_path), ("--html", html_path)]
    refuse_clashes(outputs, _inputs(rules, policy_files, baseline_rules, baseline_policies, traces))
    window = Window(_time_option("--since", since), _time_option("--until", until))
    if window.since is not None and window.until is not None and window.since >= window.until:
        # Each time parses alone; together they hold no instant (--until is exclusive), and
        # every file would be read to say that no event could be decided.
        fail(f"--since {since} is not before --until {until}: the window holds no time", 2)
    policy = compile_rules(rules, catalog)
    org_file = find_org_for(rules, org_path)
    if org_file is not None and policy_files:
        raise click.UsageError(
            f"{org_file} places the documents the rules emit along each chain; leave out "
            "--policy (or move the org.toml away to replay those documents flat)"
        )
    if org_file is not None and baseline_policies:
        raise click.UsageError(
            f"{org_file} cannot place --baseline-policy documents on its nodes: give the "
            "rules in place with --baseline"
        )
    allow_lists = [p.name for p in policy.policies if p.allows]
    if allow_lists and org_file is None and not quiet:
        # Without an org an event is decided by the Deny rules alone (no chain): say so, or
        # a member's call its allow list shuts out reads as allowed.
        n = len(allow_lists)
        click.echo(
            f"note: the allow lists of {n} control polic{'y' if n == 1 else 'ies'} "
            f"({printable(', '.join(allow_lists))}) are not replayed: simulate decides what "
            "the Deny rules deny; give the org.toml they are attached in (--org) to decide "
            "each event along its account's chain",
            err=True,
        )
    try:
        baseline = _baseline(baseline_rules, baseline_policies)
        org = None if org_file is None else _org(policy, baseline, org_file)
        if policy_files:
            engines = Engines.for_policy(policy, _documents(policy_files), baseline)
        else:
            engines = Engines.for_policy(policy, baseline=baseline, org=org)
    except PolicyDocumentError as exc:
        fail_at(exc.location, exc.detail)
    if catalog is not None:
        engines.catalog = catalog  # events are mapped, and their ARNs built, through it
    try:
        expanded = expand(traces)
    except TraceError as exc:
        # One line, escaped whole: a newline in a file name must not start a line of its own.
        echo(printable(str(exc)), err=True)
        sys.exit(1)
    # A directory or glob can hold the report of an earlier run (`--trace runs/ --report
    # runs/r.json`): checked against every file the replay would read, before it reads one.
    refuse_clashes(outputs, [("--trace", s.path) for s in expanded.sources if _local(s.path)])
    sources, pruned = prune(expanded.sources, window.since, window.until)
    if expanded.skipped and not quiet:
        click.echo(
            f"note: {counted(len(expanded.skipped), 'file')} without a trace suffix skipped "
            f"(first: {expanded.skipped[0]!r})",
            err=True,
        )
    if not sources:
        # Nothing to replay: the error alone, not a report of zeros before it.
        echo(printable(_no_trace_file(traces, pruned)), err=True)
        sys.exit(1)
    runner = _runner(engine, jobs, scheduler, workers)
    stderr = Console(stderr=True)
    options = {"strict": strict, "window": window, "split_events": split_events, "runner": runner}
    try:
        if stderr.is_terminal and not quiet:
            with Progress(
                TextColumn("replaying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("events"),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            ) as bar:
                task = bar.add_task("replay", total=None)
                result = simulate(
                    sources, engines, progress=lambda n: bar.advance(task, n), **options
                )
        else:
            result = simulate(sources, engines, **options)
    except (TraceError, StrictModeError) as exc:
        # Both already read `PATH[:LINE[:COL]]: error: message`: one line, escaped whole.
        echo(printable(str(exc)), err=True)
        sys.exit(1)
    except OSError as exc:
        fail_at(str(exc.filename or "-"), (exc.strerror or str(exc)).lower())
    except RuntimeError as exc:  # the dask extra missing
        fail(str(exc))
    data = report_dict(result, sources, engines, top)
    data["files"] = {"read": len(sources), "pruned_by_name": pruned}
    if not window.open:
        data["window"] = {
            "since": since and parse_time_text(since),
            "until": until and parse_time_text(until),
            "outside": result.outside_window,
        }
    if result.decided:
        # Nothing decided is an error (issue 16 item 3): no report or page of nothing is left
        # next to it for a later step to publish.
        _write_outputs(data, report_path, html_path)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    elif not quiet:
        print_summary(data, by=by, top=top)
    guessed = data["recorded"]["inferred_codes"]
    if guessed["recorded_denies"] and not quiet:
        # Like W0202 for a RAM code: the user relies on a guess, so say which and how much.
        codes = ", ".join(f"{c} ({n:,})" for c, n in guessed["codes"].items())
        click.echo(
            f"note: {counted(guessed['recorded_denies'], 'recorded deny', 'recorded denies')} "
            "counted only by error codes "
            f"the catalog infers mean permission denied: {codes}; check a few of these events",
            err=True,
        )
    if result.decided == 0:
        # One line, escaped whole (it quotes file names).
        echo(printable(_nothing_decided(result, sources)), err=True)
        sys.exit(1)
    chain = data.get("org")
    if chain is not None and chain["unplaced"]["count"] and not quiet:
        n = chain["unplaced"]
        click.echo(
            f"note: {counted(n['count'], 'event')} of {counted(n['distinct'], 'account')} that "
            f"{printable(chain['path'])} does not describe "
            f"{'was' if n['count'] == 1 else 'were'} decided {n['decided_as']} "
            "(the report's org.unplaced lists them)",
            err=True,
        )
    plan = data.get("plan")
    if result.mismatches or (plan is not None and plan["engine_mismatches"]["count"]):
        sys.exit(EXIT_MISMATCH)
    if plan is not None and (plan["newly_denied"] if fail_on_new_deny else plan["changed"]):
        sys.exit(EXIT_CHANGED)
    if fail_on_deny and result.denied:
        sys.exit(EXIT_DENIED)


def _write_outputs(data: dict, report_path: Path | None, html_path: Path | None) -> None:
    """Each file whole or not at all (atomic_write, which makes missing directories); a path
    that cannot be written is an error naming the file, not a traceback."""
    outputs = []
    if report_path is not None:
        outputs.append((report_path, lambda: (json.dumps(data, indent=2) + "\n").encode()))
    if html_path is not None:
        from compiler.report import render_html  # only when asked: Jinja's start-up cost

        outputs.append((html_path, lambda: render_html(data).encode("utf-8")))
    for path, content in outputs:
        try:
            atomic_write(path, content())
        except OSError as exc:
            fail_at(str(path), (exc.strerror or str(exc)).lower())


def _inputs(rules, policies, baseline_rules, baseline_policies, traces) -> list:
    """The files simulate reads, as named on the command line (directories of rules as the
    rules files in them), for ``refuse_clashes``; the traces' directories and globs are
    checked once expanded."""
    ctx = click.get_current_context()
    return [
        *(("--rules", p) for p in expand_paths(rules)),
        *(("--policy", p) for p in policies),
        *(("--baseline", p) for p in expand_paths(baseline_rules)),
        *(("--baseline-policy", p) for p in baseline_policies),
        *(("--catalog", p) for p in ctx.meta.get("ramguard.catalog_paths", ())),
        *(("--trace", t) for t in traces if _local(t)),
    ]


def _local(path: str) -> bool:
    return path != "-" and not is_url(path)


def _documents(paths) -> list[tuple[str, dict]]:
    RamEvaluator.from_files(paths)  # validates, with positions in errors
    return [(str(p), json.loads(p.read_bytes().decode("utf-8-sig"))) for p in paths]


def _baseline(rules, policies) -> Baseline | None:
    """The rules or RAM documents in place, for the plan."""
    if rules:
        return Baseline(tuple(str(p) for p in rules), policy=compile_rules(rules))
    if policies:
        return Baseline(tuple(str(p) for p in policies), documents=tuple(_documents(policies)))
    return None


def _org(policy, baseline: Baseline | None, path: Path):
    """Both rule sets bound to the org.toml (each checks its own attachments)."""
    from compiler.replay.chain_replay import ChainRules, OrgReplay

    base = None
    if baseline is not None and baseline.policy is not None:
        base = ChainRules(baseline.policy, baseline.policy.load_org(path))
    return OrgReplay(ChainRules(policy, policy.load_org(path)), str(path), base)


def parse_time_text(text: str) -> str:
    """``--since``/``--until`` as given → RAM's UTC form (a date alone is midnight UTC)."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        text += "T00:00:00Z"
    return parse_utc_time(text)


def _time_option(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(parse_time_text(text))
    except ValueProblem as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


def _runner(engine: str, jobs: int, scheduler: str | None, workers: int | None):
    from compiler.replay import cluster

    if engine == "dask":
        return cluster.dask_runner(scheduler, workers)
    return cluster.process_runner(jobs) if jobs > 1 else None


def _no_trace_file(inputs: Sequence[str], pruned: int) -> str:
    """A directory with no trace file in it (or whose files --since/--until prune by name):
    the message names what was given, as every input error does."""
    given = inputs[0] if len(inputs) == 1 else f"{len(inputs)} inputs"
    if pruned:
        return (
            f"{given}: error: no trace file to read: "
            f"{counted(pruned, 'file')} outside --since/--until by name"
        )
    suffixes = ", ".join(f"*{suffix}" for suffix in TRACE_SUFFIXES)
    return f"{given}: error: no trace file to read: none is named {suffixes}"


def _nothing_decided(result, sources) -> str:
    """Why no event was decided: exit 1, not a clean report of nothing (issue 16 item 3)."""
    where = sources[0].path if len(sources) == 1 else f"{len(sources)} files"
    if result.malformed:
        s, line, col, reason = result.malformed_examples[0]
        first = sources[s].path if 0 <= s < len(sources) else where
        message = (
            f"{where}: error: no event could be decided: {result.malformed:,} malformed "
            f"(first at {first}:{line}:{col}: {reason})"
        )
        # Both counts: 81 malformed lines among 59,995 events outside the window are a
        # window that misses the trace, not a file that is no trace (issue 13).
        if result.outside_window:
            message += (
                ", "
                + (
                    "1 event outside"
                    if result.outside_window == 1
                    else f"{result.outside_window:,} events outside"
                )
                + " --since/--until"
            )
        if result.outside_window <= result.malformed:
            message += "; is this an ActionTrail trace?"
        return message
    if result.outside_window:
        return (
            f"{where}: error: no event could be decided: "
            + (
                "its one event is"
                if result.outside_window == 1
                else f"all {result.outside_window:,} events are"
            )
            + " outside --since/--until"
        )
    return f"{where}: error: no event could be decided: the trace holds no events"
