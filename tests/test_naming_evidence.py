"""Evidence of who is who from what was said, French and English (voicebot.naming.evidence). No model."""

from __future__ import annotations

import pytest

from voicebot import schema
from voicebot.naming.evidence import gather
from voicebot.naming.names import Lexicon


def transcript(*turns: tuple[str, str], language: str = "en") -> schema.Transcript:
    """A transcript from (label, text) turns, one segment each, three seconds apart."""
    segments, clock = [], 0.0
    for label, text in turns:
        seconds = max(1.0, len(text.split()) / 2.5)
        segments.append(schema.Segment(clock, clock + seconds, text, speaker=label, language=language))
        clock += seconds + 0.5
    return schema.Transcript(language=language, duration=clock, model="test", engine="test", segments=segments)


def people(*names: str) -> list[schema.Person]:
    return [schema.Person(n, f"{n.split()[0].lower()}@example.org") for n in names]


def evidence(turns, invitees, language="en"):
    lexicon = Lexicon.of(invitees)
    found, absent, _ = gather(transcript(*turns, language=language), lexicon)
    names = {i: c.name for i, c in enumerate(lexicon.candidates)}
    about = {(e.kind, e.label, tuple(names[p] for p in e.people)) for e in found if e.weight > 0}
    against = {(e.label, tuple(names[p] for p in e.people)) for e in found if e.weight < 0}
    return about, against, {names[p] for p in absent}


TEAM = people("Alice Martin", "Bob Stone", "Bruno Petit", "Chloé Bernard", "David Okafor")


@pytest.mark.parametrize("text, language", [
    ("Hi everyone, I'm Chloé from sales.", "en"),
    ("My name is Chloé, I joined last week.", "en"),
    ("Oui, bonjour, moi c'est Chloé.", "fr"),
    ("Bonjour, je m'appelle Chloé, je suis nouvelle.", "fr"),
])
def test_self_introductions(text, language):
    about, against, _ = evidence([("S0", "Okay, let's start."), ("S1", text)], TEAM, language)
    assert ("introduced", "S1", ("Chloé Bernard",)) in about


@pytest.mark.parametrize("text, language", [
    ("Allô ? Oui, c'est Bruno, désolé, j'étais dans un tunnel.", "fr"),
    ("Hi, this is Bruno, sorry I'm late.", "en"),
    ("Bruno here, can you hear me?", "en"),
    ("Bruno from finance here.", "en"),
])
def test_announcing_oneself_at_the_start_of_a_turn(text, language):
    about, _, _ = evidence([("S0", "Bon, on commence."), ("S1", text)], TEAM, language)
    assert ("announced", "S1", ("Bruno Petit",)) in about


@pytest.mark.parametrize("text", [
    "C'est Bruno qui s'occupe du budget.",  # a cleft, not an introduction
    "Les slides, c'est pour Chloé.",
    "Honestly, it's Bruno's call.",
])
def test_not_introductions(text):
    about, _, _ = evidence([("S0", "Okay."), ("S1", text)], TEAM, "fr")
    assert not any(kind in ("introduced", "announced") for kind, *_ in about)


def test_addressed_by_name_and_answered_points_to_the_next_speaker_never_the_current_one():
    about, against, _ = evidence([("S0", "Okay, next point. Bob, could you send the contract by Friday?"),
                                  ("S1", "Sure, I'll do it.")], TEAM)
    assert ("asked", "S1", ("Bob Stone",)) in about
    assert ("S0", ("Bob Stone",)) in against


@pytest.mark.parametrize("question", ["What do you think, Bob?", "Bob?", "Also, Bob, are you still in?"])
def test_questions_by_name(question):
    about, _, _ = evidence([("S0", "Right."), ("S2", question), ("S1", "Yes, fine by me.")], TEAM)
    assert ("asked", "S1", ("Bob Stone",)) in about


@pytest.mark.parametrize("text, language", [("Thanks Bruno.", "en"), ("Merci Bruno.", "fr"),
                                            ("Great, thanks, Bruno.", "en"), ("Merci, Bruno. Et la formation ?", "fr")])
def test_thanks_point_to_who_just_spoke(text, language):
    about, _, _ = evidence([("S0", "Next point."), ("S1", "Le budget est prêt, je vous l'envoie."), ("S0", text),
                            ("S2", "Oui.")], TEAM, language)
    assert ("thanked", "S1", ("Bruno Petit",)) in about
    assert not any(kind == "asked" for kind, *_ in about)


def test_french_requests_and_elision():
    about, against, _ = evidence([("S0", "Chloé, tu peux faire le planning ?"), ("S1", "Oui, d'ici jeudi."),
                                  ("S2", "Je pense qu'Alice a raison sur ce point."),
                                  ("S3", "D'accord avec Chloé, d'ailleurs.")], TEAM, "fr")
    assert ("asked", "S1", ("Chloé Bernard",)) in about
    assert ("S2", ("Alice Martin",)) in against  # "qu'Alice": talked about, so not the speaker
    # "d'accord avec Chloé" points at who just spoke (here S2, wrongly: one weak piece the assignment weighs)
    assert ("agreed", "S2", ("Chloé Bernard",)) in about


def test_hyphenated_first_name_and_nickname():
    invitees = people("Anne-Sophie Meunier", "Alexandre Roy", "William Shaw")
    about, _, _ = evidence([("S0", "Merci Anne-Sophie."), ("S1", "Alex, tu peux partager ton écran ?"),
                            ("S2", "Oui, voilà."), ("S1", "Bill, anything to add?"), ("S3", "No.")], invitees, "fr")
    assert ("asked", "S2", ("Alexandre Roy",)) in about
    assert ("asked", "S3", ("William Shaw",)) in about


def test_a_first_name_two_invitees_share_points_to_both():
    invitees = people("Tom Hughes", "Tom Patel", "Rose Adams")
    about, against, _ = evidence([("S0", "Tom, do you want to share your screen?"), ("S1", "Yep, one sec.")],
                                 invitees)
    assert ("asked", "S1", ("Tom Hughes", "Tom Patel")) in about
    assert not against  # S0 may be the other Tom


def test_which_one_then_the_full_name_goes_to_the_one_who_answers():
    invitees = people("Marie Dupont", "Marie Leroy", "Romain Faure")
    about, _, _ = evidence([("S0", "Marie, tu peux faire le planning ?"), ("S1", "Laquelle ?"),
                            ("S0", "Ah, pardon. Marie Dupont. C'est toujours toi."), ("S2", "Oui, pas de souci.")],
                           invitees, "fr")
    assert ("asked", "S2", ("Marie Dupont",)) in about
    assert not any(label == "S1" and names == ("Marie Dupont",) for _, label, names in about)


@pytest.mark.parametrize("text", ["Mark my words, they'll call us on the first.", "We gave them a grace period.",
                                  "I will never understand this printer.", "Pass me the bill, please."])
def test_names_that_are_words_need_to_be_said_as_names(text):
    invitees = people("Mark Evans", "Grace Liu", "Will Turner", "Bill Warren")
    about, against, _ = evidence([("S0", "Okay."), ("S1", text), ("S2", "Sure.")], invitees)
    assert not about and not against


def test_a_name_that_is_a_word_said_as_a_name_counts():
    invitees = people("Pierre Garnier", "Rose Adams")
    about, _, _ = evidence([("S0", "La façade en pierre sera refaite. Pierre, tu peux prévenir les managers ?"),
                            ("S1", "Oui, lundi."), ("S0", "Rose, could you ask Margaret?"), ("S2", "Sure.")],
                           invitees, "fr")
    assert ("asked", "S1", ("Pierre Garnier",)) in about and ("asked", "S2", ("Rose Adams",)) in about
    assert len([a for a in about if a[2] == ("Pierre Garnier",)]) == 1  # "pierre" the stone is no one


@pytest.mark.parametrize("text, language", [
    ("David couldn't make it today, he's at the dentist.", "en"),
    ("David is away today.", "en"),
    ("David sends his apologies, he's at a customer site.", "en"),
    ("Let's keep it open until David is back.", "en"),
    ("David est en déplacement cette semaine.", "fr"),
    ("David est en congé, donc on fait sans lui.", "fr"),
    ("David est en formation toute la journée, il s'excuse.", "fr"),
    ("David m'a envoyé un texto, il ne viendra pas.", "fr"),
    ("David a prévenu, il est sur un autre chantier.", "fr"),
])
def test_said_absent(text, language):
    _, against, absent = evidence([("S0", text), ("S1", "Okay.")], TEAM, language)
    assert absent == {"David Okafor"}
    assert ("S0", ("David Okafor",)) in against


@pytest.mark.parametrize("text, language", [
    ("David is off next week, so let's plan around it.", "en"),
    ("David, were you sick last week?", "en"),
    ("David a prévenu le client hier.", "fr"),
    ("Alice is away today, David will tell her.", "en"),  # two people named: whose absence is unclear
    ("Merci à David pour le tableau.", "fr"),
])
def test_not_said_absent(text, language):
    _, _, absent = evidence([("S0", text), ("S1", "Okay.")], TEAM, language)
    assert "David Okafor" not in absent


def test_a_guest_who_says_their_name_and_a_name_nobody_invited():
    about, _, _ = evidence([("S0", "Let's do introductions."), ("S1", "Hello all, this is Peter Harlow from Greenleaf."),
                            ("S0", "Great to have you, Peter."), ("S2", "Hi Margaret, can you hear us?"),
                            ("S3", "Yes.")], TEAM)
    assert ("announced", "S1", ("Peter Harlow",)) in about
    assert any(names == ("Margaret",) for _, _, names in about)


def test_no_punctuation_only_a_name_ending_a_turn_is_a_call():
    about, _, _ = evidence([("S0", "ok next point"), ("S1", "the ups is beeping again"),
                            ("S0", "thanks bruno anything on hardware"), ("S2", "yes the batteries")], TEAM)
    assert not any(kind in ("thanked", "asked") for kind, *_ in about)
    about, _, _ = evidence([("S1", "i sent the contract"), ("S0", "thank you bruno"), ("S2", "ok")], TEAM)
    assert ("thanked", "S1", ("Bruno Petit",)) in about


def test_a_list_of_names_is_no_call_and_news_of_someone_is_no_introduction():
    about, _, _ = evidence([("S0", "Okay."), ("S1", "Alice, Bob and Carol will handle the launch."),
                            ("S2", "Fine.")], people("Alice Martin", "Bob Stone", "Carol Jones"))
    assert not about
    about, _, _ = evidence([("S0", "Le téléphone sonne."), ("S1", "C'est Bruno, il arrive dans cinq minutes."),
                            ("S2", "D'accord.")], TEAM, "fr")
    assert not any(kind in ("introduced", "announced") for kind, *_ in about)


def test_someone_said_away_who_arrives_after_all_is_not_absent():
    _, _, absent = evidence([("S0", "David is away today, let's start."), ("S1", "Okay."),
                             ("S0", "Oh, hi David, you made it after all!"), ("S2", "Yes, the train was early.")], TEAM)
    assert absent == set()


def test_introducing_someone_else():
    about, against, _ = evidence([("S0", "Everyone, this is Bob, our new intern."), ("S1", "Hi all, glad to be here."),
                                  ("S0", "This is Bob's plan, by the way. We'll meet Carol tomorrow."), ("S2", "Ok.")],
                                 people("Bob Stone", "Carol Jones"))
    assert ("presented", "S1", ("Bob Stone",)) in about and ("S0", ("Bob Stone",)) in against
    assert not any(kind in ("introduced", "announced") for kind, *_ in about)
    assert not any(names == ("Carol Jones",) for _, _, names in about)  # "meet Carol tomorrow": no one presented
