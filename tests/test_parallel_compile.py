"""A big rule set is checked on two cores; the result must be exactly the serial one."""

from __future__ import annotations

import pytest

from bench import workloads
from compiler import CompileError, compile_rules
from compiler import policy as policy_module
from compiler.policy import _PARALLEL_MIN_BYTES


@pytest.fixture(scope="module")
def big_rules(tmp_path_factory):
    directory = workloads.write_rules(tmp_path_factory.mktemp("big") / "rules", 4000)
    size = sum(p.stat().st_size for p in directory.iterdir())
    assert size > _PARALLEL_MIN_BYTES  # or this would not test the parallel path
    return directory


def _compile(directory, monkeypatch, jobs: str):
    monkeypatch.setenv("RAMGUARD_JOBS", jobs)
    return compile_rules([directory])


def test_parallel_and_serial_compiles_are_identical(big_rules, monkeypatch):
    pools = []

    class CountingPool(policy_module.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(policy_module, "ProcessPoolExecutor", CountingPool)
    serial = _compile(big_rules, monkeypatch, "1")
    assert pools == []
    parallel = _compile(big_rules, monkeypatch, "")
    assert len(pools) == 1  # the second half really went to another process
    assert parallel.ruleset == serial.ruleset
    assert [d.text for d in parallel.documents] == [d.text for d in serial.documents]
    assert [d.filename for d in parallel.documents] == [d.filename for d in serial.documents]
    actions = ["ecs:RunInstances", "ram:CreateUser", "rds:DeleteDBInstance", "dbs:CreateDownload"]
    contexts = [{}, {"source_ip": "203.0.113.9", "mfa": "false"}, {"vpc": "vpc-bench-a"}]
    for action in actions:
        for ctx in contexts:
            assert parallel.decide(action, ctx) == serial.decide(action, ctx)


def test_errors_from_both_halves_are_reported_in_file_order(big_rules, tmp_path, monkeypatch):
    files = sorted(big_rules.iterdir())
    broken = tmp_path / "rules"
    broken.mkdir()
    for i, path in enumerate(files):
        text = path.read_text()
        if i in (3, len(files) - 3):  # one in each half
            text += "deny ECS RunInstance\n"
        (broken / path.name).write_text(text)
    for jobs in ("1", ""):
        monkeypatch.setenv("RAMGUARD_JOBS", jobs)
        with pytest.raises(CompileError) as info:
            compile_rules([broken])
        where = [d.span.file for d in info.value.errors]
        assert where == [str(broken / files[3].name), str(broken / files[-3].name)]
        assert all("did you mean RunInstances?" in d.help for d in info.value.errors)
