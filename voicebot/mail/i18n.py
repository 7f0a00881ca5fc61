"""The words of the messages in each language. Dates and durations are
written by :mod:`voicebot.i18n`, as in the minutes ("Tuesday 24 November
2026" / "mardi 24 novembre 2026"). A language missing here falls back to English.

The templates hold the layout; the sentences live here so a new language is
one more dictionary, with the same keys (a test checks they match)."""

from __future__ import annotations

from datetime import date

from voicebot import i18n
from voicebot.i18n import language_of

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
        "unknown": "Not known whether present",
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
        "unknown": "Présence inconnue",
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
        "search_words": "mots",
    },
}


class Words:
    """``t("due", date=...)`` in templates: the sentence in the message's language."""

    def __init__(self, language: str):
        self.language = language_of(language)
        self.strings = STRINGS[self.language]

    def __call__(self, key: str, **values: object) -> str:
        return self.strings[key].format(**values)

    def date(self, value: str | date | None) -> str:
        """An ISO date written out, with its time when the text gives one; text that is not a date as is."""
        return i18n.long_date(value, self.language, with_time=True)

    def short_date(self, value: str | None) -> str:
        """For subjects, without the weekday: "24 November 2026" / "1er novembre 2026"."""
        return i18n.day_month_year(value, self.language)

    def duration(self, seconds: float | None) -> str:
        """To the minute: "31 min", "1 h 05"."""
        return i18n.duration_in_minutes(seconds)
