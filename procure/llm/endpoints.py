"""Where a model is served: the OpenAI-compatible endpoint of its provider in the price table,
unless the user gives one. A request is never sent to a guessed endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from procure.errors import InputError
from procure.records.models import LlmPrice

OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com/v1"  # Anthropic's OpenAI SDK compatibility layer


@dataclass(frozen=True)
class Endpoint:
    provider: str
    url: str
    key_name: str  # the environment variable its API key is usually kept in


ENDPOINTS = {
    e.provider: e
    for e in (
        Endpoint("openai", OPENAI_URL, "OPENAI_API_KEY"),
        Endpoint("anthropic", ANTHROPIC_URL, "ANTHROPIC_API_KEY"),
    )
}


def provider_endpoint(provider: str) -> Endpoint | None:
    """The known endpoint of a provider (as the price table names it), else ``None``.

    >>> provider_endpoint("Anthropic").url
    'https://api.anthropic.com/v1'
    >>> provider_endpoint("") is None
    True
    """
    return ENDPOINTS.get(provider.strip().lower())


def normal_url(url: str) -> str:
    """An endpoint as procure stores and compares it: no surrounding spaces, no trailing slash
    (the OpenAI client adds its own).

    >>> normal_url(" https://api.anthropic.com/v1/ ")
    'https://api.anthropic.com/v1'
    """
    return url.strip().rstrip("/")


def hosted_endpoint(url: str) -> Endpoint | None:
    """The provider's endpoint ``url`` is (which needs an API key), else ``None`` (a local
    server)."""
    return next((e for e in ENDPOINTS.values() if e.url == normal_url(url)), None)


def base_url_for(base_url: str, price: LlmPrice) -> str:
    """``base_url`` when given, else the endpoint of the model's provider in the price table
    (``normal_url``); raises when there is neither."""
    if base_url.strip():
        return normal_url(base_url)
    known = provider_endpoint(price.provider)
    if known is None:
        named = (
            f"provider {price.provider.strip()!r}, whose endpoint procure does not know"
            if price.provider.strip()
            else "no provider"
        )
        raise InputError(
            f"the price table gives model {price.model!r} {named} (known: "
            f"{', '.join(sorted(ENDPOINTS))}); give the endpoint's URL, e.g. "
            "--base-url http://localhost:11434/v1 for a local server",
            field="endpoint",
        )
    return known.url
