"""The task file: a dataset, how its rows become prompts and targets, and how answers are scored.

Modelled on lm-evaluation-harness's YAML tasks: Jinja2 fields turn a row into the text the model
sees (``input``) and the gold answer (``target``); answer extraction is a chain of filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.config.validation import Located, NoBoolNumbers, validate
from harness.config.yaml_lines import KeyPath, dotted, line_for, load_yaml


class Step(NoBoolNumbers):
    """One parser or scorer: a registered name plus its arguments, written beside the name."""

    model_config = ConfigDict(extra="allow")

    name: str

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _listify(value: Any) -> Any:
    """A single step may be written without the list around it."""
    return [value] if isinstance(value, (str, dict)) else value


def _named_scorer(value: Any) -> Any:
    """``{function: grading:fluency}`` is named after its function unless it says ``name:``."""
    if isinstance(value, dict) and "name" not in value and isinstance(value.get("function"),
                                                                      str):
        return {"name": value["function"].rpartition(":")[2].rpartition(".")[2], **value}
    return value


def _known_parsers(steps: list[Step]) -> list[Step]:
    from harness.parsers import check_step

    for step in steps:
        check_step(step.name, step.args)
    return steps


# An answer-extraction chain, checked when the file loads (a task's, or a variant's override).
ParserChain = Annotated[list[Step], BeforeValidator(_listify), AfterValidator(_known_parsers)]


class CorpusConfig(NoBoolNumbers):
    """The documents a RAG variant retrieves from."""

    model_config = ConfigDict(extra="forbid")

    path: str
    id_field: str = "id"
    text_field: str = "text"
    title_field: str | None = None


class TaskConfig(NoBoolNumbers):
    """A task as written in ``tasks/<name>/task.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    data: dict[str, str] = Field(min_length=1)
    eval_split: str = "test"
    fewshot_split: str | None = None
    id_field: str = "id"
    input: str
    target: str
    rationale: str | None = None
    instructions: str = ""
    answer_format: str = ""
    choices: list[str] | None = None
    parser: ParserChain = Field(default_factory=lambda: [Step(name="strip")])
    scorers: list[Step] = Field(default_factory=lambda: [Step(name="exact_match")], min_length=1)
    cluster_field: str | None = None
    corpus: CorpusConfig | None = None
    gold_docs_field: str | None = None
    # Human-labelled rows {id, input, output, target?, context?, label} that the experiment's
    # judges grade too, to measure them (harness.judges.calibration).
    calibration: str | None = None

    # The folder the task file sits in: data paths are relative to it.
    root: Path = Field(default=Path("."), exclude=True)
    source: Path = Field(default=Path("task.yaml"), exclude=True)
    _lines: dict[KeyPath, int] = PrivateAttr(default_factory=dict)  # set by load_task

    @field_validator("scorers", mode="before")
    @classmethod
    def _listify_scorers(cls, value: Any) -> Any:
        value = _listify(value)
        return [_named_scorer(v) for v in value] if isinstance(value, list) else value

    @field_validator("scorers")
    @classmethod
    def _known_scorers(cls, steps: list[Step], info: ValidationInfo) -> list[Step]:
        from harness.scoring.registry import check_spec, spec_from_entry

        file = Path((info.context or {}).get("file") or "task.yaml")
        names: list[str] = []
        for index, step in enumerate(steps):
            try:
                spec = spec_from_entry(step.name, step.args)
            except ValueError as exc:
                raise Located(str(exc), (index,)) from None
            if spec.name == "details":  # its column would be the record's score_details
                raise Located("a scorer may not be named 'details' (the samples' "
                              "score_details field holds every scorer's explanations); rename "
                              "it", (index,))
            if spec.name in names:
                raise Located(f"scorer '{spec.name}' is listed twice; each scorer may appear "
                              "once", (index,))
            names.append(spec.name)
            try:
                check_spec(spec, file)
            except ValueError as exc:
                key = "function" if spec.type == "python" and "function" in step.args else None
                raise Located(str(exc), (index, key) if key else (index,)) from None
        return steps

    @model_validator(mode="after")
    def _splits_exist(self) -> TaskConfig:
        if self.eval_split not in self.data:
            raise Located(
                f"eval_split '{self.eval_split}' is not one of the data splits "
                f"({', '.join(self.data)})", ("eval_split",)
            )
        if self.fewshot_split is not None and self.fewshot_split not in self.data:
            raise Located(
                f"fewshot_split '{self.fewshot_split}' is not one of the data splits "
                f"({', '.join(self.data)})", ("fewshot_split",)
            )
        return self

    def locate(self, *loc: str | int) -> dict[str, Any]:
        """Where ``loc`` was written, as ConfigError arguments: file, line and key path."""
        return {"file": self.source, "line": line_for(self._lines, loc), "key": dotted(loc)}

    def resolve(self, relative: str) -> Path:
        """A path written in the task file, which is relative to the task's folder."""
        return (self.root / relative).resolve()

    def data_path(self, split: str) -> Path:
        return self.resolve(self.data[split])


def load_task(path: Path) -> TaskConfig:
    """Load and validate a task file (or a folder holding ``task.yaml``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "task.yaml"
    data, lines = load_yaml(path)
    task = validate(TaskConfig, data, file=path, lines=lines)
    task.root = path.parent.resolve()
    task.source = path
    task._lines = lines
    return task
