"""Errors a user can act on, and the exit codes they map to.

Everything the user can fix (a bad config, a missing file, an unknown template) is raised as a
:class:`HarnessError`; the CLI prints its message on one line and exits with its ``exit_code``,
with no traceback. Exit codes: 0 success (or a passing gate), 1 a regression, 2 bad input, 3
the run did not finish or could not be judged, 4 an internal error (a bug: the traceback goes
to a log file, named on one line), 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """A problem the user can fix; the message says what to do."""

    exit_code: int = 1


class ConfigError(HarnessError):
    """Bad input: a config file, a data file or a template. Exit code 2, like other CLIs."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.key = key
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class RunError(HarnessError):
    """A run that did not finish (budget reached, stopped, too many errors): exit code 3.

    Results so far are kept and the message says how to resume. Exit code 3 tells CI "the run
    could not be judged, retry", apart from 1 (a regression) and 2 (bad input).
    """

    exit_code = 3


class ErrorRateExceeded(RunError):
    """The run finished, but more samples failed than ``max_error_rate``: exit code 3.

    Its results and report are written (``run_dir``); ``harness check`` still judges the cells
    it can and reports the others as inconclusive.
    """

    def __init__(self, message: str, run_dir: Path) -> None:
        super().__init__(message)
        self.run_dir = run_dir


class InternalError(HarnessError):
    """A bug in the harness (not the user's input): exit code 4, traceback in a log file."""

    exit_code = 4
