"""The ``transformers`` engine: a local causal language model, set by
``minutes.model``: a Hugging Face model directory, or a .gguf file (read with
transformers' ``gguf_file=``, which de-quantizes it: slow to load, then plain
PyTorch). A bare name is looked for under the models folder.

Generation is greedy (deterministic). Instruction-tuned models get their chat
template; a base model (no template) gets the prompt as plain text and usually
continues it rather than answering, which the support check then rejects.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

from voicebot.config import Settings
from voicebot.minutes.engine import EngineUnavailable


def model_path(settings: Settings) -> Path:
    value = settings.minutes.model.strip()
    if not value:
        raise EngineUnavailable("minutes.model is not set (a model directory or a .gguf file; "
                                "VOICEBOT_MINUTES_MODEL)")
    path = Path(value).expanduser()
    for candidate in (path, settings.models_dir / value):
        if candidate.exists():
            return candidate.resolve()
    raise EngineUnavailable(f"the model {value} was not found (looked at {path} and under {settings.models_dir})")


@lru_cache(maxsize=1)
def load(path: str):
    """(model, tokenizer) for a model directory or a .gguf file; kept for the next call."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = Path(path)
    try:
        if target.is_file():
            if target.suffix != ".gguf":
                raise EngineUnavailable(f"{target} is a file but not a .gguf model")
            tokenizer = AutoTokenizer.from_pretrained(str(target.parent), gguf_file=target.name)
            model = AutoModelForCausalLM.from_pretrained(str(target.parent), gguf_file=target.name,
                                                         dtype=torch.float32)
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(target))
            model = AutoModelForCausalLM.from_pretrained(str(target), dtype=torch.float32)
    except EngineUnavailable:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise EngineUnavailable(f"cannot load {target}: {str(exc).splitlines()[0][:200]}") from None
    model.eval()
    return model, tokenizer


def generator(settings: Settings) -> tuple[str, Callable[[list[dict]], str]]:
    path = model_path(settings)
    model, tokenizer = load(str(path))
    max_new_tokens = settings.minutes.max_new_tokens

    def generate(messages: list[dict]) -> str:
        import torch

        if getattr(tokenizer, "chat_template", None):
            prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            prompt = "\n\n".join(m["content"] for m in messages) + "\n\nJSON:\n"
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=not getattr(tokenizer, "chat_template", None))
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)

    return path.name, generate
