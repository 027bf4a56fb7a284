"""The hosted path end to end: harness.run -> LiteLLM -> a loopback server speaking each
provider's real wire format -> parsed and scored results."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness
from harness.testing.loopback import LoopbackServer

KEY = "sk-loopback-test-7f3a9c"


def _experiment(tmp_path: Path, model: str, api_base: str, key_env: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: protocols\n"
        "tasks: [add]\n"
        "variants:\n"
        "  - zero-shot\n"
        "  - {name: few-shot, shots: 2}\n"
        "models:\n"
        f"  - {{model: {model}, api_base: '{api_base}', api_key_env: {key_env}, "
        "max_tokens: 48}\n"
        "limit: 5\n"
        "cache: false\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("model", "suffix", "protocol", "key_env"),
    [
        ("openai/gpt-4o-mini", "/v1", "openai", "OPENAI_API_KEY"),
        ("anthropic/claude-3-5-haiku-20241022", "", "anthropic", "ANTHROPIC_API_KEY"),
        ("gemini/gemini-1.5-flash", "", "gemini", "GEMINI_API_KEY"),
    ],
)
def test_provider_round_trip(
    tmp_path: Path, add_task: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch,
    model: str, suffix: str, protocol: str, key_env: str,
) -> None:
    monkeypatch.setenv(key_env, KEY)
    experiment = _experiment(tmp_path, model, server.url + suffix, key_env)
    samples = harness.run(experiment, results_dir=tmp_path / "results",
                          reports_dir=tmp_path / "reports", quiet=True)

    assert len(samples) == 10  # 5 items x 2 variants
    assert samples["error"].isna().all()
    assert (samples["score_numeric"] == 1.0).all()
    assert set(samples["answer"]) == {str(3 * i + 1) for i in range(5)}

    assert {r.protocol for r in server.received} == {protocol}
    assert len(server.received) == 10
    by_last = {r.messages[-1]["content"]: r for r in server.received}
    request = by_last["What is 2 + 5?"]
    # max_tokens travels in each protocol's own field.
    if protocol == "gemini":
        assert request.body["generationConfig"]["max_output_tokens"] == 48
        # LiteLLM's price map does not list gemini-1.5-flash as taking system instructions,
        # so the system prompt travels as a part of its own in the first user turn.
        parts = request.body["contents"][0]["parts"]
        assert "system_instruction" not in request.body and len(parts) == 2
        assert parts[0]["text"].startswith("You are a careful assistant")
    else:
        assert request.body["max_tokens"] == 48
    # The rendered messages arrive as rendered: instructions, then few-shot turns as turns.
    sent = [m["content"] for m in request.messages]
    assert any("Add the two numbers." in c for c in sent)
    few_shot = [r for r in server.received if len(r.messages) > 3]
    assert len(few_shot) == 5
    roles = [m["role"] for m in few_shot[0].messages]
    assert roles[-5:] == ["user", "assistant", "user", "assistant", "user"]
    # The key reached the server in the provider's header, and nowhere in what was written.
    headers = request.headers
    assert KEY in (headers.get("authorization", "") + headers.get("x-api-key", "")
                   + headers.get("x-goog-api-key", "") + request.path)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(encoding="utf-8", errors="ignore"), path


def test_failed_call_is_an_error_not_a_wrong_answer(
    tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # Nothing listens on this port: every call fails with a connection error.
    experiment = _experiment(tmp_path, "openai/gpt-4o-mini", "http://127.0.0.1:9/v1",
                             "OPENAI_API_KEY")
    text = experiment.read_text().replace("cache: false", "cache: false\nretries: 0\n"
                                          "max_error_rate: 1.0")
    experiment.write_text(text)
    samples = harness.run(experiment, results_dir=tmp_path / "results", reports_dir=None,
                          quiet=True)
    assert samples["error"].notna().all()
    assert samples["score_numeric"].isna().all()
    assert samples["output"].isna().all()
