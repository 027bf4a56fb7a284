"""Fixtures for the run tests (helpers live in run_helpers.py)."""

from __future__ import annotations

import pytest
from run_helpers import KEY, KEY_ENV


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY
