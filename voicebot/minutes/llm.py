"""What the model engines share: checking every item against the transcript and
filling what was rejected from the extractive engine; for the local llama.cpp
model, the grounded draft (voicebot.minutes.grounded); for the openai and
transformers engines, their prompt, chunking a long transcript and reading
the model's JSON.

A model never has the last word: an item it proposes is kept only if the
support check (voicebot.minutes.support) finds it in its source span. Whatever
it gets wrong, leaves out or cannot produce (endpoint down, no model, garbage
output) is taken from the extractive engine, and the minutes' notes say so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from voicebot import schema
from voicebot.config import Settings
from voicebot.formats import clock
from voicebot.llm import runtime
from voicebot.minutes import grounded, openai_engine, support, transformers_engine
from voicebot.minutes.engine import EngineUnavailable
from voicebot.minutes.extractive import Extracted
from voicebot.minutes.people import People
from voicebot.minutes.render import long_date, note
from voicebot.minutes.text import Sentence, spans_overlap, word_overlap

CHARS_PER_TOKEN = 3.5  # a conservative estimate for French and English text




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


# --- the prompt ------------------------------------------------------------------------------------------

SYSTEM = """You draft meeting minutes from a transcript. Use only what the transcript says; never invent anything.
Reply with one JSON object and nothing else, of this form:
{"decisions": [{"text": "what was decided", "lines": [first_line, last_line]}],
 "action_items": [{"owner": "the person's name, or null", "task": "what to do", "due": "YYYY-MM-DD or null", "lines": [first_line, last_line]}],
 "open_questions": [{"text": "the question left open", "lines": [first_line, last_line]}],
 "next_meeting": "YYYY-MM-DD, or YYYY-MM-DDTHH:MM, or null"}
"lines" are the numbers in brackets of the transcript lines the item comes from.
The owner of a task is the person asked to do it ("Bob, can you ...") or the speaker who commits to it ("I will ...").
Due dates are resolved against the meeting date. Write the texts in {language}."""

USER = """Meeting: {title}, {date}. People: {people}.
Transcript:
{lines}"""

_LANGUAGE = {"fr": "French", "en": "English"}


def chunks(sentences: list[Sentence], max_tokens: int) -> list[list[Sentence]]:
    """Consecutive pieces of the transcript of at most ``max_tokens`` (estimated) each."""
    budget = max(200, int(max_tokens * CHARS_PER_TOKEN))
    out: list[list[Sentence]] = [[]]
    size = 0
    for s in sentences:
        length = len(_line(s)) + 1
        if out[-1] and size + length > budget:
            out.append([])
            size = 0
        out[-1].append(s)
        size += length
    return [c for c in out if c]


def _line(s: Sentence) -> str:
    return f"[{s.index}] {clock(s.start)} {s.speaker or '?'}: {s.text}"


def messages(chunk: list[Sentence], title: str, base: date, language: str, people: People) -> list[dict]:
    names = ", ".join(people.present or people.names) or "unknown"
    return [
        {"role": "system", "content": SYSTEM.replace("{language}", _LANGUAGE.get(language, "English"))},
        {"role": "user", "content": USER.format(title=title, date=f"{long_date(base, 'en')} ({base.isoformat()})",
                                                people=names, lines="\n".join(_line(s) for s in chunk))},
    ]


# --- reading the answer ----------------------------------------------------------------------------------

def parse_json(text: str) -> dict | None:
    """The first JSON object in a model's answer (code fences and chatter around it ignored)."""
    text = re.sub(r"```(?:json)?", "", text or "")
    start = text.find("{")
    while start >= 0:
        depth = 0
        in_string = escaped = False
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                escaped = ch == "\\" and not escaped
                if ch == '"' and not escaped:
                    in_string = False
                continue
            if ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    try:
                        data = json.loads(text[start:i + 1])
                    except json.JSONDecodeError:
                        break
                    return data if isinstance(data, dict) else None
        start = text.find("{", start + 1)
    return None


@dataclass
class Proposed:
    decisions: list[schema.Decision] = field(default_factory=list)
    action_items: list[schema.ActionItem] = field(default_factory=list)
    open_questions: list[schema.Question] = field(default_factory=list)
    next_meeting: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def _span(item: dict, by_index: dict[int, Sentence]) -> tuple[float, float] | None:
    lines = item.get("lines", item.get("line"))
    if isinstance(lines, (int, float)) or (isinstance(lines, str) and lines.strip().isdigit()):
        lines = [int(lines), int(lines)]
    if isinstance(lines, list) and lines and all(isinstance(x, (int, float)) or str(x).strip().isdigit()
                                                 for x in lines):
        picked = [by_index.get(int(x)) for x in lines]
        if all(picked):
            return min(s.start for s in picked), max(s.end for s in picked)
        return None
    start, end = item.get("source_start"), item.get("source_end")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return float(start), float(end)
    return None


def _text(value: object) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def read_answer(answer: str, chunk: list[Sentence], people: People, proposed: Proposed) -> None:
    """Turn one chunk's answer into proposed items (not yet checked); malformed items are counted as rejected."""
    data = parse_json(answer)
    if data is None:
        proposed.rejected.append("the answer holds no JSON object")
        return
    by_index = {s.index: s for s in chunk}
    for kind in ("decisions", "action_items", "open_questions"):
        items = data.get(kind) or []
        if not isinstance(items, list):
            proposed.rejected.append(f"{kind} is not a list")
            continue
        for item in items:
            if not isinstance(item, dict):
                proposed.rejected.append(f"a {kind} entry is not an object")
                continue
            span = _span(item, by_index)
            text = _text(item.get("task" if kind == "action_items" else "text"))
            if span is None or text is None:
                proposed.rejected.append(f"a {kind} entry has no text or no valid lines")
                continue
            if kind == "decisions":
                proposed.decisions.append(schema.Decision(text, span[0], span[1]))
            elif kind == "open_questions":
                proposed.open_questions.append(schema.Question(text, span[0], span[1]))
            else:
                owner = _text(item.get("owner"))
                owner = None if owner and owner.lower() in ("null", "none", "nobody", "unknown", "?") else owner
                due = _text(item.get("due"))
                due = None if due and due.lower() in ("null", "none", "unknown") else due
                proposed.action_items.append(schema.ActionItem(
                    owner=people.canonical(owner), task=text, due=due, source_start=span[0], source_end=span[1],
                    owner_email=people.email(people.canonical(owner))))
    nxt = _text(data.get("next_meeting"))
    if nxt and nxt.lower() not in ("null", "none"):
        proposed.next_meeting.append(nxt)


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


def run(engine: str, settings: Settings, sentences: list[Sentence], people: People, base: date, language: str,
        title: str, found: Extracted) -> Result:
    """Minutes items from a model engine, checked and filled; never raises for a model problem."""
    fallback = supported(found, sentences, people, base)
    try:
        label, generate = _generator(engine, settings)
    except EngineUnavailable as exc:
        fallback.notes = [note(language, "model_failed", model=engine, reason=str(exc))]
        return fallback
    proposed = Proposed()
    try:
        for chunk in chunks(sentences, settings.minutes.chunk_tokens):
            read_answer(generate(messages(chunk, title, base, language, people)), chunk, people, proposed)
    except EngineUnavailable as exc:
        fallback.notes = [note(language, "model_failed", model=label, reason=str(exc))]
        return fallback
    result, kept, rejected = review(proposed, fallback, sentences, people, base)
    if not kept:
        result.engine = "extractive"
        proposed_any = proposed.decisions or proposed.action_items or proposed.open_questions
        reason = (f"none of the {rejected} item(s) it proposed is supported by the transcript" if proposed_any
                  else "its answer held no usable minutes")
        result.notes = [note(language, "model_failed", model=label, reason=reason)]
        return result
    covered = len(result.decisions) + len(result.action_items) + len(result.open_questions)
    result.engine = engine if covered == kept else f"{engine}+extractive"
    result.notes = [note(language, "model_used", model=label)]
    if rejected:
        result.notes.append(note(language, "model_rejected", count=rejected))
    return result


def _generator(engine: str, settings: Settings) -> tuple[str, Callable[[list[dict]], str]]:
    return (openai_engine if engine == "openai" else transformers_engine).generator(settings)


def run_local(settings: Settings, sentences: list[Sentence], people: People, base: date, language: str,
              title: str, found: Extracted) -> Result:
    """Minutes items, summary and key points from the local llama.cpp model (voicebot.minutes.grounded),
    checked and filled from the extractive engine; never raises for a model problem."""
    fallback = supported(found, sentences, people, base)
    label = settings.llm.model
    try:
        model = runtime.open_model(settings)
    except EngineUnavailable as exc:
        fallback.notes = [note(language, "model_failed", model=label, reason=str(exc))]
        return fallback
    label = model.name
    drafted = grounded.draft(model, settings, sentences, people, base, language, title, found)
    if drafted.windows_done == 0:
        fallback.notes = [note(language, "model_failed", model=label, reason=drafted.stopped or "no answer")]
        return fallback
    g = drafted.grounded
    proposed = Proposed(decisions=g.decisions, action_items=g.action_items, open_questions=g.open_questions,
                        rejected=g.rejected)
    result, kept, rejected = review(proposed, fallback, sentences, people, base)
    covered = len(result.decisions) + len(result.action_items) + len(result.open_questions)
    result.engine = "llama" if covered == kept else "llama+extractive"
    result.summary, result.key_points = drafted.summary, g.notes
    result.notes = [note(language, "model_used", model=label)]
    if drafted.stopped:
        result.notes.append(note(language, "model_partial", model=label, done=drafted.windows_done,
                                 total=drafted.windows_total, reason=drafted.stopped))
    if rejected:
        result.notes.append(note(language, "model_rejected", count=rejected))
    return result
