"""Shared fixtures: an isolated cache folder, small tasks written on the fly, loopback servers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_models import adder

from harness.testing.loopback import LoopbackServer


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never read or write the user's ~/.cache; share one folder per test session."""
    if "HARNESS_CACHE_DIR" in os.environ:
        yield
        return
    os.environ["HARNESS_CACHE_DIR"] = str(tmp_path_factory.mktemp("harness-cache"))
    yield
    os.environ.pop("HARNESS_CACHE_DIR", None)


_REPO = Path(__file__).resolve().parents[1]
_OUTPUT_DIRS = (_REPO / "results", _REPO / "reports")


def _outputs() -> set[Path]:
    return {entry for folder in _OUTPUT_DIRS if folder.is_dir() for entry in folder.iterdir()}


@pytest.fixture(autouse=True)
def _repository_outputs_untouched() -> Iterator[None]:
    """A test writes its runs and reports under its tmp_path, never into the repository's
    results/ or reports/ (a default ``reports_dir`` there leaves a report behind per run)."""
    before = _outputs()
    yield
    added = _outputs() - before
    if added:
        import shutil

        for entry in added:  # leave the checkout as it was, then fail
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        pytest.fail("the test wrote into the repository: "
                    + ", ".join(sorted(str(e.relative_to(_REPO)) for e in added)))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def add_task(tmp_path: Path) -> Path:
    """A tiny addition task in ``tmp_path/tasks/add``: 12 test items, 6 few-shot examples."""
    root = tmp_path / "tasks" / "add"
    write_jsonl(root / "data" / "test.jsonl",
                [{"id": f"t{i}", "a": i, "b": 2 * i + 1} for i in range(12)])
    write_jsonl(root / "data" / "fewshot.jsonl",
                [{"id": f"f{i}", "a": 100 + i, "b": 7, "why": f"{100 + i} + 7 = {107 + i}."}
                 for i in range(6)])
    (root / "task.yaml").write_text(
        "name: add\n"
        "data: {test: data/test.jsonl, fewshot: data/fewshot.jsonl}\n"
        "fewshot_split: fewshot\n"
        "input: 'What is {{ a }} + {{ b }}?'\n"
        "target: '{{ a + b }}'\n"
        "rationale: '{{ why }} The answer is {{ a + b }}.'\n"
        "instructions: Add the two numbers.\n"
        "answer_format: Reply with the number only.\n"
        "parser: [last_number]\n"
        "scorers: [numeric, exact_match]\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(adder) as srv:
        yield srv
