"""Every command has help text (a command without one fails here), and the
CLI starts without importing the heavy model libraries."""

from __future__ import annotations

import subprocess
import sys

import typer.main

from voicebot.cli import app


def _walk(command, path: tuple[str, ...] = ()):
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _walk(sub, path + (name,))


def test_every_command_has_help_text():
    root = typer.main.get_command(app)
    missing = [" ".join(path) or "voicebot" for path, cmd in _walk(root) if not (cmd.help or "").strip()]
    assert not missing, f"commands without help text: {missing}"
    names = [" ".join(path) for path, _ in _walk(root)]
    assert "transcribe" in names and "models list" in names


def test_every_option_has_help_text():
    root = typer.main.get_command(app)
    missing = []
    for path, cmd in _walk(root):
        for param in cmd.params:
            is_option = getattr(param, "param_type_name", "") == "option"
            if is_option and not param.hidden and not (getattr(param, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert not missing, f"options without help text: {missing}"


def test_help_runs_and_stays_light():
    code = ("import sys; from voicebot.cli import app; import typer.main; "
            "heavy = [m for m in ('torch', 'faster_whisper', 'whisper', 'pyannote', 'transformers', 'ctranslate2') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing the CLI pulled in heavy modules: {out.stdout}"
    result = subprocess.run([sys.executable, "-m", "voicebot", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "transcribe" in result.stdout
