"""Base models get completion prompts: templates say their format, and a chat template sent to
a model without a chat template is refused before any call (the other way round, a warning)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.config import ModelConfig, load_experiment
from harness.errors import ConfigError
from harness.plan import build_plan
from harness.prompt_format import check_formats, model_chats


def _model_folder(path: Path, chat: bool) -> Path:
    """What the checks read of a model folder: its config and its tokenizer's config."""
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "llama"}')
    tokenizer = {"eos_token": "</s>"}
    if chat:
        tokenizer["chat_template"] = "{% for m in messages %}{{ m.content }}{% endfor %}"
    (path / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    return path


def _exp(tmp_path: Path, variants: str, models: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(f"tasks: [add]\nvariants: {variants}\nmodels: {models}\nlimit: 3\n",
                    encoding="utf-8")
    return path


def test_completion_templates_render_plain_text_with_examples_inline_and_a_stop(
        tmp_path: Path, add_task: Path) -> None:
    base = _model_folder(tmp_path / "base", chat=False)
    exp = _exp(tmp_path, "[zero-shot-completion, {name: few, template: few-shot-completion, "
               "shots: 2}]", f"[hf/{base}, openai/m]")
    plan = build_plan(load_experiment(exp))
    zero = next(s for s in plan.samples if s.variant == "zero-shot-completion"
                and s.item.id == "t1" and s.model.startswith("hf/"))
    assert [m["role"] for m in zero.messages] == ["user"]
    text = zero.messages[0]["content"]
    assert text.startswith("Add the two numbers.")
    assert text.endswith("Input: What is 1 + 3?\nAnswer:")
    assert zero.params["stop"] == ["\n"] and zero.params["prompt_format"] == "completion"
    few = next(s for s in plan.samples if s.variant == "few" and s.item.id == "t1"
               and s.model.startswith("hf/"))
    shots = few.messages[0]["content"].split("\n\n")
    worked = [block for block in shots if block.startswith("Input: What is 10")]
    assert len(worked) == 2  # two solved examples, inline, each with its answer
    for block in worked:
        question, answer = block.split("\n")
        a, b = (int(x) for x in question.removeprefix("Input: What is ").rstrip("?").split(" + "))
        assert answer == f"Answer: {a + b}"
    hosted = next(s for s in plan.samples if s.variant == "few" and s.model == "openai/m")
    assert hosted.params["stop"] == ["\n"] and "prompt_format" not in hosted.params
    # A chat template adds neither.
    chat_plan = build_plan(load_experiment(_exp(tmp_path, "[zero-shot]", "[openai/m]")))
    assert "stop" not in chat_plan.samples[0].params


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_chat_template_for_a_base_model_is_refused_before_any_call(
        tmp_path: Path, add_task: Path) -> None:
    base = _model_folder(tmp_path / "base", chat=False)
    exp = _exp(tmp_path, "[zero-shot-completion, {name: fs, template: few-shot, shots: 2}]",
               f"[hf/{base}]")
    done = _cli("run", str(exp), "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "exp.yaml:2: variants[1].template:" in lines[0]
    assert "'few-shot' is a chat template" in lines[0] and "no chat template" in lines[0]
    assert "zero-shot-completion" in lines[0]  # what to use instead
    assert not (tmp_path / "r").exists()  # refused before a run folder or a call


def test_completion_template_for_a_chat_model_warns_and_matching_formats_are_silent(
        tmp_path: Path, add_task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chat = _model_folder(tmp_path / "chat", chat=True)
    base = _model_folder(tmp_path / "base", chat=False)
    plan = build_plan(load_experiment(_exp(tmp_path, "[zero-shot-completion]",
                                           f"[hf/{chat}, hf/{base}]")))
    check_formats(plan)
    err = capsys.readouterr().err
    assert err.count("warning") == 1  # the chat model only
    assert f"hf/{chat} gets it as one plain text" in err
    check_formats(build_plan(load_experiment(_exp(tmp_path, "[zero-shot]", f"[hf/{chat}]"))))
    assert capsys.readouterr().err == ""


def test_what_is_known_to_chat() -> None:
    assert model_chats(ModelConfig(model="hf/gemma3-270m")) is False  # a base model
    assert model_chats(ModelConfig(model="hf/smollm2-135m-instruct")) is True
    assert model_chats(ModelConfig(model="openai/gpt-4o-mini")) is True
    assert model_chats(ModelConfig(model="hf/./no/such/folder")) is None  # not refused here


def test_gemma_alias_with_a_chat_template_is_refused(tmp_path: Path, add_task: Path) -> None:
    plan = build_plan(load_experiment(_exp(tmp_path, "[zero-shot]", "[hf/gemma3-270m]")))
    with pytest.raises(ConfigError, match="'zero-shot' is a chat template, but hf/gemma3-270m"):
        check_formats(plan)


def test_roles_in_a_completion_template_and_a_bad_format_are_one_line(
        tmp_path: Path, add_task: Path) -> None:
    mixed = tmp_path / "mixed.j2"
    mixed.write_text('{#---\nformat: completion\n---#}\n{{ role("user") }}{{ input }}\n')
    with pytest.raises(ConfigError, match=r"completion template .* has no chat roles") as info:
        build_plan(load_experiment(_exp(tmp_path, f"[{{name: m, template: {mixed}}}]",
                                        "[openai/m]")))
    assert "mixed.j2" in str(info.value)
    bad = tmp_path / "bad.j2"
    bad.write_text("{#---\ndescription: x\nformat: text\n---#}\n{{ input }}\n")
    with pytest.raises(ConfigError, match="must be chat or completion") as info:
        build_plan(load_experiment(_exp(tmp_path, f"[{{name: b, template: {bad}}}]",
                                        "[openai/m]")))
    assert info.value.line == 3 and info.value.key == "format"


def test_local_completion_prompt_is_encoded_without_the_chat_template() -> None:
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from harness.models.local_hf import encode

    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "USER", "Answer:", "Input:", "hi"])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>")
    tok.chat_template = "{% for m in messages %}USER {{ m.content }}{% endfor %}"
    lm = SimpleNamespace(tokenizer=tok, tokenizer_lock=threading.Lock())
    messages = [{"role": "user", "content": "Input: hi Answer:"}]
    assert encode(lm, messages, {"prompt_format": "completion"}) == [4, 5, 3]
    assert encode(lm, messages, {}) == [2, 4, 5, 3]  # chat: through the template
