"""What the model engines share with the code that calls them: the exception that says a model
cannot be used (not configured, not found, endpoint down, too slow, unusable answer). It is the
runtime's own, so a caller catches one exception whichever engine ran."""

from voicebot.llm.runtime import LLMUnavailable as EngineUnavailable

__all__ = ["EngineUnavailable"]
