"""The report's SVG figures show the summary's numbers, and no name can break or inject into them.

The figures are read back the way a reader reads them: the axis is calibrated from its own tick
labels, then every point and whisker end is converted back to a score (or cost) and compared
with the ground truth: the pass rates the run was built with and the intervals of
``harness.analysis.summary``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from harness.analysis import summary
from harness.report import write_report
from harness.report.plots import score_svg, tradeoff_svg
from harness.results import load_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gate"))
from gate_synthetic import write_run

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = {
    "plain": 24,                                          # passes out of 30: ground truth
    'a<b & "c" \'d\'': 21,
    "</text><script>alert(1)</script><text>": 15,
    "]]><!-- x --><![CDATA[": 9,
    "ctl\x01\x1fchar": 27,
    "变体-中文-名字": 12,
    "very-long-" + "x" * 140: 18,
}
COST = {name: 0.0005 * (i + 1) for i, name in enumerate(HOSTILE)}  # USD per sample


def _run(root: Path, passes: dict[str, int], run_id: str) -> Path:
    run = write_run(root, run_id, {v: [1.0] * k + [0.0] * (30 - k) for v, k in passes.items()})
    lines = (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:  # a different cost per variant, so the trade-off has an x to check
        record["cost_usd"] = COST.get(record["variant"], 0.001)
    (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records),
                                       encoding="utf-8")
    return run


def _axis(root: ET.Element, cls: str, attr: str) -> tuple[float, float, float, float]:
    """(pixel, value) of the first and last tick of an axis, from the labels drawn on it."""
    ticks = [(float(t.get(attr, "nan")), float(t.text or "nan"))
             for t in root.iter(f"{NS}text") if t.get("class") == cls]
    assert len(ticks) >= 2
    (p0, v0), (p1, v1) = ticks[0], ticks[-1]
    return p0, v0, p1, v1


def _value(px: float, axis: tuple[float, float, float, float]) -> float:
    p0, v0, p1, v1 = axis
    return v0 + (px - p0) * (v1 - v0) / (p1 - p0)


def _tooltip(group: ET.Element) -> str:
    title = group.find(f"{NS}title")
    assert title is not None and title.text is not None
    return title.text


def read_score_figure(text: str) -> list[tuple[str, float, float, float, float]]:
    """Per row, top to bottom: (full name, y, mean, whisker low, whisker high) in points."""
    root = ET.fromstring(text)  # well-formed XML, whatever the names were
    axis = _axis(root, "tick-x", "x")
    rows = []
    for group in root.iter(f"{NS}g"):
        if group.get("class") != "row":
            continue
        name = _tooltip(group).rsplit(": ", 1)[0]
        point = group.find(f"{NS}circle")
        whisker = next(ln for ln in group.iter(f"{NS}line") if ln.get("class") == "whisker")
        ends = sorted(_value(float(whisker.get(k, "nan")), axis) for k in ("x1", "x2"))
        assert point is not None
        rows.append((name, float(point.get("cy", "nan")),
                     _value(float(point.get("cx", "nan")), axis), *ends))
    return rows


def _table(run: Path) -> pd.DataFrame:
    return summary(load_run(run)).set_index("variant")


def _clean(name: str) -> str:
    """What XML can hold of a name: control characters become U+FFFD."""
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", name)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("figures")
    run = _run(root, HOSTILE, "r-fig")
    return run, write_report(run, root / "reports", html=True)


def test_score_figure_shows_the_summary_means_and_intervals(hostile: tuple[Path, Path]) -> None:
    run, report = hostile
    svg = (report.parent / "r-fig" / "toy-scores.svg").read_text(encoding="utf-8")
    rows = read_score_figure(svg)
    table = _table(run)
    assert [r[0] for r in rows] == [_clean(v) for v in
                                    sorted(HOSTILE, key=lambda v: -HOSTILE[v])]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # best on top, one row each
    by_clean = {_clean(v): v for v in HOSTILE}
    for name, _, mean, low, high in rows:
        variant = by_clean[name]
        assert mean == pytest.approx(100 * HOSTILE[variant] / 30, abs=0.005)  # built-in truth
        truth = table.loc[variant]
        assert low == pytest.approx(100 * truth["ci_low"], abs=0.005)
        assert high == pytest.approx(100 * truth["ci_high"], abs=0.005)
        assert low < mean < high


def test_tradeoff_figure_places_cost_and_score(hostile: tuple[Path, Path]) -> None:
    run, report = hostile
    root = ET.fromstring((report.parent / "r-fig" / "toy-tradeoff.svg").read_text("utf-8"))
    x_axis, y_axis = _axis(root, "tick-x", "x"), _axis(root, "tick-y", "y")
    table = _table(run)
    by_clean = {_clean(v): v for v in HOSTILE}
    seen = set()
    for group in root.iter(f"{NS}g"):
        if group.get("class") != "point-group":
            continue
        number, rest = _tooltip(group).split(". ", 1)
        variant = by_clean[rest.rsplit(": ", 1)[0]]
        point = group.find(f"{NS}circle")
        assert point is not None
        assert _value(float(point.get("cx", "nan")), x_axis) == \
            pytest.approx(COST[variant], abs=1e-6)
        assert _value(float(point.get("cy", "nan")), y_axis) == \
            pytest.approx(100 * HOSTILE[variant] / 30, abs=0.01)
        whisker = next(ln for ln in group.iter(f"{NS}line") if ln.get("class") == "whisker")
        ends = sorted(_value(float(whisker.get(k, "nan")), y_axis) for k in ("y1", "y2"))
        assert ends == pytest.approx([100 * table.loc[variant, "ci_low"],
                                      100 * table.loc[variant, "ci_high"]], abs=0.01)
        labels = [t.text for t in group.iter(f"{NS}text")]
        assert labels[0] == number and labels[1].startswith(f"{number}. ")
        seen.add(variant)
    assert seen == set(HOSTILE)


def test_names_cannot_break_or_inject_into_the_svg_or_the_html(
        hostile: tuple[Path, Path]) -> None:
    _, report = hostile
    for path in (report.parent / "r-fig").iterdir():
        text = path.read_text(encoding="utf-8")
        root = ET.fromstring(text)
        tags = {el.tag.removeprefix(NS) for el in root.iter()}
        assert tags <= {"svg", "title", "rect", "g", "line", "circle", "text"}, tags
        assert "<script" not in text and "<!--" not in text and "<![CDATA[" not in text
    page = report.with_suffix(".html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(images) == 2  # both figures inlined, as images (which run no script)
    for data in images:
        ET.fromstring(base64.b64decode(data))
    assert page.count("<script>") == 1 and "<script>alert" not in page
    markdown = report.read_text(encoding="utf-8")
    assert re.findall(r"!\[[^\]]+\]\((r-fig/[^)]+)\)", markdown) == \
        ["r-fig/toy-scores.svg", "r-fig/toy-tradeoff.svg"]


def test_long_names_are_cut_in_the_chart_but_whole_in_the_tooltip(
        hostile: tuple[Path, Path]) -> None:
    _, report = hostile
    root = ET.fromstring((report.parent / "r-fig" / "toy-scores.svg").read_text("utf-8"))
    long = next(v for v in HOSTILE if v.startswith("very-long-"))
    names = [t.text or "" for t in root.iter(f"{NS}text") if t.get("class") == "name"]
    cut = next(n for n in names if n.startswith("very-long-"))
    assert cut.endswith("…") and len(cut) < 60
    assert any(_tooltip(g).startswith(long + ": ") for g in root.iter(f"{NS}g")
               if g.get("class") == "row")
    width = float(root.get("width", "nan"))
    for t in root.iter(f"{NS}text"):  # nothing drawn outside the picture
        assert 0 <= float(t.get("x", "nan")) <= width


def test_many_variants_and_models_get_a_row_each() -> None:
    rows = [{"task": "t", "model": f"model/{m}<&>", "variant": f"v{i}", "mean": (i + m) / 100,
             "ci_low": (i + m) / 100 - 0.05, "ci_high": (i + m) / 100 + 0.05}
            for i in range(40) for m in range(2)]
    table = pd.DataFrame(rows)
    read = read_score_figure(score_svg(table, "t"))
    assert len(read) == 80
    assert {r[0] for r in read} == {f"v{i} · model/{m}<&>" for i in range(40) for m in range(2)}
    ys = [r[1] for r in read]
    assert min(b - a for a, b in itertools.pairwise(ys)) >= 20  # rows do not overlap
    for name, _, mean, low, high in read:
        i, m = int(name[1:name.index(" ")]), int(name.split("/")[1][0])
        assert (mean, low, high) == pytest.approx((i + m, i + m - 5, i + m + 5), abs=0.005)


def test_missing_interval_draws_no_whisker_and_no_cost_draws_no_tradeoff() -> None:
    table = pd.DataFrame([{"task": "t", "model": "m", "variant": "a", "mean": 0.5,
                           "ci_low": float("nan"), "ci_high": float("nan")}])
    root = ET.fromstring(score_svg(table, "t"))
    assert not [ln for ln in root.iter(f"{NS}line") if ln.get("class") == "whisker"]
    ops = pd.DataFrame([{"task": "t", "model": "m", "variant": "a", "samples": 3,
                         "cost_usd": float("nan"), "latency_s": float("nan")}])
    assert tradeoff_svg(table, ops, "t") is None


def test_scores_beyond_0_100_widen_the_axis() -> None:
    table = pd.DataFrame([{"task": "t", "model": "m", "variant": "a", "mean": 1.2,
                           "ci_low": 1.1, "ci_high": 1.35},
                          {"task": "t", "model": "m", "variant": "b", "mean": -0.1,
                           "ci_low": -0.2, "ci_high": 0.0}])
    read = read_score_figure(score_svg(table, "t"))
    assert [r[2:] for r in read] == [pytest.approx((120, 110, 135), abs=0.005),
                                     pytest.approx((-10, -20, 0), abs=0.005)]


def test_a_secret_in_a_name_is_redacted_and_the_svg_stays_well_formed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIGTEST_API_KEY", "s3cr3t-value-42")
    run = _run(tmp_path, {"plain": 20, "v-s3cr3t-value-42": 10}, "r-secret")
    reports = tmp_path / "reports"
    (reports / "r-secret").mkdir(parents=True)
    (reports / "r-secret" / "toy-scores.png").write_bytes(b"\x89PNG old")  # an older report's
    write_report(run, reports)
    assert sorted(p.name for p in (reports / "r-secret").iterdir()) == \
        ["toy-scores.svg", "toy-tradeoff.svg"]  # only what the report links
    for path in (reports / "r-secret").iterdir():
        text = path.read_text(encoding="utf-8")
        assert "s3cr3t" not in text
        root = ET.fromstring(text)
        assert any("v-<redacted>" in (t.text or "") for t in root.iter(f"{NS}text"))


def test_the_summary_and_report_import_neither_scipy_stats_nor_matplotlib(tmp_path: Path) -> None:
    """Pass/fail, graded with repeats, and clustered runs: the table and the whole report."""
    import subprocess

    ones = [1.0] * 20 + [0.0] * 20
    runs = [write_run(tmp_path, "pf", {"a": ones, "b": ones[5:] + ones[:5]}),
            write_run(tmp_path, "graded", {"a": [[0.5, 0.7, 0.6]] * 40,
                                           "b": [[0.2, 0.9, 0.4]] * 40}, kind="graded"),
            write_run(tmp_path, "clustered", {"a": ones, "b": ones[::-1]},
                      clusters=[f"c{i // 4}" for i in range(40)])]
    code = ("import sys, warnings; warnings.simplefilter('ignore'); "
            "from harness.results import load_run; from harness.report import write_report; "
            "from harness.report.console import summary_table\n"
            "for run in sys.argv[2:]:\n"
            "    summary_table(load_run(run)); write_report(run, sys.argv[1], html=True)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'matplotlib'))))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "reports"),
                          *map(str, runs)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]", out.stdout
    assert len(list((tmp_path / "reports").glob("*.html"))) == 3
