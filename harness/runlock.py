"""One process per run folder: an OS lock held while a run writes it.

Two ``--resume`` of the same run at once would each call the model for every unfinished
sample and append both answers. The lock is ``fcntl.flock`` on ``<run>/.lock``: the kernel
drops it when the process ends however it ends (even ``kill -9``), so a crashed run never
leaves a stale lock behind, and nothing has to be cleaned up by hand.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from harness.errors import HarnessError

LOCK_FILE = ".lock"


class RunBusyError(HarnessError):
    """Another process is running this run. Exit code 3: nothing was done and nothing is
    wrong with the input (that would be 2); the same command works once the other ends."""

    exit_code = 3


class RunLock:
    """An exclusive lock on a run folder, held until :meth:`release` or the process's end."""

    def __init__(self, fd: int | None, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Take the lock at once, or raise :class:`RunBusyError` naming the holder."""
        path = run_dir / LOCK_FILE
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, as before
            return cls(None, path)
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = f" (process {int(os.read(fd, 32).decode().strip())})"
            os.close(fd)
            raise RunBusyError(
                f"run {run_dir.name} is already running in another harness process{holder}; "
                "nothing was done: wait for it to finish (or stop it), then resume again"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
