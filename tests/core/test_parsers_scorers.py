"""Answer parsers and scorers on the outputs small and large models really produce."""

from __future__ import annotations

import pytest

from harness.parsers import build_parser, check_step
from harness.scorers import build_scorer, check_scorer


def parse(steps: list, text: str, choices: tuple[str, ...] = ()) -> str:
    return build_parser([(s, {}) if isinstance(s, str) else s for s in steps], choices)(text)


@pytest.mark.parametrize(
    ("steps", "text", "expected"),
    [
        (["strip"], "  **Paris**  ", "Paris"),
        (["first_line"], "\n\npositive\nBecause it is good.", "positive"),
        (["last_number"], "3 apples and 4 pears make 7.", "7"),
        (["last_number"], "The total is 1,234,567 dollars", "1234567"),
        (["last_number"], "It is -12.5 degrees", "-12.5"),
        (["last_number"], "It is 42.0", "42"),
        (["last_number"], "It is 42.00", "42"),
        (["last_number"], "about 1.50 each", "1.5"),
        (["last_number"], "in 2020.", "2020"),
        (["last_number"], "no digits here", "no digits here"),
        (["answer_is"], "First 2+2=4. Then 4*3=12.\nThe answer is 12.", "12"),
        (["answer_is"], "answer: B) because", "B) because"),
        (["answer_is", "last_number"], "So 5 then 6. The final answer is 11", "11"),
        (["answer_is"], "no marker at all", "no marker at all"),
        ([("choice", {"letters": True})], "(C)", "C"),
        ([("choice", {"letters": True})], "The answer is B.", "B"),
        ([("choice", {"letters": True})], "D. Jupiter is the largest", "D"),
        ([("choice", {"letters": True})], "I think a planet", "I think a planet"),
        (["json"], 'Sure! {"name": "Ann", "n": 2} hope it helps', '{"name":"Ann","n":2}'),
        (["json"], "no json {here", ""),
        ([("regex", {"pattern": r"label=(\w+)", "group": 1})], "x label=neg y", "neg"),
        (["lowercase"], "POSITIVE", "positive"),
    ],
)
def test_parsers(steps: list, text: str, expected: str) -> None:
    assert parse(steps, text) == expected


def test_choice_maps_to_the_first_label_mentioned() -> None:
    choices = ("positive", "negative")
    assert parse(["choice"], "Negative. Not positive at all.", choices) == "negative"
    assert parse(["choice"], "It's positive!", choices) == "positive"
    assert parse(["choice"], "neutral", choices) == "neutral"


@pytest.mark.parametrize(
    ("name", "args", "answer", "target", "score"),
    [
        ("exact_match", {}, " Positive. ", "positive", 1.0),
        ("exact_match", {}, "positive review", "positive", 0.0),
        ("includes", {}, "I'd say Paris, France", "paris", 1.0),
        ("regex", {"pattern": r"^\d+$"}, "123", "", 1.0),
        ("numeric", {}, "12", "12.0", 1.0),
        ("numeric", {}, "12.01", "12", 0.0),
        ("numeric", {"tolerance": 0.05}, "12.01", "12", 1.0),
        ("numeric", {}, "twelve", "12", 0.0),
        ("choice", {}, "(B)", "B", 1.0),
        ("choice", {}, "C", "B", 0.0),
        ("token_f1", {}, "the red fox", "red fox", 1.0),
        ("token_f1", {}, "red dog", "red fox", 0.5),
        ("token_f1", {}, "", "red fox", 0.0),
        ("json_valid", {"schema": {"type": "object", "required": ["a"]}}, '{"a": 1}', "", 1.0),
        ("json_valid", {"schema": {"type": "object", "required": ["a"]}}, '{"b": 1}', "", 0.0),
        ("json_valid", {}, "not json", "", 0.0),
        ("json_fields", {"fields": ["a", "b"]}, '{"a": "X", "b": 2}', '{"a": "x", "b": 3}', 0.5),
        ("json_fields", {}, "garbage", '{"a": 1}', 0.0),
        ("json_fields", {"fields": ["a", "b"]}, '{"a": 1}', '{"a": 1, "b": null}', 1.0),
        ("json_fields", {"fields": ["a", "b"]}, '{"a": 1, "b": "None"}', '{"a": 1, "b": null}',
         0.5),
    ],
)
def test_scorers(name: str, args: dict, answer: str, target: str, score: float) -> None:
    assert build_scorer(name, args).score(answer, target) == pytest.approx(score)


def test_scorer_kinds() -> None:
    assert build_scorer("exact_match", {}).kind == "binary"
    assert build_scorer("token_f1", {}).kind == "graded"
    assert build_scorer("json_fields", {}).kind == "graded"


def test_bad_steps_are_rejected_with_reasons() -> None:
    with pytest.raises(ValueError, match=r"unknown parser 'nope'.*known: "):
        check_step("nope", {})
    with pytest.raises(ValueError, match="takes pattern, group, ignore_case"):
        check_step("regex", {"patern": "x"})
    with pytest.raises(ValueError, match="unknown scorer"):
        check_scorer("accuracy", {})
    with pytest.raises(ValueError, match="scorer 'json_valid'"):
        check_scorer("json_valid", {"schema": {"type": 12}})
