"""The root Typer app and what every command shares: settings, consoles,
progress bars, and turning a UserError into one line and an exit code."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import typer
from rich.console import Console

from voicebot import __version__
from voicebot.config import Settings, load_settings

app = typer.Typer(
    name="voicebot",
    help="Local meeting bot: record, transcribe, tell who spoke, draft minutes, email them, search the archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"voicebot {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Local meeting bot: record, transcribe, tell who spoke, draft minutes, email them, search the archive."""


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


def sub_app(name: str, help: str) -> typer.Typer:
    """A command group (``voicebot models ...``) attached to the root app."""
    group = typer.Typer(help=help, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
    app.add_typer(group, name=name)
    return group


@contextmanager
def progress_bar(description: str, total: float | None, unit: str = "s") -> Iterator:
    """A Rich progress bar on a terminal; silent when stderr is not a TTY.

    Yields ``update(completed)`` taking the absolute amount done."""
    if not err_console.is_terminal:
        yield lambda completed: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed:.0f}/{task.total:.0f} " + unit), TimeRemainingColumn()]
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda completed: progress.update(task, completed=completed)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


PRIVATE_UMASK = 0o077  # what voicebot writes is its user's alone: folders 0700, files 0600


def run() -> None:
    """Run the CLI; a UserError becomes one line on stderr and a non-zero exit code, and so does any
    other error (a bug: ``VOICEBOT_DEBUG=1`` shows its traceback)."""
    from voicebot.errors import UserError

    os.umask(PRIVATE_UMASK)
    try:
        app()
    except UserError as exc:
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(" ".join(str(exc).split()), markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 -- never a traceback for a user; one line saying what broke
        if os.environ.get("VOICEBOT_DEBUG"):
            raise
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]} (this is a bug; "
                          "VOICEBOT_DEBUG=1 shows where)", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
