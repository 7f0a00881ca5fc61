"""The ``openai`` engine: any OpenAI-compatible chat completions endpoint
(Ollama, llama.cpp server, vLLM, OpenAI...), set by ``minutes.openai_url``,
``minutes.openai_model``, ``minutes.openai_api_key`` and ``minutes.timeout``.

Only the HTTP exchange lives here; the prompt, the checks and the fallback are
in voicebot.minutes.llm. A problem reaching the endpoint raises
EngineUnavailable, which the caller turns into extractive minutes and a note.
"""

from __future__ import annotations

from typing import Callable

from voicebot.config import Settings
from voicebot.minutes.engine import EngineUnavailable


def endpoint(url: str) -> str:
    """``http://host:11434/v1`` -> ``http://host:11434/v1/chat/completions`` (a full URL is kept)."""
    url = url.strip().rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def generator(settings: Settings) -> tuple[str, Callable[[list[dict]], str]]:
    import httpx

    config = settings.minutes
    if not config.openai_url:
        raise EngineUnavailable("minutes.openai_url is not set (VOICEBOT_MINUTES_OPENAI_URL)")
    if not config.openai_model:
        raise EngineUnavailable("minutes.openai_model is not set (VOICEBOT_MINUTES_OPENAI_MODEL)")
    url = endpoint(config.openai_url)
    headers = {"Authorization": f"Bearer {config.openai_api_key}"} if config.openai_api_key else {}

    def generate(messages: list[dict]) -> str:
        body = {"model": config.openai_model, "messages": messages, "temperature": 0,
                "max_tokens": config.max_new_tokens, "stream": False}
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=config.timeout)
        except httpx.TimeoutException:
            raise EngineUnavailable(f"{url} did not answer within {config.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"cannot reach {url}: {exc}") from None
        if response.status_code >= 400:
            raise EngineUnavailable(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return str(response.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            raise EngineUnavailable(f"{url} did not answer with a chat completion") from None

    return f"{config.openai_model} ({url})", generate
