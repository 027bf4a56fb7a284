"""``harness render``: the exact messages one item gets under one variant, before any call."""

from __future__ import annotations

import json
from pathlib import Path

from harness.config import TaskConfig, load_experiment
from harness.errors import ConfigError


def render_item(
    experiment_path: Path, *, variant: str, item: str, task: str | None = None,
    as_json: bool = False,
) -> str:
    from harness.config import load_task
    from harness.paths import confine, project_roots, resolve_task
    from harness.plan import build_plan, confine_task_files, template_path

    experiment = load_experiment(experiment_path)
    variants = {v.name: v for v in experiment.variants}
    if variant not in variants:
        raise ConfigError(f"no variant '{variant}' in {experiment_path} "
                          f"(variants: {', '.join(variants)})")
    base = experiment.source.parent
    roots = project_roots(experiment.source)
    task_configs = {ref: load_task(confine(resolve_task(ref, base), roots,
                                           file=experiment.source, key=("tasks", n)))
                    for n, ref in enumerate(experiment.tasks)}
    for config in task_configs.values():  # before _item_id reads the data
        confine_task_files(config, roots)
    index = [v.name for v in experiment.variants].index(variant)  # errors name the file's key
    template_path(variants[variant], index, base, roots, experiment.source)
    task_refs = {config.name: ref for ref, config in task_configs.items()}
    if task is None:
        task = next(iter(task_refs))
    if task not in task_refs:
        raise ConfigError(f"no task '{task}' in {experiment_path} (tasks: {', '.join(task_refs)})")
    narrowed = experiment.model_copy(update={
        "variants": [variants[variant]],
        "tasks": [task_refs[task]],
        "models": experiment.models[:1],
        "epochs": 1,
        "limit": None,
    })
    item_id = _item_id(task_configs[task_refs[task]], item, task)
    chosen = build_plan(narrowed, items={item_id}).samples[0]
    if as_json:
        return json.dumps(list(chosen.messages), indent=2, ensure_ascii=False)
    lines = [f"# task {task} · variant {variant} · item {chosen.item.id} · "
             f"target {chosen.item.target!r}"]
    for message in chosen.messages:
        lines.append(f"\n── {message['role']} " + "─" * 40)
        lines.append(message["content"])
    if chosen.retrieved:
        lines.append("\n── retrieved " + "─" * 36)
        lines += [f"{h.doc_id} ({h.chunk_id}) score={h.score:.3f}" for h in chosen.retrieved]
    return "\n".join(lines)


def _item_id(config: TaskConfig, item: str, task: str) -> str:
    """The id of the item named by id or by 0-based position in the evaluated split."""
    from harness.dataset import load_items

    ids = [i.id for i in load_items(config, config.eval_split)]
    if item in ids:
        return item
    if item.isdigit() and int(item) < len(ids):
        return ids[int(item)]
    raise ConfigError(f"no item '{item}' in task '{task}' ({len(ids)} items; give an id "
                      "or a 0-based position)")
