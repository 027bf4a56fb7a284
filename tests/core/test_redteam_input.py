"""Red-team cases for bad input and hostile answers that got through before: each ran (or
crashed, or printed argparse's usage block) where it should have been one line and exit 2, or
a per-sample error with a clean message."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hostile_helpers import assert_bad_input, experiment, harness_cli

from harness.config import load_experiment, load_task
from harness.config.experiment import ModelConfig
from harness.dataset import load_items
from harness.errors import ConfigError
from harness.models.client import LiteLLMClient, ModelCallError, first_line
from harness.testing.loopback import LoopbackServer

# --- options: argparse's own errors are bad input like any other --------------------------


@pytest.mark.parametrize(("args", "words"), [
    (("run", "exp.yaml", "--limit", "abc"), ["--limit", "invalid int value: 'abc'",
                                            "harness run --help"]),
    (("run", "exp.yaml", "--seed", "1.5"), ["--seed"]),
    (("run", "exp.yaml", "--no-such-option"), ["unrecognized arguments: --no-such-option"]),
    (("render", "exp.yaml"), ["required", "--variant", "--item"]),
    (("chek", "exp.yaml"), ["invalid choice: 'chek'", "did you mean 'check'?"]),
    (("cache", "prune", "--older-than"), ["--older-than", "expected one argument"]),
])
def test_a_bad_option_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...],
                                             words: list[str]) -> None:
    done, _ = harness_cli(tmp_path, *args)
    assert_bad_input(done, *words)
    assert "usage:" not in done.stderr


# --- YAML's switches where a number belongs ---------------------------------------------

_BASE = "tasks: [add]\nvariants: [zero-shot]\nmodels: [openai/x]\n"


@pytest.mark.parametrize(("text", "where"), [
    (_BASE + "limit: yes\n", "4: limit:"),  # was: a run of 1 item
    (_BASE + "epochs: on\n", "4: epochs:"),  # was: 1 epoch
    (_BASE + "max_error_rate: true\n", "4: max_error_rate:"),  # was: 100% errors accepted
    ("tasks: [add]\nvariants: [zero-shot]\nmodels: [{model: openai/x, temperature: true}]\n",
     "3: models[0].temperature:"),
    ("tasks: [add]\nvariants: [{name: few-shot, shots: true}]\nmodels: [openai/x]\n",
     "2: variants[0].shots:"),
    ("tasks: [add]\nsweep: {template: few-shot, shots: [0, true]}\nmodels: [openai/x]\n",
     "2: sweep.shots[1]:"),
])
def test_a_yaml_switch_is_not_a_number(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{where}"), message
    assert "not true" in message and "write a number" in message, message


def test_switches_stay_switches(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("tasks: [add]\nvariants: [{name: zero-shot, rag: off, reasoning: yes}]\n"
                    "models: [openai/x]\ncache: no\nlimit: 3\n", encoding="utf-8")
    config = load_experiment(path)
    assert config.limit == 3 and config.cache is False
    assert config.variants[0].rag is False and config.variants[0].reasoning is True


def test_a_yes_limit_on_the_command_line_path_is_refused_before_any_call(
        tmp_path: Path, add_task: Path) -> None:
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url, extra="limit: yes\n")
        done, _ = harness_cli(tmp_path, "run", str(path), "--yes")
        assert_bad_input(done, "limit", "not true", results=tmp_path / "results")
        assert server.counts.total() == 0


# --- output folders root can "access" but not write --------------------------------------


@pytest.mark.parametrize(("flag", "value"), [
    ("--results-dir", "/proc/harness-results"),
    ("--reports-dir", "/proc/harness-reports"),
])
def test_an_output_folder_that_cannot_be_made_is_bad_input(
        tmp_path: Path, add_task: Path, flag: str, value: str) -> None:
    if not Path("/proc/sys").is_dir():
        pytest.skip("needs /proc")
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path), flag, value)
        # was, as root: the run called the model, then crashed (exit 4) making the run folder
        assert_bad_input(done, flag, "not writable")
        assert server.counts.total() == 0


# --- data rows --------------------------------------------------------------------------


def _task(tmp_path: Path, test_rows: str, fewshot_rows: str | None = None,
          extra: str = "") -> Path:
    root = tmp_path / "tasks" / "t"
    (root / "data").mkdir(parents=True)
    (root / "data" / "test.jsonl").write_text(test_rows, encoding="utf-8")
    data = "{test: data/test.jsonl}"
    if fewshot_rows is not None:
        (root / "data" / "fewshot.jsonl").write_text(fewshot_rows, encoding="utf-8")
        data = "{test: data/test.jsonl, fewshot: data/fewshot.jsonl}\nfewshot_split: fewshot"
    (root / "task.yaml").write_text(
        f"name: t\ndata: {data}\ninput: '{{{{ a }}}} + {{{{ b }}}}?'\ntarget: '{{{{ a + b }}}}'\n"
        "rationale: '{{ why }} The answer is {{ a + b }}.'\nparser: [last_number]\n"
        f"scorers: [numeric]\n{extra}", encoding="utf-8")
    return root / "task.yaml"


@pytest.mark.parametrize("bad_id", [[1], {"k": 1}, True, "   "])
def test_an_id_that_is_not_an_id_is_an_error(tmp_path: Path, bad_id: object) -> None:
    rows = json.dumps({"id": "ok", "a": 1, "b": 2}) + "\n" + json.dumps(
        {"id": bad_id, "a": 1, "b": 2}) + "\n"
    task = load_task(_task(tmp_path, rows))
    with pytest.raises(ConfigError) as info:
        load_items(task, "test")
    assert str(info.value).startswith(f"{task.data_path('test')}:2: 'id'"), str(info.value)


def test_whole_number_and_text_ids_still_load(tmp_path: Path) -> None:
    rows = "".join(json.dumps({"id": i, "a": 1, "b": 2}) + "\n" for i in (7, "q8"))
    assert [item.id for item in load_items(load_task(_task(tmp_path, rows)), "test")] == [
        "7", "q8"]


def test_a_few_shot_example_whose_rationale_cannot_render_names_its_line(
        tmp_path: Path) -> None:
    """Was: the worked example silently lost its reasoning, so a few-shot-cot variant showed
    the model 'The answer is 3.' where the task promised the steps."""
    test = json.dumps({"id": "t0", "a": 1, "b": 2}) + "\n"  # eval rows need no rationale
    pool = (json.dumps({"id": "f0", "a": 1, "b": 2, "why": "1 + 2 = 3."}) + "\n"
            + json.dumps({"id": "f1", "a": 2, "b": 2}) + "\n")
    task = load_task(_task(tmp_path, test, pool))
    assert load_items(task, "test")[0].rationale is None
    with pytest.raises(ConfigError) as info:
        load_items(task, "fewshot")
    message = str(info.value)
    assert message.startswith(f"{task.data_path('fewshot')}:2: 'why' is undefined"), message
    assert "rationale" in message


# --- scorer options that would score every answer wrong ----------------------------------


@pytest.mark.parametrize("option", ["tolerance: -1", "relative: -0.5", "tolerance: abc",
                                    "tolerance: .nan", "tolerance: true"])
def test_a_numeric_tolerance_that_cannot_work_is_refused(tmp_path: Path, option: str) -> None:
    path = _task(tmp_path, json.dumps({"id": "t0", "a": 1, "b": 2}) + "\n")
    text = path.read_text().replace("scorers: [numeric]", f"scorers: [{{name: numeric, {option}}}]")
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_task(path)
    assert "scorer 'numeric'" in str(info.value) and "0 or more" in str(info.value)


# --- answers LiteLLM cannot read: a clean per-sample error -------------------------------


def test_an_error_line_never_carries_a_traceback() -> None:
    exc = ValueError("Invalid response object Traceback (most recent call last):\n  File "
                     "\"x.py\", line 1\nKeyError: 'content'")
    assert first_line(exc) == "Invalid response object"
    assert first_line(ValueError("Traceback (most recent call last):\n...")) == "ValueError"


def test_a_reply_without_choices_is_a_sample_error_not_an_index_error() -> None:
    client = LiteLLMClient.__new__(LiteLLMClient)
    model = ModelConfig(model="openai/x")
    for choices in ([], None):
        with pytest.raises(ModelCallError) as info:
            client._completion(model, SimpleNamespace(choices=choices), 0.1)
        assert str(info.value) == "APIError: unreadable answer: the provider returned no choices"
        assert not info.value.retryable




# --- an api_base that cannot work fails before the first call, not after every retry -----


@pytest.mark.parametrize(("base", "words"), [
    ("not a url", "not an http(s) URL"),
    ("ftp://127.0.0.1/v1", "not an http(s) URL"),
    ("http:///v1", "not an http(s) URL"),
    ("127.0.0.1:8000/v1", "not an http(s) URL"),
    ("http://127.0.0.1:80x/v1", "not a URL"),
])
def test_an_api_base_that_cannot_work_is_bad_input(tmp_path: Path, add_task: Path, base: str,
                                                   words: str) -> None:
    """Was: seven attempts per sample, 35 s, then exit 3 with every sample failed."""
    path = experiment(tmp_path, "X")
    path.write_text(path.read_text().replace("'X/v1'", f"'{base}'"), encoding="utf-8")
    done, seconds = harness_cli(tmp_path, "run", str(path), "--yes")
    assert_bad_input(done, "models[0].api_base", words, results=tmp_path / "results")
    assert seconds < 20


# --- a key where it would be sent to the model in every prompt ---------------------------


# Assembled at run time so that no key-shaped literal sits in the repository.
_FAKE_TAIL = "abcdefghijklmnop" + "qrstuvwxyz012345"


@pytest.mark.parametrize(("variant", "where"), [
    ("{name: zero-shot, vars: {api: sk-proj-" + _FAKE_TAIL + "}}", "vars"),
    ("{name: zero-shot, vars: {h: [{auth: 'Bearer abcdefghijklmnopqrstuvwxyz0123'}]}}", "vars"),
    ("{name: zero-shot, system: 'use sk-ant-api03-" + _FAKE_TAIL + "'}", "system"),
])
def test_a_key_in_vars_or_system_is_refused(tmp_path: Path, variant: str, where: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(f"tasks: [add]\nvariants: [{variant}]\nmodels: [openai/x]\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    assert f"variants[0].{where}: never put an API key in a config file" in message
    assert "abcdefghijklmnop" not in message


def test_ordinary_vars_named_key_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("tasks: [add]\nvariants: [{name: zero-shot, vars: {key: A, token: '<eos>'}, "
                    "system: Be brief.}]\nmodels: [openai/x]\n")
    assert load_experiment(path).variants[0].vars == {"key": "A", "token": "<eos>"}


# --- UTF-16 without a byte-order mark decodes as "UTF-8" full of NUL bytes ---------------


@pytest.mark.parametrize(("name", "data", "line"), [
    ("test.csv", "id,a,b\nx,1,2\n".encode("utf-16-le"), 1),  # was: "no cell for \x00a\x00"
    ("test.jsonl", '{"id": "x", "a": 1, "b": 2}\n'.encode("utf-16-le"), 1),
    ("test.csv", b"id,a,b\nx,1\x00,2\n", 2),  # was: read, and sent to the model
])
def test_a_data_file_with_nul_bytes_is_refused(tmp_path: Path, name: str, data: bytes,
                                               line: int) -> None:
    path = _task(tmp_path, "")
    (path.parent / "data" / name).write_bytes(data)
    path.write_text(path.read_text().replace("data/test.jsonl", f"data/{name}"))
    task = load_task(path)
    with pytest.raises(ConfigError) as info:
        load_items(task, "test")
    assert str(info.value).startswith(f"{task.data_path('test')}:{line}: holds a NUL byte")
    assert "save the file as UTF-8" in str(info.value)


# --- a damaged run folder: bad input (exit 2), not an internal error (exit 4) ------------


def _run_folder(tmp_path: Path, manifest: str, samples: str) -> Path:
    run = tmp_path / "results" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(manifest, encoding="utf-8")
    (run / "samples.jsonl").write_text(samples, encoding="utf-8")
    return run


_SAMPLE = {"sample_id": "s1", "task": "add", "variant": "v", "model": "m", "item_id": "t0",
           "epoch": 0, "error": None, "scoring_error": None}


@pytest.mark.parametrize(("manifest", "scores", "words"), [
    ("[]", {"numeric": 1.0}, ["manifest.json", "not a run manifest"]),
    ("{}", {"numeric": 1.0}, ["manifest.json", "not a run manifest"]),
    ('{"run_id": "r1"}', {"numeric": "high"}, ["samples.jsonl:1", "'numeric' is \"high\""]),
    ('{"run_id": "r1"}', {"numeric": True}, ["samples.jsonl:1", "not a number"]),
    ('{"run_id": "r1"}', [1.0], ["samples.jsonl:1", "not a mapping"]),
])
def test_a_damaged_run_folder_is_bad_input(tmp_path: Path, manifest: str, scores: object,
                                           words: list[str]) -> None:
    run = _run_folder(tmp_path, manifest, json.dumps({**_SAMPLE, "scores": scores}) + "\n")
    done, _ = harness_cli(tmp_path, "report", str(run))
    assert_bad_input(done, *words)


# --- a local model that is not there: bad input before a run folder, not 100% failed -----


@pytest.mark.parametrize(("model", "words"), [
    ("hf/no-such-model-xyz", "not an alias"),
    ("hf/exp.yaml", "not an alias"),  # a file that is not a .gguf
    ("hf/tasks", "folder has no config.json"),  # a folder that is not a model
])
def test_a_local_model_that_cannot_load_is_bad_input(tmp_path: Path, add_task: Path,
                                                     model: str, words: str) -> None:
    """Was: a run folder, every sample failed with NotFoundError, exit 3."""
    path = tmp_path / "exp.yaml"
    path.write_text(f"tasks: [add]\nvariants: [zero-shot]\nmodels: ['{model}']\n")
    done, _ = harness_cli(tmp_path, "run", str(path), "--yes",
                          env={"HF_HUB_CACHE": str(tmp_path / "empty-hub-cache")})
    assert_bad_input(done, "exp.yaml:3: models[0].model:", words, results=tmp_path / "results")
