"""Atomic file writes, shared by every stage that writes a file.

This module belongs to no stage: the formatter (``language``), the catalog builder, the
emitters' output writer, the trace generator and the CLI all write files the same way, and
each of them comes before or after the others in the pipeline. A reader of any file ramguard
writes sees either the old file or the new one, never half of one: the data goes to a
temporary name in the same directory, is flushed, and is renamed over.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` whole when the block ends, or not at all."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # A file where one of the path's directories should be: opening the path would say
        # "not a directory"; mkdir's "file exists" reads as if the output were there already.
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path)) from None
    if path.is_dir() and not path.is_symlink():
        # Else the rename fails at the end, and the error names the temporary file.
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
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
