"""Evidence of who is who, from what was said (rules, French and English).

Read sentence by sentence, with the diarization label of whoever said each:

- introductions: "I'm Alice", "my name is Bob", "this is Bob" (on the phone), "c'est Bruno",
  "moi c'est Chloé", "je m'appelle Inès", "Alice from sales here": the speaker is that person;
- being addressed: "Thanks Bruno", "Chloé, tu peux ...", "What do you think, Bob?",
  "Hi Felix": the person spoken to is not the speaker, and is probably whoever speaks next
  (a question or a request is answered) or whoever spoke just before (thanks, a remark);
- being talked about: "I agree with Lucas" (who just spoke), "I'll call David" (the speaker is
  not David);
- being said absent: "David is away today", "David couldn't make it", "Julie est en congé",
  "Élodie est en formation, elle s'excuse", "on verra quand David sera rentré".

Each piece is an :class:`Evidence`: a time, the speaker label it is about, the person (one
or, for a first name two invitees share, several), a weight (positive: that label is that
person; negative: it is not) and the sentence, for the reason shown to people. Weighing it
all into names is :mod:`voicebot.naming.assign`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voicebot import schema
from voicebot.minutes.text import STOPWORDS
from voicebot.naming.names import Candidate, Lexicon, Mention, is_cased
from voicebot.textfold import fold_same_length

# How much each kind of evidence weighs (see assign.py for how the weights become names).
INTRODUCED = 3.0  # "I'm Alice", "je m'appelle Inès", "moi c'est Chloé"
ANNOUNCED = 2.5  # "this is Bob", "c'est Bruno", "Alice here", at the start of a turn
ASKED_ANSWERED = 1.5  # asked a question or a request by name, and the next speaker answers
ASKED_MIDWAY = 0.7  # the same, with more said after it before anyone answers
THANKED = 1.2  # "thanks Bruno" just after Bruno spoke
REMARKED = 1.0  # "Hugo, stop showing off", "It's a tiger, Tom" just after they spoke
GREETED = 0.8  # "Hi Felix" (just after they spoke)
NEXT_AFTER_REMARK = 0.4  # the next speaker, after a greeting or a remark to them
AGREED_WITH = 0.6  # "I agree with Lucas" just after Lucas spoke
ASSIGNED = 0.5  # "les slides, c'est pour Chloé": Chloé probably answers
NOT_THE_ADDRESSEE = -4.0  # nobody calls themself by name
NOT_THE_ONE_MENTIONED = -2.0  # nor talks about themself in the third person
ANSWER_WITHIN = 8.0  # seconds: a later next turn is no answer


@dataclass
class Evidence:
    time: float  # when it was said (seconds)
    label: str | None  # the speaker label it is about; None: about a person only (absent)
    people: tuple[int, ...]  # indexes into the lexicon's candidates
    name: str  # as said
    kind: str  # introduced | announced | asked | thanked | greeted | remarked | agreed | assigned | named | absent
    weight: float
    text: str  # the sentence
    by: str | None = None  # the label of whoever said it

    def to_dict(self, lexicon: Lexicon) -> dict:
        return {"time": round(self.time, 2), "label": self.label, "by": self.by, "kind": self.kind,
                "name": self.name, "people": [lexicon.candidates[i].name for i in self.people],
                "weight": self.weight, "text": self.text}


@dataclass
class Turn:
    speaker: str | None
    sentences: list = field(default_factory=list)  # voicebot.minutes.text.Sentence

    @property
    def start(self) -> float:
        return self.sentences[0].start

    @property
    def end(self) -> float:
        return self.sentences[-1].end

    @property
    def asks(self) -> bool:
        return _asks(self.sentences[-1].text)


def turns_of(transcript: schema.Transcript) -> list[Turn]:
    """The transcript's sentences grouped into turns (one speaker talking until another does)."""
    from voicebot.minutes.text import sentences

    turns: list[Turn] = []
    for sentence in sentences(transcript):
        if turns and turns[-1].speaker == sentence.speaker:
            turns[-1].sentences.append(sentence)
        else:
            turns.append(Turn(sentence.speaker, [sentence]))
    return turns


# --- the phrases, on text folded to lower case without accents (voicebot.textfold) -------------

_I = r"(?:\s*,\s*|\s+)"
_INTERJECTIONS = r"(?:\W|oui|allo|bonjour|bonsoir|hello|hi|hey|yes|yeah|salut|alors|euh|hum|well|so|ok|okay" \
                 r"|good morning|good afternoon|morning|sorry|desolee?|pardon|coucou|all|everyone|everybody|guys" \
                 r"|tout le monde|a tous)*"
# Said just before one's own name: "I'm", "my name is", "moi c'est", "je m'appelle".
_INTRO_STRONG = re.compile(r"(?:\bi'?m|\bi am|\bmy name is|\bmy name's|\bcall me|\bmoi,? c'est|\bje m'appelle"
                           r"|\bmon nom est|\bmon prenom c'est|\bmon prenom est)\s+$")
# Weaker, so only at the start of a turn: "this is Bob", "it's Bob", "c'est Bruno", "ici Bruno".
_INTRO_START = re.compile(r"^" + _INTERJECTIONS +
                          r"(?:this is|it's|it is|c'est|ici|je suis)\s+$")
_INTRO_NOT = re.compile(r"^(?:'s\b|\s*(?:qui|que|qu'|who|that|which|de|du|des|d'|pour|avec|a|au|aux|and|et|or|ou"
                        r"|said|says|a dit|dit|will|would|va|sera|is|est|has|a)\b)")
# "Alice here", "Bruno à l'appareil", "Alice from sales here".
_HERE_AFTER = re.compile(r"^(?:\s*,)?\s+(?:here\b|speaking\b|a l'appareil\b|from\s+[\w' -]{1,30}?\s+here\b)")
_ONLY_INTERJECTIONS = re.compile(r"^(?:\W|hi|hello|hey|bonjour|salut|oui|yes|allo|good morning|morning|coucou)*$")
# Introducing someone else: "this is Bob, our new intern", "voici Inès", "je vous presente Ines", "meet Felix".
_PRESENTS = re.compile(r"(?:\bvoici|\bje vous presente|\blet me introduce|\bplease welcome)\s+$"
                       r"|^" + _INTERJECTIONS + r"(?:this is|meet|please meet)\s+$")
_APPOSITION = re.compile(r"^\s*,?\s*(?:our|my|the|who|notre|mon|ma|qui|le|la)\b")

_THANKS = r"thanks|thank you|thx|cheers|merci(?: beaucoup)?|sorry|desolee?|pardon|congratulations|congrats" \
          r"|bravo|felicitations|well done|good job|nice one"
_GREETING = r"hi|hello|hey|bonjour|bonsoir|salut|coucou|welcome|bienvenue|good morning|good afternoon|good evening" \
            r"|morning|nice to meet you|enchantee?|ravie? de te rencontrer|bye|goodbye|au revoir|a bientot|see you"
_ADDRESS_BEFORE = re.compile(rf"(?:^|\W)({_THANKS}|{_GREETING})(?:\s*,)?\s+(?:(?:and|et)\s+)?$")
_LEAD = r"(?:(?:and|et|so|alors|ok|okay|right|bon|ben|euh|uh|um|hmm|also|au fait|oh|ah|yes|yeah|oui|well|now|next" \
        r"|then|puis|ensuite|d'accord|alright|great|super|parfait|perfect|pardon|sorry)\W+)*"
_START_THEN_COMMA = re.compile(rf"^\W*{_LEAD}$")
_JUST_A_NAME_AFTER = re.compile(r"^\W*$")
_COMMA_BEFORE_END = re.compile(r",\s*$")
_REQUEST = re.compile(
    r"\?|\b(?:can you|could you|would you|will you|would you mind|do you|did you|have you|are you|you tested"
    r"|how's|how is|what about|anything|your turn|over to you|go ahead|tell us|let us know|any news|any update"
    r"|tu peux|tu pourrais|pourrais-tu|peux-tu|tu veux|tu voudrais|vous pouvez|vous pourriez|tu as|tu nous"
    r"|t'en penses|tu en penses|est-ce que tu|tu te sens|vas-y|allez-y|a toi|a vous|on en est ou|c'est possible"
    r"|tu t'en occupes|tu gardes|tu prends|tu fais|tu me|tu t'occupes)\b")
_AGREE_BEFORE = re.compile(r"(?:\bagree with|\bagreed with|\bd'accord avec|\bcomme (?:dit|disait|l'a dit)|\blike"
                           r"|\bas)\s+$")
_AGREE_AFTER = re.compile(r"^\s+(?:said|says|just said|is right|a raison|l'a dit|disait)\b")
_ASSIGN_BEFORE = re.compile(r"\bc'est pour\s+$")
_LIST_GLUE = re.compile(r"\s*(?:,|,?\s*(?:and|et|or|ou|&))\s*")
_WHICH = re.compile(r"^\W*(?:which|laquelle|lequel|lesquel\w*|qui|who)\b[^.!]*\?\W*$")
# A name put at the end of a sentence about someone ("Il est encore en retard, Paul"), not a call.
_THIRD_PERSON = re.compile(r"\b(?:il|elle|lui|he|she|him|her|his|he's|she's)\b")

# Absence, said of someone: in the same sentence as their name (or the next one, through a pronoun).
_ABSENT = re.compile(
    r"couldn'?t make it|can'?t make it|cannot make it|could not make it|won'?t make it|not make it"
    r"|can'?t join|cannot join|couldn'?t join|could not join|won'?t (?:be )?join|not joining|isn'?t joining"
    r"|(?:is|'s|are) away\b|(?:is|'s) off\b|off sick|out sick|(?:is|'s) (?:sick|ill|unwell)\b"
    r"|on holiday|on vacation|on (?:sick |paternity |maternity |parental )?leave|on a train|on the road"
    r"|out of (?:the )?office|sends? (?:his |her |their )?apologies|sent (?:his |her |their )?apologies"
    r"|apologies from|without (?:him|her|them)\b|go ahead without|won'?t be (?:here|there|joining|with us|able to)"
    r"|(?:isn'?t|is not) (?:here|with us|coming|joining|around|in today)|not coming|(?:is|'s) absent"
    r"|at the (?:dentist|doctor|hospital)|with a client|at a (?:customer|client)|on a (?:customer|client) site"
    r"|(?:is|'s) travel+ing|(?:when|until|till|once) \w+(?:'s| is| gets| comes) back"
    r"|(?:when|until|till|once) (?:he|she|they)(?:'s| is| are| gets| get| comes| come) back|interviewing in"
    r"|in another meeting|double[- ]booked|\bexcused\b"
    r"|\ben conges?\b|\ben vacances\b|\ben deplacement\b|\ben formation\b|\ben arret\b|\ben rendez-vous\b"
    r"|\bmalade\b|\babsente?s?\b|\bexcusee?s?\b|\bs'excuse\b(?! (?:pour|de|d'))|nous prie de l'excuser"
    r"|ne sera pas (?:la|avec nous|present)|ne viendra pas|ne peut pas (?:venir|etre la|etre avec nous)"
    r"|n'a pas pu (?:venir|se liberer|etre la)|ne pourra pas (?:venir|etre la|etre presente?|se joindre|nous rejoindre)"
    r"|ne pouvait pas venir|a prevenu(?=\s*[,.;!?]|\s*$)|on fait sans (?:lui|elle)|sans (?:lui|elle) aujourd'hui"
    r"|a son retour|quand (?:il|elle|\w+) (?:revient|reviendra|rentre|sera (?:la|rentree?|de retour))"
    r"|(?:n'est|ne sera) pas la|pas la aujourd'hui|chez (?:un|le|une) (?:client|cliente|dentiste|medecin)"
    r"|sur un autre chantier|\bindisponible\b|pas disponible|\bempechee?\b|est en (?:mission|seminaire|repos)")
# Absence said of another time: "off next week", "malade la semaine dernière" is no absence now.
_OTHER_TIME = re.compile(r"\b(?:next|last) (?:week|month|monday|tuesday|wednesday|thursday|friday)|\byesterday"
                         r"|\btomorrow|\bprochaine?\b|\bderniere?\b|\bhier\b|\bdemain\b|\ba partir d")
# Said right after someone's name: they are here after all ("David just joined", "Oh hi David, you made it").
_ARRIVED_AFTER = re.compile(r"^(?:'s here|\s+is here|\s+est la\b|\s+(?:has |just )+(?:joined|arrived)|\s+est arrivee?"
                            r"|\s+vient d'arriver|\s+nous (?:a )?rejoint|\s+made it|\W*(?:you|tu) (?:made it|es la|es arrivee?))")
_PRONOUN_START = re.compile(r"^\W*(?:he|she|they|il|elle|he's|she's|they're)\b")
_NOT_ABSENT = re.compile(r"\b(?:is here|'s here|est la|here now|vient d'arriver|just joined|has joined|nous rejoint"
                         r"|est arrivee?|has arrived|just arrived|made it)\b")

# Someone not invited who says their name ("I'm Peter Harlow", "this is Peter Harlow from Greenleaf" at the start
# of a turn), or whom others call by a name nobody invited ("Great to have you, Peter", "Bye Peter!").
_NAME = r"([A-ZÀ-Ý][a-zà-ÿ’'-]+(?:\s+[A-ZÀ-Ý][a-zà-ÿ’'-]+)?)"
_GUEST_INTRO = re.compile(r"(?i:\bI'?m|\bI am|\bmy name is|\bmy name's|\bmoi,? c'est|\bje m'appelle)\s+" + _NAME)
_GUEST_ANNOUNCE = re.compile(r"^(?i:(?:\W|hello|hi|hey|yes|yeah|oui|allo|allô|bonjour|salut|all|everyone|tout le monde)*)"
                             r"(?i:this is|it's|it is|c'est|ici)\s+" + _NAME)
_GUEST_CALLED = re.compile(r"(?i:\b(?:thanks|thank you|bye|hi|hello|hey|welcome|merci|bonjour|salut|bienvenue"
                           r"|au revoir))\s*,?\s+([A-ZÀ-Ý][a-zà-ÿ’'-]+)(?=\s*[,.!?]|\s*$)"
                           r"|,\s*([A-ZÀ-Ý][a-zà-ÿ’'-]+)\s*[.!?]*\s*$")
_STOPWORDS = {fold_same_length(w) for w in STOPWORDS}
_NOT_NAMES = frozenset("""
i ok okay sorry so not just here there the a an english french german spanish italian british american irish
canadian belgian swiss dutch chinese japanese indian new back done good fine afraid sure happy glad late
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier mars
avril mai juin juillet aout septembre octobre novembre decembre all everyone everybody guys team folks sir madam
boss chef monsieur madame tous merci thanks please yes no oui non voila bravo super parfait great
""".split())


def _asks(text: str) -> bool:
    return bool(_REQUEST.search(fold_same_length(text)))


def _clock(seconds: float) -> str:
    from voicebot.formats import clock

    return clock(seconds)


class Reader:
    """Reads a transcript's turns into evidence about a lexicon's candidates."""

    def __init__(self, lexicon: Lexicon, turns: list[Turn]):
        self.lexicon, self.turns = lexicon, turns
        texts = [s.text for t in turns for s in t.sentences]
        self.cased = is_cased(texts)
        # Without punctuation, where a call by name starts and ends is unknown ("thanks sam anything on
        # hardware" is "Thanks. Sam, anything on hardware?"): only a name that ends a turn counts as a call.
        self.punctuated = sum(bool(re.search(r"[.!?,]", t)) for t in texts) >= 0.3 * len(texts)
        self.found: list[Evidence] = []
        self.absent: dict[int, Evidence] = {}  # person -> the sentence that said them absent
        self.at = 0  # the turn being read
        self.arrived: set[int] = set()  # people said to have arrived after all

    def add(self, kind: str, label: str | None, mention: Mention, weight: float, sentence, by: str | None,
            people: tuple[int, ...] | None = None) -> None:
        if label is None and kind != "absent":
            return
        self.found.append(Evidence(sentence.start, label, people or mention.people, mention.said, kind, weight,
                                   sentence.text, by))

    def read(self) -> list[Evidence]:
        self.guests()
        for t, turn in enumerate(self.turns):
            self.at = t
            before = self.turns[t - 1].speaker if t > 0 else None
            after = self.turns[t + 1] if t + 1 < len(self.turns) else None
            answered = after.speaker if after is not None and after.start - turn.end <= ANSWER_WITHIN else None
            for i, sentence in enumerate(turn.sentences):
                following = turn.sentences[i + 1:]
                for mention in self.lexicon.mentions(sentence.text, cased=self.cased):
                    self.one(mention, sentence, i, turn, following, before, answered)
        for person in self.arrived:
            self.absent.pop(person, None)
        return self.found

    def one(self, mention: Mention, sentence, index: int, turn: Turn, following: list, before: str | None,
            answered: str | None) -> None:
        folded = fold_same_length(sentence.text)
        left, right = folded[:mention.start], folded[mention.end:]
        speaker = turn.speaker
        unique = mention.unique is not None
        if unique and _ARRIVED_AFTER.match(right):
            self.arrived.add(mention.unique)  # "Oh, David made it!": whatever was said of him before
            self.absent.pop(mention.unique, None)

        # Introductions: the speaker is that person.
        if _INTRO_STRONG.search(left) and not _INTRO_NOT.match(right):
            self.add("introduced", speaker, mention, INTRODUCED, sentence, speaker)
            return
        if index <= 1 and _INTRO_START.search(left) and not _INTRO_NOT.match(right) \
                and not (_APPOSITION.match(right) and "this is" in left) and not _THIRD_PERSON.search(right):
            # ("C'est Bruno, il arrive": news of Bruno, not Bruno speaking)
            self.add("announced", speaker, mention, ANNOUNCED, sentence, speaker)
            return
        if index <= 1 and _ONLY_INTERJECTIONS.match(left) and _HERE_AFTER.match(right):
            self.add("announced", speaker, mention, ANNOUNCED, sentence, speaker)
            return
        if _PRESENTS.search(left) and not _INTRO_NOT.match(right):  # introducing someone, who says hello next
            self.add("presented", answered, mention, ASKED_ANSWERED * 0.5, sentence, speaker)
            if unique:
                self.add("named", speaker, mention, NOT_THE_ADDRESSEE, sentence, speaker)
            return

        # Spoken to: "Thanks Bruno", "Chloé, tu peux...", "..., Bob?", "Omar?". Not someone said to be away
        # ("Il est toujours sur un autre chantier, Yannick": a name put at the end, not a call).
        greeting = _ADDRESS_BEFORE.search(left)
        alone = _START_THEN_COMMA.match(left) and _JUST_A_NAME_AFTER.match(right)
        listed = self.listed(mention, sentence.text)  # "Alice, Bob and Carol will...": a list, not a call
        leading = _START_THEN_COMMA.match(left) and right.lstrip().startswith(",") and not listed
        trailing = _COMMA_BEFORE_END.search(left) and _JUST_A_NAME_AFTER.match(right) \
            and not _THIRD_PERSON.search(left)
        if not self.punctuated:
            ends_turn = not following and _JUST_A_NAME_AFTER.match(right)
            alone = leading = trailing = False
            greeting = greeting if ends_turn else None
        if (greeting or alone or leading or trailing) and mention.unique not in self.absent:
            if unique:
                self.add("named", speaker, mention, NOT_THE_ADDRESSEE, sentence, speaker)
            asks = _asks(sentence.text) or bool(alone and following and _asks(following[0].text))
            last = len(following) == 0 or bool(alone and len(following) == 1)
            word = greeting.group(1) if greeting else ""
            thanks = bool(greeting) and bool(re.fullmatch(_THANKS, word))
            if index == 0 and self.which_one(before):
                # "Which Tom?" - "Tom Patel, sorry.": the name answers the question; the request it
                # clarifies is for them, and they answer next.
                self.add("asked", answered, mention, ASKED_ANSWERED, sentence, speaker)
            elif thanks:
                self.add("thanked", before, mention, THANKED if index == 0 else THANKED / 2, sentence, speaker)
            elif index > 0 or asks:
                # Said on into one's turn, or asking: to whoever speaks next.
                self.add("asked", answered, mention, ASKED_ANSWERED if (asks or last) else ASKED_MIDWAY, sentence,
                         speaker)
            elif greeting:
                self.add("greeted", before, mention, GREETED, sentence, speaker)
                self.add("greeted", answered, mention, NEXT_AFTER_REMARK * (2 if turn.asks else 1), sentence,
                         speaker)
            else:
                self.add("remarked", before, mention, REMARKED, sentence, speaker)
                self.add("remarked", answered, mention, NEXT_AFTER_REMARK, sentence, speaker)
            return

        if mention.common and not mention.titled:
            return  # "Mark my words", "a rose": not surely a name

        # Talked about.
        if self.said_absent(folded, sentence, turn, index, mention):
            return
        if _AGREE_BEFORE.search(left) or _AGREE_AFTER.match(right):
            self.add("agreed", before, mention, AGREED_WITH, sentence, speaker)
        elif _ASSIGN_BEFORE.search(left):
            self.add("assigned", answered, mention, ASSIGNED, sentence, speaker)
        if unique:
            self.add("named", speaker, mention, NOT_THE_ONE_MENTIONED, sentence, speaker)

    def listed(self, mention: Mention, text: str) -> bool:
        """Whether the name is one of a list of people ("Alice, Bob and Carol", "Alice et Bruno")."""
        folded = fold_same_length(text)
        for other in self.lexicon.mentions(text, cased=self.cased):
            if other.people == mention.people:
                continue
            between = folded[min(mention.end, other.end):max(mention.start, other.start)]
            if _LIST_GLUE.fullmatch(between):
                return True
        return False

    def which_one(self, label: str | None) -> bool:
        """Whether the turn just before, by ``label``, asked "which one?" ("Laquelle ?", "Which Tom?")."""
        turn = next((t for t in reversed(self.turns[:self.at]) if t.speaker == label), None) if label else None
        return turn is not None and bool(_WHICH.match(fold_same_length(turn.sentences[-1].text)))

    def said_absent(self, folded: str, sentence, turn: Turn, index: int, mention: Mention) -> bool:
        """Whether this sentence (or the next of the same turn, through a pronoun) says the person is away."""
        if mention.unique is None:
            return False
        texts = [folded]
        if index + 1 < len(turn.sentences):
            nxt = fold_same_length(turn.sentences[index + 1].text)
            if _PRONOUN_START.match(nxt):
                texts.append(nxt)
        others = {m.people for m in self.lexicon.mentions(sentence.text, cased=self.cased)} - {mention.people}
        if others:
            return False  # "tell David that Alice is away": whose absence is unclear
        for text in texts:
            if _ABSENT.search(text) and not _OTHER_TIME.search(text) and not _NOT_ABSENT.search(text):
                evidence = Evidence(sentence.start, None, mention.people, mention.said, "absent", 0.0, sentence.text,
                                    turn.speaker)
                self.absent.setdefault(mention.unique, evidence)
                self.found.append(evidence)
                if turn.speaker:
                    self.add("named", turn.speaker, mention, NOT_THE_ONE_MENTIONED, sentence, turn.speaker)
                return True
        return False

    def guests(self) -> None:
        """Add, as candidates not invited, the names people say of themselves or call others by that nobody invited."""
        for turn in self.turns:
            for index, sentence in enumerate(turn.sentences):
                text = sentence.text.replace("’", "'")
                found = [m.group(1) for m in _GUEST_INTRO.finditer(text)]
                if index <= 1:
                    found += [m.group(1) for m in _GUEST_ANNOUNCE.finditer(text)
                              if not _INTRO_NOT.match(fold_same_length(text[m.end():]))]
                if self.cased:
                    found += [m.group(1) or m.group(2) for m in _GUEST_CALLED.finditer(text)]
                for said in found:
                    words = [w.strip("'-") for w in said.split()]
                    words = [w for w in words[:2] if w and fold_same_length(w) not in _NOT_NAMES
                             and fold_same_length(w) not in _STOPWORDS]
                    if len(words) != len(said.split()[:2]) or not words:
                        continue
                    if self.lexicon.mentions(" ".join(words), cased=self.cased):
                        continue  # a name the lexicon knows (an invitee, or a guest already added)
                    self.lexicon.add(Candidate(" ".join(words), None, invited=False))


def gather(transcript: schema.Transcript, lexicon: Lexicon) -> tuple[list[Evidence], dict[int, Evidence], list[Turn]]:
    """Every piece of evidence in ``transcript`` (speaker labels as diarized), who was said absent, and the turns."""
    turns = turns_of(transcript)
    reader = Reader(lexicon, turns)
    found = reader.read()
    return found, reader.absent, turns


def describe(evidence: Evidence) -> str:
    """A short human reason: "addressed as Bruno at 0:31 and answered"."""
    at = _clock(evidence.time)
    return {
        "introduced": f"introduced themself as {evidence.name} at {at}",
        "announced": f"said “{evidence.name}” of themself at {at}",
        "asked": f"addressed as {evidence.name} at {at} and answered",
        "thanked": f"thanked as {evidence.name} at {at}, right after speaking",
        "greeted": f"greeted as {evidence.name} at {at}",
        "remarked": f"spoken to as {evidence.name} at {at}",
        "agreed": f"agreed with as {evidence.name} at {at}, right after speaking",
        "assigned": f"given a task as {evidence.name} at {at} and answered",
        "presented": f"introduced as {evidence.name} at {at} and spoke next",
        "absent": f"said absent at {at} (“{evidence.text}”)",
    }.get(evidence.kind, f"{evidence.kind} {evidence.name} at {at}")
