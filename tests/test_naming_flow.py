"""A team's first meeting, end to end with real audio through the real pipeline: the bundled sample
meeting processed with no voice enrolled names its speakers from what they say, and David, who the
meeting says is on holiday, gets the "You missed" message (issue 16)."""

from __future__ import annotations

import pytest
from test_mail_delivery import SmtpServer
from test_pipeline_flow import SAMPLES, env_for, make_home, received_by, voicebot

from voicebot import recordings, schema

pytestmark = pytest.mark.slow


def test_first_meeting_names_its_speakers_and_tells_the_absent_without_any_voiceprint(tmp_path, models_dir):
    home = make_home(tmp_path / "home", models_dir)
    smtp = SmtpServer()
    smtp.start()
    try:
        env = env_for(home, VOICEBOT_SMTP_URL=smtp.url)
        done = voicebot(env, "process", str(SAMPLES / "meeting-en.flac"), "--ics", str(SAMPLES / "meeting-en.ics"))
        mailboxes = received_by(smtp)
    finally:
        smtp.stop()
    assert done.returncode == 0, done.stderr
    meeting_id = done.stdout.splitlines()[0].split(": ", 1)[1]
    directory = home / "recordings" / meeting_id

    naming = schema.read_json(directory / recordings.SPEAKERS)
    assert sorted(naming["present"]) == ["Alice", "Bob", "Carol"] and not naming["unnamed"], naming
    assert all(m["source"] == "conversation" and m["confidence"] >= 0.5 and m["reason"]
               for m in naming["labels"].values()), naming["labels"]
    assert naming["absent"] == ["David"] and naming["unknown"] == []
    assert "David cannot join us today" in naming["reasons"]["David"]
    transcript = schema.Transcript.from_dict(schema.read_json(directory / recordings.TRANSCRIPT))
    assert set(transcript.speakers) == {"Alice", "Bob", "Carol"}

    minutes = schema.Minutes.from_dict(schema.read_json(directory / recordings.MINUTES_JSON))
    assert sorted(minutes.present) == ["Alice", "Bob", "Carol"] and minutes.absent == ["David"]
    assert minutes.unknown == []
    kind = {rcpt: messages[0]["X-Voicebot-Kind"] for rcpt, messages in mailboxes.items()}
    assert kind == {"alice@example.org": "attendee", "bob@example.org": "attendee", "carol@example.org": "attendee",
                    "david@example.org": "absentee"}
    assert mailboxes["david@example.org"][0]["Subject"].startswith("You missed Website launch weekly meeting")
    assert "absent: David" in done.stdout
    assert "'you missed it' version sent to: david@example.org" in done.stdout
