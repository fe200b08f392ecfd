"""Stage 3, the model: the AST checked against the catalog becomes the IR.

Takes ``language`` AST nodes and a ``catalog.Catalog``; gives frozen IR values (``ir.Rule``,
``ir.PolicyIR``, ``ir.RuleSet``), typed conditions (``conditions``), the condition keys the
language knows (``keys``) and glob helpers (``glob``). ``resolve`` is the pass that turns a
parsed file into rules, with its diagnostics. May import ``language`` and ``catalog`` only.
"""
