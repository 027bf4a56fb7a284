"""The checks a built plan passes before its first call.

Kept apart from :mod:`harness.preflight` (which checks the experiment file before anything is
planned): these need the rendered plan, its templates, items and retrieved passages.
"""

from __future__ import annotations

from typing import Any


def check_plan(plan: Any, *, warn: bool = True, judges: bool = False) -> None:
    """Before any call: each template's format suits each model (a chat template is refused
    for a base model), no adapter is evaluated on its own training items, and (``judges``)
    the judges the task files name have their keys. The run names a RAG variant's items that
    retrieved nothing later (``harness.plan_retrieval.warn_empty_contexts``), after the budget
    check too, so a refused run prints its error alone."""
    from harness.adapter_data import check_overlap
    from harness.preflight_judges import check_task_judges
    from harness.prompt_format import check_formats

    check_formats(plan, warn=warn)
    check_overlap(plan, warn=warn)
    if judges:
        check_task_judges(plan)
