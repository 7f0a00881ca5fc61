"""The whole job for one meeting: from its audio to everyone's inbox, resumable after any crash.

    transcribe -> diarize -> speakers -> minutes -> archive -> send

``voicebot process`` and the end of ``voicebot record`` run these stages in
this order (``STAGES``), one function each, below. A stage reads what the
stages before it wrote in ``recordings/<id>/`` and writes its own artifact
there atomically (temp file, fsync, rename); the archive's jobs table records
its state (``running`` counts an attempt, then ``done`` or ``failed``).

Resuming: a rerun skips every stage that is done and whose artifact is still
there, and runs everything from the first one that is not. Transcription
also checkpoints inside the stage (``transcript.partial.json``: the segments
so far and how far the audio is done), so a crash at minute 50 of 60 does
not redo the first 50. Rerunning is always safe: the archive stage replaces
the meeting's rows and queues each email under a Message-ID fixed by
(meeting, recipient, version 1), which the outbox never queues twice, so a
rerun never sends twice.

Failures: a stage that fails is recorded (state ``failed``, the error) and
the meeting stops there; the next ``voicebot resume`` tries again. After
``pipeline.max_attempts`` attempts (a process killed in the middle of a
stage counts as one) it gives up: an incident is recorded and the admin
(``mail.admin``) is alerted through the outbox. ``resume`` leaves it alone
from then on; ``voicebot process ID`` makes one more attempt on request.

Degraded rather than nothing: no diarization weights -> a transcript without
speakers, said in the minutes' notes; language model down -> extractive
minutes (the minutes package falls back and says so); mail server down ->
the messages wait in the outbox (``voicebot outbox send`` or the next
``resume`` delivers them).

One process works on a meeting at a time (a lock file in its folder). Each
model is loaded inside its stage and dropped at its end, so Whisper is not in
memory during diarization.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import resource
import shutil
import signal
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from voicebot import asr, mail, record, recordings, schema
from voicebot import diarize as diarization
from voicebot import minutes as drafting
from voicebot.archive import open_archive
from voicebot.asr import Resume
from voicebot.asr.chunking import ScoreStore
from voicebot.audio import duration_of, load_audio, write_flac
from voicebot.config import Settings
from voicebot.errors import ModelError, UserError
from voicebot.fsutil import append_jsonl, atomic_write, exclusive_lock, fsync_dir, read_jsonl
from voicebot.invites import find_person, merge_people
from voicebot.minutes.render import lang
from voicebot.naming import identify

PROCESSABLE = ("recorded", "recovered", "imported")  # meeting.json statuses with complete audio
IMPORT_LOCK = ".import.lock"  # in the home folder: imports wait for each other (the same file twice is one meeting)


@dataclass
class Event:
    """What the pipeline tells its caller as it goes (the CLI draws progress bars from it)."""

    meeting_id: str
    stage: str
    kind: str  # skip | start | progress | done | failed
    done: float = 0.0  # progress: seconds of audio done
    total: float | None = None  # progress: seconds of audio in all
    seconds: float = 0.0  # done, failed: how long the stage took
    detail: str = ""  # done: a short summary; failed: the error; skip: why


Hook = Callable[[Event], None]


class Busy(UserError):
    """Another process is working on this meeting now."""


class StageFailed(UserError):
    """A stage failed; the meeting stops there (the error is recorded in its job)."""

    exit_code = 1

    def __init__(self, message: str, *, meeting_id: str, stage: str, gave_up: bool):
        super().__init__(message)
        self.meeting_id, self.stage, self.gave_up = meeting_id, stage, gave_up


@dataclass
class Job:
    """One meeting going through the stages, and what the stages report back."""

    settings: Settings
    meeting: schema.Meeting
    directory: Path
    email: bool = True
    hook: Hook | None = None
    degraded: dict[str, str] = field(default_factory=dict)  # stage -> what it did without (kept in its job row)
    ran: list[str] = field(default_factory=list)  # stages run this time
    problems: list[str] = field(default_factory=list)  # recipients that could not be mailed (bad address...)
    outbox: list = field(default_factory=list)  # this meeting's messages (OutboxMessage), after sending

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def audio(self) -> Path:
        return self.directory / recordings.AUDIO

    def emit(self, stage: str, kind: str, **values) -> None:
        if self.hook is not None:
            self.hook(Event(self.meeting.id, stage, kind, **values))

    def progress(self, stage: str) -> Callable[[float, float], None]:
        return lambda done, total: self.emit(stage, "progress", done=done, total=total)


# --- the stages, in order ----------------------------------------------------------------------------


def transcribe(job: Job) -> str:
    """Speech to text with Whisper -> transcript.json (no speakers yet); checkpointed every chunk."""
    samples = load_audio(job.audio)
    engine = asr.load_engine(job.settings)
    checkpoint = transcript_checkpoint(job.settings, job.meeting, engine, job.directory)
    resume = checkpoint.load()  # the chunks done so far: by an interrupted run, or live during the recording
    scores = ScoreStore(job.path(recordings.VAD_SCORES))
    transcript = asr.transcribe(samples, job.settings, language=job.meeting.language, engine=engine, resume=resume,
                                on_chunk=checkpoint.save, progress=job.progress("transcribe"), vad_cache=scores.get)
    del samples, engine  # Whisper leaves memory before diarization starts
    gc.collect()
    atomic_write(job.path(recordings.TRANSCRIPT), schema.dumps(transcript))
    resumed = f", resumed at {resume.done_until:.0f} s" if resume else ""
    log(job, "transcribe", "chunks", transcribed=checkpoint.saved, resumed_from=resume.done_until if resume else None,
        segments_resumed=len(resume.segments) if resume else 0, vad_blocks_reused=scores.hits)
    return f"{len(transcript.segments)} segments, language {transcript.language or '?'}{resumed}"


def diarize(job: Job) -> str:
    """Who spoke when -> diarization.rttm. Without the engine's weights: no speakers, and the minutes say why."""
    total = duration_of(job.audio)
    report = job.progress("diarize")
    passes = {"vad": 0, "embeddings": 1}  # the builtin engine reads the audio twice

    def progress(step: str, done: float, _total: float) -> None:
        report((passes.get(step, 1) * total + min(done, total)) / 2, total)

    try:
        turns = diarization.diarize(job.audio, job.settings, progress=progress)
    except ModelError as exc:
        job.degraded["diarize"] = str(exc)
        turns = []
    atomic_write(job.path(recordings.DIARIZATION), schema.turns_to_rttm(turns, job.meeting.id))
    if "diarize" in job.degraded:
        return "no speakers: " + job.degraded["diarize"]
    return f"{len({t.speaker for t in turns})} speakers, {len(turns)} turns"


def speakers(job: Job) -> str:
    """Each word to its speaker, each speaker to a name -> speakers.json, transcript.json.

    Names come from the enrolled voiceprints (which win) and from what was said (voicebot.naming:
    introductions, people addressed by name who answer, people said absent), weighed with the invite
    list; so does who of the invitees was present, absent or unknown.

    Assigning words is idempotent: if the process dies after transcript.json is rewritten but before the
    stage is recorded done, the rerun labels it again and gets the same result."""
    transcript = schema.Transcript.from_dict(schema.read_json(job.path(recordings.TRANSCRIPT)))
    turns = schema.turns_from_rttm(job.path(recordings.DIARIZATION).read_text(encoding="utf-8"))
    voices = None
    if turns:
        with open_archive(job.settings) as db:
            people = voice_candidates(db.list_people(), job.meeting.invitees)
        voices = diarization.name_speakers(job.audio, turns, people, threshold=job.settings.diarize.match_threshold)
        transcript = diarization.assign_words(transcript, turns)
    naming = identify(transcript, job.meeting.invitees, voices)
    transcript = diarization.relabel(transcript, naming)
    atomic_write(job.path(recordings.SPEAKERS), schema.dumps(naming))
    atomic_write(job.path(recordings.TRANSCRIPT), schema.dumps(transcript))
    by_voice = sum(1 for match in naming["labels"].values() if match and match.get("source") == "voice")
    summary = f"{len(naming['present'])} named ({by_voice} by voice), {len(naming['unnamed'])} unnamed"
    for key in ("absent", "unknown"):
        if naming.get(key):
            summary += f"; {key}: {', '.join(naming[key])}"
    return summary


def voice_candidates(people: list[dict], invitees: list[schema.Person]) -> list[dict]:
    """Whom a voice may be: every enrolled person, or, when the meeting has an invite list, the enrolled
    invitees only (same email, same name, or a short and a long form of it: "Bob" / "Bob Martin")."""
    if not invitees:
        return people
    return [person for person in people if find_person(person.get("name"), person.get("email"), invitees)]


def minutes(job: Job) -> str:
    """Summary, decisions, action items -> minutes.json and minutes.md; their notes say which mode made them."""
    transcript, meeting, naming = drafting.load_inputs(job.directory)
    drafted = drafting.draft(transcript, job.settings, meeting=meeting, speakers=naming)
    if "diarize" in job.degraded:
        drafted.notes.append(DIARIZATION_NOTE[lang(drafted.language)].format(reason=job.degraded["diarize"]))
    drafting.write_minutes(job.directory, drafted)
    return (f"{drafted.engine}: {len(drafted.decisions)} decisions, {len(drafted.action_items)} action items, "
            f"{len(drafted.open_questions)} open questions")


DIARIZATION_NOTE = {
    "en": "Speaker diarization could not run ({reason}), so the transcript has no speakers.",
    "fr": "La séparation des voix n'a pas pu être faite ({reason}) : la transcription n'indique pas qui parle.",
}


def archive(job: Job) -> str:
    """Meeting, transcript and minutes into the archive, and their emails into the outbox, in one transaction."""
    transcript, meeting, naming = drafting.load_inputs(job.directory)
    drafted = schema.Minutes.from_dict(schema.read_json(job.path(recordings.MINUTES_JSON)))
    markdown = job.path(recordings.MINUTES_MD).read_text(encoding="utf-8")
    messages, job.problems = [], []
    if job.email:
        messages, job.problems = mail.compose(drafted, meeting, job.settings, transcript=transcript, speakers=naming,
                                              markdown=markdown, version=1)
    else:  # remembered, so that a later run with email on queues them
        job.degraded["archive"] = NO_EMAIL
    with open_archive(job.settings) as db, db.transaction():
        db.save_meeting(meeting, directory=job.directory)
        db.save_transcript(meeting.id, transcript)
        recording = db.audio_hash(meeting.id) or meeting.id
        for message in messages:  # the minutes of one recording, once per address, whatever the meeting
            message.content_key = content_key(recording, message.recipient)
        stored = db.get_minutes(meeting.id)
        if stored and stored["minutes"].to_dict() == drafted.to_dict() and stored["markdown"] == markdown:
            queued = db.enqueue(messages)  # a rerun: the same minutes are not stored again
        else:
            db.save_minutes(meeting.id, drafted, markdown, outbox=messages)
            queued = sum(1 for m in messages if m.id is not None)
        for message in messages:
            if message.id is None:
                first = db.backend.value("SELECT meeting_id FROM outbox WHERE content_key = ?", (message.content_key,))
                if first and first != meeting.id:
                    job.problems.append(f"{message.recipient}: got the minutes of this recording already (meeting "
                                        f"{first}); not mailed again")
    with open_archive(job.settings) as db:  # `voicebot ask`'s passages, embedded outside the write transaction
        passages = db.index_passages([meeting.id])
    return f"{len(transcript.segments)} segments archived, {passages} passages embedded, {queued} emails queued"


def content_key(recording: str, recipient: str) -> str:
    """What a minutes message carries, and to whom: one recording's minutes, one address."""
    return hashlib.sha256(f"minutes\0{recording}\0{recipient.strip().casefold()}".encode("utf-8")).hexdigest()


NO_EMAIL = "email off: no message queued"


def send(job: Job) -> str:
    """Deliver what is due in the outbox (SMTP, or the Maildir without a server); what cannot go now waits there."""
    if not job.email:
        return "email off"
    with open_archive(job.settings) as db:
        mail.deliver(db, job.settings)
        job.outbox = db.outbox_list(meeting_id=job.meeting.id)
    counts = {s: sum(1 for m in job.outbox if m.status == s) for s in ("sent", "pending", "failed")}
    return f"{counts['sent']} sent, {counts['pending']} waiting, {counts['failed']} failed"


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Job], str]  # does the work; returns a one-line summary
    artifacts: tuple[str, ...]  # the files in recordings/<id>/ it leaves (besides its rows in the archive)
    leftovers: tuple[str, ...] = ()  # files it no longer needs once it is recorded done


STAGES = (
    Stage("transcribe", transcribe, (recordings.TRANSCRIPT,),
          leftovers=(recordings.TRANSCRIPT_PARTIAL, recordings.VAD_SCORES)),
    Stage("diarize", diarize, (recordings.DIARIZATION,)),
    Stage("speakers", speakers, (recordings.SPEAKERS, recordings.TRANSCRIPT)),
    Stage("minutes", minutes, (recordings.MINUTES_JSON, recordings.MINUTES_MD)),
    Stage("archive", archive, ()),
    Stage("send", send, ()),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


# --- running them --------------------------------------------------------------------------------------


def process(settings: Settings, meeting_id: str, *, email: bool | None = None, redo_from: str | None = None,
            force: bool = True, hook: Hook | None = None, confirm: Callable[[Job], None] | None = None,
            through: str | None = None) -> Job:
    """Run the stages a meeting still needs; the finished Job. Raises StageFailed where a stage fails.

    ``redo_from`` runs that stage (and every one after it) even if done. ``through``: stop after that
    stage (the team server's transcription queue runs only it). ``force``: a stage that has
    used up its attempts gets one more (``resume`` passes False and leaves it alone). ``confirm`` is
    called once the speakers are named, before the minutes are drafted (the meeting still locked):
    a person may correct speakers.json there (``voicebot record`` asks the organiser)."""
    directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
    meeting = recordings.load_meeting(directory)
    if meeting.status not in PROCESSABLE:
        raise UserError(f"meeting {meeting_id} is {meeting.status!r}, not ready to process"
                        + ("; it is still being recorded (`voicebot stop` ends it) or needs `voicebot recover`"
                           if meeting.status == "recording" else "; it holds no audio"))
    with exclusive_lock(directory / recordings.PIPELINE_LOCK) as alone:  # one process per meeting
        if not alone:
            raise Busy(f"meeting {meeting_id} is being processed by another voicebot process right now")
        job = Job(settings, meeting, directory, settings.pipeline.email if email is None else email, hook)
        states = register(job)
        job.degraded = {name: row["error"] for name, row in states.items() if row["state"] == "done" and row["error"]}
        first = first_to_run(job, states, redo_from)
        for stage in STAGES[:first]:
            job.emit(stage.name, "skip", detail="done")
        last = STAGE_NAMES.index(through) + 1 if through else len(STAGES)
        for stage in STAGES[first:last]:
            if stage.name == "minutes" and confirm is not None:
                confirm(job)
            run_stage(job, stage, states.get(stage.name, {}), force=force)
    return job


def needs(settings: Settings, meeting_id: str, stage_name: str) -> bool:
    """True when ``stage_name`` of a meeting is not done yet (or its files are gone); reads, locks nothing."""
    stage = STAGES[STAGE_NAMES.index(stage_name)]
    directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
    with open_archive(settings) as db:
        states = db.job_stages(meeting_id)
    return not done_in(directory, stage, states)


def first_to_run(job: Job, states: dict[str, dict], redo_from: str | None) -> int:
    """The first stage not done (or whose files are gone); every stage after it runs too."""
    first = next((i for i, stage in enumerate(STAGES) if not is_done(job, stage, states)), len(STAGES))
    if redo_from:
        first = min(first, STAGE_NAMES.index(redo_from))
    if job.email and job.degraded.get("archive") == NO_EMAIL:  # archived with email off, now on: queue, send
        first = min(first, STAGE_NAMES.index("archive"))
    return first


def run_stage(job: Job, stage: Stage, row: dict, *, force: bool) -> None:
    """One attempt at one stage, recorded in its job row; gives up for good after max_attempts."""
    attempts, limit = row.get("attempts", 0), job.settings.pipeline.max_attempts
    if attempts >= limit and row.get("state") in ("running", "failed") and not force:
        error = row.get("error") or ""
        if row["state"] == "running":  # the last attempt died with its process (killed, power cut)
            error = f"the process stopped during attempt {attempts} (killed or crashed)"
            give_up(job, stage, error)
        raise StageFailed(f"{job.meeting.id}: {stage.name} stopped after {attempts} attempts ({error}); "
                          f"fix the cause, then `voicebot process {job.meeting.id}` tries once more",
                          meeting_id=job.meeting.id, stage=stage.name, gave_up=True)
    job.degraded.pop(stage.name, None)
    set_state(job, stage.name, "running")
    log(job, stage.name, "start", attempt=attempts + 1)
    job.emit(stage.name, "start")
    started = time.monotonic()
    try:
        summary = stage.run(job)
    except KeyboardInterrupt:
        set_state(job, stage.name, "pending", error="interrupted (Ctrl-C)")
        raise
    except Exception as exc:  # noqa: BLE001 -- any failure (bad audio, a bug, no memory) is recorded and bounded
        error = one_line(exc)
        seconds = time.monotonic() - started
        set_state(job, stage.name, "failed", error=error)
        trace = None if isinstance(exc, UserError) else traceback.format_exc(limit=-8)  # a bug: where it was
        log(job, stage.name, "failed", seconds=round(seconds, 3), error=error, traceback=trace)
        job.emit(stage.name, "failed", seconds=seconds, detail=error)
        gave_up = attempts + 1 >= limit
        if gave_up:
            give_up(job, stage, error)
        raise StageFailed(f"{job.meeting.id}: {stage.name} failed (attempt {attempts + 1} of {limit}): {error}"
                          + ("; gave up, the admin was alerted" if gave_up else
                             f"; `voicebot process {job.meeting.id}` or `voicebot resume` tries again"),
                          meeting_id=job.meeting.id, stage=stage.name, gave_up=gave_up) from exc
    crash_point_for_tests(stage.name)
    set_state(job, stage.name, "done", error=job.degraded.get(stage.name))
    for name in stage.leftovers:
        job.path(name).unlink(missing_ok=True)
    seconds = time.monotonic() - started
    job.ran.append(stage.name)
    log(job, stage.name, "done", seconds=round(seconds, 3), peak_rss_mb=peak_rss_mb())
    job.emit(stage.name, "done", seconds=seconds, detail=summary)


def give_up(job: Job, stage: Stage, error: str) -> None:
    """No more automatic attempts: an incident, and the admin alerted through the outbox (sent at once if possible)."""
    detail = f"gave up after {job.settings.pipeline.max_attempts} attempts"
    try:
        alert = mail.compose_alert(job.settings, meeting_id=job.meeting.id, stage=stage.name, error=error)
    except UserError as exc:  # a bad mail.admin must not hide the stage's own failure
        alert, detail = [], f"{detail}; no alert: {exc}"
    with open_archive(job.settings) as db:
        db.set_stage(job.meeting.id, stage.name, "failed", error=f"gave up: {error}")
        db.add_incident(job.meeting.id, stage.name, error, detail)
        db.enqueue(alert)
        try:
            mail.deliver(db, job.settings)
        except UserError:  # e.g. a bad mail.sender: the alert waits in the outbox, `voicebot doctor` says why
            pass
    log(job, stage.name, "gave-up", error=error, detail=detail)


def resume(settings: Settings, *, hook: Hook | None = None,
           on_meeting: Callable[[str, Job | None, Exception | None], None] | None = None) -> dict:
    """Recover recordings a crash left unfinished, then finish every unfinished meeting; one failing does not
    stop the others. Returns {"recovered": [ids], "done": [ids], "busy": [ids], "failed": {id: error},
    "for_server": {id: server}, "delivery": report}; ``on_meeting`` hears of each meeting as it ends (its Job,
    or the error). A meeting another process is working on is left to it; so is a recording made for a team
    server (``record --server``): that server processes and mails it, once it has it all (``voicebot upload``),
    and processing it here too would mail its invitees twice."""
    recovered = [m.id for m in record.recover(settings)]
    with open_archive(settings) as db:
        waiting = db.unfinished_jobs()
        never_started = [d.name for d in recordings.list_meeting_dirs(settings.recordings_dir)  # a crash came first
                         if _status(d) in ("recovered", "imported") and not db.job_stages(d.name)]
    result: dict = {"recovered": recovered, "done": [], "busy": [], "failed": {}, "for_server": {}}
    for meeting_id in dict.fromkeys(recovered + never_started):
        server = _server_of(settings.recordings_dir / meeting_id)
        if server and meeting_id not in waiting:
            result["for_server"][meeting_id] = server
    for meeting_id in dict.fromkeys(waiting + recovered + never_started):
        if meeting_id in result["for_server"]:
            continue
        try:
            job = process(settings, meeting_id, force=False, hook=hook)
        except Busy:
            result["busy"].append(meeting_id)
            continue
        except UserError as exc:  # StageFailed included: recorded in its job, reported, the others go on
            result["failed"][meeting_id] = str(exc)
            if on_meeting:
                on_meeting(meeting_id, None, exc)
            continue
        result["done"].append(meeting_id)
        if on_meeting:
            on_meeting(meeting_id, job, None)
    with open_archive(settings) as db:  # what earlier runs left waiting in the outbox (server down then)
        result["delivery"] = mail.deliver(db, settings)
    return result


# --- where meetings come from ---------------------------------------------------------------------------


def import_audio(settings: Settings, source: Path, *, title: str = "", invitation=None,
                 language: str | None = None, new_meeting: bool = False) -> schema.Meeting:
    """A new recordings/<id>/ from an audio file: audio.flac (16 kHz mono) and meeting.json (status "imported");
    or, when the same audio was imported before (and ``new_meeting`` is not asked), that meeting.

    Title: ``title``, else the invitation's, else the file name. Start: the invitation's DTSTART, else the
    file's modification time. The folder appears complete or not at all."""
    return import_or_reuse(settings, source, title=title, invitation=invitation, language=language,
                           new_meeting=new_meeting)[0]


def audio_digest(samples) -> str:
    """The hash of decoded audio: the same recording gives the same hash, whatever its file format."""
    return hashlib.sha256(samples.tobytes()).hexdigest()


def import_or_reuse(settings: Settings, source: Path, *, title: str = "", invitation=None,
                    language: str | None = None, new_meeting: bool = False,
                    viewer=None) -> tuple[schema.Meeting, bool]:
    """``import_audio``, and whether the meeting was there already (the same recording, recognised by the
    hash of its audio). Imports wait for each other, so the same file imported twice at once is one meeting.
    ``viewer`` (a web user uploading it): only a meeting they may see is reused, and a new one is theirs."""
    source = Path(source).expanduser().resolve()
    samples = load_audio(source)  # bad audio stops here, before anything is written
    digest = audio_digest(samples)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {settings.home}: {exc.strerror or exc}") from None
    with exclusive_lock(settings.home / IMPORT_LOCK, wait=True):
        with open_archive(settings) as db:
            known = None if new_meeting else db.meeting_by_audio(digest, viewer=viewer)
        if known and recordings.meeting_dir(settings.recordings_dir, known).is_dir():
            return recordings.load_meeting(recordings.meeting_dir(settings.recordings_dir, known)), True
        meeting = _import(settings, source, samples, title=title, invitation=invitation, language=language)
        with open_archive(settings) as db, db.transaction():
            db.save_meeting(meeting, directory=recordings.meeting_dir(settings.recordings_dir, meeting.id))
            db.set_audio_hash(meeting.id, digest)
            if viewer is not None:  # in the same transaction: a retry of the same upload finds it
                db.set_owner(meeting.id, viewer.name)
    return meeting, False


def _import(settings: Settings, source: Path, samples, *, title: str, invitation, language: str | None
            ) -> schema.Meeting:
    started = _start_of(invitation, source)
    title = (title or (invitation.title if invitation else None) or source.stem).strip()
    meeting = schema.Meeting(id=recordings.new_meeting_id(title, started), title=title,
                             started_at=started.isoformat(timespec="seconds"),
                             invitees=list(invitation.people) if invitation else [], language=language or None,
                             source=str(source), status="imported")
    target = recordings.meeting_dir(settings.recordings_dir, meeting.id)
    staging = settings.recordings_dir / f".importing-{meeting.id}"
    try:
        staging.mkdir(parents=True)
        write_flac(staging / recordings.AUDIO, samples)
        with open(staging / recordings.AUDIO, "rb+") as fh:
            os.fsync(fh.fileno())
        recordings.save_meeting(staging, meeting)
        os.replace(staging, target)
        fsync_dir(settings.recordings_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(f"cannot import {source.name} into {settings.recordings_dir}: {exc.strerror or exc}; "
                        "free some space or set VOICEBOT_HOME to a writable folder") from None
    return meeting


def amend(settings: Settings, meeting_id: str, *, title: str = "", invitation=None,
          language: str | None = None) -> str | None:
    """Apply a new title, invite list or language to an existing meeting; the first stage it makes stale."""
    directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
    meeting = recordings.load_meeting(directory)
    before = meeting.to_dict()
    meeting.title = title or (invitation.title if invitation and invitation.title else meeting.title)
    if invitation and invitation.people:
        meeting.invitees = merge_people(meeting.invitees, invitation.people)
    if language and language != meeting.language:
        meeting.language = language
    if meeting.to_dict() == before:
        return None
    recordings.save_meeting(directory, meeting)
    if meeting.language != before.get("language"):
        return "transcribe"
    # Who the speakers are, and who was there, is read against the invite list.
    return "speakers" if meeting.to_dict().get("invitees") != before.get("invitees") else "minutes"


# --- bookkeeping --------------------------------------------------------------------------------------


def register(job: Job) -> dict[str, dict]:
    """The meeting in the archive and a job row for each stage it has not started; the stages' rows."""
    with open_archive(job.settings) as db, db.transaction():
        db.save_meeting(job.meeting, directory=job.directory)
        states = db.job_stages(job.meeting.id)
        for name in STAGE_NAMES:
            if name not in states:
                db.set_stage(job.meeting.id, name, "pending")
        return db.job_stages(job.meeting.id)


def is_done(job: Job, stage: Stage, states: dict[str, dict]) -> bool:
    """Recorded done, and its files still there."""
    return done_in(job.directory, stage, states)


def done_in(directory: Path, stage: Stage, states: dict[str, dict]) -> bool:
    """``stage`` recorded done in ``states``, and its files still in the meeting's ``directory``."""
    return states.get(stage.name, {}).get("state") == "done" and all((directory / a).is_file() for a in stage.artifacts)


def set_state(job: Job, stage: str, state: str, *, error: str | None = None) -> None:
    with open_archive(job.settings) as db:
        db.set_stage(job.meeting.id, stage, state, error=error)


def log(job: Job, stage: str, event: str, **fields) -> None:
    """One line in recordings/<id>/pipeline.jsonl (timings, attempts; no personal data). Best effort."""
    append_jsonl(job.path(recordings.PIPELINE_LOG), {"pid": os.getpid(), "stage": stage, "event": event, **fields})


def read_log(directory: Path) -> list[dict]:
    """The events of recordings/<id>/pipeline.jsonl (a line cut by a crash is skipped)."""
    return read_jsonl(Path(directory) / recordings.PIPELINE_LOG)


def transcript_checkpoint(settings: Settings, meeting: schema.Meeting, engine, directory: Path) -> Checkpoint:
    """The transcription's checkpoint of a meeting, keyed by how it is made: the batch stage and the live
    transcription (``voicebot.live``) write the same one, so either continues what the other did."""
    return Checkpoint(directory / recordings.TRANSCRIPT_PARTIAL, key={
        "engine": engine.name, "model": engine.model_name, "compute_type": settings.asr.compute_type,
        "language": meeting.language or settings.asr.language, "beam_size": settings.asr.beam_size,
        "prompt": settings.asr.initial_prompt, "hotwords": settings.asr.hotwords})


class Checkpoint:
    """The transcription so far, in transcript.partial.json (rewritten atomically after every chunk).

    ``key`` says how it was made (engine, model, language...): a checkpoint made another way is not resumed."""

    def __init__(self, path: Path, key: dict):
        self.path, self.key, self.saved = path, key, 0

    def load(self):
        try:
            data = schema.read_json(self.path)
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != self.key:
            return None
        return Resume(segments=[schema.Segment.from_dict(s) for s in data.get("segments", [])],
                      done_until=float(data.get("done_until", 0.0)))

    def save(self, segments: list[schema.Segment], done_until: float) -> None:
        data = {"key": self.key, "done_until": done_until, "segments": [s.to_dict() for s in segments]}
        atomic_write(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        self.saved += 1
        crash_point_for_tests("checkpoint")


def _server_of(directory: Path) -> str | None:
    """The team server a recording was made for (``record --server``), if any."""
    try:
        return recordings.load_meeting(directory).server
    except (UserError, ValueError, TypeError):
        return None


def _status(directory: Path) -> str | None:
    try:
        return recordings.load_meeting(directory).status
    except (UserError, ValueError, TypeError):
        return None


def _start_of(invitation, source: Path) -> datetime:
    start = invitation.start if invitation else None
    if isinstance(start, datetime):
        return start.astimezone()
    if start is not None:  # an all-day event: its date, at midnight here
        return datetime(start.year, start.month, start.day).astimezone()
    return datetime.fromtimestamp(source.stat().st_mtime).astimezone()


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, UserError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


_crashes: dict[str, int] = {}


def crash_point_for_tests(point: str) -> None:
    """The one test hook. ``VOICEBOT_TEST_CRASH_AFTER=<point>[:<n>]`` kills this process with SIGKILL (no
    cleanup runs, as with a power cut or the OOM killer) the n-th time (default 1) it passes ``point``:
    a stage name (its work is written, not yet recorded done) or ``checkpoint`` (a transcription
    checkpoint was just saved). Only the crash tests set it."""
    wanted = os.environ.get("VOICEBOT_TEST_CRASH_AFTER", "")
    name, _, count = wanted.partition(":")
    if not wanted or name != point:
        return
    _crashes[point] = _crashes.get(point, 0) + 1
    if _crashes[point] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
