"""Run a replay plan's splits somewhere other than in order here: local processes or Dask.

Every runner takes the plan and the engines and gives back the merged ``PartialReport``;
``PartialReport.merge`` is associative and commutative, so results are folded in whatever
order they finish and the report is the same bytes as one process's (timing aside).

The compiled rules travel once, as a content-addressed blob: ``pickle.dumps(engines)`` (the
trie as its rules, without its memo; the evaluator as its JSON) and its SHA-256. Each process
unpickles a digest once and keeps it (``_ENGINES``), so every split a worker runs shares one
warm trie.

- ``--jobs N``: a ``ProcessPoolExecutor`` of N spawned processes (spawn, not fork: a forked
  child of a threaded parent can deadlock); the blob is the pool initializer's argument, so
  it is sent once per process, never per split.
- ``--engine dask``: the blob is one ``dask.delayed`` literal with a name derived from its
  digest, a dependency of every split task; the scheduler holds it once and workers fetch it
  from each other — never a closure, never ``Client.scatter`` (a scattered future dies with
  its worker; a graph literal is recomputed when the worker holding it is lost). Tasks are
  ``replay_task`` in this importable module, marked pure, so a task whose worker dies is
  simply run again (Dask's retries: no event lost, none counted twice — a split's result
  either arrives whole or not at all). ``--scheduler ADDR`` joins a running cluster;
  ``--workers N`` starts a ``LocalCluster`` on 127.0.0.1 without a dashboard.

Errors: a ``TraceError`` or ``StrictModeError`` from any split is re-raised here, and when
several splits fail, the one earliest in the plan wins, so the message does not depend on
which worker was faster.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

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

_POOL_BLOB: Blob | None = None


def _init_pool(blob: Blob) -> None:
    global _POOL_BLOB
    _POOL_BLOB = blob
    engines_from(blob)  # unpickle once, at start


def _pool_task(split: Split, strict: bool, window: Window | None):
    assert _POOL_BLOB is not None
    try:
        return replay_task(split, _POOL_BLOB, strict, window)
    except Exception as exc:  # re-raised by the parent, earliest split first
        return _Failed(split.index, exc)


def process_runner(jobs: int) -> Callable[..., PartialReport]:
    """Run splits in ``jobs`` local processes."""

    def run(
        splits: Sequence[Split],
        engines: Engines,
        *,
        strict: bool = False,
        window: Window | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PartialReport:
        if jobs <= 1 or len(splits) <= 1:
            return _fold(_here(splits, engines, strict, window), progress)
        blob = Blob.of(engines)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(splits)),
            mp_context=context,
            initializer=_init_pool,
            initargs=(blob,),
        ) as pool:
            futures = {pool.submit(_pool_task, s, strict, window): s for s in splits}
            return _fold(_as_done(futures), progress)

    return run


def _here(splits, engines, strict, window):
    for split in splits:
        try:
            yield split, replay_split(split, engines, strict=strict, window=window)
        except Exception as exc:
            yield split, _Failed(split.index, exc)
            return


def _as_done(futures: dict):
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield futures[future], future.result()


# --- Dask ----------------------------------------------------------------------------------


def dask_runner(
    scheduler: str | None = None, workers: int | None = None
) -> Callable[..., PartialReport]:
    """Run splits on Dask: the cluster at ``scheduler``, or a LocalCluster of ``workers``
    single-threaded worker processes on 127.0.0.1 without a dashboard."""

    def run(
        splits: Sequence[Split],
        engines: Engines,
        *,
        strict: bool = False,
        window: Window | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PartialReport:
        try:
            from distributed import Client, LocalCluster
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
            LocalCluster(
                n_workers=workers or 1,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            return run_on(client, splits, engines, strict=strict, window=window, progress=progress)

    return run


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
    futures once they are submitted (the kill test watches them)."""
    import dask
    from distributed import as_completed

    if not splits:
        return PartialReport()
    blob = Blob.of(engines)
    shared = dask.delayed(blob, name=f"ramguard-engines-{blob.digest[:32]}", pure=True)
    task = dask.delayed(replay_task, pure=True)
    graph = [
        task(s, shared, strict, window, dask_key_name=_key(s, blob, strict, window)) for s in splits
    ]
    futures = client.compute(graph)
    by_key = {f.key: s for f, s in zip(futures, splits, strict=True)}
    if on_submitted is not None:
        on_submitted(futures)

    def results():
        for future in as_completed(futures):
            split = by_key[future.key]
            try:
                yield split, future.result()
            except Exception as exc:
                yield split, _Failed(split.index, exc)

    return _fold(results(), progress)


def _key(split: Split, blob: Blob, strict: bool, window: Window | None) -> str:
    # Deterministic task names from everything the result depends on: the same plan, rules
    # and options give the same key (so a long-lived cluster may reuse a finished result),
    # anything else a different one.
    what = pickle.dumps((split, blob.digest, strict, window), protocol=4)
    return f"ramguard-split-{split.index}-{hashlib.sha256(what).hexdigest()[:24]}"
