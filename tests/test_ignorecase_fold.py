"""The trie folds ``ignorecase`` values as the RAM evaluator does (``str.lower``): it
casefolded, so `ß` was `ss` and `ſ` was `s` to the trie and not to the evaluator — `decide`
denied a request the emitted JSON allowed, and `ramguard test`/`simulate` saw the engines
disagree."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.ram import RamEvaluator

TEXT = "deny ECS RunInstances when vpc in ignorecase [ss, st, fi, k]\n"
NOT_TEXT = "deny ECS RunInstances when vpc not in ignorecase [ss, st, fi, k]\n"


@pytest.mark.parametrize("text", [TEXT, NOT_TEXT], ids=["in", "not-in"])
@pytest.mark.parametrize(
    "value", ["ß", "ẞ", "ſs", "ﬆ", "ﬁ", "\u212a", "SS", "sS", "St", "FI", "K", "s", "x"]
)
def test_trie_and_evaluator_fold_alike(text, value):
    policy = compile_sources([("f.rules", text)])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    ctx = {"acs:SourceVpc": value}
    listed = value.lower() in ("ss", "st", "fi", "k")  # the Kelvin sign lowers to `k`
    want = listed if text is TEXT else not listed
    assert policy.decide("ecs:RunInstances", ctx).denied is want
    assert (ram.decide("ecs:RunInstances", ctx) == "deny") is want
