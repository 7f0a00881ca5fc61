"""Sentences with their speaker and time span, and the word-level helpers every
minutes engine and the support check share (tokens, stop words, languages).

A transcript segment may hold several sentences (or half of one, when Whisper
cut it mid-sentence); the minutes work on sentences. A sentence's time span
comes from its words' timestamps when the transcript has them, else from its
position in the segment's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voicebot import schema
from voicebot.textfold import fold_same_length  # noqa: F401  (the minutes engines import it from here)
from voicebot.textfold import fold_words as fold

# Speaker labels that are not a person's name (diarization without naming).
GENERIC_SPEAKER = re.compile(r"^(speaker|spk|locuteur|intervenant|unknown|inconnu)[ _-]?\d*$", re.IGNORECASE)

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
# A sentence ends at . ! ? … followed by a space (or the end); not after a lone initial ("M. Dupont").
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\bM)(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)([.!?…]+)[\"»”)]*(?=\s+|$)")
LONG_SENTENCE_WORDS = 40  # unpunctuated text is cut into pieces of about this many words


STOPWORDS_EN = set("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's let me more most mustn't my
myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll
she's should shouldn't so some such than that that's the their theirs them themselves then there there's these
they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
we've were weren't what what's when when's where where's which while who who's whom why why's will with won't
would wouldn't you you'd you'll you're you've your yours yourself yourselves yes yeah okay ok well just really
um uh oh hmm right so thank thanks please good morning hello hi everyone everybody bye also still maybe think
going gonna get got one us
""".split())

STOPWORDS_FR = set("""
a à ai aie aient aies ait alors as au aucun aussi autre aux avec avez avions avoir avons ayant bon bonne ça car ce
ceci cela celà celle celles celui cet cette ceux chaque ci comme comment d' dans de des donc dont du elle elles en
encore es est et étaient était étant été être eu eux fait fois font hors il ils j' je jusqu' l' la là le les leur
leurs lui m' ma mais me même mes moi mon n' ne ni nos notre nous on ont ou où par parce pas peu peut plus pour
pourquoi qu' quand que quel quelle quelles quels qui s' sa sans se ses si sien son sont sous soyez sur t' ta te
tes toi ton tous tout toute toutes très tu un une vos votre vous vu y oui non d'accord ok bien euh ben voilà bah
merci bonjour salut tous toutes beaucoup enfin déjà juste vraiment c' est-ce qu'on c'est puis après avant faut
va vais allez aller
""".split())

STOPWORDS = STOPWORDS_EN | STOPWORDS_FR


def words(text: str) -> list[str]:
    """The words of a text as written ("d'Expo" -> "d'", "Expo"; "est-ce" stays one word)."""
    out = []
    for match in _WORD.finditer(text.replace("’", "'")):
        word = match.group(0)
        # French elision: keep the article apart so "d'Expo" yields "Expo".
        elided = re.match(r"^([cdjlmnstCDJLMNST]|[Qq]u|[Jj]usqu|[Ll]orsqu|[Pp]uisqu)'(.+)$", word)
        if elided:
            out.extend([elided.group(1) + "'", elided.group(2)])
        else:
            out.append(word)
    return out


_SUFFIXES = sorted("""ing ings ed es s ly ment ments ees ee es er ez ons ent ait aient e""".split(), key=len, reverse=True)


def stem(word: str) -> str:
    """A crude stem for French and English (folded, a common ending cut, first 5 letters):
    "moves" ~ "move", "updated" ~ "update", "réserver" ~ "réservé"."""
    word = fold(word).strip("'")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[:-len(suffix)]
            break
    return word[:5]


def content_words(text: str) -> list[str]:
    """Words that carry meaning (not stop words, not single letters), folded."""
    return [fold(w) for w in words(text) if fold(w) not in _STOP_FOLDED and len(w) > 1 and not w.isdigit()]


_STOP_FOLDED = {fold(w) for w in STOPWORDS}


def guess_language(text: str, default: str = "en") -> str:
    """'fr' or 'en' by stop words: for sentences whose segment has no language."""
    tokens = [fold(w) for w in words(text)]
    fr = sum(t in _FR_ONLY for t in tokens)
    en = sum(t in _EN_ONLY for t in tokens)
    if fr == en:
        return default
    return "fr" if fr > en else "en"


_FR_ONLY = {fold(w) for w in STOPWORDS_FR - STOPWORDS_EN} - {"a", "on", "me", "ce"}
_EN_ONLY = {fold(w) for w in STOPWORDS_EN - STOPWORDS_FR} - {"a", "on", "me", "ce"}


@dataclass
class Sentence:
    index: int
    text: str
    start: float
    end: float
    speaker: str | None  # the person's name when known, else the diarization label, else None
    language: str

    @property
    def content(self) -> list[str]:
        return content_words(self.text)


def _pieces(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in a text; long unpunctuated runs are cut by word count."""
    spans = []
    begin = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((begin, match.end()))
        begin = match.end()
    if text[begin:].strip():
        spans.append((begin, len(text)))
    out = []
    for a, b in spans:
        chunk = text[a:b]
        tokens = list(re.finditer(r"\S+", chunk))
        if len(tokens) <= LONG_SENTENCE_WORDS:
            out.append((a, b))
            continue
        # No punctuation (or a run-on sentence): cut at a comma near the size limit, else at the limit.
        i = 0
        while i < len(tokens):
            j = min(i + LONG_SENTENCE_WORDS, len(tokens))
            if j < len(tokens):
                for k in range(j - 1, i + LONG_SENTENCE_WORDS // 2, -1):
                    if tokens[k].group(0).endswith((",", ";", ":")):
                        j = k + 1
                        break
            out.append((a + tokens[i].start(), a + tokens[j - 1].end()))
            i = j
    return [(a, b) for a, b in out if text[a:b].strip()]


def split_sentences(text: str) -> list[str]:
    """The sentences of a text (long unpunctuated runs cut by word count), stripped."""
    return [text[a:b].strip() for a, b in _pieces(text)]


def _time_at(segment: schema.Segment, char: int, *, end: bool) -> float:
    """The time of a character position in a segment's text."""
    text = segment.text
    if segment.words:
        # Walk the words, matching them to the text in order.
        pos = 0
        for word in segment.words:
            token = word.word.strip()
            found = text.find(token, pos) if token else -1
            if found < 0:
                continue
            if end and found + len(token) >= char:
                return word.end
            if not end and found + len(token) > char:
                return word.start
            pos = found + len(token)
        return segment.words[-1].end if end else segment.words[0].start
    length = max(len(text), 1)
    return segment.start + (segment.end - segment.start) * min(char, length) / length


def sentences(transcript: schema.Transcript, name_of=lambda label: label) -> list[Sentence]:
    """The transcript cut into sentences, in time order, speakers named with ``name_of``.

    A segment that does not end a sentence is joined with the next one when the
    same speaker goes on (Whisper often cuts a sentence in two)."""
    default_language = (transcript.language or "en")[:2]
    merged: list[tuple[list[schema.Segment], str]] = []
    for seg in sorted(transcript.segments, key=lambda s: (s.start, s.end)):
        text = seg.text.strip()
        if not text:
            continue
        if merged:
            prev_segs, prev_text = merged[-1]
            last = prev_segs[-1]
            continues = (last.speaker == seg.speaker and not re.search(r"[.!?…][\"»”)]*$", prev_text)
                         and seg.start - last.end < 1.5 and text[:1].islower())
            if continues:
                merged[-1] = (prev_segs + [seg], prev_text + " " + text)
                continue
        merged.append(([seg], text))
    out: list[Sentence] = []
    for segs, text in merged:
        # Map each character of the joined text to its segment.
        bounds, offset = [], 0
        for seg in segs:
            piece = seg.text.strip()
            bounds.append((offset, offset + len(piece), seg))
            offset += len(piece) + 1
        for a, b in _pieces(text):
            sentence_text = text[a:b].strip()
            first = next(x for x in bounds if x[1] > a or x is bounds[-1])
            last = next(x for x in reversed(bounds) if x[0] < b or x is bounds[0])
            seg_a, seg_b = first[2], last[2]
            start = _time_at(_as_stripped(seg_a), max(0, a - first[0]), end=False)
            stop = _time_at(_as_stripped(seg_b), max(0, b - last[0]), end=True)
            speaker = name_of(seg_a.speaker) if seg_a.speaker else None
            language = (seg_a.language or "")[:2] or guess_language(sentence_text, default_language)
            out.append(Sentence(len(out), sentence_text, round(start, 3), round(max(stop, start), 3),
                                speaker, language))
    return out


def _as_stripped(seg: schema.Segment) -> schema.Segment:
    if seg.text == seg.text.strip():
        return seg
    return schema.Segment(seg.start, seg.end, seg.text.strip(), seg.words, seg.speaker, seg.language)


def word_overlap(a: str, b: str) -> float:
    """Share of the shorter text's content words (stems) found in the other: 0 (nothing) to 1 (all)."""
    sa, sb = {stem(w) for w in content_words(a)}, {stem(w) for w in content_words(b)}
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def spans_overlap(a_start: float, a_end: float, b_start: float, b_end: float, slack: float = 0.5) -> bool:
    return a_start <= b_end + slack and b_start <= a_end + slack


def span_text(all_sentences: list[Sentence], start: float, end: float, slack: float = 0.5) -> list[Sentence]:
    """The sentences that overlap [start, end] (with a little slack for rounding)."""
    return [s for s in all_sentences if s.end >= start - slack and s.start <= end + slack]
