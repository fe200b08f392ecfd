"""Shared helpers for the rules-compiler tests.

- ``compile_text``: rules text → ``Policy`` through ``compiler.compile_sources``.
- ``run_cli``: the ``ramguard`` click group in-process (fast); an exception other than
  ``SystemExit`` fails the test, since the CLI must never show a traceback.
- ``run_ramguard``: the installed ``ramguard`` entry point as a subprocess, for the few tests
  that must prove behaviour end to end (no traceback on stderr, ``PYTHONHASHSEED``).
- ``timeless_report``: a simulate report as JSON without each engine's timings: what two
  runs of the same replay (any jobs, splits or passes) must agree on byte for byte.
- ``ram_json_denies``: a tiny reader of emitted RAM policy JSON, written here on purpose and
  sharing no code with the compiler (nor with ``compiler.ram``), so that agreeing with it means
  something.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import Policy, compile_sources
from compiler.cli import main as cli_main

REPO = Path(__file__).resolve().parent.parent
RAMGUARD = Path(sys.executable).parent / "ramguard"


# --- compiling ------------------------------------------------------------------------------


def _compile_text(text: str, path: str = "t.rules", *more: tuple[str, str]) -> Policy:
    return compile_sources([(path, text), *more])


@pytest.fixture(scope="session")
def compile_text() -> Callable[..., Policy]:
    """``compile_text(text, path="t.rules", *(path, text))`` → Policy (raises CompileError)."""
    return _compile_text


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


# --- the CLI --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def _run_cli(*args: str | os.PathLike) -> CliResult:
    runner = CliRunner()
    result = runner.invoke(cli_main, [str(a) for a in args], catch_exceptions=True)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        raise AssertionError(f"ramguard {' '.join(map(str, args))} raised {exc!r}") from exc
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., CliResult]:
    """``run_cli("compile", path, "--out", dir)`` → CliResult(exit_code, stdout, stderr)."""
    return _run_cli


def _run_ramguard(
    *args: str | os.PathLike, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(RAMGUARD), *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def run_ramguard() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The installed entry point in a subprocess; ``env`` is merged over ``os.environ``."""
    assert RAMGUARD.exists(), f"entry point not installed at {RAMGUARD}"
    return _run_ramguard


# --- a tiny RAM policy JSON reader ------------------------------------------------------------


@cache
def _glob(pattern: str, text: str) -> bool:
    """``*`` any run, ``?`` one character; plain recursion, memoised by ``cache``."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return _glob(pattern[1:], text) or (bool(text) and _glob(pattern, text[1:]))
    return bool(text) and pattern[0] in ("?", text[0]) and _glob(pattern[1:], text[1:])


def reference_glob(pattern: str, text: str) -> bool:
    """Case-insensitive, as RAM matches actions."""
    pattern, text = pattern.lower(), text.lower()
    if "*" not in pattern and "?" not in pattern:
        return pattern == text  # the common case, kept out of the memo
    return _glob(pattern, text)


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _holds(operator: str, key: str, wanted: object, context: Mapping[str, object]) -> bool:
    """One condition. An absent key fails a positive operator and satisfies a Not… one."""
    values = [str(v) for v in _as_list(wanted)]
    got = context.get(key)
    if got is None:
        return operator.startswith("Not") or operator == "StringNotEquals"
    got = str(got).lower() if operator == "Bool" else str(got)
    if operator == "IpAddress":
        return any(ipaddress.ip_address(got) in ipaddress.ip_network(v) for v in values)
    if operator == "NotIpAddress":
        return not any(ipaddress.ip_address(got) in ipaddress.ip_network(v) for v in values)
    if operator == "StringEquals":
        return got in values
    if operator == "StringNotEquals":
        return got not in values
    if operator == "Bool":
        return got in values
    when, limit = _time(got), _time(values[0])
    if when is None or limit is None:
        return False
    return {
        "DateLessThan": when < limit,
        "DateLessThanEquals": when <= limit,
        "DateGreaterThan": when > limit,
        "DateGreaterThanEquals": when >= limit,
    }[operator]


def ram_json_denies(
    documents: Iterable[dict], action: str, context: Mapping[str, object] | None = None
) -> bool:
    """Does any Deny statement of these RAM documents match the request?"""
    ctx = context or {}
    for doc in documents:
        assert doc["Version"] == "1"
        for st in doc["Statement"]:
            assert st["Effect"] == "Deny" and st["Resource"] == "*"
            if not any(reference_glob(p, action) for p in _as_list(st["Action"])):
                continue
            conditions = st.get("Condition", {})
            if all(
                _holds(op, key, value, ctx)
                for op, keys in conditions.items()
                for key, value in keys.items()
            ):
                return True
    return False


@pytest.fixture(scope="session")
def json_denies() -> Callable[..., bool]:
    """``json_denies(documents, action, context=None)`` → bool, from the JSON alone."""
    return ram_json_denies


_TIMINGS = ("seconds", "decisions_per_second", "p50_ns", "p99_ns")


def _timeless_report(report, sources, engines, *, drop: tuple[str, ...] = ()) -> dict:
    from compiler.replay.simulate import report_dict

    data = json.loads(json.dumps(report_dict(report, sources, engines)))
    for stats in data["engines"].values():
        for key in (*_TIMINGS, *drop):
            stats.pop(key)
    return data


@pytest.fixture(scope="session")
def timeless_report() -> Callable[..., dict]:
    return _timeless_report
