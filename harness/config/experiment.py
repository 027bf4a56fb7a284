"""The experiment file: the matrix of tasks x prompt variants x models x epochs.

Written to be read at a glance, like a promptfoo config: short forms (a bare template name, a
bare LiteLLM model string) expand to the full forms below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.config.deployments import Deployment, check_http_url
from harness.config.judges import JudgeConfig, PairwiseConfig, check_judges
from harness.config.task import ParserChain
from harness.config.validation import Located, NoBoolNumbers, validate
from harness.config.yaml_lines import KeyPath, dotted, line_for, load_yaml

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"


class VariantConfig(NoBoolNumbers):
    """A prompt strategy: a template plus the knobs that change what the model sees."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    template: str = ""
    shots: int = Field(default=0, ge=0, le=64)
    fewshot: Literal["random", "fixed", "similar"] = "random"
    fewshot_ids: list[str] | None = None
    reasoning: bool | None = None
    parser: ParserChain | None = None
    rag: bool = False
    retriever: Literal["dense", "bm25", "hybrid"] = "dense"
    k: int = Field(default=3, ge=1, le=50)
    chunk_size: int = Field(default=200, ge=8)
    chunk_overlap: int = Field(default=40, ge=0)
    store: Literal["sqlite-vec", "pgvector"] = "sqlite-vec"
    store_url: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    system: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value, "template": value}
        if isinstance(value, dict) and "template" not in value and "name" in value:
            return {**value, "template": value["name"]}
        return value

    @field_validator("vars", "system")
    @classmethod
    def _no_key(cls, value: Any) -> Any:
        """vars and system are sent to the model in every prompt: a key there is a key in a
        config file, handed to whoever serves the model."""
        if _credential_value(value):
            raise ValueError("never put an API key in a config file (this value has the shape "
                             "of one, and would be sent in every prompt); remove it")
        return value

    @field_validator("rag", mode="before")
    @classmethod
    def _on_off(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in {"on", "off"}:
            return value.lower() == "on"
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VariantConfig:
        if self.fewshot == "fixed" and self.shots and not self.fewshot_ids:
            raise Located("fewshot: fixed needs fewshot_ids, the ids of the examples to use",
                          ("fewshot",))
        if self.fewshot == "fixed" and self.fewshot_ids is not None \
                and len(self.fewshot_ids) < self.shots:
            raise Located(f"shots: {self.shots} but fewshot_ids lists only "
                          f"{len(self.fewshot_ids)}; list more ids or lower shots", ("shots",))
        if self.store == "pgvector" and not self.store_url:
            raise Located("store: pgvector needs store_url (postgresql://user@host/db)",
                          ("store",))
        if self.chunk_overlap >= self.chunk_size:
            raise Located("chunk_overlap must be smaller than chunk_size", ("chunk_overlap",))
        return self


class ModelConfig(NoBoolNumbers):
    """A model by its LiteLLM string, with the parameters sent on every call."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=3)
    name: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    api_base: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(default=120.0, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)
    params: dict[str, Any] = Field(default_factory=dict)
    # auto: OpenAI-compatible providers (openai/, hosted_vllm/) send LiteLLM's translated
    # request over the harness's own HTTP session; litellm: every call through acompletion.
    transport: Literal["auto", "litellm"] = "auto"
    # Replicas of this model (harness.config.deployments): servers, keys or regions that
    # serve it, with a failed replica left out for cooldown_time seconds once it has failed
    # more than allowed_fails times within that time.
    deployments: list[Deployment] | None = None
    allowed_fails: int | None = Field(default=None, ge=0)
    cooldown_time: float | None = Field(default=None, ge=0)
    # A LoRA adapter folder (peft) over an hf/ base model; relative to the working folder, like
    # hf/<folder> (harness.models.hf_adapters).
    adapter: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"model": value}
        if isinstance(value, dict) and ("api_key" in value or _key_in(value.get("params"))):
            raise ValueError(
                "never put an API key in a config file: export it in an environment variable "
                "and name that variable with api_key_env"
            )
        return value

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @model_validator(mode="after")
    def _replicas(self) -> ModelConfig:
        """``deployments`` replace the entry's own server; the failover settings need them."""
        if self.deployments is None:
            for key in ("allowed_fails", "cooldown_time"):
                if getattr(self, key) is not None:
                    raise Located(f"{key} applies to the replicas of a model: list them "
                                  "under deployments, or remove it", (key,))
            return self
        if not self.deployments:
            raise Located("deployments is empty; list at least one, e.g. "
                          "[{api_base: http://host:8000/v1}], or remove it", ("deployments",))
        if self.model.startswith("hf/"):
            raise Located("an in-process hf/ model has no servers to spread calls over; "
                          "remove deployments (run local models on many GPUs with --ray)",
                          ("deployments",))
        if self.api_base is not None:
            raise Located("with deployments, each deployment names its own api_base; move "
                          "this api_base into the deployments", ("api_base",))
        return self

    @field_validator("model")
    @classmethod
    def _has_provider(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError(
                f"'{value}' has no provider prefix; write it as LiteLLM does, e.g. "
                f"openai/{value} or hf/<model folder>"
            )
        provider, name = value.split("/", 1)
        if not provider.strip() or not name.strip("/ "):
            raise ValueError(f"'{value}' needs a provider and a model name, e.g. "
                             "openai/gpt-4o-mini or hf/<model folder>")
        return value

    @model_validator(mode="after")
    def _adapter_on_local(self) -> ModelConfig:
        if self.adapter is not None and not self.model.startswith("hf/"):
            raise Located(f"adapter: is for a local model (hf/<base>), not {self.model}; "
                          "serve a hosted adapter under its own model name", ("adapter",))
        return self

    @property
    def label(self) -> str:
        """How results name the model; an adapter adds its folder's name (hf/base+folder)."""
        if self.name:
            return self.name
        if self.adapter:
            return f"{self.model}+{Path(self.adapter.rstrip('/')).name}"
        return self.model


# The judge keys (harness.config.judges) name models: resolve their ModelConfig annotation.
for _judge_model in (JudgeConfig, PairwiseConfig):
    _judge_model.model_rebuild(_types_namespace={"ModelConfig": ModelConfig})


class ExperimentConfig(NoBoolNumbers):
    """A whole experiment as written in ``experiments/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", pattern=r"^$|" + NAME)
    description: str = ""
    tasks: list[str] = Field(min_length=1)
    variants: list[VariantConfig] = Field(min_length=1)
    models: list[ModelConfig] = Field(min_length=1)
    epochs: int = Field(default=1, ge=1, le=100)
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=256, ge=1)
    concurrency: int = Field(default=16, ge=1, le=1024)
    retries: int = Field(default=6, ge=0, le=20)
    max_error_rate: float = Field(default=0.1, ge=0, le=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    # Ask "Proceed?" on a terminal when the estimated cost passes this (harness.budget);
    # null never asks.
    confirm_above_usd: float | None = Field(default=5.0, ge=0)
    cache: bool = True
    cache_dir: str | None = None
    # Answers cut off at max_tokens, withheld by a content filter, or empty: errors (kept out
    # of every score) by default, or scored as they are with "keep" (harness.incomplete).
    incomplete_answers: Literal["error", "keep"] = "error"
    # Variant axes expanded to their product (harness.config.sweep); kept for the design.
    sweep: dict[str, Any] | None = None
    # Model-graded scorers (harness.judges): rubric judges and pairwise preference.
    judges: list[JudgeConfig] = Field(default_factory=list)
    pairwise: PairwiseConfig | None = None

    source: Path = Field(default=Path("experiment.yaml"), exclude=True)
    # Where each key was written (set by load_experiment), and the keys the command line
    # replaced (set by harness.config.overrides.apply_overrides), for messages that point at
    # the cause.
    _lines: dict[KeyPath, int] = PrivateAttr(default_factory=dict)
    _flags: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _expand_sweep(cls, value: Any) -> Any:
        from harness.config.sweep import SweepError, expand_sweep

        try:
            return expand_sweep(value)
        except SweepError as exc:  # load_experiment reports these with their line first
            raise ValueError(f"{_dotted(exc.loc)}: {exc.message}") from None

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _unique_names(self) -> ExperimentConfig:
        for what, key, names in (
            ("variant", "variants", [v.name for v in self.variants]),
            ("model", "models", [m.label for m in self.models]),
        ):
            first: dict[str, int] = {}
            for index, name in enumerate(names):
                if name in first:
                    named = what == "variant" or self.models[index].name is not None
                    field = "name" if named else "model"
                    raise Located(
                        f"{what} names must be unique; repeated: {name} (first as {key}"
                        f"[{first[name]}]); give one of them another name", (key, index, field))
                first[name] = index
        return self

    @model_validator(mode="after")
    def _judges(self, info: ValidationInfo) -> ExperimentConfig:
        if self.judges or self.pairwise is not None:
            check_judges(self, (info.context or {}).get("file"))
        return self

    def locate(self, *loc: str | int) -> dict[str, Any]:
        """Where ``loc`` was written, as ConfigError arguments: file, line and key path; a
        value set on the command line (``--model``) is named by its flag instead."""
        flag = self._flags.get(str(loc[0])) if loc else None
        if flag:
            return {"key": flag}
        return {"file": self.source, "line": line_for(self._lines, loc) if self._lines else None,
                "key": dotted(loc)}


def load_experiment(path: Path) -> ExperimentConfig:
    """Load and validate an experiment file."""
    path = Path(path)
    data, lines = load_yaml(path)
    data = _sweep_with_lines(data, lines, path)
    experiment = validate(ExperimentConfig, data, file=path, lines=lines)
    experiment.source = path
    experiment._lines = lines
    if not experiment.name:
        experiment.name = path.stem
    return experiment


def _sweep_with_lines(data: Any, lines: dict[Any, int], path: Path) -> Any:
    """Expand ``sweep:`` before validation, so its errors name the line of the bad level."""
    from harness.config.sweep import SweepError, expand_sweep
    from harness.config.yaml_lines import line_for
    from harness.errors import ConfigError

    try:
        return expand_sweep(data)
    except SweepError as exc:
        raise ConfigError(exc.message, file=path, line=line_for(lines, exc.loc),
                          key=_dotted(exc.loc)) from None


def _dotted(loc: tuple[Any, ...]) -> str:
    from harness.config.validation import dotted

    return dotted(loc)


def _credential_value(value: Any) -> bool:
    """Whether a string at any depth of ``value`` has a credential's shape (``sk-...``,
    ``Bearer ...``): names are not judged, since a template variable called ``key`` is often
    an answer key."""
    from harness.redaction import looks_like_credential

    if isinstance(value, dict):
        return any(_credential_value(v) for v in value.values())
    if isinstance(value, list):
        return any(_credential_value(v) for v in value)
    return isinstance(value, str) and looks_like_credential(value)


def _key_in(params: Any) -> bool:
    """Whether ``params`` holds, at any depth, a credential-named entry with a value
    (``api_key``, ``extra_headers: {Authorization: ...}``, ``x-api-key``...)."""
    from harness.redaction import credential_name, looks_like_credential

    if isinstance(params, dict):
        return any((credential_name(str(k)) and isinstance(v, str) and bool(v.strip()))
                   or _key_in(v) for k, v in params.items())
    if isinstance(params, list):
        return any(_key_in(v) for v in params)
    return isinstance(params, str) and looks_like_credential(params)
