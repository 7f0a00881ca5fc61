"""Due dates said in French and English, resolved against the meeting date."""

from __future__ import annotations

from datetime import date

import pytest

from voicebot.minutes.dates import find_dates, find_time

THURSDAY = date(2026, 3, 12)
WEDNESDAY = date(2026, 3, 11)
FRIDAY = date(2026, 3, 13)


@pytest.mark.parametrize("text, base, expected", [
    ("by Friday", THURSDAY, "2026-03-13"),
    ("before next Tuesday", THURSDAY, "2026-03-17"),
    ("by the end of the month", THURSDAY, "2026-03-31"),
    ("by the end of the week", THURSDAY, "2026-03-13"),
    ("by the end of next week", THURSDAY, "2026-03-20"),
    ("tomorrow", THURSDAY, "2026-03-13"),
    ("the day after tomorrow", THURSDAY, "2026-03-14"),
    ("in two weeks", THURSDAY, "2026-03-26"),
    ("on the seventh of April", THURSDAY, "2026-04-07"),
    ("on April 7th", THURSDAY, "2026-04-07"),
    ("next week", THURSDAY, "2026-03-20"),
    ("on Friday next week", THURSDAY, "2026-03-20"),
    ("by the 20th", THURSDAY, "2026-03-20"),
    ("by the end of April", THURSDAY, "2026-04-30"),
    ("on 2026-05-04", THURSDAY, "2026-05-04"),
    ("avant vendredi", WEDNESDAY, "2026-03-13"),
    ("d'ici la fin du mois", WEDNESDAY, "2026-03-31"),
    ("lundi prochain", WEDNESDAY, "2026-03-16"),
    ("mercredi prochain", WEDNESDAY, "2026-03-18"),
    ("demain", WEDNESDAY, "2026-03-12"),
    ("après-demain", WEDNESDAY, "2026-03-13"),
    ("dans trois jours", WEDNESDAY, "2026-03-14"),
    ("d'ici deux semaines", WEDNESDAY, "2026-03-25"),
    ("le 14 avril", WEDNESDAY, "2026-04-14"),
    ("le quatorze avril", WEDNESDAY, "2026-04-14"),
    ("le 1er avril", WEDNESDAY, "2026-04-01"),
    ("la semaine prochaine", WEDNESDAY, "2026-03-20"),
    ("vendredi de la semaine prochaine", WEDNESDAY, "2026-03-20"),
    ("fin avril", WEDNESDAY, "2026-04-30"),
    ("d'ici la fin de la semaine", WEDNESDAY, "2026-03-13"),
    ("20/03", WEDNESDAY, "2026-03-20"),
    # a weekday is the first such day strictly after the meeting date
    ("by Friday", FRIDAY, "2026-03-20"),
    # a day and month already long past is next year's
    ("on the 5th of January", THURSDAY, "2027-01-05"),
    # end of the year, December meeting
    ("by the end of the year", date(2026, 12, 1), "2026-12-31"),
    ("by the end of next month", date(2026, 12, 15), "2027-01-31"),
])
def test_date_expressions(text, base, expected):
    found = find_dates(text, base)
    assert [m.value.isoformat() for m in found] == [expected], found


@pytest.mark.parametrize("text", ["may I ask something", "we can march on", "it is a second point",
                                  "nous avons un point", "on en a parlé hier soir"])
def test_words_that_are_not_dates(text):
    assert find_dates(text, THURSDAY) == []


def test_match_positions_point_into_the_original_text():
    text = "Réserver l’hôtel d'ici la fin du mois, merci."
    (match,) = find_dates(text, WEDNESDAY)
    assert text[match.start:match.end] == match.text == "la fin du mois"


@pytest.mark.parametrize("text, expected", [
    ("let us meet again at ten", "10:00"), ("at 2 pm", "14:00"), ("at 9:30", "09:30"),
    ("à dix heures", "10:00"), ("à 14h30", "14:30"), ("à 9 h", "09:00"), ("next Thursday", None),
])
def test_times_of_day(text, expected):
    assert find_time(text) == expected
