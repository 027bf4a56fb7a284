"""End to end: one model answer never ends a run (issue 11).

A loopback model sends, for some items, the answers that used to abort every call in flight: a
lone UTF-16 surrogate, JSON nested 100,000 deep, a 5,000-digit integer, and an answer that
makes a scorer raise. The run must finish with every other sample scored; the odd answers are
stored losslessly, scored where they can be and otherwise recorded as scoring errors (kept out
of the failing scorer's scores, counted in the report with the exception's type and message);
the cache and the results file agree, and a resume pays for nothing again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from run_helpers import KEY_ENV

import harness
from harness import scorers
from harness.errors import ConfigError
from harness.results import read_records
from harness.testing.loopback import LoopbackServer

N_ITEMS = 10
SURROGATE = '{"n": 0, "note": "caf\u00e9 \ud800 \udfff"}'
ODD = {
    0: SURROGATE,  # valid JSON holding lone surrogates: scored, and stored exactly
    1: '{"n":' * 100_000,  # deep: the json parser finds no object
    2: '{"a":' * 100_000 + "1" + "}" * 100_000,  # deep and closed: json_valid meets it raw
    3: '{"n": ' + "7" * 5000 + "}",  # Python's int refuses more than 4,300 digits
    4: '{"n": 4, "note": "BOOM"}',  # the fragile scorer raises on this one
}


def responder(messages: list[dict[str, str]], body: dict) -> str:
    i = int(re.findall(r"number (\d+)", messages[-1]["content"])[-1])
    return ODD.get(i, json.dumps({"n": i}))


def _fragile() -> scorers.ScoreFn:
    """A scorer with a bug that only one answer triggers, as a user's own scorer might have."""

    def score(answer: str, target: str) -> float:
        if "BOOM" in answer:
            raise ValueError(f"cannot handle {answer[:30]!r}")
        return 1.0

    return score


@pytest.fixture
def fragile_scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(scorers._REGISTRY, "fragile", ("binary", _fragile))


def _experiment(tmp_path: Path, url: str, parser: str = "[json]") -> Path:
    root = tmp_path / "tasks" / "js"
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "test.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "n": i}) + "\n" for i in range(N_ITEMS)),
        encoding="utf-8")
    (root / "task.yaml").write_text(
        "name: js\ndata: {test: data/test.jsonl}\n"
        "input: 'Return the number {{ n }} as JSON.'\n"
        "target: '{\"n\": {{ n }}}'\n"
        f"parser: {parser}\n"
        "scorers: [json_fields, json_valid, fragile]\n",
        encoding="utf-8")
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "name: hostile\ntasks: [js]\n"
        "variants: [zero-shot, {name: raw, template: zero-shot, parser: [strip]}]\n"
        f"models:\n  - {{model: openai/test-model, api_base: '{url}/v1', "
        f"api_key_env: {KEY_ENV}, max_tokens: 32}}\n"
        f"limit: {N_ITEMS}\nconcurrency: 4\ncache_dir: {tmp_path / 'cache'}\n",
        encoding="utf-8")
    return exp


def test_odd_answers_are_scored_or_recorded_and_the_run_finishes(
    tmp_path: Path, key: str, fragile_scorer: None
) -> None:
    with LoopbackServer(responder) as server:
        exp = _experiment(tmp_path, server.url)
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
        calls = len(server.received)
        run_dir = Path(samples.attrs["run_dir"])

        assert len(samples) == 2 * N_ITEMS and samples["error"].isna().all()
        by = {(r["variant"], r["item_id"]): r for r in samples.to_dict(orient="records")}
        # every ordinary answer is scored, in both variants
        for variant in ("zero-shot", "raw"):
            for i in range(5, N_ITEMS):
                row = by[(variant, f"q{i}")]
                assert pd.isna(row["scoring_error"])
                assert row["score_json_fields"] == 1.0 and row["score_json_valid"] == 1.0
        # the odd ones: scored where a grader can score them...
        assert by[("zero-shot", "q0")]["score_json_fields"] == 1.0
        assert by[("zero-shot", "q1")]["score_json_fields"] == 0.0
        assert by[("raw", "q2")]["score_json_valid"] == 0.0  # deeper than the JSON limit
        assert by[("raw", "q3")]["score_json_valid"] == 1.0  # valid JSON, huge number
        assert by[("zero-shot", "q3")]["score_json_fields"] == 0.0  # 777... is not 3
        # ...and recorded as a scoring error where a scorer raised: out of that scorer's
        # score, while the other scorers' scores of the same answer stand
        for variant in ("zero-shot", "raw"):
            row = by[(variant, "q4")]
            assert row["scoring_error"].startswith("ValueError: cannot handle")
            assert row["score_fragile"] != row["score_fragile"]  # NaN
            assert row["score_json_fields"] == 1.0 and row["score_json_valid"] == 1.0
        fragile = harness.summary(samples, metric="fragile").set_index("variant")
        assert fragile.loc["raw", "n"] == N_ITEMS - 1
        assert fragile.loc["raw", "n_scoring_errors"] == 1
        assert fragile.loc["raw", "n_errors"] == 1  # excluded, as a failed call would be
        valid = harness.summary(samples, metric="json_valid").set_index("variant")
        assert valid.loc["raw", "n"] == N_ITEMS and valid.loc["raw", "n_scoring_errors"] == 0

        # stored losslessly: the surrogates come back exactly from the results file; the
        # DataFrame (pandas strings are UTF-8) shows them as their escapes, not dropped
        stored = {(r["variant"], r["item_id"]): r for r in read_records(run_dir)}
        assert stored[("raw", "q0")]["output"] == SURROGATE
        assert stored[("raw", "q0")]["answer"] == SURROGATE.strip()
        assert by[("raw", "q0")]["output"] == '{"n": 0, "note": "caf\u00e9 \\ud800 \\udfff"}'
        assert stored[("zero-shot", "q3")]["output"] == ODD[3]

        # the report counts and names the scoring errors
        report = Path(samples.attrs["report"]).read_text(encoding="utf-8")
        assert "2 answers met a parser or scorer error" in report
        assert "ValueError: cannot handle" in report
        # the primary metric's table: q4 is scored there (its scorer did not raise), so n is 10
        # and no scoring error is counted against it
        assert re.search(r"\| raw \| [^|]+ \| [^|]+ \| [^|]+ \| 10 \| 0 \|", report), report
        assert "| scoring errors |" not in report.split("## Errors")[0]

        # the cache kept every answer, the surrogate one included: a second run asks nothing
        again = harness.run(exp, results_dir=tmp_path / "again", reports_dir=None, quiet=True)
        assert len(server.received) == calls
        assert again["cached"].all()
        assert {r["sample_id"]: r["output"] for r in read_records(Path(again.attrs["run_dir"]))} \
            == {r["sample_id"]: r["output"] for r in read_records(run_dir)}

        # and a resume of the first run finds every sample finished: nothing paid again
        harness.run(exp, resume=run_dir.name, results_dir=tmp_path / "results",
                    reports_dir=None, quiet=True)
        assert len(server.received) == calls


def test_a_regex_parser_group_that_does_not_exist_stops_the_run_before_any_call(
    tmp_path: Path, key: str, fragile_scorer: None
) -> None:
    with LoopbackServer(responder) as server:
        exp = _experiment(tmp_path, server.url,
                          parser="[{name: regex, pattern: 'n.: (\\d+)', group: 2}]")
        with pytest.raises(ConfigError, match="group 2 does not exist"):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        assert server.received == []


def _letters(messages: list[dict[str, str]], body: dict) -> str:
    i = int(re.findall(r"number (\d+)", messages[-1]["content"])[-1])
    return "a" * 40 + "b" if i == 2 else "a" * 5


def test_a_backtracking_user_pattern_is_a_scoring_error_not_a_hang(
    tmp_path: Path, key: str, fragile_scorer: None
) -> None:
    # "(a|a)+$" takes exponential time on "aaa...ab": Python's re would hang the run on that
    # one answer. The pattern is matched with a time limit; the sample records why.
    with LoopbackServer(_letters) as server:
        exp = _experiment(tmp_path, server.url, parser="[{name: regex, pattern: '(a|a)+$'}]")
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    by = {(r["variant"], r["item_id"]): r for r in samples.to_dict(orient="records")}
    slow = by[("zero-shot", "q2")]
    assert slow["scoring_error"].startswith("TimeoutError: pattern '(a|a)+$' took over")
    others = [r for key_, r in by.items() if key_ != ("zero-shot", "q2")]
    assert all(pd.isna(r["scoring_error"]) for r in others)
    assert len(samples) == 2 * N_ITEMS
