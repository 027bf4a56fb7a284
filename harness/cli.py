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

from harness.cli_options import build_parser, run_overrides

if TYPE_CHECKING:
    import pandas as pd


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
                    results_dir=args.results_dir, reports_dir=None, quiet=args.quiet)
    print(summary_table(samples), flush=True)  # the answer first, as harness run does
    scoring = samples.attrs["manifest"]["scoring"]
    print(f"\nscoring {scoring['id']}: {samples.attrs.get('run_dir')}/{scoring['source']}",
          flush=True)
    if not args.no_report:
        from harness.report import write_report

        report = write_report(Path(samples.attrs["run_dir"]), args.reports_dir, samples=samples)
        print(f"report:  {report}")
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
    parser = build_parser()
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
