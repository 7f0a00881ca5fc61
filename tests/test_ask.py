"""Ask your meetings: passages and their vectors, hybrid retrieval under the access rule, erasure of
vectors, `meetings import`, and answers that cite (voicebot/archive/vectors.py, voicebot/ask.py).

The embedding model is the real one (multilingual USE, numpy, shipped in its wheel); tests whose
point is its quality across languages, and those with the language model, are marked slow."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from archive_samples import store_meeting
from conftest import run_cli

from voicebot import ask, schema
from voicebot.archive import FORGOTTEN, open_archive
from voicebot.archive.access import MeetingView, Viewer
from voicebot.archive.vectors import Passage, fused, windows

EN = "20261124-093000-product-sync-a1b2"
FR = "20261125-100000-point-produit-c3d4"
EN_LINES = [
    ("Alice Walker", "Our current hosting provider doubled its prices this year, so we looked at other offers."),
    ("Bob Stone", "I compared three companies. OVH is the cheapest and their support answered within the hour."),
    ("Alice Walker", "Then it is settled: we move every server to OVH at the start of next month."),
    ("Chloe Martin", "About the beta: the payment bug is still open, so the beta release slips by two weeks."),
    ("Bob Stone", "Marketing gets ten percent less budget next quarter; the trade fair stand is cancelled."),
    ("Chloe Martin", "We hire two backend developers; interviews start on Monday with the recruiting agency."),
]
FR_LINES = [
    ("Zoé Durand", "Le déménagement des bureaux est repoussé à septembre car les travaux ont pris du retard."),
    ("Karim Benali", "Pour la cantine, le nouveau traiteur livre des repas végétariens tous les jeudis."),
    ("Zoé Durand", "La formation à la sécurité informatique est obligatoire pour tous avant la fin du mois."),
    ("Karim Benali", "Le client Dupont a signé le contrat de maintenance pour trois ans."),
]


def settings_of_home():
    from voicebot.cli.app import settings

    return settings()


def _archive(db, home: Path) -> None:
    store_meeting(db, home, EN, "Product sync", "2026-11-24T09:30:00+01:00", EN_LINES, language="en")
    store_meeting(db, home, FR, "Point produit", "2026-11-25T10:00:00+01:00", FR_LINES, language="fr")
    db.index_passages()


def _segment(db, meeting_id: str, text: str) -> int:
    return db.backend.value("SELECT id FROM segments WHERE meeting_id = ? AND text LIKE ?", (meeting_id, f"%{text}%"))


def _covering(passages: list[Passage], db, meeting_id: str, text: str) -> int | None:
    """The rank (1-based) of the first passage holding the segment that says ``text``; None: not there."""
    wanted = _segment(db, meeting_id, text)
    for rank, passage in enumerate(passages, start=1):
        if passage.meeting_id == meeting_id and passage.segment_ids[0] <= wanted <= passage.segment_ids[1]:
            return rank
    return None


# --- passages ---------------------------------------------------------------------------------------


def test_windows_keep_turns_together_and_cut_long_talk():
    def seg(i, speaker, words):
        return {"id": i, "speaker": speaker, "text": " ".join(["word"] * words)}

    # short turns of different speakers share a passage until it has TURN_WORDS words
    groups = windows([seg(1, "A", 5), seg(2, "B", 5), seg(3, "A", 30), seg(4, "B", 10), seg(5, "B", 70)])
    assert [[s["id"] for s in g] for g in groups] == [[1, 2, 3], [4, 5]]
    # one speaker's long talk is cut near TARGET_WORDS, a segment longer than MAX_WORDS stays whole
    groups = windows([seg(i, "A", 20) for i in range(1, 8)] + [seg(8, "A", 300)])
    assert [[s["id"] for s in g] for g in groups] == [[1, 2, 3], [4, 5, 6], [7], [8]]


def test_reciprocal_rank_fusion_rewards_agreement():
    ranking = fused({"fts": ["a", "b", "c"], "semantic": ["c", "d", "a"]})
    keys = [key for key, _, _ in ranking]
    assert keys[:2] == ["a", "c"] and set(keys) == {"a", "b", "c", "d"}
    assert dict((k, r) for k, _, r in ranking)["a"] == {"fts": 1, "semantic": 3}


def test_question_words_make_an_any_word_query():
    query = ask.question_query("What did we decide about the hosting provider?")
    assert [str(t) for t in query.groups[0]] == ["hosting", "provider"]
    assert ask.question_query("what did we say?").empty


def test_the_speakers_a_question_names():
    speakers = ["Chloé Martin", "Industrial Designer", "Marketing", "Bob Stone", "PhD A", "Le Bihan"]
    assert ask.named_speakers(speakers, "What did the industrial designer think of the case?") == ["Industrial Designer"]
    assert ask.named_speakers(speakers, "Quand chloe a-t-elle parlé du budget marketing ?") == ["Chloé Martin",
                                                                                              "Marketing"]
    assert ask.named_speakers(speakers, "Who stole Bob's bike?") == ["Bob Stone"]
    assert ask.named_speakers(speakers, "Le budget est-il validé ?") == []  # "Le" is no first name


# --- retrieval, erasure -------------------------------------------------------------------------------


def test_passages_are_embedded_and_found_by_words_and_meaning(archive_settings, home):
    with open_archive(archive_settings) as db:
        _archive(db, home)
        assert db.passage_count(EN) >= 2 and db.passage_count(FR) >= 1
        assert db.meetings_to_embed() == [] and db.meetings_without_passages() == 0
        for mode in ("fts", "semantic", "hybrid"):
            found = ask.retrieve(db, "When does the beta release ship?", mode=mode, limit=3)
            assert _covering(found, db, EN, "payment bug") == 1, mode
        # filters as in search: meeting, speaker, dates
        assert {p.meeting_id for p in ask.retrieve(db, "contract", meeting=FR, limit=10)} == {FR}
        by_bob = ask.retrieve(db, "servers hosting budget", speaker="bob", limit=10)
        assert by_bob and all("Bob Stone" in p.speakers for p in by_bob)
        assert ask.retrieve(db, "hosting", since="2026-11-25", mode="semantic", limit=10)[0].meeting_id == FR
        assert ask.retrieve(db, "hosting", speaker="nobody at all") == []
        # a speaker the question names comes first among equals
        assert "Chloe Martin" in ask.retrieve(db, "What did Chloe say about the release?", limit=1)[0].speakers


def test_erasure_leaves_no_vector_behind(archive_settings, home):
    with open_archive(archive_settings) as db:
        _archive(db, home)
        hosting = _segment(db, EN, "OVH is the cheapest")
        before = db.backend.one("SELECT id, vector FROM passages WHERE first_segment <= ? AND last_segment >= ?",
                                (hosting, hosting))
        # renaming a speaker keeps the vectors (no name is embedded); the passages show the new name
        db.rename_speaker(EN, "Bob Stone", "Robert Stone")
        assert db.backend.value("SELECT vector FROM passages WHERE id = ?", (before["id"],)) == before["vector"]
        assert "Robert Stone" in ask.retrieve(db, "cheapest hosting company", limit=1)[0].speakers

        # a name redacted from what was said: the passage's vector goes, the meeting is embedded again
        report = db.forget_person("OVH")
        assert report["mentions_redacted"] == 2 and report["passages_embedded"] >= 1
        assert db.backend.one("SELECT id FROM passages WHERE vector = ?", (before["vector"],)) is None
        assert db.meetings_to_embed() == []
        texts = " ".join(p.text for p in ask.retrieve(db, "hosting provider", limit=10))
        assert "OVH" not in texts and FORGOTTEN in texts

        # what a person said, erased: no passage spans their segments any more
        db.forget_person("Chloe Martin", speech=True)
        assert not db.backend.query("SELECT p.id FROM passages p LEFT JOIN segments s ON s.id = p.first_segment "
                                    "OR s.id = p.last_segment WHERE s.id IS NULL")
        assert all("payment bug" not in p.text for p in ask.retrieve(db, "beta payment bug", limit=10))
        assert "Chloe" not in json.dumps([p.to_dict() for p in ask.retrieve(db, "beta", limit=10)])

        # a purged transcript (minutes kept) and a forgotten meeting: no passage left
        db.purge("1d", keep_minutes=True, now=datetime(2026, 11, 25, 12, tzinfo=timezone.utc))
        assert db.passage_count(EN) == 0
        db.forget_meeting(FR)
        assert db.passage_count() == 0
        assert ask.retrieve(db, "contrat de maintenance", limit=5) == []
    if not archive_settings.database.url:  # SQLite: not a byte of the erased vectors in its files
        for path in home.glob("voicebot.db*"):
            assert before["vector"] not in path.read_bytes(), path


def test_a_member_never_retrieves_a_passage_of_a_meeting_they_may_not_see(team):
    from security_helpers import ALL, VISIBLE
    from web_helpers import HOSTILE_ID, USER, settings_of

    home, env = team
    with open_archive(settings_of(home, **env)) as db:
        db.index_passages()
        assert {r["meeting_id"] for r in db.backend.query("SELECT DISTINCT meeting_id FROM passages")} == set(ALL)
        for user, visible in VISIBLE.items():
            row = db.get_user(user)
            view = MeetingView(db, Viewer(user, row["email"], row["role"]))
            for mode in ("fts", "semantic", "hybrid"):
                for question in ("When do we ship the release?", "the website launch", "Quand livrer la version ?"):
                    found = {p.meeting_id for p in ask.retrieve(view, question, mode=mode, limit=50)}
                    assert found <= visible, (user, mode, question, found)
                    if mode != "fts" and visible:
                        assert found, (user, mode, question)  # the semantic side always has candidates
                for meeting_id in set(ALL) - visible:  # a meeting's id as a filter opens nothing
                    assert ask.retrieve(view, "release", mode=mode, meeting=meeting_id, limit=50) == []
            if user != USER and HOSTILE_ID not in visible:
                assert ask.retrieve(view, "release", speaker="Zoé", limit=50) == []


def test_the_web_ask_box_answers_each_user_from_their_meetings_only(team, server):
    from security_helpers import ALL, VISIBLE, logged_in
    from web_helpers import EN_ID, settings_of

    home, env = team
    with open_archive(settings_of(home, **env)) as db:
        db.index_passages()
    for user, visible in VISIBLE.items():
        with logged_in(server, user) as http:
            answer = http.get("/api/ask", params={"q": "When do we ship the release?"})
            assert answer.status_code == 200, answer.text
            data = answer.json()
            cited = {c["meeting_id"] for c in data["citations"]}
            assert cited <= visible and data["found"] == bool(visible), (user, cited)
            assert all(c["url"].startswith(f"/meetings/{c['meeting_id']}?t=") for c in data["citations"])
            page = http.get("/ask", params={"q": "Quand livrer la version ?"})
            assert page.status_code == 200 and 'id="citations"' in page.text
            assert all(m not in page.text for m in set(ALL) - visible), user
            if not visible:
                assert ask.NOT_FOUND["en"] in http.get("/ask", params={"q": "What was decided?"}).text
            for meeting_id in set(ALL) - visible:
                refused = http.get("/api/ask", params={"q": "release", "meeting": meeting_id})
                assert refused.status_code == 400 and "no meeting" in refused.json()["detail"]
            assert http.get("/api/ask", params={"q": "   "}).status_code == 400
            assert http.get("/api/ask", params={"q": "x" * 1001}).status_code == 422
    with logged_in(server, "alice") as http:
        assert {c["meeting_id"] for c in http.get("/api/ask", params={"q": "website launch"}).json()["citations"]} == {EN_ID}


# --- answers -----------------------------------------------------------------------------------------


def test_claims_whose_citations_do_not_hold_are_dropped(archive_settings, home):
    with open_archive(archive_settings) as db:
        _archive(db, home)
        passages = ask.retrieve(db, "beta release date", limit=3)
        beta = _covering(passages, db, EN, "payment bug")
        other = next(n for n in range(1, 4) if n != beta)
        reply = {"found": True, "claims": [
            {"text": "The beta release slips by two weeks because of the payment bug.", "passages": [beta, other, 9]},
            {"text": "The capital of Australia is Canberra.", "passages": [other]},
            {"text": "Everyone agreed.", "passages": []},
            {"text": "La bêta est retardée de deux semaines à cause du bug de paiement.", "passages": [other]},
        ]}
        read = ask.readings("beta release date", passages)
        claims, dropped = ask.checked_claims(reply, read)
        # kept with the passages that say them (a wrong number corrected), the others dropped
        assert [(c.text[:8], c.citations) for c in claims] == [("The beta", [beta]), ("La bêta ", [beta])]
        assert dropped == 2
        assert ask.checked_claims({"found": False, "claims": reply["claims"]}, read) == ([], 0)


def test_the_model_reads_the_sentences_of_a_passage_closest_to_the_question():
    from voicebot.archive.vectors import Line

    said = [("Ana", "Good morning everyone, thanks for coming in so early today."),
            ("Ana", "The coffee machine on the second floor is broken again, so bring your own mug."),
            ("Ben", "About the budget: we will spend forty thousand euros on the new servers this year."),
            ("Ben", "The parking lot will be repainted next week, please park on the street."),
            ("Ana", "Marketing still waits for the photos of the new office for the website."),
            ("Ana", "Lunch is at noon as usual, and the canteen has a vegetarian menu."),
            ("Ben", "The printer needs new toner, I ordered two cartridges from the usual shop."),
            ("Ana", "Next Friday the office closes early because of the building's fire drill.")]
    lines = [Line(who, 10.0 * i, 10.0 * i + 9, text) for i, (who, text) in enumerate(said)]
    passage = Passage("m1", "Weekly", "2026-11-24T09:00:00+01:00", 0.0, 59.0, lines, 1.0)
    reading, = ask.readings("How much money goes to the servers?", [passage])
    shown = [said[k][1] for k in reading.shown]
    assert said[2][1] in shown and sum(len(t.split()) for t in shown) <= ask.FOCUS_WORDS < len(passage.text.split())
    assert reading.shown == sorted(reading.shown) and "Ben: About the budget" in reading.text
    assert reading.text.startswith("...") or reading.shown[0] == 0
    # the prompt shows the focused text with the meeting's title and date; the citation keeps the whole passage
    prompt = ask.messages("How much money goes to the servers?", [reading], "en")[1]["content"]
    assert "[1] (Weekly, 2026-11-24)" in prompt and reading.text in prompt
    assert all(text not in prompt for k, (_, text) in enumerate(said) if k not in reading.shown)


def test_without_a_model_ask_gives_the_best_passages_and_says_so(home):
    from voicebot.cli.app import settings

    with open_archive(settings()) as db:
        assert not ask.ask(settings(), db, "Who won the match?").found  # an empty archive
        _archive(db, home)
        answer = ask.ask(settings(), db, "Quand sort la version bêta ?")
    assert answer.engine == "passages" and answer.language == "fr" and "modèle" in answer.note
    assert answer.found and answer.citations[0].link.endswith(f"/meetings/{answer.citations[0].meeting_id}?t="
                                                              f"{int(answer.citations[0].start)}")


def test_import_a_transcript_then_search_and_ask(home, tmp_path):
    transcript = schema.Transcript("en", 30.0, "other-tool", "human", [
        schema.Segment(0.0, 8.0, "The quarterly review moves to Thursday afternoon.", speaker="Nina"),
        schema.Segment(8.0, 16.0, "We switch the mailing list to the new newsletter service.", speaker="Omar"),
        schema.Segment(16.0, 30.0, "Omar writes the announcement for the customers.", speaker="Nina")])
    path = tmp_path / "other.json"
    path.write_text(json.dumps(transcript.to_dict()), encoding="utf-8")
    done = run_cli("meetings", "import", str(path), "--title", "Ops review", "--date", "2026-10-02")
    assert done.returncode == 0, done.stderr
    meeting_id = done.stdout.split()[1].rstrip(":")
    assert meeting_id.startswith("20261002-090000-ops-review-")
    with open_archive(settings_of_home()) as db:  # as if archived before ask: `meetings reindex` embeds it
        db.backend.execute("DELETE FROM passages")
    hint = run_cli("ask", "newsletter", "--passages")
    assert hint.returncode == 0 and "1 meeting(s) are not embedded yet" in hint.stderr, hint.stderr
    assert "1 passages embedded" in run_cli("meetings", "reindex").stdout
    assert "not embedded" not in run_cli("ask", "newsletter", "--passages").stderr
    hits = json.loads(run_cli("search", "newsletter", "--json").stdout)
    assert [h["meeting_id"] for h in hits] == [meeting_id]
    answer = json.loads(run_cli("ask", "Which tool will send our e-mails to clients?", "--passages", "--json").stdout)
    assert answer["found"] and answer["citations"][0]["meeting_id"] == meeting_id
    assert answer["citations"][0]["link"].endswith(f"/meetings/{meeting_id}?t={int(answer['citations'][0]['start'])}")

    for args, message in ((["meetings", "import", str(tmp_path / "nope.json"), "--title", "x", "--date", "2026-10-02"],
                           "does not exist"),
                          (["meetings", "import", str(path), "--title", "x", "--date", "next week"], "not a date"),
                          (["meetings", "import", str(path), "--title", " ", "--date", "2026-10-02"], "title"),
                          (["ask", "   "], "empty")):
        failed = run_cli(*args)
        assert failed.returncode != 0 and message in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


# --- the real models ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("question, meeting_id, said", [
    ("Quand la version bêta sortira-t-elle ?", EN, "payment bug"),  # French question, English meeting
    ("Chez quel hébergeur allons-nous déplacer nos serveurs ?", EN, "move every server"),
    ("When are the offices moving?", FR, "déménagement"),  # English question, French meeting
    ("Which customer signed a contract?", FR, "Dupont"),
])
def test_a_question_in_one_language_finds_a_meeting_in_the_other(home, question, meeting_id, said):
    from voicebot.cli.app import settings

    with open_archive(settings()) as db:
        _archive(db, home)
        assert _covering(ask.retrieve(db, question, mode="semantic", limit=10), db, meeting_id, said) == 1
        assert _covering(ask.retrieve(db, question, mode="hybrid", limit=10), db, meeting_id, said) == 1


@pytest.mark.slow
def test_the_language_model_answers_in_the_questions_language_with_citations(home, models_with_llm):
    from voicebot.cli.app import settings

    (home / "models").symlink_to(models_with_llm, target_is_directory=True)
    settings().ask.timeout = 600  # correctness here; bench/ask.py measures the time on an idle machine
    with open_archive(settings()) as db:
        _archive(db, home)
        answer = ask.ask(settings(), db, "Pourquoi la version bêta est-elle retardée ?")
        assert answer.engine == "llama" and answer.found, answer
        assert answer.language == "fr" and answer.claims and all(c.citations for c in answer.claims)
        numbers = {c.number for c in answer.citations}
        assert numbers == {n for c in answer.claims for n in c.citations}
        assert any(c.meeting_id == EN and c.start <= 18.0 < c.end for c in answer.citations)  # the payment bug turn

        nothing = ask.ask(settings(), db, "What is the name of the CEO's dog?")
        assert not nothing.found and nothing.text == ask.NOT_FOUND["en"], nothing.to_dict()
