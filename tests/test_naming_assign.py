"""One assignment of names to speakers, and presence (voicebot.naming), then what the minutes, the mails and
the organiser's confirmation make of it. No model, no audio: transcripts written here and the scripted meetings."""

from __future__ import annotations

import pytest
from test_naming_evidence import people, transcript

from voicebot import schema
from voicebot.errors import UserError
from voicebot.mail import addresses
from voicebot.minutes.people import gather
from voicebot.minutes.render import render_markdown
from voicebot.naming import confirm, identify

TEAM = people("Alice Martin", "Bob Stone", "Carol Jones", "David Okafor")
TEAM[0].role = "organizer"

MEETING = [
    ("S0", "Good morning everyone. David couldn't make it today, he's on holiday."),
    ("S1", "Good morning Alice."),
    ("S0", "First point, the launch date. Bob, you compared the offers?"),
    ("S1", "Yes. The best offer is from Blue Cloud."),
    ("S2", "The other one was more expensive."),
    ("S0", "Carol, could you update the test plan by Friday?"),
    ("S2", "Yes, I will."),
    ("S1", "I will send the contract before Tuesday."),
    ("S0", "Thank you, Bob. Let's meet again next Thursday."),
]


def named(naming) -> dict:
    return {label: (match["name"] if match else None) for label, match in naming["labels"].items()}


def test_names_and_presence_from_the_conversation_alone():
    naming = identify(transcript(*MEETING), TEAM)
    assert named(naming) == {"S0": "Alice Martin", "S1": "Bob Stone", "S2": "Carol Jones"}
    assert naming["present"] == ["Alice Martin", "Bob Stone", "Carol Jones"]
    assert naming["absent"] == ["David Okafor"] and naming["unknown"] == []
    assert "said absent" in naming["reasons"]["David Okafor"]
    carol = naming["labels"]["S2"]
    assert carol["source"] == "conversation" and carol["confidence"] >= 0.5 and carol["score"] is None
    assert carol["reason"].startswith("addressed as Carol at 0:")
    assert naming["unnamed"] == {} and naming["evidence"]


def test_voiceprints_win_over_what_was_said():
    voices = {"labels": {"S0": None, "S1": {"name": "Carol", "email": "carol@example.org", "score": 0.91}, "S2": None},
              "present": ["Carol"], "unnamed": {}, "threshold": 0.85}
    naming = identify(transcript(*MEETING), TEAM, voices)
    assert naming["labels"]["S1"]["name"] == "Carol Jones" and naming["labels"]["S1"]["source"] == "voice"
    assert naming["labels"]["S1"]["reason"] == "voiceprint match 0.91" and naming["threshold"] == 0.85
    assert "Carol Jones" not in [m["name"] for label, m in naming["labels"].items() if m and label != "S1"]


def test_never_one_name_for_two_speakers_and_doubt_leaves_speaker_n():
    turns = [("S0", "Hi, I'm Bob."), ("S1", "Hello, I'm Bob too, funny."), ("S2", "Okay, let's start.")]
    naming = identify(transcript(*turns), TEAM)
    names = [m["name"] for m in naming["labels"].values() if m]
    assert len(names) == len(set(names))
    turns = [("S0", "Okay, let's start."), ("S1", "Hi Carol."), ("S2", "Hello everyone, let's go.")]
    naming = identify(transcript(*turns), TEAM)  # one greeting: not enough
    assert named(naming) == {"S0": None, "S1": None, "S2": None}
    assert naming["unnamed"] == {"S0": "Speaker 1", "S1": "Speaker 2", "S2": "Speaker 3"}
    assert naming["proposed"]["S0"]["name"] == "Carol Jones"  # the guess, for a person to confirm


def test_a_client_named_only_from_their_own_introduction():
    turns = [("S0", "Let's start, we have a guest today."), ("S1", "Hello all, this is Peter Harlow from Greenleaf."),
             ("S0", "Welcome. Bob, can you show the import?"), ("S2", "Sure, here it is."),
             ("S3", "Thanks, Margaret, that is clear.")]
    naming = identify(transcript(*turns), TEAM)
    assert naming["labels"]["S1"]["name"] == "Peter Harlow" and naming["labels"]["S1"]["email"] is None
    assert "Peter Harlow" in naming["present"] and "Peter Harlow" not in naming["unknown"]
    assert "Margaret" not in [m["name"] for m in naming["labels"].values() if m]  # called once: not enough


def test_the_last_voice_is_the_last_invitee_only_when_the_count_says_so():
    turns = [("S0", "Morning. David is away today."), ("S1", "Morning."), ("S0", "Bob, anything new?"),
             ("S1", "Nothing."), ("S0", "Carol, anything?"), ("S2", "The tests pass, and the release is ready."),
             ("S1", "Good.")]
    naming = identify(transcript(*turns), TEAM)
    assert named(naming)["S0"] == "Alice Martin"  # three voices, three invitees not away: the last one left
    assert "only" in naming["labels"]["S0"]["reason"] or "left" in naming["labels"]["S0"]["reason"]
    guest = turns + [("S3", "Sorry, is this room booked?"), ("S0", "Yes, until noon.")]
    naming = identify(transcript(*guest), TEAM)  # a fourth voice nobody invited: who is who is no longer sure
    assert named(naming)["S0"] is None and named(naming)["S3"] is None
    assert naming["unknown"] == ["Alice Martin"] and naming["absent"] == ["David Okafor"]


def test_every_voice_named_makes_the_other_invitees_absent():
    turns = [("S0", "Hi, I'm Alice."), ("S1", "And I'm Bob."), ("S0", "Bob, shall we start?"), ("S1", "Yes.")]
    naming = identify(transcript(*turns), TEAM)
    assert naming["present"] == ["Alice Martin", "Bob Stone"]
    assert naming["absent"] == ["Carol Jones", "David Okafor"] and naming["unknown"] == []
    assert naming["reasons"]["Carol Jones"] == "every voice heard was named, and none is theirs"


def test_without_speakers_the_absent_said_are_still_absent():
    plain = transcript(("", "Morning all. David is off sick today, so let's start."), ("", "Okay."))
    for seg in plain.segments:
        seg.speaker = None
    naming = identify(plain, TEAM)
    assert naming["labels"] == {} and naming["absent"] == ["David Okafor"]
    assert naming["unknown"] == ["Alice Martin", "Bob Stone", "Carol Jones"]


def test_scripted_meetings_precision_of_names_and_absence():
    from bench.naming import run

    result = run(quick=False)
    for condition, data in result["conditions"].items():
        pooled = data["pooled"]
        assert pooled["names"]["precision"] >= 0.95, (condition, pooled)
        assert pooled["absent"]["precision"] is None or pooled["absent"]["precision"] >= 0.95, (condition, pooled)
    assert result["conditions"]["no voiceprint"]["pooled"]["names"]["recall"] >= 0.8


# --- what the minutes and the mails make of it -------------------------------------------------------


def _meeting() -> schema.Meeting:
    return schema.Meeting(id="m1", title="Weekly", started_at="2026-03-12T09:30:00+01:00", invitees=TEAM)


def test_minutes_show_present_absent_and_unknown_apart():
    # Carol is never addressed, and someone not invited looks in: her voice stays unnamed
    labelled = transcript(*MEETING[:5], ("S3", "Sorry, is this room free?"))
    naming = identify(labelled, TEAM)
    people_ = gather(labelled, _meeting(), naming)
    assert people_.absent == ["David Okafor"] and "Carol Jones" in people_.unknown
    minutes = schema.Minutes("Weekly", "2026-03-12", 60.0, "en", present=people_.present, absent=people_.absent,
                             unknown=people_.unknown)
    text = render_markdown(minutes)
    assert "**Absent:** David Okafor" in text and "**Not known whether present:** Carol Jones" in text
    assert schema.Minutes.from_dict(minutes.to_dict()).unknown == ["Carol Jones"]


def test_an_old_speakers_file_reads_as_before():
    old = {"labels": {"S0": {"name": "Alice Martin", "email": "alice@example.org", "score": 0.9}, "S1": None},
           "present": ["Alice Martin"], "unnamed": {"S1": "Speaker 1"}, "threshold": 0.85}
    people_ = gather(transcript(("S0", "Hello."), ("S1", "Hi.")), _meeting(), old)
    assert people_.absent == ["Bob Stone", "Carol Jones", "David Okafor"] and people_.unknown == []


def test_mail_absentee_version_for_the_absent_attendee_version_for_the_unknown():
    minutes = schema.Minutes("Weekly", "2026-03-12", 60.0, "en", present=["Alice Martin", "Bob Stone"],
                             absent=["David Okafor"], unknown=["Carol Jones"])
    recipients, problems = addresses.resolve(_meeting(), minutes, None)
    kinds = {r.address.address: r.kind for r in recipients}
    assert kinds == {"alice@example.org": "attendee", "bob@example.org": "attendee", "carol@example.org": "attendee",
                     "david@example.org": "absentee"}
    assert problems == ["not known whether Carol Jones attended: they get the minutes as attendees"]
    nobody = schema.Minutes("Weekly", "2026-03-12", 60.0, "en", absent=["David Okafor"],
                            unknown=["Alice Martin", "Bob Stone", "Carol Jones"])
    kinds = {r.address.address: r.kind for r in addresses.resolve(_meeting(), nobody, None)[0]}
    assert kinds["david@example.org"] == "absentee" and kinds["alice@example.org"] == "attendee"


# --- the organiser confirms or corrects --------------------------------------------------------------


def test_confirmation_edits(tmp_path):
    labelled = transcript(*MEETING[:5], ("S3", "Sorry, is this room free?"))
    naming = identify(labelled, TEAM)
    lines = confirm.summary(naming, labelled)
    assert lines[0].startswith("1. Alice Martin (") and any(line.startswith("absent: David Okafor") for line in lines)
    edits = confirm.parse("3=car, -Bob, ?David")
    assert [(e.kind, e.row, e.name) for e in edits] == [("name", 3, "car"), ("absent", None, "Bob"),
                                                         ("unknown", None, "David")]
    fixed = confirm.apply(naming, edits, TEAM)
    assert fixed["labels"]["S2"]["name"] == "Carol Jones" and fixed["labels"]["S2"]["source"] == "confirmed"
    assert fixed["labels"]["S2"]["email"] == "carol@example.org"
    assert "Carol Jones" in fixed["present"] and fixed["unknown"] == ["David Okafor"]
    assert "Bob Stone" in fixed["present"]  # a voice is his: "-Bob" does not make him absent
    moved = confirm.apply(fixed, confirm.parse("1=Carol"), TEAM)  # one name, one speaker
    assert moved["labels"]["S0"]["name"] == "Carol Jones" and moved["labels"]["S2"] is None
    assert moved["unnamed"] == {"S2": "Speaker 1", "S3": "Speaker 2"} and "Alice Martin" in moved["unknown"]
    with pytest.raises(UserError):
        confirm.apply(naming, confirm.parse("7=Carol"), TEAM)
    with pytest.raises(UserError):
        confirm.parse("Carol please")

    from voicebot import recordings
    from voicebot.diarize import relabel

    (tmp_path / recordings.TRANSCRIPT).write_text(schema.dumps(relabel(labelled, naming)), encoding="utf-8")
    confirm.save(tmp_path, naming, moved)
    saved = schema.Transcript.from_dict(schema.read_json(tmp_path / recordings.TRANSCRIPT))
    assert saved.speakers == ["Carol Jones", "Bob Stone", "Speaker 1", "Speaker 2"]
    assert schema.read_json(tmp_path / recordings.SPEAKERS)["labels"]["S0"]["name"] == "Carol Jones"


def test_the_organiser_confirms_at_the_keyboard(tmp_path):
    """What `voicebot record` runs before the minutes when a terminal is there (voicebot.cli.confirm)."""
    from types import SimpleNamespace

    from voicebot import recordings
    from voicebot.cli.confirm import confirm_names
    from voicebot.diarize import relabel

    labelled = transcript(*MEETING[:5], ("S3", "Sorry, is this room free?"))
    naming = identify(labelled, TEAM)
    (tmp_path / recordings.SPEAKERS).write_text(schema.dumps(naming), encoding="utf-8")
    (tmp_path / recordings.TRANSCRIPT).write_text(schema.dumps(relabel(labelled, naming)), encoding="utf-8")
    job = SimpleNamespace(directory=tmp_path, meeting=_meeting(), path=lambda name: tmp_path / name)
    answers = iter(["3=nobody-known, 9=Carol", "3=Carol, ?David", ""])
    confirm_names(job, ask=lambda prompt: next(answers))
    saved = schema.read_json(tmp_path / recordings.SPEAKERS)
    assert saved["labels"]["S2"]["name"] == "Carol Jones" and saved["unknown"] == ["David Okafor"]
    assert "Carol Jones" in schema.Transcript.from_dict(schema.read_json(tmp_path / recordings.TRANSCRIPT)).speakers
    untouched = (tmp_path / recordings.SPEAKERS).read_text(encoding="utf-8")
    confirm_names(job, ask=lambda prompt: "")  # Enter: as proposed, nothing rewritten
    assert (tmp_path / recordings.SPEAKERS).read_text(encoding="utf-8") == untouched
