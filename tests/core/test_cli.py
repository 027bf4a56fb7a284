"""The command line: instant help, render, and results that pandas reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results import RunWriter, load_run, write_json_atomic

HEAVY = ("litellm", "torch", "transformers", "pandas", "numpy", "scipy", "jinja2", "pydantic")


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, contextlib, io\n"
        "import harness.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: harness.cli.main(['--help'])\n"
        "    except SystemExit: pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_render_shows_the_exact_messages(tmp_path: Path, add_task: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text("tasks: [add]\nvariants: [zero-shot, {name: fs, template: few-shot, "
                   "shots: 2}]\nmodels: [openai/m]\n")
    done = subprocess.run([sys.executable, "-m", "harness", "render", str(exp), "--variant", "fs",
                           "--item", "t3", "--json"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    messages = json.loads(done.stdout)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant",
                                             "user"]
    assert messages[-1]["content"] == "What is 3 + 7?"
    text = subprocess.run([sys.executable, "-m", "harness", "render", str(exp), "--variant",
                           "zero-shot", "--item", "0"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert "── system" in text.stdout and "What is 0 + 1?" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "harness", "render", str(exp), "--variant",
                          "cot", "--item", "0"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert bad.returncode == 2 and "no variant 'cot'" in bad.stderr


def _record(sid: str, score: float | None, error: str | None = None) -> dict:
    return {"sample_id": sid, "task": "t", "variant": "v", "model": "m", "item_id": sid,
            "epoch": 0, "error": error, "scores": {} if score is None else {"em": score}}


def test_load_run_survives_a_torn_line_and_keeps_the_latest(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    writer = RunWriter(run_dir)
    write_json_atomic(run_dir / "manifest.json", {"run_id": "r1"})
    writer.append(_record("a", None, error="boom"))
    writer.append(_record("b", 1.0))
    writer.append(_record("a", 0.0))  # retried on resume: this one wins
    writer.close()
    with (run_dir / "samples.jsonl").open("a") as fh:
        fh.write('{"sample_id": "c", "task"')  # killed mid-write
    frame = load_run(run_dir)
    assert list(frame["sample_id"]) == ["a", "b"]
    assert frame.set_index("sample_id")["score_em"].to_dict() == {"a": 0.0, "b": 1.0}
    assert frame["error"].isna().all()
    assert frame.attrs["manifest"]["run_id"] == "r1"


def test_the_command_exits_with_mains_code_after_flushing_and_atexit() -> None:
    # entry() ends with os._exit to skip the interpreter's teardown: buffered output and
    # atexit handlers must still come through, and the exit status must be main()'s.
    code = ("import atexit, sys; from harness import cli; "
            "atexit.register(lambda: print('atexit ran')); "
            "sys.argv = ['harness', *sys.argv[1:]]; cli.entry()")
    ok = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True,
                        text=True, timeout=60)
    lines = ok.stdout.splitlines()
    assert ok.returncode == 0 and len(lines) == 2
    assert lines[0].count(".") >= 1 and lines[1] == "atexit ran"  # the version, then atexit
    bad = subprocess.run([sys.executable, "-c", code, "report", "no-such-run"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "atexit ran" in bad.stdout
    assert bad.stderr.startswith("harness: error:")


def test_render_plans_only_the_item_it_shows_and_shows_what_the_run_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.config import VariantConfig, load_experiment
    from harness.plan import build_plan
    from harness.preview import render_item

    root = Path(__file__).resolve().parents[2]
    experiment = load_experiment(root / "experiments" / "kb-qa.yaml").model_copy(update={
        "limit": 12, "cache_dir": str(tmp_path),
        "variants": [
            VariantConfig(name="bm25", template="zero-shot", rag=True, retriever="bm25", k=3),
            VariantConfig(name="shots", template="few-shot", shots=3, rag=True,
                          retriever="bm25", k=2),
        ]})
    whole = build_plan(experiment)
    for sample in whole.samples[::5]:
        only = build_plan(experiment, items={sample.item.id})
        same = [s for s in only.samples if s.variant == sample.variant]
        assert len(only.samples) == 2 and len(same) == 1
        assert same[0].messages == sample.messages and same[0].retrieved == sample.retrieved
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text((root / "experiments" / "kb-qa.yaml").read_text())
    (tmp_path / "tasks").symlink_to(root / "tasks")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    shown = render_item(exp_file, variant="rag-bm25-k3", item="3", as_json=True)
    full = load_experiment(exp_file)
    first = build_plan(full.model_copy(update={
        "limit": 4, "variants": [v for v in full.variants if v.name == "rag-bm25-k3"]}))
    # item 3 is the fourth item of the split; the run sends items in a seeded random order
    fourth = next(iter(first.tasks.values())).items[3].id
    [sent] = [s for s in first.samples if s.item.id == fourth]
    assert json.loads(shown) == list(sent.messages)


def test_variants_with_the_same_retrieval_share_one_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness.retrieval
    from harness.config import VariantConfig, load_experiment
    from harness.plan import build_plan

    opened: list[str] = []
    original = harness.retrieval.open_retriever

    def counting(docs, config, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(config.kind)
        return original(docs, config, **kwargs)

    monkeypatch.setattr(harness.retrieval, "open_retriever", counting)
    root = Path(__file__).resolve().parents[2]
    bm25 = {"rag": True, "retriever": "bm25", "k": 3}
    experiment = load_experiment(root / "experiments" / "kb-qa.yaml").model_copy(update={
        "limit": 5, "cache_dir": str(tmp_path), "variants": [
            VariantConfig(name="zs", template="zero-shot", **bm25),
            VariantConfig(name="cot", template="cot", **bm25),
            VariantConfig(name="k1", template="zero-shot", **{**bm25, "k": 1}),
        ]})
    plan = build_plan(experiment)
    assert opened == ["bm25", "bm25"]  # zs and cot share one search; k1 has its own
    by_variant = {v: [s.retrieved for s in plan.samples if s.variant == v] for v in ("zs", "cot")}
    assert by_variant["zs"] == by_variant["cot"] and len(by_variant["zs"]) == 5
