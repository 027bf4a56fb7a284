"""Sample fingerprints: the identity of one model call, and an account of what shaped it.

A sample's *fingerprint* hashes what decides its record: the rendered messages, the model
string and generation parameters, the answer parser chain, the scorers and the target. Resume
and the gate compare fingerprints sample by sample, so anything that reaches the prompt (a
template, a few-shot example, a retrieved passage, a data field a template reads) is noticed,
and anything that does not (a limit, an unrelated column, a template comment) is not.

Its *parts* are short hashes of the ingredients (template, task file, shots, context, each data
field...). They do not decide whether a sample changed, only explain why one did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

PART_LEN = 8  # enough to tell two versions of one ingredient apart, small in a baseline
FINGERPRINT_LEN = 16

# Parts in the order an explanation names them, with the words it uses.
PART_NAMES = {
    "template": "template",
    "variant": "variant settings (system, vars, reasoning)",
    "task": "task file (instructions, answer format, input/target)",
    "shots": "few-shot examples",
    "context": "retrieved context",
    "fields": "data field",
    "params": "model or generation parameters",
    "scoring": "parser or scorers",
}


def digest(value: Any, length: int = PART_LEN) -> str:
    """A short, stable hash of any JSON-able value (keys sorted, so dict order never matters)."""
    text = value if isinstance(value, str) else json.dumps(
        value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fingerprint(messages_hash: str, model: str, params: Mapping[str, Any], scoring: str,
                target: str) -> str:
    """The sample's identity: what is sent (messages, model, parameters) and how it is scored."""
    return digest([messages_hash, model, dict(params), scoring, target], FINGERPRINT_LEN)


def plan_fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """A whole plan's identity: every (sample id, fingerprint), in a fixed order."""
    return hashlib.sha256("\n".join(f"{s}:{f}" for s, f in sorted(pairs)).encode()).hexdigest()


def explain(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str:
    """Why a sample's fingerprint changed, in words: the ingredients whose hashes differ."""
    if not old or not new:
        return "rendered prompt (no record of its ingredients)"
    reasons = []
    for key, words in PART_NAMES.items():
        before, after = old.get(key), new.get(key)
        if key == "fields":
            before, after = before or {}, after or {}
            names = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
            if names:
                reasons.append(f"{words}{'s' * (len(names) > 1)} {', '.join(names)}")
        elif before != after:
            reasons.append(words)
    return ", ".join(reasons) or "rendered prompt"
