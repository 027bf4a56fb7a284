"""The judge side of the RAG metrics: one model call in, one strictly read verdict out.

Every judge-based RAG metric (``harness.scoring.rag``) asks its judge through an ``ask``-like
async callable, ``ask(model, messages, params) -> Completion`` (the judges' client,
``harness.judges.client``, or any fake with the same shape), so the metrics do not depend on
how the call is made: the run's client stack (cache, retries, limits) in a run, a
deterministic function in a test.

A verdict is read, never guessed: the judge must answer with a JSON object holding the keys the
prompt asked for, of the types asked for. Anything else (prose without an object, a missing
key, ``"maybe"`` where a yes/no was asked, two objects that disagree) raises
:class:`MalformedVerdict`, which the scoring stage turns into a scoring error on that sample,
so a judge that cannot follow instructions shows up in the report instead of in the mean.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness import jsontext

Ask = Callable[..., Awaitable[Any]]
#: A judge reasons before its verdict; the run's default of 256 tokens could cut it short.
DEFAULT_MAX_TOKENS = 512
_FENCE = "```"


class MalformedVerdict(ValueError):
    """The judge's answer is not the verdict its prompt asked for."""


def completion_text(completion: Any) -> str:
    """The text of what ``ask`` returned (a ``Completion``, or a plain string from a fake)."""
    text = completion if isinstance(completion, str) else getattr(completion, "text", None)
    if not isinstance(text, str):
        raise MalformedVerdict(f"the judge returned {type(completion).__name__}, not text")
    return text


def read_object(text: str, required: Mapping[str, str]) -> dict[str, Any]:
    """The one JSON object of a judge's answer that holds every key of ``required``.

    ``required`` maps each key to the type it must have (``bool``, ``list``, ``int``).
    Prose or a code fence around the object is allowed; a second object holding the
    same keys with different values is ambiguous and refused.
    """
    body = text.strip()
    if body.startswith(_FENCE):
        body = body.strip("`").removeprefix("json").strip()
    found = jsontext.first_object(body)
    if found is None:
        raise MalformedVerdict(f"no JSON object in the judge's answer: {_quote(text)}")
    obj, _, end = found
    later = jsontext.first_object(body[end:])
    if later is not None and any(k in later[0] and later[0][k] != obj.get(k) for k in required):
        raise MalformedVerdict(f"two different verdicts in the judge's answer: {_quote(text)}")
    out = {}
    for key, kind in required.items():
        if key not in obj:
            raise MalformedVerdict(f"the judge's verdict has no '{key}': {_quote(text)}")
        out[key] = _typed(obj[key], kind, key, text)
    return {**obj, **out}


_YES = {"true", "yes", "supported", "relevant"}
_NO = {"false", "no", "unsupported", "not supported", "irrelevant", "not relevant"}


def _typed(value: Any, kind: str, key: str, text: str) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _YES | _NO:
            return value.strip().lower() in _YES
    elif kind == "list":
        if isinstance(value, list):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    raise MalformedVerdict(f"the judge's '{key}' is {value!r}, not a {kind}: {_quote(text)}")


def _quote(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


@dataclass
class Judge:
    """A judge model and the way to call it: what the RAG metrics hold.

    ``model`` is a LiteLLM string or model mapping (the experiment's model keys); ``params``
    what every call sends beside the messages (greedy and room to reason unless the entry
    says otherwise). ``calls`` keeps every raw answer of the current sample for the record.
    """

    model: Any
    ask: Ask
    params: dict[str, Any] = field(default_factory=dict)

    async def verdict(self, messages: list[dict[str, str]],
                      required: Mapping[str, str]) -> tuple[dict[str, Any], str]:
        """Ask once and read the answer; the parsed verdict and the raw text."""
        completion = await self.ask(self.model, messages, dict(self.params))
        text = completion_text(completion)
        try:
            return read_object(text, required), text
        except MalformedVerdict as exc:
            if getattr(completion, "finish_reason", None) == "length":
                raise MalformedVerdict(f"the judge stopped at max_tokens "
                                       f"({self.params.get('max_tokens')}) before its verdict; "
                                       f"give it more (judge: {{max_tokens: ...}}): {exc}"
                                       ) from None
            raise

    @property
    def label(self) -> str:
        """The judge's model string, for the score's metadata."""
        if isinstance(self.model, str):
            return self.model
        if isinstance(self.model, Mapping):
            return str(self.model.get("model", ""))
        return str(getattr(self.model, "model", self.model))


def judge_params(model: Any) -> dict[str, Any]:
    """Greedy, 512 tokens, unless the judge's own model entry says otherwise."""
    params: dict[str, Any] = {"temperature": 0.0, "max_tokens": DEFAULT_MAX_TOKENS}
    for key in ("temperature", "max_tokens"):
        value = getattr(model, key, None)
        if value is not None:
            params[key] = value
    params.update(getattr(model, "params", None) or {})
    return params


def context_ask(context: Any) -> Ask:
    """The ``ask`` a scorer factory uses: ``context.resources['ask']`` when a caller provides
    one; else the judges' client on the run's stack (shared with the rubric judges, so judge
    usage is counted in one place) when that module is installed; else the stack itself."""
    given = context.resources.get("ask")
    if given is not None:
        return given  # type: ignore[no-any-return]
    if context.client is None:
        raise ValueError("a judge-based RAG metric needs a client to call its judge model")
    try:
        from harness.judges.client import JudgeClient
    except ImportError:  # the judges' client is not in this install: call the stack directly
        pass
    else:
        client = context.resources.get("judge_client")
        if client is None:
            client = JudgeClient(context.client)
            context.resources["judge_client"] = client
        return client.ask  # type: ignore[no-any-return]
    stack = context.client

    async def ask(model: Any, messages: list[dict[str, str]],
                  params: Mapping[str, Any] | None = None) -> Any:
        return await stack.complete(model, list(messages), dict(params or {}))

    return ask
