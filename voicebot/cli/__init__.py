"""The ``voicebot`` command: a thin layer that parses, calls the library and
prints. Each module below adds its commands to the root app."""

from voicebot.cli.app import app, run
from voicebot.cli import archive, diarize, mail, minutes, models, pipeline, record, transcribe, web  # noqa: F401,E402  (each module registers its commands)

__all__ = ["app", "main"]


def main() -> None:
    run()
