"""Fixtures for the judge tests: one loopback server plays the model under test and judge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from judge_helpers import KEY, KEY_ENV, student

from harness.testing.loopback import LoopbackServer


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory,
               monkeypatch: pytest.MonkeyPatch) -> None:
    """A response cache per test: the estimate reads the cache's history of a model, so
    answers another test stored (of the same model names) must not leak in, either way."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("judge-cache")))


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return KEY


@pytest.fixture
def loop() -> Iterator[LoopbackServer]:
    with LoopbackServer(student) as server:
        yield server
