"""`voicebot transcribe AUDIO`: speech to text, with word timestamps."""

from __future__ import annotations

from pathlib import Path

import typer

from voicebot.cli.app import app, console, err_console, progress_bar, settings


@app.command()
def transcribe(
    audio: Path = typer.Argument(..., help="Audio file: wav, flac, mp3, m4a, ogg, webm... any rate, any channels."),
    model: str = typer.Option("", "--model", "-m", help="Model name (base, tiny.en, small...) or a CTranslate2 directory. Default: the setting asr.model (base)."),
    engine: str = typer.Option("", "--engine", "-e", help="faster-whisper (default) or openai-whisper (same weights, converted)."),
    language: str = typer.Option("", "--language", "-l", help="Force a language (fr, en...). Default: detected per chunk, so mixed meetings work."),
    fmt: str = typer.Option("txt", "--format", "-f", help="Output format: txt, json, srt or vtt."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
    initial_prompt: str = typer.Option(None, "--initial-prompt", help="Text that primes the vocabulary (names, jargon)."),
    hotwords: str = typer.Option(None, "--hotwords", help="Names and terms to favour, e.g. 'Nguyen, Kubernetes, devis'."),
) -> None:
    """Transcribe an audio file (Whisper; silence and noise are skipped, languages detected per chunk)."""
    from voicebot import formats
    from voicebot.asr import load_engine
    from voicebot.asr import transcribe as run
    from voicebot.audio import SAMPLE_RATE, load_audio
    from voicebot.errors import UserError

    if fmt not in formats.FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(formats.FORMATS)}")
    samples = load_audio(audio)  # bad audio fails here, before a model is loaded
    s = settings()
    loaded = load_engine(s, engine=engine or None, model=model or None)
    with progress_bar(f"transcribing {audio.name}", total=len(samples) / SAMPLE_RATE) as update:
        transcript = run(samples, s, language=language or None, engine=loaded, initial_prompt=initial_prompt,
                         hotwords=hotwords, progress=lambda done, total: update(done))
    text = formats.render(transcript, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"written: {output} ({len(transcript.segments)} segments, language {transcript.language or '-'})")
    else:
        console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
