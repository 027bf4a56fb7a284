"""Reports a reviewer reads: ``reports/<run-id>.md`` (and an HTML twin on request)."""

from __future__ import annotations

from pathlib import Path


def write_report(run_dir: Path, reports_dir: str | Path = "reports", *, html: bool = False) -> Path:
    """(Re)write the markdown report of a run; return its path."""
    from harness.report.markdown import render_markdown
    from harness.results import load_run

    samples = load_run(run_dir)
    manifest = samples.attrs["manifest"]
    out_dir = Path(reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{manifest['run_id']}.md"
    path.write_text(render_markdown(samples, manifest), encoding="utf-8")
    return path
