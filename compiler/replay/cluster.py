"""Run a replay plan's splits somewhere other than in order here: local processes or Dask.

Every runner takes the plan (or the function that makes it, so that workers may start while
it is made) and the engines and gives back the merged ``PartialReport``;
``PartialReport.merge`` is associative and commutative, so results are folded in whatever
order they finish and the report is the same bytes as one process's (timing aside).

The compiled rules travel once, as a content-addressed blob: ``pickle.dumps(engines)`` (the
trie as its rules, without its memo; the evaluator as its JSON) and its SHA-256. Each process
unpickles a digest once and keeps it (``_ENGINES``), so every split a worker runs shares one
warm trie.

- ``--jobs N``: this process and N - 1 spawned helpers (spawn, not fork: a forked child of
  a threaded parent can deadlock) take splits from a shared counter, each counting into one
  report of its own (``_LocalRun``); the blob is a helper's start argument, so it is sent
  once per process, never per split.
- ``--engine dask``: the blob is one ``dask.delayed`` literal with a name derived from its
  digest, a dependency of every split task; the scheduler holds it once and workers fetch it
  from each other — never a closure, never ``Client.scatter`` (a scattered future dies with
  its worker; a graph literal is recomputed when the worker holding it is lost). Tasks are
  functions of this importable module (``replay_task`` per split, then a tree of merges on
  the workers, ``run_on``), marked pure, so a task whose worker dies is simply run again
  (Dask's retries: no event lost, none counted twice — a split's result either arrives
  whole or not at all). ``--scheduler ADDR`` joins a running cluster;
  ``--workers N`` starts a ``LocalCluster`` on 127.0.0.1 without a dashboard.

Errors: a ``TraceError`` or ``StrictModeError`` from any split is re-raised here, and when
several splits fail, the one earliest in the plan wins, so the message does not depend on
which worker was faster.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import pickle
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import connection

from compiler.replay.simulate import Engines, PartialReport, Split, Window, replay_split

_ENGINES: dict[str, Engines] = {}
"""Unpickled engines per blob digest, per process (a worker keeps one or two)."""


@dataclass(frozen=True, slots=True)
class Blob:
    digest: str
    data: bytes

    @classmethod
    def of(cls, engines: Engines) -> Blob:
        data = pickle.dumps(engines, protocol=pickle.HIGHEST_PROTOCOL)
        return cls(hashlib.sha256(data).hexdigest(), data)


def engines_from(blob: Blob) -> Engines:
    engines = _ENGINES.get(blob.digest)
    if engines is None:
        if len(_ENGINES) >= 4:
            _ENGINES.clear()
        engines = _ENGINES[blob.digest] = pickle.loads(blob.data)
    return engines


def replay_task(
    split: Split, blob: Blob, strict: bool = False, window: Window | None = None
) -> PartialReport:
    """One split on a worker: the Dask task function."""
    return replay_split(split, engines_from(blob), strict=strict, window=window)


class _Failed:
    """An error from one split, carried back so that the earliest split's error wins."""

    __slots__ = ("error", "index")

    def __init__(self, index: int, error: BaseException) -> None:
        self.index, self.error = index, error


def _fold(results, progress: Callable[[int], None] | None) -> PartialReport:
    total = PartialReport()
    failed: _Failed | None = None
    for _split, result in results:
        if isinstance(result, _Failed):
            if failed is None or result.index < failed.index:
                failed = result
            continue
        if progress is not None:
            progress(result.events + result.outside_window)
        total = total.merge(result)
    if failed is not None:
        raise failed.error
    return total


# --- local processes -----------------------------------------------------------------------


def process_runner(jobs: int, *, here: bool = True) -> Callable[..., PartialReport]:
    """Run splits in ``jobs`` local processes: this one and ``jobs - 1`` started ones, or
    (``here=False``) ``jobs`` started ones while this one only plans and gathers."""

    def run(
        splits: Sequence[Split] | Callable[[], Sequence[Split]],
        engines: Engines,
        *,
        strict: bool = False,
        window: Window | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PartialReport:
        if here and jobs <= 1:
            return _fold(_here(_resolve(splits), engines, strict, window), progress)
        helpers = jobs - 1 if here else max(jobs, 1)
        return _LocalRun(helpers, engines, strict, window, progress, here).run(splits)

    return run


def _resolve(splits: Sequence[Split] | Callable[[], Sequence[Split]]) -> Sequence[Split]:
    return splits() if callable(splits) else splits


def _here(splits, engines, strict, window):
    for split in splits:
        try:
            yield split, replay_split(split, engines, strict=strict, window=window)
        except Exception as exc:
            yield split, _Failed(split.index, exc)
            return


class _LocalRun:
    """``--jobs N``: this process and ``N - 1`` spawned helpers replay the plan together.

    - Helpers are started first: they import ramguard and unpickle the rules while this
      process makes the plan, which then goes to each of them once, by pipe.
    - Every process takes the next split of the plan from a shared counter (so the splits
      are spread as the processes happen to be fast, and none idles at the end while work
      is left elsewhere) and counts every split it takes into one report of its own
      (``replay_split(into=…)``; it takes them in plan order). A helper sends that report
      once, at the end, and a count per split as it goes (progress): no report per split is
      pickled, sent or merged.
    - This process replays too: ``--jobs 2`` on 2 cores is two busy processes, not two
      workers and a waiting parent, and the first split starts before any helper is up. A
      helper that has taken no split when the plan runs out is stopped, not waited for.

    A split that fails stops the taking of later splits (they cannot change the error);
    the error of the earliest failed split in the plan is raised. A helper that dies
    (killed, out of memory) fails the run with its exit code: its counts died with it.
    """

    def __init__(
        self, helpers: int, engines: Engines, strict, window, progress, here: bool = True
    ) -> None:
        self.helpers, self.engines, self.here = helpers, engines, here
        self.strict, self.window, self.progress = strict, window, progress
        self.done: dict[int, tuple[PartialReport, _Failed | None]] = {}

    def run(self, splits: Sequence[Split] | Callable[[], Sequence[Split]]) -> PartialReport:
        if self.here and not callable(splits) and len(splits) <= 1:
            return _fold(_here(splits, self.engines, self.strict, self.window), self.progress)
        context = multiprocessing.get_context("spawn")
        # taken: the next split to take; stop: take none from here on (an earlier failed);
        # started[h]: splits helper h took (slot 0: this process), all under taken's lock.
        self.taken = context.Value("q", 0)
        self.stop = context.RawValue("q", 1 << 62)
        self.started = context.RawArray("q", self.helpers + 1)
        blob = Blob.of(self.engines)
        procs, plans, results = [], [], []
        try:
            for slot in range(1, self.helpers + 1):
                plan_out, plan_in = context.Pipe(duplex=False)
                result_out, result_in = context.Pipe(duplex=False)
                proc = context.Process(
                    target=_helper,
                    args=(slot, plan_out, result_in, blob, self.taken, self.stop, self.started),
                    kwargs={"strict": self.strict, "window": self.window},
                    daemon=True,
                )
                proc.start()
                plan_out.close()
                result_in.close()
                procs.append(proc)
                plans.append(plan_in)
                results.append(result_out)
            plan = list(_resolve(splits))
            # From threads: a helper still importing would hold up this process's replay.
            for pipe in plans:
                threading.Thread(target=_send_plan, args=(pipe, plan), daemon=True).start()
            mine, failed = PartialReport(), None
            if self.here:
                mine, failed = self._replay_here(plan, results)
            for _slot, (report, error) in sorted(self._gather(plan, procs, results).items()):
                mine = mine.merge(report)
                if error is not None and (failed is None or error.index < failed.index):
                    failed = error
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
                proc.join()
            for pipe in (*plans, *results):
                pipe.close()
        if failed is not None:
            raise failed.error
        return mine

    def _replay_here(self, plan: list[Split], results) -> tuple[PartialReport, _Failed | None]:
        report = PartialReport()
        for split in _take(plan, 0, self.taken, self.stop, self.started):
            before = report.events + report.outside_window
            try:
                replay_split(
                    split, self.engines, strict=self.strict, window=self.window, into=report
                )
            except Exception as exc:
                _stop_at(self.taken, self.stop, split.index)
                return report, _Failed(split.index, exc)
            if self.progress is not None:  # per split, as helpers count: every event once
                self.progress(report.events + report.outside_window - before)
            for slot, pipe in enumerate(results, 1):
                while slot not in self.done and pipe.poll():
                    self._receive(slot, pipe)
        return report, None

    def _receive(self, slot: int, pipe) -> None:
        kind, *value = pipe.recv()
        if kind == "progress":
            if self.progress is not None:
                self.progress(value[0])
        else:
            self.done[slot] = (value[0], value[1])

    def _gather(self, plan: list[Split], procs, results) -> dict:
        """Every helper's report (and error), once all are in or idle for good."""
        waiting = {
            slot: (proc, pipe)
            for slot, (proc, pipe) in enumerate(zip(procs, results, strict=True), 1)
            if slot not in self.done
        }
        while waiting:
            with self.taken.get_lock():  # a helper that took nothing can take nothing now
                idle = [s for s in waiting if not self.started[s]]
                if self.taken.value >= min(self.stop.value, len(plan)):
                    for slot in idle:
                        proc = waiting.pop(slot)[0]
                        proc.terminate()
                        proc.join()  # under the lock: it cannot die holding it
                        self.done[slot] = (PartialReport(), None)
            if not waiting:
                break
            pipes = [pipe for _, pipe in waiting.values()]
            connection.wait([*pipes, *(proc.sentinel for proc, _ in waiting.values())])
            for slot, (proc, pipe) in list(waiting.items()):
                try:
                    while slot not in self.done and pipe.poll():
                        self._receive(slot, pipe)
                except EOFError:
                    pass
                if slot in self.done:
                    del waiting[slot]
                elif not proc.is_alive():
                    proc.join()
                    raise RuntimeError(
                        f"a --jobs replay process (pid {proc.pid}) died with exit code "
                        f"{proc.exitcode}"
                    )
        return {slot: self.done[slot] for slot in range(1, len(procs) + 1)}


def _take(plan: Sequence[Split], slot: int, taken, stop, started):
    """The next split of the plan nobody has taken, while there is one before ``stop``."""
    while True:
        with taken.get_lock():
            index = taken.value
            if index >= min(stop.value, len(plan)):
                return
            taken.value = index + 1
            started[slot] += 1
        yield plan[index]


def _stop_at(taken, stop, index: int) -> None:
    with taken.get_lock():
        stop.value = min(stop.value, index)


def _send_plan(pipe, plan: list[Split]) -> None:
    with contextlib.suppress(OSError):  # the helper is gone: its exit code will say so
        pipe.send(plan)


def _helper(
    slot: int,
    plans,
    results,
    blob: Blob,
    taken,
    stop,
    started,
    *,
    strict: bool,
    window: Window | None,
) -> None:
    """A ``--jobs`` helper: unpickle the rules, wait for the plan, replay the splits it takes
    into one report, and send that once."""
    engines = engines_from(blob)
    plan = plans.recv()
    report = PartialReport()
    failed = None
    for split in _take(plan, slot, taken, stop, started):
        before = report.events + report.outside_window
        try:
            replay_split(split, engines, strict=strict, window=window, into=report)
        except Exception as exc:
            _stop_at(taken, stop, split.index)
            failed = _Failed(split.index, exc)
            break
        results.send(("progress", report.events + report.outside_window - before))
    try:
        results.send(("done", report, failed))
    except Exception as exc:  # an error that does not pickle: its text still travels
        assert failed is not None, exc
        error = RuntimeError(f"{type(failed.error).__name__}: {failed.error}")
        results.send(("done", report, _Failed(failed.index, error)))
    results.close()


# --- Dask ----------------------------------------------------------------------------------


def local_cluster(workers: int):
    """A LocalCluster of ``workers`` single-threaded worker processes, every socket on
    127.0.0.1: no dashboard, and the scheduler's HTTP endpoints (metrics, health) on a free
    port. With ``dashboard_address=None`` alone the scheduler still binds 8787 and warns
    when another cluster holds it, which fails a run beside any other Dask user."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )


def dask_runner(
    scheduler: str | None = None, workers: int | None = None
) -> Callable[..., PartialReport]:
    """Run splits on Dask: the cluster at ``scheduler``, or a LocalCluster of ``workers``
    single-threaded worker processes on 127.0.0.1 without a dashboard."""

    def run(
        splits: Sequence[Split] | Callable[[], Sequence[Split]],
        engines: Engines,
        *,
        strict: bool = False,
        window: Window | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PartialReport:
        splits = _resolve(splits)
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeError(
                "--engine dask needs dask[distributed]: pip install 'ramguard[dask]'"
            ) from None
        if scheduler is not None:
            with Client(scheduler) as client:
                return run_on(
                    client, splits, engines, strict=strict, window=window, progress=progress
                )
        with (
            local_cluster(workers or 1) as cluster,
            Client(cluster) as client,
        ):
            return run_on(client, splits, engines, strict=strict, window=window, progress=progress)

    return run


MERGE_FAN_IN = 8
"""Split reports merged by one Dask merge task; a tree of them folds the plan."""


def run_on(
    client,
    splits: Sequence[Split],
    engines: Engines,
    *,
    strict: bool = False,
    window: Window | None = None,
    progress: Callable[[int], None] | None = None,
    on_submitted: Callable[[list], None] | None = None,
) -> PartialReport:
    """Run the splits on an existing ``distributed.Client``; ``on_submitted`` sees the
    futures once they are submitted (the kill test watches them).

    The split reports are merged on the workers, by a tree of merge tasks (``MERGE_FAN_IN``
    to a task), and only the root comes back here: this process receives one report, not
    one per split (each is hundreds of kB of first examples that it would unpickle and
    merge while the workers compete with it for the cores). Progress comes from a tiny
    task per split that counts its report where it lies. A split's error travels as a
    value (``_Failed``) up the tree, so the earliest in the plan wins whatever finished
    first; a worker lost mid-run only makes Dask compute again what it held."""
    import dask
    from distributed import as_completed

    if not splits:
        return PartialReport()
    blob = Blob.of(engines)
    shared = dask.delayed(blob, name=f"ramguard-engines-{blob.digest[:32]}", pure=True)
    task = dask.delayed(_replay_or_failure, pure=True)
    count = dask.delayed(_events_in, pure=True)
    merge = dask.delayed(_merge_all, pure=True)
    keys = [_key(s, blob, strict, window) for s in splits]
    level = [
        task(s, shared, strict, window, dask_key_name=k) for s, k in zip(splits, keys, strict=True)
    ]
    counts = [count(r, dask_key_name=f"{k}-events") for r, k in zip(level, keys, strict=True)]
    root_key = hashlib.sha256("".join(keys).encode()).hexdigest()[:24]
    depth = 0
    while len(level) > 1:
        depth += 1
        level = [
            merge(
                *level[i : i + MERGE_FAN_IN], dask_key_name=f"ramguard-merge-{root_key}-{depth}-{i}"
            )
            for i in range(0, len(level), MERGE_FAN_IN)
        ]
    futures = client.compute([*counts, level[0]])
    root = futures.pop()
    if on_submitted is not None:
        on_submitted(futures)
    for future in as_completed(futures):
        events = future.result()
        if progress is not None:
            progress(events)
    result = root.result()
    if isinstance(result, _Failed):
        raise result.error
    return result


def _replay_or_failure(split: Split, blob: Blob, strict: bool, window: Window | None):
    """A Dask split task: its report, or its error as a value (see ``run_on``)."""
    try:
        return replay_task(split, blob, strict, window)
    except Exception as exc:
        return _Failed(split.index, exc)


def _events_in(result) -> int:
    return 0 if isinstance(result, _Failed) else result.events + result.outside_window


def _merge_all(*results):
    """A Dask merge task: the reports merged, or the earliest failure among them."""
    failed = [r for r in results if isinstance(r, _Failed)]
    if failed:
        return min(failed, key=lambda f: f.index)
    total = PartialReport()
    for result in results:
        total = total.merge(result)
    return total


def _key(split: Split, blob: Blob, strict: bool, window: Window | None) -> str:
    # Deterministic task names from everything the result depends on: the same plan, rules
    # and options give the same key (so a long-lived cluster may reuse a finished result),
    # anything else a different one.
    what = pickle.dumps((split, blob.digest, strict, window), protocol=4)
    return f"ramguard-split-{split.index}-{hashlib.sha256(what).hexdigest()[:24]}"
