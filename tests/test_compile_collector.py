"""The trie and the documents of a compile are built with the cyclic garbage collector paused,
as the front end is (issue 15 / DESIGN: 10,000 rules in under 2 s): they allocate many small
acyclic objects next to the compiled rules, and the collector's passes over them found
nothing and cost more than building the trie itself. The collector is on again afterwards."""

from __future__ import annotations

import gc

import compiler.policy as policy_module
from compiler import compile_sources

RULES = 'policy p "x"\ndeny ECS RunInstances\ndeny RAM * when mfa = false\n'


def test_trie_and_documents_are_built_with_the_collector_paused(monkeypatch):
    seen: dict[str, bool] = {}
    trie_class, emit = policy_module.DecisionTrie, policy_module.documents_for

    def trie(*args, **kwargs):
        seen["trie"] = gc.isenabled()
        return trie_class(*args, **kwargs)

    def documents(*args, **kwargs):
        seen["documents"] = gc.isenabled()
        return emit(*args, **kwargs)

    monkeypatch.setattr(policy_module, "DecisionTrie", trie)
    monkeypatch.setattr(policy_module, "documents_for", documents)
    assert gc.isenabled()
    policy = compile_sources([("p.rules", RULES)])
    assert policy.decide("ecs:RunInstances").denied
    assert [d.filename for d in policy.documents] == ["p.json"]
    assert seen == {"trie": False, "documents": False}
    assert gc.isenabled()
