"""What a LoRA adapter was trained on, and the check that it is not evaluated on it.

A fine-tuned adapter scored on items it was trained on reports memory, not skill, and looks
like a clear win in the paired table. The training script writes ``harness_training.json``
into the adapter folder: the task, the split, each training item's id and a hash of its
normalised input text. Before a run, every evaluation item of every task is checked against
it: by id when the record is for the same task, and by input text always (a copy of an item
under another id, or in another task, is the same question). Any overlap refuses the run,
naming the items. An adapter without the record is run with a warning that nothing could be
checked.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.plan import Plan

RECORD = "harness_training.json"
_SHOWN = 10


def normalise(text: str) -> str:
    """Case and runs of white space do not make another question."""
    return " ".join(str(text).split()).casefold()


def input_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:32]


def write_training_record(folder: Path, *, task: str, split: str,
                          items: Iterable[tuple[str, str]], extra: dict[str, Any] | None = None
                          ) -> Path:
    """Record ``(id, input text)`` of every training item in the adapter folder."""
    pairs = list(items)
    record = {
        "task": task,
        "split": split,
        "ids": [str(i) for i, _ in pairs],
        "input_sha256": [input_hash(text) for _, text in pairs],
        "normalisation": "white space collapsed, casefolded, SHA-256 (first 32 hex digits)",
        **(extra or {}),
    }
    path = Path(folder) / RECORD
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def read_training_record(folder: Path) -> dict[str, Any] | None:
    """The record, or None when the folder has none; a malformed one is a ConfigError."""
    path = Path(folder) / RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable training record ({exc}); retrain the adapter or delete "
                          "the file", file=path) from None
    if not isinstance(record, dict) or not isinstance(record.get("ids"), list) \
            or not isinstance(record.get("input_sha256"), list):
        raise ConfigError("training record needs lists 'ids' and 'input_sha256'; retrain the "
                          "adapter or delete the file", file=path)
    return record


def overlapping(record: dict[str, Any], task: str, items: Iterable[tuple[str, str]]) -> list[str]:
    """Ids of the evaluation items ``(id, input)`` that the record says were trained on."""
    same_task = record.get("task") in (None, task)
    ids = {str(i) for i in record["ids"]} if same_task else set()
    hashes = set(record["input_sha256"])
    return [item_id for item_id, text in items
            if item_id in ids or input_hash(text) in hashes]


def check_overlap(plan: Plan, *, warn: bool = True) -> None:
    """Refuse a run that evaluates an adapter on items of its own training data."""
    experiment = plan.experiment
    for index, model in enumerate(experiment.models):
        if not model.adapter:
            continue
        from harness.models.hf_adapters import adapter_path

        folder = adapter_path(model.adapter)
        record = read_training_record(folder)
        if record is None:
            if warn:
                print(f"harness: warning: adapter {folder} has no {RECORD}: cannot check that "
                      "it was not trained on the evaluation items", file=sys.stderr)
            continue
        for name, task in plan.tasks.items():
            found = overlapping(record, name, ((i.id, i.input) for i in task.items))
            if found:
                shown = ", ".join(found[:_SHOWN])
                more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
                raise ConfigError(
                    f"adapter {folder} was trained on {len(found)} evaluation item(s) of task "
                    f"'{name}' (by {RECORD}): {shown}{more}; evaluate on items outside its "
                    "training data, or retrain it without them",
                    **experiment.locate("models", index, "adapter"))
