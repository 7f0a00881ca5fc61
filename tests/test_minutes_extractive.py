"""The extractive engine on the cases the minutes must get right: who owns an action,
mixed-language meetings, no punctuation, one speaker, no diarization, unnamed speakers,
nothing said, a 3-hour meeting."""

from __future__ import annotations

import re

from minutes_helpers import sample, transcript_of

from bench.minutes_score import score
from voicebot import schema
from voicebot.config import Settings
from voicebot.minutes import draft, render_markdown


def _actions(minutes):
    return [(a.owner, a.task, a.due) for a in minutes.action_items]


def test_owner_is_the_person_asked_in_french():
    t = transcript_of([("Alice", "Bob, tu peux envoyer le devis au client avant vendredi ?"),
                       ("Bob", "Oui, bien sûr.")], language="fr", date="2026-03-11")
    minutes = draft(t, Settings())
    assert _actions(minutes) == [("Bob", "Envoyer le devis au client", "2026-03-13")]
    # The reply belongs to the item's source span.
    assert minutes.action_items[0].source_end == t.segments[1].end


def test_je_m_en_occupe_makes_the_speaker_the_owner():
    t = transcript_of([("Alice", "Il faut relancer le fournisseur avant vendredi."),
                       ("Bob", "Je m'en occupe.")], language="fr", date="2026-03-11")
    assert _actions(draft(t, Settings())) == [("Bob", "Relancer le fournisseur", "2026-03-13")]


def test_ill_do_it_makes_the_speaker_the_owner():
    t = transcript_of([("Alice", "Someone needs to book the meeting room for the workshop by tomorrow."),
                       ("Carol", "I'll do it.")])
    assert _actions(draft(t, Settings())) == [("Carol", "Book the meeting room for the workshop", "2026-03-13")]


def test_unnamed_request_goes_to_who_accepts_it():
    t = transcript_of([("Alice", "Could you send me the slides of the review by Monday?"),
                       ("Bob", "Sure, no problem.")])
    assert _actions(draft(t, Settings())) == [("Bob", "Send me the slides of the review", "2026-03-16")]


def test_named_person_and_speaker_commitment():
    t = transcript_of([("Alice", "Carol will prepare the budget by the end of the week."),
                       ("Alice", "And I will call David tomorrow about the budget.")])
    assert _actions(draft(t, Settings())) == [("Carol", "Prepare the budget", "2026-03-13"),
                                              ("Alice", "Call David about the budget", "2026-03-13")]


def test_french_future_tense_and_third_person():
    t = transcript_of([("Camille", "J'enverrai le compte rendu demain."),
                       ("Camille", "Thomas préparera le planning pour lundi prochain.")], language="fr",
                      date="2026-03-11")
    assert _actions(draft(t, Settings())) == [("Camille", "Envoyer le compte rendu", "2026-03-12"),
                                              ("Thomas", "Préparer le planning", "2026-03-16")]


def test_what_is_not_an_action_or_a_decision():
    t = transcript_of([("Alice", "Do we need to hire someone for the summer?"),
                       ("Bob", "I think the budget is too small for that."),
                       ("Carol", "We haven't decided anything about the summer yet."),
                       ("Alice", "I agree with Bob."),
                       ("Bob", "David will have an opinion on the summer budget."),
                       ("Alice", "Let's meet again next Monday.")])
    minutes = draft(t, Settings())
    assert minutes.decisions == [] and minutes.action_items == []
    assert minutes.next_meeting == "2026-03-16"


def test_a_bare_agreement_takes_the_proposal_before_it():
    t = transcript_of([("Alice", "I propose to hire a freelance designer for the new logo."),
                       ("Bob", "Fine by me."),
                       ("Alice", "Good, it's decided.")])
    (decision,) = draft(t, Settings()).decisions
    assert decision.text == "Hire a freelance designer for the new logo."
    assert decision.source_start == t.segments[0].start and decision.source_end == t.segments[2].end


def test_a_meeting_that_switches_language():
    turns = [("Alice", "Good morning, let's start with the budget."),
             ("Camille", "Bonjour à tous. Pour le budget, on a décidé de réduire les frais de déplacement."),
             ("Alice", "Okay. Camille, can you send the new travel policy by Friday?"),
             ("Camille", "Oui, je m'en occupe."),
             ("Bob", "Et il faut mettre à jour le tableau de bord d'ici la fin du mois."),
             ("Alice", "I'll take care of it."),
             ("Bob", "Then we agreed to freeze hiring until June.")]
    languages = ["en", "fr", "en", "fr", "fr", "en", "en"]
    t = transcript_of(turns, languages=languages)
    minutes = draft(t, Settings())
    assert [d.text for d in minutes.decisions] == ["Réduire les frais de déplacement.", "Freeze hiring until June."]
    assert _actions(minutes) == [("Camille", "Send the new travel policy", "2026-03-13"),
                                 ("Alice", "Mettre à jour le tableau de bord", "2026-03-31")]
    assert minutes.language == "en"


def test_no_punctuation():
    transcript, meeting, expected = sample("en")
    for seg in transcript.segments:
        seg.text = re.sub(r"[.,?!]", "", seg.text)
    result = score(draft(transcript, Settings(), meeting=meeting), expected)
    assert result["precision"] == 1.0 and result["recall"] == 1.0, result


def test_no_punctuation_and_long_segments():
    """Whisper without punctuation over 30 s windows: one long segment per window, several speakers' words."""
    transcript, meeting, expected = sample("en")
    merged = []
    for i in range(0, len(transcript.segments), 6):
        group = transcript.segments[i:i + 6]
        text = " ".join(re.sub(r"[.,?!]", "", s.text) for s in group)
        merged.append(schema.Segment(group[0].start, group[-1].end, text, speaker=None, language="en"))
    transcript.segments = merged
    minutes = draft(transcript, Settings(), meeting=meeting)
    # Without punctuation nor speakers, decisions and dated tasks are still found, and nothing is invented.
    assert len(minutes.decisions) == 2
    assert {a.due for a in minutes.action_items} >= {"2026-03-17", "2026-03-13"}
    assert all(a.owner in (None, "Carol") for a in minutes.action_items)


def test_one_speaker():
    t = transcript_of([("Alice", "This is a note for myself about the quarterly report."),
                       ("Alice", "I will check the figures with the accounting team by Friday."),
                       ("Alice", "We decided to publish the report on the intranet.")])
    minutes = draft(t, Settings())
    assert minutes.present == ["Alice"] and list(minutes.talk_time) == ["Alice"]
    assert _actions(minutes) == [("Alice", "Check the figures with the accounting team", "2026-03-13")]
    assert len(minutes.decisions) == 1


def test_without_diarization_speakers_are_unknown():
    transcript, meeting, _ = sample("en")
    for seg in transcript.segments:
        seg.speaker = None
    minutes = draft(transcript, Settings(), meeting=meeting)
    assert minutes.present == [] and minutes.absent == [] and minutes.talk_time == {}
    assert any("Speakers are unknown" in n for n in minutes.notes)
    owners = {a.task: a.owner for a in minutes.action_items}
    assert owners["Update the test plan"] == "Carol"  # named in the request: still known
    assert owners["Send the signed contract to Blue Cloud"] is None  # "I will": nobody to name


def test_speaker_labels_named_by_speakers_json():
    transcript, meeting, expected = sample("en")
    labels = {"Alice": "SPEAKER_00", "Bob": "SPEAKER_01", "Carol": "SPEAKER_02"}
    for seg in transcript.segments:
        seg.speaker = labels[seg.speaker]
    speakers = {"labels": {"SPEAKER_00": {"name": "Alice", "email": "alice@example.org", "score": 0.8},
                           "SPEAKER_01": {"name": "Bob", "email": "bob@example.org", "score": 0.7},
                           "SPEAKER_02": None},
                "present": ["Alice", "Bob"]}
    minutes = draft(transcript, Settings(), meeting=meeting, speakers=speakers)
    assert minutes.present == ["Alice", "Bob"]
    assert minutes.absent == ["Carol", "David"]
    assert set(minutes.talk_time) == {"Alice", "Bob", "SPEAKER_02"}
    assert any("SPEAKER_02" in n for n in minutes.notes)
    # Carol's item is still hers: she is the one asked by name.
    assert score(minutes, expected)["recall"] == 1.0


def test_nothing_said():
    for segments in ([], [schema.Segment(0.0, 30.0, "")], [schema.Segment(0.0, 30.0, " ... ")]):
        t = schema.Transcript(language="fr", duration=30.0, model="base", engine="test", segments=segments,
                              date="2026-03-11")
        minutes = draft(t, Settings())
        assert minutes.decisions == minutes.action_items == minutes.key_points == minutes.open_questions == []
        assert minutes.summary == "Rien n'a été dit dans cet enregistrement : il n'y a rien à rapporter."
        assert minutes.summary in render_markdown(minutes)


def test_date_and_title_override_and_default():
    transcript, _, _ = sample("en")
    minutes = draft(transcript, Settings(), date="2026-03-19", title="Other")
    assert minutes.title == "Other" and minutes.date == "2026-03-19"
    assert ("Bob", "2026-03-24") in [(a.owner, a.due) for a in minutes.action_items]  # next Tuesday from the 19th
    transcript.date = None
    transcript.title = None
    minutes = draft(transcript, Settings())
    assert minutes.title.startswith("Meeting of ") and any("date is unknown" in n for n in minutes.notes)


def test_a_three_hour_meeting():
    """3 hours of meeting talk (the two samples' sentences over and over): it finishes, the items
    keep spans inside the meeting, the key points cover the whole meeting."""
    base, _, _ = sample("en")
    segments = []
    offset = 0.0
    while offset < 3 * 3600:
        for seg in base.segments:
            segments.append(schema.Segment(seg.start + offset, seg.end + offset, seg.text, speaker=seg.speaker,
                                           language="en"))
        offset += base.duration
    t = schema.Transcript(language="en", duration=offset, model="test", engine="test", segments=segments,
                          date="2026-03-12")
    minutes = draft(t, Settings())
    assert 3 <= len(minutes.key_points) <= 12
    assert minutes.key_points[-1].start > 2 * 3600  # the last hour is covered too
    assert all(0 <= a.source_start <= a.source_end <= t.duration for a in minutes.action_items)
    # The same decision said 129 times is one decision per wording, not 129.
    assert len(minutes.decisions) == 2
