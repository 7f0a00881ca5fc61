"""The words of the messages in each language, and dates written the way
each language writes them ("Tuesday 24 November 2026" / "mardi 24 novembre
2026"). A language missing here falls back to English.

The templates hold the layout; the sentences live here so a new language is
one more dictionary, with the same keys (a test checks they match)."""

from __future__ import annotations

from datetime import date, datetime

LANGUAGES = ("en", "fr")

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
}
_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "subject_attendee": "Minutes: {title} ({date})",
        "subject_absentee": "You missed {title} ({date})",
        "subject_alert": "voicebot: {stage} failed for meeting {meeting}",
        "hello": "Hello {name},",
        "hello_anonymous": "Hello,",
        "intro_attendee": "Here are the minutes of “{title}”, held on {when} ({duration}).",
        "intro_absentee": "You were invited to “{title}” on {when} ({duration}) but were not there. "
                          "Here is what was decided, and what concerns you.",
        "labelled": "{label}: {text}",
        "present": "Present",
        "absent": "Absent",
        "nobody": "nobody identified",
        "summary": "Summary",
        "key_points": "Key points",
        "decisions": "Decisions",
        "no_decisions": "No decision was recorded.",
        "action_items": "Action items",
        "your_action_items": "Your action items",
        "no_action_items_for_you": "No action item was assigned to you.",
        "other_action_items": "Other action items",
        "no_action_items": "No action item was recorded.",
        "unassigned": "unassigned",
        "due": "due {date}",
        "open_questions": "Open questions",
        "next_meeting": "Next meeting: {when}",
        "notes": "How these minutes were made",
        "at": "at {clock}",
        "search_title": "The full transcript",
        "search_cli": "Search it on the voicebot machine:",
        "search_web": "Or open it in the web archive:",
        "attachments": "Attached: {files}.",
        "footer": "Drafted automatically by voicebot from the meeting's recording. "
                  "Each decision and action item gives the time it was said: check it against the transcript.",
        "redacted_note": "Email addresses, phone numbers and account numbers were removed from this message.",
        "alert_intro": "The {stage} stage failed for meeting {meeting}.",
        "alert_error": "Error",
        "alert_next": "The recording and what was done so far are kept; `voicebot status` shows the incident.",
        "minutes_file": "minutes",
        "transcript_file": "transcript",
        "actions_file": "action-items",
        "duration_min": "{m} min",
        "duration_hours": "{h} h {m:02d}",
        "when": "{weekday} {day} {month} {year} at {time}",
        "date": "{weekday} {day} {month} {year}",
        "search_words": "words",
    },
    "fr": {
        "subject_attendee": "Compte rendu : {title} ({date})",
        "subject_absentee": "Vous avez manqué {title} ({date})",
        "subject_alert": "voicebot : échec de l'étape {stage} pour la réunion {meeting}",
        "hello": "Bonjour {name},",
        "hello_anonymous": "Bonjour,",
        "intro_attendee": "Voici le compte rendu de la réunion « {title} », tenue le {when} ({duration}).",
        "intro_absentee": "Vous étiez invité(e) à la réunion « {title} » du {when} ({duration}) mais vous "
                          "n'étiez pas là. Voici ce qui a été décidé, et ce qui vous concerne.",
        "labelled": "{label} : {text}",
        "present": "Présents",
        "absent": "Absents",
        "nobody": "personne d'identifié",
        "summary": "Résumé",
        "key_points": "Points clés",
        "decisions": "Décisions",
        "no_decisions": "Aucune décision n'a été relevée.",
        "action_items": "Actions",
        "your_action_items": "Vos actions",
        "no_action_items_for_you": "Aucune action ne vous a été confiée.",
        "other_action_items": "Autres actions",
        "no_action_items": "Aucune action n'a été relevée.",
        "unassigned": "non attribuée",
        "due": "pour le {date}",
        "open_questions": "Questions ouvertes",
        "next_meeting": "Prochaine réunion : {when}",
        "notes": "Comment ce compte rendu a été produit",
        "at": "à {clock}",
        "search_title": "La transcription complète",
        "search_cli": "Pour y chercher, sur la machine voicebot :",
        "search_web": "Ou ouvrez-la dans l'archive web :",
        "attachments": "Pièces jointes : {files}.",
        "footer": "Rédigé automatiquement par voicebot à partir de l'enregistrement de la réunion. "
                  "Chaque décision et action indique le moment où elle a été dite : vérifiez-la dans la transcription.",
        "redacted_note": "Les adresses e-mail, numéros de téléphone et numéros de compte ont été retirés de ce message.",
        "alert_intro": "L'étape {stage} a échoué pour la réunion {meeting}.",
        "alert_error": "Erreur",
        "alert_next": "L'enregistrement et ce qui a déjà été fait sont conservés ; `voicebot status` montre l'incident.",
        "minutes_file": "compte-rendu",
        "transcript_file": "transcription",
        "actions_file": "actions",
        "duration_min": "{m} min",
        "duration_hours": "{h} h {m:02d}",
        "when": "{weekday} {day} {month} {year} à {time}",
        "date": "{weekday} {day} {month} {year}",
        "search_words": "mots",
    },
}


def language_of(*candidates: str | None) -> str:
    """The first candidate we have templates for ("fr-CA" -> "fr"); English otherwise."""
    for candidate in candidates:
        code = (candidate or "").strip().lower()[:2]
        if code in STRINGS:
            return code
    return "en"


class Words:
    """``t("due", date=...)`` in templates: the sentence in the message's language."""

    def __init__(self, language: str):
        self.language = language_of(language)
        self.strings = STRINGS[self.language]

    def __call__(self, key: str, **values: object) -> str:
        return self.strings[key].format(**values)

    def date(self, value: str | date | None) -> str:
        """An ISO date (or datetime) written out; text that is not a date is returned as is."""
        parsed = _parse(value)
        if parsed is None:
            return str(value or "")
        day = parsed.date() if isinstance(parsed, datetime) else parsed
        text = self("date", weekday=_WEEKDAYS[self.language][day.weekday()], day=_day(day.day, self.language),
                    month=_MONTHS[self.language][day.month - 1], year=day.year)
        if isinstance(parsed, datetime) and isinstance(value, str) and "T" in value:
            return self("when", weekday=_WEEKDAYS[self.language][day.weekday()], day=_day(day.day, self.language),
                        month=_MONTHS[self.language][day.month - 1], year=day.year, time=f"{parsed:%H:%M}")
        return text

    def short_date(self, value: str | None) -> str:
        """24 Nov 2026 style, for subjects: "24 November 2026" / "24 novembre 2026"."""
        parsed = _parse(value)
        if parsed is None:
            return str(value or "")
        return f"{_day(parsed.day, self.language)} {_MONTHS[self.language][parsed.month - 1]} {parsed.year}"

    def duration(self, seconds: float | None) -> str:
        minutes = int(round((seconds or 0) / 60))
        if minutes < 60:
            return self("duration_min", m=max(minutes, 1) if seconds else 0)
        return self("duration_hours", h=minutes // 60, m=minutes % 60)


def _day(day: int, language: str) -> str:
    return "1er" if language == "fr" and day == 1 else str(day)


def _parse(value: str | date | None) -> date | datetime | None:
    if isinstance(value, (date, datetime)):
        return value
    text = (value or "").strip()
    if not text:
        return None
    try:
        if "T" in text or " " in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
