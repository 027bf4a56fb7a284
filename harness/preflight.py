"""Checks made before the first paid call and before a run folder exists.

A run that fails on its thirtieth request, or a gate that runs a whole experiment before saying
the baseline belongs to another one, has cost money and time for a mistake visible in the
config. Everything here needs no model call and no network: unknown LiteLLM providers, API
keys missing from the environment (named as LiteLLM names them), output folders and files that
cannot be written, and a baseline that shares nothing with the experiment. Each problem is one
:class:`ConfigError` (exit code 2) naming where it was written.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.config import ExperimentConfig, ModelConfig
    from harness.gate.baseline import Baseline

LOCAL_PREFIX = "hf/"  # the in-process provider: no server, no key


def check_before_run(experiment: ExperimentConfig, *, results_dir: str | Path | None = None,
                     reports_dir: str | Path | None = None, models: bool = True) -> None:
    """What ``harness.run`` checks before planning: providers and keys (``models``; off when a
    custom client replaces LiteLLM), and the folders it will write."""
    if models:
        check_models(experiment)
        check_local_models(experiment)
    if results_dir is not None:
        check_folder(results_dir, "--results-dir")
    if reports_dir is not None:
        check_folder(reports_dir, "--reports-dir")


# Providers LiteLLM certainly knows, with a variable that holds their key (any one will do).
# A model of these whose key is set (or that needs none) passes without importing LiteLLM,
# which takes seconds that a rerun answered from the cache never spends otherwise; anything
# else, and every error, is decided by LiteLLM itself.
_SURE = {"openai": ("OPENAI_API_KEY",), "anthropic": ("ANTHROPIC_API_KEY",),
         "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "hosted_vllm": ()}


def _surely_fine(model: ModelConfig) -> bool:
    provider = model.model.split("/", 1)[0]
    if provider not in _SURE:
        return False
    if model.api_key_env:
        return bool(os.environ.get(model.api_key_env))
    keys = _SURE[provider]
    return not keys or is_keyless(model) or any(os.environ.get(k) for k in keys)


def _all_models(experiment: ExperimentConfig) -> list[tuple[tuple[str | int, ...],
                                                               ModelConfig]]:
    """Every model the run calls, with where it is written: the models under test, then
    the judges' (``judges[i].model``, ``pairwise.model``)."""
    out: list[tuple[tuple[str | int, ...], ModelConfig]] = [
        (("models", i), m) for i, m in enumerate(experiment.models)]
    out += [(("judges", i, "model"), j.model) for i, j in enumerate(experiment.judges)]
    pairwise = experiment.pairwise
    if pairwise is not None and pairwise.model is not None:
        out.append((("pairwise", "model"), pairwise.model))
    return out


def check_models(experiment: ExperimentConfig) -> None:
    """Every hosted model's provider is one LiteLLM knows, and its API key is set; for a
    model with ``deployments``, every deployment's."""
    check_hosted(_hosted(experiment))


def check_hosted(models: list[tuple[Where, ModelConfig]]) -> None:
    """:func:`check_models` for models written anywhere (a task file's judges too): each with
    a function that says where a key of it was written."""
    hosted = [(where, m) for where, m in models
              if not m.model.startswith(LOCAL_PREFIX) and not _surely_fine(m)]
    if not hosted:
        return
    from harness.models._litellm import import_litellm

    litellm = import_litellm()
    for where, model in hosted:
        _check_provider(litellm, model, where("model"))
        if model.api_key_env:
            if not os.environ.get(model.api_key_env):
                raise ConfigError(
                    f"the environment variable {model.api_key_env} is not set (model "
                    f"{model.label} reads its API key from it); export {model.api_key_env} "
                    "before running", **where("api_key_env"))
            continue
        if is_keyless(model):
            continue
        missing = missing_keys(litellm, model)
        if missing:
            names = " or ".join(missing)
            raise ConfigError(
                f"{model.model} needs an API key in the environment variable {names}, which is "
                f"not set; export {missing[0]}=... (or name the variable that holds the key "
                "with api_key_env)", **where("model"))


Where = Callable[[str], dict[str, Any]]


def check_judge_models(experiment: ExperimentConfig, used: Collection[str],
                       pairwise: bool) -> None:
    """:func:`check_models` for the experiment's judges that a re-scoring calls (``harness
    score``): those named in ``used``, and the pairwise judge's own model when ``pairwise``.
    Not the models under test, nor a judge ``--scorers`` left out: their keys may be gone by
    then, and nothing will call them."""
    names = [j.name for j in experiment.judges]
    config = experiment.pairwise
    if pairwise and config is not None and config.judge is not None:
        used = {*used, config.judge}  # its model is that judge's

    def keep(loc: tuple[str | int, ...]) -> bool:
        if loc[0] == "judges":
            return names[int(loc[1])] in used
        return loc[0] == "pairwise" and pairwise

    check_hosted(_hosted(experiment, keep=keep))


def _hosted(experiment: ExperimentConfig, *,
            keep: Callable[[tuple[str | int, ...]], bool] | None = None,
            ) -> list[tuple[Where, ModelConfig]]:
    """Every model the run calls (``_all_models``; those whose place ``keep`` accepts), or
    each deployment (``label@index``) of one that lists them, with a function that says where
    a key of it was written: the deployment's own key when it sets it, else the entry's,
    else the deployment itself."""
    from harness.config.deployments import expand

    out: list[tuple[Where, ModelConfig]] = []
    for loc, model in _all_models(experiment):
        if keep is not None and not keep(loc):
            continue
        if not model.deployments:
            out.append((lambda key, at=loc: experiment.locate(*at, key), model))
            continue
        for number, config in enumerate(expand(model)):
            given = model.deployments[number].model_fields_set

            def where(key: str, at: tuple[str | int, ...] = loc, entry: ModelConfig = model,
                      n: int = number, own: set[str] = given) -> dict[str, Any]:
                if key in own or getattr(entry, key, None) is None:
                    return experiment.locate(*at, "deployments", n,
                                             *((key,) if key in own else ()))
                return experiment.locate(*at, key)

            out.append((where, config))
    return out


def check_local_models(experiment: ExperimentConfig) -> None:
    """Every ``hf/...`` model names an alias, a model folder, a .gguf file or a cached hub
    id: otherwise every sample would fail in turn, after a run folder was made."""
    for loc, model in _all_models(experiment):
        if model.model.startswith(LOCAL_PREFIX):
            from harness.models.hf_loading import missing_model

            problem = missing_model(model.model[len(LOCAL_PREFIX):])
            if problem:
                raise ConfigError(problem, **experiment.locate(*loc, "model"))
            if model.adapter:
                from harness.models.hf_adapters import missing_adapter

                problem = missing_adapter(model.adapter)
                if problem:
                    raise ConfigError(problem, **experiment.locate(*loc, "adapter"))


def _api_base(model: ModelConfig) -> str | None:
    base = model.api_base or model.params.get("api_base") or model.params.get("base_url")
    return str(base) if base else None


def is_keyless(model: ModelConfig) -> bool:
    """A local server needs no key: the in-process provider, or an api_base on loopback."""
    if model.model.startswith(LOCAL_PREFIX):
        return True
    base = _api_base(model)
    if not base:
        return False
    host = urlparse(base if "//" in base else f"//{base}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_provider(litellm: Any, model: ModelConfig, where: dict[str, Any]) -> None:
    try:
        litellm.get_llm_provider(model=model.model, api_base=_api_base(model))
        return
    except Exception:  # LiteLLM raises its BadRequestError, among others
        pass
    provider = model.model.split("/", 1)[0]
    known = sorted({str(getattr(p, "value", p)) for p in litellm.provider_list} | {"hf"})
    guess = difflib.get_close_matches(provider, known, n=1)
    hint = f"did you mean '{guess[0]}/'? " if guess else ""
    raise ConfigError(
        f"unknown provider '{provider}' in '{model.model}'; {hint}write the model as LiteLLM "
        "does (openai/..., anthropic/..., gemini/..., hosted_vllm/... with api_base) or "
        "hf/<model folder> for a local model", **where)


# LiteLLM also lists settings that are not secrets (AZURE_API_VERSION, OLLAMA_API_BASE,
# VERTEXAI_PROJECT...), which have defaults or other sources; only a missing key is certain to
# fail every call.
def _is_key(name: str) -> bool:
    return name.endswith(("_API_KEY", "_API_TOKEN", "_KEY")) and "ACCESS_KEY" not in name


def missing_keys(litellm: Any, model: ModelConfig) -> list[str]:
    """The key variables LiteLLM expects for this model that are unset (alternatives: any one
    of them is enough), from ``litellm.validate_environment``: a local lookup, no network."""
    try:
        found = litellm.validate_environment(model=model.model, api_base=_api_base(model))
    except Exception:  # an internal LiteLLM problem must not block a run it might serve
        return []
    missing = [str(name) for name in found.get("missing_keys") or [] if _is_key(str(name))]
    return [name for name in missing if not os.environ.get(name)]


def check_folder(path: str | Path, flag: str) -> None:
    """``path`` is a folder the harness can write into, or one it can create."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: is a file, not a folder; give a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{flag} {path}: cannot create it, {existing} is a file; give "
                          "another folder")
    if not os.access(existing, os.W_OK | os.X_OK) or not _can_create_in(existing):
        raise ConfigError(f"{flag} {path}: {existing} is not writable; give a folder you can "
                          "write to")


def _can_create_in(folder: Path) -> bool:
    """Make and remove a folder in ``folder``: ``os.access`` says yes to root everywhere, even
    on /proc or a read-only mount, where the run would then crash after its first calls."""
    import tempfile

    try:
        tempfile.TemporaryDirectory(dir=folder, prefix=".harness-probe-").cleanup()
    except OSError:
        return False
    return True


def check_file(path: str | Path, flag: str) -> None:
    """``path`` is a file the harness can write (its folder can be created)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder; give a file path")
    if path.exists() and not (os.access(path, os.W_OK) and _can_append(path)):
        raise ConfigError(f"{flag} {path}: the file is not writable")
    check_folder(path.parent, flag)


def _can_append(path: Path) -> bool:
    """Open an existing file for appending (writes nothing): the check ``os.access`` cannot
    make for root."""
    try:
        with path.open("ab"):
            pass
    except OSError:
        return False
    return True


def check_outputs(folders: Mapping[str, str | Path | None],
                  files: Mapping[str, str | Path | None]) -> None:
    """Folders and files named on the command line (flag -> path; None: not asked for)."""
    for flag, folder in folders.items():
        if folder is not None:
            check_folder(folder, flag)
    for flag, file in files.items():
        if file is not None:
            check_file(file, flag)


def check_baseline_matches(experiment: ExperimentConfig, baseline: Baseline) -> None:
    """The baseline holds some task x variant x model of this experiment, with items in common:
    otherwise the gate would run the whole experiment only to find nothing to compare."""
    from harness.config import load_task
    from harness.dataset import load_items
    from harness.paths import resolve_task

    base = experiment.source.parent
    configs = [load_task(resolve_task(ref, base)) for ref in experiment.tasks]
    planned = {(t.name, v.name, m.label) for t in configs for v in experiment.variants
               for m in experiment.models}
    shared = planned & set(baseline.cells)
    where = f"baseline {baseline.source}" if baseline.source else "the baseline"
    if not shared:
        raise ConfigError(
            f"{where} holds none of this experiment's task / variant / model cells (baseline: "
            f"{_names(baseline.cells)}; experiment {experiment.source}: {_names(planned)}); "
            "it was saved from another experiment or task: pass this experiment's baseline, or "
            "save one with 'harness baseline save results/<run-id> --to <file>'")
    by_task = {}
    for config in configs:
        if any(cell[0] == config.name for cell in shared):
            items = load_items(config, config.eval_split)
            by_task[config.name] = {i.id for i in items[:experiment.limit]}
    if not any(set(baseline.cells[cell]) & by_task.get(cell[0], set()) for cell in shared):
        example = next(iter(baseline.cells[next(iter(shared))]), "none")
        raise ConfigError(
            f"{where} and experiment {experiment.source} share no items: no baseline "
            f"item id (e.g. '{example}') is among the experiment's items, so nothing could be "
            "paired; it was saved from other data: pass this experiment's baseline")


def _names(cells: Any) -> str:
    names = sorted(" / ".join(cell) for cell in cells)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") \
        if names else "none"


def check_experiment_baseline(experiment: str | Path | ExperimentConfig, baseline: Baseline,
                              overrides: Mapping[str, Any] | None = None) -> None:
    """:func:`check_baseline_matches` for the gate: an experiment file plus the command line's
    overrides (``--limit``, ``--model``), checked before anything runs."""
    import inspect

    from harness.config import ExperimentConfig, load_experiment
    from harness.config.overrides import apply_overrides

    config = experiment if isinstance(experiment, ExperimentConfig) else \
        load_experiment(Path(experiment))
    accepted = inspect.signature(apply_overrides).parameters
    settings = {k: v for k, v in (overrides or {}).items() if k in accepted and k != "experiment"}
    check_baseline_matches(apply_overrides(config, **settings), baseline)
