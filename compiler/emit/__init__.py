"""Stage 4b, emit: rules (IR) → documents for a deployment target, and the writer.

Takes ``model`` IR; gives RAM policy JSON (``ram``, via a Jinja template), Cedar (``cedar``)
and ``output`` (atomic, manifest-tracked writes of a set of documents). May import
``language``, ``catalog``, ``model`` and ``decide``.
"""
