"""The audio path in English: samples/meeting-en.flac through real Whisper base (the ASR
stage), speakers taken from the reference RTTM (diarization is its own stage, tested on its
own), then the minutes: every expected decision and action item, right owner and due date,
nothing else."""

from __future__ import annotations

import pytest
from minutes_helpers import SAMPLES, sample

from bench.minutes_score import label_from_reference, score
from voicebot import schema
from voicebot.config import load_settings
from voicebot.minutes import draft

pytestmark = pytest.mark.slow


def test_minutes_from_the_english_sample_audio(home_with_models):
    from voicebot.asr import transcribe

    _, meeting, expected = sample("en")
    settings = load_settings()
    transcript = transcribe(SAMPLES / "meeting-en.flac", settings, language="en")
    transcript.date = expected.date
    label_from_reference(transcript, schema.turns_from_rttm((SAMPLES / "meeting-en.rttm").read_text()))
    minutes = draft(transcript, settings, meeting=meeting)
    result = score(minutes, expected)
    assert result["precision"] == 1.0 and result["recall"] == 1.0, (result, transcript.text)
    assert minutes.absent == ["David"] and minutes.next_meeting == expected.next_meeting
