"""Model text inside markdown: shown verbatim, never interpreted.

A model output may contain anything: ``|`` that would break a table, ``*`` or backticks that
would become formatting, or ``<script>`` that a markdown viewer allowing raw HTML would run.
:func:`md_inline` turns it into inert markdown text on one line: HTML specials (and ``|``, which
GitHub's table splitting would see) become entity references and markdown punctuation is
backslash-escaped, which every CommonMark renderer (and :mod:`harness.report.html`) shows as the
original characters.
"""

from __future__ import annotations

import re

_MD_PUNCT = re.compile(r"([\\`*_\[\]~#!])")
NEWLINE = " ↵ "


def one_line(text: str | None, limit: int = 200) -> str:
    """Newlines shown as a visible mark, long text cut with an ellipsis."""
    if text is None:
        return "–"
    flat = NEWLINE.join(line.rstrip() for line in str(text).strip().splitlines())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def md_inline(text: str | None, limit: int = 200) -> str:
    """``text`` as literal markdown on one line, safe in a table cell."""
    if text is None:
        return "–"
    flat = _MD_PUNCT.sub(r"\\\1", one_line(text, limit))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return flat.replace("|", "&#124;") or "(empty)"  # an entity: no table splits on it
