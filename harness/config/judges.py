"""The experiment file's judge keys: ``judges:`` (rubric grading) and ``pairwise:``.

A judge is a few lines::

    judges:
      - {name: helpful, model: openai/gpt-4o-mini, rubric: helpfulness, grade: 1-5}
      - name: correct
        model: {model: openai/gpt-4o, api_base: http://localhost:8000/v1}
        rubric: rubrics/my-rubric.j2      # or a built-in: correctness, helpfulness, ...
        grade: pass_fail                  # pass_fail (default), score (0-1) or a scale: 1-5
        epochs: 3                         # three verdicts per sample (needs temperature > 0)
        temperature: 0.7
    pairwise: {judge: helpful, variants: [zero-shot, cot]}   # or its own model:

Everything that can be checked without the data is checked when the file loads (the rubric
exists, inside the project, and reads only variables a rubric is given; the grade; epochs
with a sampling temperature; names), so an error is one line naming the file, line and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from harness.config.validation import Located, NoBoolNumbers

if TYPE_CHECKING:
    from harness.config.experiment import ModelConfig

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"


class _JudgeModel(NoBoolNumbers):
    """What a rubric judge and a pairwise judge share: the model and how it is called."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    epochs: int = Field(default=1, ge=1, le=20)
    tasks: list[str] | None = None  # task names to grade; all of the experiment's by default

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def _settings(self) -> None:
        model = self.model
        if model is not None:
            for key in ("temperature", "max_tokens"):
                mine, theirs = getattr(self, key), getattr(model, key)
                if mine is not None and theirs is not None and mine != theirs:
                    raise Located(f"{key} is set both on the judge ({mine}) and on its model "
                                  f"({theirs}); keep one", (key,))
        if self.epochs > 1 and (self.effective_temperature or 0.0) <= 0:
            raise Located(f"epochs: {self.epochs} asks for {self.epochs} verdicts per sample, "
                          "but a judge at temperature 0 gives the same verdict every time; "
                          "set temperature (e.g. 0.7) or use epochs: 1", ("epochs",))

    @property
    def effective_temperature(self) -> float | None:
        if self.temperature is not None:
            return self.temperature
        return self.model.temperature if self.model is not None else None

    def call_model(self) -> ModelConfig:
        """The judge's model with the judge's temperature and max_tokens applied."""
        assert self.model is not None
        update = {k: v for k, v in (("temperature", self.temperature),
                                    ("max_tokens", self.max_tokens)) if v is not None}
        return self.model.model_copy(update=update) if update else self.model


class JudgeConfig(_JudgeModel):
    """One rubric judge: its verdicts become the score ``name`` of every sample it grades."""

    name: str = Field(pattern=NAME)
    model: ModelConfig  # type: ignore[assignment]
    rubric: str = Field(min_length=1)
    grade: str = "pass_fail"
    # The judged score is the task's primary metric (the one the report ranks variants by and
    # the gate checks) instead of the task's first scorer.
    primary: bool = False

    @field_validator("grade", mode="before")
    @classmethod
    def _grade(cls, value: Any) -> Any:
        from harness.judges.verdicts import Grade

        if isinstance(value, bool) or value is None:
            raise ValueError("grade must be pass_fail, score (0-1) or a scale such as 1-5")
        Grade.parse(str(value))
        return str(value).strip()

    @model_validator(mode="after")
    def _consistent(self) -> JudgeConfig:
        self._settings()
        return self

    @property
    def grading(self) -> Any:
        from harness.judges.verdicts import Grade

        return Grade.parse(self.grade)


class PairwiseConfig(_JudgeModel):
    """Pairwise preference: a judge compares two variants' outputs on the same item (same
    model and epoch), each pair in both orders; rows go to ``pairwise.jsonl``."""

    name: str = Field(default="pairwise", pattern=NAME)
    judge: str | None = None  # the name of a judge in judges: whose model to use
    rubric: str = "preference"
    variants: list[str] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _consistent(self) -> PairwiseConfig:
        if (self.judge is None) == (self.model is None):
            raise Located("pairwise needs a judge model: give model: <LiteLLM string> or "
                          "judge: <the name of one of judges:>", ("model",))
        if self.variants is not None and len(set(self.variants)) != len(self.variants):
            raise Located("a variant is listed twice", ("variants",))
        self._settings()
        return self


def check_judges(experiment: Any, file: Path | None) -> None:
    """Cross-key checks (called by ``ExperimentConfig``'s validator): unique judge names,
    pairwise's judge and variants exist, each rubric resolves inside the project and reads
    only what a rubric is given. ``file`` is None when the config did not come from a file
    (command-line overrides revalidate an already-checked config): the rubric checks need it."""
    names: dict[str, int] = {}
    for index, judge in enumerate(experiment.judges):
        if judge.name in names:
            raise Located(f"judge names must be unique; repeated: {judge.name} (first as "
                          f"judges[{names[judge.name]}]); give one of them another name",
                          ("judges", index, "name"))
        names[judge.name] = index
    primaries = [i for i, j in enumerate(experiment.judges) if j.primary]
    for index in primaries[1:]:
        first, second = experiment.judges[primaries[0]], experiment.judges[index]
        if first.tasks is None or second.tasks is None or set(first.tasks) & set(second.tasks):
            raise Located(f"two judges are the primary metric of the same task (first "
                          f"judges[{primaries[0]}]); keep primary: true on one",
                          ("judges", index, "primary"))
    pairwise = experiment.pairwise
    if pairwise is not None:
        if pairwise.judge is not None and pairwise.judge not in names:
            raise Located(f"no judge named '{pairwise.judge}' in judges: "
                          f"({', '.join(names) or 'none'})", ("pairwise", "judge"))
        known = [v.name for v in experiment.variants]
        for index, variant in enumerate(pairwise.variants or ()):
            if variant not in known:
                raise Located(f"no variant named '{variant}' (variants: {', '.join(known)})",
                              ("pairwise", "variants", index))
        if pairwise.variants is None and len(known) < 2:
            raise Located("pairwise compares variants, and the experiment has only one",
                          ("pairwise",))
    if file is None:
        return
    from harness.judges.rubrics import GRADING_VARS, PAIRWISE_VARS

    for index, judge in enumerate(experiment.judges):
        _check_rubric(judge.rubric, GRADING_VARS, file, ("judges", index, "rubric"))
    if pairwise is not None:
        _check_rubric(pairwise.rubric, PAIRWISE_VARS, file, ("pairwise", "rubric"))


def _check_rubric(reference: str, allowed: frozenset[str], file: Path,
                  loc: tuple[str | int, ...]) -> None:
    from harness.errors import ConfigError
    from harness.judges.rubrics import load_rubric, resolve_rubric
    from harness.paths import confine, project_roots

    try:
        path = resolve_rubric(reference, Path(file).parent)
    except ConfigError as exc:
        raise Located(exc.message, loc) from None
    if not path.is_relative_to(Path(__file__).parents[1] / "judges"):  # built-ins are ours
        confine(path, project_roots(Path(file)), file=Path(file), key=loc)
    load_rubric(path, allowed)  # its own errors name the rubric file and line
