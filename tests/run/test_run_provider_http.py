"""OpenAI-compatible calls over the harness's own HTTP session, translated by LiteLLM.

The direct route must send what ``litellm.acompletion`` sends and read answers the same way;
these tests run one experiment through both and compare what the server received and what
the run recorded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from loopback_models import adder
from run_helpers import KEY, by_sample, write_experiment

import harness
from harness.config import ModelConfig
from harness.models._litellm import import_litellm
from harness.models.client import LiteLLMClient, ModelCallError
from harness.testing.loopback import Faults, LoopbackServer


@pytest.fixture
def count_acompletion(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every model string that went through ``litellm.acompletion``."""
    litellm = import_litellm()
    original = litellm.acompletion
    seen: list[str] = []

    async def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("model", args[0] if args else ""))
        return await original(*args, **kwargs)

    monkeypatch.setattr(litellm, "acompletion", counting)
    return seen


def _run(tmp_path: Path, url: str, name: str, model: str, transport: str,
         model_extra: str = "") -> Any:
    extra = f"transport: {transport}" + (f", {model_extra}" if model_extra else "")
    exp = write_experiment(tmp_path, url, model=model, limit=4, name=name, model_extra=extra,
                           extra="cache: false\ntemperature: 0.3\n")
    return harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)


# gpt-4o-mini and the vLLM model take the LiteLLM-free route (harness.models.openai_wire);
# o3-mini, which it declines, LiteLLM's provider layer over the harness's session.
@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "hosted_vllm/meta/llama-3-8b",
                                   "openai/o3-mini"])
def test_direct_route_sends_what_acompletion_sends(
    tmp_path: Path, add_task: Path, key: str, count_acompletion: list[str], model: str
) -> None:
    with LoopbackServer(adder) as server:
        direct = _run(tmp_path, server.url, "direct", model, "auto")
        assert count_acompletion == []  # the direct route took every call
        sent_direct = [r.body for r in server.received]
        paths = {r.path for r in server.received}
        server.received.clear()
        via_litellm = _run(tmp_path, server.url, "litellm", model, "litellm")
        assert len(count_acompletion) == 8
        sent_litellm = [r.body for r in server.received]
        assert paths == {r.path for r in server.received} == {"/v1/chat/completions"}

    def canonical(bodies: list[dict]) -> list[str]:
        import json

        return sorted(json.dumps(b, sort_keys=True) for b in bodies)

    assert len(sent_direct) == 8
    assert canonical(sent_direct) == canonical(sent_litellm)
    if model == "openai/o3-mini":  # LiteLLM renames max_tokens and drops temperature
        assert sent_direct[0]["max_completion_tokens"] == 32
    else:
        assert sent_direct[0]["max_tokens"] == 32 and sent_direct[0]["temperature"] == 0.3
    assert by_sample(direct) == by_sample(via_litellm)
    assert direct["error"].isna().all() and (direct["score_numeric"] == 1.0).all()
    costs = [run.set_index("sample_id")["cost_usd"].sort_index().tolist()
             for run in (direct, via_litellm)]
    assert costs[0] == pytest.approx(costs[1], nan_ok=True)


def test_a_parameter_the_config_does_not_list_goes_through_acompletion(
    tmp_path: Path, add_task: Path, key: str, count_acompletion: list[str]
) -> None:
    # top_k is not an OpenAI parameter: acompletion passes it on as a provider-specific one
    # (vLLM and others read it), which the direct route would not know to do.
    with LoopbackServer(adder) as server:
        samples = _run(tmp_path, server.url, "topk", "openai/gpt-4o-mini", "auto",
                       model_extra="params: {top_k: 5}")
    assert len(count_acompletion) == 8
    assert samples["error"].isna().all()
    assert [r.body.get("top_k") for r in server.received] == [5] * 8


def test_rate_limits_and_server_errors_are_retried_on_the_direct_route(
    tmp_path: Path, add_task: Path, key: str, count_acompletion: list[str]
) -> None:
    faults = Faults(rate_limit=0.3, server_error=0.2, retry_after=0.01, max_failures=2)
    with LoopbackServer(adder, faults=faults) as server:
        samples = _run(tmp_path, server.url, "faults", "openai/gpt-4o-mini", "auto")
    assert count_acompletion == []
    assert samples["error"].isna().all()
    assert server.statuses[429] > 0 and server.statuses[500] > 0
    assert max(server.counts.values()) <= 3


def _call(client: LiteLLMClient, model: ModelConfig) -> Any:
    async def once() -> Any:
        try:
            return await client.complete(model, [{"role": "user", "content": "What is 1 + 2?"}],
                                         {"max_tokens": 8})
        finally:
            await client.aclose()

    return asyncio.run(once())


def test_errors_carry_status_retry_after_and_no_key(key: str) -> None:
    faults = Faults(rate_limit=1.0, retry_after=7)
    with LoopbackServer(adder, faults=faults) as server:
        model = ModelConfig(model="openai/gpt-4o-mini", api_base=server.url + "/v1",
                            api_key_env="HARNESS_RUN_TEST_KEY")
        with pytest.raises(ModelCallError) as raised:
            _call(LiteLLMClient(), model)
    assert raised.value.status == 429 and raised.value.retryable
    assert raised.value.retry_after == pytest.approx(7)
    assert str(raised.value) == "RateLimitError: rate limited"  # the server's own message

    with LoopbackServer(adder, status_for=lambda messages: 401) as server:
        server.echo_key_in_errors = True
        model = ModelConfig(model="openai/gpt-4o-mini", api_base=server.url + "/v1",
                            api_key_env="HARNESS_RUN_TEST_KEY")
        with pytest.raises(ModelCallError) as raised:
            _call(LiteLLMClient(), model)
    assert raised.value.status == 401 and not raised.value.retryable
    assert "incorrect API key" in str(raised.value) and KEY not in str(raised.value)


def test_a_refused_connection_is_a_retryable_error(key: str) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = ModelConfig(model="openai/gpt-4o-mini", api_base=f"http://127.0.0.1:{port}/v1",
                        api_key_env="HARNESS_RUN_TEST_KEY", timeout=5)
    with pytest.raises(ModelCallError) as raised:
        _call(LiteLLMClient(), model)
    assert raised.value.retryable and raised.value.status is None
    assert str(raised.value).startswith("APIConnectionError: ")


def test_the_run_closes_its_http_session(tmp_path: Path, add_task: Path, key: str) -> None:
    client = LiteLLMClient()
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=2, extra="cache: false\n")
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True,
                    client=client)
        sessions = client._sessions
        assert sessions is not None and sessions._by_loop == {}
        assert len(server.connections) >= 1


def test_the_environment_proxy_is_used_and_no_proxy_respected(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.models.provider_http import proxy_for

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "models.internal")
    assert proxy_for("http://api.example.com/v1/chat/completions") == "http://proxy.internal:3128"
    assert proxy_for("http://models.internal:8000/v1/chat/completions") is None

    # End to end: the loopback server stands in for the proxy of a host that does not exist.
    with LoopbackServer(adder) as server:
        monkeypatch.setenv("HTTP_PROXY", server.url)
        monkeypatch.setenv("NO_PROXY", "")
        model = ModelConfig(model="openai/gpt-4o-mini", api_base="http://no-such-host.invalid/v1",
                            api_key_env="HARNESS_RUN_TEST_KEY")
        completion = _call(LiteLLMClient(), model)
    assert completion.text == "Let me add. The answer is 3."
    assert [r.path for r in server.received] == ["/v1/chat/completions"]


def test_tls_follows_litellms_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from harness.models.provider_http import Sessions

    def https_setting() -> object:
        return Sessions().ssl_for("https://api.example.com/v1/chat/completions")

    from harness.models.provider_http import _default_ssl_context

    plain = _default_ssl_context()  # what a process without LiteLLM loaded uses
    assert isinstance(plain, ssl.SSLContext) and plain.verify_mode == ssl.CERT_REQUIRED
    assert plain.get_ca_certs() or plain.cert_store_stats()["x509_ca"] > 0
    litellm = import_litellm()
    assert isinstance(https_setting(), ssl.SSLContext)  # certifi's CAs, verified
    monkeypatch.setattr(litellm, "ssl_verify", False)
    assert https_setting() is False


def test_a_timeout_says_how_long_it_waited(key: str) -> None:
    with LoopbackServer(adder, latency=2.0) as server:
        model = ModelConfig(model="openai/gpt-4o-mini", api_base=server.url + "/v1",
                            api_key_env="HARNESS_RUN_TEST_KEY", timeout=0.3)
        with pytest.raises(ModelCallError) as raised:
            _call(LiteLLMClient(), model)
    assert raised.value.retryable
    assert str(raised.value) == "Timeout: no answer within 0.3 s (the model's timeout)"


def test_a_litellm_without_the_expected_internals_falls_back_to_acompletion(
    tmp_path: Path, add_task: Path, key: str, count_acompletion: list[str],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import harness.models.provider_http as provider_http

    def changed(*args: Any, **kwargs: Any) -> None:  # as if a LiteLLM release renamed things
        raise TypeError("transform_request() got an unexpected keyword argument 'model'")

    monkeypatch.setattr(provider_http, "_build_route", changed)
    monkeypatch.setattr(provider_http, "_warned_fallback", False)
    with LoopbackServer(adder) as server:
        # o3-mini: a model the LiteLLM-free route declines (LiteLLM rewrites its parameters),
        # so LiteLLM's provider layer would build its requests.
        samples = _run(tmp_path, server.url, "fallback", "openai/o3-mini", "auto")
    assert samples["error"].isna().all() and len(count_acompletion) == 8
    err = capsys.readouterr().err
    assert err.count("calls go through litellm.acompletion") == 1


def test_two_entries_of_one_model_with_different_keys_send_their_own_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEY_TEAM_A", "sk-team-a-123456")
    monkeypatch.setenv("KEY_TEAM_B", "sk-team-b-654321")
    client = LiteLLMClient()
    with LoopbackServer(adder) as server:
        for env in ("KEY_TEAM_A", "KEY_TEAM_B"):
            model = ModelConfig(model="openai/gpt-4o-mini", api_base=server.url + "/v1",
                                api_key_env=env)
            _call(client, model)
    sent = [r.headers["authorization"] for r in server.received]
    assert sent == ["Bearer sk-team-a-123456", "Bearer sk-team-b-654321"]


def test_error_messages_fall_back_to_the_body() -> None:
    from harness.models.provider_http import http_error

    assert str(http_error(400, {}, b'{"error": {"type": "invalid"}}')) == \
        'BadRequestError: {"error": {"type": "invalid"}}'
    assert str(http_error(502, {}, b"<html> bad\n gateway </html>")) == \
        "InternalServerError: <html> bad gateway </html>"
    assert str(http_error(404, {}, b"")) == "NotFoundError: HTTP 404"
    assert http_error(503, {"retry-after": "2"}, b"").retry_after == 2.0
