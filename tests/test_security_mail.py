"""Nobody is mailed who should not be, nor twice (issue 17).

Before: `--invite '"Mallory\\r\\nBcc: x@y.z" <m@example.org>'` mailed the minutes to x@y.z and never to
m@example.org; `alice@exa mple.org` silently became alice@example.org; an .ics with 5,000 attendees
queued 5,000 emails without a question and a 101 MB .ics was read whole; the same audio processed
twice (or twice at once) made two meetings and mailed every invitee twice.
(test_security_params.py runs the same through the command line.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from web_helpers import SAMPLES

from tests.conftest import run_cli
from voicebot.errors import UserError
from voicebot.mail.addresses import AddressError, strict_mailbox

CALENDAR = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:All hands\r\nDTSTART:20260312T093000Z\r\n{people}END:VEVENT\r\n" \
           "END:VCALENDAR\r\n"


@pytest.mark.parametrize("text", ['"Mallory\r\nBcc: x@y.z" <m@example.org>', "alice@exa mple.org",
                                  "<a@x.org> b@y.org", "a@x.org b@y.org", "Mallory <m@example.org", "m@@example.org",
                                  "=?utf-8?q?x?= <m@example.org>\nBcc: y@z.org", "m@example.org\x00", "@example.org"])
def test_an_address_that_does_not_parse_is_refused_never_rewritten(text):
    from voicebot.invites import parse_addresses

    with pytest.raises(AddressError):
        strict_mailbox(text)
    with pytest.raises(UserError) as refused:
        parse_addresses(text)
    assert "\n" not in str(refused.value) and "\r" not in str(refused.value)  # one line, the input shown escaped


def test_good_addresses_keep_their_recipient():
    from voicebot.invites import parse_addresses

    assert strict_mailbox("Jean Dupont <jd@EXAMPLE.org>") == ("Jean Dupont", "jd@example.org")
    assert strict_mailbox('"Dupont, Jean" <Jean.Dupont@example.org>') == ("Dupont, Jean", "Jean.Dupont@example.org")
    assert strict_mailbox("zoé@exämple.org") == ("", "zoé@exämple.org")
    with pytest.raises(AddressError):  # one mailbox, not a list (--invite splits lists on , and ; first)
        strict_mailbox("a@x.org, b@y.org")
    people = parse_addresses('Mallory <m@example.org>; "Dupont, Jean" <jd@example.org>, Alice')
    assert [(p.name, p.email) for p in people] == [("Mallory", "m@example.org"), ("Dupont, Jean", "jd@example.org"),
                                                   ("Alice", None)]


def test_invite_lists_and_calendar_files_have_limits(tmp_path):
    from voicebot.invites import MAX_INVITEES, collect, read_ics

    crowd = tmp_path / "crowd.ics"
    crowd.write_text(CALENDAR.format(people="".join(f"ATTENDEE;CN=P{n}:mailto:p{n}@example.org\r\n"
                                                    for n in range(5000))))
    with pytest.raises(UserError, match="5000 invitees, more than 50.*--yes"):
        collect(ics=crowd)
    assert len(collect(ics=crowd, yes=True).people) == 5000  # asked for: then it is what was meant
    fifty = ", ".join(f"p{n}@example.org" for n in range(MAX_INVITEES))
    assert len(collect([fifty]).people) == MAX_INVITEES
    with pytest.raises(UserError, match="--yes"):
        collect([fifty + ", one.more@example.org"])
    huge = tmp_path / "huge.ics"
    with open(huge, "wb") as fh:  # 101 MB (sparse: nothing is written but the header)
        fh.write(b"BEGIN:VCALENDAR\r\n")
        fh.truncate(101 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(UserError, match="too large"):
        read_ics(huge)
    assert time.monotonic() - started < 2


def test_the_outbox_never_queues_the_same_minutes_twice_to_one_address(archive_settings):
    from voicebot.archive import OutboxMessage, open_archive
    from voicebot.pipeline import content_key

    def message(meeting_id: str, recipient: str) -> OutboxMessage:
        return OutboxMessage(meeting_id=None, recipient=recipient, kind="attendee", message_id=f"<{meeting_id}-{recipient}>",
                             subject="Minutes", raw=b"x", content_key=content_key("hash-of-the-audio", recipient))

    with open_archive(archive_settings) as db:
        assert db.enqueue([message("first", "a@example.org"), message("first", "b@example.org")]) == 2
        assert db.enqueue([message("second", "A@example.org"), message("second", "c@example.org")]) == 1
        assert sorted(m.recipient for m in db.outbox_list()) == ["a@example.org", "b@example.org", "c@example.org"]


def test_the_same_recording_imported_twice_at_once_is_one_meeting(home):
    """Two processes import the same file at the same moment: one meeting, whose id both get."""
    from voicebot.cli.app import settings

    script = ("import sys; from voicebot import pipeline; from voicebot.config import load_settings; "
              "print(pipeline.import_audio(load_settings(), sys.argv[1]).id)")
    both = [subprocess.Popen([sys.executable, "-c", script, str(SAMPLES / "meeting-en.flac")], env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    ids = [p.communicate(timeout=300)[0].strip() for p in both]
    assert all(p.returncode == 0 for p in both) and ids[0] == ids[1] and ids[0]
    folders = [d.name for d in settings().recordings_dir.iterdir() if not d.name.startswith(".")]
    assert folders == [ids[0]]
    again = run_cli("process", str(SAMPLES / "meeting-en.flac"), "--no-email", env={"VOICEBOT_ASR_MODEL": "/nowhere"})
    assert f"processed before as meeting {ids[0]}" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.slow
def test_processing_the_same_audio_again_mails_nobody_twice(home_with_models, tmp_path):
    """End to end, with Whisper tiny.en: the second run (even as a new meeting) queues no message."""
    import soundfile as sf

    from voicebot.archive import open_archive
    from voicebot.audio import load_audio
    from voicebot.cli.app import settings

    clip = tmp_path / "standup.wav"
    sf.write(clip, load_audio(SAMPLES / "meeting-en.flac")[:16000 * 20], 16000, subtype="PCM_16")
    env = {"VOICEBOT_ASR_MODEL": "tiny.en", "VOICEBOT_DIARIZE_ENGINE": "none", "VOICEBOT_MINUTES_ENGINE": "extractive"}
    invite = "Alice <alice@example.org>, Bob <bob@example.org>"
    first = run_cli("process", str(clip), "--invite", invite, env=env)
    assert first.returncode == 0, first.stderr
    again = run_cli("process", str(clip), "--invite", invite, env=env)
    assert again.returncode == 0 and "processed before" in again.stderr, again.stderr
    other = run_cli("process", str(clip), "--invite", invite, "--new-meeting", env=env)
    assert other.returncode == 0, other.stderr
    assert "got the minutes of this recording already" in other.stderr
    with open_archive(settings()) as db:
        sent = sorted(m.recipient for m in db.outbox_list())
        meetings = db.list_meetings()
    assert len(meetings) == 2 and sent == ["alice@example.org", "bob@example.org"]
    assert len(list((settings().maildir / "new").iterdir())) == 2
