"""No model answer can crash or stall a parser or scorer, and any text is stored losslessly.

Issue 11: a lone UTF-16 surrogate, JSON nested 100,000 deep, a 5,000-digit integer and a regex
group that does not exist each ended a whole run. Here every built-in parser and scorer meets
each such answer and must return (quickly) a string or a score; the run-level behaviour is in
tests/run/test_run_scoring_errors.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.cache import ResponseCache
from harness.models.client import Completion
from harness.parsers import build_parser
from harness.parsers import names as parser_names
from harness.results import RunWriter, read_records, write_json_atomic
from harness.scorers import build_scorer

SURROGATE = "caf\u00e9 \ud800 end"
HOSTILE = {
    "surrogate": SURROGATE,
    "json surrogate": '{"n": 1, "note": "\\ud800"}',
    "deep json": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "deep unclosed json": '{"a":' * 100_000,
    "deep arrays": "[" * 100_000,
    "many braces": "{" * 100_000,
    "huge integer json": '{"n": ' + "7" * 5000 + "}",
    "huge integer": "The answer is " + "7" * 5000,
    "huge exponent": "The answer is 1e999999999999",
    "many boxed": "\\boxed{" * 50_000,
    "long line of signs": "-" * 200_000 + "5",
    "nul and controls": "\x00\x01\x1b[31m -58 \x7f",
}
SCORER_ARGS = {"regex": {"pattern": r"\d+"}, "json_fields": {"fields": ["n"]}}
PARSER_ARGS = {"regex": {"pattern": r"answer is (\S+)", "group": 1}}
LIMIT_S = 5.0  # per call: each takes well under a second; the old code took minutes


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_parser_returns_a_string_quickly(name: str) -> None:
    text = HOSTILE[name]
    for parser in parser_names():
        parse = build_parser([(parser, PARSER_ARGS.get(parser, {}))], ("positive", "-58"))
        started = time.perf_counter()
        out = parse(text)
        assert isinstance(out, str), parser
        assert time.perf_counter() - started < LIMIT_S, parser


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_scorer_returns_a_score_quickly(name: str) -> None:
    text = HOSTILE[name]
    from harness.scorers import names as scorer_names

    for scorer in scorer_names():
        score = build_scorer(scorer, SCORER_ARGS.get(scorer, {})).score
        for answer, target in ((text, '{"n": 1}'), ('{"n": 1}', text), (text, text)):
            started = time.perf_counter()
            value = score(answer, target)
            assert 0.0 <= value <= 1.0, scorer
            assert time.perf_counter() - started < LIMIT_S, scorer


def test_deep_and_huge_json_get_the_verdict_json_gives_them() -> None:
    valid = build_scorer("json_valid", {}).score
    assert valid(HOSTILE["deep json"], "") == 0.0  # deeper than the documented limit
    assert valid('{"a":' * 50 + "1" + "}" * 50, "") == 1.0  # within it
    assert valid(HOSTILE["huge integer json"], "") == 1.0  # valid JSON, read exactly
    parse = build_parser([("json", {})])
    assert parse(HOSTILE["deep json"]) == ""
    # the 5,000-digit integer survives the json parser digit for digit
    assert json.loads(parse("Here: " + HOSTILE["huge integer json"]), parse_int=str)["n"] == \
        "7" * 5000
    fields = build_scorer("json_fields", {"fields": ["n"]}).score
    assert fields(HOSTILE["huge integer json"], HOSTILE["huge integer json"]) == 1.0
    assert fields(HOSTILE["huge integer json"], '{"n": 7}') == 0.0


def test_a_lone_surrogate_survives_the_results_file(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path)
    writer.append({"sample_id": "s1", "output": SURROGATE, "answer": "\udfff"})
    writer.append({"sample_id": "s2", "output": "plain é ✓", "answer": "x"})
    writer.close()
    records = {r["sample_id"]: r for r in read_records(tmp_path)}
    assert records["s1"]["output"] == SURROGATE and records["s1"]["answer"] == "\udfff"
    assert records["s2"]["output"] == "plain é ✓"
    assert "plain é ✓" in (tmp_path / "samples.jsonl").read_text(encoding="utf-8")
    write_json_atomic(tmp_path / "m.json", {"text": SURROGATE})
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["text"] == SURROGATE


def test_a_lone_surrogate_survives_the_cache_and_leaves_it_working(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite", flush_every=1)
    cache.put("k1", "m", Completion(text=SURROGATE))
    cache.put("k2", "m", Completion(text="after"))
    assert cache.db is not None  # not disabled by the odd answer
    hit = cache.get("k1")
    assert hit is not None and hit.text == SURROGATE
    cache.close()
    reopened = ResponseCache(tmp_path / "c.sqlite")
    assert reopened.get("k1").text == SURROGATE  # type: ignore[union-attr]
    assert reopened.get("k2").text == "after"  # type: ignore[union-attr]
    reopened.close()


def test_a_record_that_cannot_be_written_becomes_a_scoring_error(tmp_path: Path) -> None:
    from harness.runner import _append

    loop: list = []
    loop.append(loop)  # json.dumps raises ValueError: circular reference
    writer = RunWriter(tmp_path)
    record = {"sample_id": "s1", "output": "ok", "answer": "ok", "scores": {"exact": 1.0},
              "error": None, "scoring_error": None, "retrieved": loop}
    written = _append(writer, record)
    writer.close()
    assert written["scoring_error"].startswith("record could not be written: ValueError")
    assert written["scores"] == {}
    [stored] = read_records(tmp_path)
    assert stored["output"] == "ok" and stored["scoring_error"] == written["scoring_error"]
