"""Writing emitted documents: atomically, and only when the whole set is ready.

A reader of ``generated/`` sees either the old file or the new one, never half of one: each
file is written to a temporary name in the same directory, flushed, and renamed over.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .emit.ram import Document


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600; what we write is meant to be read (and committed), so keep
    # the mode of the file we replace, or 0644 for a new one.
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """What ``compile --out DIR`` would change: files to write and stale files to remove."""

    write: tuple[tuple[Path, bytes], ...]
    unchanged: tuple[Path, ...]
    remove: tuple[Path, ...]

    @property
    def stale(self) -> bool:
        return bool(self.write or self.remove)


def plan_output(documents: Iterable[Document], out_dir: Path) -> OutputPlan:
    docs = list(documents)
    wanted = {doc.filename: doc.text.encode("utf-8") for doc in docs}
    # The output directory belongs to ramguard: every file in it with the suffix of what we
    # emit (`.json`, `.cedar`) is ours, so a deleted or renamed policy's files are stale too.
    suffixes = {Path(name).suffix for name in wanted}
    write: list[tuple[Path, bytes]] = []
    unchanged: list[Path] = []
    for name, data in sorted(wanted.items()):
        path = out_dir / name
        try:
            current = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            current = None
        if current == data:
            unchanged.append(path)
        else:
            write.append((path, data))
    remove: list[Path] = []
    if out_dir.is_dir():
        for path in sorted(out_dir.iterdir()):
            if path.name not in wanted and path.is_file() and path.suffix in suffixes:
                remove.append(path)
    return OutputPlan(tuple(write), tuple(unchanged), tuple(remove))


def apply_output(plan: OutputPlan) -> None:
    for path, data in plan.write:
        atomic_write(path, data)
    for path in plan.remove:
        path.unlink(missing_ok=True)
