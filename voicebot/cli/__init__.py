"""The ``voicebot`` command: a thin layer that parses, calls the library and
prints. Each module below adds its commands to the root app."""

# in the order `voicebot --help` lists them: the meeting's life first, then each stage alone, then the rest
from voicebot.cli import archive, ask, diarize, mail, minutes, models, pipeline, record, team, transcribe, web  # noqa: F401,E402,I001
from voicebot.cli.app import app, run

__all__ = ["app", "main"]


def main() -> None:
    run()
