"""Answers that are not answers: cut off at ``max_tokens``, withheld by a content filter, empty.

A reasoning model that spends its whole budget thinking, or a provider's filter, returns no
answer at all; scoring that as a wrong answer would blame the prompt for a failed call. So
each answer is classified from its ``finish_reason`` and text, the kind is recorded with
every sample and counted per cell in the report, and by default (``incomplete_answers:
error``) such a sample is an error: kept out of every score, like a failed call.
``incomplete_answers: keep`` scores them as they are (a deliberately tight ``max_tokens``
with a first-line parser, say).
"""

from __future__ import annotations

from harness.models.client import Completion

# LiteLLM normalises finish reasons to OpenAI's; the raw names of other providers are here
# too, for a transport that passes them through.
_TRUNCATED = frozenset({"length", "max_tokens", "max_output_tokens"})
_FILTERED = frozenset({"content_filter", "safety", "recitation", "refusal", "blocklist",
                       "prohibited_content", "spii", "image_safety"})

KINDS = ("truncated", "filtered", "empty")

_MESSAGES = {
    "truncated": "incomplete answer: the model stopped at max_tokens (finish_reason {reason})"
                 "; raise max_tokens, or set incomplete_answers: keep to score it as it is",
    "filtered": "incomplete answer: the provider's content filter withheld it (finish_reason"
                " {reason}); set incomplete_answers: keep to score it as it is",
    "empty": "empty answer: the model returned no text (finish_reason {reason}); set "
             "incomplete_answers: keep to score it as a wrong answer",
}


def incomplete_kind(completion: Completion) -> str | None:
    """``truncated``, ``filtered``, ``empty``, or None for a complete answer."""
    reason = (completion.finish_reason or "").lower()
    if reason in _FILTERED:
        return "filtered"
    if reason in _TRUNCATED:
        return "truncated"
    if not completion.text.strip():
        return "empty"
    return None


def incomplete_error(kind: str, completion: Completion) -> str:
    """The error recorded for an incomplete answer: what happened and what to do."""
    return _MESSAGES[kind].format(reason=completion.finish_reason or "not given")
