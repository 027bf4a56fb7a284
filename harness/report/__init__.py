"""Reports a reviewer reads: ``reports/<run-id>.md`` (and an HTML twin on request)."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


# What writing a report imports: pandas and scipy.special (the statistics' distributions), about
# half a second on a quiet 2-core machine.
REPORT_MODULES = ("pandas", "scipy.special", "harness.analysis", "harness.report.markdown",
                  "harness.report.plots")


PREFETCH_CHECK_S = 0.2
"""How long the prefetch thread watches the process before each decision to import or wait."""

PREFETCH_BUSY_BELOW = 0.5
"""The prefetch imports only while the process used less than this share of one core."""


def prefetch_modules() -> None:
    """Import what :func:`write_report` needs, in a background thread, while a run waits on
    the network; the report at the end then starts at once.

    Only while the process is mostly idle: the thread's imports hold the GIL in turns with the
    event loop, so beside a model that answers at once they slow the answers by more than they
    save (3,000 requests at 0 ms: 2.49 s against 2.41 s without, and a 10 MB higher peak). The
    thread sleeps, measures the process's CPU time over the sleep, and imports at the first
    quiet interval; it stops once the report's modules are imported (by the report itself, when
    the run never went quiet).
    """
    import importlib
    import threading

    def quiet() -> bool:
        while True:
            wall, cpu = time.perf_counter(), time.process_time()
            time.sleep(PREFETCH_CHECK_S)
            if all(name in sys.modules for name in REPORT_MODULES):
                return False
            used = (time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9)
            if used < PREFETCH_BUSY_BELOW:
                return True

    def load() -> None:
        if not quiet():
            return
        for name in REPORT_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # the report will raise it again, where it can be reported
                return

    threading.Thread(target=load, name="harness-report-imports", daemon=True).start()


def write_report(
    run_dir: Path, reports_dir: str | Path = "reports", *, html: bool = False,
    samples: pd.DataFrame | None = None,
) -> Path:
    """(Re)write the markdown report of a run, its figures and, with ``html``, the HTML twin.

    Figures go to ``reports/<run-id>/*.svg`` and are linked relatively; the HTML file
    (``reports/<run-id>.html``) is made from the same markdown. ``samples``: the run as
    :func:`harness.results.load_run` returned it, when the caller has it already. Returns the
    markdown's path.
    """
    from harness.report.markdown import render_markdown, report_tables
    from harness.report.operations import operations
    from harness.report.plots import write_plots
    from harness.results import load_run

    if samples is None:
        samples = load_run(run_dir)
    manifest = samples.attrs["manifest"]
    # pandas deep-copies ``attrs`` into every frame an operation returns; the statistics read
    # only the scorers from the manifest, so the report works on a frame that carries just
    # those (the whole manifest cost ~0.2 s of copies in a 3,000-sample report).
    samples = samples.copy(deep=False)
    samples.attrs = {"manifest": {"scorers": manifest.get("scorers", {}),
                                  **{k: manifest[k] for k in ("factors", "factor_levels")
                                     if k in manifest}}}  # a sweep's design, for its effects
    run_id = manifest["run_id"]
    out_dir = Path(reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, list[tuple[str, str]]] = {}
    computed, ops = None, None
    if not samples.empty:  # the statistics once, for the sections and the figures alike
        import pandas as pd

        computed, ops = report_tables(samples), operations(samples)
        table = pd.concat([t.summary for t in computed.values()], ignore_index=True)
        try:
            drawn = write_plots(samples, out_dir / run_id, table=table, ops=ops)
        except Exception as exc:  # a figure must never cost the report of a finished run
            warnings.warn(f"report figures could not be drawn: {exc}", stacklevel=2)
            drawn = {}
        figures = {task: [(caption, f"{run_id}/{svg.name}") for caption, svg in svgs]
                   for task, svgs in drawn.items()}
    from harness.redaction import redact
    from harness.report.judge_data import load_judge_data

    judges = load_judge_data(run_dir)
    text = redact(render_markdown(samples, manifest, figures=figures, judges=judges,
                                  computed=computed, ops=ops))
    path = out_dir / f"{run_id}.md"
    # A lone surrogate in a model's output (kept as is in samples.jsonl) cannot be UTF-8; the
    # report shows it as its escape, "\\ud800", rather than failing to be written.
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    if html:
        from harness.report.html import render_html

        page = render_html(text, samples, image_root=out_dir, title=f"Run {run_id}")
        path.with_suffix(".html").write_text(redact(page), encoding="utf-8",
                                             errors="backslashreplace")
    return path
