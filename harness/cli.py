"""The ``harness`` command: a thin layer over the Python API.

Start-up stays instant: this module imports only the standard library; each command imports
what it needs when it runs. Errors a user can fix print one line and exit 2 (bad input) or 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

EPILOG = """examples:
  harness run experiments/quickstart.yaml
  harness run my.yaml --limit 20 --model openai/gpt-4o-mini
  harness render my.yaml --variant cot --item 3
  harness report results/<run-id>
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Compare prompt strategies with statistics you can trust.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run an experiment and write results and a report")
    run.add_argument("experiment", type=Path, help="experiment YAML file")
    run.add_argument("--limit", type=int, help="evaluate only the first N items of each task")
    run.add_argument("--model", action="append", dest="models", metavar="MODEL",
                     help="LiteLLM model string replacing the file's models (repeatable)")
    run.add_argument("--epochs", type=int, help="samples per item (repeats)")
    run.add_argument("--seed", type=int, help="seed for few-shot selection")
    run.add_argument("--concurrency", type=int, help="requests in flight at once")
    run.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--cache-dir", help="response cache folder (default ~/.cache/prompt-harness)")
    run.add_argument("--max-error-rate", type=float,
                     help="exit 1 when more than this share of samples fail (default 0.1)")
    run.add_argument("--max-cost-usd", type=float, help="stop (resumably) when spent")
    run.add_argument("--results-dir", type=Path, default=Path("results"))
    run.add_argument("--reports-dir", type=Path, default=Path("reports"))
    run.add_argument("--quiet", action="store_true", help="no progress output")

    render = sub.add_parser("render", help="show the exact messages a model would receive")
    render.add_argument("experiment", type=Path)
    render.add_argument("--variant", required=True, help="variant name from the experiment")
    render.add_argument("--item", required=True,
                        help="item id, or its 0-based position in the evaluated split")
    render.add_argument("--task", help="task name (default: the experiment's first task)")
    render.add_argument("--json", action="store_true", help="print the messages as JSON")

    report = sub.add_parser("report", help="(re)write reports/<run-id>.md for a run")
    report.add_argument("run", help="run folder or run id")
    report.add_argument("--reports-dir", type=Path, default=Path("reports"))
    report.add_argument("--html", action="store_true", help="also write a self-contained HTML")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.api import run
    from harness.report.console import summary_table

    samples = run(
        args.experiment,
        resume=args.resume,
        results_dir=args.results_dir,
        reports_dir=args.reports_dir,
        quiet=args.quiet,
        limit=args.limit,
        models=args.models,
        epochs=args.epochs,
        seed=args.seed,
        concurrency=args.concurrency,
        max_error_rate=args.max_error_rate,
        max_cost_usd=args.max_cost_usd,
        cache=False if args.no_cache else None,
        cache_dir=args.cache_dir,
    )
    print(summary_table(samples))
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
    return 0


COMMANDS = {"run": _cmd_run, "render": _cmd_render, "report": _cmd_report}


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
    from harness.errors import HarnessError

    try:
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
