"""The reviewer's report: figures, disagreements, and an HTML twin that never runs model output."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from gate_synthetic import write_run

from harness.report import write_report
from harness.report.html import markdown_to_html, split_row

PAYLOAD = ('<script>document.title="pwned";document.body.appendChild(Object.assign('
           'document.createElement("div"),{id:"pwned"}))</script>'
           '<img src=x onerror="document.title=\'pwned2\'"> | **not bold** `tick`')
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run where one variant's outputs try to inject HTML and script, reported with --html."""
    root = tmp_path_factory.mktemp("report")
    ones = [1.0] * 30
    run = write_run(root, "r-xss", {"plain": ones, "xss": [0.0] * 8 + ones[:22]},
                    outputs={"xss": [PAYLOAD] * 30})
    return write_report(run, root / "reports", html=True)


def test_markdown_report_links_figures_and_shows_disagreements(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]+\]\((r-xss/[^)]+\.svg)\)", text)
    assert sorted(links) == ["r-xss/toy-scores.svg", "r-xss/toy-tradeoff.svg"]
    for link in links:
        assert (report.parent / link).read_text(encoding="utf-8").startswith("<svg ")
    assert "#### Significance matrix" in text and "**+26.7 (p " in text
    assert "### Where variants disagree" in text and "| m | plain | xss | 8 | 0 | 30 |" in text
    assert "<script>" not in text and "&lt;script&gt;" in text  # shown, never interpreted
    for block in re.findall(r"(?:^\|.*\n)+", text, flags=re.M):
        rows = block.splitlines()
        assert len({len(split_row(r)) for r in rows}) == 1, rows  # well-formed tables


def test_html_is_self_contained_and_escapes_everything(report: Path) -> None:
    page = report.with_suffix(".html").read_text(encoding="utf-8")
    assert page.count("<script>") == 1  # the viewer's own script, nothing else
    assert "<img src=x" not in page and 'id="pwned"' not in page
    assert re.findall(r'<img src="(.{26})', page) == ["data:image/svg+xml;base64,"] * 2
    assert "http://" not in page and "https://" not in page
    assert "Content-Security-Policy" in page and "script-src 'sha256-" in page
    assert page.count('class="item disagree"') == 8  # the side-by-side viewer


def test_markdown_to_html_keeps_text_as_text() -> None:
    html = markdown_to_html(
        "# T `x<y`\n\nraw <b>html</b> &lt;kept&gt; \\*lit\\* **bold** ![a](evil.png)\n\n"
        "| a | b |\n| :-- | --: |\n| 1 \\| 2 | &#124; |\n\n- item <i>", {"ok.png": "data:x"})
    assert '<h1 id="t-x-y">T <code>x&lt;y</code></h1>' in html
    assert "raw &lt;b&gt;html&lt;/b&gt; &lt;kept&gt; *lit* <strong>bold</strong>" in html
    assert "![a](evil.png)" in html and "<img" not in html  # only the report's own figures
    assert '<td style="text-align:left">1 | 2</td><td style="text-align:right">&#124;</td>' \
        in html
    assert "<li>item &lt;i&gt;</li>" in html


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                    "(apt-get install -y chromium)")
def test_html_in_headless_chromium_shows_script_as_text(report: Path, tmp_path: Path) -> None:
    url = report.with_suffix(".html").resolve().as_uri()
    shot = tmp_path / "report.png"
    taken = _chromium(f"--screenshot={shot}", "--window-size=1200,900", url, tmp=tmp_path)
    assert shot.is_file() and shot.stat().st_size > 10_000, taken.stderr[-2000:]
    dom = _chromium("--dump-dom", url, tmp=tmp_path).stdout
    # had the injected script or onerror run, the title would be changed and the div added
    assert "<title>Run r-xss</title>" in dom and '<div id="pwned">' not in dom
    assert "<img src=\"x\"" not in dom
    assert '&lt;script&gt;document.title="pwned"' in dom  # the output itself is visible
    assert 'data-viewer="ready"' in dom  # while the report's own script did run
