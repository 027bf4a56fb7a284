"""Generate the multiple-choice task: four-option questions whose answers are checkable.

Why generated: every question either is computed (unit conversions, comparisons, percentages,
date and clock arithmetic, number sequences) or comes from a short authored table of stable
facts (capitals, chemical symbols, planet order, category membership), so the gold letter is right
by construction. Distractors are the mistakes people make (a factor of ten, a forgotten carry,
the biggest city instead of the capital), and the gold letter is spread evenly over A-D so a
model that always answers "A" scores 25%.

Run ``python tasks/multiple-choice/generate.py`` to rewrite ``data/`` byte-identically.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

# Run as a script or loaded by path in tests, this file is in no package, so put tasks/ on the
# path to import the helpers every generator shares (tasks/_generator.py) either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _generator import run_cli, spread, with_ids

DEFAULT_SEED = 20240615
HERE = Path(__file__).resolve().parent
N_TEST, N_FEWSHOT = 240, 32  # both multiples of 4: each letter is gold exactly N/4 times
LETTERS = "ABCD"

# A generator returns (category, question, correct option, three wrong options, explanation,
# dedupe key) or None when a draw did not give four distinct options.
Draft = tuple[str, str, str, list[str], str, str]


def num(x: Fraction | int | float) -> str:
    """A number as people write it: 350, 3.5, 0.25 (never 350.0 or 3.50)."""
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    if Fraction(text) != x:
        raise ValueError(f"{x} has no short decimal form")
    return text


def pick_wrong(rng: random.Random, correct: str, candidates: list[str]) -> list[str] | None:
    """Three distinct wrong options from ``candidates`` (in random order), or None."""
    seen: list[str] = []
    for c in candidates:
        if c != correct and c not in seen:
            seen.append(c)
    if len(seen) < 3:
        return None
    rng.shuffle(seen)
    return seen[:3]


CONVERSIONS = [
    ("metres", "centimetres", 100), ("kilometres", "metres", 1000),
    ("centimetres", "millimetres", 10), ("kilograms", "grams", 1000),
    ("litres", "millilitres", 1000), ("hours", "minutes", 60), ("minutes", "seconds", 60),
    ("days", "hours", 24), ("weeks", "days", 7), ("tonnes", "kilograms", 1000),
]
WRONG_FACTORS = {100: [10, 1000], 1000: [100, 10], 10: [100, 1000], 60: [100, 24],
                 24: [60, 12], 7: [5, 10]}


def unit_conversion(rng: random.Random) -> Draft | None:
    big, small, factor = rng.choice(CONVERSIONS)
    if factor in (7, 24, 60):
        value = Fraction(rng.choice([rng.randint(2, 12), rng.randint(2, 12)]))
        if factor != 7 and rng.random() < 0.4:
            value += Fraction(1, 2)
    elif factor == 10:
        value = Fraction(rng.randint(11, 199), 10)
    else:
        value = Fraction(rng.randint(101, 999), 100)
    if rng.random() < 0.6:  # big -> small
        answer = value * factor
        q = f"How many {small} are there in {num(value)} {big}?"
        wrong = [answer * 10, answer / 10] + [value * f for f in WRONG_FACTORS[factor]]
        why = f"1 {big[:-1]} is {factor} {small}, so {num(value)} x {factor} = {num(answer)}."
    else:  # small -> big
        amount = value * factor
        answer = value
        q = f"How many {big} is {num(amount)} {small}?"
        wrong = [answer * 10, answer / 10] + [amount / f for f in WRONG_FACTORS[factor]]
        why = f"1 {big[:-1]} is {factor} {small}, so {num(amount)} / {factor} = {num(answer)}."
    try:
        options = [num(w) for w in wrong]
    except ValueError:
        return None
    chosen = pick_wrong(rng, num(answer), options)
    return None if chosen is None else ("unit_conversion", q, num(answer), chosen, why, q)


def extreme(rng: random.Random) -> Draft | None:
    values: list[Fraction] = []
    shown: list[str] = []
    while len(values) < 4:
        if len(values) % 2 == 0:
            q = rng.randint(3, 9)
            v = Fraction(rng.randint(1, q - 1), q)
            text = f"{v.numerator}/{v.denominator}"
        else:
            v = Fraction(rng.randint(5, 95), 100)
            text = num(v)
        if v not in values:
            values.append(v)
            shown.append(text)
    largest = rng.random() < 0.5
    best = max(values) if largest else min(values)
    word = "largest" if largest else "smallest"
    correct = shown[values.index(best)]
    wrong = [s for s in shown if s != correct]
    def as_decimal(shown_as: str, v: Fraction) -> str:
        if "/" not in shown_as:
            return shown_as
        try:
            return f"{shown_as} = {num(v)}"
        except ValueError:  # 1/3 and friends have no short decimal form
            return f"{shown_as} is about {float(v):.3f}"

    as_dec = ", ".join(as_decimal(s, v) for s, v in zip(shown, values, strict=True))
    why = f"As decimals: {as_dec}. The {word} is {correct}."
    q = f"Which of these numbers is the {word}?"
    return "comparison", q, correct, wrong, why, q + "|" + "|".join(sorted(shown))


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def say(d: dt.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def date_arithmetic(rng: random.Random) -> Draft | None:
    if rng.random() < 0.5:
        start = rng.randrange(7)
        n = rng.randint(8, 60)
        end = (start + n) % 7
        q = f"If today is {WEEKDAYS[start]}, what day of the week will it be in {n} days?"
        wrong = [WEEKDAYS[(end + k) % 7] for k in (1, -1, 2, -2, 3)]
        why = (f"{n} days is {n // 7} weeks and {n % 7} days, and {n % 7} days after "
               f"{WEEKDAYS[start]} is {WEEKDAYS[end]}.")
        chosen = pick_wrong(rng, WEEKDAYS[end], wrong)
        return None if chosen is None else ("date_arithmetic", q, WEEKDAYS[end], chosen, why, q)
    start_d = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))
    n = rng.randint(20, 90)
    end_d = start_d + dt.timedelta(days=n)
    q = f"What is the date {n} days after {say(start_d)}?"
    wrong = [say(end_d + dt.timedelta(days=k)) for k in (1, -1, 2, 30, -30)]
    why = f"Counting {n} days on from {say(start_d)} gives {say(end_d)}."
    chosen = pick_wrong(rng, say(end_d), wrong)
    return None if chosen is None else ("date_arithmetic", q, say(end_d), chosen, why, q)


def percent(rng: random.Random) -> Draft | None:
    p = rng.choice([5, 10, 15, 20, 25, 30, 40, 60, 75])
    base = rng.randint(2, 60) * 20
    answer = Fraction(p * base, 100)
    if answer.denominator != 1:
        return None
    q = f"What is {p}% of {base}?"
    wrong = [answer / 10, answer * 10, base - answer, answer + p, Fraction((p + 5) * base, 100)]
    try:
        options = [num(w) for w in wrong]
    except ValueError:
        return None
    why = f"{p}% of {base} is {base} x {p} / 100 = {num(answer)}."
    chosen = pick_wrong(rng, num(answer), options)
    return None if chosen is None else ("percent", q, num(answer), chosen, why, q)


def sequence(rng: random.Random) -> Draft | None:
    if rng.random() < 0.6:
        a, d = rng.randint(1, 40), rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15])
        terms = [a + i * d for i in range(5)]
        answer = a + 5 * d
        why = f"Each number is {d} more than the one before, so the next is {terms[-1]} + {d}"
        wrong = [answer + 1, answer - 1, answer + d, terms[-1] + d + 2, answer - d + 1]
    else:
        a, r = rng.randint(1, 6), rng.choice([2, 3])
        terms = [a * r**i for i in range(5)]
        answer = a * r**5
        why = f"Each number is {r} times the one before, so the next is {terms[-1]} x {r}"
        wrong = [answer + terms[-1], terms[-1] + (terms[-1] - terms[-2]), answer - r,
                 answer + r, answer * r]
    why += f" = {answer}."
    q = f"What number comes next: {', '.join(map(str, terms))}, ...?"
    chosen = pick_wrong(rng, str(answer), [str(w) for w in wrong if w > 0])
    return None if chosen is None else ("sequence", q, str(answer), chosen, why, q)


def clock(rng: random.Random) -> Draft | None:
    start = rng.randint(5 * 60, 22 * 60 + 45)
    start -= start % 5
    length = rng.randint(1, 5) * 60 + rng.choice(range(5, 60, 5))
    end = (start + length) % (24 * 60)

    def hhmm(m: int) -> str:
        m %= 24 * 60
        return f"{m // 60:02d}:{m % 60:02d}"

    what = rng.choice([("train", "leaves", "arrive"), ("film", "starts", "end"),
                       ("concert", "starts", "end"), ("ferry", "leaves", "arrive")])
    noun, begins, ends = what
    h, m = divmod(length, 60)
    q = (f"A {noun} {begins} at {hhmm(start)} and takes {h} hour{'s' if h > 1 else ''} "
         f"{m} minutes. At what time does it {ends}, on a 24-hour clock?")
    no_carry = (start // 60 + h) * 60 + (start % 60 + m) % 60  # forgot to carry the hour
    wrong = [hhmm(end + 60), hhmm(end - 60), hhmm(no_carry), hhmm(end + 10), hhmm(end - 10)]
    why = f"{hhmm(start)} plus {h} h {m} min is {hhmm(end)}."
    chosen = pick_wrong(rng, hhmm(end), wrong)
    return None if chosen is None else ("clock_time", q, hhmm(end), chosen, why, q)


# Capitals that are not in dispute, each with a tempting non-capital city where there is one.
CAPITALS = [
    ("France", "Paris", "Lyon"), ("Japan", "Tokyo", "Osaka"), ("Italy", "Rome", "Milan"),
    ("Egypt", "Cairo", "Alexandria"), ("Canada", "Ottawa", "Toronto"),
    ("Australia", "Canberra", "Sydney"), ("Kenya", "Nairobi", "Mombasa"),
    ("Peru", "Lima", "Cusco"), ("Norway", "Oslo", "Bergen"), ("Spain", "Madrid", "Barcelona"),
    ("Germany", "Berlin", "Munich"), ("Portugal", "Lisbon", "Porto"),
    ("Greece", "Athens", "Thessaloniki"), ("Poland", "Warsaw", "Krakow"),
    ("Argentina", "Buenos Aires", "Cordoba"), ("Thailand", "Bangkok", "Chiang Mai"),
    ("Sweden", "Stockholm", "Gothenburg"), ("Finland", "Helsinki", "Tampere"),
    ("Ireland", "Dublin", "Cork"), ("Austria", "Vienna", "Salzburg"),
    ("Hungary", "Budapest", "Debrecen"), ("Chile", "Santiago", "Valparaiso"),
    ("Cuba", "Havana", "Santiago de Cuba"), ("Russia", "Moscow", "Saint Petersburg"),
    ("China", "Beijing", "Shanghai"), ("India", "New Delhi", "Mumbai"),
    ("South Korea", "Seoul", "Busan"), ("Denmark", "Copenhagen", "Aarhus"),
    ("Belgium", "Brussels", "Antwerp"), ("Turkey", "Ankara", "Istanbul"),
    ("Brazil", "Brasilia", "Rio de Janeiro"), ("Colombia", "Bogota", "Medellin"),
    ("Vietnam", "Hanoi", "Ho Chi Minh City"), ("Ghana", "Accra", "Kumasi"),
    ("Morocco", "Rabat", "Casablanca"), ("Nigeria", "Abuja", "Lagos"),
    ("New Zealand", "Wellington", "Auckland"), ("Philippines", "Manila", "Cebu City"),
    ("Czechia", "Prague", "Brno"), ("Scotland", "Edinburgh", "Glasgow"),
]


def capital(rng: random.Random) -> Draft | None:
    country, cap, tempting = rng.choice(CAPITALS)
    others = [c for _, c, _ in CAPITALS if c != cap]
    rng.shuffle(others)
    q = f"What is the capital city of {country}?"
    why = f"The capital of {country} is {cap}; {tempting} is a large city but not the capital."
    return "capital", q, cap, [tempting, *others[:2]], why, q


ELEMENTS = [
    ("Fe", "iron"), ("Na", "sodium"), ("K", "potassium"), ("Au", "gold"), ("Ag", "silver"),
    ("Cu", "copper"), ("Pb", "lead"), ("Sn", "tin"), ("Hg", "mercury"), ("He", "helium"),
    ("O", "oxygen"), ("N", "nitrogen"), ("C", "carbon"), ("H", "hydrogen"), ("Ca", "calcium"),
    ("Cl", "chlorine"), ("Zn", "zinc"), ("Mg", "magnesium"), ("S", "sulfur"),
    ("P", "phosphorus"), ("Ne", "neon"), ("Ni", "nickel"), ("Si", "silicon"),
    ("Al", "aluminium"), ("F", "fluorine"), ("Ar", "argon"),
]


def chemical_symbol(rng: random.Random) -> Draft | None:
    symbol, name = rng.choice(ELEMENTS)
    others = [e for e in ELEMENTS if e[0] != symbol]
    # Prefer look-alikes: symbols or names sharing a first letter are the tempting mistakes.
    alike = [e for e in others if e[0][0] == symbol[0] or e[1][0] == name[0]]
    rest = [e for e in others if e not in alike]
    rng.shuffle(alike)
    rng.shuffle(rest)
    wrong = (alike + rest)[:3]
    why = f"{symbol} is the symbol of {name}."
    if rng.random() < 0.5:
        q = f"Which element has the chemical symbol {symbol}?"
        return "chemical_symbol", q, name, [e[1] for e in wrong], why, q
    q = f"What is the chemical symbol for {name}?"
    return "chemical_symbol", q, symbol, [e[0] for e in wrong], why, q


PLANETS = ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]


def planet(rng: random.Random) -> Draft | None:
    i = rng.randrange(8)
    order = "In order from the Sun: " + ", ".join(PLANETS) + "."
    if rng.random() < 0.5:
        near = [p for j, p in enumerate(PLANETS) if j != i and abs(j - i) <= 2]
        rng.shuffle(near)
        far = [p for j, p in enumerate(PLANETS) if j != i and abs(j - i) > 2]
        rng.shuffle(far)
        q = f"Which planet is the {ORDINALS[i]} planet from the Sun?"
        return "planet", q, PLANETS[i], (near + far)[:3], f"{order} Number {i + 1} is " \
            f"{PLANETS[i]}.", q
    near = [o for j, o in enumerate(ORDINALS) if j != i and abs(j - i) <= 2]
    rng.shuffle(near)
    q = f"Counting outwards from the Sun, where does {PLANETS[i]} come among the planets?"
    why = f"{order} {PLANETS[i]} is number {i + 1}, the {ORDINALS[i]}."
    return "planet", q, ORDINALS[i], near[:3], why, q


# Category members chosen so that no member belongs to another category here (no tomatoes).
GROUPS: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (singular noun, members, contrasting group names the odd one comes from)
    "fruit": ("fruit", ["apple", "pear", "plum", "cherry", "peach", "apricot", "mango",
                        "banana", "grape", "lemon"], ["vegetable"]),
    "vegetable": ("vegetable", ["carrot", "potato", "onion", "cabbage", "spinach", "lettuce",
                                "broccoli", "turnip", "leek", "celery"], ["fruit"]),
    "mammal": ("mammal", ["dog", "horse", "cow", "lion", "elephant", "rabbit", "tiger",
                          "sheep", "goat", "bear"], ["bird", "fish"]),
    "bird": ("bird", ["eagle", "sparrow", "owl", "robin", "parrot", "pigeon", "swan", "crow",
                      "duck", "heron"], ["mammal", "fish"]),
    "fish": ("fish", ["salmon", "trout", "cod", "tuna", "herring", "carp", "mackerel",
                      "haddock"], ["mammal", "bird"]),
    "metal": ("metal", ["iron", "copper", "silver", "gold", "zinc", "tin", "aluminium",
                        "nickel"], ["gas"]),
    "gas": ("gas at room temperature", ["oxygen", "nitrogen", "helium", "neon", "hydrogen",
                                        "argon"], ["metal"]),
    "country": ("country", ["France", "Peru", "Kenya", "Norway", "Egypt", "Japan", "Chile",
                            "Canada", "Italy", "India"], ["city"]),
    "city": ("city", ["Madrid", "Lagos", "Sydney", "Chicago", "Munich", "Osaka", "Toronto",
                      "Milan", "Seattle", "Lyon"], ["country"]),
}


def odd_one_out(rng: random.Random) -> Draft | None:
    name = rng.choice(sorted(GROUPS))
    noun, members, contrasts = GROUPS[name]
    odd_group = rng.choice(contrasts)
    odd = rng.choice(GROUPS[odd_group][1])
    three = rng.sample(members, 3)
    article = "an" if noun[0] in "aeiou" else "a"
    q = f"Which of these is not {article} {noun}?"
    odd_noun = GROUPS[odd_group][0]
    odd_article = "an" if odd_noun[0] in "aeiou" else "a"
    why = f"{', '.join(three)} are each {article} {noun}; {odd} is {odd_article} {odd_noun}."
    return "odd_one_out", q, odd, three, why, q + "|" + "|".join(sorted([odd, *three]))


GENERATORS: list[Callable[[random.Random], Draft | None]] = [
    unit_conversion, extreme, date_arithmetic, percent, sequence, clock, capital,
    chemical_symbol, planet, odd_one_out,
]
# Draws per cycle of 26 questions; the small fact tables (planets, capitals, symbols) get fewer
# so their question stems do not run out.
WEIGHTS = [3, 3, 3, 3, 3, 3, 2, 2, 1, 3]
MAX_TRIES = 500  # a generator that cannot produce a new question this often is skipped


def make_split(n: int, rng: random.Random, seen: set[str], prefix: str,
               keep_rationale: bool) -> list[dict]:
    """``n`` questions with gold letters exactly balanced, none repeating a key in ``seen``."""
    golds = [LETTERS[i % 4] for i in range(n)]
    rng.shuffle(golds)
    schedule = [g for g, w in zip(GENERATORS, WEIGHTS, strict=True) for _ in range(w)]
    rng.shuffle(schedule)
    rows: list[dict] = []
    turn = 0
    while len(rows) < n:
        gen = schedule[turn % len(schedule)]
        turn += 1
        for _ in range(MAX_TRIES):
            draft = gen(rng)
            if draft is not None and draft[5] not in seen and len({draft[2], *draft[3]}) == 4:
                break
        else:
            continue
        category, question, correct, wrong, why, key = draft
        seen.add(key)
        gold = golds[len(rows)]
        options = list(wrong)
        rng.shuffle(options)
        options.insert(LETTERS.index(gold), correct)
        row = {"question": question, **dict(zip(LETTERS, options, strict=True)),
               "answer": gold, "answer_text": correct, "category": category}
        if keep_rationale:
            row["rationale"] = f"{why} That is option {gold}. The answer is {gold}."
        rows.append(row)
    rows = spread(rows, lambda r: r["answer"], rng)
    return with_ids(rows, prefix, keep_rationale=keep_rationale)


def generate(seed: int = DEFAULT_SEED) -> dict[str, list[dict]]:
    """All splits as lists of rows. Few-shot questions are drawn first; test never repeats one."""
    rng = random.Random(seed)
    seen: set[str] = set()
    fewshot = make_split(N_FEWSHOT, rng, seen, "fs", keep_rationale=True)
    test = make_split(N_TEST, rng, seen, "mc", keep_rationale=False)
    return {"test": test, "fewshot": fewshot}


def main(argv: list[str] | None = None) -> int:
    """Command line: write every split as ``<out>/<split>.jsonl``."""
    return run_cli(argv, generate, doc=__doc__, default_seed=DEFAULT_SEED,
                   default_out=HERE / "data")


if __name__ == "__main__":
    raise SystemExit(main())
