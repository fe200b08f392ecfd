"""The cyclic collector paused while the exact analysis allocates.

``prove``, ``diff`` and ``check``'s duplicates and shadowing build many small objects (DFA
states, statement sets, formulas, the covering graph) that hold no reference cycle, while a
compiled rule set's own objects are alive. The collector's passes find nothing in them, yet
each full pass walks every object alive: on 10,000 rules they were 40 % of ``prove`` and
half of ``diff``, and on many globs they began only past some size, bending ``check``'s
growth. Paused, as ``compiler.policy`` pauses it for the front end, the trie and the
documents; resumed as it was, so a caller that turned it off keeps it off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
