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


# --- every provider route, keys from the usual variables, servers that echo everything ------

FAKE = {  # recognisable fake keys, one per place a key can come from
    "OPENAI_API_KEY": "sk-openai-fake-1a2b3c4d5e6f",
    "ANTHROPIC_API_KEY": "sk-ant-fake-9z8y7x6w5v4u",
    "GEMINI_API_KEY": "AIzaFakeGeminiKey0123456789",
    "AZURE_API_KEY": "azure-fake-key-5566778899",
    "MY_GATEWAY_TOKEN": "gw-token-fake-abcdef123456",
}
QUERY_KEY = "qkey-fake-77aa88bb99cc"

ROUTES = [  # (model, api_base suffix, extra model keys)
    ("openai/gpt-4o-mini", "/v1", ""),  # the direct route
    ("openai/gpt-4o-mini", "/v1", "transport: litellm"),
    ("anthropic/claude-3-5-haiku-20241022", "", ""),
    ("gemini/gemini-1.5-flash", "", ""),
]


def _experiment(tmp_path: Path, model: str, api_base: str, model_extra: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: secrets\ntasks: [add]\nvariants: [zero-shot, {name: few-shot, shots: 2}]\n"
        f"models:\n  - {{model: {model}, api_base: '{api_base}', max_tokens: 32"
        f"{', ' + model_extra if model_extra else ''}}}\n"
        f"limit: 6\nmax_error_rate: 1.0\ncache_dir: {tmp_path / 'cache'}\n",
        encoding="utf-8")
    return path


def _refuse_some(messages: list[dict[str, str]]) -> int | None:
    last = messages[-1]["content"]
    return 401 if "What is 1 + " in last else 400 if "What is 2 + " in last else None


def _assert_nothing_holds(tmp_path: Path, out: str, err: str, secrets: list[str]) -> None:
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".yaml"]
    assert any(p.name == "samples.jsonl" for p in written)
    assert any(p.name == "manifest.json" for p in written)
    assert any(p.suffix == ".md" for p in written) and any(p.suffix == ".html" for p in written)
    assert any(p.name == "responses.sqlite" for p in written)
    for secret in secrets:
        assert secret not in out and secret not in err, secret
        for path in written:
            assert secret.encode() not in path.read_bytes(), (secret, path)


@pytest.mark.parametrize(("model", "suffix", "model_extra"), ROUTES,
                         ids=["direct", "litellm", "anthropic", "gemini"])
def test_keys_from_the_usual_variables_never_written_on_any_route(
    tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str], model: str, suffix: str, model_extra: str,
) -> None:
    for name, value in FAKE.items():
        monkeypatch.setenv(name, value)
    with LoopbackServer(adder, status_for=_refuse_some, echo_key_in_errors=True,
                        echo_request_in_replies=True) as server:
        exp = _experiment(tmp_path, model, server.url + suffix, model_extra)
        code = cli_main(["run", str(exp), "--results-dir", str(tmp_path / "results"),
                         "--reports-dir", str(tmp_path / "reports")])
        run_dir = next((tmp_path / "results").iterdir())
        assert cli_main(["report", str(run_dir), "--reports-dir", str(tmp_path / "reports"),
                         "--html"]) == 0
        # The usual variable's key did travel, and the server did quote everything back.
        sent = [r for r in server.received if r.status == 200]
        assert sent and server.statuses[401] and server.statuses[400]
        heard = " ".join(" ".join(r.headers.values()) + r.path for r in server.received)
        assert any(value in heard for value in FAKE.values())
    out, err = capfd.readouterr()
    assert code == 0, err
    _assert_nothing_holds(tmp_path, out, err, list(FAKE.values()))
    samples = (run_dir / "samples.jsonl").read_text()
    assert "<redacted>" in samples


@pytest.mark.parametrize("transport", ["", "transport: litellm"], ids=["direct", "litellm"])
def test_a_key_in_the_api_base_query_is_never_written(
    tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str], transport: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE["OPENAI_API_KEY"])
    with LoopbackServer(adder, status_for=_refuse_some, echo_key_in_errors=True,
                        echo_request_in_replies=True) as server:
        exp = _experiment(tmp_path, "openai/gpt-4o-mini", f"{server.url}/v1?key={QUERY_KEY}",
                          transport)
        code = cli_main(["run", str(exp), "--results-dir", str(tmp_path / "results"),
                         "--reports-dir", str(tmp_path / "reports")])
        run_dir = next((tmp_path / "results").iterdir())
        cli_main(["report", str(run_dir), "--reports-dir", str(tmp_path / "reports"), "--html"])
        assert server.statuses  # the calls were made, and answered with what they carried
    out, err = capfd.readouterr()
    assert code == 0, err
    _assert_nothing_holds(tmp_path, out, err, [QUERY_KEY, FAKE["OPENAI_API_KEY"]])
    manifest = (run_dir / "manifest.json").read_text()
    assert "key=<redacted>" in manifest  # the URL is kept, minus its credentials


@pytest.mark.parametrize("params", [
    "{api_key: sk-in-file-123456789}",
    "{extra_headers: {Authorization: 'Bearer sk-in-file-123456789'}}",
    "{extra_headers: {x-api-key: sk-in-file-123456789}}",
    "{extra_body: {nested: [{access_token: sk-in-file-123456789}]}}",
])
def test_a_key_anywhere_in_params_is_refused(
    tmp_path: Path, add_task: Path, capfd: pytest.CaptureFixture[str], params: str,
) -> None:
    exp = _experiment(tmp_path, "openai/gpt-4o-mini", "http://127.0.0.1:9/v1",
                      f"params: {params}")
    code = cli_main(["run", str(exp), "--results-dir", str(tmp_path / "results")])
    out, err = capfd.readouterr()
    assert code == 2
    assert "api_key_env" in err and "Traceback" not in err
    assert "sk-in-file-123456789" not in out + err
    assert not (tmp_path / "results").exists()


def test_harmless_params_are_not_refused(tmp_path: Path, add_task: Path) -> None:
    from harness.config import load_experiment

    exp = _experiment(tmp_path, "openai/gpt-4o-mini", "http://127.0.0.1:9/v1",
                      "params: {top_p: 0.5, max_completion_tokens: 20, "
                      "extra_headers: {X-Team: evals}}")
    assert load_experiment(exp).models[0].params["extra_headers"] == {"X-Team": "evals"}
