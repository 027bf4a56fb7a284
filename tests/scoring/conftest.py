"""Fixtures for the scoring-stage tests (helpers live in scoring_helpers.py)."""

from __future__ import annotations

import pytest
from scoring_helpers import KEY, KEY_ENV


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY
