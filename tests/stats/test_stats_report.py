"""The report's statistics sections: well-formed GitHub tables and the facts a reviewer needs."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from harness import analysis
from harness.report.stats_sections import stats_markdown

Factory = Callable[..., pd.DataFrame]
_SPLIT = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    return [c.strip() for c in _SPLIT.split(line[1:-1])]


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every table as rows of cells, after checking it is well-formed GitHub markdown."""
    lines = markdown.split("\n")
    tables, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("|"):
            i += 1
            continue
        assert i > 0 and lines[i - 1] == "", "a table needs a blank line before it"
        block = []
        while i < len(lines) and lines[i].startswith("|"):
            block.append(lines[i])
            i += 1
        assert i == len(lines) or lines[i] == "", "a table needs a blank line after it"
        header, marks, *body = (_cells(line) for line in block)
        assert all(re.fullmatch(r":?-{2,}:?", m) for m in marks), marks
        assert len(marks) == len(header)
        assert body, "a table without rows"
        for row in body:
            assert len(row) == len(header), (header, row)
        tables.append([header, *body])
    return tables


def test_tables_are_well_formed_and_hold_every_variant_and_pair(make_samples: Factory) -> None:
    df = make_samples(variants={"zero-shot": 0.5, "few-shot": 0.75, "cot": 0.7}, n_items=150)
    md = stats_markdown(df)
    tables = _tables(md)
    variant_table, pair_table = tables[0], tables[1]
    assert {r[1] for r in variant_table[1:]} == {"zero-shot", "few-shot", "cot"}
    assert len(pair_table) == 1 + 3
    header = pair_table[0]
    assert "p" in header and "p adj. (Holm)" in header and "verdict" in header
    effects = [abs(float(r[header.index("A − B (pts)")])) for r in pair_table[1:]]
    assert effects == sorted(effects, reverse=True)  # largest effect first
    cmp = analysis.compare(df)
    for verdict in cmp["verdict"]:
        assert verdict in md
    assert "few-shot beats zero-shot by" in md
    assert "Minimum detectable effect" in md


def test_no_difference_is_reported_with_what_the_run_could_detect(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.6, "b": 0.6}, n_items=60, seed=8)
    md = stats_markdown(df)
    assert "no detectable difference: this run can detect >= " in md


def test_notes_cover_clustering_repeats_small_n_and_errors(make_samples: Factory) -> None:
    df = make_samples(n_items=40, cluster_size=4, epochs=2, error_rate=0.05, binary=False)
    md = stats_markdown(df)
    notes = md.split("#### Notes", 1)[1]
    assert "Miller's (2024) clustered SE times the small-sample factor sqrt(G/(G-1))" in notes
    assert "averaged per item first" in notes
    assert "Small samples" in notes and "10 clusters" in notes
    assert "errored samples are excluded" in notes
    assert "#### Repeats" in md and "within-item var" in md
    variant_table = _tables(md)[0]
    assert "clusters" in variant_table[0]
    assert {row[variant_table[0].index("clusters")] for row in variant_table[1:]} == {"10"}


def test_model_comparisons_appear_when_there_are_several_models(make_samples: Factory) -> None:
    df = make_samples(models={"small": -1.0, "large": 1.0}, n_items=80)
    md = stats_markdown(df)
    assert "#### Models compared" in md
    assert len(_tables(md)) == 3


def test_names_with_pipes_do_not_break_tables(make_samples: Factory) -> None:
    df = make_samples(variants={"a|b": 0.5, "c": 0.6}, n_items=30)
    md = stats_markdown(df)
    assert "a\\|b" in md
    _tables(md)


def test_one_section_per_task_and_a_message_for_no_samples(make_samples: Factory) -> None:
    df = pd.concat([make_samples(task="alpha"), make_samples(task="beta", seed=3)])
    md = stats_markdown(df)
    assert md.count("### Statistics for `") == 2
    assert stats_markdown(df.iloc[:0]) == "No samples: no statistics to report."


def test_a_single_variant_says_there_is_nothing_to_compare(make_samples: Factory) -> None:
    md = stats_markdown(make_samples(variants={"only": 0.5}, n_items=20))
    assert "nothing to compare" in md
    _tables(md)
