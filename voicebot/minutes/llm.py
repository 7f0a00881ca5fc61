"""What the model engines share: a model drafts (voicebot.minutes.grounded, the same prompts whether
the model runs in-process with llama.cpp, behind an OpenAI-compatible endpoint or in transformers),
every item it proposes is checked against the transcript, and what was rejected or left out is
filled from the extractive engine.

A model never has the last word: an item it proposes is kept only if the
support check (voicebot.minutes.support) finds it in its source span. Whatever
it gets wrong, leaves out or cannot produce (endpoint down, no model, garbage
output, too slow) is taken from the extractive engine, and the minutes' notes say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from voicebot import schema
from voicebot.config import Settings
from voicebot.llm import hf, remote, runtime
from voicebot.minutes import grounded, support
from voicebot.minutes.engine import EngineUnavailable
from voicebot.minutes.extractive import Extracted
from voicebot.minutes.people import People
from voicebot.minutes.render import note
from voicebot.minutes.text import Sentence, spans_overlap, word_overlap


@dataclass
class Result:
    decisions: list[schema.Decision]
    action_items: list[schema.ActionItem]
    open_questions: list[schema.Question]
    next_meeting: str | None
    engine: str = "extractive"
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why each rejected item was rejected (for logs and tests)
    summary: str = ""  # a model's summary paragraph ("" = the minutes' own, counting the items)
    key_points: list[schema.KeyPoint] = field(default_factory=list)  # a model's notes, linked to their moments


def supported(found: Extracted, sentences: list[Sentence], people: People, base: date) -> Result:
    """The extractive result with anything the support check does not find left out."""
    return Result(
        decisions=[d for d in found.decisions
                   if support.check_decision(d.text, d.source_start, d.source_end, sentences) is None],
        action_items=[a for a in found.action_items
                      if support.check_action(a.owner, a.task, a.due, a.source_start, a.source_end, sentences,
                                              people, base) is None],
        open_questions=[q for q in found.open_questions
                        if support.check_question(q.text, q.source_start, q.source_end, sentences) is None],
        next_meeting=found.next_meeting if support.check_next_meeting(found.next_meeting, sentences, base) is None
        else None,
    )


@dataclass
class Proposed:
    decisions: list[schema.Decision] = field(default_factory=list)
    action_items: list[schema.ActionItem] = field(default_factory=list)
    open_questions: list[schema.Question] = field(default_factory=list)
    next_meeting: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


# --- checking and merging --------------------------------------------------------------------------------

def review(proposed: Proposed, fallback: Result, sentences: list[Sentence], people: People,
           base: date) -> tuple[Result, int, int]:
    """Keep the supported proposals, fill from ``fallback``; returns (result, kept, rejected)."""
    rejected = list(proposed.rejected)

    def keep(items: list, check, text_of, kind: str) -> list:
        kept_items: list = []
        for item in items:
            problem = check(item)
            if problem:
                rejected.append(f"{kind} {text_of(item)!r}: {problem}")
            elif not any(spans_overlap(item.source_start, item.source_end, k.source_start, k.source_end)
                         and word_overlap(text_of(item), text_of(k)) > 0.6 for k in kept_items):
                kept_items.append(item)
        return kept_items

    decisions = keep(proposed.decisions, lambda d: support.check_decision(d.text, d.source_start, d.source_end,
                                                                          sentences), lambda d: d.text, "decision")
    actions = keep(proposed.action_items, lambda a: support.check_action(a.owner, a.task, a.due, a.source_start,
                                                                         a.source_end, sentences, people, base),
                   lambda a: a.task, "action")
    questions = keep(proposed.open_questions, lambda q: support.check_question(q.text, q.source_start, q.source_end,
                                                                               sentences), lambda q: q.text, "question")
    kept = len(decisions) + len(actions) + len(questions)
    # The extractive engine fills in what the model did not give (or gave wrong).
    # An item the rules found is the same as a kept one when their moments overlap (no slack: two tasks said
    # back to back are two tasks) and they say much the same, or give the task to the same person.
    def fill(kept_items: list, extra: list, text_of) -> list:
        def same(e, k) -> bool:
            return spans_overlap(e.source_start, e.source_end, k.source_start, k.source_end, slack=0.0) and (
                word_overlap(text_of(e), text_of(k)) >= 0.3 or getattr(e, "owner", None) == getattr(k, "owner", 0))
        return kept_items + [e for e in extra if not any(same(e, k) for k in kept_items)]

    decisions = fill(decisions, fallback.decisions, lambda d: d.text)
    actions = fill(actions, fallback.action_items, lambda a: a.task)
    questions = fill(questions, fallback.open_questions, lambda q: q.text)
    nxt = next((n for n in proposed.next_meeting if support.check_next_meeting(n, sentences, base) is None), None)
    result = Result(
        decisions=sorted(decisions, key=lambda d: d.source_start),
        action_items=sorted(actions, key=lambda a: a.source_start),
        open_questions=sorted(questions, key=lambda q: q.source_start),
        next_meeting=nxt or fallback.next_meeting, rejected=rejected,
    )
    return result, kept, len(rejected)


def open_model(engine: str, settings: Settings) -> runtime.ChatModel:
    """The model behind a minutes engine: ``llama`` in-process, ``openai`` over HTTP, ``transformers``."""
    if engine == "openai":
        return remote.open_model(settings)
    if engine == "transformers":
        return hf.open_model(settings)
    return runtime.open_model(settings)


def run(engine: str, settings: Settings, sentences: list[Sentence], people: People, base: date, language: str,
        title: str, found: Extracted) -> Result:
    """Minutes items, summary and key points drafted by a model engine (voicebot.minutes.grounded), checked
    and filled from the extractive engine; never raises for a model problem."""
    fallback = supported(found, sentences, people, base)
    label = settings.llm.model if engine == "llama" else engine
    try:
        model = open_model(engine, settings)
    except EngineUnavailable as exc:
        fallback.notes = [note(language, "model_failed", model=label, reason=str(exc))]
        return fallback
    label = model.name
    drafted = grounded.draft(model, settings, sentences, people, base, language, title, found)
    g = drafted.grounded
    proposed = Proposed(decisions=g.decisions, action_items=g.action_items, open_questions=g.open_questions,
                        rejected=g.rejected)
    result, kept, rejected = review(proposed, fallback, sentences, people, base)
    if drafted.windows_done == 0 or not (kept or g.notes):
        reason = drafted.stopped or (f"none of the {rejected} item(s) it proposed is supported by the transcript"
                                     if rejected else "its answer held no usable minutes")
        fallback.notes = [note(language, "model_failed", model=label, reason=reason)]
        return fallback
    covered = len(result.decisions) + len(result.action_items) + len(result.open_questions)
    result.engine = engine if covered == kept else f"{engine}+extractive"
    result.summary, result.key_points = drafted.summary, g.notes
    result.notes = [note(language, "model_used", model=label)]
    if drafted.stopped:
        result.notes.append(note(language, "model_partial", model=label, done=drafted.windows_done,
                                 total=drafted.windows_total, reason=drafted.stopped))
    if rejected:
        result.notes.append(note(language, "model_rejected", count=rejected))
    return result
