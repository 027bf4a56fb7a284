"""LoRA adapters as models: shared base weights, the right adapter per request, the adapter's
content in the cache key, and the refusal to evaluate an adapter on its own training items.

A tiny random Llama with a word-level tokenizer is written to a folder, and LoRA adapters are
built over it with peft on the fly (``init_lora_weights=False``, so each changes the output).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

import harness
from harness.adapter_data import RECORD, write_training_record
from harness.config import ModelConfig
from harness.models import hf_loading
from harness.models.hf_adapters import load_with_adapter
from harness.models.hf_generation import GenParams, generate_batch
from harness.models.identity import model_identity

WORDS = [f"w{i}" for i in range(60)]


def _tiny_base(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<eos>", "<unk>", *WORDS])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>",
                                        eos_token="<eos>", unk_token="<unk>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, bos_token_id=None, eos_token_id=1,
                         pad_token_id=0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _adapter(base: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) weights over ``base``, as peft saves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                        init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_base(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="module")
def adapters(tiny_folder: Path) -> tuple[Path, Path]:
    root = tiny_folder.parent
    return _adapter(tiny_folder, root / "a1", 1), _adapter(tiny_folder, root / "a2", 2)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    hf_loading.unload_model()
    yield
    hf_loading.unload_model()


PROMPT = [5, 9, 14, 3, 22, 7]


def _greedy(lm: Any) -> list[int]:
    out = generate_batch(lm, [PROMPT], GenParams(max_tokens=8, prefix_cache=False))
    return out[0].text.split()


def _reference(base: Path, adapter: Path | None) -> list[str]:
    """What plain transformers + peft generate, from a fresh copy of the base."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base).eval()
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    with torch.inference_mode():
        out = model.generate(input_ids=torch.tensor([PROMPT]), max_new_tokens=8,
                             do_sample=False, eos_token_id=1, pad_token_id=0)
    return tokenizer.decode(out[0, len(PROMPT):].tolist(), skip_special_tokens=True).split()


def test_two_adapters_share_one_base_and_each_answers_as_its_own(
        tiny_folder: Path, adapters: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = hf_loading._load_folder
    monkeypatch.setattr(hf_loading, "_load_folder",
                        lambda *a, **k: loads.append(str(a[1])) or real(*a, **k))
    name = str(tiny_folder)
    first = load_with_adapter(name, str(adapters[0]))
    second = load_with_adapter(name, str(adapters[1]))
    base = hf_loading.load_model(name)
    assert loads == [name]  # one base load for two adapters and the base itself
    assert first.model is second.model is base.model  # the same weights in memory
    assert load_with_adapter(name, str(adapters[0])) is first
    # Interleaved, each request sees its own adapter, and the base none.
    for lm, adapter in ((first, adapters[0]), (base, None), (second, adapters[1]),
                        (first, adapters[0]), (base, None)):
        assert _greedy(lm) == _reference(tiny_folder, adapter)
    assert _reference(tiny_folder, adapters[0]) != _reference(tiny_folder, None)


def _experiment(tmp_path: Path, models: str, **extra: Any) -> Path:
    lines = "".join(f"{k}: {v}\n" for k, v in extra.items())
    path = tmp_path / "exp.yaml"
    path.write_text("tasks: [add]\nvariants: [{name: zs, template: zero-shot-completion, "
                    "max_tokens: 4}]\n"
                    f"models: {models}\nlimit: 3\nincomplete_answers: keep\n"
                    f"max_error_rate: 1\n{lines}", encoding="utf-8")
    return path


def test_run_with_two_adapters_labels_them_apart_and_loads_the_base_once(
        tmp_path: Path, add_task: Path, tiny_folder: Path, adapters: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = hf_loading._load_folder
    monkeypatch.setattr(hf_loading, "_load_folder",
                        lambda *a, **k: loads.append(str(a[1])) or real(*a, **k))
    models = (f"[hf/{tiny_folder}, {{model: hf/{tiny_folder}, adapter: {adapters[0]}}}, "
              f"{{model: hf/{tiny_folder}, adapter: {adapters[1]}}}]")
    samples = harness.run(_experiment(tmp_path, models), results_dir=tmp_path / "r",
                          reports_dir=tmp_path / "rep", quiet=True)
    assert loads == [str(tiny_folder)]
    labels = sorted(samples["model"].unique())
    assert labels == sorted([f"hf/{tiny_folder}", f"hf/{tiny_folder}+a1",
                             f"hf/{tiny_folder}+a2"])
    assert samples["error"].isna().all()
    by_model = {m: list(g.sort_values("item_id")["output"]) for m, g in samples.groupby("model")}
    assert by_model[f"hf/{tiny_folder}+a1"] != by_model[f"hf/{tiny_folder}"]


def test_cache_key_holds_the_adapter_content(
        tmp_path: Path, add_task: Path, tiny_folder: Path) -> None:
    adapter = _adapter(tiny_folder, tmp_path / "ad", 3)
    config = ModelConfig(model=f"hf/{tiny_folder}", adapter=str(adapter))
    plain = model_identity(ModelConfig(model=f"hf/{tiny_folder}"), tmp_path)
    before = model_identity(config, tmp_path)
    assert "adapter" not in plain and before["adapter"]["files"]
    write_training_record(adapter, task="add", split="x", items=[("q1", "text")])
    assert model_identity(config, tmp_path) == before  # our own record is not a weight
    models = f"[{{model: hf/{tiny_folder}, adapter: {adapter}}}]"
    exp = _experiment(tmp_path, models, cache_dir=tmp_path / "cache")
    first = harness.run(exp, results_dir=tmp_path / "r", reports_dir=tmp_path / "p", quiet=True)
    again = harness.run(exp, results_dir=tmp_path / "r", reports_dir=tmp_path / "p", quiet=True)
    assert not first["cached"].any() and again["cached"].all()
    _adapter(tiny_folder, adapter, 4)  # retrained in place: same folder, new weights
    assert model_identity(config, tmp_path) != before
    retrained = harness.run(exp, results_dir=tmp_path / "r", reports_dir=tmp_path / "p",
                            quiet=True)
    assert not retrained["cached"].any()  # the old adapter's answers are not served
    assert list(retrained.sort_values("item_id")["output"]) != list(
        first.sort_values("item_id")["output"])


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_adapter_evaluated_on_its_training_items_is_refused(
        tmp_path: Path, add_task: Path, tiny_folder: Path) -> None:
    adapter = _adapter(tiny_folder, tmp_path / "ad", 5)
    # Trained on t1 by id, and on t2's question under another id: both are evaluation items.
    write_training_record(adapter, task="add", split="train",
                          items=[("t1", "What is 1 + 3?"), ("x9", "what is 2  +  5?"),
                                 ("t99", "What is 50 + 1?")])
    models = f"[{{model: hf/{tiny_folder}, adapter: {adapter}}}]"
    exp = _experiment(tmp_path, models)
    done = _cli("run", str(exp), "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "exp.yaml:" in lines[0] and "models[0].adapter" in lines[0]
    assert "2 evaluation item(s)" in lines[0] and "t1, t2" in lines[0]
    assert not (tmp_path / "r").exists()  # nothing ran, no run folder


def test_adapter_trained_elsewhere_runs_and_one_without_a_record_warns(
        tmp_path: Path, add_task: Path, tiny_folder: Path) -> None:
    adapter = _adapter(tiny_folder, tmp_path / "ad", 6)
    write_training_record(adapter, task="add", split="train",
                          items=[("t1", "What is 70 + 3?")])  # t1's id, but another task's
    record = json.loads((adapter / RECORD).read_text())
    record["task"] = "other-task"
    (adapter / RECORD).write_text(json.dumps(record))
    exp = _experiment(tmp_path, f"[{{model: hf/{tiny_folder}, adapter: {adapter}}}]")
    done = _cli("run", str(exp), "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (adapter / RECORD).unlink()
    done = _cli("run", str(exp), "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"adapter {adapter} has no {RECORD}" in done.stderr


def test_bad_adapter_entries_are_one_line_before_any_call(
        tmp_path: Path, add_task: Path, tiny_folder: Path) -> None:
    missing = _experiment(tmp_path, f"[{{model: hf/{tiny_folder}, adapter: nowhere}}]")
    done = _cli("run", str(missing), "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2 and "models[0].adapter" in done.stderr
    assert "no adapter_config.json" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    hosted = _experiment(tmp_path, "[{model: openai/gpt-4o-mini, adapter: x}]")
    done = _cli("run", str(hosted), "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2 and "adapter: is for a local model" in done.stderr
    assert not (tmp_path / "r").exists()
