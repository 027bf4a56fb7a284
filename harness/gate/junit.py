"""JUnit XML, the format every CI system turns into a test list.

One test case per task x variant x model (classname ``harness.<task>.<model>``, name the
variant), so a regression shows up in the CI's test view under the prompt that caused it, with
the whole explanation (size, CI, p-value, flipped items with outputs) as the failure text.
Inconclusive cells (missing from the run, too many errors, too few items) are errors (the
check could not judge them; failures with ``--strict``); cells new since the baseline are
skipped. The layout
follows the schema Jenkins, GitLab and GitHub reporters read (``testsuites`` > ``testsuite`` with
name, tests, failures, errors, skipped, time, timestamp, hostname, id and package, then
properties, test cases, system-out and system-err).
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from harness.gate.check import CellResult, CheckResult
from harness.gate.formats import detail_lines, headline, rule, verdict
from harness.report.mdtext import one_line

# XML 1.0 forbids most control characters; model outputs can contain them.
SKIPPED = ("new",)
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def failure_text(cell: CellResult, result: CheckResult, max_items: int = 50) -> str:
    lines = [f"{verdict(cell)}  {cell.name}", *[f"  {d}" for d in detail_lines(cell, result)]]
    for flip in cell.worse[:max_items]:
        lines += [f"    {flip.item_id}" + (f"  (target: {one_line(flip.target, 60)})"
                                           if flip.target else ""),
                  f"      before: {one_line(flip.output_before, 300)}",
                  f"      after:  {one_line(flip.output_after, 300)}"]
    if len(cell.worse) > max_items:
        lines.append(f"    ... and {len(cell.worse) - max_items} more")
    return "\n".join(lines)


def render_junit(result: CheckResult, *, suite: str | None = None) -> str:
    """The check as a JUnit XML document (a string, UTF-8 declared)."""
    cells = result.cells
    strict = result.settings.strict
    unsure = sum(c.status == "inconclusive" for c in cells)
    failures = sum(c.failed for c in cells) + (unsure if strict else 0)
    errors = 0 if strict else unsure
    skipped = sum(c.status in SKIPPED for c in cells)
    name = suite or f"harness {result.mode}: {result.current.get('experiment') or 'run'}"
    counts = {"tests": str(len(cells)), "failures": str(failures), "errors": str(errors),
              "skipped": str(skipped), "time": "0"}
    root = ET.Element("testsuites", {"name": _x(name), **counts})
    stamp = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
    ts = ET.SubElement(root, "testsuite", {
        "name": _x(name), **counts, "timestamp": stamp, "hostname": _x(socket.gethostname()),
        "id": "0", "package": "harness"})
    props = ET.SubElement(ts, "properties")
    s = result.settings
    for key, value in (("baseline", result.baseline.get("source")),
                       ("baseline_run", result.baseline.get("run_id")),
                       ("run", result.current.get("run_id")), ("alpha", s.alpha),
                       ("max_drop", s.max_drop), ("min_score", s.min_score),
                       ("correction", s.correction)):
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": _x(value)})
    for cell in cells:
        case = ET.SubElement(ts, "testcase", {
            "name": _x(cell.variant), "classname": _x(f"harness.{cell.task}.{cell.model}"),
            "time": "0"})
        if cell.failed or cell.status == "inconclusive":
            kind = ("regression" if cell.regression else "below-floor" if cell.failed
                    else "inconclusive")
            tag = "error" if cell.status == "inconclusive" and not strict else "failure"
            failure = ET.SubElement(case, tag, {"message": _x("; ".join(cell.reasons)),
                                                "type": kind})
            failure.text = _x(failure_text(cell, result))
        elif cell.status in SKIPPED:
            ET.SubElement(case, "skipped", {"message": _x("; ".join(cell.notes))})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _x("\n".join([verdict(cell), *detail_lines(cell, result), *cell.notes]))
    system_out = ET.SubElement(ts, "system-out")
    system_out.text = _x("\n".join([headline(result), rule(result), *result.changes]))
    ET.SubElement(ts, "system-err")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
