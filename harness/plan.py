"""Expand an experiment into samples: tasks x variants x models x epochs.

Planning does everything that can fail without a model: it loads every task, selects
few-shot examples, retrieves context, and renders every prompt. A missing template variable or
a bad data row therefore stops the run before the first (paid) model call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import ExperimentConfig, ModelConfig, TaskConfig, VariantConfig, load_task
from harness.dataset import Item, load_items
from harness.errors import ConfigError, located, suggest
from harness.fewshot import ShotPlanner
from harness.fingerprint import digest, fingerprint
from harness.parsers import Parse, build_parser
from harness.paths import (
    cache_root,
    confine,
    key_error,
    project_roots,
    resolve_task,
    search_dirs,
)
from harness.plan_retrieval import Retrieved, format_context, retrieve
from harness.prompt_format import format_params
from harness.prompting import (
    PromptTemplate,
    load_template,
    render_messages,
    resolve_template,
    template_names,
)
from harness.schedule import interleave, schedule_window
from harness.scoring.registry import ScorerSpec
from harness.templating import render_session


@dataclass(frozen=True)
class Sample:
    """One model call to make: everything needed to call, score and record it."""

    sample_id: str
    task: str
    variant: str
    model: str
    epoch: int
    item: Item
    messages: tuple[dict[str, str], ...]
    params: dict[str, Any]
    retrieved: tuple[Retrieved, ...] = ()
    # What the call sends and how it is scored (harness.fingerprint), and the short hashes of
    # its ingredients, which explain a changed fingerprint.
    fingerprint: str = ""
    parts: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class TaskPlan:
    config: TaskConfig
    items: list[Item]
    scorers: list[ScorerSpec]  # built into scorers by the scoring stage (harness.scoring)


@dataclass
class VariantPlan:
    config: VariantConfig
    template: PromptTemplate
    reasoning: bool
    parsers: dict[str, Parse]  # per task: the task's chain, or the variant's override
    parser_steps: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)


@dataclass
class Plan:
    experiment: ExperimentConfig
    tasks: dict[str, TaskPlan]
    variants: dict[str, VariantPlan]
    models: dict[str, ModelConfig]
    samples: list[Sample]

    def score(self, sample: Sample, output: str) -> tuple[str | None, dict[str, float | None]]:
        """Parse the raw output into an answer, and score it with every scorer of the task
        (through the scoring stage, as a run does); raises what a parser or scorer raised."""
        from harness.scoring.record import SampleRecord
        from harness.scoring.stage import ScoringStage

        record = SampleRecord(run_id="", sample_id=sample.sample_id, task=sample.task,
                              variant=sample.variant, model=sample.model,
                              model_id=self.models[sample.model].model,
                              item_id=sample.item.id, epoch=sample.epoch,
                              input=sample.item.input, target=sample.item.target,
                              messages=sample.messages, output=output,
                              fields=dict(sample.item.fields))
        scored = ScoringStage.for_plan(self).score_sync(record)
        if scored.error is not None:
            raise ValueError(scored.error)
        return scored.answer, scored.scores


Embed = Callable[[Sequence[str]], Any]


def sample_id(task: str, variant: str, model: str, item_id: str, epoch: int) -> str:
    key = "\x1f".join((task, variant, model, item_id, str(epoch)))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def _default_embed() -> Embed:
    from harness.retrieval import get_embedder

    return get_embedder().embed


def _task_names(base: Path) -> list[str]:
    return sorted({p.parent.name for d in search_dirs(base, "tasks") if d.is_dir()
                   for p in d.glob("*/task.yaml")})


TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")


def confine_task_files(config: TaskConfig, roots: tuple[Path, ...]) -> None:
    """Every file a task names (its splits, few-shot pool included, and its corpus) must lie
    inside the project (see ``harness.paths.confine``)."""
    for split in config.data:
        confine(config.data_path(split), roots, file=config.source, key=("data", split))
    if config.corpus is not None:
        confine(config.resolve(config.corpus.path), roots, file=config.source,
                key=("corpus", "path"))


def _load_task(reference: str, base: Path, limit: int | None, *, roots: tuple[Path, ...],
               source: Path, index: int, where: dict[str, Any]) -> TaskPlan:
    try:
        path = resolve_task(reference, base)
    except ConfigError as exc:
        raise located(suggest(exc, reference, _task_names(base)), where) from None
    path = confine(path, roots, file=source, key=("tasks", index))
    config = load_task(path)
    confine_task_files(config, roots)
    items = load_items(config, config.eval_split)
    if limit is not None:
        items = items[:limit]
    if not items:
        raise ConfigError(f"split '{config.eval_split}' has no items", file=config.source)
    from harness.scoring.stage import task_specs

    return TaskPlan(config=config, items=items, scorers=task_specs(config))


def template_path(config: VariantConfig, index: int, base: Path, roots: tuple[Path, ...],
                  source: Path) -> Path:
    """A library name, or a path to a template file inside the project."""
    key = ("variants", index, "template")
    named = Path(config.template)
    if ("/" in config.template or named.suffix) and named.suffix not in TEMPLATE_SUFFIXES:
        raise key_error(f"'{config.template}' is not a template file: give a library name or "
                        f"a path ending in {', '.join(TEMPLATE_SUFFIXES)}", file=source, key=key)
    try:
        path = resolve_template(config.template, base)
    except ConfigError as exc:
        if exc.file is not None:
            raise
        hinted = suggest(exc, config.template, template_names(base))
        raise key_error(hinted.message, file=source, key=key) from None
    if "/" in config.template or named.suffix:
        confine(path, roots, file=source, key=key)
    return path


def _variant(config: VariantConfig, tasks: dict[str, TaskPlan], template: Path) -> VariantPlan:
    template = load_template(template)
    reasoning = template.reasoning if config.reasoning is None else config.reasoning
    parsers: dict[str, Parse] = {}
    chains: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, task in tasks.items():
        steps = [(s.name, s.args) for s in (config.parser or task.config.parser)]
        if reasoning and (not steps or steps[0][0] != "answer_is"):
            steps.insert(0, ("answer_is", {}))
        parsers[name] = build_parser(steps, task.config.choices or ())
        chains[name] = steps
    return VariantPlan(config=config, template=template, reasoning=reasoning, parsers=parsers,
                       parser_steps=chains)


def _params(experiment: ExperimentConfig, model: ModelConfig, variant: VariantConfig) -> dict:
    params: dict[str, Any] = {
        "temperature": experiment.temperature if model.temperature is None else model.temperature,
        "max_tokens": variant.max_tokens or model.max_tokens or experiment.max_tokens,
    }
    params.update(model.params)
    return params


def load_tasks_and_variants(
    experiment: ExperimentConfig, items: Collection[str] | None = None,
) -> tuple[dict[str, TaskPlan], dict[str, VariantPlan]]:
    """Every task (its items, scorers) and variant (template, parser chains) of an experiment:
    what scoring needs, without rendering or retrieving anything."""
    base = experiment.source.parent
    roots = project_roots(experiment.source)
    tasks: dict[str, TaskPlan] = {}
    for index, reference in enumerate(experiment.tasks):
        plan = _load_task(reference, base, experiment.limit, roots=roots,
                          source=experiment.source, index=index,
                          where=experiment.locate("tasks", index))
        if items is not None:
            plan.items = [item for item in plan.items if item.id in items]
        if plan.config.name in tasks:
            raise ConfigError(f"task '{plan.config.name}' is listed twice; remove one",
                              **experiment.locate("tasks", index))
        tasks[plan.config.name] = plan
    if experiment.judges:  # the experiment's judges grade its tasks (harness.judges)
        from harness.judges.scorer_type import with_judges

        for name, task in tasks.items():
            task.scorers = with_judges(experiment, name, task.scorers)
    variants = {
        v.name: _variant(v, tasks, template_path(v, n, base, roots, experiment.source))
        for n, v in enumerate(experiment.variants)
    }
    return tasks, variants


@dataclass(frozen=True)
class _Cell:
    """What every item of one task x variant shares when its prompts are rendered."""

    task: TaskPlan
    variant: VariantPlan
    chosen: dict[str, Any]  # item id -> its few-shot examples
    retrieved: dict[str, list[Retrieved]]
    titles: dict[str, str]
    task_context: dict[str, Any]
    common: dict[str, str]  # the fingerprint parts every item of the cell has (scoring too)
    params: dict[str, dict[str, Any]]  # model label -> generation parameters


def _item_samples(cell: _Cell, item: Item, fields: dict[str, str],
                  models: dict[str, ModelConfig], epochs: int) -> list[Sample]:
    """Render one item's prompt under the cell's variant; a sample per model and epoch."""
    task, variant = cell.task, cell.variant
    hits = tuple(cell.retrieved.get(item.id, ()))
    context = {
        "input": item.input,
        "item": item.fields,
        "shots": [{"input": s.input, "target": s.target, "rationale": s.rationale,
                   "item": s.fields} for s in cell.chosen[item.id]],
        "documents": [{"id": h.doc_id, "title": cell.titles.get(h.doc_id), "text": h.text,
                       "score": h.score} for h in hits],
        "context": format_context(hits, cell.titles),
        "task": cell.task_context,
        "reasoning": variant.reasoning,
        "system": variant.config.system,
        "vars": variant.config.vars,
    }
    where = f"task {task.config.name}, variant {variant.config.name}, item {item.id}"
    messages = tuple(render_messages(variant.template, context, where=where))
    sent = digest(list(messages), 64)
    item_parts = {
        **cell.common,
        "shots": digest(context["shots"]) if context["shots"] else "",
        "context": digest([context["documents"], context["context"]]) if hits else "",
        "fields": fields,
    }
    out = []
    for model in models.values():
        model_params = cell.params[model.label]
        parts = {**item_parts, "params": digest([model.model, model_params])}
        print_ = fingerprint(sent, model.model, model_params, cell.common["scoring"],
                             item.target)
        out += [Sample(sample_id=sample_id(task.config.name, variant.config.name, model.label,
                                           item.id, epoch),
                       task=task.config.name, variant=variant.config.name, model=model.label,
                       epoch=epoch, item=item, messages=messages, params=model_params,
                       retrieved=hits, fingerprint=print_, parts=parts)
                for epoch in range(epochs)]
    return out


def build_plan(
    experiment: ExperimentConfig, *, embed: Callable[[], Embed] | None = None,
    items: Collection[str] | None = None,
) -> Plan:
    """Load, select, retrieve and render everything the run will send.

    ``items`` keeps only those item ids (``harness render`` shows one item without retrieving
    for all of them); every item's shots and documents depend on that item alone, so they
    come out as in the whole plan.
    """
    tasks, variants = load_tasks_and_variants(experiment, items)
    models = {m.label: m for m in experiment.models}
    index_dir = cache_root(experiment.cache_dir) / "indexes"
    samples: list[Sample] = []
    corpora: dict[str, tuple[list[Any], dict[str, str]]] = {}
    searches: dict[tuple[Any, ...], tuple[dict[str, list[Retrieved]], dict[str, str]]] = {}
    for task in tasks.values():
        shots = ShotPlanner(task, experiment.seed, embed or _default_embed, experiment)
        task_context = {
            "name": task.config.name,
            "description": task.config.description,
            "instructions": task.config.instructions,
            "answer_format": task.config.answer_format,
            "choices": task.config.choices or [],
        }
        task_part = digest([task_context, task.config.input, task.config.target,
                            task.config.rationale])
        scorer_steps = [(s.name, s.args) for s in task.config.scorers]
        fields = {item.id: {str(k): digest(v) for k, v in item.fields.items()}  # per item
                  for item in task.items}
        for index, variant in enumerate(variants.values()):
            if variant.config.rag and task.config.corpus is None:
                raise ConfigError(
                    f"rag: on, but task '{task.config.name}' ({task.config.source}) has no "
                    "corpus to retrieve from; add corpus: to the task, or set rag: off",
                    **experiment.locate("variants", index, "rag"))
            chosen = shots.for_items(variant.config)
            retrieved, titles = ({}, {})
            if variant.config.rag:
                retrieved, titles = retrieve(task, variant.config, index_dir, corpora,
                                              searches)
            params = {label: {**_params(experiment, model, variant.config),
                              **format_params(variant.template, model)}
                      for label, model in models.items()}
            scoring = digest([variant.parser_steps[task.config.name], task.config.choices,
                              scorer_steps, experiment.incomplete_answers])
            common = {
                "template": digest(variant.template.source),
                "variant": digest([variant.config.system, variant.config.vars,
                                   variant.reasoning]),
                "task": task_part,
                "scoring": scoring,
            }
            cell = _Cell(task=task, variant=variant, chosen=chosen, retrieved=retrieved,
                         titles=titles, task_context=task_context, common=common,
                         params=params)
            with render_session():  # a prompt per item: one armed timer for all
                for item in task.items:
                    samples += _item_samples(cell, item, fields[item.id], models,
                                             experiment.epochs)
    samples = interleave(samples, seed=experiment.seed, window=schedule_window(models))
    return Plan(experiment=experiment, tasks=tasks, variants=variants, models=models,
                samples=samples)
