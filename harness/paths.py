"""Where things live: tasks by name or path, and the per-user cache folder."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import ConfigError


def cache_root(override: str | Path | None = None) -> Path:
    """The cache folder: explicit setting, then $HARNESS_CACHE_DIR, then ~/.cache/prompt-harness."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("HARNESS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "prompt-harness"


def search_dirs(base: Path, sub: str) -> list[Path]:
    """``<folder>/<sub>`` for ``base``, each folder above it, then the working folder: where a
    bare task or template name is looked for."""
    folders = (base.resolve(), *base.resolve().parents, Path.cwd())
    return [folder / sub for folder in folders]


def resolve_task(reference: str, base: Path) -> Path:
    """A task by path (file or folder, relative to ``base`` or the working folder) or by name.

    A bare name is looked up as ``tasks/<name>/task.yaml`` beside the experiment file, in the
    folders above it, then in the working folder.
    """
    candidates: list[Path] = []
    ref = Path(reference).expanduser()
    for root in (base, Path.cwd()):
        candidates.append(ref if ref.is_absolute() else root / ref)
    if "/" not in reference and not reference.endswith((".yaml", ".yml")):
        candidates += [folder / reference for folder in search_dirs(base, "tasks")]
    for path in candidates:
        if path.is_dir() and (path / "task.yaml").is_file():
            return (path / "task.yaml").resolve()
        if path.is_file():
            return path.resolve()
    raise ConfigError(
        f"task '{reference}' not found: give a task folder, a task.yaml path, "
        "or a name under tasks/"
    )
