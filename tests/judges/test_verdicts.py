"""Verdict parsing: the last explicit verdict line wins, and nothing else is ever guessed."""

from __future__ import annotations

import pytest

from harness.judges.verdicts import Grade, VerdictError, parse_verdict

PASS_FAIL = Grade.parse("pass_fail")
SCALE = Grade.parse("1-5")
SCORE = Grade.parse("score")
PREFERENCE = Grade("preference")


@pytest.mark.parametrize(("text", "value"), [
    ("Looks right.\nVERDICT: PASS", 1.0),
    ("Wrong sum.\nVERDICT: FAIL", 0.0),
    ("**VERDICT:** **PASS**", 1.0),
    ("- verdict: fail.", 0.0),
    ("VERDICT = PASS", 1.0),
    ("VERDICT: PASS - the numbers match", 1.0),
    ("VERDICT: FAIL (off by one)", 0.0),
    # The judge changed its mind: its last word counts.
    ("First thought:\nVERDICT: PASS\nOn reflection the sign is wrong.\nVERDICT: FAIL", 0.0),
    ("VERDICT: FAIL\nActually it is fine.\nVERDICT: PASS", 1.0),
    ("Final verdict: FAIL", 0.0),
    ("**Overall verdict:** PASS", 1.0),
])
def test_pass_fail_verdicts(text: str, value: float) -> None:
    verdict = parse_verdict(text, PASS_FAIL)
    assert verdict.value == value
    assert verdict.raw.upper().replace("*", "").startswith("VERDICT") or "verdict" in verdict.raw


@pytest.mark.parametrize("text", [
    "",
    "The answer is correct, so I would pass it.",           # prose is never read as a verdict
    "The verdict: PASS is what I would give",               # not at the start of a line
    "My verdict: PASS",                                     # only Final/Overall may precede
    "VERDICT: PASS or FAIL",                                # the instruction echoed back
    "VERDICT: [PASS/FAIL]",
    "VERDICT: PASS\nVERDICT: maybe",                        # the last line is unreadable
    "GRADE: 5",                                             # another kind of verdict
])
def test_unreadable_pass_fail_verdicts_raise(text: str) -> None:
    with pytest.raises(VerdictError):
        parse_verdict(text, PASS_FAIL)


def test_the_explanation_is_the_reasoning_before_the_verdict() -> None:
    verdict = parse_verdict("The sum 3 + 4 is 7, as the response says.\nVERDICT: PASS", PASS_FAIL)
    assert verdict.explanation == "The sum 3 + 4 is 7, as the response says."
    assert verdict.raw == "VERDICT: PASS"


@pytest.mark.parametrize(("text", "grade", "value"), [
    ("GRADE: 5", 5, 1.0), ("GRADE: 1", 1, 0.0), ("GRADE: 3", 3, 0.5), ("grade: 4/5", 4, 0.75),
    ("**GRADE:** 2.", 2, 0.25), ("GRADE: 4.0", 4, 0.75), ("GRADE: 4 (good)", 4, 0.75),
    ("GRADE: 2\nthen again\nGRADE: 4", 4, 0.75),
])
def test_scale_grades_map_onto_0_1_and_keep_the_grade(text: str, grade: int,
                                                       value: float) -> None:
    verdict = parse_verdict(text, SCALE)
    assert verdict.grade == grade and verdict.value == pytest.approx(value)


@pytest.mark.parametrize("text", ["GRADE: 6", "GRADE: 0", "GRADE: 3.5", "GRADE: 4/10",
                                  "GRADE: four", "GRADE: -1", "VERDICT: PASS", "GRADE: nan"])
def test_grades_off_the_scale_raise(text: str) -> None:
    with pytest.raises(VerdictError):
        parse_verdict(text, SCALE)


def test_a_zero_based_scale() -> None:
    scale = Grade.parse("0-10")
    assert parse_verdict("GRADE: 7", scale).value == pytest.approx(0.7)


@pytest.mark.parametrize(("text", "value"), [("SCORE: 0.8", 0.8), ("SCORE: 1", 1.0),
                                             ("SCORE: 0", 0.0), ("SCORE: 75%", 0.75)])
def test_scores(text: str, value: float) -> None:
    assert parse_verdict(text, SCORE).value == pytest.approx(value)


@pytest.mark.parametrize("text", ["SCORE: 1.2", "SCORE: -0.1", "SCORE: high", "SCORE: inf"])
def test_scores_outside_0_1_raise(text: str) -> None:
    with pytest.raises(VerdictError):
        parse_verdict(text, SCORE)


@pytest.mark.parametrize(("text", "choice"), [("VERDICT: A", "A"), ("VERDICT: Response B", "B"),
                                              ("VERDICT: tie", "TIE"), ("WINNER: B", "B")])
def test_preferences(text: str, choice: str) -> None:
    assert parse_verdict(text, PREFERENCE).choice == choice


@pytest.mark.parametrize("text", ["VERDICT: A or B", "VERDICT: C", "A is better"])
def test_unreadable_preferences_raise(text: str) -> None:
    with pytest.raises(VerdictError):
        parse_verdict(text, PREFERENCE)


@pytest.mark.parametrize("text", ["1-1", "5-1", "1-500", "pass", "0.5", "yes"])
def test_bad_grade_settings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Grade.parse(text)
