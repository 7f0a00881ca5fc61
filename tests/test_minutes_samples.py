"""The sample meetings (samples/): the extractive engine finds every expected decision and
action item, with the right owner and due date, and nothing else; present/absent from the
invite list; next meeting; and every item passes the support check."""

from __future__ import annotations

from datetime import date

import pytest
from minutes_helpers import SAMPLES, sample

from bench.minutes_score import score
from voicebot import schema
from voicebot.config import Settings
from voicebot.minutes import draft, render_markdown, support
from voicebot.minutes.people import gather
from voicebot.minutes.text import sentences


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sample_minutes_match_the_expected_ones(lang):
    transcript, meeting, expected = sample(lang)
    minutes = draft(transcript, Settings(), meeting=meeting)
    result = score(minutes, expected)
    assert result["missing"] == [] and result["extra"] == [], result
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert minutes.present == expected.present and minutes.absent == expected.absent
    assert minutes.next_meeting == expected.next_meeting
    assert [q.text for q in minutes.open_questions] == [q.text for q in expected.open_questions]
    assert minutes.language == lang and minutes.date == expected.date and minutes.title == expected.title
    assert minutes.engine == "extractive"
    # Owners get their invitation address, for the mail.
    assert all(a.owner_email == f"{a.owner.lower()}@example.org" for a in minutes.action_items)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_sample_item_is_supported_by_its_span(lang):
    transcript, meeting, _ = sample(lang)
    minutes = draft(transcript, Settings(), meeting=meeting)
    people = gather(transcript, meeting, None)
    sents = sentences(transcript, people.name_of)
    base = date.fromisoformat(minutes.date)
    for d in minutes.decisions:
        assert support.check_decision(d.text, d.source_start, d.source_end, sents) is None
    for a in minutes.action_items:
        assert support.check_action(a.owner, a.task, a.due, a.source_start, a.source_end, sents, people,
                                    base) is None


def test_sample_minutes_are_deterministic():
    transcript, meeting, _ = sample("en")
    first = draft(transcript, Settings(), meeting=meeting).to_dict()
    again = draft(transcript, Settings(), meeting=meeting).to_dict()
    assert first == again


def test_sample_minutes_render_in_their_language():
    for lang, words in (("en", ["## Decisions", "## Action items", "**Absent:** David", "Tue 17 Mar 2026",
                                 "Thursday 19 March 2026, 10:00"]),
                        ("fr", ["## Décisions", "## Actions", "**Absents :** Thomas", "ven. 13 mars 2026",
                                "mercredi 18 mars 2026, 10 h 00", "| Julien | Envoyer le bon de commande"])):
        transcript, meeting, _ = sample(lang)
        text = render_markdown(draft(transcript, Settings(), meeting=meeting))
        for word in words:
            assert word in text, (word, text)


def test_sample_files_agree_with_each_other():
    """The reference transcript, STM, RTTM, invitation and expected minutes tell one story."""
    transcript, meeting, expected = sample("en")
    stm = (SAMPLES / "meeting-en.stm").read_text().splitlines()
    rttm = schema.turns_from_rttm((SAMPLES / "meeting-en.rttm").read_text())
    assert len(stm) == len(transcript.segments) == len(rttm)
    assert {t.speaker for t in rttm} == {"Alice", "Bob", "Carol"}
    assert [p.name for p in meeting.invitees] == ["Alice", "Bob", "Carol", "David"]
    assert meeting.started_at[:10] == transcript.date == expected.date
    assert all((SAMPLES / "voices" / f"{name}.flac").is_file() for name in ("Alice", "Bob", "Carol", "David"))
    import soundfile

    info = soundfile.info(str(SAMPLES / "meeting-en.flac"))
    assert info.samplerate == 16000 and info.channels == 1 and 60 < info.duration < 150
    assert abs(info.duration - transcript.duration) < 0.01
