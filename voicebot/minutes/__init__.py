"""Minutes: summary, decisions and action items drafted from a transcript.

    from voicebot.minutes import draft, render_markdown
    minutes = draft(transcript, settings, meeting=meeting, speakers=speakers)
    text = render_markdown(minutes)

Engines: ``auto`` (the default: ``llama`` when a local model is installed,
else ``extractive``), ``llama`` (a GGUF model run in-process by llama.cpp,
grounded in the transcript: voicebot.minutes.grounded), ``extractive``
(offline, deterministic, no model), ``openai`` (any OpenAI-compatible
/v1/chat/completions endpoint) and ``transformers`` (a Hugging Face directory
or a .gguf file through PyTorch). Whatever the engine, every decision and
action item carries its source span and passes the support check
(voicebot.minutes.support); what a model proposes that the transcript does not
support is left out and the extractive engine fills in.
"""

from __future__ import annotations

from datetime import date as _date
from datetime import datetime, timezone
from pathlib import Path

from voicebot import recordings, schema
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.fsutil import atomic_write
from voicebot.llm import runtime
from voicebot.minutes import extractive, llm
from voicebot.minutes import people as people_mod
from voicebot.minutes.render import note, render_markdown, summary_paragraph
from voicebot.minutes.text import content_words
from voicebot.minutes.text import sentences as split

ENGINES = ("auto", "llama", "extractive", "openai", "transformers")

__all__ = ["ENGINES", "draft", "render_markdown", "draft_meeting", "write_minutes", "load_inputs"]


def _meeting_date(date: str | None, transcript: schema.Transcript, meeting: schema.Meeting | None) -> _date | None:
    if date:
        try:
            return _date.fromisoformat(date)
        except ValueError:
            raise UserError(f"--date {date!r} is not a date; give it as YYYY-MM-DD, e.g. 2026-03-12") from None
    for candidate in (transcript.date, meeting.started_at if meeting else None):
        if candidate:
            try:
                return _date.fromisoformat(candidate[:10])
            except ValueError:
                continue
    return None


def _language(transcript: schema.Transcript, meeting: schema.Meeting | None) -> str:
    for candidate in (transcript.language, *(transcript.languages[:1]), meeting.language if meeting else None):
        if candidate:
            return candidate[:2].lower()
    return "en"


def draft(transcript: schema.Transcript, settings: Settings, *, meeting: schema.Meeting | None = None,
          speakers: dict | None = None, engine: str | None = None, title: str | None = None,
          date: str | None = None) -> schema.Minutes:
    """Minutes of a meeting from its transcript (and, when known, the meeting and the speaker naming)."""

    engine = (engine or settings.minutes.engine or "auto").strip().lower()
    if engine not in ENGINES:
        raise UserError(f"unknown minutes engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    language = _language(transcript, meeting)
    no_model = engine == "auto" and not runtime.installed(settings)
    if engine == "auto":
        engine = "extractive" if no_model else "llama"
    base = _meeting_date(date, transcript, meeting)
    notes: list[str] = []
    if base is None:
        base = datetime.now(timezone.utc).date()
        notes.append(note(language, "no_date", today=base.isoformat()))
    people = people_mod.gather(transcript, meeting, speakers)
    default_title = {"fr": "Réunion du {date}"}.get(language, "Meeting of {date}").format(date=base.isoformat())
    minutes = schema.Minutes(
        title=(title or transcript.title or (meeting.title if meeting else None) or default_title).strip(),
        date=base.isoformat(), duration=float(transcript.duration or 0.0), language=language,
        present=people.present, absent=people.absent, unknown=people.unknown, talk_time=people_mod.talk_time(transcript, people),
        engine="extractive",
    )
    sents = split(transcript, people.name_of)
    if sum(len(content_words(s.text)) for s in sents) < 2:
        minutes.summary = note(language, "nothing_said")
        minutes.notes = notes + [minutes.summary]
        return minutes
    if not people.diarized:
        notes.append(note(language, "no_diarization"))
    if people.unnamed:
        notes.append(note(language, "unnamed", count=len(people.unnamed), labels=", ".join(people.unnamed)))

    found = extractive.extract(sents, people, base, minutes.duration)
    minutes.key_points = found.key_points
    if engine == "extractive":
        result = llm.supported(found, sents, people, base)
        notes.append(note(language, "no_model" if no_model else "extractive"))
    else:
        result = llm.run(engine, settings, sents, people, base, language, minutes.title, found)
    if engine != "extractive":
        minutes.engine = result.engine
        notes.extend(result.notes)
        if result.key_points:
            minutes.key_points = result.key_points
    minutes.decisions = result.decisions
    minutes.action_items = result.action_items
    minutes.open_questions = result.open_questions
    minutes.next_meeting = result.next_meeting
    minutes.summary = result.summary or summary_paragraph(minutes)
    minutes.notes = notes
    return minutes


def load_inputs(directory: Path) -> tuple[schema.Transcript, schema.Meeting | None, dict | None]:
    """A meeting folder's transcript.json, meeting.json and speakers.json (the last two when present)."""
    path = directory / recordings.TRANSCRIPT
    if not path.is_file():
        raise UserError(f"no transcript at {path}; run `voicebot transcribe` (or `voicebot process`) first")
    transcript = read_transcript(path)
    meeting = recordings.load_meeting(directory) if (directory / recordings.MEETING_JSON).is_file() else None
    speakers_path = directory / recordings.SPEAKERS
    speakers = schema.read_json(speakers_path) if speakers_path.is_file() else None
    return transcript, meeting, speakers


def read_transcript(path: Path) -> schema.Transcript:
    import json

    try:
        data = schema.read_json(path)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; give a meeting id or a transcript JSON file") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory; give a transcript JSON file or a meeting id") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); give a transcript from `voicebot transcribe "
                        "--format json`") from None
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise UserError(f"{path} is not a transcript (no \"segments\" list); give the JSON that "
                        "`voicebot transcribe --format json` writes")
    try:
        return schema.Transcript.from_dict(data)
    except (TypeError, KeyError, ValueError) as exc:
        raise UserError(f"{path} is not a valid transcript ({exc})") from None


def draft_meeting(directory: Path, settings: Settings, **options) -> schema.Minutes:
    """Draft the minutes of a recordings/<id>/ folder from its artifacts."""
    transcript, meeting, speakers = load_inputs(directory)
    return draft(transcript, settings, meeting=meeting, speakers=speakers, **options)


def write_minutes(directory: Path, minutes: schema.Minutes) -> tuple[Path, Path]:
    """minutes.json and minutes.md next to the recording, each written atomically."""
    json_path = atomic_write(directory / recordings.MINUTES_JSON, schema.dumps(minutes))
    md_path = atomic_write(directory / recordings.MINUTES_MD, render_markdown(minutes))
    return json_path, md_path
