"""Stage 9, testing: ``*.tests`` files of expectations, run against both engines.

Takes ``.tests`` sources (``parser``, grammar ``tests.lark``) and compiled policies; gives
results per expectation and JUnit XML (``runner``). May import every earlier stage; never
``cli``.
"""
