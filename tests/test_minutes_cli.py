"""`voicebot minutes` as a user runs it: a transcript file or a meeting id, md or json,
--date/--title/-o, and one clear line for bad input."""

from __future__ import annotations

import json
import shutil

from conftest import run_cli
from minutes_helpers import SAMPLES, sample

from voicebot import recordings, schema


def test_minutes_of_a_transcript_file(home, tmp_path):
    result = run_cli("minutes", str(SAMPLES / "meeting-fr.transcript.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Préparation du salon de Lyon")
    assert "| Julien | Envoyer le bon de commande à Expo Plus | ven. 13 mars 2026 |" in result.stdout
    out = tmp_path / "m.json"
    result = run_cli("minutes", str(SAMPLES / "meeting-en.transcript.json"), "--format", "json", "--date",
                     "2026-03-19", "--title", "Launch review", "-o", str(out))
    assert result.returncode == 0, result.stderr
    minutes = schema.Minutes.from_dict(json.loads(out.read_text()))
    assert minutes.title == "Launch review" and minutes.date == "2026-03-19"
    assert ("Bob", "2026-03-24") in [(a.owner, a.due) for a in minutes.action_items]


def test_minutes_of_a_meeting_id_writes_its_artifacts(home):
    transcript, meeting, expected = sample("en")
    directory = home / "recordings" / meeting.id
    directory.mkdir(parents=True)
    recordings.save_meeting(directory, meeting)
    # Diarization labels, named by the speaker-naming stage.
    labels = {"Alice": "SPEAKER_00", "Bob": "SPEAKER_01", "Carol": "SPEAKER_02"}
    for seg in transcript.segments:
        seg.speaker = labels[seg.speaker]
    (directory / recordings.TRANSCRIPT).write_text(schema.dumps(transcript))
    speakers = {"labels": {label: {"name": name, "email": f"{name.lower()}@example.org", "score": 0.9}
                           for name, label in labels.items()}, "present": ["Alice", "Bob", "Carol"]}
    (directory / recordings.SPEAKERS).write_text(json.dumps(speakers))
    result = run_cli("minutes", meeting.id, "--format", "json")
    assert result.returncode == 0, result.stderr
    minutes = schema.Minutes.from_dict(json.loads(result.stdout))
    assert minutes.absent == ["David"] and minutes.present == ["Alice", "Bob", "Carol"]
    saved = schema.Minutes.from_dict(schema.read_json(directory / recordings.MINUTES_JSON))
    assert saved.to_dict() == minutes.to_dict()
    assert (directory / recordings.MINUTES_MD).read_text().startswith("# Website launch weekly meeting")


def test_bad_input_gives_one_clear_line(home, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    notes = tmp_path / "notes.json"
    notes.write_text('{"title": "x"}')
    cases = [
        (["minutes", str(tmp_path / "missing.json")], "does not exist"),
        (["minutes", str(bad)], "is not valid JSON"),
        (["minutes", str(notes)], "is not a transcript"),
        (["minutes", str(tmp_path)], "is a directory"),
        (["minutes", str(SAMPLES / "meeting-en.transcript.json"), "--engine", "gpt"], "unknown minutes engine"),
        (["minutes", str(SAMPLES / "meeting-en.transcript.json"), "--format", "pdf"], "unknown format"),
        (["minutes", str(SAMPLES / "meeting-en.transcript.json"), "--date", "12/03/2026"], "YYYY-MM-DD"),
        (["minutes", "20260312-093000-nothing-here-0000"], "no meeting"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_meeting_without_transcript_says_what_to_run(home):
    _, meeting, _ = sample("en")
    directory = home / "recordings" / meeting.id
    recordings.save_meeting(directory, meeting)
    result = run_cli("minutes", meeting.id)
    assert result.returncode == 2 and "voicebot transcribe" in result.stderr
    shutil.rmtree(directory)
