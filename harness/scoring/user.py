"""User scorers: a Python callable named ``module:function`` in a task file.

Config files are trusted like code (README, "Trust"), so a task may run its author's Python;
but the files a config names must lie inside the project. A module is therefore looked for, in
order, in the task's folder (``tasks/qa/grading.py`` is ``grading:fn`` for that task), then in
the project root (the git work tree holding the task file, as for every other named file),
and only then among installed packages (``mypkg.scorers:fn``). Files are loaded under a name
private to their path, so two tasks may each have their own ``scorers.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Loaded files, by path and version: a file edited since (between two ``harness.score`` calls
# in one session) is loaded again.
_loaded: dict[tuple[Path, int, int], ModuleType] = {}


def search_roots(task_file: Path) -> list[Path]:
    """Where a task's scorer modules are looked for: its folder, then its project's root."""
    from harness.paths import project_root

    folder = Path(task_file).resolve().parent
    return list(dict.fromkeys((folder, project_root(Path(task_file)))))


def split_reference(ref: str) -> tuple[str, str]:
    module, sep, attr = str(ref).partition(":")
    if not sep or not _DOTTED.match(module) or not _DOTTED.match(attr):
        raise ValueError(f"'{ref}' is not module:function (e.g. grading:score_answer, a "
                         "function score_answer in grading.py beside the task file)")
    return module, attr


def module_file(module: str, task_file: Path) -> Path | None:
    """The file ``module`` names under the task's search roots, or None."""
    parts = module.split(".")
    for root in search_roots(task_file):
        for candidate in (root.joinpath(*parts).with_suffix(".py"),
                          root.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate.resolve()
    return None


def _load_file(path: Path, root: Path) -> ModuleType:
    stat = path.stat()
    version = (path, stat.st_mtime_ns, stat.st_size)
    cached = _loaded.get(version)
    if cached is not None:
        return cached
    digest = hashlib.sha256(str(version).encode()).hexdigest()[:10]
    name = f"_harness_user_{digest}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(root))  # so the module can import its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ValueError(f"importing {path} failed: {_short(exc)}") from None
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
    _loaded[version] = module
    return module


def _short(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _import_installed(name: str) -> ModuleType:
    """Import an installed module, never one that merely sits in the working folder (which
    ``python -m`` puts on the path): the project's own modules are found by path above."""
    cwd = os.getcwd()
    saved = sys.path[:]
    sys.path[:] = [p for p in saved if p not in ("", ".") and
                   os.path.abspath(p) != cwd]
    try:
        return importlib.import_module(name)
    finally:
        sys.path[:] = saved


def resolve(ref: str, task_file: Path) -> tuple[Callable[..., Any], Path | None]:
    """The callable ``ref`` names and the file it came from (None for an installed module);
    ValueError saying where it was looked for when there is none."""
    module_name, attr = split_reference(ref)
    path = module_file(module_name, task_file)
    if path is not None:
        root = next(r for r in search_roots(task_file) if path.is_relative_to(r))
        module = _load_file(path, root)
    else:
        try:
            module = _import_installed(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                where = " or ".join(str(r) for r in search_roots(task_file))
                raise ValueError(f"no module '{module_name}' in {where}, nor installed; put "
                                 f"{module_name.replace('.', '/')}.py beside the task file"
                                 ) from None
            raise ValueError(f"importing {module_name} failed: {_short(exc)}") from None
        except Exception as exc:
            raise ValueError(f"importing {module_name} failed: {_short(exc)}") from None
        origin = getattr(module, "__file__", None)
        path = Path(origin) if origin else None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            where = path or module_name
            raise ValueError(f"module '{module_name}' ({where}) has no '{attr}'; check the name")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"'{ref}' is a {type(target).__name__}, not a function")
    return target, path


def check_signature(fn: Callable[..., Any], ref: str, args: dict[str, Any]) -> None:
    """The function must take the sample record (and the entry's ``args`` as keywords)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin or C callable: it will say so when called
    try:
        signature.bind(object(), **args)
    except TypeError as exc:
        raise ValueError(f"'{ref}' must take the sample record as its one positional "
                         f"argument{' and ' + ', '.join(args) if args else ''}: {exc}") from None


def source_digest(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
