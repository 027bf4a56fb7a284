"""Each task's section of a report shows that task's statistics, not another task's."""

from __future__ import annotations

import pandas as pd

from harness.report.markdown import render_markdown


def test_each_task_section_has_its_own_comparisons() -> None:
    rows = []
    for task, rates in (("alpha", {"a": 0.9, "b": 0.2}), ("beta", {"a": 0.5, "b": 0.5})):
        for variant, rate in rates.items():
            for i in range(40):
                rows.append({"task": task, "model": "m", "variant": variant, "item_id": f"i{i}",
                             "sample_id": f"{task}/{variant}/{i}", "epoch": 0, "error": None,
                             "score_ok": float(i < rate * 40), "cluster": None, "output": "x",
                             "answer": "x", "target": "x", "incomplete": None,
                             "cost_usd": None, "input_tokens": 1, "output_tokens": 1,
                             "latency_s": 0.1, "cached": False, "finish_reason": "stop"})
    samples = pd.DataFrame(rows)
    manifest = {"run_id": "r", "config": {},
                "scorers": {t: [{"name": "ok", "kind": "binary"}] for t in ("alpha", "beta")}}
    samples.attrs = {"manifest": manifest}
    text = render_markdown(samples, manifest)
    alpha = text.split("## Task `alpha`")[1].split("## Task `beta`")[0]
    beta = text.split("## Task `beta`")[1]
    assert "### Statistics for `alpha`" in alpha and "`beta`" not in alpha
    assert "a beats b by 70.0 points" in alpha  # alpha's 90% vs 20%, not beta's tie
    assert "### Statistics for `beta`" in beta and "no difference" in beta
