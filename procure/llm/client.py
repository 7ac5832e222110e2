"""One item through the OpenAI-compatible client: retries with backoff, the budget hold, the
re-ask of an answer outside the label set."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from procure.llm.prompts import Prompt, call_cost, parse_answer, response_format
from procure.records.models import (
    LlmPrice,
)

# --- secrets -----------------------------------------------------------------------------------

REDACTED = "[redacted]"
# What an endpoint's error may quote of a request's credentials.
CREDENTIALS = re.compile(
    r"(?i)(bearer\s+|authorization['\"]?\s*[:=]\s*['\"]?|api[-_]?key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"
    r"|\bsk-[A-Za-z0-9_-]{8,}"
)


def redact(text: str, *secrets: str) -> str:
    """``text`` without the given secrets or anything that looks like a credential (a bearer
    token, an ``sk-`` key, an ``api_key=`` value): error messages are kept in the journal and
    the records, which must never hold a key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return CREDENTIALS.sub(lambda m: (m.group(1) or "") + REDACTED, text)


def redact_url(url: str) -> str:
    """The URL without a password (``http://user:PASSWORD@host/v1`` -> ``http://user:***@host/v1``),
    as it is stored and shown; the request itself uses the URL as given."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit(parts._replace(netloc=user + host))


# --- one item ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    model: str
    base_url: str = ""
    api_key: str = ""
    concurrency: int = 4
    budget: Decimal | None = None
    max_retries: int = 4
    timeout: float = 60.0
    temperature: float = 0.0
    max_output_tokens: int = 50
    structured: bool = True
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    repeat: bool = False  # run again what a finished job labelled (a test-retest run)


@dataclass
class Outcome:
    item_id: str
    status: str  # "valid", "invalid" or "failed"
    label: str | None = None
    confidence: float | None = None
    problem: str | None = None
    answer: str | None = None  # an invalid item's last answer, as the endpoint sent it
    input_tokens: int = 0
    output_tokens: int = 0
    cost: str = "0"
    calls: int = 0
    retries: int = 0


MAX_ANSWER_CHARS = 2000  # of an invalid answer kept in the journal (max_tokens bounds it anyway)


class Cancelled(Exception):
    pass


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def label_item(
    client: Any,
    options: RunOptions,
    prompt: Prompt,
    price: LlmPrice,
    item: tuple[str, str],
    stop: threading.Event,
) -> Outcome:
    """Ask for one item's label: transient errors retried with backoff, an out-of-set answer
    asked once more, then recorded as invalid."""
    import openai

    item_id, text = item
    outcome = Outcome(item_id, "failed")
    cost = Decimal(0)
    transient = (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APITimeoutError,
        openai.APIConnectionError,
    )
    for _ask in range(2):
        for attempt in range(options.max_retries + 1):
            if stop.is_set():
                raise Cancelled
            try:
                kwargs: dict[str, Any] = {
                    "model": options.model,
                    "messages": prompt.messages(text),
                    "temperature": options.temperature,
                    "max_tokens": options.max_output_tokens,
                    "timeout": options.timeout,
                }
                if options.structured:
                    kwargs["response_format"] = response_format(prompt.labels)
                response = client.chat.completions.create(**kwargs)
                break
            except transient as exc:
                if attempt == options.max_retries:
                    outcome.problem = redact(f"{type(exc).__name__}: {exc}", options.api_key)[:300]
                    outcome.cost = str(cost)
                    return outcome
                outcome.retries += 1
                delay = _retry_after(exc) or options.backoff * 2**attempt
                if stop.wait(delay):
                    raise Cancelled from None
            except openai.APIStatusError as exc:  # 4xx other than 429: the request itself is wrong
                outcome.problem = redact(f"HTTP {exc.status_code}: {exc.message}", options.api_key)[
                    :300
                ]
                outcome.cost = str(cost)
                return outcome
        outcome.calls += 1
        usage = response.usage
        used_in = usage.prompt_tokens if usage else 0
        used_out = usage.completion_tokens if usage else 0
        outcome.input_tokens += used_in
        outcome.output_tokens += used_out
        cost += call_cost(price, used_in, used_out)
        content = response.choices[0].message.content if response.choices else None
        answer = parse_answer(content, prompt.labels)
        outcome.label, outcome.confidence, outcome.problem = (
            answer.label,
            answer.confidence,
            answer.problem,
        )
        if answer.label is not None:
            outcome.status, outcome.answer = "valid", None
            break
        outcome.status, outcome.answer = "invalid", (content or "")[:MAX_ANSWER_CHARS]
    outcome.cost = str(cost)
    return outcome
