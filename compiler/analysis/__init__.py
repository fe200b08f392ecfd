"""Stage 7, analysis: questions asked of whole policies rather than of one request.

Takes compiled policies (``compiler.policy.Policy``) and RAM documents (via ``ram``); gives
the exact engine (``globsets``, ``regions``, ``prove``: equality of two deciders over every
request, with the shortest witness), ``diff`` (what changes between two deciders, exactly),
``minify`` (``compile --minify``, proved), ``lint`` (the ``check`` verb's warnings),
``importer`` (RAM JSON back into rules) and ``sarif`` (diagnostics as SARIF 2.1.0). May import
every earlier stage and ``ram``; never ``replay``, ``testing`` or ``cli``.
"""
