"""Stage 4a, decide: rules (IR) → a decision trie that answers requests.

Takes ``model`` IR; gives ``trie.DecisionTrie`` (``build``/``lookup`` plus ``all_rules``, the
plain scan kept as the oracle), ``Decision``/``Match`` values, ``explain`` (why a request is
decided as it is) and ``graph`` (the trie as DOT/GraphML). May import ``language``,
``catalog`` and ``model``.
"""
