"""OpenAI-compatible calls: LiteLLM's provider translation over the harness's own HTTP session.

``litellm.acompletion`` costs about 2 ms of CPU per call on top of the HTTP request (a hop
into a thread pool and back, a logging object and payload, a cost calculation per response,
the OpenAI SDK's own wrapping); at 16 calls in flight that is most of a run's time against a
fast server and stretches every round against a slow one (``benchmarks/README.md``). For the
providers that speak the OpenAI chat-completions wire format this module keeps every part of
LiteLLM that decides *what* is sent and how the answer is read, and replaces only the
orchestration around the HTTP request:

- once per model: ``get_llm_provider`` (provider, model name, API base),
  ``ProviderConfigManager.get_provider_chat_config`` (the provider's chat config, e.g. the
  o-series or GPT-5 variants of OpenAI's), the URL from ``get_complete_url`` and the headers
  from ``validate_environment``;
- once per distinct parameter set: ``get_optional_params`` (LiteLLM's parameter mapping and
  ``drop_params``);
- per call: the config's ``transform_request``, one POST on an aiohttp session owned by the
  harness, and the config's ``transform_response`` into LiteLLM's ``ModelResponse``; a status
  of 400 or more becomes a ``ModelCallError`` named as LiteLLM's exception mapping names it.

This is the sequence LiteLLM's ``BaseLLMHTTPHandler`` runs for ``hosted_vllm``, minus its
logging callbacks. Anything this module is not sure to send exactly as ``acompletion`` would
(another provider, a parameter the config does not list as supported) goes through
``acompletion`` instead; ``transport: litellm`` on a model forces that for every call. The
tests compare the bodies a loopback server receives through both paths.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from typing import Any

from harness.config import ModelConfig
from harness.models.client import (
    ModelCallError,
    first_line,
    retry_after_from_headers,
    retryable_status,
)

# Providers whose LiteLLM chat config is OpenAI's (or a subclass) and whose requests LiteLLM
# sends as built by that config. Others keep acompletion: their handlers add signing, token
# refresh or provider-specific routing this module does not reproduce.
DIRECT_PROVIDERS = frozenset({"openai", "hosted_vllm"})

# Where LiteLLM's own dispatch looks for an API base when the model names none, in its order.
DEFAULT_BASES = {"openai": (("OPENAI_BASE_URL", "OPENAI_API_BASE"), "https://api.openai.com/v1"),
                  "hosted_vllm": (("HOSTED_VLLM_API_BASE",), None)}
KEY_ENVS = {"openai": "OPENAI_API_KEY", "hosted_vllm": "HOSTED_VLLM_API_KEY"}
SDK_HEADER_ENVS = ("OPENAI_ORGANIZATION", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID")


class _NoLogging:
    """Stands in for LiteLLM's per-call logging object inside ``transform_response``: the
    harness records every sample itself and never runs LiteLLM's callbacks."""

    def post_call(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_LOGGING = _NoLogging()


@dataclass
class Route:
    """One model's translation, resolved once: the config, where to send, what to send."""

    litellm: Any
    name: str
    provider: str
    config: Any
    url: str
    headers: dict[str, str]
    api_key: str | None
    supported: frozenset[str]
    proxy: str | None = None
    _optional: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # The httpx.Request every response refers to, built once: parsing the URL for each
    # response was ~7% of the CPU per call.
    _request: Any = None

    def optional_params(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """LiteLLM's mapped parameters, or None when ``acompletion`` must take this call."""
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in self._optional:
            self._optional[key] = self._map(params)
        return self._optional[key]

    def _map(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if not set(params) <= self.supported or params.get("stream"):
            return None
        mapped = dict(self.litellm.get_optional_params(
            model=self.name, custom_llm_provider=self.provider, **params))
        # LiteLLM's dispatch pops these before transform_request: a non-streamed call sends
        # no "stream" field, and extra_body is merged into the body by the SDK or handler.
        mapped.pop("stream", None)
        mapped.pop("json_mode", None)
        if mapped.pop("extra_body", None):
            return None
        return {k: v for k, v in mapped.items() if v is not None}

    def body(self, messages: list[dict[str, Any]], optional: dict[str, Any]) -> dict[str, Any]:
        return self.config.transform_request(model=self.name, messages=messages,
                                             optional_params=dict(optional), litellm_params={},
                                             headers={})

    def response(self, status: int, headers: Any, content: bytes,
                 request: dict[str, Any], messages: list[dict[str, Any]],
                 optional: dict[str, Any]) -> Any:
        """The answer as LiteLLM's ``ModelResponse``."""
        import httpx

        if self._request is None:
            self._request = httpx.Request("POST", self.url)
        raw = httpx.Response(status, headers=headers, content=content, request=self._request)
        from litellm.types.utils import ModelResponse

        return self.config.transform_response(
            model=self.name, raw_response=raw, model_response=ModelResponse(),
            logging_obj=_NO_LOGGING, request_data=request, messages=messages,
            optional_params=optional, litellm_params={}, encoding=None, api_key=self.api_key,
            json_mode=None)


_warned_fallback = False


def resolve_route(litellm: Any, model: ModelConfig, api_key: str | None) -> Route | None:
    """The model's direct route, or None when its provider stays on ``acompletion``.

    The route leans on LiteLLM internals (provider configs, their method signatures); if the
    installed LiteLLM does not have them as expected, calls go through ``acompletion`` (slower,
    same answers) with one warning, rather than failing.
    """
    global _warned_fallback
    if model.transport != "auto":
        return None
    try:
        name, provider, dynamic_key, api_base = litellm.get_llm_provider(
            model.model, api_base=model.api_base)
    except Exception:
        return None  # acompletion raises the same problem with LiteLLM's own message
    if provider not in DIRECT_PROVIDERS:
        return None
    if provider == "openai" and any(os.environ.get(e) for e in SDK_HEADER_ENVS):
        return None  # the OpenAI SDK under acompletion adds organisation/project headers
    try:
        return _build_route(litellm, name, provider, dynamic_key, api_base, api_key)
    except (ImportError, AttributeError, TypeError, KeyError) as exc:
        if not _warned_fallback:
            _warned_fallback = True
            import sys
            from importlib.metadata import version

            print(f"harness: warning: LiteLLM {version('litellm')} does not "
                  f"offer what the direct OpenAI route needs ({type(exc).__name__}: {exc}); "
                  "calls go through litellm.acompletion", file=sys.stderr)
        return None


def _build_route(litellm: Any, name: str, provider: str, dynamic_key: str | None,
                 api_base: str | None, api_key: str | None) -> Route | None:
    from litellm.llms.custom_httpx.http_handler import get_ssl_configuration  # noqa: F401
    from litellm.types.utils import LlmProviders, ModelResponse  # noqa: F401
    from litellm.utils import ProviderConfigManager

    config = ProviderConfigManager.get_provider_chat_config(
        model=name, provider=LlmProviders(provider))
    if config is None:
        return None
    envs, fallback = DEFAULT_BASES[provider]
    base = api_base or litellm.api_base or next(
        (os.environ[e] for e in envs if os.environ.get(e)), None) or fallback
    if not base:
        return None
    key = (api_key or dynamic_key or litellm.api_key
           or (litellm.openai_key if provider == "openai" else None)
           or os.environ.get(KEY_ENVS[provider]))
    url = config.get_complete_url(api_base=base, api_key=key, model=name, optional_params={},
                                  litellm_params={}, stream=False)
    headers = config.validate_environment(headers={}, model=name, messages=[],
                                          optional_params={}, litellm_params={}, api_key=key,
                                          api_base=base)
    route = Route(litellm=litellm, name=name, provider=provider, config=config, url=url,
                  headers={k: str(v) for k, v in headers.items()}, api_key=key,
                  supported=frozenset(config.get_supported_openai_params(name)),
                  proxy=proxy_for(url))
    route.body([{"role": "user", "content": "ping"}], {})  # the signature this module expects
    return route


def proxy_for(url: str) -> str | None:
    """The proxy the environment (``HTTPS_PROXY``, ``NO_PROXY``...) sets for ``url``.

    Looked up once per model: aiohttp's ``trust_env`` reads the environment and ``~/.netrc``
    again on every request, in a worker thread, which cost ~10% of a fast run's CPU.
    """
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or (parts.hostname and proxy_bypass(parts.hostname)):
        return None
    return proxy


def _ssl_setting() -> Any:
    """TLS as LiteLLM would set it up: its ``ssl_verify`` setting, ``SSL_VERIFY``,
    ``SSL_CERT_FILE``, else certifi's CA bundle (an SSL context, or False when turned off).

    Without LiteLLM imported (the direct route) and none of its TLS variables but
    ``SSL_CERT_FILE`` set, the context is built here: verified against the same CA bundle
    (``SSL_CERT_FILE`` or certifi's), TLS 1.2 or later. Anything else asks LiteLLM.
    """
    import sys

    tuned = ("SSL_VERIFY", "SSL_SECURITY_LEVEL", "SSL_ECDH_CURVE")
    if "litellm" in sys.modules or any(os.environ.get(name) for name in tuned):
        from harness.models._litellm import import_litellm

        import_litellm()
        from litellm.llms.custom_httpx.http_handler import get_ssl_configuration

        setting = get_ssl_configuration()
        return setting if setting is False or not isinstance(setting, (bool, str)) else True
    return _default_ssl_context()


def _default_ssl_context() -> Any:
    import ssl

    cafile = os.environ.get("SSL_CERT_FILE")
    if not cafile or not os.path.exists(cafile):
        import certifi

        cafile = certifi.where()
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Sessions:
    """One aiohttp session per event loop, closed by :meth:`aclose` before the loop ends.

    A session holds the connection pool; sharing one across the calls of a run is what makes
    keep-alive work. Sessions cannot cross event loops, and each ``harness.run`` has its own.
    """

    def __init__(self) -> None:
        # id(loop) -> (loop, session); holding the loop keeps its id from being reused.
        self._by_loop: dict[int, tuple[Any, Any]] = {}
        self._ssl: Any = None

    def ssl_for(self, url: str) -> Any:
        """The TLS setting of a request to ``url``: worked out on the first https request
        only (loading the CA bundle takes ~50 ms a plain-http run need not spend)."""
        if not url.startswith("https:"):
            return True  # aiohttp's default; unused without TLS
        if self._ssl is None:
            self._ssl = _ssl_setting()
        return self._ssl

    def get(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        held = self._by_loop.get(id(loop))
        if held is None or held[0] is not loop or held[1].closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            held = (loop, aiohttp.ClientSession(connector=connector))
            self._by_loop[id(loop)] = held
        return held[1]

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        held = self._by_loop.pop(id(loop), None)
        if held is not None:
            await held[1].close()


async def send(sessions: Sessions, url: str, headers: dict[str, str], proxy: str | None,
               body: dict[str, Any], timeout: float) -> tuple[int, Any, bytes]:
    """One POST: the status, headers and body of the answer; transport failures become
    retryable ``ModelCallError``s and a status of 400 or more a ``ModelCallError`` too."""
    import aiohttp

    try:
        async with sessions.get().post(
            url, data=json.dumps(body), headers=headers, proxy=proxy, ssl=sessions.ssl_for(url),
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as reply:
            content = await reply.read()
            status, reply_headers = reply.status, reply.headers
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        if isinstance(exc, asyncio.TimeoutError):
            kind, detail = "Timeout", f"no answer within {timeout:g} s (the model's timeout)"
        else:
            kind, detail = "APIConnectionError", str(exc).strip() or type(exc).__name__
        raise ModelCallError(f"{kind}: {detail}"[:500], retryable=True) from None
    if status >= 400:
        raise http_error(status, reply_headers, content)
    return status, reply_headers, content


async def post(sessions: Sessions, route: Route, messages: list[dict[str, Any]],
               optional: dict[str, Any], timeout: float) -> Any:
    """One call on the route, its answer read by LiteLLM's provider config."""
    body = route.body(messages, optional)
    status, headers, content = await send(sessions, route.url, route.headers, route.proxy, body,
                                          timeout)
    return read_response(route, status, headers, content, body, messages, optional)


def read_response(route: Route, status: int, headers: Any, content: bytes,
                  body: dict[str, Any], messages: list[dict[str, Any]],
                  optional: dict[str, Any]) -> Any:
    """The answer as LiteLLM's ``ModelResponse``; an unreadable one is not worth resending."""
    import httpx

    try:
        return route.response(status, httpx.Headers(list(headers.items())), content, body,
                              messages, optional)
    except Exception as exc:
        raise ModelCallError(f"APIError: unreadable answer: {first_line(exc)}"[:500],
                             retryable=False) from None


def http_error(status: int, headers: Any, content: bytes) -> ModelCallError:
    """A failed status as a ``ModelCallError``: named as LiteLLM names it, with the server's
    own message (``{"error": {"message": ...}}`` in the OpenAI format) and its Retry-After."""
    text = content.decode("utf-8", "replace").strip()
    try:
        error = json.loads(text).get("error")
        text = str((error.get("message") if isinstance(error, dict) else error) or text)
    except (ValueError, AttributeError):
        pass
    text = " ".join(text.split()) or f"HTTP {status}"
    return ModelCallError(f"{_error_name(status)}: {text}"[:500],
                          retryable=retryable_status(status),
                          retry_after=retry_after_from_headers(headers), status=status)


def _error_name(status: int) -> str:
    """The exception name LiteLLM's mapping gives the same status, so messages read alike."""
    names = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
             404: "NotFoundError", 408: "Timeout", 422: "UnprocessableEntityError",
             429: "RateLimitError", 503: "ServiceUnavailableError"}
    if status in names:
        return names[status]
    return "InternalServerError" if status >= 500 else "APIError"
