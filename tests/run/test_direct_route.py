"""The LiteLLM-free route for OpenAI-compatible models (``harness.models.openai_wire``).

It may only send what ``litellm.acompletion`` sends and read answers as LiteLLM reads them;
everything it is not proven equal on must go through LiteLLM. These tests compare, over the
OpenAI chat models of LiteLLM's price map, ``hosted_vllm/`` names and names LiteLLM does not
know, crossed with the generation parameters a config can set: the JSON body, the path and
the headers that matter, as a loopback server receives them through both.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loopback_models import adder
from run_helpers import KEY, KEY_ENV, write_experiment

from harness.config import ModelConfig
from harness.models._litellm import import_litellm
from harness.models.client import LiteLLMClient
from harness.models.price_map import load_map
from harness.testing.loopback import LoopbackServer, Reply

MESSAGES = [
    {"role": "system", "content": "You are a careful assistant. Reply briefly."},
    {"role": "user", "content": "What is 100 + 7?"},
    {"role": "assistant", "content": "The answer is 107."},
    {"role": "user", "content": "  Ünïcode — «quotes» \"and\" \\back\\slashes\n\nWhat is 1 + 2?"},
]
EMPTY_TURN = [{"role": "user", "content": ""}]

# What a config can set (temperature and max_tokens from the experiment, the rest in params).
TAKEN = [
    {"temperature": 0.0, "max_tokens": 32},
    {"temperature": None, "max_tokens": 16},
    {"temperature": 0.7, "max_tokens": 64, "top_p": 0.9, "stop": ["\n\n", "END"], "seed": 7},
    {"temperature": 1.0, "max_tokens": 8, "presence_penalty": 0.5, "frequency_penalty": -0.5,
     "n": 1, "logit_bias": {"50256": -100}, "logprobs": True, "top_logprobs": 2},
    {"temperature": 2, "max_completion_tokens": 20, "stop": "X"},
]
# Parameters LiteLLM passes on per model or rewrites: the direct route must decline them.
DECLINED = [
    {"temperature": 0.0, "max_tokens": 8, "top_k": 5},
    {"max_tokens": 8, "response_format": {"type": "json_object"}},
    {"max_tokens": 8, "user": "team-a"},
    {"max_tokens": 8, "reasoning_effort": "low"},
    {"max_tokens": 8, "extra_body": {"top_k": 2}},
    {"max_tokens": 8, "stream": True},
]


def _model_names() -> list[str]:
    table = load_map()
    assert table is not None
    chat = sorted(k for k, v in table.items()
                  if v.get("litellm_provider") == "openai" and v.get("mode") == "chat")
    assert len(chat) > 50  # the map's OpenAI chat models: gpt-4*, gpt-5*, o-series, aliases
    names = [f"openai/{k.removeprefix('openai/')}" for k in chat]
    names += ["openai/test-model", "openai/my-proxy-alias", "openai/ft:gpt-4o-mini:org::x1",
              "openai/gpt-4o-mini-2099-01-01", "openai/meta-llama/Llama-3.1-8B-Instruct"]
    names += [f"hosted_vllm/{n}" for n in (
        "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "gpt-4o-mini", "o3-mini",
        "gpt-5", "gpt-luna-latest", "my-model", "deepseek-ai/DeepSeek-R1")]
    return names


def _config(name: str, url: str, transport: str = "auto", **extra: Any) -> ModelConfig:
    return ModelConfig(model=name, api_base=f"{url}/v1", api_key_env=KEY_ENV,
                       transport=transport, timeout=30, **extra)


def _send_both(server: LoopbackServer, config: ModelConfig, messages: list[dict[str, str]],
               params: dict[str, Any]) -> tuple[Any, Any]:
    """(what the direct route's call sent, what acompletion's sent): the server's records."""
    async def both() -> None:
        direct, via = LiteLLMClient(), LiteLLMClient()
        try:
            await direct.complete(config, [dict(m) for m in messages], dict(params))
            await via.complete(config.model_copy(update={"transport": "litellm"}),
                               [dict(m) for m in messages], dict(params))
        finally:
            await direct.aclose()
            await via.aclose()

    server.received.clear()
    asyncio.run(both())
    assert len(server.received) == 2
    return server.received[0], server.received[1]


def _headers(received: Any) -> dict[str, str | None]:
    names = ("authorization", "content-type", "openai-organization", "openai-project")
    return {n: received.headers.get(n) for n in names}


def test_the_direct_route_sends_litellms_request_or_declines(key: str) -> None:
    import_litellm()  # the route must also hold when a process has LiteLLM loaded
    taken = declined = 0
    with LoopbackServer(adder) as server:
        client = LiteLLMClient()
        for name in _model_names():
            config = _config(name, server.url)
            route = client._direct_route(config)
            for params in TAKEN[:2] if route is None else TAKEN:
                if route is None:  # declined: LiteLLM takes the call and it still works
                    declined += 1
                    continue
                taken += 1
                for messages in (MESSAGES, EMPTY_TURN):
                    direct, litellm_sent = _send_both(server, config, messages, params)
                    where = f"{name} {params}"
                    assert direct.body == litellm_sent.body, where
                    assert direct.path == litellm_sent.path == "/v1/chat/completions", where
                    assert _headers(direct) == _headers(litellm_sent), where
            if route is not None:
                for params in DECLINED:
                    assert route.optional_params(params) is None, (name, params)
    assert taken >= 150 and declined >= 100  # both sides of the class are exercised


@pytest.mark.parametrize("name", ["openai/o3-mini", "openai/o1", "openai/gpt-5-mini",
                                  "openai/gpt-5.1", "openai/gpt-luna-latest"])
def test_models_litellm_rewrites_are_declined_and_still_served(key: str, name: str) -> None:
    with LoopbackServer(adder) as server:
        config = _config(name, server.url)
        assert LiteLLMClient()._direct_route(config) is None
        params = {"temperature": 0.0, "max_tokens": 32}
        _, litellm_sent = _send_both(server, config, MESSAGES, params)
    naive = {"model": name.split("/", 1)[1], "messages": MESSAGES,
             **{k: v for k, v in params.items() if v is not None}}
    # Why it is declined: LiteLLM sends another body than the plain one for these models.
    assert litellm_sent.body != naive


def test_parameters_the_route_declines_still_reach_the_server(key: str) -> None:
    with LoopbackServer(adder) as server:
        config = _config("openai/gpt-4o-mini", server.url)
        sent = {}
        for params in DECLINED[:4]:
            direct, litellm_sent = _send_both(server, config, MESSAGES, params)
            assert direct.body == litellm_sent.body  # both through LiteLLM
            sent[next(k for k in params if k != "max_tokens" and k != "temperature")] = \
                direct.body
    # LiteLLM's own choices, which a plain body would not make: top_k passed on as a
    # provider-specific parameter, reasoning_effort dropped for a model without reasoning.
    assert sent["top_k"]["top_k"] == 5 and "reasoning_effort" not in sent["reasoning_effort"]


def test_the_environment_decides_as_litellm_would(key: str, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    with LoopbackServer(adder) as server:
        # No api_base in the config: OPENAI_BASE_URL, as LiteLLM reads it.
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1/")
        config = ModelConfig(model="openai/gpt-4o-mini", api_key_env=KEY_ENV)
        assert LiteLLMClient()._direct_route(config) is not None
        direct, litellm_sent = _send_both(server, config, MESSAGES, TAKEN[2])
        assert direct.body == litellm_sent.body and direct.path == litellm_sent.path
        # hosted_vllm with no key anywhere: LiteLLM sends its placeholder key.
        monkeypatch.setenv("HOSTED_VLLM_API_BASE", server.url + "/v1")
        config = ModelConfig(model="hosted_vllm/my-model")
        direct, litellm_sent = _send_both(server, config, MESSAGES, TAKEN[0])
        assert _headers(direct) == _headers(litellm_sent)
        assert direct.headers["authorization"] == "Bearer fake-api-key"
        # An organisation in the environment: the OpenAI SDK adds a header; LiteLLM's path.
        monkeypatch.setenv("OPENAI_ORG_ID", "org-123")
        config = ModelConfig(model="openai/gpt-4o-mini", api_key_env=KEY_ENV)
        assert LiteLLMClient()._direct_route(config) is None
        direct, litellm_sent = _send_both(server, config, MESSAGES, TAKEN[0])
        assert _headers(direct) == _headers(litellm_sent)
        assert direct.headers["openai-organization"] == "org-123"


def test_sent_params_for_the_cache_key_equal_litellms(key: str) -> None:
    from harness.models.identity import sent_params

    litellm = import_litellm()
    client = LiteLLMClient()
    for name in ("openai/gpt-4o-mini", "openai/test-model", "hosted_vllm/my-model"):
        config = _config(name, "http://127.0.0.1:9")
        for params in TAKEN:
            assert client.sent_params(config, params) == sent_params(litellm, config, params)


ANSWERS: list[Reply | str] = [
    "The answer is 3.", "", "  spaced  \n", Reply(None), Reply("cut off", "length"),
    Reply("blocked", "content_filter"), "<think>adding</think>The answer is 3.",
    "<thinking>x</thinking>3", Reply("odd", "eos"), "Ünïcode ✓",
]


@pytest.mark.parametrize("name", ["openai/gpt-4o-mini", "hosted_vllm/my-model"])
def test_answers_are_read_as_litellm_reads_them(key: str, name: str) -> None:
    """Plain answers read here, the others (a leading <think> block, a finish reason LiteLLM
    renames) by LiteLLM's reader: the completion is the same either way."""
    replies = iter(ANSWERS * 2)
    with LoopbackServer(lambda messages, body: next(replies)) as server:
        config = _config(name, server.url)

        async def read(transport: str) -> list[Any]:
            client = LiteLLMClient()
            model = config.model_copy(update={"transport": transport})
            try:
                return [await client.complete(model, MESSAGES, {"max_tokens": 8})
                        for _ in ANSWERS]
            finally:
                await client.aclose()

        direct = asyncio.run(read("auto"))
        via = asyncio.run(read("litellm"))
    fields = ("text", "input_tokens", "output_tokens", "finish_reason", "response_model")
    for a, b in zip(direct, via, strict=True):
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
        assert a.cost_usd == pytest.approx(b.cost_usd)
    assert direct[6].text == "The answer is 3." and direct[3].text == ""


def test_plain_answers_skip_litellms_reader_and_others_do_not() -> None:
    from harness.models.openai_wire import plain_messages, read_answer

    assert plain_messages(MESSAGES)
    assert not plain_messages([{"role": ["user"], "content": "x"}])
    assert not plain_messages([{"role": "tool", "content": "x"}])
    assert not plain_messages([{"role": "user", "content": [{"type": "text", "text": "x"}]}])
    assert not plain_messages([{"role": "user", "content": "x", "name": "n"}])

    def answer(message: dict[str, Any], reason: Any = "stop", usage: Any = None) -> bytes:
        return json.dumps({"model": "m", "choices": [{"index": 0, "message": message,
                                                      "finish_reason": reason}],
                           "usage": usage or {"prompt_tokens": 5, "completion_tokens": 2,
                                              "prompt_tokens_details": {"cached_tokens": 3}},
                           }).encode()

    plain = read_answer(answer({"role": "assistant", "content": "hi", "tool_calls": []}))
    assert plain is not None and (plain.text, plain.cached_tokens) == ("hi", 3)
    for odd in (answer({"role": "assistant", "content": "<think>a</think>b"}),
                answer({"role": "assistant", "content": "x", "reasoning_content": "r"}),
                answer({"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}),
                answer({"role": "assistant", "content": "x"}, reason=None),
                answer({"role": "assistant", "content": "x"}, reason="eos"),
                answer({"role": "assistant", "content": "x"},
                       usage={"prompt_tokens": 1, "completion_tokens": 1,
                              "cache_read_input_tokens": 1}),
                answer({"role": "assistant", "content": "x"}, reason=["stop"]),
                answer({"role": "assistant", "content": ["x"]}),
                answer({"role": "assistant", "content": "x"},
                       usage={"prompt_tokens": 1.5, "completion_tokens": 1}),
                b'{"choices": []}', b"[1]", b"not json"):
        assert read_answer(odd) is None


def test_prices_from_the_json_map_equal_litellms() -> None:
    from harness.models.client import lookup_price
    from harness.models.price_map import UNSURE, json_price, price_table

    table = price_table()  # what the route and the estimate price from
    assert table is not None
    litellm = import_litellm()
    names = [*_model_names(), "openai/gpt-image-1", "openai/text-embedding-3-small",
             "hosted_vllm/container", "openai/container", "openai/whisper-1"]
    names += [f"{p}/{k}" for k in list(table)[::25] for p in ("openai", "hosted_vllm")]
    priced = 0
    for name in names:
        ref = lookup_price(litellm, name)
        mine = json_price(name, table)
        assert mine == (None if ref is None else (ref.input, ref.output, ref.cache_read)), name
        priced += ref is not None
    assert priced >= 100
    # Providers not checked here are LiteLLM's to price.
    assert json_price("anthropic/claude-3-5-haiku-20241022", table) is UNSURE


def _run_in_subprocess(tmp_path: Path, exp: Path, cache: bool) -> str:
    code = ("import sys; from harness.api import run; "
            "s = run(sys.argv[1], results_dir=sys.argv[2], reports_dir=None, quiet=True, "
            "cache=sys.argv[3] == '1'); "
            "print(int(s['error'].isna().all()), s['cost_usd'].notna().sum(), "
            "'litellm' in sys.modules, 'openai' in sys.modules)")
    env = {**os.environ, "HARNESS_CACHE_DIR": str(tmp_path / "cache"), KEY_ENV: KEY}
    out = subprocess.run([sys.executable, "-c", code, str(exp), str(tmp_path / "results"),
                          "1" if cache else "0"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split("\n")[-2]


@pytest.mark.parametrize("cache", [True, False])
def test_a_hosted_run_on_openai_never_imports_litellm(tmp_path: Path, add_task: Path,
                                                      cache: bool) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model="openai/gpt-4o-mini", limit=4,
                               extra="temperature: 0.2\n")
        first = _run_in_subprocess(tmp_path, exp, cache)
        bodies = sorted(json.dumps(r.body, sort_keys=True) for r in server.received)
        server.received.clear()
        second = _run_in_subprocess(tmp_path, exp, cache=False)
        again = sorted(json.dumps(r.body, sort_keys=True) for r in server.received)
    # Every sample answered and priced (gpt-4o-mini is in the map), LiteLLM never imported;
    # the openai SDK only by the first run, which recorded the shapes of its bodies.
    assert first == "1 8 False True"
    assert second == "1 8 False False"
    assert len(bodies) == 8 and bodies == again


def test_a_shape_the_sdk_was_not_asked_about_is_built_by_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.models.openai_wire as wire
    from harness.models import sdk_shapes

    memo = sdk_shapes.ShapeMemo(tmp_path / "shapes.json")
    monkeypatch.setattr(sdk_shapes, "memo", lambda: memo)
    asked: list[dict[str, Any]] = []
    real = wire.sdk_transform
    monkeypatch.setattr(wire, "sdk_transform", lambda request: asked.append(request) or
                        real(request))
    route = wire.DirectRoute(name="m", provider="openai", url="u", headers={}, api_key="k")
    route.body(MESSAGES, {"max_tokens": 8})
    route.body(MESSAGES, {"max_tokens": 9})  # the same shape: answered from this run's verdict
    assert len(asked) == 1
    fresh = wire.DirectRoute(name="m", provider="openai", url="u", headers={}, api_key="k")
    assert fresh.body(MESSAGES, {"max_tokens": 8}) == {"messages": MESSAGES, "model": "m",
                                                       "max_tokens": 8}
    assert len(asked) == 1  # recorded: a later route (a later run) need not ask
    fresh.body(MESSAGES[:2], {"max_tokens": 8})  # another shape: asked
    fresh.body(MESSAGES, {"max_tokens": 8, "seed": 1})
    assert len(asked) == 3
    # Another SDK release: nothing recorded counts.
    other = sdk_shapes.ShapeMemo(tmp_path / "shapes.json")
    other.version = "1:0.0.1"
    assert not any(other.known(k) for k in json.loads(memo.path.read_text())[memo.version])


def test_another_provider_still_goes_through_litellm(tmp_path: Path, add_task: Path) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model="anthropic/claude-3-5-haiku-20241022",
                               limit=3)
        exp.write_text(exp.read_text().replace(f"'{server.url}/v1'", f"'{server.url}'"))
        line = _run_in_subprocess(tmp_path, exp, cache=False)
    assert line.split()[0] == "1" and line.split()[2] == "True"
    assert {r.protocol for r in server.received} == {"anthropic"}
