"""Every built-in parser and scorer against answers whose right reading is known.

The cases are the forms real models write a final answer in: signs (an ASCII hyphen, the
typographic minus, a plus), thousands separators and lists, decimals, currency and percent
signs, "The answer is: X", "**Answer:** X", \\boxed{X}, an answer on the line after its marker,
ranges, scientific notation. Each expected value is what a person grading the output would
write down. Issue 10: "-58" was read as 58 and a chain-of-thought variant lost 16 points to a
parser bug while the report said p<0.001.
"""

from __future__ import annotations

import pytest

from harness.parsers import build_parser, check_step
from harness.scorers import build_scorer

COT = ["answer_is", "last_number"]  # what a reasoning variant runs on a numeric task
LETTERS = ("choice", {"letters": True})


def parse(steps: list, text: str, choices: tuple[str, ...] = ()) -> str:
    return build_parser([(s, {}) if isinstance(s, str) else s for s in steps], choices)(text)


# (steps, model output, the answer a grader would read)
GROUND_TRUTH = [
    # the case, and the sign in every position and spelling
    (COT, "We need 17 - 75. Computing it gives -58. The answer is -58.", "-58"),
    (COT, "The answer is -58", "-58"),
    (COT, "The answer is − 58".replace(" 58", "58"), "-58"),  # U+2212 minus
    (COT, "x = 17 − 75 = −58. The answer is −58.", "-58"),
    (COT, "The answer is –58.", "-58"),  # an en dash used as a minus
    (COT, "The answer is +5.", "5"),
    (COT, "The answer is minus 58.", "-58"),
    (COT, "The answer is (-3).", "-3"),
    (COT, "The answer is -0.", "0"),
    (COT, "The answer is -0.5.", "-0.5"),
    (COT, "The answer is -.5", "-0.5"),
    (COT, "Subtract: 17 - 75 = -58", "-58"),
    (COT, "Subtract: 17-75=-58", "-58"),
    (COT, "5 + -3 = 2", "2"),
    # marker forms
    (COT, "The answer is: -58", "-58"),
    (COT, "The answer is : -58", "-58"),
    (COT, "**Answer:** -58", "-58"),
    (COT, "**Answer**: -58", "-58"),
    (COT, "**Final Answer:** **-58**", "-58"),
    (COT, "Final answer: -58", "-58"),
    (COT, "ANSWER = -58", "-58"),
    (COT, "The correct answer is -58.", "-58"),
    (COT, "The answer would be -58.", "-58"),
    (COT, "The answer to the question is -58.", "-58"),
    (COT, "The answer is `-58`.", "-58"),
    (COT, "The answer is '-58'.", "-58"),
    (COT, "The answer is $-58$.", "-58"),
    (COT, "The answer is \\(-58\\).", "-58"),
    # an answer on the next line
    (COT, "Let me compute 17 - 75.\nThe answer is\n-58", "-58"),
    (COT, "The answer is:\n\n**−58**", "-58"),
    (COT, "Answer:\n-58\n", "-58"),
    # \boxed
    (COT, "So the final answer is $\\boxed{-3}$.", "-3"),
    (COT, "17 - 20 = -3\n\\boxed{-3}", "-3"),
    (COT, "\\boxed{\\frac{1}{2}}", "1/2"),
    (COT, "\\boxed{-\\frac{3}{4}}", "-3/4"),
    (COT, "The answer is \\boxed{1{,}234}.", "1234"),
    # the last marker wins; earlier numbers do not count
    (COT, "The answer is 5. Wait, I made a mistake. The answer is -7.", "-7"),
    (COT, "Step 1: 12 * 3 = 36. Step 2: 36 - 40 = -4. The answer is -4", "-4"),
    # thousands separators, decimals, lists
    (COT, "The answer is 1,234.", "1234"),
    (COT, "The answer is -1,234,567.", "-1234567"),
    (COT, "The answer is 1,234.50", "1234.5"),
    (COT, "The answer is 3.50", "3.5"),
    (COT, "The answer is 4.0.", "4"),
    (COT, "The answer is 0.10", "0.1"),
    (COT, "The answer is 007", "7"),
    (["last_number"], "The primes are 1, 2, 3", "3"),
    (["last_number"], "The primes are 1,2,3", "3"),
    (["last_number"], "The list 12,34 is not a number", "34"),
    # currency and percent
    (COT, "The answer is $1,234.00.", "1234"),
    (COT, "The answer is -$5.", "-5"),
    (COT, "The answer is $-5.", "-5"),
    (COT, "The answer is €3.50", "3.5"),
    (COT, "The answer is 45%.", "45"),
    (COT, "The answer is 12.5 %", "12.5"),
    # ranges and hyphens are not signs
    (COT, "The answer is 17-75", "75"),
    (["last_number"], "Between 2010–2020 it grew.", "2020"),
    (["last_number"], "COVID-19", "19"),
    (["last_number"], "17 -75", "75"),
    (["last_number"], "The value of x-5 when x is 8", "8"),
    (["last_number"], "H2O has no number here", "H2O has no number here"),
    # scientific notation
    (COT, "The answer is 1.5e3.", "1500"),
    (COT, "The answer is 2.5E-3", "0.0025"),
    (COT, "The answer is 6.02 × 10^23", "602000000000000000000000"),
    (COT, "The answer is 3 \\times 10^{-2}", "0.03"),
    (COT, "The answer is 1e999999999", "1e999999999"),
    # fractions and dates
    (COT, "The answer is 3/4.", "3/4"),
    (["last_number"], "Due 12/25/2024", "2024"),
    # a trailing period is punctuation, not a decimal point
    (["last_number"], "It happened in 2020.", "2020"),
    (["last_number"], "The total is 42.", "42"),
    # Unicode digits
    (["last_number"], "الجواب ٥٨", "58"),
    # no number at all: the text goes on unchanged for the scorer to judge
    (["last_number"], "I don't know", "I don't know"),
    # answer_is alone leaves the answer as written, decoration removed
    (["answer_is"], "The answer is -58.", "-58"),
    (["answer_is"], "The answer is 3.50.", "3.50"),
    (["answer_is"], "So the final answer is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    (["answer_is"], "the correct answer is $\\text{B}$", "B"),
    (["answer_is"], "Answer: **Paris**.", "Paris"),
    (["answer_is"], 'The answer is "New York".', "New York"),
    (["answer_is"], "He answered 12; the answer is 13", "13"),
    (["answer_is"], "no marker at all", "no marker at all"),
    # the answer ends with its sentence or clause; later numbers are not the answer
    (COT, "The answer is: 7. Checking with 8 items.", "7"),
    (COT, "The answer is -58 (17 - 75).", "-58"),
    (COT, "The answer is 7, since 3 + 5 = 8.", "7"),
    (COT, "The answer is 12 because 4 groups of 3 make 12, not 13.", "12"),
    (COT, "The answer is −58 apples; 17 apples minus 75 apples.", "-58"),
    (COT, "The answer is 1,234 (one thousand two hundred thirty-four).", "1234"),
    (COT, "The answer is 3.5. Then 4 more.", "3.5"),
    (COT, "The answer is 3 + 4 = 7", "7"),  # an expression stays whole: its result counts
    (COT, "The answer is 12 / 4 = 3.", "3"),
    (COT, "The final answer is \\boxed{12}. Because 3 * 4 = 12 and not 13.", "12"),
    (COT, "The answer is:\n7. Checking: 3 + 4 = 7, and 8 is wrong.", "7"),
    (["answer_is"], "The answer is B. Because the passage says 3.", "B"),
    (["answer_is"], "The answer is J. K. Rowling. She wrote 7 books.", "J. K. Rowling"),
    (["answer_is"], "The answer is Dr. Smith. He was 40.", "Dr. Smith"),
    (["answer_is"], "The answer is 45% of it.", "45%"),
    (["answer_is"], "The answer is Paris, France.", "Paris, France"),
    # strip keeps a sign
    (["strip"], "  **-58**  ", "-58"),
    (["strip", "last_number"], "`-58`", "-58"),
    (["first_line", "last_number"], "-58\nbecause 17 - 75 = -58", "-58"),
    # choice letters
    ([LETTERS], "(C)", "C"),
    ([LETTERS], "b", "B"),
    ([LETTERS], "**Answer: (D)**", "D"),
    ([LETTERS], "The answer is: B", "B"),
    ([LETTERS], "the answer is c", "C"),
    ([LETTERS], "A good answer is C", "C"),
    ([LETTERS], "The answer is a bit unclear, but B fits best", "B"),
    ([LETTERS], "D is correct", "D"),
    ([LETTERS], "B) Paris", "B"),
    ([LETTERS], "I think a planet", "I think a planet"),
]


@pytest.mark.parametrize(("steps", "text", "expected"), GROUND_TRUTH,
                         ids=[f"{i}" for i in range(len(GROUND_TRUTH))])
def test_parsers_read_what_a_grader_reads(steps: list, text: str, expected: str) -> None:
    assert parse(steps, text) == expected


@pytest.mark.parametrize(
    ("text", "choices", "expected"),
    [
        ("The answer is -1", ("1", "-1"), "-1"),
        ("The answer is 1", ("1", "-1"), "1"),
        ("The answer is 1.5", ("1", "1.5"), "1.5"),
        ("The answer is 10", ("1", "10"), "10"),
        ("very positive indeed", ("positive", "very positive"), "very positive"),
        ("I would say negative.", ("positive", "negative"), "negative"),
        ("It is nonnegative", ("positive", "negative"), "It is nonnegative"),
        ("C++ is the language", ("c", "c++"), "c++"),
    ],
)
def test_choice_labels_match_whole_words_and_whole_numbers(
    text: str, choices: tuple[str, ...], expected: str
) -> None:
    assert parse(["choice"], text, choices) == expected


# (scorer, args, answer, target, score)
SCORES = [
    # includes: numbers as whole numbers of the same value (issue 10: 7920 in 7920000000)
    ("includes", {}, "7920000000", "7920", 0.0),
    ("includes", {}, "about 7,920 people", "7920", 1.0),
    ("includes", {}, "the result is 7920.", "7920", 1.0),
    ("includes", {}, "-7920", "7920", 0.0),
    ("includes", {}, "The answer is 58", "-58", 0.0),
    ("includes", {}, "17 - 75 = −58", "-58", 1.0),
    ("includes", {}, "answer: 3.50", "3.5", 1.0),
    ("includes", {}, "In 1984 there were 17", "17", 1.0),
    ("includes", {}, "In 1984 there were 170", "17", 0.0),
    ("includes", {}, "total $1,234.00", "1234", 1.0),
    # includes: text at word boundaries
    ("includes", {}, "I'd say Paris, France", "paris", 1.0),
    ("includes", {}, "Parisian food", "Paris", 0.0),
    ("includes", {}, "a cat sat", "cat", 1.0),
    ("includes", {}, "concatenate", "cat", 0.0),
    ("includes", {}, "I like C++ a lot", "c++", 1.0),
    ("includes", {}, "the U.S. economy", "U.S.", 1.0),
    ("includes", {}, "Route 66 is long", "route 66", 1.0),
    ("includes", {}, "anything at all", "", 0.0),
    # numeric: signs, separators, currency, percent, fractions, notation
    ("numeric", {}, "-58", "-58", 1.0),
    ("numeric", {}, "−58", "-58", 1.0),
    ("numeric", {}, "58", "-58", 0.0),
    ("numeric", {}, "**-58**.", "-58", 1.0),
    ("numeric", {}, "+5", "5", 1.0),
    ("numeric", {}, "$1,234.00", "1234", 1.0),
    ("numeric", {}, "1,234", "1234", 1.0),
    ("numeric", {}, "45%", "45", 1.0),
    ("numeric", {}, "1/2", "0.5", 1.0),
    ("numeric", {}, "\\frac{1}{2}", "0.5", 1.0),
    ("numeric", {}, "1.5e3", "1500", 1.0),
    ("numeric", {}, "58 apples", "58", 1.0),
    ("numeric", {}, "17 - 75 = -58", "-58", 0.0),  # several numbers: which one was meant?
    ("numeric", {}, "1, 2, 3", "3", 0.0),
    ("numeric", {}, "", "3", 0.0),
    ("numeric", {}, "9" * 5000, "9" * 5000, 1.0),
    ("numeric", {}, "9" * 5000, "9" * 4999 + "8", 0.0),
    ("numeric", {"tolerance": 0.5}, "-58.4", "-58", 1.0),
    ("numeric", {"relative": 0.01}, "-1010", "-1000", 1.0),
    ("numeric", {"relative": 0.01}, "1010", "-1000", 0.0),
    # exact_match: a typographic minus is a minus
    ("exact_match", {}, "−58", "-58", 1.0),
    ("exact_match", {}, "58", "-58", 0.0),
    # json_fields: numbers by value, objects whatever their key order
    ("json_fields", {}, '{"a": 1.0}', '{"a": 1}', 1.0),
    ("json_fields", {}, '{"a": -1}', '{"a": 1}', 0.0),
    ("json_fields", {}, '{"a": {"x": 1, "y": 2}}', '{"a": {"y": 2, "x": 1}}', 1.0),
    # json_valid: JSON, not Python's extensions of it
    ("json_valid", {}, '{"a": NaN}', "", 0.0),
    ("json_valid", {}, '{"a": Infinity}', "", 0.0),
    ("json_valid", {}, '{"a": 1}', "", 1.0),
]


@pytest.mark.parametrize(("name", "args", "answer", "target", "score"), SCORES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SCORES)])
def test_scorers_score_what_a_grader_scores(name: str, args: dict, answer: str, target: str,
                                            score: float) -> None:
    assert build_scorer(name, args).score(answer, target) == pytest.approx(score)


def test_the_cot_chain_and_the_numeric_scorer_agree_on_every_ground_truth_number() -> None:
    """A parsed number and its target compare equal under numeric and exact_match alike."""
    numeric, exact = build_scorer("numeric", {}), build_scorer("exact_match", {})
    for steps, text, expected in GROUND_TRUTH:
        if steps != COT or "/" in expected or "e" in expected:
            continue
        answer = parse(steps, text)
        assert numeric.score(answer, expected) == 1.0, text
        assert exact.score(answer, expected) == 1.0, text


def test_a_regex_group_the_pattern_lacks_is_refused_at_config_load() -> None:
    with pytest.raises(ValueError, match=r"group 2 does not exist: the pattern has 1 group"):
        check_step("regex", {"pattern": r"answer: (\w+)", "group": 2})
    with pytest.raises(ValueError, match=r"group 'ans' does not exist"):
        check_step("regex", {"pattern": r"answer: (?P<value>\w+)", "group": "ans"})
    check_step("regex", {"pattern": r"answer: (?P<value>\w+)", "group": "value"})
    check_step("regex", {"pattern": r"answer: (\w+)", "group": 1})


def test_a_regex_group_that_did_not_take_part_falls_back_to_the_text() -> None:
    steps = [("regex", {"pattern": r"(yes)|(no)", "group": 1})]
    assert parse(steps, "  no  ") == "no"  # group 1 sat out: the text, not a crash
    assert parse(steps, "yes") == "yes"
