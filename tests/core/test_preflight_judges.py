"""A judge written in a task file (a RAG metric's ``judge:``, a ``type: judge`` scorer) is
checked before the first call like the experiment's models: before this check, a judge whose
key was unset let the run pay for every call of the models under test and then failed the
scoring of every sample it grades, and the run still exited 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import KEY_ENV, assert_bad_input, experiment, harness_cli

from harness.testing.loopback import LoopbackServer

JUDGE_ENV = "HARNESS_PREFLIGHT_JUDGE_KEY"


def _add_scorer(task: Path, entry: str) -> None:
    """Append one scorer entry to the ``add`` fixture task's list."""
    path = task / "task.yaml"
    text = path.read_text(encoding="utf-8")
    assert "scorers: [numeric, exact_match]\n" in text
    path.write_text(text.replace("scorers: [numeric, exact_match]\n",
                                 f"scorers:\n  - numeric\n  - exact_match\n  - {entry}\n"),
                    encoding="utf-8")


def _rag_task(task: Path, url: str) -> None:
    """The ``add`` task with a corpus and a faithfulness judge reading its key from JUDGE_ENV."""
    (task / "corpus.jsonl").write_text("".join(  # one passage per item, found by its numbers
        f'{{"id": "d{i}", "text": "{i} plus {2 * i + 1} makes {3 * i + 1}."}}\n'
        for i in range(12)), encoding="utf-8")
    path = task / "task.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "corpus: {path: corpus.jsonl}\n",
                    encoding="utf-8")
    _add_scorer(task, f"{{name: faithfulness, judge: {{model: openai/judge-model, "
                      f"api_base: '{url}/v1', api_key_env: {JUDGE_ENV}}}}}")


def _rag_experiment(tmp_path: Path, add_task: Path, url: str) -> Path:
    """The RAG ``add`` task and an experiment whose one variant retrieves for it."""
    _rag_task(add_task, url)
    return experiment(tmp_path, url, variants="[{name: grounded, template: zero-shot, "
                                              "rag: on, retriever: bm25, k: 1}]")


def test_a_rag_judge_without_its_key_stops_the_run_before_any_call(
        tmp_path: Path, add_task: Path) -> None:
    with LoopbackServer() as server:
        path = _rag_experiment(tmp_path, add_task, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path), env={JUDGE_ENV: ""})
        assert server.stats()["requests"] == 0  # not one paid call of the model under test
    task_file = add_task / "task.yaml"
    assert_bad_input(done, f"{task_file}:", "scorers[2].judge.api_key_env", JUDGE_ENV,
                     "is not set", results=tmp_path / "results")


def test_with_its_key_set_the_same_judge_grades_every_grounded_sample(
        tmp_path: Path, add_task: Path) -> None:
    """The control: the check refuses only what cannot run."""
    with LoopbackServer() as server:
        path = _rag_experiment(tmp_path, add_task, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path), "--quiet",
                              env={JUDGE_ENV: "sk-judge-test"}, timeout=120)
        judged = [r for r in server.received if r.body.get("model") == "judge-model"]
    assert done.returncode == 0, done.stderr[-2000:]
    assert judged  # the judge was asked, with the key the check found set


@pytest.mark.parametrize(("judge", "words"), [
    ("anthropic/claude-3-5-haiku-latest", ["scorers[2].judge:", "ANTHROPIC_API_KEY"]),
    ("opneai/gpt-4o-mini", ["scorers[2].judge:", "unknown provider 'opneai'"]),
    ("hf/no-such-model-folder", ["scorers[2].judge:", "not an alias"]),
])
def test_a_rubric_judge_in_the_task_file_is_checked_like_a_model(
        tmp_path: Path, add_task: Path, judge: str, words: list[str]) -> None:
    _add_scorer(add_task, f"{{name: quality, judge: {judge}, rubric: correctness}}")
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, f"{add_task / 'task.yaml'}:", *words, results=tmp_path / "results")


@pytest.mark.parametrize("written_in", ["task", "experiment"])
def test_rescoring_checks_the_judges_it_calls_and_not_the_models_it_does_not(
        tmp_path: Path, add_task: Path, written_in: str) -> None:
    """``harness score`` calls judges only: a judge's missing key stops it before any call,
    while the key of the model under test, which it never calls, may be gone."""
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path), "--quiet")
        assert done.returncode == 0, done.stderr[-2000:]
        run_dir = next((tmp_path / "results").iterdir())
        asked = server.stats()["requests"]
        model = (f"{{model: openai/judge-model, api_base: '{server.url}/v1', "
                 f"api_key_env: {JUDGE_ENV}}}")
        if written_in == "task":
            _add_scorer(add_task, f"{{name: quality, judge: {model}, rubric: correctness}}")
            where = [f"{add_task / 'task.yaml'}:", "scorers[2].judge.api_key_env"]
        else:
            path.write_text(path.read_text(encoding="utf-8") + "judges:\n  - {name: quality, "
                            f"model: {model}, rubric: correctness}}\n", encoding="utf-8")
            where = [f"{path}:", "judges[0].model.api_key_env"]
        done, _ = harness_cli(tmp_path, "score", str(run_dir), env={JUDGE_ENV: "",
                                                                      KEY_ENV: ""})
        assert server.stats()["requests"] == asked
        assert_bad_input(done, *where, JUDGE_ENV)
        done, _ = harness_cli(tmp_path, "score", str(run_dir),
                              env={JUDGE_ENV: "sk-judge-test", KEY_ENV: ""})
        assert done.returncode == 0, done.stderr[-2000:]
        assert server.stats()["requests"] > asked  # the judge graded the run's samples


def test_rescoring_without_the_judge_does_not_need_its_key(
        tmp_path: Path, add_task: Path) -> None:
    """``harness score --scorers numeric`` calls no judge: a judge it leaves out may have lost
    its key (the check above applies to the judges a re-scoring calls, no others)."""
    with LoopbackServer() as server:
        model = (f"{{model: openai/judge-model, api_base: '{server.url}/v1', "
                 f"api_key_env: {JUDGE_ENV}}}")
        path = experiment(tmp_path, server.url)
        path.write_text(path.read_text(encoding="utf-8") + "judges:\n  - {name: quality, "
                        f"model: {model}, rubric: correctness}}\n", encoding="utf-8")
        done, _ = harness_cli(tmp_path, "run", str(path), "--quiet",
                              env={JUDGE_ENV: "sk-judge-test"})
        assert done.returncode == 0, done.stderr[-2000:]
        run_dir = next((tmp_path / "results").iterdir())
        asked = server.stats()["requests"]
        done, _ = harness_cli(tmp_path, "score", str(run_dir), "--scorers", "numeric",
                              env={JUDGE_ENV: "", KEY_ENV: ""})
        assert done.returncode == 0, done.stderr[-2000:]
        assert server.stats()["requests"] == asked  # nothing was called
