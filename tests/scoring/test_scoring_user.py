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


def test_a_scorer_that_raises_on_one_sample_is_its_scoring_error_alone_and_the_run_completes(
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
    # every sample keeps the scores its other scorers gave, right where the model was right:
    # the primary metric (numeric) loses no item to a failure of another scorer
    careful, hasty = samples["variant"] == "careful", samples["variant"] == "hasty"
    assert (samples.loc[careful, "score_numeric"] == 1.0).all()
    assert (samples.loc[hasty, "score_numeric"] == 0.0).all()
    assert samples.loc[samples["item_id"] == "t8", "score_fragile"].eq(1.0).all()
    assert samples.loc[samples["item_id"] == "t7", "score_afragile"].eq(1.0).all()
    ok = samples[samples["scoring_error"].isna()]
    assert len(ok) == 2 * (N_ITEMS - 2)
    assert (ok["score_fragile"] == 1.0).all() and (ok["score_afragile"] == 1.0).all()
    primary = harness.summary(samples).set_index("variant")
    assert primary.loc["careful", "n"] == N_ITEMS and primary.loc["careful", "mean"] == 1.0
    assert primary.loc["careful", "n_scoring_errors"] == 0
    # and each failing scorer's metric counts its own error, on its item alone
    for metric in ("fragile", "afragile"):
        own = harness.summary(samples, metric=metric).set_index("variant")
        assert own.loc["careful", "n"] == N_ITEMS - 1, metric
        assert own.loc["careful", "n_scoring_errors"] == 1, metric


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


CHOKES = '''
def pedantic(record):
    """A secondary scorer (a judge, say) that chokes on the hasty variant's wrong answers."""
    want = record.fields["a"] + record.fields["b"]
    if record.variant == "hasty" and record.answer != str(want):
        raise ValueError("cannot read this answer")
    return 1.0
'''


def _alternating(messages: list[dict[str, str]], body: dict) -> str:
    """Both variants right on half the items, on different halves: equal by construction."""
    import re

    a, b = (int(x) for x in re.findall(r"What is (\d+) \+ (\d+)\?",
                                       messages[-1]["content"])[-1])
    careful = any("careful" in m["content"] for m in messages if m["role"] == "system")
    right = (a % 2 == 0) == careful
    return f"The answer is {a + b if right else a + b + 1}."


def test_a_scorer_failing_on_one_variants_wrong_answers_does_not_make_it_the_winner(
        tmp_path: Path, key: str) -> None:
    """Before, a scoring error took every score of the sample: the primary metric of the
    variant whose wrong answers broke a secondary scorer was computed on its right answers
    alone, and the report called it significantly better than an equal variant."""
    with LoopbackServer(_alternating) as server:
        exp = write_project(tmp_path, server.url, scorers="[numeric, grading:pedantic]",
                            module=CHOKES)
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    assert samples["scoring_error"].notna().sum() == N_ITEMS // 2  # hasty's wrong answers
    primary = harness.summary(samples).set_index("variant")
    assert primary.loc["careful", "mean"] == primary.loc["hasty", "mean"] == 0.5  # the truth
    assert (primary["n"] == N_ITEMS).all()
    pair = harness.compare(samples).iloc[0]
    assert pair["diff"] == 0 and pair["p_value"] > 0.5
    report = next((tmp_path / "reports").glob("*.md")).read_text(encoding="utf-8")
    verdict = next(line for line in report.splitlines() if line.startswith("- `add` / "))
    assert "tie for best" in verdict and "significantly better" not in verdict, verdict
    # where the variants disagree, the report shows the answers the metric scored, not the
    # secondary scorer's error in their place
    shown = [line for line in report.splitlines() if line.startswith("|") and "answer **" in line]
    assert shown and not any("scoring error" in line for line in shown)


def test_the_primary_metrics_own_scoring_errors_are_counted_in_its_tables(
        tmp_path: Path, key: str) -> None:
    """fragile is primary here and raises on t7; numeric's scores of t7 stand."""
    from harness.report.console import summary_table

    with LoopbackServer(careful_adder) as server:
        exp = write_project(tmp_path, server.url, scorers="[grading:fragile, numeric]",
                            module=FRAGILE)
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    primary = harness.summary(samples).set_index("variant")
    assert (primary["n"] == N_ITEMS - 1).all() and (primary["n_scoring_errors"] == 1).all()
    report = next((tmp_path / "reports").glob("*.md")).read_text(encoding="utf-8")
    table = report.split("## Task `add`", 1)[1].split("Service time", 1)[0]
    assert "| scoring errors |" in table
    for variant in ("careful", "hasty"):
        row = next(line for line in table.splitlines() if f"| {variant} |" in line)
        assert f"| {N_ITEMS - 1} | 0 | 1 |" in row, row  # n, errors, scoring errors
    console = summary_table(samples)
    assert "scoring errors" in console
    rows = [line.split() for line in console.splitlines() if line.startswith("add   ")]
    assert len(rows) == 2 and all(r[-3:] == [str(N_ITEMS - 1), "0", "1"] for r in rows), console


APPLIES = '''
def sometimes(record):
    """Applies to level-0 items only (None elsewhere: a RAG metric on an item without
    passages, say)."""
    return 1.0 if record.fields["level"] == 0 else None


def hasty_only(record):
    """Applies to one variant only (as faithfulness applies to the RAG variants only)."""
    return 1.0 if record.variant == "hasty" else None


def judgey(record):
    if record.variant == "hasty":
        raise ValueError("judge could not read this answer")
    return 1.0
'''


def test_a_score_that_did_not_apply_is_not_another_scorers_scoring_error(
        tmp_path: Path, key: str) -> None:
    with LoopbackServer(careful_adder) as server:
        samples = _run(tmp_path, server.url, module=APPLIES,
                       scorers="[numeric, grading:sometimes, grading:hasty_only, grading:judgey]")
    assert samples.loc[samples["variant"] == "hasty", "scoring_error"].notna().all()
    level_zero = sum(1 for i in range(N_ITEMS) if i % 3 == 0)
    sometimes = harness.summary(samples, metric="sometimes").set_index("variant")
    assert (sometimes["n"] == level_zero).all()  # it scored every level-0 item of both
    assert (sometimes["n_scoring_errors"] == 0).all()  # and never raised
    # a metric whose every score sits on a sample another scorer raised on is still found
    hasty_only = harness.summary(samples, metric="hasty_only").set_index("variant")
    assert hasty_only.loc["hasty", "n"] == N_ITEMS
    assert hasty_only.loc["hasty", "n_scoring_errors"] == 0
    judgey = harness.summary(samples, metric="judgey").set_index("variant")
    assert judgey.loc["hasty", "n"] == 0 and judgey.loc["hasty", "n_scoring_errors"] == N_ITEMS
