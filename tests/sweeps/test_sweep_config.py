"""``sweep:`` axes expand to the product of their levels, with readable, stable names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import load_experiment
from harness.config.overrides import apply_overrides
from harness.config.sweep import manifest_design
from harness.errors import ConfigError

MODELS = "models: [openai/gpt-4o-mini]\n"


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "sweep.yaml"
    path.write_text(text, encoding="utf-8")
    return path, load_experiment(path)


def test_axes_expand_to_the_product_with_readable_names(tmp_path: Path) -> None:
    _, exp = _load(tmp_path, "tasks: [add]\nsweep:\n  template: [zero-shot, cot]\n"
                             "  shots: [0, 4]\n  rag: [off, on]\n  max_tokens: 16\n" + MODELS)
    names = [v.name for v in exp.variants]
    assert names == ["zero-shot-shots0", "zero-shot-shots0-rag", "zero-shot-shots4",
                     "zero-shot-shots4-rag", "cot-shots0", "cot-shots0-rag", "cot-shots4",
                     "cot-shots4-rag"]
    last = exp.variants[-1]
    assert (last.template, last.shots, last.rag, last.max_tokens) == ("cot", 4, True, 16)
    assert all(v.max_tokens == 16 for v in exp.variants)  # one value: shared, not a factor
    design = manifest_design(exp.sweep)
    assert design["factor_levels"] == {"template": ["zero-shot", "cot"], "shots": ["0", "4"],
                                       "rag": ["off", "on"]}
    assert design["factors"]["cot-shots4-rag"] == {"template": "cot", "shots": "4", "rag": "on"}
    assert design["factors"]["zero-shot-shots0"] == {"template": "zero-shot", "shots": "0",
                                                     "rag": "off"}


def test_sweep_beside_variants_and_overrides_keep_one_copy(tmp_path: Path) -> None:
    _, exp = _load(tmp_path, "tasks: [add]\nvariants: [{name: base, template: zero-shot}]\n"
                             "sweep: {template: few-shot, shots: [2, 4], fewshot: [random, "
                             "similar]}\n" + MODELS)
    names = [v.name for v in exp.variants]
    # a one-value key (template: few-shot) is shared by all and left out of the names
    assert names == ["base", "shots2-fewshot-random", "shots2-fewshot-similar",
                     "shots4-fewshot-random", "shots4-fewshot-similar"]
    again = apply_overrides(exp, limit=3)  # dump + validate again: not expanded twice
    assert [v.name for v in again.variants] == names
    assert "base" not in manifest_design(exp.sweep)["factors"]


def test_template_paths_and_system_prompts_give_safe_names(tmp_path: Path) -> None:
    _, exp = _load(tmp_path, "tasks: [add]\nsweep:\n  template: [prompts/a.j2, prompts/b.j2]\n"
                             "  system: ['Be brief.', 'You are an expert: think hard!']\n" + MODELS)
    names = [v.name for v in exp.variants]
    assert names[0].startswith("a-system-Be-brief-")
    assert len(set(names)) == 4
    assert all(n.replace("-", "").replace(".", "").replace("_", "").isalnum() for n in names)


@pytest.mark.parametrize(
    ("sweep", "line", "key", "words"),
    [
        ("sweep:\n  template: [zero-shot, cot]\n  shots: [0, -4]\n", 4, "sweep.shots[1]",
         "greater than or equal to 0"),
        ("sweep:\n  template: [zero-shot, cot]\n  rag: [off, maybe]\n", 4, "sweep.rag[1]",
         "valid boolean"),
        ("sweep:\n  template: [zero-shot, cot]\n  shot: [0, 4]\n", 4, "sweep.shot",
         "did you mean 'shots'"),
        ("sweep:\n  template: [zero-shot, cot]\n  shots: [4, 4]\n", 4, "sweep.shots[1]",
         "repeats the level 4"),
        ("sweep:\n  shots: [0, 4]\n", 2, "sweep", "needs a template"),
        ("sweep:\n  template: [zero-shot, cot]\n  shots: []\n", 4, "sweep.shots", "no levels"),
        ("sweep:\n  template: [a/x.j2, b/x.j2]\n", 3, "sweep.template[1]", "same variant name"),
        ("sweep:\n  template: [zero-shot]\n  chunk_size: [100, 400]\n  chunk_overlap: 150\n",
         2, "sweep", "combination chunk_size100: chunk_overlap must be smaller"),
        ("sweep:\n  template: [zero-shot, cot]\n  shots: [0, 1, 2, 3, 4, 5, 6, 7]\n"
         "  k: [1, 2, 3, 4, 5, 6, 7, 8]\n"
         "  max_tokens: [8, 16, 32, 64, 128, 256, 512, 1024, 2048]\n",
         2, "sweep", "expands to 1,152 variants (at most 1,024)"),
        ("variants: [{name: cot-shots4, template: few-shot}]\n"
         "sweep: {template: [zero-shot, cot], shots: [0, 4]}\n", 3, "sweep",
         "'cot-shots4', which variants: already uses"),
    ],
)
def test_sweep_errors_name_file_line_and_key(tmp_path: Path, sweep: str, line: int, key: str,
                                             words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tasks: [add]\n" + sweep + MODELS, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    assert "\n" not in message
    assert f"{path}:{line}: {key}: " in message, message
    assert words in message


def test_cli_sweep_error_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tasks: [add]\nsweep:\n  template: [zero-shot, cot]\n  shots: [0, x]\n"
                    + MODELS, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert f"{path}:4: sweep.shots[1]: " in done.stderr
