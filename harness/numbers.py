"""Numbers as models write them: one grammar for the parsers and the scorers.

A model says "-58", "−58" (a typographic minus), "$1,234.00", "45%", "3.50", "1.5e3",
"6.02 × 10^23", "\\frac{1}{2}" or "minus 58". The parser that extracts the answer and the
scorer that compares it must read these the same way, or a right answer is scored wrong while
the report looks sure of itself; so both use :func:`find_numbers`.

Rules that decide hard cases (each has a test in ``tests/core/test_numbers.py``):

* a sign belongs to the number only when it is attached to it ("-58", "= -58", "(-3)") and is
  not a binary operator: "17-75", "17 - 75" and "17 -75" hold 17 and 75, never -75;
* "1,234" and "1,234,567" are one number (groups of exactly three digits); "1, 2, 3" and
  "1,2,3" are lists;
* "1/2" is a fraction unless it is part of a date-like chain ("12/25/2024");
* currency signs before and percent signs after a number are ignored;
* a number glued to letters on its left ("H2O", "COVID-19" keeps 19) is not read as signed.

Canonical text: no sign for zero or positive numbers, "-" for negative ones, no leading zeros,
no trailing fractional zeros ("3.50" -> "3.5", "4.0" -> "4"), no thousands separators,
exponents applied when small ("1.5e3" -> "1500"). Nothing here converts a digit string to
``int``: Python refuses more than 4,300 digits, and a model may write 5,000.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

MINUS_SIGNS = "-\u2212\u2013\ufe63\uff0d"  # hyphen-minus, minus, en dash, small and wide hyphen
_SIGN = rf"[{MINUS_SIGNS}+]"  # "-" first: a literal, not a range
_CURRENCY = r"[$€£¥₹]"
# Exponents beyond this are kept in scientific form rather than written out digit by digit.
MAX_EXPANDED_EXPONENT = 100

_NUMBER = re.compile(
    rf"""
    (?<![\w.])                                   # not glued to a word or another number
    (?P<sign>{_SIGN}|(?:minus|negative)\s+)?
    (?:{_CURRENCY}\s?)?
    (?P<sign2>{_SIGN})?                          # "$-5"
    (?:
        (?P<frac>(?<![/\d])\d+/\d+)(?![/\d])     # 1/2, but not a date 12/25/2024
      | (?P<int>\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.(?P<dec>\d+))?
      | \.(?P<lead>\d+)                          # .5
    )
    (?:
        [eE](?P<exp>{_SIGN}?\d+)(?!\w)
      | \s*(?:[x×*·]|\\times|\\cdot)\s*10\s*(?:\^|\*\*)\s*\{{?(?P<exp2>{_SIGN}?\d+)\}}?
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(-?\s*\d+)\s*\}\s*\{\s*(\d+)\s*\}")


@dataclass(frozen=True)
class Number:
    """One number found in a text: its canonical text and where it was."""

    text: str
    start: int
    end: int

    def value(self) -> Decimal | None:
        return to_decimal(self.text)


def ascii_digits(digits: str) -> str:
    """Any Unicode decimal digits ("٥٨", "５８") as ASCII ones."""
    if digits.isascii():
        return digits
    return "".join(str(unicodedata.digit(ch)) if not ch.isascii() else ch for ch in digits)


def _is_negative(sign: str | None) -> bool:
    return bool(sign) and sign.strip().lower() not in ("+",)


def _decimal_text(negative: bool, whole: str, fraction: str, exponent: str | None) -> str:
    whole, fraction = ascii_digits(whole.replace(",", "")), ascii_digits(fraction)
    shift = 0
    if exponent is not None:
        exp_negative = exponent[0] in MINUS_SIGNS
        exp_digits = ascii_digits(exponent.lstrip("+" + MINUS_SIGNS)).lstrip("0") or "0"
        if len(exp_digits) > 6 or int(exp_digits) > MAX_EXPANDED_EXPONENT:
            # 1e999999999: kept in scientific form, never written out digit by digit
            mantissa = _decimal_text(False, whole, fraction, None)
            if mantissa == "0":
                return "0"
            return f"{'-' if negative else ''}{mantissa}e{'-' if exp_negative else ''}{exp_digits}"
        shift = -int(exp_digits) if exp_negative else int(exp_digits)
    digits = whole + fraction
    point = len(whole) + shift
    if point <= 0:
        digits, point = "0" * (1 - point) + digits, 1
    elif point > len(digits):
        digits = digits + "0" * (point - len(digits))
    whole, fraction = digits[:point].lstrip("0") or "0", digits[point:].rstrip("0")
    text = whole + (f".{fraction}" if fraction else "")
    return f"-{text}" if negative and text != "0" else text


def _canonical(match: re.Match[str]) -> str:
    negative = _is_negative(match.group("sign")) != _is_negative(match.group("sign2"))
    exponent = match.group("exp") or match.group("exp2")
    if match.group("frac"):
        num, den = match.group("frac").split("/")
        num, den = ascii_digits(num).lstrip("0") or "0", ascii_digits(den).lstrip("0") or "0"
        return f"{'-' if negative and num != '0' else ''}{num}/{den}"
    if match.group("lead") is not None:
        return _decimal_text(negative, "0", match.group("lead"), exponent)
    return _decimal_text(negative, match.group("int"), match.group("dec") or "", exponent)


def _unlatex(text: str) -> str:
    """``\\frac{1}{2}`` as 1/2 and ``1{,}234`` as 1,234, so LaTeX answers read as numbers."""
    if "\\" in text:
        text = _LATEX_FRAC.sub(lambda m: f"{m.group(1).replace(' ', '')}/{m.group(2)}", text)
    return text.replace("{,}", ",") if "{,}" in text else text


def _operator_position(text: str, start: int) -> bool:
    """Whether a sign at ``start`` follows a number on its line ("17 -75"): then it is the
    operator between two numbers, not the sign of the second."""
    i = start - 1
    while i >= 0 and start - i < 200 and text[i] in " \t":
        i -= 1
    return i >= 0 and (text[i].isdigit() or text[i] in ")]")


def find_numbers(text: str, limit: int | None = None) -> list[Number]:
    """Every number in ``text`` (the first ``limit``), in order, with the sign rules of the
    module docstring.

    Positions refer to ``text`` after LaTeX fractions were rewritten (see :func:`_unlatex`).
    """
    text = _unlatex(text)
    found: list[Number] = []
    for match in _NUMBER.finditer(text):
        if limit is not None and len(found) >= limit:
            break
        start = match.start()
        sign = match.group("sign")
        if sign and _operator_position(text, start):
            inner = _NUMBER.match(text, start + len(sign))
            if inner is None:
                continue
            match, start = inner, start + len(sign)
        found.append(Number(_canonical(match), start, match.end()))
    return found


def last_number(text: str) -> str | None:
    """The canonical text of the last number in ``text``; None when there is none."""
    found = find_numbers(text)
    return found[-1].text if found else None


_WRAPPERS = "*`\"'$ \t\r\n"


def single_number(text: str) -> str | None:
    """The canonical text of the one number ``text`` holds; None for none, or for several.

    "58", "-58.", "$1,234.00", "45%", "**−58**" and "58 apples" hold one number; "17 - 75 =
    -58" holds three, and which one was meant is a guess a scorer must not make.
    """
    found = find_numbers(text.strip(_WRAPPERS).rstrip(_WRAPPERS + "."), limit=2)
    return found[0].text if len(found) == 1 else None


def to_decimal(canonical: str) -> Decimal | None:
    """The value of a canonical number text (fractions divided out); None if it has none."""
    try:
        with localcontext() as ctx:
            ctx.prec = 60
            if "/" in canonical:
                num, den = canonical.split("/")
                return None if den.strip("0") == "" else Decimal(num) / Decimal(den)
            return Decimal(canonical)
    except (InvalidOperation, ValueError, ArithmeticError):
        return None


def same_value(got: str, want: str, tolerance: float = 0.0, relative: float = 0.0) -> bool:
    """Whether two canonical numbers are within the tolerances of each other.

    Decimal arithmetic, not float: a 5,000-digit integer or 1e999999 compares exactly instead
    of overflowing to infinity.
    """
    a, b = to_decimal(got), to_decimal(want)
    if a is None or b is None:
        return False
    try:
        with localcontext() as ctx:
            ctx.prec = 60
            ctx.Emax, ctx.Emin = 999_999_999_999_999_999, -999_999_999_999_999_999
            limit = max(Decimal(repr(float(tolerance))),
                        Decimal(repr(float(relative))) * abs(b))
            return abs(a - b) <= limit
    except (InvalidOperation, ArithmeticError):
        return False
