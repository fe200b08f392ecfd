"""A fuzz finding (issue 16, make fuzz): a file of hundreds of unknown operations (a list
under the wrong service) took 24 s to compile, a did-you-mean each, 0.14 s apiece. Only the
first few unknown operations of a file get a suggestion now; every one is still an error."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.language.diagnostics import CompileError
from compiler.model import resolve


def test_only_the_first_unknown_operations_get_a_suggestion(monkeypatch):
    calls = []
    service = type(default_catalog().service("ECS"))
    real = service.suggest_operation
    monkeypatch.setattr(
        service, "suggest_operation", lambda self, *a: calls.append(a) or real(self, *a)
    )
    names = [f"RunInstance{chr(65 + i % 26)}{i}" for i in range(200)]
    with pytest.raises(CompileError) as caught:
        compile_sources([("x.rules", "deny ECS [\n" + ",\n".join(names) + "\n]\n")])
    assert caught.value.error_count == 200
    assert len(calls) == resolve._MAX_SUGGESTIONS
    first = caught.value.errors[0]
    assert first.help == "did you mean RunInstances?"
