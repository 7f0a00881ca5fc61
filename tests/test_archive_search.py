"""Search finds what was said, in French and English, on SQLite and PostgreSQL;
any text is a valid query (hostile ones included)."""

from __future__ import annotations

import random
from datetime import date, datetime, timezone

import pytest
from archive_samples import PLANNING_EN, WEEKLY_FR, store_meeting

from voicebot.archive import open_archive
from voicebot.archive.query import Term, parse, to_fts5, tokenize

M1 = "20261103-093000-hebdo-a1b2"
M2 = "20261110-140000-roadmap-c3d4"
M3 = "20261117-093000-budget-e5f6"

BUDGET_DAY = [
    ("Karim Benali", "Budget, budget, budget : le budget est la seule question du jour."),
    ("Zoé Martin", "La reunion sans accent est notée ici par erreur de saisie."),
    ("Lucie Ferrand", "Le charge de plan n'est pas le plan de charge."),
    ("Karim Benali", "Fin de la séance, merci à tous."),
]


@pytest.fixture
def db(archive_settings, home):
    with open_archive(archive_settings) as archive:
        store_meeting(archive, home, M1, "Réunion hebdo", "2026-11-03T09:30:00+01:00", WEEKLY_FR, files=False)
        store_meeting(archive, home, M2, "Quarterly roadmap", "2026-11-10T14:00:00+01:00", PLANNING_EN,
                      language="en", files=False)
        store_meeting(archive, home, M3, "Budget", "2026-11-17T09:30:00+01:00", BUDGET_DAY, files=False)
        yield archive


def texts(hits):
    return [h.text for h in hits]


def test_accents_and_case_are_ignored_both_ways(db):
    # "reunion" finds "réunion", and "réunion" finds the "reunion" typed without its accent
    found = texts(db.search("reunion"))
    assert "Bonjour à tous, on commence la réunion hebdomadaire." in found
    assert "La reunion sans accent est notée ici par erreur de saisie." in found
    assert set(texts(db.search("RÉUNION"))) == set(found)
    assert texts(db.search("helios")) == ["Le budget du projet Hélios doit être validé avant vendredi."]
    assert db.search("seance")[0].meeting_id == M3


def test_bm25_ranks_the_segment_about_it_first(db):
    hits = db.search("budget")
    assert hits[0].text.startswith("Budget, budget, budget")
    assert hits[0].score >= hits[1].score >= hits[-1].score
    assert {h.meeting_id for h in hits} == {M1, M2, M3}


def test_prefix_phrase_or_and_not(db):
    assert "Le budget du projet Hélios doit être validé avant vendredi." in texts(db.search("Héli*"))
    assert texts(db.search("hebdoma*")) == ["Bonjour à tous, on commence la réunion hebdomadaire."]
    phrase = texts(db.search('"plan de charge"'))
    assert "D'accord, je prépare le plan de charge pour l'équipe." in phrase
    assert "Le charge de plan n'est pas le plan de charge." in phrase
    assert all("plan de charge" in t for t in phrase)
    assert texts(db.search('"charge de plan"')) == ["Le charge de plan n'est pas le plan de charge."]
    both = texts(db.search("devis OR interviews"))
    assert any("devis" in t for t in both) and any("interviews" in t for t in both)
    assert all("devis" in t or "interviews" in t for t in both)
    without = texts(db.search("budget -Hélios"))
    assert without and all("Hélios" not in t for t in without)
    assert texts(db.search("budget NOT Hélios")) == without
    all_words = texts(db.search("budget vendredi"))  # AND is implied
    assert all_words == ["Le budget du projet Hélios doit être validé avant vendredi."]
    assert texts(db.search("budget AND vendredi")) == all_words


def test_filters_speaker_meeting_and_dates(db):
    assert {h.speaker for h in db.search("budget", speaker="karim")} == {"Karim Benali"}
    assert {h.speaker for h in db.search("budget", speaker="Karim Benali")} == {"Karim Benali"}
    assert db.search("budget", speaker="zoe martin") == []
    assert {h.speaker for h in db.search("reunion", speaker="Zoé")} == {"Zoé Martin"}
    assert db.search("budget", speaker="nobody at all") == []
    assert {h.meeting_id for h in db.search("budget", meeting=M2)} == {M2}
    assert {h.meeting_id for h in db.search("budget", since="2026-11-10")} == {M2, M3}
    assert {h.meeting_id for h in db.search("budget", until="2026-11-10")} == {M1, M2}
    assert {h.meeting_id for h in db.search("budget", since="2026-11-04", until="2026-11-16")} == {M2}
    assert {h.meeting_id for h in db.search("budget", since="2026-11-10T14:00:00+01:00")} == {M2, M3}
    assert {h.meeting_id for h in db.search("budget", since=date(2026, 11, 4), until=date(2026, 11, 10))} == {M2}
    assert {h.meeting_id for h in db.search("budget", until=datetime(2026, 11, 10, 13, 0, tzinfo=timezone.utc))} == {M1, M2}
    assert len(db.search("budget", limit=2)) == 2
    assert db.search("budget", limit=0) == []


def test_a_hit_says_where_it_is_and_highlights_the_words(db):
    hit = db.search("validé vendredi")[0]
    assert (hit.meeting_id, hit.title, hit.speaker) == (M1, "Réunion hebdo", "Karim Benali")
    assert hit.started_at == "2026-11-03T09:30:00+01:00" and hit.start == 6.0 and hit.end == 11.5
    assert "[validé]" in hit.snippet and "[vendredi]" in hit.snippet
    highlighted = [text for text, is_hit in hit.fragments if is_hit]
    assert highlighted == ["validé", "vendredi"]
    assert "".join(text for text, _ in hit.fragments).replace("[", "") in hit.text
    data = hit.to_dict()
    assert data["snippet"] == hit.snippet and data["meeting_id"] == M1


HOSTILE = [
    '"', '""', '"""', "'", "*", "**", "-", "--", "- -", "(", ")", "()", "((budget", "budget))", "AND", "OR", "NOT",
    "AND OR NOT", "budget AND", "OR budget", "NOT budget", "budget NOT", "-budget", "--budget", "budget -",
    "NEAR(budget devis)", "budget NEAR devis", "text:budget", "segments_fts:budget", "{text}: budget",
    "budget^2", "^budget", "'; DROP TABLE segments; --", "1' OR '1'='1", "\") OR 1=1 --",
    "budget\" OR \"x", "😀", "budget 😀", "🔥*", "\x00", "bud\x00get", "\\", "%", "_", "%budget%", "?", "$1",
    ":budget", "budget:", "budget:*", "'budget':*", "!budget", "budget & devis", "budget | devis", "budget <-> devis",
    "«réunion»", "“plan de charge”", "l'équipe", "e-mail", "a" * 5000, "budget " * 500, " ", "", "\n\t",
    "SELECT * FROM meetings", "rank:bm25", "*budget", "bud*get", "budget**", '"budget"*', '-"plan de charge"',
    "ﾚﾆｵﾝ", "Ωμέγα", "日本語の会議", "مرحبا", "z͑͗a͊l̓g̐o",
]


def test_hostile_queries_never_error_and_never_inject(db):
    before = db.backend.value("SELECT COUNT(*) AS n FROM segments")
    for query in HOSTILE:
        hits = db.search(query)  # no syntax error, whatever the text
        assert isinstance(hits, list), query
        db.search(query, speaker=query, since=None)
    assert db.backend.value("SELECT COUNT(*) AS n FROM segments") == before
    assert db.search("budget")  # the index is intact
    assert texts(db.search("l'équipe")) == ["D'accord, je prépare le plan de charge pour l'équipe."]
    assert texts(db.search("«réunion»")) == texts(db.search("réunion"))
    assert texts(db.search("“plan de charge”")) == texts(db.search('"plan de charge"'))
    assert texts(db.search("budget 😀")) == texts(db.search("budget"))


def test_random_garbage_queries_never_error(db):
    rng = random.Random(20261124)
    alphabet = list('"*()-:^+|&!\'\\;%_ ?{}[]<>~@#NOTANDOR') + ["budget", "réunion", "😀", " OR ", " NOT ", " AND "]
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25)))
        assert isinstance(db.search(query, limit=5), list), query


def test_stored_text_that_looks_like_syntax_is_found_as_text(db, home):
    lines = [("Eve", 'She typed "NEAR(x y)" AND OR NOT * into the box; DROP TABLE meetings;'),
             ("Eve", "Prix : 12 % de remise, code_promo_2026, total 1 234,56 €.")]
    store_meeting(db, home, "20261120-100000-odd-0001", "Odd", "2026-11-20T10:00:00+01:00", lines, files=False)
    assert len(db.search('"DROP TABLE meetings"')) == 1
    assert len(db.search("NEAR")) == 1
    assert len(db.search("code_promo_2026")) == 1  # '_' separates words, as in the index
    assert len(db.search("remise 12")) == 1
    assert db.get_meeting("20261120-100000-odd-0001")


# --- the parser alone (fast, no database) -------------------------------------------------


def test_tokenize_splits_like_the_index():
    assert tokenize("l'équipe, e-mail: 😀 café") == ["l", "équipe", "e", "mail", "café"]
    assert tokenize("") == []


def test_parse_and_render_fts5():
    q = parse('budget "plan de charge" héli* devis OR interviews -draft')
    assert [[str(t) for t in g] for g in q.groups] == [["budget"], ['"plan de charge"'], ["héli*"],
                                                       ["devis", "interviews"]]
    assert q.excluded == [Term(("draft",))]
    assert to_fts5(q) == '("budget" AND "plan de charge" AND "héli"* AND ("devis" OR "interviews")) NOT "draft"'
    assert parse("").empty and parse('"" () * -').empty and to_fts5(parse("")) == ""
    assert [[str(t) for t in g] for g in parse("-budget").groups] == [["budget"]]  # exclusions alone: searched
    assert str(parse("l'équipe")) == '"l équipe"'
    assert len(parse("mot " * 1000).terms) == 32


def test_very_common_words_are_ranked_among_the_most_recent_matches(db, home, monkeypatch):
    monkeypatch.setattr(db.backend, "rank_cap", 3)
    newest = "20261120-100000-recent-0001"
    store_meeting(db, home, newest, "Recent", "2026-11-20T10:00:00+01:00",
                  [("Eve", "budget"), ("Eve", "le budget encore"), ("Eve", "rien"), ("Eve", "budget final")],
                  files=False)
    hits = db.search("budget")
    assert {h.meeting_id for h in hits} == {newest} and len(hits) == 3
    assert hits[0].text == "budget"  # still BM25 order among them
    # filters narrow first, then the cap applies to what is left
    assert len(db.search("budget", meeting=M1)) == 1 and len(db.search("budget", until="2026-11-16")) == 2
    assert {h.meeting_id for h in db.search("budget", speaker="Karim")} == {M1, M3}


def test_snippets_mark_words_phrases_prefixes_and_inflections():
    from voicebot.archive.snippets import highlight

    def marked(text, query, words=16):
        return "".join(f"[{t}]" if hit else t for t, hit in highlight(text, parse(query), words))

    assert marked("La réunion de l'équipe commence.", "reunion") == "La [réunion] de l'équipe commence."
    assert marked("Le plan de charge, puis le plan.", '"plan de charge"') == "Le [plan de charge], puis le plan."
    assert marked("Budgets et budgétaire.", "budg*") == "[Budgets] et [budgétaire]."
    assert marked("Les réunions validées.", "réunion valider") == "Les [réunions validées]."  # next to each other: one mark
    assert marked("Rien à voir ici.", "budget") == "Rien à voir ici."
    long = " ".join(f"mot{i}" for i in range(40)) + " le budget final " + " ".join(f"fin{i}" for i in range(40))
    assert marked(long, "budget", words=8) == "…mot38 mot39 le [budget] final fin0 fin1 fin2…"
    assert highlight("", parse("x")) == []
