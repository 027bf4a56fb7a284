"""Fixtures of the gate tests: one loopback "model" per session, a fresh project per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import GateProject, responder


@pytest.fixture(scope="session")
def loopback() -> Iterator[Any]:
    pytest.importorskip("aiohttp")
    from harness.testing.loopback import LoopbackServer

    with LoopbackServer(responder) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, loopback: Any, monkeypatch: pytest.MonkeyPatch) -> GateProject:
    """A fresh project folder as the working directory; the hosted path needs some API key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-not-a-key")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    return GateProject(tmp_path, loopback.url)
