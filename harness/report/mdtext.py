"""Model text inside markdown: shown verbatim, never interpreted.

A model output may contain anything: ``|`` that would break a table, ``*`` or backticks that
would become formatting, or ``<script>`` that a markdown viewer allowing raw HTML would run.
:func:`md_inline` turns it into inert markdown text on one line: HTML specials (and ``|``, which
GitHub's table splitting would see) become entity references and markdown punctuation is
backslash-escaped, which every CommonMark renderer (and :mod:`harness.report.html`) shows as the
original characters.

Every markdown table cell goes through :func:`cell`: text the harness did not write itself
(variant and model names, error messages from a server, a parsed answer) is escaped there, once,
for markdown and HTML; text that is already markdown (an :func:`md_inline` output, a bold
matrix entry) says so by being a :class:`Markdown` string and passes unchanged.
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


class Markdown(str):
    """Text that is markdown already (escaped or built by the harness): a cell keeps it."""


def md_inline(text: str | None, limit: int = 200) -> Markdown:
    """``text`` as literal markdown on one line, safe in a table cell."""
    if text is None:
        return Markdown("–")
    flat = _MD_PUNCT.sub(r"\\\1", one_line(text, limit))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Markdown(flat.replace("|", "&#124;") or "(empty)")  # an entity: no table splits


def code_name(name: object) -> str:
    """A name as a code span, or as escaped text when a code span cannot hold it."""
    name = str(name)
    return md_inline(name, 120) if "`" in name or "\n" in name else f"`{name}`"


# What would become markup in a table cell, and nothing else, so that harness text such as
# "[2.0, 11.0]", "p<0.001" or "few_shot_v2" reads the same in the raw file:
_CELL_SPECIAL = re.compile(
    r"(?P<bs>\\)"                                  # backslash: would escape what follows
    r"|(?P<punct>[`*~|])"                            # code, emphasis, strike, the cell border
    r"|(?P<under>(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))"  # emphasis (intraword _ is inert)
    r"|(?P<link>\](?=[(\[:])|\[(?=\^))"              # a link, reference or footnote
    r"|(?P<tag><(?=[A-Za-z/!?]))"                    # an HTML tag, comment or autolink
    r"|(?P<entity>&(?=#|[A-Za-z][A-Za-z0-9]*;))"      # a character reference
)


def _cell_sub(m: re.Match[str]) -> str:
    if m.group("tag"):
        return "&lt;"
    if m.group("entity"):
        return "&amp;"
    return "\\" + m.group(0)


def cell(value: object) -> str:
    """One table cell: ``value`` escaped for markdown and HTML on one line, unless it is
    :class:`Markdown` already. Empty text shows as a dash."""
    if isinstance(value, Markdown):
        return value.replace("\n", " ").strip() or "–"
    text = NEWLINE.join(line.rstrip() for line in str(value).strip().splitlines())
    return _CELL_SPECIAL.sub(_cell_sub, text) or "–"
