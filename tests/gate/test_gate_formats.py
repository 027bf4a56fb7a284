"""What CI reads: JUnit XML, the markdown summary, JSON; written by ``harness check --run``."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from gate_synthetic import write_run

from harness.cli import main

NASTY = 'says <script>alert("x")</script> | *bold* `code` [link](javascript:x) \x07 \nline 2'
ONES = [1.0] * 30

# The JUnit XML schema CI systems read (Ant's junit task, as extended by Jenkins' junit-10.xsd:
# skipped counts and elements): elements, their allowed children and attributes.
SCHEMA: dict[str, tuple[set[str], set[str], set[str]]] = {
    # element: (required attributes, optional attributes, allowed children)
    "testsuites": (set(), {"name", "time", "tests", "failures", "errors", "disabled", "skipped"},
                   {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "time", "timestamp", "hostname"},
                  {"skipped", "disabled", "id", "package"},
                  {"properties", "testcase", "system-out", "system-err"}),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, set(), set()),
    "testcase": ({"name", "classname", "time"}, {"status", "assertions"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"type"}, {"message"}, set()),
    "error": ({"type"}, {"message"}, set()),
    "skipped": (set(), {"message"}, set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def _validate(element: ET.Element) -> None:
    required, optional, children = SCHEMA[element.tag]
    attrs = set(element.attrib)
    assert required <= attrs, f"{element.tag} lacks {required - attrs}"
    assert attrs <= required | optional, f"{element.tag} has unknown {attrs - required - optional}"
    for child in element:
        assert child.tag in children, f"{child.tag} not allowed in {element.tag}"
        _validate(child)
    if element.tag == "testsuite":
        assert TIMESTAMP.match(element.get("timestamp", ""))
        order = [c.tag for c in element]
        assert order == sorted(order, key=["properties", "testcase", "system-out",
                                           "system-err"].index)


@pytest.fixture
def checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A check with a regression, a clean cell and a new cell, every format written."""
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_run(tmp_path, "before", {"worse": ONES, "same": ONES})
    run = write_run(tmp_path, "after", {"worse": [0.0] * 10 + ONES[:20], "same": ONES,
                                        "new": ONES}, outputs={"worse": [NASTY] * 30})
    code = main(["check", "--run", str(run), "--baseline", str(tmp_path / "before"),
                 "--junit", "out/report.xml", "--summary", "out/summary.md",
                 "--json", "out/check.json", "--max-items", "4"])
    return {"code": code, "xml": Path("out/report.xml").read_text(encoding="utf-8"),
            "md": Path("out/summary.md").read_text(encoding="utf-8"),
            "json": json.loads(Path("out/check.json").read_text()),
            "step": summary.read_text(encoding="utf-8")}


def test_junit_follows_the_schema_with_one_case_per_cell(checked: dict[str, object]) -> None:
    assert checked["code"] == 1
    root = ET.fromstring(str(checked["xml"]).encode())
    _validate(root)
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == ["new", "same", "worse"]
    assert {c.get("classname") for c in cases.values()} == {"harness.toy.m"}
    for node in (root, suite):
        assert (node.get("tests"), node.get("failures"), node.get("errors"),
                node.get("skipped")) == ("3", "1", "1", "1")
    failure = cases["worse"].find("failure")
    assert failure is not None and failure.get("type") == "regression"
    assert "score fell 33.3 points" in (failure.get("message") or "")
    text = failure.text or ""
    assert "i000" in text and "before: out worse 0" in text and "<script>" in text
    assert "\x07" not in str(checked["xml"])  # control characters are not valid XML 1.0
    # 30 unchanged items cannot show "within 2 points": an error (not judged), not a pass
    assert cases["same"].find("failure") is None and cases["new"].find("skipped") is not None
    unsure = cases["same"].find("error")
    assert unsure is not None and unsure.get("type") == "inconclusive"


def _tables(markdown: str) -> list[list[str]]:
    blocks, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_summary_tables_are_well_formed(checked: dict[str, object]) -> None:
    md = str(checked["md"])
    assert md.startswith("## ❌ Prompt regression check: FAILED")
    tables = _tables(md)
    assert len(tables) == 2  # the cell table and the flipped items of the regression
    for table in tables:
        width = len(_cells(table[0]))
        assert re.fullmatch(r"\|( (:--|--:|:-:) \|)+", table[1])
        assert all(len(_cells(row)) == width for row in table), table
    flips = tables[1]
    assert len(flips) == 2 + 4  # --max-items 4
    assert "&lt;script&gt;" in md and "<script>" not in md  # outputs are text, never HTML
    assert str(checked["step"]).startswith("earlier step\n") and md in str(checked["step"])


def test_markdown_renders_as_tables(checked: dict[str, object]) -> None:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py not installed")
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(
        str(checked["md"]))
    assert html.count("<table>") == 2 and "<script>" not in html
    assert html.count("<tr>") == 1 + 3 + 1 + 4  # header + 3 cells, header + 4 flipped items


def test_json_carries_every_flipped_item(checked: dict[str, object]) -> None:
    data = checked["json"]
    assert isinstance(data, dict) and data["exit_code"] == 1 and not data["passed"]
    worse = next(c for c in data["cells"] if c["variant"] == "worse")
    assert len(worse["worse"]) == 10 and worse["worse"][0]["output_after"] == NASTY
    assert worse["ci_low"] < worse["diff"] < worse["ci_high"] and worse["p_adjusted"] < 0.05
    assert data["settings"] == {"alpha": 0.05, "max_drop": 0.02, "min_score": None,
                                "correction": "holm", "confidence": 0.95, "strict": False,
                                "max_error_rate": 0.1, "min_pass_repeats": None}
    assert data["outcome"] == "fail"
    same = next(c for c in data["cells"] if c["variant"] == "same")
    assert same["status"] == "inconclusive" and same["error_rate"] == 0.0
