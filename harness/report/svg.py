"""A small SVG writer for the report's figures: lines, circles and text, nothing else.

Why our own: matplotlib cost every run about half a second and 60 MB of imports to draw two
simple charts. SVG is text, so the figures are a few string joins, open in any browser, render
in markdown on GitHub and inline into the HTML report.

Names in a figure (variants, models, tasks) are user text. Everything written as text or as an
attribute goes through :func:`xml_text`: characters XML cannot hold (control characters, lone
surrogates) become U+FFFD, and ``& < > " '`` are escaped, so a name can neither break the file
nor add markup to it.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
COLOR = "#3366aa"
GRID = "#e3e3e3"
INK = "#222222"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """``value`` as XML character data, safe in text and in a double- or single-quoted
    attribute."""
    return html.escape(_NOT_XML.sub("\ufffd", str(value)), quote=True)


def text_width(text: str, size: float) -> float:
    """A generous estimate of ``text``'s width in pixels in a sans-serif font (wide East Asian
    characters count double); used only for layout, never for values."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return (0.6 * (len(text) - wide) + 1.1 * wide) * size


def shorten(text: str, max_width: float, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``max_width`` (the full text goes in a tooltip)."""
    if text_width(text, size) <= max_width:
        return text
    cut = text
    while cut and text_width(cut + "…", size) > max_width:
        cut = cut[:-1]
    return cut + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:  # one value: a range around it (from 0 when it is 0)
        pad = abs(low) * 0.5 or 1.0
        low, high = (low - pad if low else low), high + pad
    raw = (high - low) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step
    ticks, k = [], 0
    while not ticks or ticks[-1] < high - 1e-9 * step:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def tick_label(value: float) -> str:
    """A tick's label: as few digits as it needs (0, 20, 0.0005, 1.5)."""
    return f"{value:.6g}" if value != 0 else "0"


def num(value: float) -> str:
    """A coordinate, to 1/100 of a pixel."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Canvas:
    """An SVG document built element by element; :meth:`render` gives the file's text."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []

    def open_group(self, cls: str, tooltip: str | None = None) -> None:
        self.parts.append(f'<g class="{xml_text(cls)}">')
        if tooltip is not None:
            self.parts.append(f"<title>{xml_text(tooltip)}</title>")

    def close_group(self) -> None:
        self.parts.append("</g>")

    def line(self, x1: float, y1: float, x2: float, y2: float, *, cls: str,
             stroke: str = INK, width: float = 1.0) -> None:
        self.parts.append(f'<line class="{cls}" x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" '
                          f'y2="{num(y2)}" stroke="{stroke}" stroke-width="{num(width)}"/>')

    def circle(self, cx: float, cy: float, r: float, *, cls: str, fill: str = COLOR) -> None:
        self.parts.append(f'<circle class="{cls}" cx="{num(cx)}" cy="{num(cy)}" r="{num(r)}" '
                          f'fill="{fill}"/>')

    def text(self, x: float, y: float, content: str, *, cls: str, size: float = 12,
             anchor: str = "start", weight: str = "normal", rotate: bool = False,
             middle: bool = False) -> None:
        """Text at (x, y): its baseline there, or with ``middle`` its vertical centre."""
        turn = f' transform="rotate(-90 {num(x)} {num(y)})"' if rotate else ""
        turn += ' dominant-baseline="central"' if middle else ""
        self.parts.append(f'<text class="{cls}" x="{num(x)}" y="{num(y)}" font-size="{num(size)}" '
                          f'text-anchor="{anchor}" font-weight="{weight}"{turn}>'
                          f"{xml_text(content)}</text>")

    def render(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(self.width)}" '
                f'height="{num(self.height)}" viewBox="0 0 {num(self.width)} '
                f'{num(self.height)}" font-family="{xml_text(FONT)}" fill="{INK}">'
                f"<title>{xml_text(self.title)}</title>"
                f'<rect width="100%" height="100%" fill="#ffffff"/>')
        return "\n".join([head, *self.parts, "</svg>\n"])
