"""Knowing the cost before paying it: ``harness estimate`` / ``run --dry-run``, the
``max_cost_usd`` check before the first call, and the confirmation threshold."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

import harness
from harness.api import estimate
from harness.budget import check_before_run
from harness.cli import main
from harness.config import load_experiment
from harness.errors import ConfigError, RunError
from harness.estimate import format_estimate
from harness.plan import build_plan
from harness.testing.loopback import LoopbackServer

PRICED = "openai/gpt-4o-mini"  # in LiteLLM's price map: $0.15 / $0.60 per million tokens
TWINS = "[zero-shot, {name: twin, template: zero-shot}, {name: few-shot, shots: 2}]"


def requests(server: LoopbackServer) -> int:
    return int(server.stats()["requests"])


def test_estimate_and_dry_run_call_nothing_and_write_no_run_folder(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=PRICED)
        results = tmp_path / "results"
        assert main(["estimate", str(exp), "--results-dir", str(results)]) == 0
        first = capsys.readouterr().out
        assert main(["run", str(exp), "--dry-run", "--results-dir", str(results)]) == 0
        second = capsys.readouterr().out
        assert requests(server) == 0
    assert not results.exists()
    assert first == second
    assert "24 samples, 24 calls to make" in first
    assert "$0.15 / $0.60" in first


def test_calls_after_the_cache_and_shared_duplicates_match_what_the_run_sends(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=PRICED, variants=TWINS, limit=6)
        harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True, yes=True)
        first = harness.load_run(next((tmp_path / "r").iterdir()))
        before = requests(server)
        # 12 items now: 6 of each variant are cached; "twin" renders exactly what zero-shot
        # does, so its 12 samples share zero-shot's calls.
        guess = estimate(exp, limit=12)
        row = guess.models[0]
        assert (row.samples, row.cached, row.shared, row.calls) == (36, 12, 12, 12)
        harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True, limit=12,
                    yes=True)
        assert requests(server) - before == row.calls  # the estimate's calls are the run's
    # Output tokens: the mean over the model's cached answers, per call; the bound max_tokens.
    mean_out = first["output_tokens"].mean()
    assert row.history == 12
    assert row.output_expected == pytest.approx(mean_out * row.calls)
    assert row.output_upper == 32 * row.calls
    assert row.tokens_counted == "tiktoken" and row.input_tokens > 0
    assert row.cost_expected == pytest.approx(
        row.input_tokens * 0.15e-6 + row.output_expected * 0.60e-6)
    assert row.cost_upper > row.cost_expected


def test_without_the_cache_every_sample_is_a_call(tmp_path: Path, add_task: Path, key: str
                                                 ) -> None:
    exp = write_experiment(tmp_path, "http://127.0.0.1:9", model=PRICED, variants=TWINS,
                           extra="cache: false\n")
    row = estimate(exp).models[0]
    assert (row.samples, row.cached, row.shared, row.calls) == (36, 0, 0, 36)
    assert row.output_expected == row.output_upper == 36 * 32  # no history: max_tokens


def test_unknown_price_is_unknown_never_zero_and_local_models_cost_nothing(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    exp = write_experiment(tmp_path, "http://127.0.0.1:9", model="openai/no-such-model-x")
    guess = estimate(exp)
    assert guess.cost_expected is None and guess.cost_upper is None
    text = format_estimate(guess)
    assert "unknown" in text and "$0.0000" not in text
    assert "no price in LiteLLM's map for openai/no-such-model-x" in text
    local = tmp_path / "local.yaml"
    local.write_text("name: local\ntasks: [add]\nvariants: [zero-shot]\n"
                     "models: [hf/smollm2-135m-instruct]\nlimit: 3\ncache: false\n")
    guess = estimate(local)
    assert guess.cost_expected == 0.0 and guess.models[0].tokens_counted == "approx"


def test_a_model_whose_tokenizer_litellm_would_download_is_approximated(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.models._litellm import import_litellm

    import_litellm()
    import litellm.utils

    downloads: list[object] = []

    def no_download(*args: object, **kwargs: object) -> None:
        downloads.append(args)  # recorded: LiteLLM would swallow an exception
        raise OSError("no network")

    monkeypatch.setattr(litellm.utils.tokenizer_dispatch, "from_pretrained", no_download)
    exp = write_experiment(tmp_path, "http://127.0.0.1:9", model="hosted_vllm/llama-3-8b",
                           extra="cache: false\n")
    row = estimate(exp).models[0]
    assert row.tokens_counted == "approx" and row.input_tokens > 0
    assert " approx" in format_estimate(estimate(exp))
    assert downloads == []
    # The check can fail: asking LiteLLM for this model's own tokenizer would download.
    litellm.token_counter(model="llama-3-8b", messages=[{"role": "user", "content": "hi"}])
    assert downloads


def test_over_budget_is_refused_before_any_call_with_exit_2(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=PRICED)
        results = tmp_path / "results"
        code = main(["run", str(exp), "--max-cost-usd", "0.0001", "--results-dir",
                     str(results), "--quiet", "--reports-dir", str(tmp_path / "reports")])
        err = capsys.readouterr().err
        assert code == 2
        assert requests(server) == 0 and not results.exists()
        assert len(err.strip().splitlines()) == 1
        assert "over max_cost_usd 0.0001" in err and "--force" in err
        # The same budget with --force runs (and stops, resumably, once it is spent).
        main(["run", str(exp), "--max-cost-usd", "0.0001", "--force", "--results-dir",
              str(results), "--quiet", "--reports-dir", str(tmp_path / "reports")])
        assert requests(server) > 0
        # A budget the estimate fits under runs.
        code = main(["run", str(exp), "--max-cost-usd", "5", "--results-dir", str(results),
                     "--quiet", "--no-cache", "--reports-dir", str(tmp_path / "reports")])
        assert code == 0


def test_unknown_price_cannot_be_checked_so_it_warns_and_runs(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model="openai/no-such-model-x")
        code = main(["run", str(exp), "--max-cost-usd", "0.0001", "--results-dir",
                     str(tmp_path / "results"), "--quiet", "--reports-dir",
                     str(tmp_path / "reports")])
        assert code == 0 and requests(server) == 24
    assert "cannot check max_cost_usd" in capsys.readouterr().err


def test_confirmation_asks_on_a_terminal_and_never_elsewhere(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = write_experiment(tmp_path, "http://127.0.0.1:9", model=PRICED,
                           extra="confirm_above_usd: 0.0001\n")
    plan = build_plan(load_experiment(exp))
    asked: list[str] = []

    def answer(text: str):  # type: ignore[no-untyped-def]
        return lambda question: asked.append(question) or text

    with pytest.raises(RunError, match="not confirmed"):
        check_before_run(plan, interactive=True, ask=answer("n\n"))
    assert "Proceed? [y/N]" in asked[-1]
    assert "cost expected" in capsys.readouterr().err  # the estimate was shown first
    check_before_run(plan, interactive=True, ask=answer("y\n"))
    with pytest.raises(RunError):  # end of input is no
        check_before_run(plan, interactive=True, ask=answer(""))
    count = len(asked)
    check_before_run(plan, interactive=True, yes=True, ask=answer("n"))  # --yes: no question
    check_before_run(plan, interactive=False, ask=answer("n"))  # CI: no question, goes on
    assert len(asked) == count
    assert "going on (not a terminal)" in capsys.readouterr().err
    cheap = build_plan(load_experiment(exp).model_copy(update={"confirm_above_usd": 100.0}))
    check_before_run(cheap, interactive=True, ask=answer("n"))  # under the threshold
    assert len(asked) == count


def test_a_no_at_the_terminal_prompt_calls_nothing(tmp_path: Path, add_task: Path, key: str
                                                  ) -> None:
    """End to end on a pseudo-terminal: the question is asked, "n" stops the run."""
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=PRICED)
        leader, follower = pty.openpty()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", str(exp), "--confirm-above", "0",
             "--results-dir", str(tmp_path / "results")],
            stdin=follower, stderr=follower, stdout=subprocess.DEVNULL, env=env, cwd=tmp_path)
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + 120
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        os.write(leader, b"n\n")
        code = process.wait(60)
        os.close(leader)
        assert b"Proceed? [y/N]" in seen
        assert code == 3 and requests(server) == 0  # nothing was run
    assert not (tmp_path / "results").exists()


def test_estimate_of_a_finished_run_has_nothing_left(tmp_path: Path, add_task: Path, key: str
                                                    ) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=PRICED)
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
    run_id = samples["run_id"].iloc[0]
    guess = estimate(resume=run_id, results_dir=tmp_path / "r")
    assert guess.samples == 0 and guess.calls == 0 and guess.cost_expected == 0.0


def test_bad_confirm_threshold_names_the_flag(tmp_path: Path, add_task: Path, key: str) -> None:
    exp = write_experiment(tmp_path, "http://127.0.0.1:9", model=PRICED)
    with pytest.raises(ConfigError, match="--confirm-above -1"):
        estimate(exp, confirm_above_usd=-1)


def test_the_byte_bound_never_changes_the_budget_decision(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    """The pre-run check first counts input tokens with an upper bound (no tokenizer, no
    LiteLLM); a budget between the exact estimate and the bound must still be let through
    (counted exactly), one under the exact estimate refused."""
    from harness.estimate import bound_counting, estimate_plan

    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, model=PRICED, extra="cache: false\n")
        plan = build_plan(load_experiment(exp))
        exact = estimate_plan(plan).cost_expected
        with bound_counting():
            bound = estimate_plan(plan).cost_expected
        assert exact is not None and bound is not None and bound > exact
        plan.experiment.max_cost_usd = (exact + bound) / 2
        check_before_run(plan)  # fits when counted exactly: no error
        plan.experiment.max_cost_usd = exact * 0.99
        with pytest.raises(ConfigError, match="over max_cost_usd"):
            check_before_run(plan)
        plan.experiment.max_cost_usd = None
        plan.experiment.confirm_above_usd = (exact + bound) / 2
        check_before_run(plan, ask=lambda question: "no", interactive=True)  # not asked
        assert requests(server) == 0
