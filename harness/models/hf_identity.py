"""The identity of a local model: where it resolves to, what its files hold, where it runs.

``hf/<relative folder>`` resolves against the current directory, and a folder retrained in
place keeps its name; keying the cache on the name would return the old model's answers. So
the identity holds the absolute source and a SHA-256 digest of the content of its files
(weights, config, tokenizer). Size and modification time are not content: a digest is. Hashing
a few hundred MB takes a fraction of a second but would add up on every cached run, so each
file's digest is remembered in ``<cache dir>/digests/``, keyed by its absolute path, size and
modification time in nanoseconds: a changed file is hashed again, an unchanged one never.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

# Files of a model folder that do not change its answers.
_IGNORED_SUFFIXES = (".md", ".lock", ".lck")


def local_source(name: str) -> tuple[str, list[Path]]:
    """What ``hf/<name>`` loads (as ``harness.models.hf_loading`` resolves it): its absolute
    source and the files that decide its answers; no files when nothing loadable is found."""
    from harness.models.hf_loading import aliases

    if name in aliases():
        from harness.models.hf_aliases import alias_files

        try:
            files = [f.resolve() for f in alias_files(name)]
        except LookupError:
            return f"alias:{name}", []
        # One file: its path (as before); the Gemma parts: their package folders' parent.
        source = files[0] if len(files) == 1 else Path(os.path.commonpath(files))
        return str(source), files
    path = Path(name).expanduser()
    if path.is_file():
        return str(path.resolve()), [path.resolve()]
    if path.is_dir():
        folder = path.resolve()
        if not (folder / "config.json").is_file():
            ggufs = sorted(folder.glob("*.gguf"))
            if len(ggufs) == 1:
                return str(ggufs[0]), [ggufs[0]]
        return str(folder), _model_files(folder)
    if name.startswith(("/", ".", "~")):
        return str(path.absolute()), []
    snapshot = _hub_snapshot(name)
    if snapshot is None:
        return f"hub:{name}", []
    return str(snapshot), _model_files(snapshot)


def _model_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and not p.name.lower().endswith(_IGNORED_SUFFIXES))


def _hub_snapshot(repo_id: str) -> Path | None:
    """The folder of the local HuggingFace cache that ``repo_id`` loads from, if any."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def file_digest(path: Path, cache_dir: Path | None) -> str:
    """SHA-256 of the file's content, remembered under ``cache_dir`` by path, size and mtime."""
    st = path.stat()
    memo = None
    if cache_dir is not None:
        tag = hashlib.sha256(f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()
        memo = cache_dir / "digests" / tag
        with contextlib.suppress(OSError):
            known = memo.read_text().strip()
            if len(known) == 64:
                return known
    value = hash_file(path)
    if memo is not None:
        with contextlib.suppress(OSError):
            memo.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=memo.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as out:
                out.write(value)
            os.replace(tmp, memo)
    return value


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def device_and_dtype() -> tuple[str, str]:
    """Where the local model runs and in what precision (as ``hf_loading.pick_device``)."""
    from harness.models.hf_loading import pick_device

    device, dtype = pick_device()
    return str(device), str(dtype).removeprefix("torch.")


def local_identity(name: str, cache_dir: Path | None) -> dict[str, Any]:
    """Source, content digest of its files (by name, so a renamed shard counts), device, dtype."""
    source, files = local_source(name)
    root = Path(source) if files and Path(source).is_dir() else None
    digests = {str(f.relative_to(root) if root else f.name): file_digest(f, cache_dir)
               for f in files}
    device, dtype = device_and_dtype()
    return {"source": source, "files": digests, "device": device, "dtype": dtype}
