"""The local language model runtime: a GGUF model run in-process by llama.cpp (llama-cpp-python).

One small interface for every feature that asks a model something (the minutes today; naming
evidence and "ask" use the same): ``open_model(settings)`` gives a ``LocalModel`` whose ``chat()``
takes chat messages and returns the answer's text, within a deadline, optionally constrained to a
JSON schema (llama.cpp turns the schema into a grammar, so the answer always parses).

In-process rather than llama.cpp's OpenAI-compatible server: no port, no second process to start,
supervise and secure, and the model stays loaded (memory-mapped) between calls of one run. Users who
already run a model server (Ollama, llama.cpp server, vLLM) use the ``openai`` minutes engine instead
(voicebot.llm.remote), and a transformers model the ``transformers`` one (voicebot.llm.hf): both answer
the same ``chat()`` (``ChatModel``), so every feature's prompts and checks run unchanged on them.

Whatever goes wrong (the binding missing, no model, a damaged file, a deadline passed) raises
``LLMUnavailable`` with a sentence a user can act on; callers fall back and say so.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from voicebot.config import Settings
from voicebot.errors import ModelError
from voicebot.llm import models


class LLMUnavailable(Exception):
    """The model cannot be used: not installed, cannot load, or too slow (deadline passed)."""


@dataclass(frozen=True)
class Deadline:
    """A point in time (time.monotonic) that model calls must not run past."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def left(self) -> float:
        return self.at - time.monotonic()


def check(deadline: Deadline | None, *, writing: bool = False) -> None:
    """LLMUnavailable once ``deadline`` has passed (before a call, or while the model is writing)."""
    if deadline is not None and deadline.left() <= 0:
        raise LLMUnavailable("its time limit was reached" + (" while it was writing" if writing else ""))


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads(setting: int) -> tuple[int, int]:
    """(threads writing the answer, threads reading the prompt).

    Reading a prompt is one big batch: every core helps. Writing is one token at a time, and llama.cpp's
    threads wait for each other at every token: on a 2-core laptop where anything else runs (the recorder,
    Whisper, a browser), 2 writing threads ran at 1.9 tokens/s against 11.2 for one thread (measured
    here, same model, same prompt). So by default half the cores write, all of them read."""
    if setting > 0:
        return setting, setting
    return max(1, cores() // 2), cores()


_LOCK = threading.Lock()  # one generation at a time per process: llama.cpp contexts are not thread-safe


@lru_cache(maxsize=1)
def _load(path: str, context: int, n_threads: tuple[int, int]) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise LLMUnavailable("llama-cpp-python is not installed (pip install 'voicebot[llm]'; see the README "
                             "for the CPU build flags)") from None
    try:
        return Llama(model_path=path, n_ctx=context, n_threads=n_threads[0], n_threads_batch=n_threads[1],
                     n_batch=512, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMUnavailable(f"llama.cpp cannot load {path}: {str(exc).splitlines()[0][:200]}") from None


@dataclass(frozen=True)
class Call:
    """What one chat cost: the pieces of answer written, the seconds to the first one (reading the prompt,
    less what llama.cpp reused from the previous call), and in all."""

    answer_pieces: int
    first_piece_seconds: float
    seconds: float


class ChatModel(Protocol):
    """What a feature needs from a model, wherever it runs: a name to tell users, and greedy answers."""

    name: str

    def chat(self, messages: list[dict], *, max_tokens: int = 512, deadline: Deadline | None = None) -> str:
        """The answer's text; LLMUnavailable once ``deadline`` has passed or the model cannot answer."""
        ...


class LocalModel:
    """A loaded GGUF chat model."""

    def __init__(self, path: Path, *, context: int, n_threads: tuple[int, int]) -> None:
        self.path = path
        self.name = path.stem
        self.context = context
        self._llama = _load(str(path), context, n_threads)
        self.calls: list[Call] = []  # for benchmarks and logs

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def chat(self, messages: list[dict], *, max_tokens: int = 512, schema: dict | None = None,
             deadline: Deadline | None = None) -> str:
        """The model's answer to ``messages`` (greedy, so the same input gives the same answer).

        With ``schema`` the answer is JSON of that schema. Stops early, raising LLMUnavailable, once
        ``deadline`` has passed; a prompt that cannot fit the context raises LLMUnavailable too."""
        check(deadline)
        options: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.0, "top_k": 1, "stream": True}
        if schema is not None:
            options["response_format"] = {"type": "json_object", "schema": schema}
        pieces: list[str] = []
        started = time.monotonic()
        first = None
        with _LOCK:
            try:
                for chunk in self._llama.create_chat_completion(messages=messages, **options):
                    first = first or time.monotonic()
                    delta = chunk["choices"][0].get("delta", {})
                    pieces.append(delta.get("content") or "")
                    check(deadline, writing=True)
            except ValueError as exc:  # llama.cpp: "Requested tokens (N) exceed context window of M"
                raise LLMUnavailable(f"the prompt does not fit the model's context: {exc}") from None
        ended = time.monotonic()
        self.calls.append(Call(len(pieces), (first or ended) - started, ended - started))
        return "".join(pieces)

    def chat_json(self, messages: list[dict], schema: dict, **options: Any) -> dict:
        """``chat`` constrained to ``schema``, parsed; LLMUnavailable if the answer is not a JSON object."""
        answer = self.chat(messages, schema=schema, **options)
        try:
            data = json.loads(answer)
        except json.JSONDecodeError:
            raise LLMUnavailable(f"its answer is not JSON: {answer[:80]!r}") from None
        if not isinstance(data, dict):
            raise LLMUnavailable("its answer is not a JSON object")
        return data


def model_path(settings: Settings) -> Path:
    """The configured model's file; LLMUnavailable saying how to install it when it is missing."""
    try:
        return models.resolve(settings.llm.model, settings.models_dir)
    except ModelError as exc:
        raise LLMUnavailable(str(exc)) from None


def installed(settings: Settings) -> bool:
    """True when a model and the runtime are both there (what ``auto`` engines check; loads nothing)."""
    import importlib.util

    try:
        model_path(settings)
    except LLMUnavailable:
        return False
    return importlib.util.find_spec("llama_cpp") is not None


def open_model(settings: Settings) -> LocalModel:
    """The configured local model, loaded once per process and kept for the next call."""
    return _open(model_path(settings), settings.llm.context, threads(settings.llm.threads))


@lru_cache(maxsize=1)
def _open(path: Path, context: int, n_threads: tuple[int, int]) -> LocalModel:
    return LocalModel(path, context=context, n_threads=n_threads)
