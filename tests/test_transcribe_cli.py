"""`voicebot transcribe` as a user runs it: bad input gets one clear line and
a non-zero exit (no model is loaded for those), real audio gets real text."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import run_cli

LEOPARD_WORDS = {"consulat", "conservateur", "eaux", "forêts"}


def _bad_inputs(tmp_path, corpus):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("this is a text file renamed .wav\n")
    (tmp_path / "noise.flac").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "truncated.flac").write_bytes((corpus / "fr" / "leopard-fr.flac").read_bytes()[:300])
    (tmp_path / "folder").mkdir()
    return {
        "missing.wav": "no such file",
        "empty.wav": "is empty",
        "notes.wav": "not an audio file",
        "noise.flac": "no decodable audio",
        "truncated.flac": "corrupt",
        "folder": "is a directory",
    }


def test_bad_input_is_one_clear_line(tmp_path, corpus, home):
    for name, expected in _bad_inputs(tmp_path, corpus).items():
        result = run_cli("transcribe", str(tmp_path / name))
        assert result.returncode == 2, (name, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr, (name, result.stderr)


def test_unknown_format_and_engine_are_refused(corpus, home):
    result = run_cli("transcribe", str(corpus / "fr" / "leopard-fr.flac"), "--format", "docx")
    assert result.returncode == 2 and "unknown format" in result.stderr
    result = run_cli("transcribe", str(corpus / "fr" / "leopard-fr.flac"), "--engine", "vosk")
    assert result.returncode == 2 and "unknown engine" in result.stderr


@pytest.mark.slow
def test_transcribe_prints_the_french_sentence(corpus, home_with_models):
    result = run_cli("transcribe", str(corpus / "fr" / "leopard-fr.flac"))
    assert result.returncode == 0, result.stderr
    words = set(result.stdout.lower().replace(",", " ").replace(".", " ").split())
    assert LEOPARD_WORDS <= words, result.stdout


@pytest.mark.slow
def test_json_follows_the_transcript_contract(corpus, home_with_models, tmp_path):
    out = tmp_path / "t.json"
    result = run_cli("transcribe", str(corpus / "en" / "pyannote-sample.flac"), "-f", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert {"language", "duration", "model", "engine", "segments"} <= set(data)
    assert (data["language"], data["model"], data["engine"]) == ("en", "base", "faster-whisper")
    assert abs(data["duration"] - 30.0) < 0.1
    for seg in data["segments"]:
        assert {"start", "end", "speaker", "language", "text", "words"} <= set(seg)
        assert seg["words"] and 0 <= seg["start"] <= seg["end"] <= data["duration"]
        for word in seg["words"]:
            assert seg["start"] - 0.05 <= word["start"] <= word["end"] <= seg["end"] + 0.05
            assert 0 <= word["probability"] <= 1
    for fmt, marker in (("srt", "-->"), ("vtt", "WEBVTT")):
        result = run_cli("transcribe", str(corpus / "fr" / "leopard-fr.flac"), "-f", fmt)
        assert marker in result.stdout and "consulat" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("ext,args", [
    ("mp3", ["-b:a", "64k"]), ("m4a", ["-c:a", "aac"]), ("ogg", ["-c:a", "libvorbis"]),
    ("webm", ["-c:a", "libopus"]), ("wav", ["-ar", "44100", "-ac", "2"]), ("wav", ["-ar", "8000"]),
])
def test_any_audio_a_user_may_bring(ext, args, corpus, home_with_models, tmp_path):
    target = tmp_path / f"clip-{'-'.join(args)}.{ext}"
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(corpus / "fr" / "leopard-fr.flac"), *args,
                    str(target)], check=True)
    result = run_cli("transcribe", str(target))
    assert result.returncode == 0, result.stderr
    words = set(result.stdout.lower().replace(",", " ").replace(".", " ").split())
    assert len(LEOPARD_WORDS & words) >= 3, result.stdout
