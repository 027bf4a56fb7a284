"""Every table cell of the markdown report is text, never markup: hostile variant and model
names, server error messages and model outputs come out as the characters they are, in a
real CommonMark + GFM-table renderer as in the harness's own HTML converter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.mdtext import Markdown, cell

Factory = Callable[..., pd.DataFrame]
HOSTILE = [
    "<script>alert(1)</script>",
    "a | b",
    "**bold** _em_ `code` ~~gone~~",
    "[click](http://evil.example/x) ![img](http://evil.example/i.png)",
    "&lt;b&gt; entity",
    "back\\slash \\| pipe",
    "line one\nline two",
]


def _render(md: str) -> str:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(md)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_renders_as_its_own_text(text: str) -> None:
    md = f"| h |\n| :-- |\n| {cell(text)} |\n"
    html = _render(md)
    import html as html_lib
    import re

    body = re.search(r"<tbody>\s*<tr>\s*<td[^>]*>(.*?)</td>", html, re.S)
    assert body, html  # still one cell of one table
    shown = html_lib.unescape(body.group(1))
    assert shown == text.replace("\n", " ↵ ")  # every character, none interpreted


def test_harness_text_stays_readable_in_the_raw_file() -> None:
    for text in ["[59.8, 85.8]", "p<0.001", "few_shot_v2", "$0.0012", "6.5 points"]:
        assert cell(text) == text
    assert cell(Markdown("**+6.0**")) == "**+6.0**"


def test_every_table_of_the_report_escapes_names_errors_and_outputs(
    make_samples: Factory,
) -> None:
    df = make_samples(variants={"<b>v1</b>": 0.5, "v_2 | *x*": 0.7}, n_items=40,
                      error_rate=0.1, seed=2)
    df["model"] = "m<img src=x onerror=alert(1)>"
    hostile_error = ("AuthenticationError: <script>steal()</script> | [help](http://evil.x) "
                     "**bad**")
    df.loc[df["error"].notna(), "error"] = hostile_error
    df["output"] = "<script>alert('out')</script> | **o**"
    df["cached"] = False
    df["sample_id"] = [f"s{i}" for i in range(len(df))]
    df["input"] = "What is it?"
    manifest = {"run_id": "r1", "models": {"m": {}}, "scorers": {"t": [
        {"name": "exact", "kind": "binary"}]}, "config": {}}
    df.attrs = {"manifest": manifest}
    md = render_markdown(df, manifest)
    html = _render(md)
    # No tag, link, image, emphasis or strike came from the data.
    for tag in ("<script", "<img", "<b>", "<a ", "<em>", "<s>", "<del>"):
        assert tag not in html, tag
    assert "&lt;script&gt;steal()&lt;/script&gt;" in html  # the error is shown, as text
    # The only bold is the harness's own (significant matrix entries).
    for strong in html.split("<strong>")[1:]:
        assert strong.split("</strong>")[0].strip().lstrip("+-−").replace(".", "").replace(
            " (p ", "").replace(")", "").replace("e-", "").replace("-", "").isalnum()
    # The errors table still has two columns on every row.
    errors = md.split("## Errors")[1].split("## Cost")[0]
    rows = [line for line in errors.splitlines() if line.startswith("| ")]
    assert len(rows) >= 3
    page = render_html(md, df, image_root=Path("."), title="r1")
    assert "<script>steal()" not in page and "<img src=x" not in page
