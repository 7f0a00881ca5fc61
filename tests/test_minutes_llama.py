"""The llama engine: the real Qwen2.5-Coder-1.5B-Instruct GGUF (assembled from its PyPI parts) run by
llama.cpp in-process, grounded in the transcript; and the fallback when the model is missing, broken or
too slow. The model's prose is not asserted word for word: what it says must be in the meeting's language,
and every decision and action item must be supported by the transcript, owned and dated as the
transcript says."""

from __future__ import annotations

from datetime import date

import pytest
from minutes_helpers import sample

from voicebot.config import Settings
from voicebot.errors import ModelError
from voicebot.llm import models as llm_models
from voicebot.llm import runtime
from voicebot.minutes import draft, grounded, support
from voicebot.minutes.people import gather
from voicebot.minutes.text import guess_language, sentences


def _settings(home, **llm) -> Settings:
    settings = Settings(home=home)
    for key, value in llm.items():
        setattr(settings.llm, key, value)
    return settings


@pytest.fixture(scope="module")
def llm_home(models_with_llm, tmp_path_factory):
    home = tmp_path_factory.mktemp("llm-home")
    (home / "models").symlink_to(models_with_llm, target_is_directory=True)
    return home


# --- without the model --------------------------------------------------------------------------------------

def test_auto_without_a_model_uses_the_rules_and_says_how_to_get_one(tmp_path):
    transcript, meeting, _ = sample("en")
    minutes = draft(transcript, _settings(tmp_path), meeting=meeting)
    assert minutes.engine == "extractive"
    assert any("voicebot models install minutes" in n for n in minutes.notes)
    assert len(minutes.action_items) == 3


def test_llama_with_a_model_that_is_not_installed_falls_back_with_the_command_to_run(tmp_path):
    transcript, meeting, _ = sample("fr")
    minutes = draft(transcript, _settings(tmp_path, model="qwen2.5-3b-instruct"), meeting=meeting, engine="llama")
    assert minutes.engine == "extractive"
    assert "voicebot models install qwen2.5-3b-instruct" in minutes.notes[0]
    assert len(minutes.action_items) == 3


def test_a_file_that_is_not_gguf_is_refused_with_its_reason(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match="not a GGUF file"):
        llm_models.resolve(str(fake), tmp_path)
    with pytest.raises(ModelError, match="llm.model is empty"):
        llm_models.resolve("  ", tmp_path)
    with pytest.raises(ModelError, match="unknown"):
        llm_models.install("no-such-llm", tmp_path)


def test_a_hub_model_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set"):
        llm_models.install("qwen2.5-3b-instruct", tmp_path)


def test_selection_keeps_everything_short_and_bounds_a_long_meeting():
    transcript, meeting, _ = sample("en")
    people = gather(transcript, meeting, None)
    sents = sentences(transcript, people.name_of)
    everything = grounded.select(sents, 10_000, set())
    assert everything == sents  # a short meeting is read whole
    long = sents * 40  # a meeting 40 times as long: the model still reads at most the budget
    for i, s in enumerate(long):
        s = long[i] = type(s)(**{**s.__dict__, "index": i})
    picked = grounded.select(long, 1500, keep={5})
    assert sum(grounded.estimate_tokens(grounded.line(s, 999)) for s in picked) <= 1500
    assert any(s.index == 5 for s in picked)  # a sentence the rules found an item in is always read
    assert [s.index for s in picked] == sorted(s.index for s in picked)  # in time order
    parts = grounded.windows(picked, 500)
    assert sum(len(p) for p in parts) == len(picked) and len(parts) >= 3


@pytest.mark.slow
def test_a_broken_model_file_falls_back(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(4096))  # the magic, then nothing a loader can use
    transcript, meeting, _ = sample("en")
    minutes = draft(transcript, _settings(tmp_path, model=str(broken)), meeting=meeting, engine="llama")
    assert minutes.engine == "extractive"
    assert "could not be used" in minutes.notes[0] and "cannot load" in minutes.notes[0]
    assert len(minutes.action_items) == 3


# --- the real model ------------------------------------------------------------------------------------------

def _supported(minutes, transcript, meeting, base: date) -> None:
    people = gather(transcript, meeting, None)
    sents = sentences(transcript, people.name_of)
    for d in minutes.decisions:
        assert support.check_decision(d.text, d.source_start, d.source_end, sents) is None, d
    for a in minutes.action_items:
        assert support.check_action(a.owner, a.task, a.due, a.source_start, a.source_end, sents, people,
                                    base) is None, a


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_real_model_drafts_grounded_minutes_in_the_meetings_language(llm_home, lang):
    transcript, meeting, expected = sample(lang)
    minutes = draft(transcript, _settings(llm_home), meeting=meeting)  # auto: the installed model is used
    assert minutes.engine in ("llama", "llama+extractive"), minutes.notes
    assert "qwen2.5-coder-1.5b-instruct" in minutes.notes[0]
    # A real summary: a paragraph in the meeting's language, not the item count of the rules.
    assert len(minutes.summary.split()) >= 25 and "recorded" not in minutes.summary
    assert guess_language(minutes.summary) == lang, minutes.summary
    assert minutes.key_points and all(k.text for k in minutes.key_points)
    # Every item is supported where it was said; owners and due dates are the transcript's.
    _supported(minutes, transcript, meeting, date.fromisoformat(expected.date))
    assert {(e.owner, e.due) for e in expected.action_items} <= {(a.owner, a.due) for a in minutes.action_items}
    assert len(minutes.decisions) >= len(expected.decisions)


@pytest.mark.slow
def test_a_gguf_path_loads_through_the_same_code_and_a_deadline_stops_the_model(llm_home, tmp_path):
    path = llm_models.resolve("minutes", llm_home / "models")
    transcript, meeting, _ = sample("en")
    # A path instead of a name: how a user points at a bigger model they downloaded themselves.
    settings = _settings(tmp_path, model=str(path), timeout=0.01)
    minutes = draft(transcript, settings, meeting=meeting, engine="llama")
    assert minutes.engine == "extractive"  # too slow: nothing from the model, the rules' minutes stand
    assert "time limit" in minutes.notes[0]
    assert len(minutes.action_items) == 3
    model = runtime.open_model(_settings(tmp_path, model=str(path)))
    answer = model.chat_json([{"role": "user", "content": "Give the number two as JSON: {\"n\": ...}"}],
                             {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                             max_tokens=16)
    assert answer == {"n": 2}


def test_a_proposal_is_kept_only_where_the_transcript_says_it_and_owner_and_date_come_from_there():
    from minutes_helpers import transcript_of

    from voicebot.minutes import extractive
    from voicebot.minutes.people import People

    t = transcript_of([("Alice", "Tell you what, it looks like a tiger."),
                       ("Alice", "Carol."), ("Alice", "Could you update the test plan by Friday?"),
                       ("Carol", "Sure."), ("Bob", "So we agreed to go with Blue Cloud.")])
    people = People(present=["Alice", "Bob", "Carol"])
    people.index()
    sents = sentences(t, people.name_of)
    base = date(2026, 3, 12)
    answer = grounded.parse_map_answer(
        "DECISION [1] It looks like a tiger\n"  # small talk: nothing there settles anything
        "TASK [2] Update the test plan\n"  # the address; the request follows in the next sentence
        "DECISION [5] Go with Blue Cloud\n"
        "TASK [9] Invent a line\n"  # no such line
        "NOTES: Alice asked Carol to update the test plan; the team chose Blue Cloud.")
    out = grounded.Grounded()
    grounded.ground(answer, sents, sents, people, base, extractive.extract(sents, people, base, t.duration), out)
    assert [d.text for d in out.decisions] == ["Go with Blue Cloud"]
    [task] = out.action_items
    assert (task.owner, task.due, task.task) == ("Carol", "2026-03-13", "Update the test plan")
    assert len(out.rejected) == 2 and answer["notes"].startswith("Alice asked Carol")


def test_a_sentence_the_model_repeats_is_kept_once():
    looped = ("The meeting compared two designs. Professor C suggested comparing neural nets to SVMs. "
              + "Professor C also suggested comparing neural net approaches to SVMs. " * 12
              + "Grad A will run the tests next week.")
    written: list[str] = []
    assert grounded.without_repeats(looped, written) == ("The meeting compared two designs. Professor C suggested "
                                                         "comparing neural nets to SVMs. Grad A will run the tests "
                                                         "next week.")
    # a later part's notes do not say again what an earlier part's said; what is new stays
    assert grounded.without_repeats("Grad A will run the tests next week. Agreed. The budget is fixed.",
                                    written) == "Agreed. The budget is fixed."
