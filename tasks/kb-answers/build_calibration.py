"""Build ``data/calibration.jsonl``: answers labelled pass/fail, to measure a judge against.

Two kinds of row, told apart by ``label_source`` (see README.md, "Calibration"):

- ``agent``: an answer written by SmolLM2-135M-Instruct through this harness
  (``candidates/answers.yaml``, kept in ``candidates/model_answers.jsonl`` so it is generated
  once), labelled by an AI coding agent reading it against the reference and the passage,
  following the written guidelines; the label and a one-line reason are in
  ``candidates/agent_labels.jsonl``. Not labelled by a human.
- ``construction``: an answer made from the reference itself, so its label is known without
  anyone reading it: ``terse`` ("The answer is X."), ``reference`` (the reference as written)
  and ``attributed`` ("According to the cooperative's records, ...") are right;
  ``swapped`` (the reference with its key fact replaced by the same kind of fact from another
  question: another year, town, person...) is wrong.

Run ``python tasks/kb-answers/build_calibration.py --freeze <run folder>`` once to keep a
candidates run's answers, then ``python tasks/kb-answers/build_calibration.py`` to rewrite the
calibration file byte-identically from the kept answers and labels.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CANDIDATES = HERE / "candidates"
MODEL_ANSWERS = CANDIDATES / "model_answers.jsonl"
AGENT_LABELS = CANDIDATES / "agent_labels.jsonl"
OUT = HERE / "data" / "calibration.jsonl"
# Model-written rows: every retrieval answer and the closed-book answers to the first items.
CLOSED_BOOK_ROWS = 20
# Constructed rows, on test items the candidates run did not answer (from FIRST_FREE on).
FIRST_FREE = 80
RIGHT_FORMS = ("terse", "reference", "attributed")
N_RIGHT, N_SWAPPED = 60, 10


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def freeze(run: Path) -> None:
    """Keep what the calibration needs of a candidates run: each answer as the model wrote
    it, and the passages it was shown (the context a judge is given for a RAG answer)."""
    kept = []
    for sample in read_jsonl(run / "samples.jsonl"):
        if sample.get("error"):
            continue
        context = "\n\n".join(f"[{i}] {p['text']}"
                              for i, p in enumerate(sample.get("retrieved") or [], 1))
        kept.append({"item_id": sample["item_id"], "variant": sample["variant"],
                     "model": sample["model"], "output": sample["output"],
                     "finish_reason": sample.get("finish_reason"), "context": context,
                     "run_id": sample["run_id"]})
    kept.sort(key=lambda r: (r["variant"], r["item_id"]))
    write_jsonl(MODEL_ANSWERS, kept)
    print(f"kept {len(kept)} answers in {MODEL_ANSWERS}", file=sys.stderr)


def model_rows(items: dict[str, dict]) -> list[dict]:
    labels = {r["id"]: r for r in read_jsonl(AGENT_LABELS)}
    answers = read_jsonl(MODEL_ANSWERS)
    closed = sorted(a["item_id"] for a in answers if a["variant"] == "closed-book")
    wanted = set(closed[:CLOSED_BOOK_ROWS])
    rows = []
    for answer in answers:
        if answer["variant"] == "closed-book" and answer["item_id"] not in wanted:
            continue
        row_id = f"{answer['variant']}-{answer['item_id']}"
        if row_id not in labels:
            raise SystemExit(f"{AGENT_LABELS}: no label for {row_id}; label it first")
        item = items[answer["item_id"]]
        row = {"id": row_id, "input": item["question"], "output": answer["output"],
               "target": item["reference"], "answer": item["answer"]}
        if answer["context"]:
            row["context"] = answer["context"]
        row.update({"label": labels[row_id]["label"], "label_source": "agent",
                    "how": f"SmolLM2-135M-Instruct, variant {answer['variant']}",
                    "note": labels[row_id]["note"], "borderline": labels[row_id]["borderline"],
                    "item_id": answer["item_id"]})
        rows.append(row)
    return rows


def swap(item: dict, donors: list[dict]) -> tuple[str, str]:
    """The reference with its key fact replaced by a different fact of the same kind, taken
    from the nearest later item of the same question type."""
    for donor in donors:
        if donor["qtype"] == item["qtype"] and donor["answer"] != item["answer"]:
            wrong = str(donor["answer"])
            pattern = rf"(?<![\w]){re.escape(str(item['answer']))}(?![\w])"
            text, n = re.subn(pattern, wrong, item["reference"])
            if n:
                return text, wrong
    raise ValueError(f"no donor for {item['id']}")


def constructed_rows(test: list[dict]) -> list[dict]:
    free = test[FIRST_FREE:]
    rows = []
    for index, item in enumerate(free[:N_RIGHT + N_SWAPPED]):
        base = {"input": item["question"], "target": item["reference"], "answer": item["answer"]}
        if index < N_RIGHT:
            form = RIGHT_FORMS[index % len(RIGHT_FORMS)]
            output = {"terse": f"The answer is {item['answer']}.",
                      "reference": item["reference"],
                      "attributed": "According to the cooperative's records, "
                                    + re.sub(r"^(The|Today) ", lambda m: m[0].lower(),
                                             item["reference"])}[form]
            row = {"id": f"{form}-{item['id']}", **base, "output": output, "label": "pass"}
            note = f"right by construction ({form})"
        else:
            output, wrong = swap(item, free[index + 1:] + free[:index])
            row = {"id": f"swapped-{item['id']}", **base, "output": output, "label": "fail"}
            note = f"wrong by construction: {item['answer']} replaced by {wrong}"
        row.update({"label_source": "construction", "how": note.split(":")[0], "note": note,
                    "borderline": False, "item_id": item["id"]})
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freeze", type=Path, help="a candidates run folder to keep")
    args = parser.parse_args(argv)
    if args.freeze:
        freeze(args.freeze)
        return 0
    test = read_jsonl(HERE / "data" / "test.jsonl")
    items = {r["id"]: r for r in test}
    rows = model_rows(items) + constructed_rows(test)
    write_jsonl(OUT, rows)
    passes = sum(r["label"] == "pass" for r in rows)
    print(f"{len(rows)} rows, {passes} pass, {len(rows) - passes} fail -> {OUT}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
