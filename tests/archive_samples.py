"""Meetings, transcripts and minutes the archive tests store: French and English
sentences as Whisper writes them, with speakers, word timings and dates."""

from __future__ import annotations

from pathlib import Path

from voicebot import recordings, schema
from voicebot.archive import OutboxMessage


def make_transcript(lines: list[tuple[str | None, str]], *, language: str = "fr", start: float = 0.0,
                    step: float = 6.0, title: str | None = None) -> schema.Transcript:
    """One segment per (speaker, text), ``step`` seconds each, with word timings."""
    segments = []
    t = start
    for speaker, text in lines:
        words, w = [], t
        per_word = (step - 0.5) / max(1, len(text.split()))
        for word in text.split():
            words.append(schema.Word(w, w + per_word * 0.9, " " + word, 0.91))
            w += per_word
        segments.append(schema.Segment(t, t + step - 0.5, text, words=words, speaker=speaker, language=language))
        t += step
    return schema.Transcript(language=language, duration=t, model="base", engine="faster-whisper",
                             segments=segments, title=title)


def make_meeting(meeting_id: str, title: str, started_at: str, invitees: list[schema.Person] | None = None
                 ) -> schema.Meeting:
    return schema.Meeting(id=meeting_id, title=title, started_at=started_at, invitees=invitees or [],
                          status="recorded")


WEEKLY_FR = [
    ("Zoé Martin", "Bonjour à tous, on commence la réunion hebdomadaire."),
    ("Karim Benali", "Le budget du projet Hélios doit être validé avant vendredi."),
    ("Zoé Martin", "D'accord, je prépare le plan de charge pour l'équipe."),
    ("Karim Benali", "Il faudra aussi relancer le fournisseur pour le devis."),
    ("Lucie Ferrand", "Je m'occupe du devis, je l'envoie demain matin."),
    ("Zoé Martin", "Parfait, la prochaine réunion aura lieu mardi."),
]

PLANNING_EN = [
    ("Alice Walker", "Good morning everyone, let's review the quarterly roadmap."),
    ("Bob Stone", "The budget review slipped to next week because finance is late."),
    ("Alice Walker", "Then we move the launch date, and Bob drafts the announcement."),
    ("Chen Wei", "I can take the customer interviews and report on Thursday."),
    ("Bob Stone", "Great, I will send the meeting notes to the whole team."),
]


def store_meeting(db, home: Path, meeting_id: str, title: str, started_at: str,
                  lines: list[tuple[str | None, str]], *, language: str = "fr",
                  invitees: list[schema.Person] | None = None, files: bool = True) -> schema.Transcript:
    """A meeting as the pipeline leaves it: folder with meeting.json, audio and transcript, and rows."""
    meeting = make_meeting(meeting_id, title, started_at, invitees)
    directory = home / "recordings" / meeting_id
    transcript = make_transcript(lines, language=language, title=title)
    if files:
        recordings.save_meeting(directory, meeting)
        (directory / recordings.TRANSCRIPT).write_text(schema.dumps(transcript), encoding="utf-8")
        write_audio(directory / recordings.AUDIO, seconds=2.0)
    db.save_meeting(meeting, directory=directory)
    db.save_transcript(meeting_id, transcript)
    return transcript


def write_audio(path: Path, seconds: float) -> None:
    """A real FLAC file (a tone with noise), as the recorder writes them."""
    import numpy as np
    import soundfile

    t = np.arange(int(16000 * seconds)) / 16000
    rng = np.random.default_rng(7)
    samples = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)).astype("float32")
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, 16000, format="FLAC")


def minutes_for(title: str, date: str, present: list[str], summary: str, owner: str | None = None
                ) -> schema.Minutes:
    items = [schema.ActionItem(owner=owner, task="Envoyer le devis", due=date, source_start=24.0,
                               source_end=29.5)] if owner else []
    return schema.Minutes(title=title, date=date, duration=36.0, language="fr", present=present,
                          talk_time={p: 12.0 for p in present}, summary=summary, action_items=items)


def message(meeting_id: str | None, recipient: str, n: int, body: str = "Bonjour", kind: str = "attendee",
            subject: str = "Compte rendu") -> OutboxMessage:
    message_id = f"<{meeting_id or 'admin'}.{n}@voicebot.test>"
    raw = (f"From: voicebot@localhost\r\nTo: {recipient}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    return OutboxMessage(meeting_id=meeting_id, recipient=recipient, kind=kind, message_id=message_id,
                         subject=subject, raw=raw)
