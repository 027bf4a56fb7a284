"""Errors a user can act on.

Everything the user can fix (a bad config, a missing file, an unknown template) is raised as a
:class:`HarnessError`; the CLI prints its message on one line and exits with its ``exit_code``,
with no traceback. Anything else is a bug in the harness and keeps its traceback.
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
    """A run that cannot go on (budget reached, too many errors); results so far are kept."""

    exit_code = 1
