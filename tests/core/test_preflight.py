"""Bad input that costs money if found late is found before the first call and the run folder:
missing API keys, unknown providers, unusable output paths, a baseline of another experiment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_helpers import KEY_ENV, assert_bad_input, experiment, harness_cli

from harness.config import load_experiment
from harness.errors import ConfigError
from harness.preflight import check_models, is_keyless
from harness.testing.loopback import LoopbackServer


def _hosted(tmp_path: Path, models: str) -> Path:
    path = tmp_path / "hosted.yaml"
    path.write_text(f"tasks: [add]\nvariants: [zero-shot]\nmodels:\n{models}", encoding="utf-8")
    return path


@pytest.mark.parametrize(("model", "variable"), [
    ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
    ("anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
    ("mistral/mistral-small", "MISTRAL_API_KEY"),
])
def test_a_hosted_model_without_its_key_stops_before_anything(
        tmp_path: Path, add_task: Path, model: str, variable: str) -> None:
    path = _hosted(tmp_path, f"  - hf/smollm2-135m-instruct\n  - {model}\n")
    done, _ = harness_cli(tmp_path, "run", str(path))
    err = assert_bad_input(done, f"{path}:5: models[1].model:", variable, "api_key_env",
                           results=tmp_path / "results")
    assert "export" in err


def test_the_key_named_by_api_key_env_is_checked_before_any_request(
        tmp_path: Path, add_task: Path) -> None:
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path), env={KEY_ENV: ""})
        assert server.stats()["requests"] == 0
    assert_bad_input(done, f"{path}:4: models[0].api_key_env:", KEY_ENV, "is not set",
                     results=tmp_path / "results")


def test_a_command_line_model_is_named_by_its_flag(tmp_path: Path, add_task: Path) -> None:
    path = _hosted(tmp_path, "  - hf/smollm2-135m-instruct\n")
    done, _ = harness_cli(tmp_path, "run", str(path), "--model", "anthropic/claude-x")
    assert_bad_input(done, "--model:", "ANTHROPIC_API_KEY", results=tmp_path / "results")


@pytest.mark.parametrize(("model", "words"), [
    ("opneai/gpt-4o-mini", ["unknown provider 'opneai'", "did you mean 'openai/'"]),
    ("nosuchprovider/x", ["unknown provider 'nosuchprovider'", "hf/<model folder>"]),
])
def test_an_unknown_provider_is_bad_input(tmp_path: Path, add_task: Path, model: str,
                                          words: list[str]) -> None:
    path = _hosted(tmp_path, f"  - {{model: {model}, api_base: 'http://127.0.0.1:9/v1'}}\n")
    done, _ = harness_cli(tmp_path, "run", str(path))
    assert_bad_input(done, f"{path}:4: models[0].model:", *words, results=tmp_path / "results")


def test_local_servers_need_no_key(tmp_path: Path, add_task: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = _hosted(tmp_path, "  - hf/smollm2-135m-instruct\n"
                             "  - {model: openai/m, api_base: 'http://127.0.0.1:8000/v1'}\n"
                             "  - {model: anthropic/m, api_base: 'http://localhost:9/'}\n"
                             "  - {model: openai/n, api_base: 'http://[::1]:9/v1'}\n"
                             "  - {model: hosted_vllm/m, api_base: 'http://10.0.0.5/v1'}\n")
    experiment_ = load_experiment(path)
    check_models(experiment_)  # nothing raised
    assert [is_keyless(m) for m in experiment_.models] == [True, True, True, True, False]
    remote = _hosted(tmp_path, "  - {model: openai/m, api_base: 'http://10.0.0.5/v1'}\n")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        check_models(load_experiment(remote))


def test_a_keyless_loopback_model_still_runs(tmp_path: Path, add_task: Path) -> None:
    with LoopbackServer() as server:
        path = _hosted(tmp_path, f"  - {{model: openai/m, api_base: '{server.url}/v1'}}\n"
                                 "limit: 2\n")
        done, _ = harness_cli(tmp_path, "run", str(path), "--quiet")
        assert server.stats()["requests"] == 2
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("flag", ["--results-dir", "--reports-dir"])
@pytest.mark.parametrize("shape", ["a file", "under a file"])
def test_an_unusable_output_folder_stops_before_anything(
        tmp_path: Path, add_task: Path, flag: str, shape: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    target = blocker if shape == "a file" else blocker / "sub"
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path), flag, str(target))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, f"{flag} {target}", results=tmp_path / "results")


def _baseline(tmp_path: Path, task: str, item: str) -> Path:
    path = tmp_path / f"baseline-{task}.json"
    path.write_text(json.dumps({
        "format": "prompt-harness-baseline", "format_version": 1, "run_id": "old",
        "metrics": {task: {"name": "numeric", "kind": "binary"}},
        "cells": [{"task": task, "variant": "zero-shot", "model": "openai/test-model",
                   "items": {item: {"score": 1.0, "output": "1"}}}],
    }), encoding="utf-8")
    return path


@pytest.mark.parametrize(("task", "item", "words"), [
    ("sentiment", "s1", ["holds none of this experiment's", "sentiment / zero-shot"]),
    ("add", "zzz", ["share no items", "'zzz'"]),
])
def test_check_refuses_a_foreign_baseline_before_running(
        tmp_path: Path, add_task: Path, task: str, item: str, words: list[str]) -> None:
    baseline = _baseline(tmp_path, task, item)
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "check", str(path), "--baseline", str(baseline))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, str(baseline), *words, results=tmp_path / "results")


@pytest.mark.parametrize("flag", ["--junit", "--summary", "--json"])
def test_check_refuses_an_unwritable_report_path_before_running(
        tmp_path: Path, add_task: Path, flag: str) -> None:
    baseline = _baseline(tmp_path, "add", "t0")
    (tmp_path / "a-folder").mkdir()
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "check", str(path), "--baseline", str(baseline),
                              flag, str(tmp_path / "a-folder"))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, flag, "is a folder", results=tmp_path / "results")


def test_compare_refuses_an_unwritable_report_path(tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    done, _ = harness_cli(tmp_path, "compare", "results/a", "results/b", "--junit", "a-folder")
    assert_bad_input(done, "--junit a-folder: is a folder")


def test_the_python_api_checks_too(tmp_path: Path, add_task: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import harness
    from harness.gate.check import check_experiment

    monkeypatch.setenv(KEY_ENV, "sk-hostile-test")
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        with pytest.raises(ConfigError, match="share no items"):
            check_experiment(path, _baseline(tmp_path, "add", "zzz"),
                             results_dir=tmp_path / "results")
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(ConfigError, match="--results-dir"):
            harness.run(path, results_dir=blocker, quiet=True)
        assert server.stats()["requests"] == 0
    assert not (tmp_path / "results").exists()
