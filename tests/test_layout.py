"""The package reads as the pipeline: each stage imports only stages before it.

The order is written down once, here. A module of stage S may import a module of stage T only
when T comes no later than S; ``ram/`` (the independent evaluator) imports nothing else of the
project, so the simulator's agreement check means something; only ``cli/`` talks to the
terminal (click, rich).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compiler"

# Stage → rank. `files` and `policy` are the two root modules that belong to no stage
# (atomic writes used everywhere; the driver that glues the stages for the public API).
# The package root (`compiler/__init__.py`, the public API) ranks with `policy`.
ORDER = (
    "files",
    "language",
    "catalog",
    "model",
    "decide",
    "emit",
    "ram",
    "policy",
    "analysis",
    "replay",
    "report",
    "testing",
    "cli",
)
RANK = {stage: i for i, stage in enumerate(ORDER)}
ROOT_STAGE = "policy"
TERMINAL_LIBRARIES = ("click", "rich")


def stage_of(module: str) -> str:
    """`compiler.model.ir` → `model`; `compiler` → the root's stage."""
    parts = module.split(".")
    if parts[0] != "compiler":
        raise ValueError(module)
    return parts[1] if len(parts) > 1 else ROOT_STAGE


def imported_modules(module: str, source: str) -> list[tuple[int, str]]:
    """Every module an import statement in ``source`` names (relative ones resolved), with its
    line; imports inside functions and ``if TYPE_CHECKING`` blocks count too."""
    # `compiler.x.y` and `compiler.x.__init__` both resolve relative imports from `compiler.x`
    package = module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from compiler import policy` imports the module compiler.policy
            if name == "compiler":
                found.extend((node.lineno, f"compiler.{alias.name}") for alias in node.names)
    return found


def violations(modules: dict[str, str]) -> list[str]:
    """Every backwards import in ``modules`` (dotted name → source), as readable lines."""
    out: list[str] = []
    for module, source in sorted(modules.items()):
        here = stage_of(module.removesuffix(".__init__"))
        for line, target in imported_modules(module, source):
            top = target.split(".")[0]
            where = f"{module}:{line}"
            if top in TERMINAL_LIBRARIES and here != "cli":
                out.append(f"{where}: only cli/ may import {top}")
                continue
            if top != "compiler":
                continue
            if target == "compiler.__version__" or target.startswith("compiler.__"):
                continue
            try:
                there = stage_of(target)
            except ValueError:
                continue
            if there not in RANK:
                # `from compiler import __version__`, or a name re-exported by the root
                there = ROOT_STAGE
            if here == "ram" and there != "ram":
                out.append(f"{where}: ram/ imports nothing of the project, but imports {target}")
            elif RANK[there] > RANK[here]:
                out.append(f"{where}: {here} imports the later stage {there} ({target})")
    return out


def package_modules() -> dict[str, str]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        modules[".".join(rel.parts)] = path.read_text(encoding="utf-8")
    return modules


def test_every_module_belongs_to_a_known_stage():
    unknown = sorted({stage_of(m.removesuffix(".__init__")) for m in package_modules()} - set(RANK))
    assert unknown == []


def test_imports_flow_one_way():
    assert violations(package_modules()) == []


def test_package_root_keeps_only_the_api_and_stageless_modules():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "files.py", "policy.py"]


def test_every_stage_says_what_it_takes_and_gives():
    for stage in ORDER:
        init = PACKAGE / stage / "__init__.py"
        if not init.exists():
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{stage}/__init__.py needs a docstring"


@pytest.mark.parametrize(
    "module, source, expected",
    [
        (
            "compiler.model.ir",
            "from compiler.cli.common import fail\n",
            "compiler.model.ir:1: model imports the later stage cli (compiler.cli.common)",
        ),
        (
            "compiler.decide.trie",
            "def f():\n    from ..replay import simulate\n",
            "compiler.decide.trie:2: decide imports the later stage replay (compiler.replay)",
        ),
        (
            "compiler.ram.evaluator",
            "from compiler.model.glob import glob_match\n",
            "compiler.ram.evaluator:1: ram/ imports nothing of the project, but imports "
            "compiler.model.glob",
        ),
        (
            "compiler.replay.simulate",
            "from rich.console import Console\n",
            "compiler.replay.simulate:1: only cli/ may import rich",
        ),
        (
            "compiler.language.parser",
            "from compiler import policy\n",
            "compiler.language.parser:1: language imports the later stage policy (compiler.policy)",
        ),
    ],
    ids=["forward-absolute", "relative-in-function", "ram-independent", "rich-outside-cli", "root"],
)
def test_a_planted_backwards_import_is_caught(module, source, expected):
    assert expected in violations({module: source})


def test_forward_imports_are_allowed():
    assert (
        violations({"compiler.cli.x": "from compiler.model.ir import Rule\nimport click\n"}) == []
    )
