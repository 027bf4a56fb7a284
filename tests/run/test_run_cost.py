"""Tokens and cost per sample, totals in the report, and the budget that stops a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

import harness
from harness.errors import RunError
from harness.models._litellm import import_litellm
from harness.models.client import lookup_price
from harness.results import read_manifest, read_records
from harness.testing.loopback import LoopbackServer

MODEL = "openai/gpt-4o-mini"


def test_cost_of_a_known_model_comes_from_the_price_map(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=MODEL, limit=4, extra="cache: false\n")
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=tmp_path / "reports",
                              quiet=True)
    litellm = import_litellm()
    price = lookup_price(litellm, MODEL)
    assert price is not None and price.input > 0 and price.output > 0
    for row in samples.itertuples():
        assert row.input_tokens > 0 and row.output_tokens > 0
        expected = row.input_tokens * price.input + row.output_tokens * price.output
        assert row.cost_usd == pytest.approx(expected)
        # The same figure LiteLLM's own per-response calculator gives.
        assert row.cost_usd == pytest.approx(litellm.cost_per_token(
            model=MODEL, prompt_tokens=row.input_tokens,
            completion_tokens=row.output_tokens)[0] + litellm.cost_per_token(
            model=MODEL, prompt_tokens=row.input_tokens,
            completion_tokens=row.output_tokens)[1])
    report = next((tmp_path / "reports").glob("*.md")).read_text()
    assert f"Total cost: ${samples['cost_usd'].sum():.4f}" in report
    # Per model and variant: samples, tokens in and out (totals), cost.
    for variant, part in samples.groupby("variant"):
        row = (f"| add | {MODEL} | {variant} | {len(part)} | 0 | "
               f"{int(part['input_tokens'].sum()):,} | {int(part['output_tokens'].sum()):,} | "
               f"${part['cost_usd'].sum():.4f} |")
        assert row in report


def test_an_unknown_model_has_tokens_but_no_cost(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model="openai/test-model", limit=2,
                               extra="cache: false\n")
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
    assert samples["input_tokens"].gt(0).all() and samples["cost_usd"].isna().all()


def test_max_cost_usd_stops_the_run_and_a_bigger_budget_resumes_it(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    results = tmp_path / "results"
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=MODEL, limit=12,
                               extra="cache: false\nconcurrency: 1\nmax_cost_usd: 0.00005\n")
        # force: the estimate is over the budget, which would refuse the run before its first
        # call (tests/run/test_run_estimate.py); forced, the budget stops it when spent.
        with pytest.raises(RunError, match=r"max_cost_usd .* reached.*--resume") as stopped:
            harness.run(exp, results_dir=results, reports_dir=None, quiet=True, force=True)
        run_dir = next(results.iterdir())
        assert read_manifest(run_dir)["status"] == "stopped"
        done = read_records(run_dir)
        assert 1 <= len(done) < 24
        spent = sum(r["cost_usd"] for r in done)
        assert spent >= 0.00005 and spent - done[-1]["cost_usd"] < 0.00005
        # The hint names the run and the results folder; the run's manifest holds its
        # experiment file (tests/run/test_run_resume_hint.py runs such hints as printed).
        assert read_manifest(run_dir)["experiment_path"] == str(exp.resolve())
        # The hint is a command that works as printed, the results folder included.
        assert f"--resume {run_dir.name} --results-dir {results}" in str(stopped.value)

        # Resuming under the same budget asks nothing and says what to do.
        with pytest.raises(RunError, match="already reached"):
            harness.run(exp, resume=run_dir.name, results_dir=results, reports_dir=None,
                        quiet=True)
        assert len(server.received) == len(done)

        samples = harness.run(exp, resume=run_dir.name, results_dir=results, reports_dir=None,
                              quiet=True, max_cost_usd=1.0)
    assert len(samples) == 24 and samples["error"].isna().all()
    asked = [json.dumps(r.messages, sort_keys=True) for r in server.received]
    assert len(asked) == len(set(asked)) == 24
