"""Judges in a run, end to end: harness.run -> the model under test and the judge, both on
loopback servers speaking the OpenAI and Anthropic wire formats -> judged scores, pairwise
rows, calibration rows, judge cost apart. The judge used here is perfect (it checks the sum),
so every judged score has a known right value: the task's own numeric score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from judge_helpers import judge, student, write_experiment

import harness
from harness.models._litellm import import_litellm
from harness.models.client import lookup_price
from harness.results import read_manifest, read_records
from harness.testing.loopback import LoopbackServer

JUDGE = "anthropic/claude-haiku-4-5"


def _judges(url: str, *, model: str = JUDGE, suffix: str = "", extra: str = "") -> str:
    return (f"judges:\n  - {{name: correct, model: {{model: {model}, api_base: '{url}{suffix}'}},"
            f" rubric: correctness{extra}}}\n")


def _run(exp: Path, tmp_path: Path, **kw):  # type: ignore[no-untyped-def]
    return harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True,
                       **kw)


@pytest.mark.parametrize(("model", "suffix", "protocol"), [
    ("openai/gpt-4o", "/v1", "openai"),
    (JUDGE, "", "anthropic"),
])
def test_judged_scores_match_the_truth_in_both_wire_formats(
    tmp_path: Path, add_task: Path, key: str, model: str, suffix: str, protocol: str,
) -> None:
    with LoopbackServer(student) as loop, LoopbackServer(judge) as judge_server:
        exp = write_experiment(tmp_path, loop.url,
                               judges=_judges(judge_server.url, model=model, suffix=suffix))
        samples = _run(exp, tmp_path)
    assert len(samples) == 12 and samples["scoring_error"].isna().all()
    # The sloppy variant is wrong on odd items: the judge must see exactly that.
    assert samples["score_numeric"].tolist() == samples["score_correct"].tolist()
    assert samples["score_correct"].sum() == 9  # 6 good + 3 sloppy (even items)
    assert {r.protocol for r in judge_server.received} == {protocol}
    # The judge saw the rubric rendered with the sample: question, reference and response.
    sent = judge_server.received[0].messages
    assert sent[0]["role"] == "system" and "[Reference answer]" in sent[-1]["content"]
    assert "VERDICT: PASS" in sent[-1]["content"]  # the verdict instructions
    run_dir = next((tmp_path / "results").iterdir())
    record = next(r for r in read_records(run_dir) if r["variant"] == "sloppy"
                  and r["item_id"] == "t1")
    detail = record["score_details"]["correct"]
    assert detail["metadata"]["judge"] == model
    assert detail["metadata"]["rubric"] == "correctness"
    assert detail["metadata"]["raw"] == "VERDICT: FAIL"
    assert detail["metadata"]["judge_epoch"] == 0
    assert "The response says" in detail["explanation"]
    manifest = read_manifest(run_dir)
    assert {"name": "correct", "kind": "binary", "type": "judge"} in manifest["scorers"]["add"]
    assert manifest["judges"]["correct"]["rubric"] == "correctness"


def test_malformed_verdicts_are_scoring_errors_and_the_run_completes(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    def flaky(messages, body):  # type: ignore[no-untyped-def]
        answer = student(messages, body)
        if "What is 3 + 7?" in messages[-1]["content"] and "[Response" not in \
                messages[-1]["content"]:
            return "MALFORMED " + answer
        return answer

    with LoopbackServer(flaky) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=_judges(loop.url))
        samples = _run(exp, tmp_path)
        manifest = read_manifest(next((tmp_path / "results").iterdir()))
    bad = samples[samples["item_id"] == "t3"]
    assert len(bad) == 2 and bad["scoring_error"].str.contains(
        r"VerdictError: judge 'correct': no 'VERDICT: \.\.\.' line").all()
    # the judge's score is missing; the string scorer's, which never read the verdict, stands
    assert bad["score_correct"].isna().all() and bad["score_numeric"].isin([0.0, 1.0]).all()
    good = samples[samples["item_id"] != "t3"]
    assert good["scoring_error"].isna().all()
    assert good["score_correct"].tolist() == good["score_numeric"].tolist()
    assert manifest["status"] == "complete"
    items = samples["item_id"].nunique()
    numeric = harness.summary(samples, metric="numeric")
    judged = harness.summary(samples, metric="correct")
    assert (numeric["n"] == items).all() and (numeric["n_scoring_errors"] == 0).all()
    assert (judged["n"] == items - 1).all() and (judged["n_scoring_errors"] == 1).all()


def test_a_rerun_takes_every_judge_answer_from_the_cache(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=_judges(loop.url) +
                               "pairwise: {judge: correct}\n")
        first = _run(exp, tmp_path)
        sent = loop.stats()["requests"]
        assert sent > 12  # the samples, their grades and the pairs were all asked
        second = _run(exp, tmp_path)
        assert loop.stats()["requests"] == sent  # nothing asked again
    cols = ["sample_id", "score_correct", "score_numeric"]
    assert (first.sort_values("sample_id")[cols].values.tolist()
            == second.sort_values("sample_id")[cols].values.tolist())
    runs = [Path(first.attrs["run_dir"]), Path(second.attrs["run_dir"])]
    usage = read_manifest(runs[1])["judge_usage"]
    assert usage["correct"]["calls"] == usage["correct"]["cached"] == 12
    assert usage["correct"]["cost_usd"] == 0

    def preferences(run: Path) -> list[tuple]:
        return [(r["item_id"], r["shown_first"], r["winner"], r["cached"])
                for r in map(json.loads, (run / "pairwise.jsonl").read_text().splitlines())]

    assert [p[:3] for p in preferences(runs[0])] == [p[:3] for p in preferences(runs[1])]
    assert all(p[3] for p in preferences(runs[1]))  # every preference from the cache


def test_judge_cost_is_kept_apart_from_the_models_under_test(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=_judges(loop.url),
                               extra="cache: false\n")
        samples = _run(exp, tmp_path)
        judge_requests = [r for r in loop.received if r.protocol == "anthropic"]
    litellm = import_litellm()
    under_test = lookup_price(litellm, "openai/gpt-4o-mini")
    judge_price = lookup_price(litellm, JUDGE)
    assert under_test is not None and judge_price is not None
    # Each sample's cost is its own call's, at the price of the model under test.
    for row in samples.itertuples():
        assert row.cost_usd == pytest.approx(row.input_tokens * under_test.input
                                             + row.output_tokens * under_test.output)
    usage = read_manifest(next((tmp_path / "results").iterdir()))["judge_usage"]["correct"]
    assert usage["model"] == JUDGE and usage["calls"] == len(judge_requests) == 12
    assert usage["cached"] == 0 and usage["unpriced"] == 0
    assert usage["cost_usd"] == pytest.approx(usage["input_tokens"] * judge_price.input
                                              + usage["output_tokens"] * judge_price.output)
    assert usage["cost_usd"] > 0
    # Judge tokens never leak into the samples' own tokens.
    assert samples["input_tokens"].sum() == sum(
        sum(max(1, len(m["content"].split())) for m in r.messages)
        for r in loop.received if r.protocol == "openai")


def test_pairwise_judges_every_pair_in_both_orders(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    with LoopbackServer(student) as loop:
        exp = write_experiment(
            tmp_path, loop.url, extra=(
                f"pairwise: {{model: {{model: {JUDGE}, api_base: '{loop.url}'}}}}\n"),
            judges="")
        _run(exp, tmp_path)
        judged = [r for r in loop.received if "[Response A]" in r.messages[-1]["content"]]
    run_dir = next((tmp_path / "results").iterdir())
    rows = [json.loads(line) for line in (run_dir / "pairwise.jsonl").read_text().splitlines()]
    assert len(rows) == 12  # 6 items x 1 pair x 2 orders
    # Where both variants answered alike (even items) the two orders are one request: the
    # cache shares it. Odd items differ, and each order is its own call.
    assert len(judged) == 3 + 6
    for row in rows:
        assert set(row) >= {"task", "model", "item_id", "epoch", "judge", "variant_a",
                            "variant_b", "shown_first", "winner", "explanation"}
        assert (row["variant_a"], row["variant_b"]) == ("good", "sloppy")
        odd = int(row["item_id"][1:]) % 2 == 1
        # Sloppy is wrong on odd items only; whatever the order shown, the winner is the same.
        assert row["winner"] == ("a" if odd else "tie"), row
    orders = {(r["item_id"], r["shown_first"]) for r in rows}
    assert orders == {(f"t{i}", s) for i in range(6) for s in "ab"}
    # The judge saw the two answers in both positions and never the variants' names.
    for request in judged:
        text = request.messages[-1]["content"]
        assert "good" not in text and "sloppy" not in text


def test_a_judge_that_always_prefers_the_first_shown_is_visible_as_such(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    def first_wins(messages, body):  # type: ignore[no-untyped-def]
        if "[Response A]" in messages[-1]["content"]:
            return "A reads better.\nVERDICT: A"
        return student(messages, body)

    with LoopbackServer(first_wins) as loop:
        exp = write_experiment(tmp_path, loop.url, judges="", extra=(
            f"pairwise: {{model: {{model: openai/gpt-4o, api_base: '{loop.url}/v1'}}}}\n"))
        _run(exp, tmp_path)
    run_dir = next((tmp_path / "results").iterdir())
    rows = [json.loads(line) for line in (run_dir / "pairwise.jsonl").read_text().splitlines()]
    # The position's choice maps back to the variant shown there: a biased judge's
    # preferences cancel over the two orders instead of favouring one variant.
    assert all(r["winner"] == r["shown_first"] for r in rows)
    assert sum(r["winner"] == "a" for r in rows) == sum(r["winner"] == "b" for r in rows)


def test_judge_epochs_keep_every_verdict_and_score_their_mean(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    seen: dict[str, int] = {}

    def wavering(messages, body):  # type: ignore[no-untyped-def]
        text = messages[-1]["content"]
        if "GRADE: <n>" not in text:
            return student(messages, body)
        nth = seen[text] = seen.get(text, 0) + 1
        answer = judge(messages, body)
        grade = int(answer.rsplit("GRADE: ", 1)[1]) - (nth - 1) % 2  # 5, 4, 5 (right)
        return answer.rsplit("GRADE: ", 1)[0] + f"GRADE: {grade}"

    with LoopbackServer(wavering) as loop:
        exp = write_experiment(tmp_path, loop.url, limit=2, judges=(
            f"judges:\n  - {{name: graded, model: {{model: openai/gpt-4o, api_base: "
            f"'{loop.url}/v1'}}, rubric: correctness, grade: 1-5, epochs: 3, "
            f"temperature: 0.7}}\n"))
        samples = _run(exp, tmp_path)
        judged = [r for r in loop.received if "GRADE: <n>" in r.messages[-1]["content"]]
    assert all(r.body["temperature"] == 0.7 for r in judged)
    run_dir = next((tmp_path / "results").iterdir())
    records = {(r["variant"], r["item_id"]): r for r in read_records(run_dir)}
    right = records[("good", "t1")]["score_details"]["graded"]
    # The three epochs send the same prompt at once: which of them the server answered first
    # (and so graded 4) is down to arrival order, not the epoch number.
    assert sorted(v["grade"] for v in right["metadata"]["verdicts"]) == [4, 5, 5]
    assert right["metadata"]["judge_epoch"] == [0, 1, 2]
    assert records[("good", "t1")]["scores"]["graded"] == pytest.approx((1 + 0.75 + 1) / 3)
    wrong = records[("sloppy", "t1")]["scores"]["graded"]  # grades 2, 1, 2 on 1-5
    assert wrong == pytest.approx((0.25 + 0 + 0.25) / 3)
    assert set(samples["score_graded"].round(6)) == {round(2.75 / 3, 6), round(0.5 / 3, 6)}
    manifest = read_manifest(run_dir)
    assert {"name": "graded", "kind": "graded", "type": "judge"} in \
        manifest["scorers"]["add"]


def test_the_budget_covers_judging_and_a_resume_keeps_the_same_judges(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    from harness.errors import ConfigError, RunError

    results = tmp_path / "results"
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=_judges(loop.url),
                               extra="cache: false\nmax_cost_usd: 0.0003\n")
        exp.write_text(exp.read_text().replace("concurrency: 4", "concurrency: 1"))
        with pytest.raises(RunError, match=r"max_cost_usd .* reached .* of it by judges"):
            harness.run(exp, results_dir=results, reports_dir=None, quiet=True, force=True)
        run_dir = next(results.iterdir())
        done = read_records(run_dir)
        assert 1 <= len(done) < 12
        spent = sum(r["cost_usd"] for r in done)
        usage = read_manifest(run_dir)["judge_usage"]["correct"]
        assert spent < 0.0003 <= spent + usage["cost_usd"]  # the judges' share tipped it
        # Another rubric would grade the rest of the samples otherwise: refused, no call made.
        before = loop.stats()["requests"]
        exp.write_text(exp.read_text().replace("rubric: correctness", "rubric: helpfulness"))
        with pytest.raises(ConfigError, match=r"the judges changed since run .* \(correct\)"):
            harness.run(exp, resume=run_dir.name, results_dir=results, reports_dir=None,
                        quiet=True, max_cost_usd=1.0)
        assert loop.stats()["requests"] == before
        exp.write_text(exp.read_text().replace("rubric: helpfulness", "rubric: correctness"))
        samples = harness.run(exp, resume=run_dir.name, results_dir=results, reports_dir=None,
                              quiet=True, max_cost_usd=1.0)
    assert len(samples) == 12 and samples["scoring_error"].isna().all()
    assert samples["score_correct"].tolist() == samples["score_numeric"].tolist()
    usage = read_manifest(run_dir)["judge_usage"]["correct"]
    assert usage["calls"] == 12  # both sessions' judge calls, each sample graded once


def test_a_primary_judge_is_the_metric_the_report_ranks_by(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    def contrarian(messages, body):  # type: ignore[no-untyped-def]
        answer = student(messages, body)  # a judge that fails right answers, passes wrong ones
        if "[Response]" in messages[-1]["content"]:
            return answer.replace("PASS", "X").replace("FAIL", "PASS").replace("X", "FAIL")
        return answer

    with LoopbackServer(contrarian) as loop:
        exp = write_experiment(tmp_path, loop.url,
                               judges=_judges(loop.url, extra=", primary: true"))
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    means = harness.summary(samples).set_index("variant")["mean"]
    # Ranked by the judge (which prefers sloppy's wrong answers), not by the numeric scorer.
    assert means["good"] == 0.0 and means["sloppy"] == 0.5
    report = next((tmp_path / "reports").glob("*.md")).read_text()
    assert "Primary metric: `correct` (binary)" in report


def test_the_report_shows_judging_cost_apart(tmp_path: Path, add_task: Path, key: str) -> None:
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=_judges(loop.url),
                               extra="cache: false\n")
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    usage = read_manifest(Path(samples.attrs["run_dir"]))["judge_usage"]["correct"]
    report = next((tmp_path / "reports").glob("*.md")).read_text()
    cost = report[report.index("## Cost"):]
    # The samples' total is theirs alone; the judges' line and table say what grading cost.
    assert f"Total cost: ${samples['cost_usd'].sum():.4f}." in cost
    assert f"Judging cost ${usage['cost_usd']:.4f}, not included in the total above" in cost
    assert (f"| correct | {JUDGE} | 12 | 0 | 0 | {usage['input_tokens']:,} | "
            f"{usage['output_tokens']:,} | ${usage['cost_usd']:.4f} |") in cost


def test_a_judge_cut_off_before_its_verdict_says_so(tmp_path: Path, add_task: Path,
                                                    key: str) -> None:
    from harness.testing.loopback import Reply

    def rambling(messages, body):  # type: ignore[no-untyped-def]
        if "[Response]" in messages[-1]["content"]:
            return Reply("Let me consider every angle of this sum", finish_reason="length")
        return student(messages, body)

    with LoopbackServer(rambling) as loop:
        exp = write_experiment(tmp_path, loop.url, limit=2, judges=_judges(loop.url))
        samples = _run(exp, tmp_path)
    assert samples["scoring_error"].str.contains(
        "cut off at max_tokens before its verdict: raise the judge's max_tokens").all()
    assert samples["score_correct"].isna().all()  # no verdict, no judge score
    assert samples["score_numeric"].notna().all()  # the string scorer's score stands
