"""One ``generate`` call for a batch of tokenized prompts, with OpenAI-like semantics.

The batcher decides which requests run together; this module makes a batch behave like that many
separate requests: left padding with a proper attention mask (or prefix reuse, see
hf_prefix_cache), per-row stop strings, per-row token counts and finish reasons.

Only one ``generate`` runs at a time in the process (``DEVICE_LOCK``): on two CPU cores parallel
calls only contend, and seeded sampling sets torch's global RNG, which must not be shared.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.models.hf_loading import LoadedModel
from harness.models.hf_prefix_cache import PrefixStore, cache_kwarg, supports_prefix_reuse

DEFAULT_MAX_TOKENS = 256
DEVICE_LOCK = threading.Lock()


@dataclass(frozen=True)
class GenParams:
    """Everything that must be equal for requests to share a batch (hence frozen and hashable)."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    batch_size: int = 16
    prefix_cache: bool = True

    @property
    def sampling(self) -> bool:
        return self.temperature > 0


@dataclass(frozen=True)
class GenResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (EOS or a stop string) or "length" (max_tokens reached)
    # Seconds the batch that produced this row took to generate and decode: the model's
    # service time, without the time the request waited for the batch or the device. Not
    # part of what a result is: two generations of the same text are equal.
    service_s: float = field(default=0.0, compare=False)


class PromptIds(list):
    """A prompt's token ids, knowing where the conversation before its last message ends
    (``context``, 0 when unknown): the part most worth reusing from the prefix cache, since
    few-shot examples drawn per item repeat across batches rather than within one."""

    context: int = 0


def encode_chat(lm: LoadedModel, messages: Sequence[dict[str, Any]]) -> list[int]:
    """Token ids of ``messages`` with the model's chat template and the assistant turn opened.

    Folders without a chat template (base models) get the message texts joined by blank lines,
    i.e. plain completion of the prompt.
    """
    cleaned = [
        {"role": m.get("role", "user"), "content": _text(m.get("content"))} for m in messages
    ]
    tok = lm.tokenizer
    with lm.tokenizer_lock:
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(cleaned, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            before = _template_ids(tok, cleaned[:-1]) if len(cleaned) > 1 else []
        else:
            ids = tok("\n\n".join(m["content"] for m in cleaned))["input_ids"]
            before = []
    prompt = PromptIds(int(t) for t in ids)
    if before and len(before) < len(prompt) and prompt[: len(before)] == before:
        prompt.context = len(before)
    return prompt


def _template_ids(tok: Any, messages: list[dict[str, str]]) -> list[int]:
    """The chat template over ``messages`` with no turn opened after them."""
    ids = tok.apply_chat_template(messages, add_generation_prompt=False, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return [int(t) for t in ids]


def encode_text(lm: LoadedModel, messages: Sequence[dict[str, Any]]) -> list[int]:
    """Token ids of a completion prompt (``prompt_format: completion``): the text exactly as
    rendered, with the tokenizer's own special tokens (a BOS) but no chat template."""
    text = "\n\n".join(_text(m.get("content")) for m in messages)
    with lm.tokenizer_lock:
        ids = lm.tokenizer(text)["input_ids"]
    return [int(t) for t in ids]


def _text(content: Any) -> str:
    """OpenAI content may be a list of parts; only text parts mean anything to a text model."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
    return "".join(parts)


def generate_batch(
    lm: LoadedModel, prompts: Sequence[Sequence[int]], params: GenParams
) -> list[GenResult]:
    """Generate for all ``prompts`` in one ``generate`` call; results are in input order."""
    import torch

    if not prompts:
        return []
    if any(len(p) == 0 for p in prompts):
        raise ValueError("empty prompt: the chat template produced no tokens")
    with DEVICE_LOCK, torch.inference_mode():
        started = time.perf_counter()
        if lm.select is not None:  # a model shared with LoRA adapters: switch to this one's
            lm.select()
        plan = None
        if params.prefix_cache:
            if lm.prefix_store is None:
                lm.prefix_store = PrefixStore()
            plan = lm.prefix_store.plan(lm.model, prompts)
        ids, mask, extra = _layout(lm, prompts, plan, params.max_tokens)
        criteria = _stop_criteria(lm, params.stop, ids.shape[1]) if params.stop else None
        if params.sampling and params.seed is not None:
            torch.manual_seed(params.seed)
        out = lm.model.generate(
            input_ids=ids,
            attention_mask=mask,
            generation_config=_generation_config(lm, params),
            stopping_criteria=criteria,
            **extra,
        )
    results = _results(lm, prompts, params, out[:, ids.shape[1] :].tolist())
    service = time.perf_counter() - started
    return [dataclasses.replace(r, service_s=service) for r in results]


def _layout(lm: LoadedModel, prompts: Sequence[Sequence[int]], plan: Any,
            max_tokens: int) -> tuple[Any, Any, dict]:
    """Input ids, mask and a cache that grows in place (hf_kv_cache).

    Without a plan: left padding. With one, row ``i`` is ``its prefix (k_i tokens) + pads up
    to the longest prefix K + pads + its suffix``, all suffixes right-aligned; the cache holds
    each row's prefix in the first K positions, and the mask hides every pad.
    """
    import torch

    from harness.models.hf_kv_cache import growing_cache, preloaded_cache

    pad = lm.pad_id
    ks = plan.lengths if plan is not None else [0] * len(prompts)
    head = max(ks)
    width = max(len(p) - k for p, k in zip(prompts, ks, strict=True))
    rows, masks = [], []
    for p, k in zip(prompts, ks, strict=True):
        gap = head - k + width - (len(p) - k)
        rows.append(list(p[:k]) + [pad] * gap + list(p[k:]))
        masks.append([1] * k + [0] * gap + [1] * (len(p) - k))
    capacity = head + width + max_tokens + 1
    extra: dict[str, Any] = {}
    if plan is not None:
        extra[cache_kwarg(lm.model)] = preloaded_cache(lm.model, plan.rows, capacity)
    elif supports_prefix_reuse(lm.model):  # plain per-layer caches only (no sliding windows)
        extra[cache_kwarg(lm.model)] = growing_cache(lm.model, capacity)
    device = lm.model.device
    ids = torch.tensor(rows, dtype=torch.long, device=device)
    mask = torch.tensor(masks, dtype=torch.long, device=device)
    return ids, mask, extra


def _generation_config(lm: LoadedModel, params: GenParams) -> Any:
    """Explicit values for every knob a model's generation_config.json might set (repetition
    penalty, top_k, sampling), so the request's parameters alone decide the output."""
    from transformers import GenerationConfig

    common = {
        "max_new_tokens": params.max_tokens,
        "eos_token_id": list(lm.eos_ids) or None,
        "pad_token_id": lm.pad_id,
        "repetition_penalty": 1.0,
        "no_repeat_ngram_size": 0,
        "num_beams": 1,
    }
    if params.sampling:
        top_p = params.top_p if params.top_p is not None else 1.0
        return GenerationConfig(
            do_sample=True, temperature=params.temperature, top_p=top_p, top_k=0, **common
        )
    return GenerationConfig(do_sample=False, temperature=1.0, top_p=1.0, top_k=50, **common)


@functools.cache
def _stop_criteria_class() -> type:
    from transformers import StoppingCriteria

    class StopOnStrings(StoppingCriteria):
        """Marks a row done once its generated text contains a stop string.

        Only the tail is decoded: a stop string completed by the newest token starts at most a few
        tokens back (4 per character covers byte-level pieces of multi-byte characters).
        """

        def __init__(self, lm: LoadedModel, stops: tuple[str, ...], prompt_width: int) -> None:
            self.lm = lm
            self.stops = stops
            self.prompt_width = prompt_width
            self.tail = 4 * max(len(s) for s in stops) + 8

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            start = max(self.prompt_width, input_ids.shape[1] - self.tail)
            with self.lm.tokenizer_lock:
                texts = self.lm.tokenizer.batch_decode(
                    input_ids[:, start:], skip_special_tokens=True
                )
            done = [any(s in text for s in self.stops) for text in texts]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StopOnStrings


def _stop_criteria(lm: LoadedModel, stops: tuple[str, ...], prompt_width: int) -> Any:
    from transformers import StoppingCriteriaList

    stops = tuple(s for s in stops if s)
    if not stops:
        return None
    return StoppingCriteriaList([_stop_criteria_class()(lm, stops, prompt_width)])


def _results(
    lm: LoadedModel,
    prompts: Sequence[Sequence[int]],
    params: GenParams,
    generated: list[list[int]],
) -> list[GenResult]:
    """Per row: cut at the end-of-sequence (rows that finished early are padded), then at the
    first stop string, and count only the tokens the row really generated."""
    ends = set(lm.eos_ids) | {lm.pad_id}
    stops = [s for s in params.stop if s]
    results = []
    for prompt, row in zip(prompts, generated, strict=True):
        n = next((i for i, t in enumerate(row) if t in ends), None)
        finish = "stop" if n is not None else "length"
        tokens = row if n is None else row[:n]
        with lm.tokenizer_lock:
            text = lm.tokenizer.decode(tokens, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
        if cut >= 0:
            text, finish = text[:cut], "stop"
        results.append(GenResult(text, len(prompt), len(tokens), finish))
    return results
