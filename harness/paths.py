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


# The trust model (README, "Trust"): experiment and task files are trusted like code (they
# choose models, API bases and keys' variables), but the files they *name* (templates, task
# files, data, few-shot splits, corpora) must lie inside the project, so a shared or
# pasted config cannot quietly send, say, ~/.ssh/id_rsa to a model.
ALLOW_OUTSIDE_ENV = "HARNESS_ALLOW_OUTSIDE_PATHS"


def project_root(path: Path) -> Path:
    """The git work tree holding ``path``; outside git, the folder ``path`` is in, or its
    parent when only that holds ``tasks/`` or ``prompts/`` (``experiments/x.yaml`` beside
    ``tasks/``). Never wider: a stray folder high up must not open the whole disk."""
    path = path.resolve()
    folder = path if path.is_dir() else path.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    for candidate in (folder, folder.parent):
        if (candidate / "tasks").is_dir() or (candidate / "prompts").is_dir():
            return candidate
    return folder


def project_roots(experiment_file: Path) -> tuple[Path, ...]:
    """Where named files may lie: the experiment file's project and the working folder's
    (its git work tree, or the working folder itself)."""
    cwd = Path.cwd().resolve()
    cwd_root = next((c for c in (cwd, *cwd.parents) if (c / ".git").exists()), cwd)
    return tuple(dict.fromkeys((project_root(experiment_file), cwd_root)))


def outside_paths_allowed() -> bool:
    return os.environ.get(ALLOW_OUTSIDE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def confine(path: Path, roots: tuple[Path, ...], *, file: Path,
            key: tuple[str | int, ...]) -> Path:
    """``path`` if it lies inside one of ``roots`` (symlinks followed); else a one-line error
    naming the config file, line and key that named it."""
    if outside_paths_allowed() or any(path.resolve().is_relative_to(r) for r in roots):
        return path
    raise key_error(
        f"{path} is outside the project ({' or '.join(str(r) for r in roots)}); configs may "
        f"only name files inside it: move the file in, or pass --allow-outside-paths "
        f"(or set {ALLOW_OUTSIDE_ENV}=1) if you trust this config",
        file=file, key=key,
    )


def key_error(message: str, *, file: Path, key: tuple[str | int, ...]) -> ConfigError:
    """A ConfigError naming the line of ``key`` in the YAML ``file`` (read again: errors only)."""
    from harness.config.validation import dotted
    from harness.config.yaml_lines import line_for, load_yaml

    try:
        line = line_for(load_yaml(Path(file))[1], key)
    except ConfigError:
        line = None
    return ConfigError(message, file=file, line=line, key=dotted(key))
