"""Language models: which GGUF models voicebot knows and how to install them (``models``), the llama.cpp
runtime that runs one in-process with a deadline (``runtime``), and the same ``chat()`` over an
OpenAI-compatible endpoint (``remote``) or a transformers model (``hf``).

The minutes use them today; the prompts live with the feature that owns them (voicebot.minutes.grounded).
"""
