"""Every arm against every other: prompting strategies and the LoRA adapter in one table.

    .venv/bin/python examples/lora/compare_arms.py results/<run-id> [--out report.md]

``harness report`` compares variants within each model and models within each variant; the
seed question ("prompting, retrieval or fine-tuning?") also needs the cross pairs, such as the
adapter answering zero-shot against the base model shown examples. So each (model, variant)
cell of the run becomes one arm, and ``harness.compare`` runs its paired tests (McNemar's
exact test on the items both arms scored, Holm-adjusted across the whole table) over all of
them. Nothing is re-run: it reads the run folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402


def arm_name(model: str, variant: str) -> str:
    """``base zero-shot``, ``LoRA <folder> few-shot``..."""
    if "+" in model:
        return f"LoRA {model.split('+', 1)[1]}, {variant}"
    return f"base, {variant}"


def arms(samples: pd.DataFrame) -> pd.DataFrame:
    """The run with each (model, variant) cell as a variant of one pseudo-model."""
    frame = samples.copy()
    frame["variant"] = [arm_name(m, v) for m, v in zip(frame["model"], frame["variant"],
                                                          strict=True)]
    frame["model"] = "all arms"
    return frame


def markdown(samples: pd.DataFrame, run: Path) -> str:
    frame = arms(samples)
    summary = harness.summary(frame)
    table = harness.compare(frame)
    lines = [f"# Every arm against every other: {run.name}", "",
             "Each (model, variant) cell of the run is one arm; paired tests on the items both "
             "arms scored, Holm-adjusted across all pairs of the table.", "",
             "| arm | score % | 95% CI | n |", "| --- | --- | --- | --- |"]
    for row in summary.itertuples():
        lines.append(f"| {row.variant} | {100 * row.mean:.1f} | "
                     f"[{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}] | {row.n} |")
    lines += ["", "| a | b | a - b (points) | 95% CI | discordant (a only / b only) | test | "
              "p | p adj. (Holm) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in table.itertuples():
        lines.append(
            f"| {row.a} | {row.b} | {100 * row.diff:+.1f} | [{100 * row.ci_low:+.1f}, "
            f"{100 * row.ci_high:+.1f}] | {row.discordant_a_only} / {row.discordant_b_only} | "
            f"{row.test} | {row.p_value:.3g} | {row.p_adjusted:.3g} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    text = markdown(harness.load_run(args.run), args.run)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
