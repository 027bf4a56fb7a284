"""The redaction rules on their own: what counts as a secret, and what is left alone."""

from __future__ import annotations

import pytest

from harness.redaction import REDACTED, credential_env, credential_name, redact, redact_data


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "AZURE_AD_TOKEN", "AWS_SECRET_ACCESS_KEY",
                                  "AWS_ACCESS_KEY_ID", "WATSONX_APIKEY", "REDIS_PASSWORD",
                                  "VERTEXAI_CREDENTIALS", "MY_GATEWAY_TOKEN", "HF_TOKEN"])
def test_credential_variables_are_known_by_name(name: str) -> None:
    assert credential_env(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "AZURE_API_BASE", "OPENAI_BASE_URL",
                                  "AWS_WEB_IDENTITY_TOKEN_FILE", "LITELLM_LOG"])
def test_other_variables_are_not(name: str) -> None:
    assert not credential_env(name)


def test_every_credential_variable_value_is_blanked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOMEPROVIDER_API_KEY", "abc-some-provider-998877")
    monkeypatch.setenv("SHORT_TOKEN", "abc1")  # too short to be told from ordinary text
    text = "401: key abc-some-provider-998877 rejected; abc1 is fine"
    assert redact(text) == f"401: key {REDACTED} rejected; abc1 is fine"
    assert REDACTED in redact('{"m": "abc-some-provider-998877"}')


def test_urls_and_auth_headers_by_shape() -> None:
    text = ("GET https://bob:hunter2hunter2@api.example.com/v1?alt=json&key=AIzaQQQQ1234 "
            "Authorization: Bearer sk-abcdef0123456789 and Basic arithmetic")
    out = redact(text, [])
    assert "hunter2hunter2" not in out and "AIzaQQQQ1234" not in out
    assert "sk-abcdef0123456789" not in out
    assert "alt=json" in out and "Basic arithmetic" in out  # not a credential


def test_credential_named_entries_are_blanked_whole() -> None:
    data = {"params": {"extra_headers": {"X-Api-Key": "k-12345678", "X-Team": "evals"},
                       "max_tokens": 32},
            "api_key_env": "MY_KEY_VARIABLE"}
    out = redact_data(data, [])
    assert out["params"]["extra_headers"] == {"X-Api-Key": REDACTED, "X-Team": "evals"}
    assert out["params"]["max_tokens"] == 32
    assert out["api_key_env"] == "MY_KEY_VARIABLE"  # a variable's name is not a secret
    hashes = {"cache_key": "3f2a9c0d1e7b", "config_hash": "9d8e7f6a5b4c"}
    assert redact_data(hashes, []) == hashes  # hashes others read back must survive


@pytest.mark.parametrize("name", ["api_key", "apiKey", "x-api-key", "Authorization",
                                  "access_token", "x-goog-api-key", "client_secret", "api-key",
                                  "Ocp-Apim-Subscription-Key", "x-auth-token", "private_key"])
def test_credential_names(name: str) -> None:
    assert credential_name(name)


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens", "top_k", "model",
                                  "X-Team", "api_key_env", "cache_key", "sample_key", "key",
                                  "eos_token", "pad_token", "config_hash"])
def test_not_credential_names(name: str) -> None:
    assert not credential_name(name)


def test_known_key_formats_and_json_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy_key = "sk-proj-" + "Ab1" * 10
    assert redact(f"proxy said: bad key {proxy_key}.", []) == f"proxy said: bad key {REDACTED}."
    monkeypatch.setenv("VERTEXAI_CREDENTIALS",
                       '{"type": "service_account", "private_key": "-----BEGIN abc123xyz"}')
    assert redact("key -----BEGIN abc123xyz leaked") == f"key {REDACTED} leaked"


def test_a_credential_shaped_header_under_any_name_is_refused() -> None:
    from harness.config.experiment import _key_in

    assert _key_in({"extra_headers": {"X-Custom": "Bearer abcdef0123456789"}})
    assert _key_in({"extra_headers": {"X-Custom": "sk-ant-" + "x1" * 12}})
    assert not _key_in({"extra_headers": {"X-Team": "evals"}, "stop": ["\n\n"]})
