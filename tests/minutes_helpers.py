"""Loading the sample meetings for the minutes tests: transcript, meeting (invite list from
the sample's .ics, read by voicebot.invites), expected minutes."""

from __future__ import annotations

from pathlib import Path

from voicebot import schema
from voicebot.invites import read_ics

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample(lang: str) -> tuple[schema.Transcript, schema.Meeting, schema.Minutes]:
    transcript = schema.Transcript.from_dict(schema.read_json(SAMPLES / f"meeting-{lang}.transcript.json"))
    invitation = read_ics(SAMPLES / f"meeting-{lang}.ics")
    meeting = schema.Meeting(id=f"20260312-093000-sample-{lang}", title=invitation.title,
                             started_at=invitation.start.isoformat(), invitees=invitation.people, status="imported")
    expected = schema.Minutes.from_dict(schema.read_json(SAMPLES / f"meeting-{lang}.expected.json"))
    return transcript, meeting, expected


def transcript_of(turns: list[tuple[str | None, str]], *, language: str = "en", date: str = "2026-03-12",
                  seconds_per_turn: float = 4.0, languages: list[str] | None = None) -> schema.Transcript:
    """A transcript from (speaker, text) turns, one segment each, evenly spaced."""
    segments = []
    for i, (speaker, text) in enumerate(turns):
        start = i * (seconds_per_turn + 0.5)
        lang = languages[i] if languages else language
        segments.append(schema.Segment(start=start, end=start + seconds_per_turn, text=text, speaker=speaker,
                                       language=lang))
    duration = segments[-1].end + 0.5 if segments else 0.0
    return schema.Transcript(language=language, duration=duration, model="test", engine="test",
                             segments=segments, date=date)
