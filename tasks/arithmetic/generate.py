"""Generate the arithmetic task: multi-step word problems with exact integer answers.

Why generated: every answer is computed while the question is written, so the gold is right by
construction, and difficulty (number of operations x operand digits) is a controlled variable,
which lets a report show *where* chain-of-thought starts to pay off.

Run ``python tasks/arithmetic/generate.py`` to rewrite ``data/`` byte-identically.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

# Run as a script or loaded by path in tests, this file is in no package, so put tasks/ on the
# path to import the helpers every generator shares (tasks/_generator.py) either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _generator import run_cli, spread, with_ids

DEFAULT_SEED = 20240611
HERE = Path(__file__).resolve().parent
TEST_PER_CELL = 30  # 9 cells (steps x digits) -> 270 test items
FEWSHOT_PER_CELL = 3  # -> 27 few-shot items
MAX_VALUE = 1_000_000  # keeps answers within reach of a small model working on paper

NAMES = [
    "Amara", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas",
    "Kavya", "Liam", "Mele", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tomas",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zara", "Aiko", "Bea", "Carlos", "Dmitri",
    "Elif", "Finn", "Greta", "Hugo", "Ivy", "Jamal", "Keiko", "Lena", "Mateo", "Noor",
]

# (plural, singular)
ITEMS = [
    ("stickers", "sticker"), ("marbles", "marble"), ("stamps", "stamp"),
    ("seashells", "seashell"), ("trading cards", "trading card"), ("beads", "bead"),
    ("pencils", "pencil"), ("apples", "apple"), ("cookies", "cookie"), ("books", "book"),
    ("postcards", "postcard"), ("buttons", "button"), ("crayons", "crayon"),
    ("bottle caps", "bottle cap"), ("toy cars", "toy car"), ("paper cranes", "paper crane"),
    ("tomatoes", "tomato"), ("eggs", "egg"), ("screws", "screw"), ("candles", "candle"),
]

START = [
    "{name} has {a} {items}.",
    "{name} starts the week with {a} {items}.",
    "{name} owns a collection of {a} {items}.",
    "There are {a} {items} in {name}'s cupboard.",
]
PACK = [
    "{name} buys {a} packs of {items} with {b} {items} in each pack.",
    "{name} has {a} cartons, and each carton holds {b} {items}.",
    "{name} fills {a} bags with {b} {items} each.",
]
ADD = [
    "{name} buys {n} more {items}.",
    "A friend gives {name} another {n} {items}.",
    "Then {name} finds {n} more {items}.",
    "{name} gets {n} more {items} as a gift.",
]
SUB = [
    "{name} gives {n} of them away.",
    "{name} sells {n} of the {items}.",
    "Then {name} loses {n} of them.",
    "{name} trades away {n} {items}.",
]
KEEP_ONE = [
    "{name} splits the {items} equally into {n} boxes and keeps just one box.",
    "{name} divides them into {n} equal piles and keeps only one pile.",
]
SHARE = [
    "{name} shares all the {items} equally among {n} friends. "
    "How many {items} does each friend get?",
    "{name} packs all of them equally into {n} crates. How many {items} go in each crate?",
]
PRICE = [
    "{name} sells every {item} for {n} cents. How many cents does {name} earn in total?",
    "Each {item} is worth {n} points in a game. How many points are all of {name}'s {items} "
    "worth together?",
]
QUESTION = [
    "How many {items} does {name} have now?",
    "How many {items} does {name} have at the end?",
]


def operand(rng: random.Random, digits: int) -> int:
    """A number with exactly ``digits`` digits; 0 and 1 are excluded so no step is trivial."""
    low = 2 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(low, 10**digits - 1)


def divisors_with_digits(value: int, digits: int) -> list[int]:
    """Divisors of ``value`` with exactly ``digits`` digits, excluding 1 and ``value`` itself."""
    low, high = (2 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1
    found = []
    i = 1
    while i * i <= value:
        if value % i == 0:
            for d in (i, value // i):
                if low <= d <= high and d not in (1, value) and d not in found:
                    found.append(d)
        i += 1
    return sorted(found)


def build_problem(rng: random.Random, steps: int, digits: int) -> dict | None:
    """One attempt at a problem with ``steps`` operations on ``digits``-digit operands.

    Returns None when the random choices painted themselves into a corner (no exact divisor,
    nothing left to subtract, a value past MAX_VALUE); the caller simply tries again.
    """
    name = rng.choice(NAMES)
    items, item = rng.choice(ITEMS)
    fill = {"name": name, "items": items, "item": item}
    sentences: list[str] = []
    reasoning: list[str] = []
    question: str | None = None

    used: list[int] = []  # dividing by a number just multiplied in would be a give-away
    first = rng.choice(["pack", "plain"])
    if first == "pack":
        a, b = operand(rng, digits), operand(rng, digits)
        used += [a, b]
        value = a * b
        sentences.append(rng.choice(PACK).format(a=a, b=b, **fill))
        reasoning.append(f"{name} starts with {a} * {b} = {value} {items}.")
        remaining = steps - 1
    else:
        value = operand(rng, digits)
        sentences.append(rng.choice(START).format(a=value, **fill))
        reasoning.append(f"{name} starts with {value} {items}.")
        remaining = steps
    if value > MAX_VALUE:
        return None

    for position in range(remaining):
        last = position == remaining - 1
        kinds = ["add", "sub", "keep_one"] + (["share", "price", "share", "price"] if last else [])
        rng.shuffle(kinds)
        done = False
        for kind in kinds:
            n = operand(rng, digits)
            if kind == "add":
                new, op = value + n, "+"
                sentences.append(rng.choice(ADD).format(n=n, **fill))
            elif kind == "sub":
                if n >= value:
                    continue
                new, op = value - n, "-"
                sentences.append(rng.choice(SUB).format(n=n, **fill))
            elif kind in ("keep_one", "share"):
                options = [d for d in divisors_with_digits(value, digits) if d not in used]
                if not options:
                    continue
                n = rng.choice(options)
                new, op = value // n, "/"
                template = rng.choice(KEEP_ONE if kind == "keep_one" else SHARE)
                sentence = template.format(n=n, **fill)
                if kind == "share":
                    question = sentence
                else:
                    sentences.append(sentence)
            else:  # price
                new, op = value * n, "*"
                question = rng.choice(PRICE).format(n=n, **fill)
            reasoning.append(f"{value} {op} {n} = {new}.")
            used.append(n)
            value = new
            done = True
            break
        if not done or value > MAX_VALUE:
            return None

    if question is None:
        question = rng.choice(QUESTION).format(**fill)
    sentences.append(question)
    reasoning.append(f"The answer is {value}.")
    return {
        "question": " ".join(sentences),
        "answer": value,
        "difficulty": difficulty(steps, digits),
        "steps": steps,
        "digits": digits,
        "rationale": " ".join(reasoning),
    }


def difficulty(steps: int, digits: int) -> str:
    """easy / medium / hard from the sum of operations and operand digits (2-3 / 4 / 5-6)."""
    total = steps + digits
    return "easy" if total <= 3 else "medium" if total == 4 else "hard"


def make_items(
    rng: random.Random, per_cell: int, seen: set[str], prefix: str
) -> list[dict]:
    """``per_cell`` problems for each (steps, digits) cell, skipping any question already used."""
    rows: list[dict] = []
    for steps in (1, 2, 3):
        for digits in (1, 2, 3):
            made = 0
            while made < per_cell:
                problem = build_problem(rng, steps, digits)
                if problem is None or problem["question"] in seen:
                    continue
                seen.add(problem["question"])
                made += 1
                rows.append(problem)
    rows = spread(rows, lambda r: (r["steps"], r["digits"]), rng)
    return with_ids(rows, prefix, keep_rationale=prefix == "fs")


def generate(seed: int = DEFAULT_SEED) -> dict[str, list[dict]]:
    """All splits as lists of rows. Few-shot rows are drawn first and never reused for test."""
    rng = random.Random(seed)
    seen: set[str] = set()
    fewshot = make_items(rng, FEWSHOT_PER_CELL, seen, "fs")
    test = make_items(rng, TEST_PER_CELL, seen, "arith")
    return {"test": test, "fewshot": fewshot}


def main(argv: list[str] | None = None) -> int:
    """Command line: write every split as ``<out>/<split>.jsonl``."""
    return run_cli(argv, generate, doc=__doc__, default_seed=DEFAULT_SEED,
                   default_out=HERE / "data")


if __name__ == "__main__":
    raise SystemExit(main())
