"""How a template's format (chat or completion) meets a model that does or does not chat.

A base model has no chat template: given chat messages, the local provider can only glue their
texts together, so a system prompt and "user:" turns reach it as prose it was never trained on,
and it rambles on instead of answering. That is a prompt the experiment did not mean to test,
so it is refused before any call. The other way round (a completion template sent to an
instruct model) is a legitimate experiment, raw text without the chat wrapping, but rarely
what was meant: it is allowed, with a warning.

Whether a model chats: the embedded aliases know; a model folder or GGUF file says so by
carrying a chat template; hosted models are assumed to (their APIs take chat messages).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.config import ModelConfig
    from harness.plan import Plan
    from harness.prompting import PromptTemplate

LOCAL = "hf/"


def format_params(template: PromptTemplate, model: ModelConfig) -> dict[str, Any]:
    """Request parameters a template's format adds: its stop strings, and for a local model
    ``prompt_format: completion`` (the text is encoded as it is, with no chat template)."""
    params: dict[str, Any] = {}
    if template.stop and "stop" not in model.params:
        params["stop"] = list(template.stop)
    if template.format == "completion" and model.model.startswith(LOCAL):
        params["prompt_format"] = "completion"
    return params


def model_chats(model: ModelConfig) -> bool | None:
    """Whether the model has a chat template; None when it cannot be told without loading it."""
    if not model.model.startswith(LOCAL):
        return True
    return local_chats(model.model[len(LOCAL):])


def local_chats(name: str) -> bool | None:
    from harness.models.hf_aliases import ALIASES

    if name in ALIASES:
        return ALIASES[name].chat
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return _gguf_chats(path)
    if path.is_dir():
        if (path / "config.json").is_file():
            return _folder_chats(path)
        ggufs = sorted(path.glob("*.gguf"))
        return _gguf_chats(ggufs[0]) if len(ggufs) == 1 else None
    if not name.startswith(("/", ".", "~")):
        from harness.models.hf_identity import _hub_snapshot

        snapshot = _hub_snapshot(name)
        return _folder_chats(snapshot) if snapshot is not None else None
    return None


def _folder_chats(folder: Path) -> bool | None:
    """transformers keeps the template in tokenizer_config.json or in a file of its own."""
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    config = folder / "tokenizer_config.json"
    if not config.is_file():
        return None
    try:
        return bool(json.loads(config.read_text(encoding="utf-8")).get("chat_template"))
    except (OSError, ValueError, AttributeError):
        return None


def _gguf_chats(path: Path) -> bool | None:
    try:
        from gguf import GGUFReader

        return "tokenizer.chat_template" in GGUFReader(str(path)).fields
    except Exception:  # no gguf package, or a file it cannot read: the load will say
        return None


def check_formats(plan: Plan, *, warn: bool = True) -> None:
    """Refuse a chat template sent to a model without a chat template (one line, exit 2, before
    any call); warn once per pair when a completion template goes to a chat model."""
    experiment = plan.experiment
    chats = {m.label: model_chats(m) for m in plan.models.values()}
    for index, config in enumerate(experiment.variants):
        variant = plan.variants.get(config.name)
        if variant is None:
            continue
        template = variant.template
        for model_index, model in enumerate(experiment.models):
            chat = chats.get(model.label)
            if template.format == "chat" and chat is False:
                raise ConfigError(
                    f"'{template.name}' is a chat template, but {model.model} has no chat "
                    "template (a base model): its messages would be glued into one text it was "
                    "never trained on; use a completion template (zero-shot-completion, "
                    "few-shot-completion, or format: completion in your template's front "
                    f"matter), or drop the model (models[{model_index}])",
                    **experiment.locate("variants", index, "template"))
            if warn and template.format == "completion" and chat is True:
                print(f"harness: warning: variant '{config.name}' is a completion template: "
                      f"{model.label} gets it as one plain text, not as chat turns",
                      file=sys.stderr)
