"""Ask your meetings: a question in French or English, an answer from the archived transcripts
where every claim cites the moment that says it.

1. Retrieval (``archive/vectors.py``): the question's content words for the full-text index, its
   embedding for the semantic one, fused; the search filters and the access rule apply (``db`` is
   the archive for the command line, a ``MeetingView`` for a web user).
2. The local language model (``llm/runtime.py``) reads the numbered passages and answers as JSON:
   claims, each with the numbers of the passages it comes from. Reading is most of the time on a
   laptop (about 43 prompt tokens a second on 2 cores), so of each passage the model reads only its
   sentences closest in meaning to the question, up to ``FOCUS_WORDS``, in their order, with who
   said them. A 1.5B model is not trusted blindly: each claim cites only passages holding a
   sentence close to it in meaning (cosine of embeddings at least ``CLAIM_SUPPORT``); a claim
   citing the wrong number is given the passage that says it; a claim that no passage says is dropped.
   No claim left: "I did not find it in the meetings".
3. Without a model (or past its time limit), the answer is the best passages themselves, and says so.

Each citation names the meeting, its date, who spoke, the time in the recording, and the web link
that plays that moment (``/meetings/<id>?t=<seconds>``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from voicebot.archive.query import MAX_TERMS, Query, Term, tokenize
from voicebot.archive.vectors import Passage
from voicebot.config import Settings
from voicebot.minutes.text import STOPWORDS, content_words, guess_language, split_sentences
from voicebot.textfold import fold

if TYPE_CHECKING:
    import numpy as np

ENGINES = ("auto", "llama", "passages")
_STOP = {fold(w) for w in STOPWORDS}
CLAIM_SUPPORT = 0.35  # least cosine between a claim and a sentence of a passage it cites (unrelated: < 0.2)
FOCUS_WORDS = 60  # of each passage the model reads its sentences closest to the question, up to this many words
ANSWER_TOKENS = 256
# Words of questions about meetings that say nothing about what is looked for.
QUESTION_WORDS = {"discuss", "discussed", "discussion", "talk", "talked", "say", "said", "mention", "mentioned",
                  "meeting", "meetings", "summarize", "summarise", "decide", "decided", "reunion", "reunions",
                  "dit", "parle", "discute", "resume", "resumer"}

NOT_FOUND = {"en": "I did not find it in the meetings.", "fr": "Je ne l'ai pas trouvé dans les réunions."}
NOTES = {
    "no_model": {"en": "No language model is installed (voicebot models install minutes): here are the passages "
                       "that best match the question.",
                 "fr": "Aucun modèle de langue n'est installé (voicebot models install minutes) : voici les passages "
                       "qui répondent le mieux à la question."},
    "passages": {"en": "The passages that best match the question.",
                 "fr": "Les passages qui répondent le mieux à la question."},
    "model_failed": {"en": "The language model could not answer ({reason}): here are the passages that best match.",
                     "fr": "Le modèle de langue n'a pas pu répondre ({reason}) : voici les passages les plus proches."},
    "dropped": {"en": "{n} statement(s) of the model were left out: their citations did not support them.",
                "fr": "{n} affirmation(s) du modèle écartée(s) : leurs citations ne les appuyaient pas."},
}
PROMPT = {
    "en": ("You answer a question about meetings using ONLY the numbered passages of their transcripts below. "
           "Answer in English. Reply with JSON: {\"found\": true or false, \"claims\": [{\"text\": \"one short "
           "sentence\", \"passages\": [numbers of the passages that say it]}]}. Every claim must be said in the "
           "passages it cites. If the passages do not answer the question, reply {\"found\": false, \"claims\": []}."),
    "fr": ("Tu réponds à une question sur des réunions en utilisant UNIQUEMENT les passages numérotés de leurs "
           "transcriptions ci-dessous. Réponds en français. Réponds en JSON : {\"found\": true ou false, \"claims\": "
           "[{\"text\": \"une phrase courte\", \"passages\": [numéros des passages qui le disent]}]}. Chaque "
           "affirmation doit être dite dans les passages qu'elle cite. Si les passages ne répondent pas à la "
           "question, réponds {\"found\": false, \"claims\": []}."),
}
SCHEMA = {
    "type": "object",
    "properties": {
        "found": {"type": "boolean"},
        "claims": {"type": "array", "maxItems": 5, "items": {
            "type": "object",
            "properties": {"text": {"type": "string"},
                           "passages": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}},
            "required": ["text", "passages"]}},
    },
    "required": ["found", "claims"],
}


@dataclass
class Citation:
    """Passage ``number`` (1-based, as the model saw it) as a checkable place in a meeting."""

    number: int
    meeting_id: str
    title: str
    started_at: str
    speakers: list[str]
    start: float
    end: float
    link: str  # the web page that plays that moment
    text: str

    @classmethod
    def of(cls, number: int, passage: Passage, settings: Settings) -> Citation:
        return cls(number=number, meeting_id=passage.meeting_id, title=passage.title, started_at=passage.started_at,
                   speakers=passage.speakers, start=passage.start, end=passage.end,
                   link=f"{settings.web_address}/meetings/{passage.meeting_id}?t={int(passage.start)}",
                   text=passage.text)


@dataclass
class Claim:
    text: str
    citations: list[int]  # passage numbers


@dataclass
class Answer:
    """``found``: the claims answer the question; else ``text`` says it was not found. ``engine``: llama
    (claims from the model) or passages (no model: ``citations`` are the best passages)."""

    question: str
    language: str
    found: bool
    engine: str
    claims: list[Claim] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    note: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)  # what the model read ("prompt") and wrote ("answer")

    @property
    def text(self) -> str:
        if not self.found:
            return NOT_FOUND[self.language]
        return " ".join(f"{c.text} " + "".join(f"[{n}]" for n in c.citations) for c in self.claims)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


def question_query(question: str) -> Query:
    """The question's content words, any of them (the full-text side of retrieval: BM25 ranks the
    passages with more and rarer of them first)."""
    wanted = [w for w in dict.fromkeys(content_words(question)) if w not in QUESTION_WORDS]
    terms = [Term(tuple(tokenize(w))) for w in wanted if tokenize(w)]
    return Query(groups=[terms[:MAX_TERMS]] if terms else [])


def named_speakers(speakers: list[str], question: str) -> list[str]:
    """The speakers a question names: every word of the name ("Industrial Designer"), or the first
    name of a person's full name ("Chloé" for "Chloé Martin"); case and accents ignored."""
    said = set(fold(question).replace("'", " ").split())
    named = []
    for name in speakers:
        words = fold(name).split()
        if words and (set(words) <= said or (len(words) > 1 and len(words[0]) > 2 and words[0] not in _STOP
                                            and words[0] in said)):
            named.append(name)
    return named


def retrieve(db: Any, question: str, *, mode: str = "hybrid", limit: int = 5, **filters: Any) -> list[Passage]:
    """The passages best answering ``question`` (``db``: an Archive or a MeetingView; ``filters``:
    speaker, meeting, since, until); the speakers it names come first among equals."""
    from voicebot import embedding

    vector = embedding.encode([question])[0] if mode != "fts" else None
    return db.retrieve(question_query(question), vector, mode=mode, limit=limit,
                       named=named_speakers(db.speakers(), question), **filters)


def ask(settings: Settings, db: Any, question: str, *, engine: str | None = None, **filters: Any) -> Answer:
    """Answer ``question`` from the meetings ``db`` may see (see the module's docstring)."""
    from voicebot.errors import UserError
    from voicebot.llm import runtime

    question = " ".join((question or "").split())
    if not question:
        raise UserError("the question is empty")
    engine = engine or settings.ask.engine
    if engine not in ENGINES:
        raise UserError(f"ask engine {engine!r} is not one of {', '.join(ENGINES)}")
    language = guess_language(question)
    started = time.monotonic()
    passages = retrieve(db, question, limit=max(1, settings.ask.passages), **filters)
    answer = Answer(question=question, language=language, found=bool(passages), engine="passages",
                    citations=[Citation.of(n, p, settings) for n, p in enumerate(passages, start=1)],
                    seconds={"retrieve": round(time.monotonic() - started, 3)})
    if not passages:
        return answer
    if engine == "passages" or (engine == "auto" and not runtime.installed(settings)):
        answer.note = NOTES["passages" if engine == "passages" else "no_model"][language]
        return answer
    started = time.monotonic()
    read = readings(question, passages)
    answer.seconds["focus"] = round(time.monotonic() - started, 3)
    started = time.monotonic()
    try:
        model = runtime.open_model(settings)
        prompt = messages(question, read, language)
        answer.tokens["prompt"] = model.count_tokens("\n".join(m["content"] for m in prompt))
        reply = model.chat_json(prompt, SCHEMA, max_tokens=ANSWER_TOKENS,
                                deadline=runtime.Deadline.after(settings.ask.timeout))
        answer.tokens["answer"] = model.calls[-1].answer_pieces
    except runtime.LLMUnavailable as exc:
        answer.note = NOTES["model_failed"][language].format(reason=str(exc).rstrip("."))
        return answer
    finally:
        answer.seconds["answer"] = round(time.monotonic() - started, 3)
    claims, dropped = checked_claims(reply, read)
    answer.engine, answer.claims, answer.found = "llama", claims, bool(claims)
    cited = sorted({n for c in claims for n in c.citations})
    answer.citations = [c for c in answer.citations if c.number in cited]
    if dropped:
        answer.note = NOTES["dropped"][language].format(n=dropped)
    return answer


@dataclass
class Reading:
    """A passage as the model reads it: its sentences (speaker, text) and their vectors, and which of
    them it is shown (indices, in order)."""

    passage: Passage
    sentences: list[tuple[str | None, str]]
    vectors: np.ndarray
    shown: list[int]

    @property
    def text(self) -> str:
        """The shown sentences in order, the speaker named at each change, "..." where some are left out."""
        parts, speaker, last = [], None, -1
        for k in self.shown:
            who, text = self.sentences[k]
            if k != last + 1:
                parts.append("...")
            if who != speaker or k != last + 1:
                parts.append(f"{who or '?'}:")
                speaker = who
            parts.append(text)
            last = k
        if last != len(self.sentences) - 1:
            parts.append("...")
        return " ".join(parts)


def readings(question: str, passages: list[Passage]) -> list[Reading]:
    """Each passage's sentences closest to ``question`` in meaning, up to FOCUS_WORDS (at least one)."""
    from voicebot import embedding

    split = [[(line.speaker, text) for line in p.lines for text in split_sentences(line.text)] for p in passages]
    vectors = embedding.encode([question] + [text for sentences in split for _, text in sentences])
    wanted, start = vectors[0], 1
    out = []
    for passage, sentences in zip(passages, split):
        own = vectors[start:start + len(sentences)]
        start += len(sentences)
        shown, words = [], 0
        for k in sorted(range(len(sentences)), key=lambda k: -float(own[k] @ wanted)):
            n = len(sentences[k][1].split())
            if not shown or words + n <= FOCUS_WORDS:
                shown.append(k)
                words += n
        out.append(Reading(passage, sentences, own, sorted(shown)))
    return out


def messages(question: str, read: list[Reading], language: str) -> list[dict]:
    blocks = [f"[{number}] ({r.passage.title}, {r.passage.started_at[:10]}) {r.text}"
              for number, r in enumerate(read, start=1)]
    return [{"role": "system", "content": PROMPT[language]},
            {"role": "user", "content": "Passages:\n" + "\n".join(blocks) + f"\n\nQuestion: {question}"}]


def checked_claims(reply: dict, read: list[Reading]) -> tuple[list[Claim], int]:
    """The model's claims whose citations hold: each keeps the numbers it cites that are among the
    passages given and hold a sentence close in meaning to it; with none left, the passage holding
    the sentence closest to it, if close enough; else the claim is dropped. (claims kept, number dropped)."""
    from voicebot import embedding

    if not reply.get("found"):
        return [], 0
    raw = [c for c in reply.get("claims") or [] if isinstance(c, dict) and str(c.get("text") or "").strip()]
    candidates = []
    for claim in raw:
        numbers = [n for n in dict.fromkeys(claim.get("passages") or []) if isinstance(n, int) and 1 <= n <= len(read)]
        if numbers:
            candidates.append(Claim(" ".join(str(claim["text"]).split()), numbers))
    kept = []
    if candidates:
        for claim, vector in zip(candidates, embedding.encode([c.text for c in candidates])):
            support = {n: max((float(vector @ v) for v in r.vectors), default=-1.0)
                       for n, r in enumerate(read, start=1)}
            claim.citations = [n for n in claim.citations if support[n] >= CLAIM_SUPPORT]
            best = max(support, key=lambda n: support[n])
            if not claim.citations and support[best] >= CLAIM_SUPPORT:
                claim.citations = [best]  # a small model's wrong number: the passage that does say it
            if claim.citations:
                kept.append(claim)
    return kept, len(raw) - len(kept)
