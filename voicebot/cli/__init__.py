"""The ``voicebot`` command: a thin layer that parses, calls the library and
prints. Each module below adds its commands to the root app."""

from voicebot.cli.app import app, run
# command modules are imported below as they land

__all__ = ["app", "main"]


def main() -> None:
    run()
