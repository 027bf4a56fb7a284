"""The typed sample record: the one place that defines what a finished sample holds.

A run writes one JSON line per sample (``samples.jsonl``); this is its schema. Scorers receive
a :class:`SampleRecord`, never the raw dict, so a field a scorer reads is a field the schema
documents. ``SCHEMA_VERSION`` rises whenever a field changes meaning or is removed (adding a
field keeps the version); records written before versioning read as version 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk as the model saw it: RAG metrics need its text, not only its id."""

    doc_id: str
    chunk_id: str
    score: float
    text: str = ""


@dataclass(frozen=True)
class SampleRecord:
    """One model call of a run and everything needed to score it again.

    ``output`` is the raw text the model returned (None when the call failed: ``error`` says
    why); ``answer`` is what the task's parser extracted from it under the scoring that wrote
    the record. ``fields`` are the dataset row's own fields (what templates read as ``item.*``).
    """

    run_id: str
    sample_id: str
    task: str
    variant: str
    model: str
    model_id: str
    item_id: str
    epoch: int
    input: str
    target: str
    messages: tuple[dict[str, str], ...] = ()
    output: str | None = None
    answer: str | None = None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    retrieved: tuple[Passage, ...] = ()
    gold_docs: tuple[str, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)
    cluster: str | None = None
    error: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def answered(self) -> bool:
        """The call returned text that may be scored (a failed call never is)."""
        return self.error is None and self.output is not None

    @property
    def context(self) -> str:
        """The retrieved passages' text as the prompt held them, one per paragraph."""
        return "\n\n".join(p.text for p in self.retrieved if p.text)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleRecord:
        """A record read back from ``samples.jsonl`` (any schema version; missing fields take
        their defaults, unknown ones are ignored so older readers survive newer files)."""
        passages = tuple(
            Passage(doc_id=str(p.get("doc_id", "")), chunk_id=str(p.get("chunk_id", "")),
                    score=float(p.get("score") or 0.0), text=str(p.get("text") or ""))
            for p in data.get("retrieved") or ())
        return cls(
            run_id=str(data.get("run_id", "")),
            sample_id=str(data["sample_id"]),
            task=str(data["task"]),
            variant=str(data["variant"]),
            model=str(data["model"]),
            model_id=str(data.get("model_id") or data["model"]),
            item_id=str(data["item_id"]),
            epoch=int(data.get("epoch") or 0),
            input=str(data.get("input") or ""),
            target=str(data.get("target") or ""),
            messages=tuple(data.get("messages") or ()),
            output=data.get("output"),
            answer=data.get("answer"),
            finish_reason=data.get("finish_reason"),
            input_tokens=data.get("input_tokens"),
            output_tokens=data.get("output_tokens"),
            retrieved=passages,
            gold_docs=tuple(data.get("gold_docs") or ()),
            fields=dict(data.get("fields") or {}),
            cluster=data.get("cluster"),
            error=data.get("error"),
            schema_version=int(data.get("schema_version") or 1),
        )
