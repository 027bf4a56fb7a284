"""The API key reaches the provider and nothing else: not the cache, the results, the reports
or the logs, even when the provider quotes it back in an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

from harness.cli import main as cli_main
from harness.testing.loopback import LoopbackServer


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_no_file_or_log_the_harness_writes_holds_the_key(
    tmp_path: Path, add_task: Path, key: str, capfd: pytest.CaptureFixture[str], transport: str
) -> None:
    # Both ways a call can go: the direct route (auto) and litellm.acompletion.
    def refuse_some(messages: list[dict[str, str]]) -> int | None:
        last = messages[-1]["content"]
        return 401 if "What is 1 + " in last else 400 if "What is 2 + " in last else None

    cache_dir = tmp_path / "cache"
    with LoopbackServer(adder, status_for=refuse_some, echo_key_in_errors=True) as server:
        exp = write_experiment(tmp_path, server.url, model="openai/gpt-4o-mini", limit=6,
                               model_extra=f"transport: {transport}",
                               extra=f"cache_dir: {cache_dir}\nmax_error_rate: 0.5\n")
        code = cli_main(["run", str(exp), "--results-dir", str(tmp_path / "results"),
                         "--reports-dir", str(tmp_path / "reports")])
        assert code == 0
        # The key did travel, and the server did quote it back.
        assert any(key in r.headers.get("authorization", "") for r in server.received)
    out, err = capfd.readouterr()
    assert "[harness]" in err  # the plain progress lines of a non-terminal
    assert key not in out and key not in err
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".yaml"]
    assert any(p.name == "responses.sqlite" for p in written)
    assert any(p.name == "samples.jsonl" for p in written)
    assert any(p.suffix == ".md" for p in written)
    for path in written:
        assert key.encode() not in path.read_bytes(), path
    samples = next((tmp_path / "results").glob("*/samples.jsonl")).read_text()
    assert "<redacted>" in samples  # the errors kept what the server said, minus the key
