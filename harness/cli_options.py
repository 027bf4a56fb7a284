"""The ``harness`` command's options and subcommands (argparse), apart from what they do.

Standard library only: ``harness --help`` must not wait on a heavy import.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

EPILOG = """examples:
  harness run experiments/quickstart.yaml
  harness run my.yaml --limit 20 --model openai/gpt-4o-mini
  harness run --resume <run-id>
  harness estimate my.yaml                # calls, tokens, cost and time; calls nothing
  harness render my.yaml --variant cot --item 3
  harness report results/<run-id>
  harness score results/<run-id>          # score again with the current task files
  harness baseline save results/<run-id> --to results/baselines/my.json
  harness check my.yaml --baseline results/baselines/my.json --junit report.xml
  harness compare results/<run-a> results/<run-b>
  harness cache prune --older-than 30d
"""


class Parser(argparse.ArgumentParser):
    """Bad options are bad input like any other: one line naming the option and what to do,
    exit 2, rather than argparse's usage block (subcommand parsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        import difflib
        import re

        found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if found:
            choices = re.findall(r"'([^']*)'", found.group(2))
            close = difflib.get_close_matches(found.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        self.exit(2, f"harness: error: {message}; see '{self.prog} --help'\n")


def _gate_options(parser: argparse.ArgumentParser) -> None:
    """What counts as a regression, and the reports CI reads (shared by check and compare)."""
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level, after correction (default 0.05)")
    parser.add_argument("--max-drop", type=float, default=0.02,
                        help="tolerated drop, as a fraction of the scale (default 0.02 = 2 points)")
    parser.add_argument("--min-score", type=float,
                        help="also fail any cell scoring below this (e.g. 0.7)")
    parser.add_argument("--min-pass-repeats", metavar="K/N",
                        help="each item must pass at least K of N repeats (e.g. 8/10); "
                             "a cell with an item that does not fails")
    parser.add_argument("--correction", default="holm", choices=["holm", "bh", "none"],
                        help="multiple-comparison correction over cells (default holm)")
    parser.add_argument("--junit", type=Path, help="write JUnit XML here")
    parser.add_argument("--summary", type=Path, help="write a markdown summary here "
                        "(also appended to $GITHUB_STEP_SUMMARY when set)")
    parser.add_argument("--json", type=Path, help="write the result as JSON here")
    parser.add_argument("--max-items", type=int, default=20,
                        help="flipped items listed per regression (JSON lists all)")
    parser.add_argument("--strict", action="store_true",
                        help="an inconclusive cell (too few items, too many errors, missing) "
                             "fails like a regression (exit 1 instead of 3)")


def _sequential_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--until-decided", action="store_true",
                        help="stop once every pair of variants is decided (anytime-valid "
                             "confidence sequences: a difference, or equivalence within "
                             "--margin), or at the run's size")
    parser.add_argument("--margin", type=float, default=0.02,
                        help="with --until-decided: differences within this are equivalent "
                             "(default 0.02 = 2 points)")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="with --until-decided: error rate over all pairs (default 0.05)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    """What a command that runs an experiment may override in its file (run and check)."""
    parser.add_argument("--limit", type=int, help="evaluate only the first N items of each task")
    parser.add_argument("--model", action="append", dest="models", metavar="MODEL",
                        help="LiteLLM model string replacing the file's models (repeatable)")
    parser.add_argument("--epochs", type=int, help="samples per item (repeats)")
    parser.add_argument("--seed", type=int, help="seed for few-shot selection")
    parser.add_argument("--concurrency", type=int, help="requests in flight at once")
    parser.add_argument("--max-error-rate", type=float,
                        help="stop with an error when more than this share of samples fail "
                             "(default 0.1)")
    parser.add_argument("--max-cost-usd", type=float,
                        help="refuse to start when the estimate is over it; stop (resumably) "
                             "when spent")
    parser.add_argument("--force", action="store_true",
                        help="start even when the estimate is over --max-cost-usd")
    parser.add_argument("--confirm-above", type=float, dest="confirm_above_usd", metavar="USD",
                        help="on a terminal, ask before a run estimated above this (default 5)")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="do not ask for confirmation, whatever the estimate")
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the response cache")
    parser.add_argument("--cache-dir",
                        help="response cache folder (default ~/.cache/prompt-harness)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"))
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    _trust_option(parser)


def _trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let config files name templates and data outside the project "
                             "(same as HARNESS_ALLOW_OUTSIDE_PATHS=1)")


def run_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The :func:`_run_options` as keyword arguments of ``harness.run``."""
    return {"limit": args.limit, "models": args.models, "epochs": args.epochs,
            "seed": args.seed, "concurrency": args.concurrency,
            "max_error_rate": args.max_error_rate, "max_cost_usd": args.max_cost_usd,
            "cache": False if args.no_cache else None, "cache_dir": args.cache_dir,
            "confirm_above_usd": args.confirm_above_usd, "yes": args.yes, "force": args.force}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="harness",
        description="Compare prompt strategies with statistics you can trust.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run an experiment and write results and a report")
    run.add_argument("experiment", type=Path, nargs="?",
                     help="experiment YAML file (with --resume: the run's own, by default)")
    _run_options(run)
    run.add_argument("--resume", metavar="RUN_ID",
                     help="finish an interrupted run, with the settings it was started with")
    _sequential_options(run)
    run.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                     help="send the model calls to Ray workers: a local Ray instance, or the "
                          "cluster at ADDRESS (e.g. auto, or ray://host:10001)")
    run.add_argument("--ray-workers", type=int, metavar="N",
                     help="with --ray: this many workers (default: one per GPU for local "
                          "models, else one per CPU)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the estimate (calls, tokens, cost, time) and exit; calls no "
                          "model and writes no run folder")

    estimate = sub.add_parser("estimate", help="what a run would cost: calls after the cache, "
                              "tokens, dollars, time (calls no model)")
    estimate.add_argument("experiment", type=Path, nargs="?", help="experiment YAML file")
    _run_options(estimate)
    estimate.add_argument("--resume", metavar="RUN_ID",
                          help="estimate what finishing this run would cost")

    render = sub.add_parser("render", help="show the exact messages a model would receive")
    render.add_argument("experiment", type=Path)
    render.add_argument("--variant", required=True, help="variant name from the experiment")
    render.add_argument("--item", required=True,
                        help="item id, or its 0-based position in the evaluated split")
    render.add_argument("--task", help="task name (default: the experiment's first task)")
    render.add_argument("--json", action="store_true", help="print the messages as JSON")
    _trust_option(render)

    report = sub.add_parser("report", help="(re)write reports/<run-id>.md for a run")
    report.add_argument("run", help="run folder or run id")
    report.add_argument("--reports-dir", type=Path, default=Path("reports"))
    report.add_argument("--html", action="store_true", help="also write a self-contained HTML")

    score = sub.add_parser("score", help="score a finished run again with the current task "
                           "files (a fixed parser, a new scorer); calls no model under test")
    score.add_argument("run", help="run folder or run id")
    score.add_argument("--scorers", nargs="+", metavar="SCORER",
                       help="score with these instead of each task's scorers: names of the "
                            "task's own, built-in scorer names, module:function, or a YAML "
                            "mapping as in a task file: '{name: numeric, tolerance: 0.5}'")
    score.add_argument("--experiment", type=Path,
                       help="experiment file whose variants' parsers apply (default: the one "
                            "the run was started from)")
    score.add_argument("--results-dir", type=Path, default=Path("results"))
    score.add_argument("--reports-dir", type=Path, default=Path("reports"))
    score.add_argument("--no-report", action="store_true", help="skip rewriting the report")
    score.add_argument("--quiet", action="store_true", help="no progress output")
    _trust_option(score)

    baseline = sub.add_parser("baseline", help="save a run as the baseline check compares with")
    baseline_sub = baseline.add_subparsers(dest="action", metavar="ACTION", required=True)
    save = baseline_sub.add_parser("save", help="write a compact baseline file from a run")
    save.add_argument("run", help="run folder or run id")
    save.add_argument("--to", type=Path, required=True, help="baseline file to write (commit it)")
    save.add_argument("--max-output-chars", type=int, default=400,
                      help="outputs kept per item are cut to this length (default 400)")
    save.add_argument("--max-error-rate", type=float,
                      help="refuse a run with a cell failing more than this share of samples "
                           "(default: the run's max_error_rate, else 0.1)")

    check = sub.add_parser("check", help="run an experiment and judge it against a baseline "
                           "(exit 0 pass, 1 regression, 2 bad input, 3 inconclusive or the run "
                           "did not finish, 4 internal error)")
    check.add_argument("experiment", type=Path, nargs="?", help="experiment YAML file")
    check.add_argument("--baseline", required=True, help="baseline file (or a run folder)")
    check.add_argument("--run", help="check this existing run instead of running the experiment")
    _run_options(check)
    _gate_options(check)
    check.add_argument("--no-report", action="store_true", help="skip writing the run's report")
    check.add_argument("--html", action="store_true", help="also write the report as HTML")
    check.add_argument("--sequential", action="store_true",
                       help="stop the run as soon as the gate is decided: fail once a drop "
                            "beyond --max-drop is certain, pass once every cell is shown "
                            "within it (anytime-valid confidence sequences at --alpha)")

    compare = sub.add_parser("compare", help="the check's paired analysis between any two runs")
    compare.add_argument("run_a", help="the earlier run (folder or id), or a baseline file")
    compare.add_argument("run_b", help="the later run (folder or id)")
    _gate_options(compare)
    compare.add_argument("--fail-on-regression", action="store_true",
                         help="exit as check does (1 regression, 3 inconclusive) instead of 0")
    compare.add_argument("--max-error-rate", type=float,
                         help="cells failing more than this share of samples are not judged "
                              "(default: the run's max_error_rate, else 0.1)")
    cache = sub.add_parser("cache", help="what the response cache holds; delete old answers")
    cache_sub = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = cache_sub.add_parser("info", help="answers per model, size, oldest and newest")
    prune = cache_sub.add_parser("prune", help="delete answers (by age, model, or all)")
    prune.add_argument("--older-than", metavar="AGE", help="e.g. 30d, 12h, 90m")
    prune.add_argument("--model", help="only this model string, e.g. openai/gpt-4o-mini")
    prune.add_argument("--all", action="store_true", help="delete every answer")
    for action in (info, prune):
        action.add_argument("--cache-dir", help="cache folder (default ~/.cache/prompt-harness)")

    plan = sub.add_parser("plan", help="how many items a run needs to detect a difference")
    plan.add_argument("--effect", type=float, required=True,
                      help="the difference to detect, as a fraction (0.03 = 3 points)")
    plan.add_argument("--pilot", help="a pilot run (folder or id) to take the spread from")
    plan.add_argument("--sd-diff", type=float,
                      help="assumed SD of per-item differences when there is no pilot")
    plan.add_argument("--alpha", type=float, default=0.05)
    plan.add_argument("--power", type=float, default=0.8)
    plan.add_argument("--item-cost", type=float, default=1.0,
                      help="what a new item costs, in calls (default 1), for the repeats advice")
    return parser
