"""Helpers for the bad-input tests: run the CLI as a user would and check how it failed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

KEY_ENV = "HARNESS_HOSTILE_TEST_KEY"
# Variables LiteLLM reads for the providers these tests name; removed so the machine's own
# keys cannot hide a missing-key check.
PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                 "MISTRAL_API_KEY", "GROQ_API_KEY")


def experiment(tmp_path: Path, url: str, *, variants: str = "[zero-shot]", extra: str = "",
               tasks: str = "[add]", name: str = "exp") -> Path:
    """An experiment over the ``add`` fixture task, its one model on the loopback ``url``."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"tasks: {tasks}\n"
        f"variants: {variants}\n"
        "models:\n"
        f"  - {{model: openai/test-model, api_base: '{url}/v1', api_key_env: {KEY_ENV}}}\n"
        f"{extra}",
        encoding="utf-8",
    )
    return path


def harness_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m harness ARGS`` in ``tmp_path``, with no provider keys but the test's own."""
    base = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEYS}
    base[KEY_ENV] = "sk-hostile-test"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path, env={**base, **(env or {})})
    return done, time.monotonic() - started


def assert_bad_input(done: subprocess.CompletedProcess[str], *words: str,
                     results: Path | None = None) -> str:
    """Exit 2, one line on stderr, no traceback; the words appear; no run folder was made."""
    err = done.stderr.strip()
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(err.splitlines()) == 1, err
    assert err.startswith("harness: error: "), err
    assert done.stdout.strip() == "", done.stdout[-2000:]
    for word in words:
        assert word in err, (word, err)
    if results is not None:
        assert not results.exists() or not any(results.iterdir()), list(results.iterdir())
    return err
