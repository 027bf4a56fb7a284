"""Reading the text files users hand us (configs, data, templates, baselines).

Files come from editors, spreadsheets and other tools: Excel writes a UTF-8 byte-order mark,
some tools still write Latin-1. Every reader goes through :func:`read_text`, so a BOM is simply
skipped and bytes that are not UTF-8 become one :class:`ConfigError` naming the file and the
line, instead of a ``UnicodeDecodeError`` traceback.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from harness.errors import ConfigError


def decode(data: bytes, path: str | Path) -> str:
    """UTF-8 text (a leading BOM dropped), or a ConfigError at the first undecodable byte."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        excel = " (in Excel: Save As 'CSV UTF-8')" if str(path).lower().endswith(".csv") else ""
        raise ConfigError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); save the file "
            f"as UTF-8{excel}",
            file=path, line=line,
        ) from None
    nul = text.find("\x00")
    if nul >= 0:  # valid UTF-8, but UTF-16 without a BOM (or a binary file) reads this way
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise ConfigError(f"holds a NUL byte (column {column}): it looks like UTF-16 or a "
                          "binary file, not text; save the file as UTF-8", file=path, line=line)
    return text


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """The file's bytes, or a ConfigError saying why it cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=path) from None
    except IsADirectoryError:
        raise ConfigError(f"{what} is a folder, not a file", file=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} ({exc.strerror or exc})", file=path) from None


def read_text(path: str | Path, what: str = "file") -> str:
    """A user's text file as UTF-8 (BOM tolerated); problems are one-line ConfigErrors."""
    return decode(read_bytes(path, what), path)
