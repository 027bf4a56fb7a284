"""Every bad config gives one line naming the file, the line and the key; exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import load_experiment, load_task
from harness.errors import ConfigError

GOOD_MODEL = "models: [openai/gpt-4o-mini]\n"


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("tasks: [add]\nvariants: [zero-shot]\n", None, "models", "required key is missing"),
        ("tasks: [add]\nvariants:\n  - name: fs\n    template: few-shot\n    shots: many\n"
         + GOOD_MODEL, 5, "variants[0].shots", "valid integer"),
        ("tasks: [add]\nvariants: [zero-shot]\n" + GOOD_MODEL + "epochs: 0\n", 4, "epochs",
         "greater than or equal to 1"),
        ("tasks: [add]\nvariants: [zero-shot]\n" + GOOD_MODEL + "seeds: 3\n", 4, "seeds",
         "did you mean 'seed'"),
        ("tasks: [add]\nvariants: [zero-shot]\nmodels: [gpt-4o]\n", 3, "models[0].model",
         "no provider prefix"),
        ("tasks: [add]\nvariants: [zero-shot]\nmodels:\n  - model: openai/x\n    api_key: sk-1\n",
         4, "models[0]", "never put an API key"),
        ("tasks: [add]\nvariants: [zero-shot, zero-shot]\n" + GOOD_MODEL, None, "",
         "repeated: zero-shot"),
        ("tasks: [add]\nvariants:\n  - {name: rag, rag: maybe}\n" + GOOD_MODEL, 3,
         "variants[0].rag", "valid boolean"),
        ("tasks: [add\n", 2, None, "invalid YAML"),
        # A variant's parser override is checked like a task's, when the file loads.
        ("tasks: [add]\nvariants:\n  - {name: zs, parser: lastnumber}\n" + GOOD_MODEL, 3,
         "variants[0].parser", "unknown parser 'lastnumber'"),
        ("tasks: [add]\nvariants:\n  - name: zs\n    parser: [{name: regex, pattern: '('}]\n"
         + GOOD_MODEL, 4, "variants[0].parser", "bad regular expression"),
    ],
)
def test_experiment_errors(tmp_path: Path, text: str, line: int | None, key: str | None,
                           words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    if line is not None:
        assert f"{path}:{line}:" in message
    if key:
        assert f": {key}: " in message
    assert words in message


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("name: t\ndata: {test: d.jsonl}\ninput: x\n", "target", "required key is missing"),
        ("name: t\ndata: {test: d.jsonl}\ninput: x\ntarget: y\nparser: [lastnumber]\n",
         "parser", "unknown parser 'lastnumber'"),
        ("name: t\ndata: {test: d.jsonl}\ninput: x\ntarget: y\n"
         "scorers: [{name: numeric, tol: 1}]\n",
         "scorers", "scorer 'numeric' takes tolerance"),
        ("name: t\ndata: {test: d.jsonl}\ninput: x\ntarget: y\nfewshot_split: train\n", "",
         "fewshot_split 'train' is not one of the data splits"),
        ("name: t\ndata: {test: d.jsonl}\ninput: x\ntarget: y\nparser: [{name: regex, "
         "pattern: '('}]\n", "parser", "bad regular expression"),
    ],
)
def test_task_errors(tmp_path: Path, text: str, key: str, words: str) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_task(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    if key:
        assert f": {key}" in message
    assert words in message


def test_bad_data_row_names_file_and_line(tmp_path: Path, add_task: Path) -> None:
    from harness.dataset import load_items

    data = add_task / "data" / "test.jsonl"
    lines = data.read_text().splitlines()
    lines[3] = '{"id": "t3", "a": 1,'
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=rf"{data}:4: invalid JSON"):
        load_items(load_task(add_task), "test")


def test_missing_field_in_row_is_reported_before_any_call(tmp_path: Path, add_task: Path) -> None:
    data = add_task / "data" / "test.jsonl"
    data.write_text(data.read_text() + '{"id": "t99", "a": 1}\n')
    from harness.dataset import load_items

    with pytest.raises(ConfigError) as info:
        load_items(load_task(add_task), "test")
    assert "'b' is undefined" in str(info.value)
    assert f"{data}:13" in str(info.value)


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tasks: [add]\nvariants: [zero-shot]\n" + GOOD_MODEL + "epochs: -1\n")
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert f"{path}:4: epochs:" in err


def test_cli_unknown_task_and_template(tmp_path: Path, add_task: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text("tasks: [nope]\nvariants: [zero-shot]\n" + GOOD_MODEL)
    env = {**os.environ, "OPENAI_API_KEY": "sk-unused"}  # the key is checked first
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(exp)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "task 'nope' not found" in done.stderr
    exp.write_text("tasks: [add]\nvariants: [{name: x, template: zero-shoot}]\n" + GOOD_MODEL)
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(exp)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "no prompt template named 'zero-shoot'" in done.stderr
    assert "zero-shot" in done.stderr.split("library:")[1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--limit", "0"], "--limit 0: Input should be greater than or equal to 1"),
        (["--model", "openai/x", "--model", "gpt-4o"], "--model gpt-4o: 'gpt-4o' has no provider"),
        (["--max-error-rate", "3"], "--max-error-rate 3.0: Input should be less than or equal"),
    ],
)
def test_bad_command_line_values_are_one_line_errors(
    tmp_path: Path, add_task: Path, args: list[str], expected: str
) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text("tasks: [add]\nvariants: [zero-shot]\n" + GOOD_MODEL)
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(exp), *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"harness: error: {expected}"), err


def test_report_of_a_missing_run_is_bad_input(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "report", "no-such-run"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "no-such-run: no run found" in done.stderr
    assert "Traceback" not in done.stderr
