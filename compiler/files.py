"""Atomic file writes, shared by every stage that writes a file.

This module belongs to no stage: the formatter (``language``), the catalog builder, the
emitters' output writer, the trace generator and the CLI all write files the same way, and
each of them comes before or after the others in the pipeline. A reader of any file ramguard
writes sees either the old file or the new one, never half of one: the data goes to a
temporary name in the same directory, is flushed, and is renamed over.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` whole when the block ends, or not at all."""
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
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)
