"""Local language models: which GGUF models voicebot knows and how to install them (``models``), and the
llama.cpp runtime that runs one in-process with a deadline and JSON-schema answers (``runtime``).

The minutes use it today; the prompts live with the feature that owns them (voicebot.minutes.grounded).
"""
