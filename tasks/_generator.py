"""Pieces every ``tasks/<name>/generate.py`` shares: stratified ordering, JSONL output, the CLI.

Why one module: the shipped data must be byte-identical to what the generators write, so the
ordering and serialisation rules belong in one place; a fix made in one generator's copy and not
the others would silently make tasks disagree. Each generator keeps only what is specific to its
task (the items it writes) and calls in here for the rest.

The task folders are not packages (``kb-qa`` is no valid module name), so generators import this
file as the top-level module ``_generator`` after putting ``tasks/`` on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

Rows = list[dict]


def spread(rows: Rows, key: Callable[[dict], object], rng: random.Random) -> Rows:
    """Order rows so that every prefix holds each stratum in proportion.

    Runs with ``limit: N`` evaluate the first N items, so a prefix must be a fair sample: each
    stratum's items get evenly spaced positions with a random offset, then all are sorted.
    The list objects inside are shuffled in place and ``rng`` is advanced, so callers must keep
    calling this at the same point in their draw order for the output to stay reproducible.
    """
    groups: dict[object, Rows] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    placed: list[tuple[float, int, dict]] = []
    for members in groups.values():
        rng.shuffle(members)
        for j, row in enumerate(members):
            placed.append(((j + rng.random()) / len(members), len(placed), row))
    placed.sort(key=lambda t: (t[0], t[1]))
    return [row for _, _, row in placed]


def with_ids(rows: Rows, prefix: str, *, keep_rationale: bool) -> Rows:
    """Give rows their ids (``<prefix>-0000`` up, in final order, as the first key) and drop
    ``rationale`` unless ``keep_rationale``.

    Only few-shot rows may keep their worked solution: on an eval row it is an answer leak
    waiting for a prompt template that renders every field.
    """
    out = []
    for i, row in enumerate(rows):
        fields = row if keep_rationale else {k: v for k, v in row.items() if k != "rationale"}
        out.append({"id": f"{prefix}-{i:04d}", **fields})
    return out


def write_jsonl(rows: Rows, path: Path) -> None:
    """One JSON object per line, UTF-8, "\\n" line ends: byte-stable across platforms."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_cli(
    argv: list[str] | None,
    generate: Callable[[int], dict[str, Rows]],
    *,
    doc: str | None,
    default_seed: int,
    default_out: Path,
    out_help: str = "folder for the splits",
) -> int:
    """Parse ``--seed`` and ``--out``, then write each file ``generate`` returns as
    ``<out>/<name>.jsonl``.

    ``doc`` is the generator's module docstring, whose first line becomes the ``--help``
    description, so each task still describes itself. ``out_help`` lets a generator that writes
    more than splits (kb-qa also writes its corpus) say so.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--seed", type=int, default=default_seed)
    parser.add_argument("--out", type=Path, default=default_out, help=out_help)
    args = parser.parse_args(argv)
    for name, rows in generate(args.seed).items():
        write_jsonl(rows, args.out / f"{name}.jsonl")
    return 0
