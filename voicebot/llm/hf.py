"""A local causal language model run by Hugging Face transformers, set by ``minutes.model``: a model
directory, or a .gguf file (read with transformers' ``gguf_file=``, which de-quantizes it: slow to
load, then plain PyTorch). A bare name is looked for under the models folder.

It answers the same ``chat()`` as the llama.cpp model (voicebot.llm.runtime), greedily, so the same
grounded prompts and checks draft the minutes. Instruction-tuned models get their chat template; a
base model (no template) gets the messages as plain text and usually continues them rather than
answering, which the checks then reject.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from voicebot.config import Settings
from voicebot.llm.runtime import Deadline, LLMUnavailable, check


def model_path(settings: Settings) -> Path:
    value = settings.minutes.model.strip()
    if not value:
        raise LLMUnavailable("minutes.model is not set (a model directory or a .gguf file; "
                             "VOICEBOT_MINUTES_MODEL)")
    path = Path(value).expanduser()
    for candidate in (path, settings.models_dir / value):
        if candidate.exists():
            return candidate.resolve()
    raise LLMUnavailable(f"the model {value} was not found (looked at {path} and under {settings.models_dir})")


@lru_cache(maxsize=1)
def load(path: str):
    """(model, tokenizer) for a model directory or a .gguf file; kept for the next call."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = Path(path)
    try:
        if target.is_file():
            if target.suffix != ".gguf":
                raise LLMUnavailable(f"{target} is a file but not a .gguf model")
            tokenizer = AutoTokenizer.from_pretrained(str(target.parent), gguf_file=target.name)
            model = AutoModelForCausalLM.from_pretrained(str(target.parent), gguf_file=target.name,
                                                         dtype=torch.float32)
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(target))
            model = AutoModelForCausalLM.from_pretrained(str(target), dtype=torch.float32)
    except LLMUnavailable:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LLMUnavailable(f"cannot load {target}: {str(exc).splitlines()[0][:200]}") from None
    model.eval()
    return model, tokenizer


class TransformersModel:
    def __init__(self, path: Path, *, max_tokens: int = 1024) -> None:
        self.path = path
        self.name = path.name
        self.max_tokens = max_tokens
        self._model, self._tokenizer = load(str(path))

    def chat(self, messages: list[dict], *, max_tokens: int = 512, deadline: Deadline | None = None) -> str:
        import torch

        check(deadline)
        tokenizer = self._tokenizer
        templated = bool(getattr(tokenizer, "chat_template", None))
        if templated:
            prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            prompt = "\n\n".join(m["content"] for m in messages) + "\n\n"
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=not templated)
        options = {"max_time": deadline.left()} if deadline is not None else {}
        with torch.inference_mode():
            output = self._model.generate(**inputs, max_new_tokens=min(max_tokens, self.max_tokens),
                                          do_sample=False, **options,
                                          pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        check(deadline, writing=True)
        return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def open_model(settings: Settings) -> TransformersModel:
    return TransformersModel(model_path(settings), max_tokens=settings.minutes.max_new_tokens)
