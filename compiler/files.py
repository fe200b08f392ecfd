"""Atomic file writes, shared by every stage that writes a file.

This module belongs to no stage: the formatter (``language``), the catalog builder, the
emitters' output writer, the trace generator and the CLI all write files the same way, and
each of them comes before or after the others in the pipeline. A reader of any file ramguard
writes sees either the old file or the new one, never half of one: the data goes to a
temporary name in the same directory, is flushed, and is renamed over.

What is at the path decides how (README, "Output files"):

- a symlink is followed: the file it points to is replaced atomically and the link stays
  (``generated/x.json -> ../elsewhere/x.json`` was replaced by a regular file);
- a character or block device, a FIFO or a socket is written straight through, with no
  temporary file, rename, chmod or fsync: ``--report /dev/null`` run as root replaced
  ``/dev/null`` with a regular file, and atomicity means nothing for a stream;
- a directory is refused (``IsADirectoryError``);
- missing directories on the way are created, for every verb alike, as pytest's
  ``--junitxml`` and terraform's ``-out`` do: ``compile --out DIR`` makes DIR, and
  ``simulate --report a/b/r.json`` makes ``a/b``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` whole when the block ends, or not at all; a
    device, FIFO or socket at ``path`` (after symlinks) is written through instead."""
    target, in_proc = _link_target(path) if path.is_symlink() else (path, False)
    if in_proc:  # /dev/stdout, /dev/fd/1: the stream the process already holds
        held = _held_descriptor(target)
        if held is None:
            with _written_through(path) as stream:
                yield stream
            return
        # Through the descriptor itself, not a reopening of its /proc link: that opens the
        # file anew with O_TRUNC at offset 0, so `--report /dev/stdout >> log` emptied the
        # log and `> out` had the summary written over the report (review finding).
        if held in (1, 2):
            sys.stdout.flush()
            sys.stderr.flush()
        with os.fdopen(os.dup(held), "wb") as stream:
            yield stream
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # A file where one of the path's directories should be: opening the path would say
        # "not a directory"; mkdir's "file exists" reads as if the output were there already.
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path)) from None
    try:
        found = target.stat()
    except FileNotFoundError:
        found = None
    if found is not None and stat.S_ISDIR(found.st_mode):
        # Else the rename fails at the end, and the error names the temporary file.
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if found is not None and not stat.S_ISREG(found.st_mode):
        # /dev/null, a FIFO: a stream, which no reader can see half of; renaming over it
        # would replace the device node (as root) or the FIFO, and fsync fails on a tty.
        with _written_through(target) as stream:
            yield stream
        return
    # mkstemp makes the file 0600; what we write is meant to be read (and committed), so keep
    # the mode of the file we replace, or 0644 for a new one.
    mode = stat.S_IMODE(found.st_mode) if found is not None else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _written_through(path: Path) -> Iterator[BinaryIO]:
    with open(path, "wb") as stream:
        yield stream


_MAX_LINKS = 40  # as Linux's own limit on a path's symlinks (ELOOP)


def _held_descriptor(link: Path) -> int | None:
    """The descriptor of this process a link under /proc names (``/proc/<pid>/fd/1``: 1),
    or None."""
    if str(link.parent) == f"/proc/{os.getpid()}/fd" and link.name.isdigit():
        return int(link.name)
    return None


def _link_target(path: Path) -> tuple[Path, bool]:
    """The path a symlink leads to, link by link, so that the rename replaces the file it
    points to and the link stays; and whether a link on the way is one of a process's
    descriptors (``/dev/stdout`` → ``/proc/self/fd/1`` → ``pipe:[…]``, ``/dev/fd/1``): then
    the path is that link under /proc, which names an open stream, not a file to replace."""
    for _ in range(_MAX_LINKS):
        if not path.is_symlink():
            return path, False
        parent = os.path.realpath(path.parent)
        if parent == "/proc" or parent.startswith("/proc/"):
            return Path(parent, path.name), True
        path = Path(parent, os.readlink(path))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def atomic_write(path: Path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


# Characters XML 1.0 cannot hold at all, not even as a character reference (C0 controls other
# than tab, newline and carriage return; lone surrogates, which an undecodable file-name byte
# becomes; U+FFFE and U+FFFF). A file name with ESC in it made GraphML and JUnit XML that no
# parser reads (issue 16 F11). One character class: linear.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: show the byte it stood for
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(value: str) -> str:
    """``value`` with every character XML cannot carry written as ``\\x1b`` / ``\\uXXXX``;
    the XML writer then escapes ``<``, ``&`` and quotes as usual."""
    if _NOT_XML.search(value) is None:
        return value
    return _NOT_XML.sub(_xml_escape, value)


# --- an output that is an input, or another output ------------------------------------------

Named = tuple[str, "str | os.PathLike[str]"]
"""(what names it, the path): ``("--report", Path("r.json"))``."""


@dataclass(frozen=True, slots=True)
class Clash:
    """An output that is also ``other``: an input it would be written over, or an output."""

    output: Named
    other: Named
    other_is_input: bool


def _identity(path: str | os.PathLike[str], output: bool) -> tuple | None:
    """What makes two names one file: (st_dev, st_ino) of a regular file, under any spelling,
    hard link or symlink; for an output not there yet, its resolved path. None for what no
    write can clobber: a directory, a device or a FIFO (two reports to /dev/null are no
    clash), and an input that is missing (its own error says so)."""
    try:
        found = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path)) if output else None
    if stat.S_ISREG(found.st_mode):
        return ("file", found.st_dev, found.st_ino)
    return None


def first_clash(outputs: Iterable[Named], inputs: Iterable[Named] = ()) -> Clash | None:
    """The first output that is also one of the inputs or an earlier output; None when each
    output is a file of its own. A report written over the trace it replays (``--trace
    t.jsonl --report ./t.jsonl``) destroys the input; one file as two outputs keeps only the
    last written."""
    seen: dict[tuple, tuple[Named, bool]] = {}
    for name in inputs:
        key = _identity(name[1], output=False)
        if key is not None:
            seen.setdefault(key, (name, True))
    for name in outputs:
        key = _identity(name[1], output=True)
        if key is None:
            continue
        if key in seen:
            other, is_input = seen[key]
            return Clash(name, other, is_input)
        seen[key] = (name, False)
    return None
