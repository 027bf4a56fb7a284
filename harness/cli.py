"""The ``harness`` command: a thin layer over the Python API.

Start-up stays instant: this module imports only the standard library; each command imports
what it needs when it runs. Exit codes: 0 success (a passing gate), 1 a regression, 2 bad input
(one line naming file, line and key), 3 the run did not finish or could not be judged, 4 an
internal error (one line naming a log file with the traceback), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import pandas as pd

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


class _Parser(argparse.ArgumentParser):
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


def _apply_trust(args: argparse.Namespace) -> str | None:
    """``--allow-outside-paths`` is read where paths are resolved, through the environment;
    returns the variable's previous value, which :func:`main` puts back."""
    import os

    from harness.paths import ALLOW_OUTSIDE_ENV

    before = os.environ.get(ALLOW_OUTSIDE_ENV)
    if getattr(args, "allow_outside_paths", False):
        os.environ[ALLOW_OUTSIDE_ENV] = "1"
    return before


def _restore_trust(before: str | None) -> None:
    import os

    from harness.paths import ALLOW_OUTSIDE_ENV

    if before is None:
        os.environ.pop(ALLOW_OUTSIDE_ENV, None)
    else:
        os.environ[ALLOW_OUTSIDE_ENV] = before


def run_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The :func:`_run_options` as keyword arguments of ``harness.run``."""
    return {"limit": args.limit, "models": args.models, "epochs": args.epochs,
            "seed": args.seed, "concurrency": args.concurrency,
            "max_error_rate": args.max_error_rate, "max_cost_usd": args.max_cost_usd,
            "cache": False if args.no_cache else None, "cache_dir": args.cache_dir,
            "confirm_above_usd": args.confirm_above_usd, "yes": args.yes, "force": args.force}


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
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


def _cmd_plan(args: argparse.Namespace) -> int:
    from harness.analysis import format_plan, plan
    from harness.errors import ConfigError

    if args.pilot is None and args.sd_diff is None:
        raise ConfigError("give --pilot results/<run-id> (preferred) or an assumed --sd-diff")
    pilot = None
    if args.pilot:
        from harness.results import load_run

        pilot = load_run(args.pilot)
    table = plan(pilot, args.effect, args.alpha, args.power, sd_diff=args.sd_diff)
    print(format_plan(table))
    if pilot is not None:  # repeats per item, from the pilot's within-item variance
        from harness.stats.repeats import format_repeats, repeats_table

        print()
        print(format_repeats(repeats_table(pilot, args.effect, args.alpha, args.power,
                                           item_cost=args.item_cost)))
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from harness.api import estimate
    from harness.estimate import format_estimate

    overrides = {k: v for k, v in run_overrides(args).items() if k not in ("yes", "force")}
    print(format_estimate(estimate(args.experiment, resume=args.resume,
                                   results_dir=args.results_dir, **overrides)))
    return 0


def _print_table(samples: pd.DataFrame) -> None:
    from harness.report.console import summary_table

    print(summary_table(samples), flush=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.api import run
    from harness.errors import ConfigError

    if args.ray and args.experiment is None and args.ray.endswith((".yaml", ".yml")):
        # `harness run --ray my.yaml`: the optional ADDRESS took the experiment file.
        args.experiment, args.ray = Path(args.ray), ""
    if args.experiment is None and not args.resume:
        raise ConfigError("give an experiment file to run, or --resume <run-id>")
    if args.dry_run:
        return _cmd_estimate(args)
    samples = run(
        args.experiment,
        resume=args.resume,
        results_dir=args.results_dir,
        reports_dir=args.reports_dir,
        quiet=args.quiet,
        until_decided=args.until_decided,
        margin=args.margin,
        alpha=args.alpha,
        ray=args.ray,
        ray_workers=args.ray_workers,
        before_report=_print_table,  # the answer first; the report is written after it
        **run_overrides(args),
    )
    from harness.report.stopped import stopped_early_sentence

    stopped = stopped_early_sentence(samples.attrs.get("manifest") or {})
    if stopped:
        details = (samples.attrs["manifest"]["stopped_early"].get("details") or [])
        print("\n" + stopped.replace("<run-id>", str(samples.attrs["manifest"]["run_id"])))
        for line in details:
            print(f"  {line}")
    print(f"\nresults: {samples.attrs.get('run_dir')}")
    if samples.attrs.get("report"):
        print(f"report:  {samples.attrs['report']}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from harness.preview import render_item

    print(render_item(args.experiment, variant=args.variant, item=args.item, task=args.task,
                      as_json=args.json))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report import write_report
    from harness.results import resolve_run_dir

    run_dir = resolve_run_dir(args.run)
    path = write_report(run_dir, args.reports_dir, html=args.html)
    print(path)
    if args.html:
        print(path.with_suffix(".html"))
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from harness.report.console import summary_table
    from harness.scoring.rescore import score

    samples = score(args.run, args.scorers, experiment=args.experiment,
                    results_dir=args.results_dir,
                    reports_dir=None if args.no_report else args.reports_dir,
                    quiet=args.quiet)
    print(summary_table(samples))
    scoring = samples.attrs["manifest"]["scoring"]
    print(f"\nscoring {scoring['id']}: {samples.attrs.get('run_dir')}/{scoring['source']}")
    if samples.attrs.get("report"):
        print(f"report:  {samples.attrs['report']}")
    return 0


def _cmd_gate(args: argparse.Namespace) -> int:
    from harness.gate.cli import run_command

    return run_command(args)


def _cmd_cache(args: argparse.Namespace) -> int:
    import sqlite3

    from harness.cache import cache_file
    from harness.errors import HarnessError

    path = cache_file(args.cache_dir)
    try:
        return _cache_action(args, path)
    except (sqlite3.Error, OSError) as exc:
        raise HarnessError(f"response cache {path} unusable ({exc}); delete the file to start "
                           "a fresh cache") from None


def _cache_action(args: argparse.Namespace, path: Path) -> int:
    from datetime import datetime

    from harness.cache import cache_info, parse_age, prune_cache
    from harness.errors import ConfigError

    if args.action == "prune":
        if not (args.all or args.older_than or args.model):
            raise ConfigError("cache prune: say what to delete: --older-than AGE, --model "
                              "MODEL, or --all")
        try:
            age = parse_age(args.older_than) if args.older_than else None
        except ValueError as exc:
            raise ConfigError(f"--older-than: {exc}") from None
        deleted = prune_cache(path, older_than_s=age, model=args.model)
        print(f"deleted {deleted} answer{'s' * (deleted != 1)} from {path}")
        return 0
    info = cache_info(path)
    if not info["exists"]:
        print(f"{path}: no cache yet")
        return 0

    def day(ts: float | None) -> str:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"

    print(f"{path}: {info['answers']} answers, {info['bytes'] / 1e6:.1f} MB, "
          f"oldest {day(info['oldest'])}, newest {day(info['newest'])}")
    for model, count in info["models"].items():
        print(f"  {count:>8}  {model}")
    return 0


COMMANDS = {"run": _cmd_run, "estimate": _cmd_estimate, "render": _cmd_render,
            "report": _cmd_report, "baseline": _cmd_gate, "check": _cmd_gate, "compare": _cmd_gate,
            "plan": _cmd_plan, "cache": _cmd_cache, "score": _cmd_score}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from importlib.metadata import version

        print(version("prompt-harness"))
        return 0
    if not args.command:
        parser.print_help()
        return 2
    from harness.redaction import redacted_output

    with redacted_output():  # no key reaches the terminal or a CI log
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    from harness.errors import HarnessError

    trust = _apply_trust(args)
    try:
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: exit 4 with the traceback in a log, never exit 1
        from harness.crash import report_crash

        return report_crash(exc, sys.argv[1:])
    finally:
        _restore_trust(trust)


def entry() -> NoReturn:
    """The ``harness`` command: :func:`main`, then an exit that skips the interpreter teardown.

    Tearing down the modules of LiteLLM, pandas and scipy object by object takes about a
    second at the end of every command (``benchmarks/README.md``), and nothing is left to do
    by then: every file the harness writes is closed before ``main`` returns. The output
    streams are flushed and ``atexit`` handlers run (for a few seconds at most) before the
    process ends, whatever happened: :func:`harness.crash.exit_now`.
    """
    from harness.crash import exit_now

    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C outside the command's own handling
        print("harness: interrupted", file=sys.stderr)
        code = 130
    except BaseException as exc:  # SystemExit from argparse, or a bug outside main
        code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else \
            (0 if isinstance(exc, SystemExit) and exc.code is None else 4)
        if not isinstance(exc, SystemExit):
            from harness.crash import report_crash

            code = report_crash(exc, sys.argv[1:])
    exit_now(code)


if __name__ == "__main__":
    entry()
