"""ramguard: rules as code for Alibaba Cloud RAM deny policies.

Public API::

    policy = compile_rules(["policies/"])
    policy.decide("ecs:RunInstances", {"source_ip": "203.0.113.9"})  # -> Decision
    policy.ram_documents()                                           # -> [dict, ...]
    compile_rules(["policies/"], catalog=catalog_with_overlays(["team-catalog.toml"]))
    org = policy.load_org("org.toml")  # a Resource Directory, bound to these rules
    policy.decide_chain(org, "1234567890", "ecs:RunInstances")    # -> ChainDecision
"""

from __future__ import annotations

__version__ = "0.1.0"

from compiler.catalog import with_overlays as catalog_with_overlays
from compiler.decide.trie import Decision, Match
from compiler.language.diagnostics import CompileError, Diagnostic, Severity, Span
from compiler.policy import Policy, compile_rules, compile_sources

__all__ = [
    "ChainDecision",
    "CompileError",
    "Decision",
    "Diagnostic",
    "Match",
    "NodeVerdict",
    "Policy",
    "Severity",
    "Span",
    "__version__",
    "catalog_with_overlays",
    "compile_rules",
    "compile_sources",
]


def __getattr__(name: str):
    # The Resource Directory chain's types load on first use: `ramguard decide` without
    # --account must not import org.toml's reader (start-up is held to 1.3x --version).
    if name in ("ChainDecision", "NodeVerdict"):
        from compiler.decide import chain

        return getattr(chain, name)
    raise AttributeError(f"module 'compiler' has no attribute {name!r}")
