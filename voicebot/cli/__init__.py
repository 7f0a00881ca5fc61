"""The ``voicebot`` command: a thin layer that parses, calls the library and
prints. Each module below adds its commands to the root app."""

from voicebot.cli.app import app, run
# in the order `voicebot --help` lists them: the meeting's life first, then each stage alone, then the rest
from voicebot.cli import record, pipeline, transcribe, diarize, minutes, archive, mail, web, models  # noqa: F401,E402,I001

__all__ = ["app", "main"]


def main() -> None:
    run()
