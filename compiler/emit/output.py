"""Writing emitted documents: atomically, and only when the whole set is ready.

A reader of ``generated/`` sees either the old file or the new one, never half of one: each
file is written with ``compiler.files.atomic_write``.

What ramguard wrote into a directory is listed in its manifest (``.ramguard-outputs``), so a
later compile knows which files are its own: the documents of a policy since deleted or
renamed are stale and removed, and nothing else in the directory is ever touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compiler.emit.ram import Document
from compiler.files import atomic_write

MANIFEST = ".ramguard-outputs"


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """What ``compile --out DIR`` would change: files to write and stale files to remove."""

    write: tuple[tuple[Path, bytes], ...]
    unchanged: tuple[Path, ...]
    remove: tuple[Path, ...]

    @property
    def stale(self) -> bool:
        return bool(self.write or self.remove)


def _named_for(name: str, policies: set[str]) -> bool:
    """``p.json`` / ``p.3.json`` (or ``.cedar``) of one of these policies: ours even when a
    directory has no manifest yet (e.g. a policy that used to be split)."""
    stem, dot, _ = name.rpartition(".")
    if not dot:
        return False
    if stem in policies:
        return True
    head, _, tail = stem.rpartition(".")
    return head in policies and tail.isdigit()


def _listed(out_dir: Path) -> set[str]:
    try:
        text = (out_dir / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return set()
    # Only plain names: a manifest edited to say `../x` must not make us delete outside DIR.
    return {n for n in text.splitlines() if n and "/" not in n and "\\" not in n and n != ".."}


def plan_output(documents: Iterable[Document], out_dir: Path) -> OutputPlan:
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
        except (FileNotFoundError, NotADirectoryError):
            current = None
        if current == data:
            unchanged.append(path)
        else:
            write.append((path, data))
    remove: list[Path] = []
    if out_dir.is_dir():
        listed = _listed(out_dir)
        for path in sorted(out_dir.iterdir()):
            name = path.name
            ours = name in listed or _named_for(name, policies)
            if name not in wanted and ours and path.is_file():
                remove.append(path)
    return OutputPlan(tuple(write), tuple(unchanged), tuple(remove))


def apply_output(plan: OutputPlan) -> None:
    # The manifest last: if writing stops half-way, the next run still knows the old files.
    manifest = [(p, d) for p, d in plan.write if p.name == MANIFEST]
    for path, data in [(p, d) for p, d in plan.write if p.name != MANIFEST]:
        atomic_write(path, data)
    for path in plan.remove:
        path.unlink(missing_ok=True)
    for path, data in manifest:
        atomic_write(path, data)
