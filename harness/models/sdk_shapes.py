"""Which shapes of request body the ``openai`` SDK's transform leaves as they are, remembered
across runs so that a run need not import the SDK (~0.4 s) to learn it again.

The SDK's ``chat.completions.create`` transform renames keys and formats values by the
request's key names and value types only, never by a string's contents; so its verdict on one
body holds for every body of the same shape (roles, keys, value types), under the same SDK
release. The direct route (``harness.models.openai_wire``) asks the SDK on the first body of
each shape and records here the shapes it left unchanged, keyed by the SDK's version; a later
run that meets only recorded shapes sends them without importing the SDK. A shape not
recorded, another SDK release or an unreadable file: the SDK is asked again.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

_FILE = "openai-transform-shapes.json"
_FORMAT = 1  # bump when the shape key below changes meaning


def shape_key(shape: Any) -> str:
    """A stable text for a body's shape (types by name)."""
    def plain(value: Any) -> Any:
        if isinstance(value, type):
            return value.__name__
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(shape), separators=(",", ":"))


@cache
def sdk_version() -> str | None:
    try:
        return metadata.version("openai")
    except metadata.PackageNotFoundError:
        return None


def _path() -> Path:
    from harness.paths import cache_root

    return cache_root() / _FILE


class ShapeMemo:
    """The recorded shapes of this SDK release, read once per process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or _path()
        self.version = f"{_FORMAT}:{sdk_version()}"
        self._known: set[str] | None = None

    def _load(self) -> set[str]:
        if self._known is None:
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
                found = stored.get(self.version) if isinstance(stored, dict) else None
                self._known = {k for k in found if isinstance(k, str)} \
                    if isinstance(found, list) else set()
            except (OSError, ValueError):
                self._known = set()
        return self._known

    def known(self, key: str) -> bool:
        return sdk_version() is not None and key in self._load()

    def add(self, key: str) -> None:
        """Record a shape the SDK left unchanged; a file that cannot be written is left be."""
        known = self._load()
        if key in known or sdk_version() is None:
            return
        known.add(key)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps({self.version: sorted(known)}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass


@cache
def memo() -> ShapeMemo:
    return ShapeMemo()
