"""The rules language: grammar, parser, AST and diagnostics."""
