"""Generate the extraction task: short business messages -> a JSON object with five fields.

Why generated: the gold JSON is fixed first and the message is written around it, so the target
is right by construction, while the surface forms vary the way real messages do (dates as
"4 March 2024" or "Mon, Mar 4, 2024", amounts as "$1,249.99" or "1249.99 euros", a support agent's
name and a shipping fee as distractors). Getting the exact output format right is what examples
in the prompt teach, so few-shot versus zero-shot shows up clearly here.

Run ``python tasks/extraction/generate.py`` to rewrite ``data/`` byte-identically.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

# Run as a script or loaded by path in tests, this file is in no package, so put tasks/ on the
# path to import the helpers every generator shares (tasks/_generator.py) either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _generator import run_cli, spread, with_ids

DEFAULT_SEED = 20240614
HERE = Path(__file__).resolve().parent
N_TEST, N_FEWSHOT = 240, 30
FIELDS = ["name", "date", "amount", "currency", "city"]

FIRST = [
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jakub",
    "Kemi", "Lars", "Maya", "Nikhil", "Olivia", "Pablo", "Rania", "Stefan", "Tara", "Umar",
    "Valeria", "Wei", "Yara", "Zoltan", "Aisha", "Bjorn", "Camila", "Dev", "Emma", "Felix",
]
LAST = [
    "Lopez", "Okafor", "Novak", "Schmidt", "Tanaka", "Haddad", "Kowalski", "Moreau", "Singh",
    "Jensen", "Costa", "Fischer", "Ivanova", "Mensah", "Rossi", "Nguyen", "Larsen", "Duarte",
    "Petrov", "Walsh", "Bauer", "Sato", "Ferreira", "Kaya", "Lindqvist", "Oduya", "Brennan",
    "Varga", "Molina", "Achterberg",
]
STAFF = ["Priya", "Tom", "Lucia", "Sven", "Amina", "Marco", "Jess", "Omar", "Hanna", "Leo"]
CITIES = [
    "Lyon", "Porto", "Leeds", "Denver", "Krakow", "Osaka", "Nairobi", "Bergen", "Toronto",
    "Seville", "Adelaide", "Ghent", "Austin", "Turin", "Cork", "Tallinn", "Bristol",
    "Montreal", "Bilbao", "Graz", "Utrecht", "Malmo", "Pune", "Halifax", "Lisbon", "Dresden",
]
STREETS = ["Elm Street", "Harbour Road", "Station Lane", "Mill Avenue", "Park Row",
           "Canal Street", "Orchard Way", "King Street"]
SHOPS = ["Northwind Goods", "Bluebird Home", "Kettle & Co", "Pinecone Outdoor", "Larkspur Books",
         "Ferro Cycles", "Copperleaf Audio", "Meadow Kitchenware"]
GOODS = ["a standing desk", "two armchairs", "a road bike", "a set of speakers",
         "a coffee machine", "a tent and two sleeping bags", "a box of books", "a rug",
         "a sewing machine", "a pair of hiking boots"]
EVENTS = ["the Harbour Jazz Night", "a pottery workshop", "the City Marathon",
          "a wine-tasting evening", "the Spring Design Fair", "a photography course",
          "the Film Music Gala", "a cookery masterclass"]
HOTELS = ["Hotel Meridian", "The Lantern Inn", "Riverside Suites", "Casa Alba",
          "The Old Mill Hotel", "Parkview Lodge"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CURRENCY_NAMES = {"USD": "dollars", "EUR": "euros", "GBP": "pounds"}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def say_date(d: dt.date, rng: random.Random) -> str:
    """The date the way a person or a mail system might write it; never an ambiguous 03/04."""
    month, short = MONTHS[d.month - 1], MONTHS[d.month - 1][:3]
    forms = [
        d.isoformat(),
        f"{month} {d.day}, {d.year}",
        f"{d.day} {month} {d.year}",
        f"{short} {d.day}, {d.year}",
        f"{DAYS[d.weekday()]}, {d.day} {month} {d.year}",
        f"{DAYS[d.weekday()][:3]}, {short} {d.day}, {d.year}",
        f"the {ordinal(d.day)} of {month} {d.year}",
    ]
    return rng.choice(forms)


def say_amount(amount: float, currency: str, rng: random.Random) -> str:
    """Money as written in messages: symbol or code or word, with or without a comma."""
    grouped = f"{amount:,.2f}"
    plain = f"{amount:.2f}"
    number = rng.choice([grouped, grouped, plain])
    forms = [
        f"{SYMBOLS[currency]}{number}",
        f"{SYMBOLS[currency]}{number}",
        f"{currency} {number}",
        f"{number} {currency}",
        f"{number} {CURRENCY_NAMES[currency]}",
    ]
    return rng.choice(forms)


def money(rng: random.Random) -> float:
    """An amount with non-zero cents, so no output format can disagree about '120' vs '120.0'."""
    whole = rng.choice([rng.randint(5, 99), rng.randint(100, 999), rng.randint(1000, 9999)])
    return whole + rng.randint(1, 99) / 100


def message(kind: str, gold: dict, rng: random.Random) -> tuple[str, str]:
    """(text, the rationale's description of where each field came from)."""
    name, city = gold["name"], gold["city"]
    first = name.split()[0]
    date = say_date(dt.date.fromisoformat(gold["date"]), rng)
    amount = say_amount(gold["amount"], gold["currency"], rng)
    staff, shop = rng.choice(STAFF), rng.choice(SHOPS)
    ref = rng.randint(10000, 99999)
    street = f"{rng.randint(2, 180)} {rng.choice(STREETS)}"
    alt = rng.random() < 0.5  # two phrasings per kind, so no single template dominates
    goods = rng.choice(GOODS)
    if kind == "order":
        fee = SYMBOLS[gold["currency"]] + f"{rng.randint(3, 25)}.{rng.randint(10, 99)}"
        if alt:
            text = (f"Order #{ref} for {name}. Placed: {date}. Items: {goods}. Shipping "
                    f"{fee}, grand total {amount}. Ship to {street}, {city}. {shop}")
        else:
            text = (f"Hi {first}, thank you for your order #{ref} placed on {date}. "
                    f"Order total: {amount} (including {fee} shipping). We will deliver "
                    f"{goods} to {name}, {street}, {city}. Best wishes, {staff} at {shop}")
        where = "the order date", "the order total", "the delivery address"
    elif kind == "hotel":
        nights = rng.randint(1, 9)
        stay = f"{nights} night{'s' if nights > 1 else ''}"
        hotel = rng.choice(HOTELS)
        if alt:
            text = (f"Booking confirmed! Guest: {name}. {hotel}, {city}. Arriving {date} for "
                    f"{stay}. Total price {amount}, paid in full. Reservation code {ref}.")
        else:
            text = (f"Dear {name}, your booking at {hotel} in {city} is confirmed. "
                    f"Check-in: {date}, {stay}. The total of {amount} has been charged to "
                    f"your card. Reservation code {ref}.")
        where = "the arrival date", "the total price", "the hotel's city"
    elif kind == "event":
        event = rng.choice(EVENTS)
        if alt:
            text = (f"Hello {name}, you're registered for {event} on {date} in {city}. We "
                    f"received your payment of {amount}. See you there! {staff}, events team")
        else:
            text = (f"Ticket confirmation for {name}: {event}, held in {city} on {date}. "
                    f"Amount paid: {amount}. Please bring this email; doors open 30 minutes "
                    f"early. Questions? Reply to {staff}.")
        where = "the event date", "the amount paid", "the event's city"
    elif kind == "refund":
        if alt:
            text = (f"Dear {name}, we received {goods} back at our {city} store on {date}. "
                    f"A refund of {amount} is on its way to your card. Kind regards, {staff}, "
                    f"{shop}")
        else:
            text = (f"Refund notice. We have refunded {amount} to {name} for {goods} "
                    f"returned to our {city} store on {date}. The money should reach your "
                    f"account within five working days. Ref {ref}, {shop}.")
        where = "the return date", "the refund", "the store's city"
    elif kind == "invoice":
        if alt:
            text = (f"Reminder from {shop}: invoice {ref} to {name} ({street}, {city}) for "
                    f"{amount} must be paid by {date}. Please ignore this if you have paid. "
                    f"{staff}")
        else:
            text = (f"Invoice {ref} from {shop}. Bill to: {name}, {street}, {city}. "
                    f"Amount due: {amount}. Payment due by {date}. Thank you for your "
                    f"business, {staff}.")
        where = "the due date", "the amount due", "the billing address"
    else:  # note: an informal message in the customer's own words
        if alt:
            text = (f"Hi, on {date} I bought {goods} at your {city} branch and paid {amount}. "
                    f"It still hasn't arrived. Could you check? Regards, {name}")
        else:
            text = (f"Hey, it's {name}. Just to confirm I paid {amount} for {goods} at the "
                    f"shop in {city} on {date}. Can you send me a receipt? Thanks!")
        where = "the purchase date", "the amount paid", "the shop's city"
    date_where, amount_where, city_where = where
    rationale = (
        f"The customer is {name}. The date is {date_where}, {date}, which is {gold['date']}. "
        f"The amount is {amount_where}, {amount}, which is {gold['amount']} {gold['currency']}. "
        f"The city is {city_where}, {city}."
    )
    return text, rationale


KINDS = ["order", "hotel", "event", "refund", "invoice", "note"]


def make_row(kind: str, rng: random.Random) -> dict:
    start = dt.date(2022, 1, 1)
    gold = {
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "date": (start + dt.timedelta(days=rng.randint(0, 4 * 365))).isoformat(),
        "amount": round(money(rng), 2),
        "currency": rng.choice(sorted(SYMBOLS)),
        "city": rng.choice(CITIES),
    }
    text, why = message(kind, gold, rng)
    answer = json.dumps(gold, ensure_ascii=False, separators=(",", ":"))
    return {"text": text, "answer": answer, "doc_type": kind,
            "rationale": f"{why} The answer is {answer}"}


def make_split(n: int, rng: random.Random, seen: set[str], prefix: str,
               keep_rationale: bool) -> list[dict]:
    """``n`` messages cycling through the kinds, none repeating a text in ``seen``."""
    rows = []
    while len(rows) < n:
        row = make_row(KINDS[len(rows) % len(KINDS)], rng)
        if row["text"] in seen:
            continue
        seen.add(row["text"])
        rows.append(row)
    rows = spread(rows, lambda r: r["doc_type"], rng)
    return with_ids(rows, prefix, keep_rationale=keep_rationale)


def generate(seed: int = DEFAULT_SEED) -> dict[str, list[dict]]:
    """All splits as lists of rows. Few-shot messages are drawn first; test never repeats one."""
    rng = random.Random(seed)
    seen: set[str] = set()
    fewshot = make_split(N_FEWSHOT, rng, seen, "fs", keep_rationale=True)
    test = make_split(N_TEST, rng, seen, "extr", keep_rationale=False)
    return {"test": test, "fewshot": fewshot}


def main(argv: list[str] | None = None) -> int:
    """Command line: write every split as ``<out>/<split>.jsonl``."""
    return run_cli(argv, generate, doc=__doc__, default_seed=DEFAULT_SEED,
                   default_out=HERE / "data")


if __name__ == "__main__":
    raise SystemExit(main())
