"""Every shipped task validates, and every shipped experiment plans (all prompts render)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_experiment, load_task
from harness.dataset import load_items
from harness.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]
TASKS = sorted(p.parent for p in (ROOT / "tasks").glob("*/task.yaml"))
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def test_the_five_tasks_ship() -> None:
    names = {p.name for p in TASKS}
    assert {"arithmetic", "sentiment", "kb-qa", "extraction", "multiple-choice"} <= names


@pytest.mark.parametrize("folder", TASKS, ids=lambda p: p.name)
def test_task_validates_and_loads(folder: Path) -> None:
    task = load_task(folder)
    assert task.name == folder.name
    items = load_items(task, task.eval_split)
    assert len(items) >= 200
    assert task.fewshot_split, "every shipped task has a few-shot split"
    pool = load_items(task, task.fewshot_split)
    assert pool and all(shot.rationale for shot in pool)
    assert not {i.id for i in items} & {s.id for s in pool}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_plans(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    experiment = load_experiment(path)
    plan = build_plan(experiment.model_copy(update={"limit": 5}))
    expected = len(experiment.variants) * len(experiment.models) * len(plan.tasks) * 5
    assert len(plan.samples) == expected * experiment.epochs
    for sample in plan.samples:
        assert sample.messages[-1]["role"] == "user"
        assert sample.item.input in sample.messages[-1]["content"]
        if plan.variants[sample.variant].config.rag:
            assert len(sample.retrieved) == plan.variants[sample.variant].config.k
            assert "Context:" in sample.messages[-1]["content"]
