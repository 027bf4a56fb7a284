"""User scorers named by ``module:function`` in the task file, run through the scoring stage
during a run: several named scores with explanations, async scorers, a scorer that raises on
one sample, and a missing module or function refused before any model call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from scoring_helpers import KEY, KEY_ENV, N_ITEMS, careful_adder, write_project

import harness
from harness.results import read_records
from harness.testing.loopback import LoopbackServer

SEVERAL = '''
from harness.scoring.score import Score


def several(record):
    """Ground truth from the item's own fields; the record also carries what was sent."""
    want = record.fields["a"] + record.fields["b"]
    right = record.answer == str(want)
    return {
        "right": Score(value=float(right), explanation=f"{record.answer} vs {want}",
                       metadata={"want": want}),
        "saw_input": record.input in record.messages[-1]["content"],
        "level_zero": 1.0 if record.fields["level"] == 0 else None,
    }
'''

ASYNC = '''
import asyncio


async def judged(record):
    await asyncio.sleep(0.005)  # as a judge waiting on a model would
    return record.output.endswith(f" {record.fields['a'] + record.fields['b']}.")
'''

FRAGILE = '''
import asyncio


def fragile(record):
    if record.item_id == "t7":
        raise ZeroDivisionError("t7 is cursed")
    return 1.0


async def afragile(record):
    await asyncio.sleep(0)
    if record.item_id == "t8":
        raise KeyError("no t8 here")
    return True
'''


def _run(tmp_path: Path, url: str, **kw: str) -> pd.DataFrame:
    exp = write_project(tmp_path, url, **kw)
    return harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)


def test_a_user_scorer_returns_several_named_scores_with_explanations(
        tmp_path: Path, key: str) -> None:
    with LoopbackServer(careful_adder) as server:
        samples = _run(tmp_path, server.url, scorers="[numeric, grading:several]",
                       module=SEVERAL)
    assert samples["error"].isna().all() and samples["scoring_error"].isna().all()
    by = samples.set_index(["variant", "item_id"])
    for i in range(N_ITEMS):
        careful, hasty = by.loc[("careful", f"t{i}")], by.loc[("hasty", f"t{i}")]
        assert careful["score_right"] == 1.0 and hasty["score_right"] == 0.0  # the truth
        assert careful["score_numeric"] == 1.0 and hasty["score_numeric"] == 0.0
        assert careful["score_saw_input"] == 1.0
        if i % 3 == 0:
            assert careful["score_level_zero"] == 1.0
        else:  # None: not applicable, so no score (not a zero)
            assert pd.isna(careful["score_level_zero"])
    # the statistics find the names the scorer gave (not its own name, which no sample has)
    scorers = samples.attrs["manifest"]["scorers"]["add"]
    assert [(s["name"], s["kind"]) for s in scorers] == [
        ("numeric", "binary"), ("right", "binary"), ("saw_input", "binary"),
        ("level_zero", "binary")]
    summary = harness.summary(samples, metric="right").set_index("variant")
    assert summary.loc["careful", "mean"] == 1.0 and summary.loc["hasty", "mean"] == 0.0
    # explanation and metadata are kept in the record
    stored = {(r["variant"], r["item_id"]): r for r in read_records(
        Path(samples.attrs["run_dir"]))}
    detail = stored[("hasty", "t2")]["score_details"]["right"]
    assert detail == {"explanation": "8 vs 7", "metadata": {"want": 7}}


def test_an_async_user_scorer_is_awaited(tmp_path: Path, key: str) -> None:
    with LoopbackServer(careful_adder) as server:
        samples = _run(tmp_path, server.url, scorers="[{function: 'grading:judged'}]",
                       module=ASYNC)
    assert samples["scoring_error"].isna().all()
    means = samples.groupby("variant")["score_judged"].agg(["mean", "count"])
    assert means.loc["careful", "mean"] == 1.0 and means.loc["hasty", "mean"] == 0.0
    assert means["count"].tolist() == [N_ITEMS, N_ITEMS]


def test_a_scorer_that_raises_on_one_sample_is_its_scoring_error_and_the_run_completes(
        tmp_path: Path, key: str) -> None:
    with LoopbackServer(careful_adder) as server:
        samples = _run(tmp_path, server.url,
                       scorers="[numeric, grading:fragile, grading:afragile]", module=FRAGILE)
    manifest = samples.attrs["manifest"]
    assert manifest["status"] == "complete" and len(samples) == 2 * N_ITEMS
    errors = samples[samples["scoring_error"].notna()].set_index(["variant", "item_id"])
    assert sorted(errors.index) == [("careful", "t7"), ("careful", "t8"),
                                    ("hasty", "t7"), ("hasty", "t8")]
    first = errors.loc[("careful", "t7"), "scoring_error"]
    assert first == "ZeroDivisionError: t7 is cursed (in scorer 'fragile')"
    assert errors.loc[("hasty", "t8"), "scoring_error"].startswith("KeyError: ")
    assert "(in scorer 'afragile')" in errors.loc[("hasty", "t8"), "scoring_error"]
    # every other sample is scored, right where the model was right
    ok = samples[samples["scoring_error"].isna()]
    assert len(ok) == 2 * (N_ITEMS - 2)
    assert (ok.loc[ok["variant"] == "careful", "score_numeric"] == 1.0).all()
    assert (ok.loc[ok["variant"] == "hasty", "score_numeric"] == 0.0).all()
    assert (ok["score_fragile"] == 1.0).all() and (ok["score_afragile"] == 1.0).all()
    summary = harness.summary(samples).set_index("variant")
    assert summary.loc["careful", "n_scoring_errors"] == 2
    assert summary.loc["careful", "n"] == N_ITEMS - 2


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, KEY_ENV: KEY}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_missing_scorer_module_or_function_is_one_line_exit_2_before_any_call(
        tmp_path: Path) -> None:
    with LoopbackServer(careful_adder) as server:
        exp = write_project(tmp_path, server.url, scorers="[numeric, nowhere:score]")
        done = _cli("run", str(exp), "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        line = done.stderr.strip()
        assert "\n" not in line and "Traceback" not in done.stderr
        task = tmp_path / "tasks" / "add" / "task.yaml"
        assert line.startswith(f"harness: error: {task}:7: scorers[1]: no module 'nowhere'")

        write_project(tmp_path, server.url, scorers="[numeric, {function: 'grading:nope'}]",
                      module=SEVERAL)
        done = _cli("run", str(exp), "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        line = done.stderr.strip()
        assert "\n" not in line
        assert line.startswith(f"harness: error: {task}:7: scorers[1].function: module "
                               "'grading'") and "has no 'nope'" in line
        assert server.received == [] and not (tmp_path / "results").exists()


def test_user_modules_of_two_tasks_do_not_collide(tmp_path: Path) -> None:
    """Each task's grading.py is its own module, though both are named grading."""
    from harness.scoring.user import resolve

    for name, value in (("one", 0.25), ("two", 0.75)):
        folder = tmp_path / "tasks" / name
        folder.mkdir(parents=True)
        (folder / "grading.py").write_text(f"def score(record):\n    return {value}\n",
                                           encoding="utf-8")
    one, _ = resolve("grading:score", tmp_path / "tasks" / "one" / "task.yaml")
    two, _ = resolve("grading:score", tmp_path / "tasks" / "two" / "task.yaml")
    assert (one(None), two(None)) == (0.25, 0.75)
