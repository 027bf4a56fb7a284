"""Fixtures for the judge tests: one loopback server plays the model under test and judge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from judge_helpers import KEY, KEY_ENV, student

from harness.testing.loopback import LoopbackServer


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
