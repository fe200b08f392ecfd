"""The LALR tables are built once and cached per user, so a CLI run does not pay ~0.4 s."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compiler.language import parser as parser_module

PROBE = (
    "from compiler.language.parser import parse_text\n"
    "print(len(parse_text('p.rules', 'deny ECS RunInstances\\n').rules))\n"
)


def _parse_in_fresh_process(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.fixture
def cache_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAMGUARD_NO_GRAMMAR_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    return env, tmp_path / "ramguard" / "rules.lark.lark-cache"


def test_first_run_writes_the_cache_and_later_runs_read_it(cache_env):
    env, cache = cache_env
    assert _parse_in_fresh_process(env) == "1"
    assert cache.is_file()
    assert oct(cache.parent.stat().st_mode & 0o777) == "0o700"
    stamp = cache.stat().st_mtime_ns
    assert _parse_in_fresh_process(env) == "1"
    assert cache.stat().st_mtime_ns == stamp  # read, not rebuilt


def test_a_stale_or_corrupt_cache_is_rebuilt_not_trusted(cache_env):
    env, cache = cache_env
    cache.parent.mkdir(mode=0o700, parents=True)
    cache.write_bytes(b"not a cache\n\x00garbage")
    assert _parse_in_fresh_process(env) == "1"
    assert not cache.read_bytes().startswith(b"not a cache")


def test_a_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "ramguard"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RAMGUARD_NO_GRAMMAR_CACHE", raising=False)
    assert parser_module._grammar_cache("rules.lark") is None


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("RAMGUARD_NO_GRAMMAR_CACHE", "1")
    assert parser_module._grammar_cache("rules.lark") is None
