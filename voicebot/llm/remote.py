"""A language model behind an OpenAI-compatible chat completions endpoint (Ollama, llama.cpp's
server, vLLM, OpenAI...), set by ``minutes.openai_url``, ``minutes.openai_model``,
``minutes.openai_api_key`` and ``minutes.timeout`` (seconds per request).

It answers the same ``chat()`` as the in-process model (voicebot.llm.runtime), so the minutes are
drafted by the same grounded prompts and checks whichever model runs them. A problem reaching the
endpoint raises LLMUnavailable with what to do.
"""

from __future__ import annotations

from voicebot.config import Settings
from voicebot.llm.runtime import Deadline, LLMUnavailable


def endpoint(url: str) -> str:
    """``http://host:11434/v1`` -> ``http://host:11434/v1/chat/completions`` (a full URL is kept)."""
    url = url.strip().rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


class RemoteModel:
    """A chat model served over HTTP; greedy (temperature 0) like the local one."""

    def __init__(self, url: str, model: str, *, api_key: str = "", timeout: float = 120.0,
                 max_tokens: int = 1024) -> None:
        self.url = endpoint(url)
        self.model = model
        self.name = f"{model} ({self.url})"
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def chat(self, messages: list[dict], *, max_tokens: int = 512, deadline: Deadline | None = None) -> str:
        import httpx

        timeout = self.timeout if deadline is None else min(self.timeout, deadline.left())
        if timeout <= 0:
            raise LLMUnavailable("its time limit was reached")
        body = {"model": self.model, "messages": messages, "temperature": 0,
                "max_tokens": min(max_tokens, self.max_tokens), "stream": False}
        try:
            response = httpx.post(self.url, json=body, headers=self._headers, timeout=timeout)
        except httpx.TimeoutException:
            raise LLMUnavailable(f"{self.url} did not answer within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"cannot reach {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise LLMUnavailable(f"{self.url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return str(response.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMUnavailable(f"{self.url} did not answer with a chat completion") from None


def open_model(settings: Settings) -> RemoteModel:
    config = settings.minutes
    if not config.openai_url:
        raise LLMUnavailable("minutes.openai_url is not set (VOICEBOT_MINUTES_OPENAI_URL)")
    if not config.openai_model:
        raise LLMUnavailable("minutes.openai_model is not set (VOICEBOT_MINUTES_OPENAI_MODEL)")
    return RemoteModel(config.openai_url, config.openai_model, api_key=config.openai_api_key,
                       timeout=config.timeout, max_tokens=config.max_new_tokens)
