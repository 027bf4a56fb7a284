"""Generate the sentiment task: short product and film reviews, plain, negated or mixed.

Why generated: each review is assembled from authored fragments whose polarity is known, so the
label is right by construction, and the hard kinds (negation such as "not bad at all", and mixed
reviews whose overall verdict outweighs a complaint) are controlled in number. Those kinds are
where a zero-shot prompt on a small model slips and a few examples help.

Run ``python tasks/sentiment/generate.py`` to rewrite ``data/`` byte-identically.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

# Run as a script or loaded by path in tests, this file is in no package, so put tasks/ on the
# path to import the helpers every generator shares (tasks/_generator.py) either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _generator import run_cli, spread, with_ids

DEFAULT_SEED = 20240612
HERE = Path(__file__).resolve().parent

# Per split: kind -> number of reviews of each label (so labels are exactly balanced).
TEST_PLAN = {"plain": 48, "negated": 36, "mixed": 36}  # 240 test reviews
FEWSHOT_PLAN = {"plain": 5, "negated": 5, "mixed": 5}  # 30 few-shot reviews


@dataclass(frozen=True)
class Aspect:
    """A reviewable part of a thing, with adjectives that are clearly good or clearly bad."""

    phrase: str
    good: tuple[str, ...]
    bad: tuple[str, ...]
    verb: str = "is"


A = Aspect
PRODUCT_ASPECTS = {
    "sound": A("the sound", ("crisp", "rich", "excellent"), ("tinny", "muddy", "awful")),
    "battery": A(
        "the battery life", ("excellent", "superb", "longer than I expected"),
        ("poor", "terrible", "shorter than advertised"),
    ),
    "build": A("the build quality", ("solid", "excellent", "first-rate"),
               ("flimsy", "poor", "cheap")),
    "price": A("the price", ("fair", "very reasonable"), ("far too high", "hard to justify")),
    "design": A("the design", ("sleek", "elegant", "clever"), ("clunky", "awkward", "ugly")),
    "delivery": A("delivery", ("fast", "quick"), ("slow", "painfully slow"), verb="was"),
    "service": A("customer service", ("helpful", "excellent"), ("useless", "unhelpful"),
                 verb="was"),
    "setup": A("the setup", ("quick", "painless", "easy"), ("confusing", "a nightmare"),
               verb="was"),
    "motor": A("the motor", ("powerful", "strong"), ("weak", "underpowered")),
    "screen": A("the screen", ("bright", "sharp"), ("dim", "blurry")),
    "fit": A("the fit", ("perfect", "comfortable"), ("awkward", "too tight")),
    "material": A("the material", ("soft", "sturdy"), ("thin", "scratchy")),
    "handle": A("the handle", ("comfortable", "sturdy"), ("wobbly", "flimsy")),
    "lid": A("the lid", ("secure", "snug"), ("leaky", "loose")),
    "suction": A("the suction", ("strong", "impressive"), ("weak", "feeble")),
    "typing": A("the typing feel", ("satisfying", "crisp"), ("mushy", "spongy")),
    "cushion": A("the cushion", ("comfortable", "supportive"), ("hard", "lumpy")),
    "light": A("the light", ("warm and even", "bright"), ("harsh", "flickery")),
    "waterproofing": A("the waterproofing", ("excellent", "reliable"), ("useless", "poor")),
    "app": A("the app", ("simple", "intuitive"), ("buggy", "clunky")),
}
FILM_ASPECTS = {
    "acting": A("the acting", ("superb", "excellent", "convincing"), ("wooden", "stiff", "awful")),
    "plot": A("the plot", ("clever", "gripping"), ("predictable", "confusing", "thin")),
    "soundtrack": A("the soundtrack", ("beautiful", "stirring"), ("grating", "forgettable")),
    "pacing": A("the pacing", ("tight", "perfect"), ("sluggish", "painfully slow")),
    "ending": A("the ending", ("satisfying", "powerful"), ("rushed", "flat")),
    "dialogue": A("the dialogue", ("sharp", "witty"), ("clunky", "cringeworthy")),
    "camera": A("the cinematography", ("stunning", "gorgeous"), ("murky", "dull")),
    "script": A("the script", ("smart", "tight"), ("lazy", "weak")),
    "lead": A("the lead performance", ("outstanding", "magnetic"), ("flat", "unconvincing")),
}
COMMON_PRODUCT = ["build", "price", "delivery", "service"]
PRODUCTS = {
    "headset": ["sound", "battery", "fit", "design"],
    "blender": ["motor", "lid", "design", "setup"],
    "kettle": ["handle", "lid", "design"],
    "backpack": ["material", "design", "waterproofing"],
    "phone case": ["fit", "material", "design"],
    "desk lamp": ["light", "design", "setup"],
    "office chair": ["cushion", "setup", "design"],
    "coffee grinder": ["motor", "design", "lid"],
    "vacuum cleaner": ["suction", "battery", "design"],
    "Bluetooth speaker": ["sound", "battery", "waterproofing", "app"],
    "keyboard": ["typing", "design", "app"],
    "smartwatch": ["screen", "battery", "app", "fit"],
    "tent": ["waterproofing", "setup", "material"],
    "rain jacket": ["waterproofing", "fit", "material"],
    "toaster": ["design", "setup"],
    "e-reader": ["screen", "battery", "design"],
}
FILMS = [
    "film", "movie", "sequel", "documentary", "thriller", "comedy", "drama", "animated film",
    "horror film", "musical", "western", "mystery", "war film", "biopic",
]

INTENS = ["", "", "really ", "truly "]  # only words that read well before every OVERALL_ADJ
OVERALL_ADJ = {
    ("product", "positive"): ["great", "excellent", "fantastic", "superb", "brilliant",
                              "reliable", "well made"],
    ("product", "negative"): ["disappointing", "flimsy", "awful", "terrible", "poorly made",
                              "useless", "overpriced"],
    ("film", "positive"): ["wonderful", "gripping", "moving", "brilliant", "delightful",
                           "superb", "beautiful"],
    ("film", "negative"): ["dull", "boring", "tedious", "forgettable", "awful",
                           "disappointing", "clumsy"],
}
# Whole sentences with an unambiguous overall verdict and no negation word.
OVERALL_FIXED = {
    ("product", "positive"): ["I love {subj}.", "Best purchase I've made this year.",
                              "Highly recommended.", "I'd buy it again in a heartbeat.",
                              "Worth every penny.", "I'm delighted with {subj}."],
    ("product", "negative"): ["I regret buying {subj}.", "I sent it back after a week.",
                              "Save your money.", "Worst purchase I've made this year.",
                              "It broke within a month.", "A complete waste of money."],
    ("film", "positive"): ["I loved every minute of {subj}.",
                           "One of the best films I've seen in years.",
                           "I'd happily watch it again.", "A must-see.",
                           "It had me hooked from the first scene.", "I adored {subj}."],
    ("film", "negative"): ["What a waste of two hours.", "I nearly fell asleep.",
                           "One of the worst films I've seen in years.",
                           "I regret watching {subj}.", "I was checking my watch after twenty "
                           "minutes.", "A tedious slog from start to finish."],
}
CONTEXT = {
    "product": ["I bought it last month.", "I ordered it online.", "It arrived on Tuesday.",
                "I bought it as a gift for my dad.", "I got it to replace my old one.",
                "I picked it up on sale."],
    "film": ["I watched it last night.", "I saw it at the cinema with a friend.",
             "We watched it on a Sunday afternoon.", "I went in knowing nothing about it.",
             "I streamed it over the weekend.", "I caught it on a long flight."],
}
# Negated sentences: the polarity word is flipped by a negation, so the label is the opposite
# of the bare word. {subj} is the reviewed thing, {asp} an aspect phrase.
NEGATED = {
    ("product", "positive"): [
        "{Subj} is not bad at all.", "I have no complaints about {asp}.",
        "I can't fault {asp}.", "I was not disappointed.", "I couldn't be happier with it.",
        "I don't regret buying it for a second.", "Nothing about it feels cheap.",
        "{Asp} is not a problem at all.", "I've had no issues with it whatsoever.",
    ],
    ("product", "negative"): [
        "{Subj} is not worth the money.", "I can't recommend {subj}.",
        "{Asp} is not good at all.", "Nothing about {asp} impressed me.",
        "I would not buy it again.", "It is not what I hoped for.",
        "I wouldn't call {asp} good.", "It's not as good as the reviews claim.",
        "I'm not happy with it.",
    ],
    ("film", "positive"): [
        "{Subj} is not bad at all.", "There is not a single dull moment.",
        "I can't fault {asp}.", "I was not disappointed.", "I couldn't look away.",
        "I don't regret watching it for a second.", "{Asp} never disappoints.",
        "I have no complaints about {asp}.", "It never once bored me.",
    ],
    ("film", "negative"): [
        "{Subj} is not worth your time.", "I can't recommend {subj}.",
        "{Asp} is not good at all.", "Nothing about {asp} impressed me.",
        "I would not watch it again.", "It is not what I hoped for.",
        "I didn't enjoy a single minute of it.", "It's not as good as the reviews claim.",
        "I wouldn't call {asp} good.",
    ],
}
VERDICT = {
    ("product", "positive"): ["overall I'm really happy with it", "I'd still buy it again",
                              "I still recommend it", "it's worth the money",
                              "I love it anyway", "it does the job well"],
    ("product", "negative"): ["overall it's a letdown", "I'm sending it back",
                              "it's a disappointment overall", "I regret buying it",
                              "I'd choose something else next time"],
    ("film", "positive"): ["overall I loved it", "I'd happily watch it again",
                           "it's still a great watch", "I enjoyed it from start to finish",
                           "it's well worth seeing"],
    ("film", "negative"): ["overall it's a letdown", "I was bored by the end",
                           "it's a chore to sit through", "I regret watching it",
                           "I'd skip it"],
}
# (sentence, the part that carries the verdict) for reviews that turn around mid-sentence.
MIXED_SPECIAL = {
    "positive": [("I had my doubts about {subj}, but it won me over.", "it won me over"),
                 ("I almost gave up on {subj}, but I'm glad I stuck with it.",
                  "I'm glad I stuck with it")],
    "negative": [("I wanted to love {subj}, but {bad}.", "{bad}"),
                 ("I had high hopes for {subj}, but {bad}.", "{bad}")],
}
OPPOSITE = {"positive": "negative", "negative": "positive"}


def cap(text: str) -> str:
    """Capitalise the first letter only (``str.capitalize`` would lower-case the rest)."""
    return text[:1].upper() + text[1:]


def clause(aspect: Aspect, polarity: str, rng: random.Random) -> str:
    """'the battery life is poor' — an aspect with an adjective of the given polarity."""
    adj = rng.choice(aspect.good if polarity == "positive" else aspect.bad)
    return f"{aspect.phrase} {aspect.verb} {adj}"


def pick_subject(rng: random.Random) -> tuple[str, str, list[Aspect]]:
    """(domain, subject noun phrase, aspects that make sense for it)."""
    if rng.random() < 0.5:
        noun = rng.choice(sorted(PRODUCTS))
        keys = PRODUCTS[noun] + COMMON_PRODUCT
        det = rng.choice(["this", "the", "my new"])
        return "product", f"{det} {noun}", [PRODUCT_ASPECTS[k] for k in keys]
    noun = rng.choice(FILMS)
    det = rng.choice(["this", "the"])
    return "film", f"{det} {noun}", list(FILM_ASPECTS.values())


def overall(domain: str, label: str, subj: str, rng: random.Random) -> str:
    """A plain sentence stating the overall verdict."""
    if rng.random() < 0.45:
        adj = rng.choice(OVERALL_ADJ[(domain, label)])
        return f"{cap(subj)} is {rng.choice(INTENS)}{adj}."
    return rng.choice(OVERALL_FIXED[(domain, label)]).format(subj=subj)


def praise(label: str) -> str:
    return "praise" if label == "positive" else "criticism"


def make_review(kind: str, label: str, rng: random.Random) -> dict:
    """One review of ``kind`` whose overall sentiment is ``label``, with a short rationale."""
    domain, subj, aspects = pick_subject(rng)
    first, second = rng.sample(aspects, 2)
    sentences: list[str] = []
    if kind == "plain":
        core = overall(domain, label, subj, rng)
        support = cap(clause(first, label, rng)) + "."
        parts = [core, support] if rng.random() < 0.5 else [support, core]
        if rng.random() < 0.35:
            parts.insert(0, rng.choice(CONTEXT[domain]))
        elif rng.random() < 0.3:
            parts = [core]
        sentences = parts
        why = f'"{core}" is {praise(label)}.'
    elif kind == "negated":
        fill = {"subj": subj, "Subj": cap(subj), "asp": first.phrase, "Asp": cap(first.phrase)}
        pool = NEGATED[(domain, label)]
        core_t, extra_t = rng.sample(pool, 2)
        core = core_t.format(**fill)
        # The second sentence talks about another aspect so nothing is said twice.
        extra = extra_t.format(**fill | {"asp": second.phrase, "Asp": cap(second.phrase)})
        sentences = [core] + ([extra] if rng.random() < 0.4 else [])
        if rng.random() < 0.4:
            sentences.insert(0, rng.choice(CONTEXT[domain]))
        why = (f'"{core}" negates a {"complaint" if label == "positive" else "compliment"}, '
               f"so it is {praise(label)}.")
    else:  # mixed: one aspect goes the other way; the overall verdict decides
        verdict = rng.choice(VERDICT[(domain, label)])
        against = clause(first, OPPOSITE[label], rng)
        form = rng.randrange(5)
        if form == 0:
            core = f"{cap(against)}, but {verdict}."
        elif form == 1:
            core = f"Although {against}, {verdict}."
        elif form == 2:
            core = f"{cap(verdict)}, even though {against}."
        elif form == 3:
            core = f"{cap(against)}. Still, {verdict}."
        else:
            text, cue = rng.choice(MIXED_SPECIAL[label])
            bad = clause(first, "negative", rng)
            core, verdict = text.format(subj=subj, bad=bad), cue.format(bad=bad)
        sentences = [core]
        if form == 4 and label == "positive":
            sentences.append(cap(clause(second, "positive", rng)) + ".")
        elif rng.random() < 0.3:
            sentences.insert(0, rng.choice(CONTEXT[domain]))
        why = (f'The review has good and bad points, but the deciding part, "{verdict}", '
               f"is {praise(label)}.")
    review = " ".join(sentences)
    return {
        "review": review,
        "label": label,
        "kind": kind,
        "domain": domain,
        "rationale": f"{why} The answer is {label}.",
    }


def make_split(plan: dict[str, int], rng: random.Random, seen: set[str], prefix: str,
               keep_rationale: bool) -> list[dict]:
    """Reviews per ``plan`` (kind -> count per label), shuffled, none repeating ``seen``."""
    rows: list[dict] = []
    for kind, per_label in plan.items():
        for label in ("positive", "negative"):
            made = 0
            while made < per_label:
                row = make_review(kind, label, rng)
                if row["review"] in seen:
                    continue
                seen.add(row["review"])
                rows.append(row)
                made += 1
    rows = spread(rows, lambda r: (r["kind"], r["label"]), rng)
    return with_ids(rows, prefix, keep_rationale=keep_rationale)


def generate(seed: int = DEFAULT_SEED) -> dict[str, list[dict]]:
    """All splits as lists of rows. Few-shot reviews are drawn first; test never repeats one."""
    rng = random.Random(seed)
    seen: set[str] = set()
    fewshot = make_split(FEWSHOT_PLAN, rng, seen, "fs", keep_rationale=True)
    test = make_split(TEST_PLAN, rng, seen, "sent", keep_rationale=False)
    return {"test": test, "fewshot": fewshot}


def main(argv: list[str] | None = None) -> int:
    """Command line: write every split as ``<out>/<split>.jsonl``."""
    return run_cli(argv, generate, doc=__doc__, default_seed=DEFAULT_SEED,
                   default_out=HERE / "data")


if __name__ == "__main__":
    raise SystemExit(main())
