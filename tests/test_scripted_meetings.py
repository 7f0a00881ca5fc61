"""The scripted meetings (samples/scripted/) are well formed: the transcript loads, the expected
items' spans lie inside it, the speaker map names every label, due dates are ISO dates on or
after the meeting, the invitation parses and agrees with present/absent, and the files are
those their script builds. Fast: no model, no audio."""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import date

import pytest
from conftest import ROOT

from voicebot import schema
from voicebot.invites import read_ics

SCRIPTED = ROOT / "samples" / "scripted"
NAMES = sorted(p.name[:-len(".txt")] for p in SCRIPTED.glob("*.txt"))


def _build_module():
    spec = importlib.util.spec_from_file_location("scripted_build", SCRIPTED / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_there_are_six_french_and_six_english_meetings():
    languages = [schema.read_json(SCRIPTED / f"{n}.expected.json")["language"] for n in NAMES]
    assert languages.count("fr") >= 6 and languages.count("en") >= 6, dict(zip(NAMES, languages))


@pytest.mark.parametrize("name", NAMES)
def test_scripted_meeting_is_well_formed(name):
    data = schema.read_json(SCRIPTED / f"{name}.transcript.json")
    transcript = schema.Transcript.from_dict(data)
    expected_data = schema.read_json(SCRIPTED / f"{name}.expected.json")
    expected = schema.Minutes.from_dict(expected_data)
    invitation = read_ics(SCRIPTED / f"{name}.ics")

    # The transcript: segments in time order, inside the duration, each with a diarization label and a language.
    segments = transcript.segments
    assert segments and all(s.text.strip() for s in segments)
    assert all(0 <= s.start < s.end <= transcript.duration for s in segments)
    assert all(a.end <= b.start for a, b in zip(segments, segments[1:])), "segments overlap or are out of order"
    assert all(re.fullmatch(r"SPEAKER_\d\d", s.speaker or "") for s in segments)
    assert all(s.language in ("en", "fr") for s in segments)
    assert transcript.language == expected.language
    assert 120 <= sum(s.end - s.start for s in segments) <= 360, "2 to 6 minutes of talk"

    # The speaker map: every label, and only those; names are invitees (None: a voice nobody invited).
    invited = [p.name for p in invitation.people]
    speakers = expected_data["speakers"]
    assert set(speakers) == set(transcript.speakers)
    assert all(v is None or v in invited for v in speakers.values())
    assert sorted(v for v in speakers.values() if v) == sorted(expected.present)
    assert 3 <= len(set(speakers.values())) <= 6

    # The invitation: the meeting's date and zone, everyone present or absent, nobody twice.
    assert invitation.title == expected.title
    assert invitation.start.isoformat()[:10] == expected.date
    assert str(invitation.start.tzinfo) == "Europe/Paris"
    assert sorted(invited) == sorted(expected.present + expected.absent)
    assert expected.absent, "each meeting has an invitee who did not come"

    # The expected items: spans inside the transcript, owners and dates that can be checked.
    meeting_day = date.fromisoformat(expected.date)
    items = expected.decisions + expected.action_items + expected.open_questions
    assert expected.decisions and expected.action_items
    for item in items:
        assert 0 <= item.source_start < item.source_end <= transcript.duration, item
        assert any(s.start <= item.source_start < s.end for s in segments), f"{item} starts between segments"
    for action in expected.action_items:
        assert action.task.strip()
        assert action.owner is None or action.owner in invited or action.owner in expected_data.get("guests", [])
        if action.due is not None:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", action.due), action.due
            assert date.fromisoformat(action.due) >= meeting_day, action
    for decision in expected.decisions:
        assert decision.speaker in expected.present, decision
    if expected.next_meeting is not None:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?", expected.next_meeting)
        assert date.fromisoformat(expected.next_meeting[:10]) > meeting_day


def test_files_are_what_the_scripts_build():
    build = _build_module()
    assert [p.stem for p in build.scripts()] == NAMES
    for script in build.scripts():
        for target, text in build.build(script).items():
            assert target.read_bytes() == text.encode("utf-8"), f"{target.name} is stale: run samples/scripted/build.py"


def test_the_build_rejects_a_tag_without_its_item(tmp_path):
    build = _build_module()
    script = (SCRIPTED / f"{NAMES[0]}.txt").read_text(encoding="utf-8")
    broken = tmp_path / "broken.txt"
    broken.write_text(re.sub(r"(?m)^decision D1:.*\n", "", script), encoding="utf-8")
    with pytest.raises(ValueError, match="D1"):
        build.build(broken)
