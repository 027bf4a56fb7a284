"""When the harness itself breaks: a log with the traceback, one line, and an exit that happens.

A bug must not look like a regression (exit 1) nor bury CI logs under a 40-line traceback, and
it must never leave a CI job hanging until its time-out. So the CLI writes the traceback to
``<cache folder>/logs/crash-<time>-<pid>.log`` (credentials redacted by
:mod:`harness.redaction`), prints one line naming the file, and exits with
code 4; :func:`exit_now` then ends the process even if a library's shutdown hook blocks.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import NoReturn

INTERNAL_ERROR = 4
EXIT_GRACE_S = 5.0
"""How long ``atexit`` handlers (LiteLLM's among them) get before the process ends anyway."""


def redact_text(text: str) -> str:
    """Credentials out of the log and the line (:func:`harness.redaction.redact`)."""
    from harness.redaction import redact

    return redact(text)


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """The traceback, the command and the versions, in a new file; None if none can be written."""
    from harness.paths import cache_root

    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    body = (f"harness {' '.join(argv)}\npython {sys.version.split()[0]}\n"
            f"cwd {os.getcwd()}\n\n{text}")
    for folder in (cache_root() / "logs", Path.cwd() / "results" / "logs"):
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(redact_text(body), encoding="utf-8")
            return path
    return None


def report_crash(exc: BaseException, argv: list[str]) -> int:
    """Log the traceback and print one line naming the log; return the exit code (4)."""
    path = write_crash_log(exc, argv)
    what = f"{type(exc).__name__}: {redact_text(str(exc))}".splitlines()[0][:200]
    where = f"traceback in {path}" if path else "the traceback could not be written"
    print(f"harness: internal error (a bug in prompt-harness, not in your prompts): {what}; "
          f"{where}", file=sys.stderr)
    return INTERNAL_ERROR


def exit_now(code: int) -> NoReturn:
    """Flush, run ``atexit`` handlers for at most :data:`EXIT_GRACE_S`, then end the process.

    ``os._exit`` skips the interpreter's teardown (a second of module clean-up, and the join of
    every non-daemon thread, which a thread stuck in a model call would make endless). A timer
    thread ends the process if an ``atexit`` handler blocks, as LiteLLM's can after a crash.
    """
    import atexit

    timer = threading.Timer(EXIT_GRACE_S, os._exit, args=(code,))
    timer.daemon = True
    timer.start()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing can reach it
            stream.flush()
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
