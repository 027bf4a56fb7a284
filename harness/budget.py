"""The pre-run cost check: refuse a run whose estimate passes ``max_cost_usd``, and ask on a
terminal before one whose estimate passes ``confirm_above_usd``.

Both happen after planning and before the run folder exists or any model is called. The
check uses the *expected* cost (``harness.estimate``); the upper bound, every call writing
``max_tokens``, is shown beside it. ``max_cost_usd`` still stops a run that spends it anyway.

- Over ``max_cost_usd``: one line, exit code 2 (a budget that cannot cover the experiment is
  a setting to change: raise it, lower ``--limit``, or ``--force`` to run until it is spent).
- Price unknown for a model: the check cannot judge; it warns and goes on.
- Over ``confirm_above_usd`` (default $5): on a terminal, the estimate and "Proceed? [y/N]";
  anything but yes stops with exit code 1 before any call. Not on a terminal (CI, a pipe),
  nobody can answer: one line with the estimate, and the run goes on. ``--yes`` skips it.

Runs of local models only cost nothing, so for them no estimate is made at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from harness.errors import ConfigError, RunError
from harness.plan import Plan


def needs_estimate(plan: Plan, *, yes: bool, force: bool) -> bool:
    from harness.preflight_judges import judge_models

    experiment = plan.experiment
    judges = judge_models(plan)  # a task file's judges pay too
    if all(m.model.startswith("hf/") for m in [*plan.models.values(), *judges]):
        return False
    budget = experiment.max_cost_usd is not None and not force
    confirm = experiment.confirm_above_usd is not None and not yes
    return budget or confirm


def check_before_run(
    plan: Plan, skip: Iterable[str] = (), *, prior_cost: float = 0.0, yes: bool = False,
    force: bool = False, client: Any = None, interactive: bool | None = None,
    ask: Callable[[str], str] | None = None, quiet: bool = False,
) -> None:
    """Raise (nothing called, nothing written) when the run must not start; else return.

    ``prior_cost`` is what a resumed run already spent. ``interactive`` defaults to whether
    stdin and stderr are terminals; ``ask`` reads the answer (tests pass a fake).
    """
    if not needs_estimate(plan, yes=yes, force=force):
        return
    from harness.estimate import bound_counting, estimate_plan, format_estimate, money

    experiment = plan.experiment
    with bound_counting():  # no tokenizer to load when even the upper bound passes
        estimate = estimate_plan(plan, skip, client)
    budget, threshold = experiment.max_cost_usd, experiment.confirm_above_usd
    bound = estimate.cost_expected
    if _over_budget(bound, budget, prior_cost, force) or _above(bound, threshold):
        # The bound could refuse or ask: count exactly, as harness estimate does (a bound
        # that does neither means the exact estimate would not either).
        estimate = estimate_plan(plan, skip, client)
    expected, upper = estimate.cost_expected, estimate.cost_upper
    summary = (f"{estimate.calls} calls, {money(expected)} expected (at most {money(upper)}), "
               f"about {_duration(estimate.seconds)}")
    if budget is not None and not force and prior_cost < budget:  # spent: the run says so
        if expected is None:
            print(f"harness: warning: cannot check max_cost_usd ({budget}) before the run: no "
                  f"price for {', '.join(estimate.unknown_price)}; the run still stops when "
                  "the cost it can count reaches it", file=sys.stderr)
        elif _over_budget(expected, budget, prior_cost, force):
            spent = f" on top of ${prior_cost:.4f} already spent" if prior_cost else ""
            raise ConfigError(
                f"estimated cost {money(expected)}{spent} (at most {money(upper)}, "
                f"{estimate.calls} calls) is over max_cost_usd {budget}: raise --max-cost-usd, "
                "lower --limit, or pass --force to run until the budget is spent "
                "(see it first with harness estimate)")
        elif any(u.hosted for u in estimate.unestimated):
            metrics = ", ".join(sorted({u.metric for u in estimate.unestimated if u.hosted}))
            print(f"harness: warning: the estimate ({money(expected)}) that max_cost_usd "
                  f"({budget}) was checked against leaves out the judge calls of {metrics}, "
                  "which depend on the answers; the run stops if they spend the rest "
                  "(harness estimate shows the rule)", file=sys.stderr)
    if yes or not _above(expected, threshold):
        return
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if not interactive:
        if not quiet:
            print(f"harness: estimate: {summary}; above confirm_above_usd {threshold}, going "
                  "on (not a terminal)", file=sys.stderr)
        return
    print(format_estimate(estimate), file=sys.stderr)
    answer = (ask or _ask)(f"Estimated {money(expected)} is above confirm_above_usd {threshold}. "
                 "Proceed? [y/N] ")
    if answer.strip().lower() not in {"y", "yes"}:
        raise RunError("not run: the estimate was not confirmed (nothing was called); "
                       "--yes skips the question")


def _over_budget(expected: float | None, budget: float | None, prior_cost: float,
                 force: bool) -> bool:
    """Whether an expected cost refuses the run under ``max_cost_usd``."""
    return (budget is not None and not force and expected is not None
            and prior_cost + expected > budget)


def _above(expected: float | None, threshold: float | None) -> bool:
    """Whether an expected cost is above ``confirm_above_usd`` (the run asks first)."""
    return threshold is not None and expected is not None and expected > threshold


def _ask(question: str) -> str:
    """The question on stderr (stdout may be a file), the answer from stdin; no answer (end of
    input) is no."""
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline()


def _duration(seconds: float) -> str:
    from harness.estimate import duration

    return duration(seconds)
