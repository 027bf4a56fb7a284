"""A sample's fingerprint is what it sends and how it is scored: resume reuses a finished
sample only while its fingerprint holds, and names the samples that changed and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

import harness
from harness.cli import main
from harness.errors import ConfigError
from harness.testing.loopback import LoopbackServer


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


VARIANTS = ("[{name: noted, template: noted}, {name: few-shot, shots: 2}, "
            "{name: rag, template: zero-shot, rag: on, retriever: bm25, k: 1}]")


def _rows(**edits: dict) -> list[dict]:
    """The test split: ``note`` is read by the ``noted`` template, ``extra`` by nothing."""
    rows = [{"id": f"t{i}", "a": i, "b": 2 * i + 1, "note": f"note {i}", "extra": "x"}
            for i in range(4)]
    for row in rows:
        row.update(edits.get(row["id"], {}))
    return rows


@pytest.fixture
def project(tmp_path: Path, add_task: Path) -> Path:
    write_jsonl(add_task / "data" / "test.jsonl", _rows())
    write_jsonl(add_task / "data" / "corpus.jsonl",
                [{"id": "d1", "text": "Adding numbers: sum them digit by digit."},
                 {"id": "d2", "text": "What is a sum? The result of an addition."}])
    with (add_task / "task.yaml").open("a") as fh:
        fh.write("corpus: {path: data/corpus.jsonl}\n")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "noted.j2").write_text(
        "{{ task.instructions }} (Note: {{ item.note }})\n{{ input }}\n")
    return add_task


def _finished_run(tmp_path: Path, url: str) -> tuple[Path, str]:
    exp = write_experiment(tmp_path, url, limit=4, variants=VARIANTS, extra="cache: false\n")
    done = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert len(done) == 12 and done["error"].isna().all()
    return exp, done.attrs["manifest"]["run_id"]


def _resume(tmp_path: Path, run_id: str) -> None:
    exp = tmp_path / "exp.yaml"  # named, as before --resume alone was enough
    harness.run(exp, resume=run_id, results_dir=tmp_path / "results", reports_dir=None,
                quiet=True)


def test_editing_a_field_a_template_reads_refuses_resume_naming_the_item(
    tmp_path: Path, project: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(adder) as server:
        _, run_id = _finished_run(tmp_path, server.url)
        write_jsonl(project / "data" / "test.jsonl", _rows(t1={"note": "edited"}))
        with pytest.raises(ConfigError) as refused:
            _resume(tmp_path, run_id)
        code = main(["run", "--resume", run_id, "--results-dir", str(tmp_path / "results"),
                     "--quiet"])
        assert len(server.received) == 12  # nothing asked
    message = str(refused.value)
    assert "1 finished item(s)" in message and "changed since" in message
    assert "add/noted/openai/test-model item t1: data field note" in message
    # The command line: one line on stderr, exit 2 (bad input), no traceback.
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "item t1: data field note" in err


def test_editing_a_field_no_template_reads_resumes_without_asking_again(
    tmp_path: Path, project: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        _, run_id = _finished_run(tmp_path, server.url)
        write_jsonl(project / "data" / "test.jsonl",
                    _rows(**{f"t{i}": {"extra": "changed"} for i in range(4)}))
        samples = harness.run(resume=run_id, results_dir=tmp_path / "results",
                              reports_dir=None, quiet=True)
        assert len(server.received) == 12
    assert len(samples) == 12


def test_editing_the_few_shot_pool_refuses_resume_for_the_few_shot_variant_only(
    tmp_path: Path, project: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        _, run_id = _finished_run(tmp_path, server.url)
        pool = [json.loads(line) for line in
                (project / "data" / "fewshot.jsonl").read_text().splitlines()]
        write_jsonl(project / "data" / "fewshot.jsonl", [{**r, "b": 8} for r in pool])
        with pytest.raises(ConfigError) as refused:
            _resume(tmp_path, run_id)
    message = str(refused.value)
    assert "4 finished item(s)" in message
    assert "add/few-shot/openai/test-model item t0: few-shot examples" in message
    assert "add/noted/" not in message and "add/rag/" not in message


def test_editing_the_corpus_refuses_resume_for_the_rag_variant_only(
    tmp_path: Path, project: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        _, run_id = _finished_run(tmp_path, server.url)
        write_jsonl(project / "data" / "corpus.jsonl",
                    [{"id": "d1", "text": "Adding numbers: carry the ten."},
                     {"id": "d2", "text": "What is a sum? Two numbers added."}])
        with pytest.raises(ConfigError) as refused:
            _resume(tmp_path, run_id)
    message = str(refused.value)
    assert "4 finished item(s)" in message
    assert "add/rag/openai/test-model item t0: retrieved context" in message
    assert "add/noted/" not in message and "add/few-shot/" not in message


def test_a_limit_shrinking_or_growing_is_not_a_change(
    tmp_path: Path, project: Path, key: str
) -> None:
    # The fingerprint is per sample: a run over 2 items extends to 4 with --limit, reusing
    # the 6 finished samples (the old whole-config hash refused any other limit).
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=2, variants=VARIANTS,
                               extra="cache: false\n")
        first = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
        run_id = first.attrs["manifest"]["run_id"]
        more = harness.run(resume=run_id, results_dir=tmp_path / "results", reports_dir=None,
                           quiet=True, limit=4)
        assert len(server.received) == 12
    assert len(more) == 12 and more.attrs["manifest"]["overrides"] == {"limit": 4}


def test_a_changed_parser_refuses_resume_as_a_scoring_change(
    tmp_path: Path, project: Path, key: str
) -> None:
    # The prompts are the same, but the finished samples' answers and scores would differ.
    with LoopbackServer(adder) as server:
        _, run_id = _finished_run(tmp_path, server.url)
        task = project / "task.yaml"
        task.write_text(task.read_text().replace("parser: [last_number]",
                                                 "parser: [first_line, last_number]"))
        with pytest.raises(ConfigError) as refused:
            _resume(tmp_path, run_id)
    assert "12 finished item(s)" in str(refused.value)
    assert "item t0: parser or scorers" in str(refused.value)
