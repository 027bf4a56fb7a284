"""Handlers of ``harness baseline save``, ``harness check`` and ``harness compare``.

``harness.cli`` defines the options (standard library only, so ``harness --help`` stays instant)
and imports this module only when one of these commands runs. Exit codes: 0 pass, 1 regression
(or an inconclusive cell with ``--strict``), 2 bad input (a missing or foreign baseline, no
shared items, bad options), 3 the run did not finish or a cell could not be judged
(inconclusive: too few items, too many errors, a missing cell): CI can retry or add items
instead of blaming the prompt.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.gate.baseline import GateInputError

if TYPE_CHECKING:
    from harness.gate.check import CheckResult, GateSettings


def _settings(args: argparse.Namespace) -> GateSettings:
    from harness.gate.check import GateSettings

    return GateSettings(alpha=args.alpha, max_drop=args.max_drop, min_score=args.min_score,
                        correction=args.correction, strict=args.strict,
                        max_error_rate=getattr(args, "max_error_rate", None),
                        min_pass_repeats=getattr(args, "min_pass_repeats", None))


def _write(path: Path | None, text: str) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def emit(result: CheckResult, args: argparse.Namespace) -> int:
    """Print the explanation and write every format asked for; return the exit code."""
    from harness.gate.formats import render_json, render_markdown, render_text
    from harness.gate.junit import render_junit

    print(render_text(result, max_items=args.max_items), end="")
    markdown = render_markdown(result, max_items=args.max_items)
    _write(args.summary, markdown)
    _write(args.json, render_json(result))
    _write(args.junit, render_junit(result))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    for flag, path in (("--summary", args.summary), ("--json", args.json),
                       ("--junit", args.junit)):
        if path is not None:
            print(f"{flag}: {path}", file=sys.stderr)
    return result.exit_code


def cmd_baseline(args: argparse.Namespace) -> int:
    from harness.gate.baseline import save_baseline

    path = save_baseline(args.run, args.to, max_output_chars=args.max_output_chars,
                         max_error_rate=args.max_error_rate)
    size = path.stat().st_size
    print(f"baseline saved: {path} ({size / 1024:.1f} KiB); commit it, then gate changes with:\n"
          f"  harness check <experiment.yaml> --baseline {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from harness.gate.baseline import Baseline
    from harness.gate.check import check_run
    from harness.stats.errors import StatsError

    settings = _settings(args)
    from harness.preflight import check_experiment_baseline, check_outputs

    running = not args.run and args.experiment is not None
    check_outputs({"--results-dir": args.results_dir if running else None,
                   "--reports-dir": args.reports_dir if running and not args.no_report else None},
                  {"--junit": args.junit, "--summary": args.summary, "--json": args.json})
    baseline = Baseline.load(args.baseline)
    if running:  # a foreign baseline is found before the experiment runs
        from harness.cli_options import run_overrides

        check_experiment_baseline(args.experiment, baseline, run_overrides(args))
    try:
        if args.run:
            if args.experiment is not None:
                print(f"--run given: checking {args.run}, not running {args.experiment}",
                      file=sys.stderr)
            if getattr(args, "sequential", False):
                raise GateInputError("--sequential decides while the experiment runs; it "
                                     "cannot be used with --run")
            return emit(check_run(args.run, baseline, settings), args)
        if args.experiment is None:
            raise GateInputError("give an experiment file to run, or --run results/<run-id> "
                                 "to check an existing run")
        from harness.api import run
        from harness.cli_options import run_overrides
        from harness.errors import ErrorRateExceeded, RunError

        monitor = None
        if getattr(args, "sequential", False):
            from harness.gate.sequential import monitor_factory

            monitor = monitor_factory(baseline, settings.alpha, settings.max_drop)
        try:
            samples = run(args.experiment, results_dir=args.results_dir, reports_dir=None,
                          quiet=args.quiet, monitor=monitor, **run_overrides(args))
        except ErrorRateExceeded as exc:
            # The run finished with many failed calls: judge what can be judged; the cells
            # with too many errors come out inconclusive (never a pass).
            print(f"harness: warning: {exc}", file=sys.stderr)
            from harness.results import load_run

            samples = load_run(exc.run_dir)
        except RunError as exc:
            if exc.exit_code == 130:  # Ctrl-C keeps its own status
                raise
            print(f"harness: error: nothing was checked, the run did not finish: {exc}",
                  file=sys.stderr)
            return exc.exit_code
        if not args.no_report:
            from harness.report import write_report

            report = write_report(Path(samples.attrs["run_dir"]), args.reports_dir,
                                  html=args.html, samples=samples)
            samples.attrs["report"] = str(report)
        result = check_run(samples, baseline, settings, sequential=monitor is not None)
        if monitor is not None:
            from harness.gate.sequential import apply_decision, say_stopped

            manifest = samples.attrs.get("manifest") or {}
            print(say_stopped(manifest))
            result = apply_decision(result, manifest)
        return emit(result, args)
    except StatsError as exc:
        raise GateInputError(str(exc)) from None


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.gate.check import compare_runs
    from harness.preflight import check_outputs
    from harness.stats.errors import StatsError

    check_outputs({}, {"--junit": args.junit, "--summary": args.summary, "--json": args.json})
    try:
        return emit(compare_runs(args.run_a, args.run_b, _settings(args),
                                 fail_on_regression=args.fail_on_regression), args)
    except StatsError as exc:
        raise GateInputError(str(exc)) from None


HANDLERS = {"baseline": cmd_baseline, "check": cmd_check, "compare": cmd_compare}


def run_command(args: argparse.Namespace) -> int:
    return HANDLERS[args.command](args)
