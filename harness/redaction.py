"""Keeping credentials out of everything the harness writes or prints.

Keys reach the harness three ways: environment variables (the provider variables LiteLLM reads,
such as ``OPENAI_API_KEY``, or the variable a model names with ``api_key_env``), HTTP headers,
and URLs (``https://user:pass@host`` or ``?key=...`` in an ``api_base``). Any of them can come
back: a server quotes the key in a 401, an error message repeats the URL, a config snapshot
copies the params. So redaction is not done where a key is used but where text leaves the
process: every writer (samples, manifest, cache, reports) and the CLI's output streams pass
their text through :func:`redact`.

What counts as a secret:

- the value of every environment variable whose *name* says it holds a credential (ends in
  ``KEY``, ``TOKEN``, ``SECRET``, ``PASSWORD``, ``CREDENTIALS``...). That covers every
  variable LiteLLM reads for a provider (``OPENAI_API_KEY``, ``AZURE_AD_TOKEN``,
  ``AWS_SECRET_ACCESS_KEY``, ``GEMINI_API_KEY``...) without keeping a list that goes stale;
- values registered with :func:`register` (the ``api_key_env`` variable, whatever its name;
  secrets found in a configured URL or header);
- by shape, wherever they appear: URL userinfo, URL query parameters named like keys, and
  ``Bearer``/``Basic`` credentials.

Values shorter than :data:`MIN_SECRET` characters are not treated as secrets: replacing every
"true" or "1" in a report would destroy it and protect nothing.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, TextIO

REDACTED = "<redacted>"
MIN_SECRET = 8

# Names of environment variables (and of config, header or query keys) that hold a credential.
_CREDENTIAL_ENV = re.compile(
    r"(?:KEY|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|KEY_ID|AUTH|SIGNATURE)$"
)
_NOT_A_VALUE = re.compile(r"^(?:true|false|yes|no|none|null|\d+(?:\.\d+)?)$", re.I)
# A header or parameter name, normalised to lower case letters and digits only. Not any
# "...key": a cache_key or sort_key holds a hash, and blanking it would break what reads it.
_CREDENTIAL_NAME = re.compile(
    r"(?:apikey|secretkey|privatekey|accesskey|subscriptionkey|token|secret|password|passwd"
    r"|credentials?|authorization|auth|signature|cookie|sessionid)$"
)
# Tokenizer settings (eos_token, pad_token...) are words, not credentials.
_TOKENIZER_NAME = re.compile(r"(?:eos|bos|pad|stop|unk|sep|cls|mask|start|end|special)tokens?$")
# In a URL query string a bare "key" or "sig" is a credential (Gemini's ?key=, Azure's SAS sig=).
_QUERY_CREDENTIAL = {"key", "sig", "code"}
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/\s@?#'\"<>]+)@")
_QUERY_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[A-Za-z0-9_.-]+)=)(?P<value>[^&#\s'\"<>]+)")
# A token after an HTTP auth scheme: at least 12 characters with a digit, so that prose such
# as "Basic arithmetic" is left alone.
_AUTH_SCHEME = re.compile(
    r"(?P<head>\b(?:Bearer|Basic)\s+)(?P<value>(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,})")

# Keys in the published formats of the big providers, blanked by shape wherever they appear
# (a key no variable holds, quoted back by a proxy).
_KNOWN_KEY = re.compile(
    r"\b(?:sk-(?:ant-|proj-|or-)?[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|hf_[A-Za-z0-9]{30,}"
    r"|gsk_[A-Za-z0-9]{30,}|xai-[A-Za-z0-9]{30,}|gh[pousr]_[A-Za-z0-9]{30,})")

_registered: set[str] = set()
_lock = threading.Lock()


def credential_name(name: str) -> bool:
    """Whether a header, parameter or query key's name says it holds a credential
    (``api_key``, ``x-api-key``, ``Authorization``, ``access_token``, ``key``...)."""
    flat = re.sub(r"[^a-z0-9]", "", name.lower())
    return bool(_CREDENTIAL_NAME.search(flat)) and not _TOKENIZER_NAME.search(flat)


def _query_credential(name: str) -> bool:
    return name.lower() in _QUERY_CREDENTIAL or credential_name(name)


def looks_like_credential(value: str) -> bool:
    """Whether a value has the shape of a credential: ``Bearer <token>``, ``Basic <token>``,
    or a key in a big provider's published format (``sk-...``, ``AIza...``)."""
    return bool(_AUTH_SCHEME.search(value) or _KNOWN_KEY.search(value))


def credential_env(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    upper = name.upper()
    if upper.endswith(("_FILE", "_URL", "_DIR", "_ENDPOINT", "_PATH")):
        return False
    return bool(_CREDENTIAL_ENV.search(upper))


def _usable(value: str | None) -> bool:
    return (isinstance(value, str) and len(value.strip()) >= MIN_SECRET
            and not _NOT_A_VALUE.match(value.strip()))


def register(values: Iterable[str | None]) -> None:
    """Treat these values as secrets from now on (in this process)."""
    with _lock:
        _registered.update(v.strip() for v in values if v is not None and _usable(v))


def register_env(name: str | None) -> None:
    """Treat the value of the environment variable ``name`` as a secret, whatever its name."""
    if name:
        register([os.environ.get(name)])


def url_secrets(url: str | None) -> list[str]:
    """The credentials in a URL: its userinfo (password and whole) and key-like query values."""
    if not url:
        return []
    found: list[str] = []
    m = _URL_USERINFO.search(url)
    if m:
        info = m.group("info")
        found += [info, info.split(":", 1)[-1]]
    found += [q.group("value") for q in _QUERY_PARAM.finditer(url)
              if _query_credential(q.group("name"))]
    return found


def register_model(model: Any) -> None:
    """The secrets of one configured model: its ``api_key_env`` value, and what its
    ``api_base`` and headers carry."""
    register_env(getattr(model, "api_key_env", None))
    register(url_secrets(getattr(model, "api_base", None)))
    params = getattr(model, "params", None) or {}
    register(v for _, v in _credential_values(params))
    for deployment in getattr(model, "deployments", None) or ():  # each replica's own key
        register_model(deployment)


def _credential_values(value: Any, name: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _credential_values(inner, str(key))
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _credential_values(inner, name)
    elif isinstance(value, str):
        if name and credential_name(name):
            yield name, value
        for m in (_AUTH_SCHEME.search(value), _KNOWN_KEY.search(value)):
            if m:
                yield name, m.group("value") if "value" in m.groupdict() else m.group(0)


_env_cache: tuple[Any, frozenset[str]] = ((), frozenset())


def _env_secrets() -> frozenset[str]:
    """The credential variables' values, recomputed only when the environment changed (every
    record a run writes asks, and the environment almost never changes)."""
    global _env_cache
    data = getattr(os.environ, "_data", None)
    key = tuple(data.items()) if isinstance(data, dict) else tuple(os.environ.items())
    if key != _env_cache[0]:
        values = [v.strip() for k, v in os.environ.items() if credential_env(k) and _usable(v)]
        inner = [s for v in values if v.startswith("{") for s in _json_secrets(v)]
        _env_cache = (key, frozenset(values + inner))
    return _env_cache[1]


def _json_secrets(value: str) -> list[str]:
    """The credential-named strings inside a JSON credential (``private_key``...)."""
    try:
        data = json.loads(value)
    except ValueError:
        return []
    return [v.strip() for _, v in _credential_values(data) if _usable(v)]


def secrets() -> list[str]:
    """Every value to blank, longest first (so a key containing another goes whole)."""
    with _lock:
        found = _env_secrets() | _registered
    return sorted(found, key=len, reverse=True)


def redact(text: str, values: list[str] | None = None) -> str:
    """``text`` with every secret replaced by ``<redacted>``."""
    if not text:
        return text
    for secret in secrets() if values is None else values:
        if secret in text:
            text = text.replace(secret, REDACTED)
        quoted = _json_form(secret)  # as it appears inside a JSON string
        if quoted != secret and quoted in text:
            text = text.replace(quoted, REDACTED)
    # The shapes, each only where its marker occurs (a sample line is kilobytes of prose).
    if "://" in text and "@" in text:
        text = _URL_USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
    if "=" in text:
        text = _QUERY_PARAM.sub(
            lambda m: m.group("head") + REDACTED if _query_credential(m.group("name"))
            and m.group("value") != REDACTED else m.group(0), text)
    if "Bearer" in text or "Basic" in text:
        text = _AUTH_SCHEME.sub(lambda m: m.group("head") + REDACTED, text)
    if any(marker in text for marker in ("sk-", "AIza", "hf_", "gsk_", "xai-", "gh")):
        text = _KNOWN_KEY.sub(REDACTED, text)
    return text


@lru_cache(maxsize=256)
def _json_form(secret: str) -> str:
    return json.dumps(secret)[1:-1]


def redact_data(value: Any, values: list[str] | None = None, name: str = "") -> Any:
    """A JSON-like structure with secrets blanked in every string, and every string under a
    credential-named key (``api_key``, ``Authorization``...) replaced whole."""
    values = secrets() if values is None else values
    if isinstance(value, Mapping):
        return {k: redact_data(v, values, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, values, name) for v in value]
    if isinstance(value, str):
        if name and credential_name(name) and _usable(value):
            return REDACTED
        return redact(value, values)
    return value


class RedactingStream:
    """A text stream that blanks secrets in what is written through it (stdout, stderr)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class redacted_output:
    """``with redacted_output():`` wraps ``sys.stdout`` and ``sys.stderr`` for the block."""

    def __enter__(self) -> None:
        import logging

        self._saved = (sys.stdout, sys.stderr)
        self._handlers: list[tuple[Any, Any]] = []
        if not isinstance(sys.stdout, RedactingStream):
            sys.stdout = RedactingStream(sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, RedactingStream):
            sys.stderr = RedactingStream(sys.stderr)  # type: ignore[assignment]
        # Log handlers (LiteLLM's among them) hold the stream they were made with.
        loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                          if isinstance(lg, logging.Logger))]
        for logger in loggers:
            for handler in logger.handlers:
                stream = getattr(handler, "stream", None)
                if isinstance(handler, logging.StreamHandler) and stream in self._saved:
                    self._handlers.append((handler, stream))
                    handler.stream = RedactingStream(stream)

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self._saved
        for handler, stream in self._handlers:
            handler.stream = stream
