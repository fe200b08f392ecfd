"""Writing emitted documents: the whole set changes at once, or not at all.

What ramguard wrote into a directory is listed in its manifest (``.ramguard-outputs``), so a
later compile knows which files are its own: the documents of a policy since deleted or
renamed are stale and removed, and nothing else in the directory is ever touched.

The set is atomic (issue 16 F5: a compile killed half-way used to leave one policy's new
``.1–5`` next to its old ``.6–8``). Writing goes in three steps:

1. *stage*: every file to write, the new manifest and a ``plan`` (names to move in, names to
   remove) go into ``DIR/.ramguard-stage.new/``, each fsync'd;
2. *commit*: that directory is renamed to ``DIR/.ramguard-stage`` — one ``rename(2)``, the
   point after which the new set is decided;
3. *roll forward*: each staged file is renamed over its target, stale files are removed, the
   manifest goes last, and the stage directory is deleted.

A kill before step 2 leaves the old set and an uncommitted stage, which the next compile
discards; a kill during step 3 leaves a committed stage, which the next compile (or any
``roll_forward``) completes before doing anything else. Until then ``--check`` reports the
directory stale, naming the interrupted compile. Temporary files of ``atomic_write`` that a
kill left behind (``.NAME.XXXX.tmp`` of a name ramguard owns) are removed too, and are stale
for ``--check`` meanwhile.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from compiler.files import atomic_write

MANIFEST = ".ramguard-outputs"
STAGE = ".ramguard-stage"
STAGE_NEW = ".ramguard-stage.new"
_PLAN = ".plan.json"

fault_hook: Callable[[str], None] = lambda step: None  # noqa: E731
"""Called with the name of each step about to run; the tests replace it to kill a compile at a
chosen point (``os._exit`` in a forked child)."""


class Emitted(Protocol):
    policy: str
    filename: str
    text: str


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """What ``compile --out DIR`` would change: files to write and stale files to remove."""

    write: tuple[tuple[Path, bytes], ...]
    unchanged: tuple[Path, ...]
    remove: tuple[Path, ...]
    leftovers: tuple[Path, ...] = ()
    """An interrupted compile's stage directory or temporary files."""

    @property
    def stale(self) -> bool:
        return bool(self.write or self.remove or self.leftovers)


def _named_for(name: str, policies: set[str]) -> bool:
    """``p.json`` / ``p.3.json`` (``.cedar``, ``.tf``, ``.ros.json``) of one of these
    policies: ours even when a directory has no manifest yet (e.g. a policy that used to be
    split)."""
    stem = name
    while "." in stem:
        stem, _, tail = stem.rpartition(".")
        if stem in policies:
            return True
        if not (tail.isdigit() or tail in {"json", "cedar", "tf", "ros"}):
            return False
    return False


def _plain(name: str) -> bool:
    # Only plain names: a manifest edited to say `../x` must not make us touch outside DIR.
    return bool(name) and "/" not in name and "\\" not in name and name not in {".", ".."}


def _listed(out_dir: Path) -> set[str]:
    try:
        text = (out_dir / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {n for n in text.splitlines() if _plain(n)}


def _temporary_of(name: str, owned: set[str]) -> bool:
    """``.NAME.XXXXXXXX.tmp``: what ``atomic_write`` leaves when killed before its rename."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    target = name[1:-4].rpartition(".")[0]
    return target in owned


def _leftovers(out_dir: Path, owned: set[str]) -> list[Path]:
    if not out_dir.is_dir():
        return []
    found = [out_dir / n for n in (STAGE, STAGE_NEW) if (out_dir / n).exists()]
    found += [p for p in sorted(out_dir.iterdir()) if _temporary_of(p.name, owned)]
    return found


def plan_output(documents: Iterable[Emitted], out_dir: Path) -> OutputPlan:
    docs = list(documents)
    wanted = {doc.filename: doc.text.encode("utf-8") for doc in docs}
    policies = {doc.policy for doc in docs}
    wanted[MANIFEST] = "".join(f"{name}\n" for name in sorted(wanted)).encode("utf-8")
    write: list[tuple[Path, bytes]] = []
    unchanged: list[Path] = []
    for name, data in sorted(wanted.items()):
        path = out_dir / name
        try:
            current = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            current = None
        if current == data:
            unchanged.append(path)
        else:
            write.append((path, data))
    remove: list[Path] = []
    listed = _listed(out_dir)
    if out_dir.is_dir():
        for path in sorted(out_dir.iterdir()):
            name = path.name
            ours = name in listed or _named_for(name, policies)
            if name not in wanted and ours and path.is_file():
                remove.append(path)
    owned = set(wanted) | listed
    return OutputPlan(
        tuple(write), tuple(unchanged), tuple(remove), tuple(_leftovers(out_dir, owned))
    )


def roll_forward(out_dir: Path) -> None:
    """Finish a committed stage (a compile killed while moving files in), discard an
    uncommitted one. Idempotent: a kill during it is finished by the next call."""
    fresh = out_dir / STAGE_NEW
    if fresh.exists():
        shutil.rmtree(fresh)
    stage = out_dir / STAGE
    if not stage.is_dir():
        return
    plan = json.loads((stage / _PLAN).read_text(encoding="utf-8"))
    names = [n for n in plan["write"] if _plain(n)]
    for name in (n for n in names if n != MANIFEST):
        fault_hook(f"move:{name}")
        if (stage / name).exists():  # moved already by the run that was killed
            os.replace(stage / name, out_dir / name)
    for name in (n for n in plan["remove"] if _plain(n)):
        fault_hook(f"remove:{name}")
        (out_dir / name).unlink(missing_ok=True)
    if MANIFEST in names and (stage / MANIFEST).exists():
        fault_hook("move:manifest")
        os.replace(stage / MANIFEST, out_dir / MANIFEST)
    _fsync_dir(out_dir)
    fault_hook("cleanup")
    shutil.rmtree(stage)


def _fsync_dir(path: Path) -> None:
    # The renames are durable only once the directory itself is flushed.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def apply_output(plan: OutputPlan) -> None:
    """Carry out ``plan`` as one change of the set (see the module docstring)."""
    paths = [p for p, _ in plan.write] + list(plan.remove) + list(plan.leftovers)
    if not paths:
        return
    out_dir = paths[0].parent
    out_dir.mkdir(parents=True, exist_ok=True)
    roll_forward(out_dir)
    for path in plan.leftovers:
        if path.name not in (STAGE, STAGE_NEW):
            path.unlink(missing_ok=True)
    if not (plan.write or plan.remove):
        return
    # A target that is a directory would fail its rename after the commit, half-way through
    # the set, and fail every later compile's roll forward: refuse before anything changes.
    for path, _ in plan.write:
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    fresh = out_dir / STAGE_NEW
    fresh.mkdir()
    try:
        for path, data in plan.write:
            fault_hook(f"stage:{path.name}")
            atomic_write(fresh / path.name, data)
        record = {
            "write": [p.name for p, _ in plan.write],
            "remove": [p.name for p in plan.remove],
        }
        atomic_write(fresh / _PLAN, json.dumps(record, sort_keys=True).encode("utf-8"))
        _fsync_dir(fresh)
    except Exception:
        shutil.rmtree(fresh, ignore_errors=True)  # uncommitted: the old set stands
        raise
    fault_hook("commit")
    os.replace(fresh, out_dir / STAGE)
    _fsync_dir(out_dir)
    roll_forward(out_dir)
