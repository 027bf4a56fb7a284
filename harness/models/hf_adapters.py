"""LoRA adapters (peft) as models: ``model: hf/<base>`` plus ``adapter: <folder>``.

Several adapters over one base share its weights: each is injected into the one loaded base
model (peft's ``PeftModel.from_pretrained``, then ``load_adapter``), and each gets its own
LoadedModel view (its own batcher and prefix cache, since a prefix's keys and values depend on the
adapter) whose ``select`` makes its adapter the active one, or disables them all for the base
itself. Generation runs one batch at a time under the device lock, so switching there is safe.

An adapter retrained in place is another model: its views are keyed by the folder's path plus
the size and modification time of its files (as hf_loading does for model folders), and the
response cache keys on a digest of its content (``adapter_identity``).

``peft`` is an optional extra (``pip install -e ".[lora]"``); without it an adapter entry is
refused before the run.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from pathlib import Path
from typing import Any

from harness.models.hf_loading import LoadedModel, ModelNotFoundError, _signature, load_model

#: Written into the adapter folder by examples/lora/train.py (harness.adapter_data); not a
#: weight, so not part of the adapter's identity.
TRAINING_RECORD = "harness_training.json"
_IGNORED = (TRAINING_RECORD,)

# (base name, adapter folder) -> (adapter signature, base model object id, the view)
_VIEWS: dict[tuple[str, str], tuple[str, int, LoadedModel]] = {}
_LOCK = threading.Lock()
# base model -> the PeftModel managing its adapters (not an attribute of the model: torch would
# register it as a submodule, a cycle)
_HOSTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def adapter_path(adapter: str) -> Path:
    """The adapter folder, absolute (relative names are taken from the working folder)."""
    return Path(adapter).expanduser().resolve()


def missing_adapter(adapter: str) -> str | None:
    """Why the adapter cannot load, without loading anything (for the checks before a run)."""
    path = adapter_path(adapter)
    if not (path / "adapter_config.json").is_file():
        return (f"{path} is not a LoRA adapter folder (no adapter_config.json); pass the folder "
                "peft's save_pretrained wrote (examples/lora/train.py makes one)")
    try:
        import peft  # noqa: F401
    except ImportError:
        return ("adapters need the peft package, an optional extra: "
                "pip install -e \".[lora]\" (make test installs it)")
    return None


def adapter_files(path: Path) -> list[Path]:
    """The files that decide the adapter's answers: weights and config, not our own record."""
    return sorted(p for p in path.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.name not in _IGNORED
                  and not p.name.lower().endswith(".md"))


def adapter_identity(adapter: str, cache_dir: Path | None) -> dict[str, Any]:
    """Absolute folder and the SHA-256 of each file's content (retraining changes them)."""
    from harness.models.hf_identity import file_digest

    path = adapter_path(adapter)
    if not path.is_dir():
        return {"source": str(path), "files": {}}
    return {"source": str(path),
            "files": {f.name: file_digest(f, cache_dir) for f in adapter_files(path)}}


def load_with_adapter(name: str, adapter: str) -> LoadedModel:
    """The view of base ``name`` with ``adapter`` active, loading either on first use."""
    problem = missing_adapter(adapter)
    if problem:
        raise ModelNotFoundError(f"hf/{name} adapter {adapter}: {problem}")
    base = load_model(name)
    path = adapter_path(adapter)
    signature = _signature(str(path))
    key = (name, str(path))
    with _LOCK:
        held = _VIEWS.get(key)
        if held is not None and held[0] == signature and held[1] == id(base.model):
            return held[2]
        view = _inject(base, path, signature, stale=held[2] if held else None)
        _VIEWS[key] = (signature, id(base.model), view)
        return view


def _inject(base: LoadedModel, path: Path, signature: str,
            stale: LoadedModel | None) -> LoadedModel:
    from harness.models.hf_generation import DEVICE_LOCK

    model = base.model
    adapter_name = "harness_" + hashlib.sha256(signature.encode()).hexdigest()[:16]
    with DEVICE_LOCK:  # no batch generates while the layers change
        host = _host(model)
        if host is not None and stale is not None and stale.model is model \
                and stale.adapter in host.peft_config and stale.adapter != adapter_name:
            host.delete_adapter(stale.adapter)  # the retrained folder's old weights
        if host is None:
            from peft import PeftModel

            # Injects LoRA layers into ``model`` itself; the wrapper is only kept to manage
            # adapters, generation goes on calling ``model``.
            host = PeftModel.from_pretrained(model, str(path), adapter_name=adapter_name,
                                             is_trainable=False)
            _HOSTS[model] = host
        elif adapter_name not in host.peft_config:
            host.load_adapter(str(path), adapter_name=adapter_name, is_trainable=False)
        model._harness_active = ""  # loading activated the new adapter: select afresh
        model.eval()
        base.select = lambda: _activate(model, None)
        _activate(model, None)
    view = LoadedModel(
        name=f"{base.name}+{path.name}",
        model=model,
        tokenizer=base.tokenizer,
        device=base.device,
        eos_ids=base.eos_ids,
        pad_id=base.pad_id,
        source=f"{base.source} + adapter {path}",
        tokenizer_lock=base.tokenizer_lock,  # one tokenizer object, one lock
        adapter=adapter_name,
    )
    view.select = lambda: _activate(model, adapter_name)
    return view


def _host(model: Any) -> Any:
    """The PeftModel that manages the adapters injected into ``model`` (None before any)."""
    return _HOSTS.get(model)


def _activate(model: Any, adapter_name: str | None) -> None:
    """Make ``adapter_name`` the only active adapter, or run the bare base (None)."""
    if getattr(model, "_harness_active", "") == adapter_name:
        return
    host = _host(model)
    if adapter_name is None:
        host.base_model.disable_adapter_layers()
    else:
        host.base_model.enable_adapter_layers()
        host.set_adapter(adapter_name)
    model._harness_active = adapter_name


def loaded_views() -> int:
    """How many adapter views are held (for tests and diagnostics)."""
    with _LOCK:
        return len(_VIEWS)
