"""The extractive engine on the way people really talk: what must not become an action item
(jokes, discourse markers, ratings, narration, questions, needs nobody takes) and what must
(indirect requests someone accepts, an owner named after the task); loose decisions that are
agreed to, and the ones that are not. English and French."""

from __future__ import annotations

import pytest
from minutes_helpers import transcript_of

from voicebot.config import Settings
from voicebot.minutes import draft


def _actions(turns, language="en"):
    minutes = draft(transcript_of(turns, language=language, date="2026-03-11"), Settings())
    return [(a.owner, a.task, a.due) for a in minutes.action_items]


def _decisions(turns, language="en"):
    return [d.text for d in draft(transcript_of(turns, language=language), Settings()).decisions]


# --- not action items -----------------------------------------------------------------------------------

@pytest.mark.parametrize("turns", [
    # jokes and banter
    [("Alice", "I'll tell you that's supposed to be a tiger."), ("Bob", "Ha, sure.")],
    [("Alice", "Can you leave me a space at the bottom, I'm little?"), ("Bob", "Sure.")],
    [("Alice", "Of course I'll make one that walks by itself."), ("Bob", "Yeah.")],
    # discourse markers
    [("Alice", "Tell you what, let me think about the budget.")],
    [("Alice", "Let me see the numbers first."), ("Bob", "Okay.")],
    [("Alice", "I think the budget is fine, I mean the supplier is cheap.")],
    [("Alice", "I will never understand this spreadsheet.")],
    # narration of a commitment, and a commitment only if
    [("Alice", "Last week I said I'll send the report to the client, and I did.")],
    [("Alice", "If I can find the contract, I'll be happy."), ("Bob", "Good.")],
    # questions
    [("Alice", "Will Carol send the budget to the client by Friday?"), ("Bob", "I don't know.")],
    [("Alice", "How will you handle the whole market with one product?"), ("Bob", "Good question.")],
    # what is done in the meeting itself: showing, rating, right now
    [("Alice", "I'll show you the agenda."), ("Alice", "I'll give it a two."), ("Bob", "I'll say three.")],
    [("Alice", "I'll put the figures on the screen right now.")],
    # a need nobody takes, a "you" that is anyone
    [("Alice", "We need to find a cheaper supplier for the cases."), ("Bob", "Yeah."), ("Carol", "Mm-hmm.")],
    [("Alice", "You need to press the red button twice to switch the remote on."), ("Bob", "Yeah.")],
    # "I can" is ability unless the task is plainly one
    [("Alice", "I can do the timing node in here too.")],
])
def test_not_action_items_in_english(turns):
    assert _actions(turns) == []


@pytest.mark.parametrize("turns", [
    [("Camille", "Je vais vous montrer le planning."), ("Julien", "D'accord.")],
    [("Camille", "Je vais réfléchir à tout ça."), ("Julien", "Très bien.")],
    [("Camille", "Je lui ai dit que je vais envoyer le devis, et c'est fait.")],
    [("Camille", "Il faut trouver un nouveau fournisseur pour les brochures."), ("Julien", "Oui.")],
    [("Camille", "Tu dois appuyer deux fois sur le bouton pour allumer la télé."), ("Julien", "Ah oui.")],
    [("Camille", "Est-ce que Thomas va appeler le client avant vendredi ?"), ("Julien", "Je ne sais pas.")],
    [("Camille", "Je vais mettre les chiffres à l'écran tout de suite.")],
])
def test_not_action_items_in_french(turns):
    assert _actions(turns, language="fr") == []


# --- action items ---------------------------------------------------------------------------------------

def test_an_indirect_request_taken_by_who_offers():
    turns = [("Alice", "It would be great if someone could draft the press release before Friday."),
             ("Bob", "I can do that.")]
    assert _actions(turns) == [("Bob", "Draft the press release", "2026-03-13")]


def test_could_someone_is_a_need_even_as_a_question():
    turns = [("Alice", "Could someone book the meeting room for Tuesday?"), ("Carol", "I'll take care of it.")]
    assert _actions(turns) == [("Carol", "Book the meeting room", "2026-03-17")]


def test_owner_named_after_the_task():
    turns = [("Alice", "Someone needs to prepare the slides for the client review by Monday."),
             ("Bob", "The slides, that's for Chloé.")]
    assert _actions(turns) == [("Chloé", "Prepare the slides for the client review", "2026-03-16")]


def test_owner_named_after_the_task_in_french():
    turns = [("Camille", "Il faut réserver la salle pour la formation d'ici jeudi."),
             ("Sophie", "Julien s'en occupe.")]
    assert _actions(turns, language="fr") == [("Julien", "Réserver la salle pour la formation", "2026-03-12")]


def test_a_request_by_name_in_french():
    turns = [("Camille", "Julien, tu peux m'envoyer le rapport d'activité d'ici vendredi ?"),
             ("Julien", "Oui, pas de souci.")]
    ((owner, task, due),) = _actions(turns, language="fr")
    assert (owner, due) == ("Julien", "2026-03-13") and "envoyer le rapport d'activité" in task


def test_a_french_request_by_wish_taken_by_who_offers():
    turns = [("Camille", "Ce serait bien si quelqu'un pouvait relire le contrat avant lundi."),
             ("Julien", "Je m'en occupe.")]
    assert _actions(turns, language="fr") == [("Julien", "Relire le contrat", "2026-03-16")]


def test_real_speech_commitments_are_kept():
    turns = [("Alice", "Um so I'll be putting the minutes of this meeting into the project folder."),
             ("Bob", "Mm I don't have the prices. So I'll have to ask the manufacturing department."),
             ("Carol", "I'll uh make a summary of the survey for next week.")]
    assert [(owner, task) for owner, task, _ in _actions(turns)] == [
        ("Alice", "Put the minutes of this meeting into the project folder"),
        ("Bob", "Ask the manufacturing department"),
        ("Carol", "Make a summary of the survey")]


def test_showing_is_a_task_when_it_is_for_later_or_for_someone():
    turns = [("Alice", "I'll show the prototype to David tomorrow."),
             ("Bob", "And I'll present the survey results next time.")]
    assert [owner for owner, _, _ in _actions(turns)] == ["Alice", "Bob"]


# --- decisions ------------------------------------------------------------------------------------------

def test_an_amount_settled_and_agreed():
    turns = [("Alice", "So what price do we settle on?"), ("Bob", "I'd say twenty five euros."),
             ("Alice", "Okay, twenty five euros then."), ("Carol", "Yeah, fine.")]
    assert _decisions(turns) == ["Twenty five euros."]
    assert _decisions([("Alice", "Okay, 25 euros then."), ("Bob", "Fine.")]) == ["25 euros."]


def test_loose_decisions_agreed_to_or_concluded():
    assert _decisions([("Alice", "Let's go with the silver plastic case."), ("Bob", "Yeah, sounds good.")]) == [
        "Go with the silver plastic case."]
    assert _decisions([("Alice", "Okay, so we'll go for an international market.")]) == [
        "Go for an international market."]


def test_loose_decisions_not_taken():
    assert _decisions([("Alice", "Let's go with the yellow one."), ("Bob", "No, I would break it.")]) == []
    assert _decisions([("Alice", "Let's go with the yellow one.")]) == []  # nobody agreed, no conclusion
    assert _decisions([("Alice", "I think we'll go for the rubber case."), ("Bob", "Okay.")]) == []  # hedged
    assert _decisions([("Alice", "Okay, two then."), ("Bob", "Yeah.")]) == []  # a score, not an amount of anything
    assert _decisions([("Alice", "Should we go with the yellow one?"), ("Bob", "Yeah.")]) == []


def test_loose_decisions_in_french():
    assert _decisions([("Camille", "Bon, on part sur la version en ligne."), ("Julien", "D'accord.")],
                      language="fr") == ["Partir sur la version en ligne."]
    assert _decisions([("Camille", "On garde le même fournisseur."), ("Julien", "Oui, très bien.")],
                      language="fr") == ["Garder le même fournisseur."]
    assert _decisions([("Camille", "On garde le même fournisseur ?"), ("Julien", "Oui.")], language="fr") == []
    assert _decisions([("Camille", "On part sur la version en ligne."), ("Julien", "Non, plutôt le papier.")],
                      language="fr") == []
