"""Which invitee a name said in a meeting can be: the name lexicon of a meeting.

People are called by their first name ("Bruno"), their full name ("Marie
Dupont"), a short form ("Alex" for Alexandre, "Bill" for William) or a title
and their last name ("Mr Harlow", "Madame Lefèvre"). A form that fits two
invitees ("Tom" with Tom Hughes and Tom Patel invited) is kept, with both:
the assignment decides, or nobody is named.

Names that are also ordinary words ("Will", "Mark", "Grace", "Rose", "Pierre",
"Claire", "Olivier"...) count only where a name is unmistakable: capitalized
and said to someone or said by someone of themselves, never as a bare word.
French elision is read through ("qu'Éric", "d'Anne-Sophie").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voicebot import schema
from voicebot.textfold import fold, fold_same_length

# First names that are also common words in English or French (or places, or fillers): they name
# someone only when addressed or introduced, capitalized. Folded (no accents, lower case).
COMMON_WORD_NAMES = frozenset("""
will mark grace rose bill pierre claire olivier hope joy faith may june april august summer dawn ivy lily daisy
ruby pearl amber jack frank guy drew ray miles chase hunter sunny sky patience constance prudence blanche aimee
marine france noel ange victoire roger sue pat art don gene rich bud carol iris jade olive violet autumn robin
nancy florence victoria sydney austin jordan paris chelsea georgia lourdes valence vienne ben bob max page
rocky sandy rusty buck penny cash bishop baker mason cook gay happy holly heather honey melody ginger
""".split())

# Short forms and the long forms they stand for (both directions are looked up).
NICKNAMES = {
    "alex": ["alexandre", "alexander", "alexandra", "alexis", "alexia"],
    "sasha": ["alexandre", "alexander", "alexandra"],
    "bob": ["robert"], "rob": ["robert", "robin"], "bobby": ["robert"],
    "bill": ["william"], "will": ["william"], "liam": ["william"],
    "tom": ["thomas"], "tommy": ["thomas"],
    "ben": ["benjamin", "benoit"], "benji": ["benjamin"],
    "sam": ["samuel", "samantha"], "sammy": ["samuel", "samantha"],
    "nick": ["nicholas", "nicolas"], "nico": ["nicolas"],
    "max": ["maxime", "maximilien", "maxwell", "maximilian"],
    "fred": ["frederic", "frederick", "frederique"],
    "seb": ["sebastien", "sebastian"], "steph": ["stephanie", "stephane"],
    "chris": ["christopher", "christian", "christine", "christophe", "christina"],
    "dave": ["david"], "mike": ["michael"], "mick": ["michael"],
    "jim": ["james"], "jimmy": ["james"], "jamie": ["james"],
    "kate": ["katherine", "catherine", "kathryn"], "katie": ["katherine", "catherine"], "cathy": ["catherine"],
    "liz": ["elizabeth", "elisabeth"], "beth": ["elizabeth", "bethany"], "babeth": ["elisabeth"], "elise": ["elisabeth"],
    "matt": ["matthew", "mathieu", "matthieu"], "dan": ["daniel"], "danny": ["daniel"],
    "steve": ["stephen", "steven"], "tony": ["anthony", "antoine"], "greg": ["gregory", "gregoire"],
    "manu": ["emmanuel", "emmanuelle"], "flo": ["florence", "florian", "florent"],
    "caro": ["caroline"], "val": ["valerie", "valentin", "valentine"], "vince": ["vincent"],
    "jo": ["joanna", "josephine", "jonathan", "johanna"], "jon": ["jonathan"], "jonny": ["jonathan"],
    "josh": ["joshua"], "joe": ["joseph"], "jeff": ["jeffrey", "geoffrey"], "geoff": ["geoffrey"],
    "andy": ["andrew"], "drew": ["andrew"], "ed": ["edward", "edouard"], "eddie": ["edward"],
    "ted": ["edward", "theodore"], "theo": ["theodore", "theophile"], "charlie": ["charles", "charlotte"],
    "pat": ["patrick", "patricia"], "rick": ["richard"], "dick": ["richard"], "rich": ["richard"],
    "jen": ["jennifer"], "jenny": ["jennifer"], "becky": ["rebecca"], "meg": ["margaret"], "maggie": ["margaret"],
    "peggy": ["margaret"], "sue": ["susan", "suzanne"], "susie": ["susan", "suzanne"], "abby": ["abigail"],
    "gabi": ["gabrielle", "gabriel"], "gaby": ["gabrielle", "gabriel"], "isa": ["isabelle", "isabel"],
    "zack": ["zachary"], "nate": ["nathan", "nathaniel"], "pete": ["peter"], "phil": ["philip", "phillip", "philippe"],
    "ron": ["ronald"], "tim": ["timothy"], "vicky": ["victoria"], "walt": ["walter"], "doug": ["douglas"],
    "jp": ["jean-pierre"], "jean-phi": ["jean-philippe"], "marie-jo": ["marie-josee", "marie-joseph"],
    "domi": ["dominique"], "gui": ["guillaume"], "jb": ["jean-baptiste"], "lolo": ["laurent", "laurence"],
    "nath": ["nathalie"], "juju": ["julie", "julien"], "cath": ["catherine"], "bea": ["beatrice"],
}

TITLES = ("mr", "mrs", "ms", "miss", "dr", "monsieur", "madame", "mademoiselle", "mme", "mlle", "docteur")


def _long_to_short() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for short, longs in NICKNAMES.items():
        for long in longs:
            out.setdefault(fold(long), []).append(fold(short))
    return out


_SHORT_FORMS = _long_to_short()


def name_words(name: str) -> list[str]:
    """A name's words folded ("Anne-Sophie Léger" -> ["anne-sophie", "leger"])."""
    return fold((name or "").replace("’", "'")).split()


def first_name_forms(first: str) -> set[str]:
    """A folded first name and its short or long forms ("alexandre" -> {"alexandre", "alex", "sasha"})."""
    forms = {first}
    forms.update(_SHORT_FORMS.get(first, []))
    forms.update(fold(n) for n in NICKNAMES.get(first, []))
    if "-" in first:  # "anne-sophie" is also said, and written, "anne sophie"
        forms.add(first.replace("-", " "))
    return {f for f in forms if f}


@dataclass(frozen=True)
class Candidate:
    """Someone a speaker may be: an invitee, or a guest who said their name."""

    name: str
    email: str | None = None
    invited: bool = True
    organizer: bool = False


@dataclass
class Mention:
    """A name said in a sentence: where, as what, and who it can be."""

    start: int  # character span in the sentence
    end: int
    said: str  # as written in the transcript
    people: tuple[int, ...]  # indexes into Lexicon.candidates
    common: bool  # the form is also an ordinary word
    titled: bool  # said with a title ("Mr Harlow")

    @property
    def unique(self) -> int | None:
        return self.people[0] if len(self.people) == 1 else None


@dataclass
class Lexicon:
    """The meeting's candidates and every form of their names, folded, longest first for matching."""

    candidates: list[Candidate] = field(default_factory=list)
    forms: dict[str, set[int]] = field(default_factory=dict)
    _pattern: re.Pattern | None = None

    @classmethod
    def of(cls, invitees: list[schema.Person]) -> Lexicon:
        lexicon = cls()
        for person in invitees:
            if person.name and person.name.strip():
                lexicon.add(Candidate(person.name.strip(), person.email, True, person.role == "organizer"))
        return lexicon

    def add(self, candidate: Candidate) -> int:
        """Index of ``candidate`` (added, or an existing one with the same name)."""
        for i, known in enumerate(self.candidates):
            if fold(known.name) == fold(candidate.name):
                return i
        index = len(self.candidates)
        self.candidates.append(candidate)
        words = name_words(candidate.name)
        if not words:
            return index
        full = " ".join(words)
        self.forms.setdefault(full, set()).add(index)
        for first in first_name_forms(words[0]):
            self.forms.setdefault(first, set()).add(index)
            if len(words) > 1:
                self.forms.setdefault(" ".join([first, *words[1:]]), set()).add(index)
        if len(words) > 1:
            for title in (*TITLES, "m."):
                self.forms.setdefault(f"{title} {words[-1]}", set()).add(index)
                if not title.endswith("."):
                    self.forms.setdefault(f"{title}. {words[-1]}", set()).add(index)
        self._pattern = None
        return index

    def pattern(self) -> re.Pattern | None:
        if self._pattern is None and self.forms:
            alternatives = "|".join(re.escape(f) for f in sorted(self.forms, key=len, reverse=True))
            # A name starts a word, or follows a French elision (qu'Éric, d'Anne-Sophie); it ends a word
            # ("Hannah's" is "Hannah" + "'s").
            self._pattern = re.compile(
                rf"(?:(?<=\b[cdjlmnst]')|(?<=\bqu')|(?<=\bjusqu')|(?<![\w'-]))(?:{alternatives})(?![\w-])")
        return self._pattern

    def mentions(self, text: str, *, cased: bool = True) -> list[Mention]:
        """The names of candidates said in ``text``.

        ``cased``: the transcript writes names with a capital (as Whisper does), so a form
        written in lower case is a word, not a name ("the bill", "c'est clair")."""
        pattern = self.pattern()
        if pattern is None:
            return []
        folded = fold_same_length(text)
        found = []
        for match in pattern.finditer(folded):
            said = text[match.start():match.end()]
            words = said.replace(".", " ").split()
            titled = fold(words[0]) in (*TITLES, "m") and len(words) > 1
            name_part = words[1:] if titled else words
            capital = all(w[:1].isupper() for w in name_part)
            common = len(name_part) == 1 and fold(name_part[0]) in COMMON_WORD_NAMES
            if (cased or common) and not capital:
                continue
            people = tuple(sorted(self.forms[match.group(0)]))
            found.append(Mention(match.start(), match.end(), said, people, common, titled))
        return found


def is_cased(texts: list[str]) -> bool:
    """Whether a transcript writes capitals (most sentences start with one): then a lower-case word is no name."""
    starts = [t.strip()[:1] for t in texts if t.strip()[:1].isalpha()]
    return bool(starts) and sum(c.isupper() for c in starts) >= 0.5 * len(starts)
