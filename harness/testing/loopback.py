"""A loopback HTTP server that speaks the hosted APIs' real wire formats.

It answers OpenAI chat completions (``.../chat/completions``), Anthropic messages
(``.../v1/messages``) and Gemini ``generateContent`` (``...:generateContent``), so the hosted
path can be tested end to end through LiteLLM with no network. A *responder* function decides
what the "model" says; faults (429 with Retry-After, 500) and latency can be injected to test
retries and measure throughput. Every request is recorded for assertions.

Tests run it in a background thread (``with LoopbackServer() as server:``); benchmarks run it
as a process of its own, so its CPU does not compete for the client's GIL::

    python -m harness.testing.loopback --latency 0.2     # prints "listening on <url>"

``GET /_stats`` answers the request counts, so a test can check a server in another process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A responder's answer when it is more than text: ``text`` None is a null content, and
    ``finish_reason`` (OpenAI's names: stop, length, content_filter) is translated into each
    wire format's own (Anthropic's max_tokens and refusal, Gemini's MAX_TOKENS and SAFETY)."""

    text: str | None
    finish_reason: str = "stop"


Responder = Callable[[list[dict[str, str]], dict[str, Any]], "str | Reply"]
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}
_GEMINI_STOP = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def echo_last_line(messages: list[dict[str, str]], body: dict[str, Any]) -> str:
    """A deterministic default: repeat the last line of the last user message."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    lines = [line for line in last.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@dataclass
class Faults:
    """Share of requests answered with an error instead of a completion."""

    rate_limit: float = 0.0  # 429 with Retry-After
    server_error: float = 0.0  # 500
    retry_after: float = 0.05
    seed: int = 0
    # Once a conversation has failed this often, it always succeeds: tests can then assert
    # that every sample finishes and no sample was sent more than ``max_failures + 1`` times.
    max_failures: int | None = None


@dataclass
class Received:
    protocol: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    messages: list[dict[str, str]]
    status: int
    at: float = 0.0  # time.monotonic() when the request arrived


def _text_of(content: Any) -> str:
    """A turn's text; the parts of a multi-part turn one per line, so a test can tell them
    apart (Gemini gets a system prompt as its own part when LiteLLM's map does not say the
    model takes system instructions)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _openai_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": _text_of(m.get("content"))} for m in body["messages"]]


def _anthropic_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    system = body.get("system")
    if system:
        out.append({"role": "system", "content": _text_of(system)})
    out += [{"role": m["role"], "content": _text_of(m.get("content"))} for m in body["messages"]]
    return out


def _gemini_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    system = body.get("system_instruction") or body.get("systemInstruction")
    if system:
        out.append({"role": "system", "content": _text_of(system.get("parts", []))})
    for content in body.get("contents", []):
        role = "assistant" if content.get("role") == "model" else "user"
        out.append({"role": role, "content": _text_of(content.get("parts", []))})
    return out


def _everything(request: Any, body: dict[str, Any]) -> str:
    """What a request carried, as a careless server would quote it back."""
    headers = {k: v for k, v in request.headers.items()}
    return f"url={request.path_qs} headers={json.dumps(headers)} body={json.dumps(body)[:2000]}"


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


@dataclass
class LoopbackServer:
    """Run with ``with LoopbackServer(responder) as server:``; ``server.url`` is its base."""

    responder: Responder = echo_last_line
    latency: float = 0.0
    faults: Faults = field(default_factory=Faults)
    host: str = "127.0.0.1"
    record: bool = True
    # A deterministic fault: given the messages, the status to answer (400, 429, 500...)
    # or None for a normal reply.
    status_for: Callable[[list[dict[str, str]]], int | None] | None = None
    received: list[Received] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    # Answer error bodies the way some providers do, quoting the key they were sent (and,
    # worse, every header, the URL with its query string and the body), so a test can check
    # that the harness keeps credentials out of what it writes.
    echo_key_in_errors: bool = False
    # Append everything received (headers, URL, body) to each successful answer as well: the
    # harness must keep credentials out of model outputs it stores, too.
    echo_request_in_replies: bool = False
    # A provider's secret limit on requests in flight: a request arriving while this many
    # are being answered is refused at once with 429 and Retry-After (faults.retry_after).
    concurrency_limit: int | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    connections: set[Any] = field(default_factory=set)  # client (host, port)s seen
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("loopback server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        from aiohttp import web

        self._stop = asyncio.Event()
        self._rng = random.Random(self.faults.seed)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        app.router.add_route("GET", "/_stats", self._stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        path = request.path
        body = await request.json()
        if path.endswith("/chat/completions"):
            protocol, messages = "openai", _openai_messages(body)
        elif path.endswith("/messages"):
            protocol, messages = "anthropic", _anthropic_messages(body)
        elif ":generateContent" in path:
            protocol, messages = "gemini", _gemini_messages(body)
        else:
            message = f"unknown path {path}"
            if self.echo_key_in_errors:
                self.statuses[404] += 1
                message += f"; {_everything(request, body)}"
            return web.json_response({"error": {"message": message}}, status=404)
        arrived = time.monotonic()
        if request.transport is not None:
            self.connections.add(request.transport.get_extra_info("peername"))
        key = json.dumps(messages, sort_keys=True)
        self.counts[key] += 1
        if self.concurrency_limit is not None and self.in_flight >= self.concurrency_limit:
            self.statuses[429] += 1
            return web.json_response(
                {"error": {"message": "too many requests in flight", "type": "rate_limit_error"}},
                status=429, headers={"Retry-After": str(self.faults.retry_after)})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        status = self._status(key, messages)
        self.statuses[status] += 1
        if status != 200:
            self.failures[key] += 1
        if self.record:
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.received.append(Received(protocol, path, body, headers, messages, status,
                                          arrived))
        if status == 429:
            return web.json_response(
                {"error": {"message": "rate limited", "type": "rate_limit_error"}}, status=429,
                headers={"Retry-After": str(self.faults.retry_after)},
            )
        if status != 200:
            message = f"loopback fault {status}"
            if self.echo_key_in_errors:
                sent = (request.headers.get("Authorization", "") + request.headers.get(
                    "x-api-key", "") + request.headers.get("x-goog-api-key", ""))
                message += (f": incorrect API key provided: {sent.removeprefix('Bearer ')}; "
                            f"{_everything(request, body)}")
            return web.json_response({"error": {"message": message, "type": "server_error"}},
                                     status=status)
        answer = self.responder(messages, body)
        reply = answer if isinstance(answer, Reply) else Reply(answer)
        if self.echo_request_in_replies:
            reply = Reply((reply.text or "") + "\n" + _everything(request, body),
                          reply.finish_reason)
        tokens_in = sum(_tokens(m["content"]) for m in messages)
        tokens_out = _tokens(reply.text or "")
        return web.json_response(self._reply(protocol, body, reply, tokens_in, tokens_out))

    def _status(self, key: str, messages: list[dict[str, str]]) -> int:
        if self.status_for is not None:
            forced = self.status_for(messages)
            if forced is not None:
                return forced
        roll = self._rng.random()
        limit = self.faults.max_failures
        if limit is not None and self.failures[key] >= limit:
            return 200
        if roll < self.faults.rate_limit:
            return 429
        if roll < self.faults.rate_limit + self.faults.server_error:
            return 500
        return 200

    def stats(self) -> dict[str, Any]:
        """Request counts: in all, per status, and the most any one conversation was sent."""
        return {
            "requests": sum(self.counts.values()),
            "conversations": len(self.counts),
            "max_per_conversation": max(self.counts.values(), default=0),
            "connections": len(self.connections),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }

    async def _stats(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response(self.stats())

    def _reply(self, protocol: str, body: dict[str, Any], reply: Reply, tin: int,
               tout: int) -> dict[str, Any]:
        text, reason = reply.text, reply.finish_reason
        if protocol == "openai":
            return {
                "id": "chatcmpl-loopback", "object": "chat.completion", "created": 0,
                "model": body.get("model", "loopback"),
                "choices": [{"index": 0, "finish_reason": reason,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": tin, "completion_tokens": tout,
                          "total_tokens": tin + tout},
            }
        if protocol == "anthropic":
            return {
                "id": "msg_loopback", "type": "message", "role": "assistant",
                "model": body.get("model", "loopback"),
                "content": [] if text is None else [{"type": "text", "text": text}],
                "stop_reason": _ANTHROPIC_STOP.get(reason, reason), "stop_sequence": None,
                "usage": {"input_tokens": tin, "output_tokens": tout},
            }
        return {
            "candidates": [{"content": {"role": "model",
                                        "parts": [] if text is None else [{"text": text}]},
                            "finishReason": _GEMINI_STOP.get(reason, reason), "index": 0}],
            "usageMetadata": {"promptTokenCount": tin, "candidatesTokenCount": tout,
                              "totalTokenCount": tin + tout},
            "modelVersion": "loopback",
        }


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; print the base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(prog="python -m harness.testing.loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="share answered 429")
    parser.add_argument("--server-error", type=float, default=0.0, help="share answered 500")
    parser.add_argument("--retry-after", type=float, default=0.05)
    parser.add_argument("--concurrency-limit", type=int,
                        help="answer 429 to a request arriving while this many are in flight")
    args = parser.parse_args(argv)
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("the loopback server only listens on a loopback address")
    server = LoopbackServer(
        latency=args.latency, host=args.host, port=args.port, record=False,
        concurrency_limit=args.concurrency_limit,
        faults=Faults(rate_limit=args.rate_limit, server_error=args.server_error,
                      retry_after=args.retry_after),
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with server:
        print(f"listening on {server.url}", flush=True)
        while not done.wait(0.5):
            pass
    print(json.dumps(server.stats()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
