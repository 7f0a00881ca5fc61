"""The Markdown of the minutes: both languages, every section, and user text kept inert."""

from __future__ import annotations

import re

from voicebot import schema
from voicebot.minutes import render_markdown


def _minutes(**values) -> schema.Minutes:
    base = dict(title="Sprint review", date="2026-03-12", duration=3723.0, language="en", present=["Alice", "Bob"],
                absent=["David"], talk_time={"Alice": 60.0, "Bob": 20.0}, summary="Short.",
                key_points=[schema.KeyPoint("The demo went well.", 12.0, 15.0)],
                decisions=[schema.Decision("Ship on Friday.", 75.0, 80.0, speaker="Alice")],
                action_items=[schema.ActionItem("Bob", "Fix the login bug", "2026-03-13", 90.0, 95.0),
                              schema.ActionItem(None, "Book a room", None, 100.0, 104.0)],
                open_questions=[schema.Question("Who pays for the hosting?", 110.0, 113.0)],
                next_meeting="2026-03-19T10:00", notes=["A note."])
    base.update(values)
    return schema.Minutes(**base)


def test_english_minutes():
    text = render_markdown(_minutes())
    for part in ["# Sprint review", "**Date:** Thursday 12 March 2026", "**Duration:** 1 h 02 min",
                 "**Present:** Alice, Bob", "**Absent:** David", "## Summary", "- [0:12] The demo went well.",
                 "1. Ship on Friday. _(Alice, 1:15–1:20)_", "| Bob | Fix the login bug | Fri 13 Mar 2026 | 1:30–1:35 |",
                 "| (nobody named) | Book a room | — |", "- Who pays for the hosting? _(1:50)_",
                 "Thursday 19 March 2026, 10:00", "- Alice: 1 min 00 s (75 %)", "_A note._"]:
        assert part in text, (part, text)


def test_french_minutes():
    text = render_markdown(_minutes(language="fr", decisions=[], open_questions=[], next_meeting="2026-03-18"))
    for part in ["**Date :** jeudi 12 mars 2026", "**Présents :** Alice, Bob", "## Décisions\n\nAucune.",
                 "| Responsable | Tâche | Échéance | Moment |", "ven. 13 mars 2026", "## Prochaine réunion\n\nmercredi 18 mars 2026",
                 "- Alice : 1 min 00 s (75 %)"]:
        assert part in text, (part, text)
    assert "Questions ouvertes" not in text


def test_the_first_of_the_month_is_1er_in_french_as_in_the_messages():
    from voicebot.mail.i18n import Words

    first = _minutes(language="fr", date="2026-03-01", next_meeting="2026-04-01T10:00",
                     action_items=[schema.ActionItem("Bob", "Fix the login bug", "2026-05-01", 90.0, 95.0)])
    text = render_markdown(first)
    for part in ["**Date :** dimanche 1er mars 2026", "ven. 1er mai 2026", "mercredi 1er avril 2026, 10 h 00"]:
        assert part in text, (part, text)
    assert Words("fr").date("2026-03-01") == "dimanche 1er mars 2026"  # the same words as the messages
    assert "**Date:** Sunday 1 March 2026" in render_markdown(_minutes(date="2026-03-01"))


def test_user_text_cannot_inject_markdown_or_html():
    text = render_markdown(_minutes(title="<script>alert(1)</script> | [x](http://evil)",
                                    action_items=[schema.ActionItem("Eve|Mallory", "a\nb | c", None, 1.0, 2.0)]))
    # Escaped: shown as typed, never a tag or a link.
    assert re.search(r"(?<!\\)<script", text) is None and "\\[x\\](http://evil)" in text
    assert "| Eve\\|Mallory | a b \\| c |" in text


def test_other_languages_get_english_words():
    text = render_markdown(_minutes(language="de"))
    assert "## Decisions" in text and "**Language:** German" in text
