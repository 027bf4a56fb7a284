"""Build the kb-answers task from the kb-qa task: the same questions, answered in full sentences.

Why derived, not new: kb-qa's facts are invented (no model has read them), its documents are
written from structured facts and its questions carry their gold documents, so a reference
answer can be read off the corpus instead of being written by anyone. Each reference is the
sentence of the gold document that states the answer (for a two-hop question, the sentence of
the first document that leads to the second, then the sentence that states the answer), so a
reference is true of the corpus by construction.

Run ``python tasks/kb-answers/generate.py`` to rewrite ``data/test.jsonl`` and
``data/fewshot.jsonl`` byte-identically (nothing here is random). The calibration file is not
written here: see ``build_calibration.py`` and ``README.md``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KB_QA = HERE.parent / "kb-qa" / "data"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def mentions(sentence: str, phrase: str) -> bool:
    """``phrase`` as whole words (so the staff count 135 is not found inside 1350)."""
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", sentence) is not None


def evidence(row: dict, corpus: dict[str, dict]) -> list[str]:
    """The sentences of the gold documents that carry the answer, in reading order."""
    docs = [corpus[d] for d in row["gold_doc_ids"]]
    last = [s for s in sentences(docs[-1]["text"]) if mentions(s, str(row["answer"]))]
    if not last:
        raise ValueError(f"{row['id']}: no sentence of {docs[-1]['id']} states "
                         f"{row['answer']!r}")
    chosen = last[:1]
    if len(docs) == 2:
        bridge = [s for s in sentences(docs[0]["text"]) if mentions(s, docs[1]["title"])]
        if not bridge:
            raise ValueError(f"{row['id']}: {docs[0]['id']} never names {docs[1]['title']!r}")
        chosen = bridge[:1] + chosen
    return chosen


def subject(doc: dict) -> str:
    return f"The {doc['title']}" if doc["type"] == "product" else doc["title"]


def named(sentence: str, doc: dict) -> str:
    """A sentence that opens with a pronoun ("It is led by ...") or says "the town" names its
    subject instead, so the reference reads on its own."""
    sentence = re.sub(r"^(It|She|He) ", subject(doc) + " ", sentence)
    return sentence.replace("the centre of the town", f"the centre of {doc['title']}")


def convert(row: dict, corpus: dict[str, dict]) -> dict:
    docs = [corpus[d] for d in row["gold_doc_ids"]]
    found = evidence(row, corpus)
    used = [named(s, doc) for s, doc in zip(found, docs[-len(found):], strict=True)]
    return {
        "id": row["id"].replace("kbqa", "kba"),
        "question": row["question"],
        "reference": " ".join(used),
        "answer": row["answer"],
        "passage": "\n\n".join(f"{corpus[d]['title']}: {corpus[d]['text']}"
                               for d in row["gold_doc_ids"]),
        "gold_doc_ids": row["gold_doc_ids"],
        "entity": row["entity"],
        "hops": row["hops"],
        "qtype": row["qtype"],
    }


def main() -> int:
    corpus = {d["id"]: d for d in read_jsonl(KB_QA / "corpus.jsonl")}
    out = HERE / "data"
    out.mkdir(exist_ok=True)
    for split in ("test", "fewshot"):
        rows = [convert(r, corpus) for r in read_jsonl(KB_QA / f"{split}.jsonl")]
        write_jsonl(out / f"{split}.jsonl", rows)
        print(f"{split}: {len(rows)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
