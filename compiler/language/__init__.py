"""Stage 1, the rules language: text in, a frozen AST (or diagnostics) out.

The grammar (``rules.lark``), the parser and Transformer (``parser``), AST nodes (``ast``),
diagnostics that render their own snippet (``diagnostics``) and the formatter (``format``,
AST back to text, comments kept). Imports nothing of the project but ``compiler.files``.
"""
