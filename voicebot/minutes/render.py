"""The minutes in words: Markdown from a template, and every sentence the
minutes say themselves (summary, notes), in the minutes' language.

French and English are written out; any other language gets the English words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from voicebot import schema
from voicebot.formats import clock
from voicebot.i18n import duration, language_of, long_date, short_date  # the web pages take them from here too

LABELS = {
    "en": {
        "colon": ":", "date": "Date", "duration": "Duration", "language": "Language", "present": "Present", "absent": "Absent",
        "unknown": "Not known whether present",
        "summary": "Summary", "key_points": "Key points", "decisions": "Decisions", "action_items": "Action items",
        "owner": "Owner", "task": "Task", "due": "Due", "said_at": "Said at", "nobody": "(nobody named)",
        "open_questions": "Open questions", "next_meeting": "Next meeting", "talk_time": "Talk time",
        "none": "None recorded.",
        "footer": "Minutes drafted automatically from the recording's transcript; each item links to the moment "
                  "it was said, so it can be checked.",
    },
    "fr": {
        "colon": " :", "date": "Date", "duration": "Durée", "language": "Langue", "present": "Présents", "absent": "Absents",
        "unknown": "Présence inconnue",
        "summary": "Résumé", "key_points": "Points clés", "decisions": "Décisions", "action_items": "Actions",
        "owner": "Responsable", "task": "Tâche", "due": "Échéance", "said_at": "Moment", "nobody": "(personne de nommé)",
        "open_questions": "Questions ouvertes", "next_meeting": "Prochaine réunion", "talk_time": "Temps de parole",
        "none": "Aucune.",
        "footer": "Compte rendu rédigé automatiquement à partir de la transcription de l'enregistrement ; chaque "
                  "élément renvoie au moment où il a été dit, pour pouvoir le vérifier.",
    },
}

NOTES = {
    "en": {
        "nothing_said": "Nothing was said in this recording, so there is nothing to report.",
        "no_diarization": "Speakers are unknown (the recording was not split by speaker): who was present, who was "
                          "absent and who owns each action could not be told from the voices.",
        "unnamed": "{count} speaker(s) could not be named: {labels}.",
        "no_date": "The meeting date is unknown; due dates were resolved against {today}.",
        "extractive": "Drafted by the rule-based extraction (no language model).",
        "model_used": "Drafted by the language model {model}; each decision and action item was checked against "
                      "the transcript.",
        "model_rejected": "{count} item(s) proposed by the language model were not supported by the transcript and "
                          "were left out; the rule-based extraction filled in.",
        "model_failed": "The language model {model} could not be used ({reason}); these minutes come from the "
                        "rule-based extraction.",
        "model_partial": "The language model {model} stopped after part {done} of {total} ({reason}); the rest "
                         "comes from the rule-based extraction.",
        "no_model": "No local language model is installed, so these minutes come from the rule-based extraction "
                    "(`voicebot models install minutes` installs one).",
    },
    "fr": {
        "nothing_said": "Rien n'a été dit dans cet enregistrement : il n'y a rien à rapporter.",
        "no_diarization": "Les intervenants sont inconnus (l'enregistrement n'a pas été découpé par voix) : qui "
                          "était présent, absent, et qui porte chaque action n'a pas pu être déterminé.",
        "unnamed": "{count} intervenant(s) n'ont pas pu être nommés : {labels}.",
        "no_date": "La date de la réunion est inconnue ; les échéances sont calculées à partir du {today}.",
        "extractive": "Rédigé par l'extraction automatique à base de règles (sans modèle de langue).",
        "model_used": "Rédigé par le modèle de langue {model} ; chaque décision et action a été vérifiée dans "
                      "la transcription.",
        "model_rejected": "{count} élément(s) proposé(s) par le modèle de langue n'étaient pas appuyés par la "
                          "transcription et ont été écartés ; l'extraction automatique a complété.",
        "model_failed": "Le modèle de langue {model} n'a pas pu être utilisé ({reason}) ; ce compte rendu vient de "
                        "l'extraction automatique.",
        "model_partial": "Le modèle de langue {model} s'est arrêté après la partie {done} sur {total} ({reason}) ; "
                         "la suite vient de l'extraction automatique.",
        "no_model": "Aucun modèle de langue local n'est installé : ce compte rendu vient de l'extraction "
                    "automatique (`voicebot models install minutes` en installe un).",
    },
}

_SUMMARY = {
    "en": {
        "meeting": "{title}, {date}, {duration}{people}.",
        "with": ", with {names}",
        "counts": "{decisions}, {actions} and {questions} were recorded.",
        "decision": ("no decision", "1 decision", "{n} decisions"),
        "action": ("no action item", "1 action item", "{n} action items"),
        "question": ("no open question", "1 open question", "{n} open questions"),
        "and": "and",
    },
    "fr": {
        "meeting": "{title}, {date}, {duration}{people}.",
        "with": ", avec {names}",
        "counts": "{decisions}, {actions} et {questions} ont été relevées.",
        "decision": ("aucune décision", "1 décision", "{n} décisions"),
        "action": ("aucune action", "1 action", "{n} actions"),
        "question": ("aucune question ouverte", "1 question ouverte", "{n} questions ouvertes"),
        "and": "et",
    },
}

_LANGUAGE_NAMES = {"en": {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian"},
                   "fr": {"en": "anglais", "fr": "français", "de": "allemand", "es": "espagnol", "it": "italien"}}


def lang(code: str | None) -> str:
    """The language the minutes are written in: "fr" or "en" (:func:`voicebot.i18n.language_of`)."""
    return language_of(code)


def note(language: str, key: str, **values) -> str:
    return NOTES[lang(language)][key].format(**values)


def _plural(forms: tuple[str, str, str], n: int) -> str:
    return forms[min(n, 2)].format(n=n)


def join_names(names: list[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {_SUMMARY[lang(language)]['and']} " + names[-1]


def summary_paragraph(minutes: schema.Minutes) -> str:
    words = _SUMMARY[lang(minutes.language)]
    people = words["with"].format(names=join_names(minutes.present, minutes.language)) if minutes.present else ""
    first = words["meeting"].format(title=minutes.title, date=long_date(minutes.date, minutes.language),
                                    duration=duration(minutes.duration), people=people)
    counts = words["counts"].format(decisions=_plural(words["decision"], len(minutes.decisions)),
                                    actions=_plural(words["action"], len(minutes.action_items)),
                                    questions=_plural(words["question"], len(minutes.open_questions)))
    return f"{first} {counts[:1].upper()}{counts[1:]}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md(text: object) -> str:
    """User text made inert in Markdown (no links, HTML, emphasis or headings sneaking in)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("voicebot.minutes", "templates"), autoescape=False,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined)
    env.filters["md"] = md
    env.filters["cell"] = md
    return env.get_template("minutes.md.j2")


def render_markdown(minutes: schema.Minutes) -> str:
    """The minutes as Markdown, in their language (French and English; others in English)."""
    code = lang(minutes.language)
    total = sum(minutes.talk_time.values()) or 1.0
    text = _template().render(
        m=minutes, L=LABELS[code], clock=clock,
        long_date=lambda value: long_date(value, code), short_date=lambda value: short_date(value, code),
        duration=duration, time_of_day=lambda hhmm: hhmm.replace(":", " h ") if code == "fr" else hhmm,
        percent=lambda seconds: round(100 * seconds / total),
        language_name=_LANGUAGE_NAMES[code].get((minutes.language or "")[:2], minutes.language or ""),
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
