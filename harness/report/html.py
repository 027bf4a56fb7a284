"""``harness report --html``: the markdown report as one self-contained, safe HTML file.

The HTML is made from the very markdown a reviewer reads, so the two cannot drift apart, by a
small converter for the subset the report writes (headings, paragraphs, lists, tables, code
spans, bold, images). Figures are inlined as ``data:`` URIs, so the file can be mailed or
attached to a CI run. A side-by-side viewer of every variant's output per item follows.

Model outputs are untrusted text. The converter escapes *all* text and emits only the tags it
generates itself: markdown's entity references and backslash escapes are kept as the characters
they stand for, raw HTML is shown as text, and an image is drawn only for the report's own
figures (SVG, or PNG in reports written before), as an ``<img>``, where an SVG runs no script.
As a second line of defence a Content-Security-Policy forbids every script but the viewer's own
(by hash), any network access, and any image that is not inlined.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

MAX_VIEWER_ITEMS = 300
OPEN_ITEMS = 3  # the first disagreements start expanded, so the page opens on a comparison
_INLINE = re.compile(
    r"(?P<esc>\\[!-/:-@\[-`{-~])"
    r"|(?P<ticks>`+)(?P<code>.+?)(?P=ticks)"
    r"|(?P<entity>&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)"
    r"|(?P<img>!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\))"
    r"|\*\*(?P<bold>.+?)\*\*"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ALIGN = {":--": "left", "--:": "right", ":-:": "center"}
SCRIPT = """document.querySelectorAll('.viewer').forEach(function (v) {
  var only = v.querySelector('.only-disagree'), q = v.querySelector('.filter');
  function apply() {
    var t = q.value.toLowerCase();
    v.querySelectorAll('.item').forEach(function (it) {
      var show = (!only.checked || it.classList.contains('disagree')) &&
                 (!t || it.getAttribute('data-search').indexOf(t) >= 0);
      it.hidden = !show;
    });
  }
  only.addEventListener('change', apply);
  q.addEventListener('input', apply);
});
document.documentElement.setAttribute('data-viewer', 'ready');"""
STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;vertical-align:top}th{background:#f3f3f3}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}img{max-width:100%}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:12.5px}
.grid{display:grid;gap:8px;margin:.4em 0 1em}.col{border:1px solid #ddd;border-radius:4px}
.col .head{background:#f3f3f3;padding:2px 6px;font-weight:600}.col pre{padding:6px}
.ok{color:#176f2c}.bad{color:#a4281b}.item summary{cursor:pointer}
.input{background:#fafafa;border-left:3px solid #ccc;padding:4px 8px;margin:.3em 0}
.parsed{padding:2px 6px;border-bottom:1px dashed #ddd;font-size:13px}"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def inline(text: str, images: Mapping[str, str]) -> str:
    """One line of markdown to HTML; everything that is not markup is escaped."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(_esc(text[pos:m.start()]))
        pos = m.end()
        if m.group("esc"):
            out.append(_esc(m.group("esc")[1]))
        elif m.group("ticks"):
            out.append(f"<code>{_esc(m.group('code').strip())}</code>")
        elif m.group("entity"):
            out.append(m.group("entity"))  # a character reference: text, never markup
        elif m.group("img"):
            src = images.get(m.group("src"))
            out.append(f'<img src="{src}" alt="{_esc(m.group("alt"))}">' if src
                       else _esc(m.group(0)))
        else:
            out.append(f"<strong>{inline(m.group('bold'), images)}</strong>")
    out.append(_esc(text[pos:]))
    return "".join(out)


def split_row(line: str) -> list[str]:
    """Cells of a GitHub table row: split on pipes not escaped by a backslash."""
    cells, cell, i = [], [], 0
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            cell.append(body[i:i + 2])
            i += 2
            continue
        if ch == "|":
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(ch)
        i += 1
    if "".join(cell).strip():
        cells.append("".join(cell).strip())
    return cells


def _table(lines: list[str], images: Mapping[str, str]) -> str:
    head = split_row(lines[0])
    aligns = [_ALIGN.get(c.strip(), "left") for c in split_row(lines[1])] \
        if len(lines) > 1 else []
    rows = [split_row(line) for line in lines[2:]]

    def cells(values: list[str], tag: str) -> str:
        return "".join(f'<{tag} style="text-align:{aligns[i] if i < len(aligns) else "left"}">'
                       f"{inline(v, images)}</{tag}>" for i, v in enumerate(values))

    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    return f"<table><thead><tr>{cells(head, 'th')}</tr></thead><tbody>{body}</tbody></table>"


def markdown_to_html(text: str, images: Mapping[str, str] | None = None) -> str:
    """The report's markdown subset as HTML blocks."""
    images = images or {}
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            slug = re.sub(r"[^a-z0-9]+", "-", heading.group(2).lower()).strip("-")
            blocks.append(f'<h{level} id="{_esc(slug)}">{inline(heading.group(2), images)}'
                          f"</h{level}>")
            i += 1
            continue
        start = i
        if line.lstrip().startswith("|"):
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                i += 1
            blocks.append(_table(lines[start:i], images))
        elif line.startswith(("- ", "* ")):
            while i < len(lines) and lines[i].startswith(("- ", "* ")):
                i += 1
            items = "".join(f"<li>{inline(item[2:], images)}</li>" for item in lines[start:i])
            blocks.append(f"<ul>{items}</ul>")
        else:
            while i < len(lines) and lines[i].strip() and not _HEADING.match(lines[i]) \
                    and not lines[i].lstrip().startswith("|") \
                    and not lines[i].startswith(("- ", "* ")):
                i += 1
            blocks.append(f"<p>{inline(' '.join(lines[start:i]), images)}</p>")
    return "\n".join(blocks)


def data_uris(markdown: str, root: Path) -> dict[str, str]:
    """Every relative figure (SVG or PNG) the markdown links, read from ``root`` and encoded as a
    data URI."""
    found: dict[str, str] = {}
    for src in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.(?:svg|png))\)", markdown):
        path = (root / src).resolve()
        if src.startswith(("/", "http:", "https:", "data:")) or not path.is_file() \
                or root.resolve() not in path.parents:
            continue
        kind = "svg+xml" if src.endswith(".svg") else "png"
        found[src] = f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode()
    return found


def _viewer(samples: pd.DataFrame, max_items: int) -> str:
    from harness.report.disagreements import first_outputs, item_scores

    outputs = first_outputs(samples)
    parts = ["<h2 id=\"outputs-side-by-side\">Outputs side by side</h2>",
             "<p>Every variant's output per item (first sample), items where the variants "
             "disagree first, each under the answer the parser took from it. All text is "
             "shown exactly as the model wrote it.</p>"]
    for task in samples["task"].astype(str).drop_duplicates():
        wide, kind = item_scores(samples, task)
        for model in wide.columns.get_level_values(0).unique():
            scores = wide[model]
            variants = [str(v) for v in scores.columns]
            spread = scores.max(axis=1) - scores.min(axis=1)
            order = sorted(scores.index, key=lambda i: (not spread[i] > 0, str(i)))
            parts.append(f'<section class="viewer"><h3>Task <code>{_esc(task)}</code>, model '
                         f"<code>{_esc(model)}</code></h3>"
                         '<p><label><input type="checkbox" class="only-disagree"> only items '
                         'where variants disagree</label> <input type="search" class="filter" '
                         'placeholder="filter by item id or input"></p>')
            for n, item in enumerate(order[:max_items]):
                disagree = bool(spread[item] > 0)
                parts.append(_viewer_item(task, str(model), str(item), variants, scores.loc[item],
                                          outputs, kind == "binary", disagree,
                                          expand=disagree and n < OPEN_ITEMS))
            if len(order) > max_items:
                parts.append(f"<p>{len(order) - max_items} more items are not shown.</p>")
            parts.append("</section>")
    return "\n".join(parts)


def _viewer_item(task: str, model: str, item: str, variants: list[str], scores: pd.Series,
                 outputs: pd.DataFrame, binary: bool, disagree: bool, expand: bool) -> str:
    from harness.report.disagreements import parsed_answer

    first = next((outputs.loc[(task, model, v, item)] for v in variants
                  if (task, model, v, item) in outputs.index), None)
    text_in = "" if first is None else str(first.get("input") or "")
    target = "" if first is None else str(first.get("target") or "")
    marks, columns = [], []
    for variant, score in zip(variants, scores, strict=True):
        good = score == score and score >= 1.0 if binary else None
        cls = "" if good is None else (" ok" if good else " bad")
        shown = "–" if score != score else (("✓" if good else "✗") if binary else f"{score:.2f}")
        marks.append(f'<span class="{cls.strip()}">{_esc(variant)} {shown}</span>')
        key = (task, model, variant, item)
        row = outputs.loc[key] if key in outputs.index else None
        output = None if row is None else row.get("output")
        answer = parsed_answer(row)
        parsed = ("" if answer is None else
                  f'<div class="parsed">parsed answer: <code>{_esc(answer or "(empty)")}</code>'
                  "</div>")
        columns.append(f'<div class="col"><div class="head{cls}">{_esc(variant)} · {shown}</div>'
                       f"{parsed}<pre>{_esc('' if output is None else output)}</pre></div>")
    search = _esc(f"{item} {text_in}".lower())
    return (f'<details class="item{" disagree" if disagree else ""}" data-search="{search}"'
            f'{" open" if expand else ""}>'
            f"<summary><code>{_esc(item)}</code> target <b>{_esc(target)}</b> "
            f"{' '.join(marks)}</summary>"
            f'<div class="input"><pre>{_esc(text_in)}</pre></div>'
            f'<div class="grid" style="grid-template-columns:repeat({len(variants)},1fr)">'
            f"{''.join(columns)}</div></details>")


def render_html(markdown: str, samples: pd.DataFrame, *, image_root: Path, title: str,
                max_items: int = MAX_VIEWER_ITEMS) -> str:
    """The whole page: the report, then the viewer; one file, nothing fetched."""
    body = markdown_to_html(markdown, data_uris(markdown, image_root))
    viewer = _viewer(samples, max_items) if not samples.empty else ""
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
           f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
            f"{viewer}\n<script>{SCRIPT}</script>\n</body></html>\n")
