"""Generate the kb-qa task: a corpus about a fictional cooperative and questions answerable from it.

Why generated: a retrieval-augmented prompt only shows its worth on facts no model has seen. The
Corvessa Cooperative, its workshops, people, products and towns are invented from structured
facts with a seed, every document is written from those facts, and every question's answer and
gold documents are read off the same facts, so they agree by construction. Closed-book a model
can only guess; with the right document in the prompt the answer is a copy away.

Run ``python tasks/kb-qa/generate.py`` to rewrite ``data/`` byte-identically.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script or loaded by path in tests, this file is in no package, so put tasks/ on the
# path to import the helpers every generator shares (tasks/_generator.py) either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _generator import run_cli, spread, with_ids

DEFAULT_SEED = 20240613
HERE = Path(__file__).resolve().parent
ORG = "Corvessa Cooperative"
N_TOWNS, N_WORKSHOPS, N_PEOPLE, N_PRODUCTS = 45, 25, 90, 60
# Test questions per kind of first-hop entity, then per two-hop pattern.
SINGLE_QUOTA = {"person": 110, "product": 90, "town": 65, "workshop": 32, "org": 3}
TWO_HOP_PER_PATTERN = 9  # x 7 patterns = 63
# Entities held back: their questions go to the few-shot split only, never to test.
RESERVED = {"person": 4, "product": 3, "town": 2, "workshop": 2}
FEWSHOT_SINGLE, FEWSHOT_TWO_HOP = 24, 6

# Syllables chosen to make names that read as names but belong to no famous place or person.
TOWN_HEADS = [
    "Vask", "Threl", "Drev", "Kalm", "Yelm", "Fross", "Mirn", "Tarn", "Zend", "Holv", "Grisk",
    "Lunn", "Serv", "Ambel", "Weyl", "Quen", "Ossar", "Brisk", "Pellan", "Corr", "Hesk", "Ulv",
    "Dunmor", "Escar", "Fald", "Gorm", "Hallo", "Ibbet", "Jorn", "Keld", "Lorr", "Murra",
    "Nethra", "Oxel", "Prenn", "Rusm", "Stav", "Teln", "Urren", "Vey", "Wendel", "Yarl",
    "Zamm", "Brock", "Caddel", "Dilm", "Elst", "Fenner",
]
TOWN_TAILS = [
    "mere", "holt", "wick", "stead", "ford", "haven", "moor", "vale", "thorpe", "combe",
    "ridge", "by",
]
SURNAME_HEADS = [
    "Ask", "Brenn", "Cald", "Dross", "Evern", "Fald", "Gort", "Hosk", "Ivel", "Jask", "Kern",
    "Lisk", "Morv", "Nask", "Orl", "Pask", "Quill", "Rask", "Sorr", "Tamb", "Uld", "Vorn",
    "Wyrr", "Yarr", "Zell",
]
SURNAME_TAILS = ["holm", "wright", "ley", "ton", "ard", "ick", "ell", "sen", "more", "by"]
FIRST_NAMES = [
    ("Ilsa", "she"), ("Teodor", "he"), ("Maren", "she"), ("Oswin", "he"), ("Petra", "she"),
    ("Caius", "he"), ("Liora", "she"), ("Anselm", "he"), ("Brisa", "she"), ("Dorian", "he"),
    ("Sabine", "she"), ("Emeric", "he"), ("Ysolde", "she"), ("Florin", "he"), ("Katja", "she"),
    ("Lucan", "he"), ("Noemi", "she"), ("Ruben", "he"), ("Talia", "she"), ("Viggo", "he"),
    ("Odile", "she"), ("Jasper", "he"), ("Mirela", "she"), ("Halvard", "he"), ("Esme", "she"),
    ("Tobiah", "he"), ("Annika", "she"), ("Corin", "he"), ("Greer", "she"), ("Idris", "he"),
]
FOUNDER_NAMES = [
    "Aldous Threnn", "Mabry Coltish", "Wendel Orrock", "Sigrun Vasel", "Bertil Haume",
    "Gudrun Pelloch", "Osric Tamsel", "Hild Marrow", "Eadric Fenlow", "Rowena Kesk",
    "Tancred Vole", "Aveline Drum", "Godwin Sarrel", "Isolde Brack", "Leofric Hanno",
]
FOUNDER_TRADES = [
    "wool merchant", "ferryman", "miller", "stonemason", "salt trader", "blacksmith",
    "shepherd", "brewer", "glassblower", "tanner",
]
REGIONS = ["Holven Valley", "Ardmarsh", "Kessel Downs", "Tiverlake Coast", "Orme Uplands",
           "Brackwater Plain"]
RIVERS = ["Ossel", "Varne", "Tiltern", "Mersk", "Quell", "Brisk", "Eskel", "Farrow", "Haddle",
          "Yenn", "Corle", "Sallow"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
KNOWN_FOR = [
    "its spring lantern festival", "its covered glass market", "its old stone bridge",
    "its apple orchards", "its clockmakers' guild hall", "its boat races",
    "its winter wool fair", "its hillside vineyards", "its printing museum",
    "its tall windmill", "its cheese cellars", "its botanical garden",
]
WORKSHOP_WORDS = [
    "Ambrel", "Tessly", "Korrin", "Halden", "Vessel", "Orlin", "Brannet", "Quorn", "Sallis",
    "Dunmer", "Feyle", "Gallet", "Isker", "Jorvel", "Kettrin", "Lowden", "Marrel", "Nesbet",
    "Oakrin", "Pellow", "Rudden", "Sorrel", "Thessa", "Underly", "Velden", "Wistan", "Yarrow",
]
PRODUCT_HEADS = [
    "Quor", "Bren", "Tav", "Solv", "Kest", "Dall", "Fenn", "Orv", "Pimb", "Rav", "Toll", "Vant",
    "Wick", "Yorr", "Zeph", "Ashl", "Belc", "Dunst", "Farr", "Harr", "Istr", "Kald", "Liss",
    "Marr", "Omb", "Penn", "Quill", "Sarr", "Umbr", "Wend", "Yell", "Zorr", "Brast", "Crenn",
    "Delv", "Ebbr", "Frell", "Grav", "Hobb", "Ilv", "Jass", "Korr", "Lemm", "Mizz", "Nebb",
    "Opp", "Plov", "Rusk", "Sprell", "Thav", "Ulb", "Vell", "Whirr", "Yabb", "Zand", "Carr",
    "Dross", "Elv", "Fimb", "Gorr", "Hesp", "Ivr", "Jelk", "Knab",
]
PRODUCT_TAILS = ["el", "o", "ish", "ane", "in", "ow", "ick", "ella", "er", "on", "ix", "ara"]
# product kind -> (weight range in kg, price range in crowns)
PRODUCT_KINDS = {
    "lantern": ((1, 4), (20, 90)), "kettle": ((1, 3), (25, 80)), "loom": ((30, 90), (400, 1500)),
    "bicycle": ((9, 18), (200, 900)), "water pump": ((8, 40), (150, 700)),
    "stove": ((20, 70), (300, 1200)), "radio": ((2, 6), (60, 250)),
    "telescope": ((3, 12), (150, 800)), "compass": ((1, 2), (15, 60)),
    "wall clock": ((1, 5), (40, 200)), "sewing machine": ((6, 15), (200, 700)),
    "boat engine": ((25, 80), (800, 2500)), "heater": ((4, 15), (90, 400)),
    "wheelbarrow": ((10, 25), (60, 200)),
}
ROLES = [
    "engineer", "designer", "chemist", "machinist", "archivist", "buyer", "accountant",
    "foreman", "technician", "draughtsman", "metallurgist", "quality inspector",
]
HOBBIES = [
    "keeps bees", "sails on weekends", "collects old maps", "plays the cello",
    "restores antique clocks", "grows tomatoes", "runs long distances", "paints watercolours",
    "writes short plays", "builds model boats", "sings in a choir", "climbs rocks",
]
TRAITS = [
    "careful notes", "patient teaching", "quick sketches", "tidy workbench", "dry humour",
    "early starts", "endless questions", "calm in a crisis",
]
FEATURES = [
    "sturdy frame", "quiet running", "simple repairs", "long service life", "clever hinges",
    "low fuel use", "handsome finish", "easy cleaning",
]
COLOURS = ["green", "grey", "copper", "navy", "cream", "red", "black", "ochre"]


@dataclass
class Entity:
    """One thing the corpus describes; ``facts`` holds everything questions may ask about."""

    id: str
    kind: str
    name: str
    facts: dict = field(default_factory=dict)


def unique_names(rng: random.Random, heads: list[str], tails: list[str], n: int) -> list[str]:
    """``n`` distinct names, each from a different head (so no two share a first syllable,
    which keeps them apart for readers and retrievers alike) and a random tail."""
    chosen = rng.sample(heads, n)
    names = []
    for head in chosen:
        fits = [t for t in tails if t[0].lower() != head[-1].lower()]
        names.append(head + rng.choice(fits))
    return names


def combo_names(rng: random.Random, heads: list[str], tails: list[str], n: int) -> list[str]:
    """``n`` distinct head+tail names where heads may repeat (there are more people than heads;
    a first name drawn later tells them apart)."""
    pool = [h + t for h in heads for t in tails if t[0].lower() != h[-1].lower()]
    rng.shuffle(pool)
    return pool[:n]


def build_world(rng: random.Random) -> dict[str, list[Entity]]:
    """All entities and their links, with dates that respect each other."""
    towns = []
    for i, name in enumerate(unique_names(rng, TOWN_HEADS, TOWN_TAILS, N_TOWNS)):
        towns.append(Entity(f"town-{i:03d}", "town", name, {
            "population": rng.randrange(2000, 60000, 10),
            "founded": rng.randint(1300, 1850),
            "founder": rng.choice(FOUNDER_NAMES),
            "trade": rng.choice(FOUNDER_TRADES),
            "region": rng.choice(REGIONS),
            "river": rng.choice(RIVERS),
            "market_day": rng.choice(WEEKDAYS),
            "known_for": rng.choice(KNOWN_FOR),
        }))

    kinds = sorted(PRODUCT_KINDS)
    workshops = []
    for i, word in enumerate(rng.sample(WORKSHOP_WORDS, N_WORKSHOPS)):
        workshops.append(Entity(f"workshop-{i:03d}", "workshop", f"{word} Workshop", {
            "town": rng.choice(towns),
            "founded": rng.randint(1950, 2012),
            "staff": rng.randrange(20, 400, 5),
            "makes": rng.sample(kinds, 2),
        }))

    surnames = combo_names(rng, SURNAME_HEADS, SURNAME_TAILS, N_PEOPLE)
    people = []
    for i, surname in enumerate(surnames):
        first, pronoun = rng.choice(FIRST_NAMES)
        # The first N_WORKSHOPS people are spread one per workshop so every workshop has staff.
        workshop = workshops[i] if i < N_WORKSHOPS else rng.choice(workshops)
        born = rng.randint(1955, 1998)
        people.append(Entity(f"person-{i:03d}", "person", f"{first} {surname}", {
            "pronoun": pronoun,
            "role": rng.choice(ROLES),
            "born_in": rng.choice(towns),
            "born": born,
            "joined": rng.randint(max(born + 22, workshop.facts["founded"]), 2023),
            "workshop": workshop,
            "hobby": rng.choice(HOBBIES),
            "trait": rng.choice(TRAITS),
        }))
    for workshop in workshops:
        staff = [p for p in people if p.facts["workshop"] is workshop]
        workshop.facts["leader"] = rng.choice(staff)

    products = []
    for i, word in enumerate(unique_names(rng, PRODUCT_HEADS, PRODUCT_TAILS, N_PRODUCTS)):
        workshop = rng.choice(workshops)
        kind = rng.choice(workshop.facts["makes"])
        designer = rng.choice([p for p in people if p.facts["workshop"] is workshop])
        (wlo, whi), (plo, phi) = PRODUCT_KINDS[kind]
        products.append(Entity(f"product-{i:03d}", "product", f"{word} {kind}", {
            "kind": kind,
            "workshop": workshop,
            "designer": designer,
            "launched": rng.randint(designer.facts["joined"], 2024),
            "price": rng.randint(plo, phi),
            "weight": rng.randint(wlo, whi),
            "colours": rng.sample(COLOURS, 3),
            "feature": rng.choice(FEATURES),
        }))

    hq = rng.choice(towns)
    org = Entity("org-000", "org", ORG, {
        "hq": hq, "founded": min(w.facts["founded"] for w in workshops) - rng.randint(3, 20),
        "workshops": N_WORKSHOPS,
    })
    # Shuffle the order people and products are listed in no way: ids already carry the seed.
    return {"town": towns, "workshop": workshops, "person": people, "product": products,
            "org": [org]}


def document(e: Entity) -> str:
    """The text of one document. Its first sentence names the entity, for the retriever."""
    f = e.facts
    if e.kind == "town":
        return (
            f"{e.name} is a market town in the {f['region']} region, home to several workshops "
            f"of the {ORG}. {e.name} was founded in {f['founded']} by {f['founder']}, a "
            f"{f['trade']} who built the first houses by the water. Today {e.name} has a "
            f"population of {f['population']}. The river {f['river']} flows through the "
            f"centre of the town, and the weekly market is held every {f['market_day']}. "
            f"{e.name} is best known for {f['known_for']}, which draws visitors from across "
            f"the {f['region']} region."
        )
    if e.kind == "workshop":
        a, b = f["makes"]
        return (
            f"{e.name} is a workshop of the {ORG}, based in {f['town'].name}. {e.name} was "
            f"founded in {f['founded']} and specialises in {plural(a)} and {plural(b)}. It is "
            f"led by {f['leader'].name}. About {f['staff']} people work at {e.name}, most of "
            f"them trained in its own apprentice school. The workshop opens its doors to "
            f"visitors once a year, when it shows early prototypes and the tools used to "
            f"build them."
        )
    if e.kind == "person":
        p = f["pronoun"]
        poss = "her" if p == "she" else "his"
        return (
            f"{e.name} is {article(f['role'])} {f['role']} at the {ORG}. {e.name} was born in "
            f"{f['born_in'].name} in {f['born']} and joined the cooperative in {f['joined']}. "
            f"{cap(p)} works at {f['workshop'].name}, where colleagues know {e.name.split()[0]} "
            f"for {poss} {f['trait']}. Outside work, {e.name.split()[0]} {f['hobby']}. "
            f"{cap(p)} says the best part of the job is seeing a new design leave the bench "
            f"and reach the people who use it."
        )
    if e.kind == "product":
        c1, c2, c3 = f["colours"]
        return (
            f"The {e.name} is a {f['kind']} made by {f['workshop'].name} of the {ORG}. The "
            f"{e.name} was launched in {f['launched']} and was designed by "
            f"{f['designer'].name}. It sells for {f['price']} crowns and weighs "
            f"{f['weight']} kilograms. The {e.name} comes in {c1}, {c2} and {c3}. Reviewers "
            f"praised its {f['feature']}, and owners say it is easy to keep in good order."
        )
    return (
        f"The {ORG} is a federation of {f['workshops']} workshops that make tools and "
        f"household goods. The {ORG} was founded in {f['founded']} and has its headquarters "
        f"in {f['hq'].name}. Its members share a purchasing office, an apprentice school and "
        f"a yearly fair where each workshop shows its newest products. Decisions are taken "
        f"by a council with one delegate from every workshop."
    )


def plural(kind: str) -> str:
    return kind + ("es" if kind.endswith(("ch", "sh", "ss")) else "s")


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# Each question template: (qtype, [phrasings], answer getter, evidence sentence for rationale).
Q = tuple[str, list[str], Callable[[Entity], object], Callable[[Entity], str]]
SINGLE: dict[str, list[Q]] = {
    "town": [
        ("town.population", ["What is the population of {n}?",
                             "How many people live in the town of {n}?"],
         lambda e: e.facts["population"],
         lambda e: f"{e.name} has a population of {e.facts['population']}."),
        ("town.founded", ["In what year was the town of {n} founded?",
                          "When was {n} founded?"],
         lambda e: e.facts["founded"],
         lambda e: f"{e.name} was founded in {e.facts['founded']}."),
        ("town.founder", ["Who founded the town of {n}?", "Who founded {n}?"],
         lambda e: e.facts["founder"],
         lambda e: f"{e.name} was founded by {e.facts['founder']}."),
        ("town.river", ["Which river flows through {n}?",
                        "What is the name of the river that flows through {n}?"],
         lambda e: e.facts["river"],
         lambda e: f"The river {e.facts['river']} flows through {e.name}."),
        ("town.market_day", ["On which day of the week is the market held in {n}?",
                             "What day is market day in {n}?"],
         lambda e: e.facts["market_day"],
         lambda e: f"The market in {e.name} is held every {e.facts['market_day']}."),
        ("town.region", ["In which region is the town of {n}?",
                         "Which region is {n} in?"],
         lambda e: e.facts["region"],
         lambda e: f"{e.name} is in the {e.facts['region']} region."),
    ],
    "workshop": [
        ("workshop.leader", ["Who leads {n}?", "Who is the leader of {n}?"],
         lambda e: e.facts["leader"].name,
         lambda e: f"{e.name} is led by {e.facts['leader'].name}."),
        ("workshop.town", ["In which town is {n} based?", "Where is {n} based?"],
         lambda e: e.facts["town"].name,
         lambda e: f"{e.name} is based in {e.facts['town'].name}."),
        ("workshop.founded", ["In what year was {n} founded?", "When was {n} founded?"],
         lambda e: e.facts["founded"],
         lambda e: f"{e.name} was founded in {e.facts['founded']}."),
        ("workshop.staff", ["About how many people work at {n}?",
                            "How many people work at {n}?"],
         lambda e: e.facts["staff"],
         lambda e: f"About {e.facts['staff']} people work at {e.name}."),
    ],
    "person": [
        ("person.born_in", ["In which town was {n} born?", "Where was {n} born?"],
         lambda e: e.facts["born_in"].name,
         lambda e: f"{e.name} was born in {e.facts['born_in'].name}."),
        ("person.born", ["In what year was {n} born?", "When was {n} born?"],
         lambda e: e.facts["born"],
         lambda e: f"{e.name} was born in {e.facts['born']}."),
        ("person.joined", [f"In what year did {{n}} join the {ORG}?",
                           "When did {n} join the cooperative?"],
         lambda e: e.facts["joined"],
         lambda e: f"{e.name} joined the cooperative in {e.facts['joined']}."),
        ("person.role", [f"What is {{n}}'s job at the {ORG}?", "What does {n} do for a living?"],
         lambda e: e.facts["role"],
         lambda e: f"{e.name} is a {e.facts['role']}."),
        ("person.workshop", ["Which workshop does {n} work at?",
                             "At which workshop does {n} work?"],
         lambda e: e.facts["workshop"].name,
         lambda e: f"{e.name} works at {e.facts['workshop'].name}."),
    ],
    "product": [
        ("product.launched", ["In what year was the {n} launched?", "When was the {n} launched?"],
         lambda e: e.facts["launched"],
         lambda e: f"The {e.name} was launched in {e.facts['launched']}."),
        ("product.price", ["How much does the {n} cost, in crowns?",
                           "What is the price of the {n} in crowns?"],
         lambda e: e.facts["price"],
         lambda e: f"The {e.name} sells for {e.facts['price']} crowns."),
        ("product.designer", ["Who designed the {n}?", "Who is the designer of the {n}?"],
         lambda e: e.facts["designer"].name,
         lambda e: f"The {e.name} was designed by {e.facts['designer'].name}."),
        ("product.workshop", ["Which workshop makes the {n}?", "Which workshop builds the {n}?"],
         lambda e: e.facts["workshop"].name,
         lambda e: f"The {e.name} is made by {e.facts['workshop'].name}."),
        ("product.weight", ["How many kilograms does the {n} weigh?",
                            "What does the {n} weigh, in kilograms?"],
         lambda e: e.facts["weight"],
         lambda e: f"The {e.name} weighs {e.facts['weight']} kilograms."),
    ],
    "org": [
        ("org.hq", [f"In which town does the {ORG} have its headquarters?"],
         lambda e: e.facts["hq"].name,
         lambda e: f"The {ORG} has its headquarters in {e.facts['hq'].name}."),
        ("org.founded", [f"In what year was the {ORG} founded?"],
         lambda e: e.facts["founded"],
         lambda e: f"The {ORG} was founded in {e.facts['founded']}."),
        ("org.workshops", [f"How many workshops belong to the {ORG}?"],
         lambda e: e.facts["workshops"],
         lambda e: f"The {ORG} is a federation of {e.facts['workshops']} workshops."),
    ],
}


@dataclass(frozen=True)
class Hop2:
    """A two-hop question: the first entity's document names a bridge entity, whose document
    holds the answer."""

    qtype: str
    first_kind: str
    phrasings: tuple[str, ...]
    bridge: Callable[[Entity], Entity]
    second: str  # the SINGLE qtype asked of the bridge
    bridge_sentence: Callable[[Entity], str]


TWO_HOP = [
    Hop2("person>town.population", "person",
         ("What is the population of the town where {n} was born?",),
         lambda e: e.facts["born_in"], "town.population",
         lambda e: f"{e.name} was born in {e.facts['born_in'].name}."),
    Hop2("product>person.born_in", "product",
         ("In which town was the designer of the {n} born?",),
         lambda e: e.facts["designer"], "person.born_in",
         lambda e: f"The {e.name} was designed by {e.facts['designer'].name}."),
    Hop2("product>workshop.town", "product",
         ("In which town is the workshop that makes the {n} based?",),
         lambda e: e.facts["workshop"], "workshop.town",
         lambda e: f"The {e.name} is made by {e.facts['workshop'].name}."),
    Hop2("product>workshop.leader", "product",
         ("Who leads the workshop that makes the {n}?",),
         lambda e: e.facts["workshop"], "workshop.leader",
         lambda e: f"The {e.name} is made by {e.facts['workshop'].name}."),
    Hop2("workshop>person.born_in", "workshop",
         ("In which town was the leader of {n} born?",),
         lambda e: e.facts["leader"], "person.born_in",
         lambda e: f"{e.name} is led by {e.facts['leader'].name}."),
    Hop2("workshop>person.joined", "workshop",
         ("In what year did the leader of {n} join the cooperative?",),
         lambda e: e.facts["leader"], "person.joined",
         lambda e: f"{e.name} is led by {e.facts['leader'].name}."),
    Hop2("workshop>town.population", "workshop",
         ("What is the population of the town where {n} is based?",),
         lambda e: e.facts["town"], "town.population",
         lambda e: f"{e.name} is based in {e.facts['town'].name}."),
]
QTYPES = {q[0]: q for qs in SINGLE.values() for q in qs}


def single_questions(e: Entity, rng: random.Random) -> list[dict]:
    """Every single-hop question about ``e`` (one phrasing each, picked at random)."""
    out = []
    for qtype, phrasings, answer, evidence in SINGLE[e.kind]:
        out.append({
            "question": rng.choice(phrasings).format(n=e.name),
            "answer": str(answer(e)),
            "gold_doc_ids": [e.id],
            "entity": e.id,
            "hops": 1,
            "qtype": qtype,
            "rationale": f"{evidence(e)} The answer is {answer(e)}.",
        })
    return out


def two_hop_question(e: Entity, hop: Hop2, rng: random.Random) -> dict:
    bridge = hop.bridge(e)
    _, _, answer, evidence = QTYPES[hop.second]
    return {
        "question": rng.choice(hop.phrasings).format(n=e.name),
        "answer": str(answer(bridge)),
        "gold_doc_ids": [e.id, bridge.id],
        "entity": e.id,
        "hops": 2,
        "qtype": hop.qtype,
        "rationale": f"{hop.bridge_sentence(e)} {evidence(bridge)} The answer is {answer(bridge)}.",
    }


def take_spread(rng: random.Random, candidates: list[dict], n: int) -> list[dict]:
    """``n`` questions, taking question types in turn and, within a type, an entity asked about
    least so far: types stay balanced and no entity dominates its cluster."""
    by_type: dict[str, list[dict]] = {}
    for q in candidates:
        by_type.setdefault(q["qtype"], []).append(q)
    for qs in by_type.values():
        rng.shuffle(qs)
    order = list(by_type)
    rng.shuffle(order)
    uses: dict[str, int] = {}
    picked: list[dict] = []
    while len(picked) < n:
        progressed = False
        for qtype in order:
            qs = by_type[qtype]
            if not qs or len(picked) >= n:
                continue
            best = min(range(len(qs)), key=lambda i: uses.get(qs[i]["entity"], 0))
            q = qs.pop(best)
            uses[q["entity"]] = uses.get(q["entity"], 0) + 1
            picked.append(q)
            progressed = True
        if not progressed:
            raise ValueError(f"only {len(picked)} questions available, wanted {n}")
    return picked


def generate(seed: int = DEFAULT_SEED) -> dict[str, list[dict]]:
    """The corpus and both question splits. Questions about reserved entities are few-shot only."""
    rng = random.Random(seed)
    world = build_world(rng)
    corpus = [
        {"id": e.id, "title": e.name, "text": document(e), "type": e.kind}
        for kind in ("org", "town", "workshop", "person", "product")
        for e in world[kind]
    ]

    reserved: set[str] = set()
    for kind, n in RESERVED.items():
        reserved.update(e.id for e in rng.sample(world[kind], n))

    def pool(kind: str, held: bool) -> list[Entity]:
        return [e for e in world[kind] if (e.id in reserved) == held]

    test: list[dict] = []
    fewshot_single: list[dict] = []
    for kind, quota in SINGLE_QUOTA.items():
        cands = [q for e in pool(kind, False) for q in single_questions(e, rng)]
        test.extend(take_spread(rng, cands, quota))
        fewshot_single.extend(q for e in pool(kind, True) for q in single_questions(e, rng))
    fewshot_two: list[dict] = []
    for hop in TWO_HOP:
        cands = [two_hop_question(e, hop, rng) for e in pool(hop.first_kind, False)]
        test.extend(take_spread(rng, cands, TWO_HOP_PER_PATTERN))
        fewshot_two.extend(two_hop_question(e, hop, rng) for e in pool(hop.first_kind, True))
    fewshot = (take_spread(rng, fewshot_single, FEWSHOT_SINGLE)
               + take_spread(rng, fewshot_two, FEWSHOT_TWO_HOP))

    test = spread(test, lambda q: q["qtype"], rng)
    rng.shuffle(fewshot)
    return {"test": with_ids(test, "kbqa", keep_rationale=False),
            "fewshot": with_ids(fewshot, "fs", keep_rationale=True), "corpus": corpus}


def main(argv: list[str] | None = None) -> int:
    """Command line: write every split (and the corpus) as ``<out>/<name>.jsonl``."""
    return run_cli(argv, generate, doc=__doc__, default_seed=DEFAULT_SEED,
                   default_out=HERE / "data", out_help="folder for the files")


if __name__ == "__main__":
    raise SystemExit(main())
